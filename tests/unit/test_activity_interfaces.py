"""The workflows call the centre's activities by method, through the typed stubs of
workflows/interfaces.py, and name by string only the department's activities (whose code stays out
of the centre's sandbox). Each stub matches the activity the centre's worker registers: name,
argument types and result type."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest
from temporalio import activity

from activities.center import CenterActivities
from activities.department import DepartmentActivities
from activities.reports.activity import ReportActivities
from workflows import interfaces

ROOT = Path(__file__).resolve().parents[2]
CALLS = {"execute_activity", "execute_local_activity", "start_activity", "keep_delivering"}
BY_NAME = {"deliver_ticket", "deliver_item", "notify_department"}  # the department's activities


def definition(fn: Any) -> tuple[str | None, list[type] | None, type | None]:
    # The SDK's own reading of an activity (temporalio keeps it private): what a workflow call uses.
    found = activity._Definition.must_from_callable(fn)
    return found.name, found.arg_types, found.ret_type


IMPLEMENTED = {
    definition(fn)[0]: fn
    for fn in (
        CenterActivities.request_callback,
        CenterActivities.notify_center,
        CenterActivities.notify_city,
        CenterActivities.find_campaign_tickets,
        ReportActivities.make_report,
    )
}


@pytest.mark.parametrize("stub", interfaces.CENTER_ACTIVITIES, ids=lambda fn: fn.__name__)
def test_each_stub_is_the_centres_activity(stub: Any) -> None:
    name = definition(stub)[0]
    assert name in IMPLEMENTED, f"the centre's worker registers no activity {name}"
    assert definition(stub) == definition(IMPLEMENTED[name])


def named_activities(path: Path) -> set[str]:
    """The string literals a workflow module passes as the activity of an activity call."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        func = node.func
        called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
        if called in CALLS:
            names |= {
                c.value for c in ast.walk(node.args[0]) if isinstance(c, ast.Constant) and isinstance(c.value, str)
            }
    return names


def test_only_the_departments_activities_are_named_by_string() -> None:
    named = {name for path in sorted((ROOT / "workflows").glob("*.py")) for name in named_activities(path)}
    assert named == BY_NAME
    department = DepartmentActivities.deliver_ticket, DepartmentActivities.deliver_item
    assert {definition(fn)[0] for fn in (*department, DepartmentActivities.notify_department)} == BY_NAME
