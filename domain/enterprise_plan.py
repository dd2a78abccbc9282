"""Turning what the red service team writes down into checked commands, against the configuration:
which enterprise, which unit is responsible, which category, which time limit. Errors name the
field, so the CLI can print one line and start nothing."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import TypeAdapter, ValidationError

from domain.calendar import CalendarData
from domain.config import DistrictConfig, Person, describe_validation_error
from domain.deadlines import TicketDeadlines
from domain.enterprise import AddItem, EnterpriseRecord, ItemSpec, RecordVisit, ReopenItem, today_in_china
from domain.intake import TicketRejected
from domain.models import Actor, Enterprise, Role
from domain.records import ActionRefused
from domain.uscc import EnterpriseId

_ENTERPRISE_ID: TypeAdapter[str] = TypeAdapter(EnterpriseId)
ITEM_KEYS = ("need", "category", "unit", "person", "measures", "within", "due_on")


def item_deadlines(config: DistrictConfig, calendar: CalendarData) -> TicketDeadlines:
    """The item tier of the deadline policy, with its reminders and ladder and the calendar slice."""
    policy = config.deadlines
    return TicketDeadlines(
        tier=policy.enterprise_item.tier(),
        warnings=policy.warnings,
        ladder=policy.ladder,
        return_window=policy.return_window,
        extension=policy.extension,
        calendar=calendar,
    )


def enterprise_for(
    config: DistrictConfig, enterprise_id: str, *, name: str | None = None, street: str | None = None
) -> Enterprise:
    """A configured enterprise, or one described on the spot (its name is then required)."""
    try:
        enterprise_id = _ENTERPRISE_ID.validate_python(enterprise_id)
    except ValidationError as err:
        raise TicketRejected(describe_validation_error("enterprise", err)) from None
    try:
        entry = config.enterprise(enterprise_id)
    except KeyError:
        entry = None
    try:
        if entry is not None:
            return Enterprise(id=entry.id, name=entry.name, street=entry.street, industry=entry.industry)
        if not name:
            raise TicketRejected(f"enterprise: '{enterprise_id}' 未在配置中登记，请同时给出企业名称（--name）")
        if street is not None and street not in {s.name for s in config.streets}:
            raise TicketRejected(f"street: unknown '{street}'")
        return Enterprise(id=enterprise_id, name=name, street=street)
    except ValidationError as err:
        raise TicketRejected(describe_validation_error("enterprise", err)) from None


def unit_for(config: DistrictConfig, code: str) -> tuple[Any, str | None]:
    """责任单位 from a department code or an official's person id; also the official's name."""
    try:
        dept = config.department(code)
        return {"kind": "department", "code": dept.code, "name": dept.name, "task_queue": dept.task_queue}, None
    except KeyError:
        pass
    unknown = f"unit: unknown '{code}'（部门代码，或红色服务团成员的人员 ID）"
    person = _team_person(config, code, unknown, "unit", "，不能作为责任人")
    return {"kind": "official", "code": person.id, "name": person.name}, person.name


def _team_person(config: DistrictConfig, person_id: str, unknown: str, where: str, why: str = "") -> Person:
    """A member of the red service team, or a refusal naming `where`."""
    try:
        person = config.person(person_id)
    except KeyError:
        raise TicketRejected(unknown) from None
    if person.role is not Role.SERVICE_TEAM:
        raise TicketRejected(f"{where}: {person.name}（{person_id}）不是红色服务团成员{why}")
    return person


def item_spec(config: DistrictConfig, raw: dict[str, Any], where: str = "item") -> ItemSpec:
    """One item as written (a mapping with ITEM_KEYS), checked: errors start with `where`."""
    unknown = sorted(set(raw) - set(ITEM_KEYS))
    if unknown:
        raise TicketRejected(f"{where}.{unknown[0]}: unknown key（可用：{', '.join(ITEM_KEYS)}）")
    fields = {k: v for k, v in raw.items() if v is not None and v != ""}
    for key in ("need", "category", "unit"):
        if key not in fields:
            raise TicketRejected(f"{where}.{key}: required")
    categories = config.red_service.categories
    if fields["category"] not in categories:
        raise TicketRejected(f"{where}.category: unknown '{fields['category']}'（可选：{'、'.join(categories)}）")
    try:
        fields["unit"], official = unit_for(config, str(fields["unit"]))
    except TicketRejected as err:
        raise TicketRejected(f"{where}.{err}") from None
    if "person" not in fields:
        if official is None:
            raise TicketRejected(f"{where}.person: required（部门事项须写明责任人）")
        fields["person"] = official
    try:
        return ItemSpec.model_validate(fields)
    except ValidationError as err:
        raise TicketRejected(describe_validation_error(where, err)) from None


def team_member(config: DistrictConfig, person_id: str, where: str) -> Actor:
    person = _team_person(config, person_id, f"{where}: unknown person '{person_id}'", where)
    return person.actor()


def plan_visit(
    config: DistrictConfig,
    calendar: CalendarData,
    now: datetime,
    *,
    actor: Actor,
    enterprise: Enterprise,
    visited_on: date,
    members: list[str],
    met: list[str],
    policies: list[str],
    summary: str,
    items: list[ItemSpec],
) -> RecordVisit:
    """A visit checked as far as it can be without the enterprise's record (the workflow checks the
    rest: duplicates). Nothing about it is left to fail once its workflow is started."""
    if not members:
        members = [actor.id]
    team = [team_member(config, person_id, f"members.{i}") for i, person_id in enumerate(members)]
    try:
        visit = RecordVisit(
            actor=actor,
            visited_on=visited_on,
            members=team,
            met=met,
            policies=policies,
            summary=summary,
            items=items,
            deadlines=item_deadlines(config, calendar),
        )
    except ValidationError as err:
        raise TicketRejected(describe_validation_error("visit", err)) from None
    blank = EnterpriseRecord.open(enterprise, item_deadlines(config, calendar), now)
    try:
        blank.check_record_visit(visit, today_in_china(now))
    except ActionRefused as err:
        raise TicketRejected(str(err)) from None
    return visit


def plan_add_item(
    config: DistrictConfig, calendar: CalendarData, *, actor: Actor, visit_no: str, item: ItemSpec
) -> AddItem:
    return AddItem(actor=actor, visit_no=visit_no, item=item, deadlines=item_deadlines(config, calendar))


def plan_reopen(
    config: DistrictConfig, calendar: CalendarData, *, actor: Actor, item_no: str, reason: str, within: str | None
) -> ReopenItem:
    try:
        return ReopenItem(
            actor=actor, item_no=item_no, reason=reason, within=within, deadlines=item_deadlines(config, calendar)
        )
    except ValidationError as err:
        raise TicketRejected(describe_validation_error("reopen", err)) from None
