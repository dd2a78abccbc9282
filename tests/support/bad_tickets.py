"""Valid tickets and the hypothesis strategies for bad ticket files and bad scenario lines (the bad-input tests share them)."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

from domain.config import DistrictConfig
from domain.models import Ticket
from domain.scenario import ScenarioLine
from tests.support.bad_input_support import (
    TEXT,
    Bad,
    bad_fields,
    bad_values,
)
from tests.support.helpers import sample_ticket


def valid_ticket(number: str = "T1", **changes: Any) -> dict[str, Any]:
    data = sample_ticket(ticket_no=number).model_dump(mode="json")
    data["citizen"]["address"] = "镇北社区3号楼"
    return {**data, **changes}


def ticket_file_bytes() -> dict[str, st.SearchStrategy[tuple[str, bytes, str]]]:
    """Ticket files (`hotline ticket submit --file`) that cannot be read, by kind: (kind, bytes, what
    the message must name)."""
    valid = json.dumps(valid_ticket(), ensure_ascii=False, indent=1)
    return {
        "bad field": bad_values(Ticket, valid_ticket())
        .filter(filled_in)
        .map(lambda case: ("bad field", json.dumps(case[0], ensure_ascii=False).encode(), case[1].where)),
        "not JSON": st.integers(1, len(valid) - 1).map(lambda cut: ("not JSON", valid[:cut].encode(), "line ")),
        "not UTF-8": st.integers(0, len(valid.encode()) - 1).map(
            lambda at: ("not UTF-8", valid.encode()[:at] + b"\xff\xfe" + valid.encode()[at:], "line ")
        ),
        "nested": st.integers(1000, 100_000).map(lambda depth: ("nested too deeply", b"[" * depth, "not valid JSON")),
        "number": st.integers(4301, 20_000).map(lambda digits: ("number too long", b"9" * digits, "not valid JSON")),
        "not an object": st.sampled_from([b"[]", b"3", b'"ticket"', b"null", b""]).map(
            lambda raw: ("not an object", raw, "")
        ),
    }


BAD_LINES = st.one_of(
    bad_values(Ticket, valid_ticket("B"))
    .filter(lambda case: case[1].path[:1] != ("ticket_no",) and filled_in(case))
    .map(lambda case: (case[0], case[1].kind)),
    st.sampled_from(['{"ticket_no": ', "{not json}", "[1, 2", "'single'", "{\u2028}"]).map(lambda t: (t, "not JSON")),
    st.sampled_from(["[]", "3", '"t"', "null", "true"]).map(lambda t: (t, "not an object")),
    st.integers(1000, 50_000).map(lambda d: ("[" * d, "nested too deeply")),
    st.integers(4301, 9000).map(lambda n: ("9" * n, "number too long")),
    st.just((valid_ticket("B", category="外星人入侵"), "unknown code")),
)


def bad_scenario_lines(config: DistrictConfig) -> dict[str, st.SearchStrategy[tuple[str, str, str]]]:
    """By field or kind: (the line's text, the kind of badness, what the message must name)."""
    unknown = unknown_code(config).filter(lambda fv: fv[0] != "community")
    sites = {
        field: strategy.map(lambda case: (json.dumps(case[0], ensure_ascii=False), case[1].kind, case[1].where))
        for field, strategy in bad_fields(ScenarioLine, VALID_LINE).items()
    }
    return sites | {
        "(unknown code)": st.one_of(
            unknown.map(
                lambda fv: (json.dumps({**VALID_LINE, fv[0]: fv[1]}, ensure_ascii=False), "unknown code", fv[0])
            ),
            st.just((json.dumps({**VALID_LINE, "return_to": "nope"}), "unknown code", "return_to")),
        ),
        "(duplicate)": st.just((json.dumps(VALID_LINE), "duplicate number", "no: 'S0001' already on line")),
        "(not JSON)": st.sampled_from(["{", "[1]", "null", '{"no": "S9",}', "{\u2028}"]).map(
            lambda t: (t, "not JSON", "")
        ),
    }


VALID_LINE = {
    "no": "S0001",
    "at": "2026-11-02T09:15:00+08:00",
    "category": "市容环卫",
    "street": "滨河街道",
    "urgency": "一般",
    "kind": "投诉",
    "title": "垃圾未清运",
    "content": "东门垃圾三天未清运",
    "sign": "30m",
    "contact": "2h",
    "answer": "2d",
    "resolved": True,
    "satisfaction": "满意",
    "return_to": "zjj",
    "extension_days": 3,
    "callback": "1h",
    "redo": [{"answer": "1d", "resolved": True, "satisfaction": "满意"}],
}


def filled_in(case: tuple[Any, Bad]) -> bool:
    """A file or API request may leave out received_at (received now): its absence is no error there."""
    return not (case[1].kind == "missing field" and case[1].path == ("received_at",))


def unknown_code(config: DistrictConfig) -> st.SearchStrategy[tuple[str, str]]:
    """A category, street, community or urgency the configuration does not know."""
    known = {
        "category": {c.name for c in config.categories},
        "street": {s.name for s in config.streets},
        "community": {c for s in config.streets for c in s.communities},
        "urgency": {u.name for u in config.urgencies},
    }
    return st.sampled_from(sorted(known)).flatmap(
        lambda field: (
            st.one_of(TEXT, st.sampled_from(["物业", "滨河", "紧急 ", "一般\u200b"]))
            .filter(lambda v: v.strip() not in known[field] and v.strip())
            .map(lambda v: (field, v))
        )
    )
