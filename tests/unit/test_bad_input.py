"""The bad-input catalogue, without a server: ticket submissions (the model and the intake checks),
ticket files (JSON, JSONL, CSV), scenario files, and every update payload of every workflow as its
model reads it. Each bad input is refused with an error naming the field or line, and nothing else
goes wrong (no other exception). And the limits: every free-text and list field of every input
model is bounded, every update validator checks the payload limit, and so do the clients.

The server side is in tests/integration/test_bad_input_live.py (raw update payloads to running workflows, the
payload limit, the HTTP API) and tests/integration/test_bad_input_cli.py (every `hotline` command that changes
something): nothing starts, nothing changes, one line. All three count what they try in
reliability-bad-input.json (tests/support/bad_input_support.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from domain.config import DistrictConfig, describe_validation_error
from domain.intake import TicketInput, TicketRejected, check_ticket
from domain.limits import MAX_PAYLOAD_BYTES, PayloadRejected, check_payload, one_line, payload_size
from domain.models import Ticket
from domain.scenario import ScenarioError, ScenarioLine, parse_scenario
from starter.ticket_files import CSV_COLUMNS, TicketFileError, read_many, read_ticket
from tests.support.bad_input_support import (
    CONFIGURED,
    Bad,
    Tally,
    bad_fields,
    bad_input_settings,
    each_site,
    valid_payloads,
    workflow_updates,
)
from tests.support.bad_tickets import (
    BAD_LINES,
    VALID_LINE,
    bad_scenario_lines,
    ticket_file_bytes,
    unknown_code,
    valid_ticket,
)

pytestmark = pytest.mark.usefixtures("hypothesis_home")


def refusal_of_ticket(config: DistrictConfig, data: Any, now: datetime) -> str:
    """The message a ticket is refused with (as the CLI and API check it); fails if it is accepted."""
    try:
        check_ticket(config, Ticket.model_validate(data), now)
    except ValidationError as err:
        return describe_validation_error("ticket", err)
    except TicketRejected as err:
        return str(err)
    raise AssertionError(f"accepted: {data!r}")


# ----- submissions -----


def test_a_bad_ticket_is_refused_naming_the_field(config: DistrictConfig, tally: Tally):
    now = datetime.now(UTC)
    valid = valid_ticket()
    future = st.integers(2, 365 * 70).map(lambda days: (now + timedelta(days=days)).isoformat())
    sites = bad_fields(Ticket, valid) | {
        "(unknown code)": unknown_code(config).map(
            lambda fv: ({**valid, fv[0]: fv[1]}, Bad("unknown code", fv[1], (fv[0],)))
        ),
        "(in the future)": future.map(lambda at: ({**valid, "received_at": at}, Bad("bad date", at, ("received_at",)))),
    }

    def check(case: tuple[Any, Bad]) -> None:
        data, bad = case
        tally("submissions", bad.kind)
        message = refusal_of_ticket(config, data, now)
        assert bad.where in message, (bad, message)

    each_site(sites, 150, check)


LANDLINES = ["(0473)1234567", "（0473）1234567", "0473-1234567", "0473-1234567转8001", "0473 1234567 分机 12"]
PHONES = [*LANDLINES, "13812341234", "138-1234-1234", "+86 138 1234 1234", "010-12345678", "400-123-4567", "2345678"]
NOT_PHONES = ["-----", "12345", "1" * 20, "0473", "(0473)", "转8001", "+", "138 1234", "0473-1234567转"]


def test_the_input_rules_of_a_ticket(config: DistrictConfig, tally: Tally):
    """Issue 19, finding 9: landlines as citizens give them are accepted; a ticket number starting
    with a dot (a hidden file or a folder in a department's inbox), a phone that is no number, and
    text hiding invisible or direction characters (U+202E shows "收费" reversed) are refused, each
    naming its field."""
    now = datetime.now(UTC)
    for phone in PHONES:
        data = valid_ticket(citizen={"name": "王小明", "phone": phone})
        check_ticket(config, Ticket.model_validate(data), now)
    cases: list[tuple[str, dict[str, Any], str]] = []
    cases += [("leading dot", valid_ticket(ticket_no=number), "ticket_no") for number in (".", "..", "...", ".hidden")]
    cases += [
        ("not a phone", valid_ticket(citizen={"name": "王小明", "phone": p}), "citizen.phone") for p in NOT_PHONES
    ]
    for ch in ("\u202e", "\u200b", "\u2066", "\ufeff", "\u00ad"):
        cases += [
            ("invisible character", valid_ticket(title=f"收{ch}费"), "title"),
            ("invisible character", valid_ticket(content=f"东门{ch}垃圾"), "content"),
            (
                "invisible character",
                valid_ticket(citizen={"name": f"王{ch}明", "phone": "13812341234"}),
                "citizen.name",
            ),
        ]
    for kind, data, where in cases:
        tally("submissions", kind)
        message = refusal_of_ticket(config, data, now)
        assert f": {where}: " in f": {message}", (data, message)
    message = refusal_of_ticket(config, valid_ticket(title="收\u202e费"), now)
    assert message == "ticket: title: 不可见字符或文字方向控制符 U+202E（第 2 个字符）", message
    # An emoji family (joined by U+200D) is text, not a trick.
    check_ticket(config, Ticket.model_validate(valid_ticket(content="全家👨\u200d👩\u200d👧都满意")), now)


def test_a_bad_ticket_file_names_the_file_and_the_line_or_field(tmp_path: Path, tally: Tally):
    path = tmp_path / "ticket.json"

    def check(case: tuple[str, bytes, str]) -> None:
        kind, raw, named = case
        tally("submissions", f"file: {kind}")
        path.write_bytes(raw)
        with pytest.raises(TicketFileError) as refused:
            read_ticket(path)
        message = str(refused.value)
        assert message.startswith(f"{path}: ") and named in message, message

    each_site(ticket_file_bytes(), 60, check)


# ----- imports -----


GOOD_TITLES = st.sampled_from(["垃圾未清运", "a\u2028b", "段\u2029落", "tab\there", "全角\u3000空格"])


def jsonl_line(index: int) -> st.SearchStrategy[tuple[str, str | None]]:
    """One line of a JSONL import: (its text, None if good, else the kind of badness). Good lines
    have their own ticket number (`G<index>`) and may hold text splitlines() would break."""
    good = GOOD_TITLES.map(lambda title: (json.dumps(valid_ticket(f"G{index}", title=title), ensure_ascii=False), None))

    def numbered(case: tuple[Any, str]) -> tuple[str, str]:
        data, kind = case
        if isinstance(data, str):
            return data, kind
        if isinstance(data, dict) and data.get("ticket_no") == "B":
            data = {**data, "ticket_no": f"B{index}"}
        return json_line(data), kind

    return st.one_of(good, BAD_LINES.map(numbered))


def json_line(data: Any) -> str:
    """A JSONL line as a file holds it: UTF-8 text, with a lone surrogate (which UTF-8 cannot hold)
    written as JSON's own escape, as any JSON writer does."""
    text = json.dumps(data, ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(data)
    return text


@st.composite
def jsonl_file(draw: st.DrawFn) -> tuple[list[str], dict[int, str]]:
    """Lines of a JSONL file and, by line number, the bad ones' kinds (a repeated good ticket
    number is bad on its later line)."""
    lines: list[str] = []
    bad: dict[int, str] = {}
    for index in range(draw(st.integers(1, 6))):
        if draw(st.booleans()) and lines and draw(st.integers(0, 4)) == 0:
            lines.append("   ")  # blank lines are skipped
            continue
        text, kind = draw(jsonl_line(index))
        if kind is None and lines and draw(st.integers(0, 3)) == 0:
            first = next((i for i, line in enumerate(lines) if line.startswith('{"ticket_no": "G')), None)
            if first is not None:
                text, kind = lines[first], "duplicate number"
        lines.append(text)
        if kind is not None:
            bad[len(lines)] = kind
    return lines, bad


def import_errors(config: DistrictConfig, path: Path, now: datetime) -> tuple[dict[int, str], list[str]]:
    """What `hotline ticket import` reports for each bad line, and the good tickets' numbers."""
    errors: dict[int, str] = {}
    good: list[str] = []
    for line in read_many(path):
        if line.ticket is None:
            errors[line.number] = line.error or ""
            continue
        try:
            check_ticket(config, line.ticket, now)
        except TicketRejected as err:
            errors[line.number] = f"line {line.number}: {err}"
            continue
        good.append(line.ticket.ticket_no)
    return errors, good


def test_a_jsonl_import_reports_each_bad_line_by_number_and_reads_the_rest(
    config: DistrictConfig, tmp_path: Path, tally: Tally
):
    path = tmp_path / "tickets.jsonl"
    now = datetime.now(UTC)

    @given(jsonl_file())
    @bad_input_settings(40)
    def check(case: tuple[list[str], dict[int, str]]) -> None:
        lines, bad = case
        for kind in bad.values():
            tally("imports", f"jsonl: {kind}")
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        errors, good = import_errors(config, path, now)
        assert set(errors) == set(bad), (errors, bad)
        for number, message in errors.items():
            assert message.startswith(f"line {number}: "), message
        wanted = [json.loads(line)["ticket_no"] for n, line in enumerate(lines, 1) if n not in bad and line.strip()]
        assert good == wanted

    check()


CSV_BAD_VALUES = {
    "ticket_no": ["", "a b", "工单/1", "x" * 65, ".", "..", ".x"],
    # A time without a zone is the district's in a spreadsheet (2026/12/3 9:00): not bad here.
    "received_at": ["yesterday", "2026/2/30 9:00", "0001-01-01T00:00:00+00:00", "2100-01-01T00:00:00+08:00", "99999"],
    "kind": ["闲聊", "complaint"],
    "category": ["外星人入侵", "x" * 201],
    "street": ["不存在街道"],
    "community": ["蓝天社区", "\x1b[31m"],
    "urgency": ["十万火急"],
    "title": ["x" * 201, "a\x00b", "收\u202e费", "a\u200bb"],
    "content": ["长" * 4001, "\x07"],
    "citizen_name": ["王\x00小明", "王" * 201],
    "citizen_phone": ["call me", "1" * 21, "138-1234x", "-----", "12345"],
}


@st.composite
def csv_file(draw: st.DrawFn) -> tuple[list[str], list[list[str]], dict[int, str]]:
    """A CSV import's columns and rows, and the bad rows' kinds by line number (line 1 is the header)."""
    columns = list(CSV_COLUMNS)
    if draw(st.integers(0, 9)) == 0:
        columns.remove(draw(st.sampled_from(["ticket_no", "category", "street", "title", "content"])))
    rows: list[list[str]] = []
    bad: dict[int, str] = {}
    first_good = False
    for index in range(draw(st.integers(1, 5))):
        ticket = valid_ticket(f"C{index}")
        row = {c: str(ticket.get(c) or "") for c in CSV_COLUMNS if not c.startswith("citizen_")}
        row |= {"citizen_name": "李四", "citizen_phone": "13900001111", "citizen_address": "", "received_at": ""}
        kind = draw(
            st.sampled_from(
                ["good", "good", "bad value", "columns", "duplicate", "huge field", "unclosed quote", "extra column"]
            )
        )
        if kind == "bad value":
            column = draw(st.sampled_from(sorted(set(CSV_BAD_VALUES) & set(columns))))
            row[column] = draw(st.sampled_from(CSV_BAD_VALUES[column]))
        elif kind == "duplicate":
            if not first_good:
                kind = "good"
            row["ticket_no"] = "C0"
        values = [row[c] for c in columns]
        if kind == "columns":
            values = values[: draw(st.integers(1, 3))]  # too few fields: the rest are missing
        if kind == "extra column":
            values = [*values, "多出的一列"]
        if kind == "huge field":
            values[-1] = "x" * 200_000  # beyond the csv module's own field limit: refused by the column's bound
        if kind == "unclosed quote":  # written as it is (no writer quoting it): the rest stays readable
            values = [('"' + v if c == "title" else v) for c, v in zip(columns, values, strict=True)]
            values = [",".join(values)]
        rows.append(values)
        first_good = first_good or (kind == "good" and index == 0)
        if kind != "good":
            bad[len(rows) + 1] = kind
    return columns, rows, bad


def test_a_csv_import_reports_each_bad_row_by_line_and_a_missing_column_once(
    config: DistrictConfig, tmp_path: Path, tally: Tally
):
    path = tmp_path / "tickets.csv"
    now = datetime.now(UTC)

    @given(csv_file())
    @bad_input_settings(40)
    def check(case: tuple[list[str], list[list[str]], dict[int, str]]) -> None:
        import csv
        import io

        columns, rows, bad = case
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(columns)
        for row in rows:
            if len(row) == 1 and row[0].count(",") == len(CSV_COLUMNS) - 1:
                out.write(row[0] + "\r\n")  # an unclosed quote, as a hand-edited file has it
            else:
                writer.writerow(row)
        path.write_text(out.getvalue(), encoding="utf-8")
        if len(columns) < len(CSV_COLUMNS):
            tally("imports", "csv: missing column")
            with pytest.raises(TicketFileError, match=r": line 1: missing columns "):
                list(read_many(path))
            return
        for kind in bad.values():
            tally("imports", f"csv: {kind}")
        errors, good = import_errors(config, path, now)
        assert set(errors) == set(bad), (errors, bad, rows)
        for number, message in errors.items():
            assert message.startswith(f"line {number}: "), message
            if bad[number] == "huge field":
                assert message.startswith(f"line {number}: citizen_address") or "citizen.address" in message, message
        # Every line is either imported or named: none lost after a huge field or a stray quote.
        assert len(good) + len(errors) == len(rows), (good, errors)

    check()


def test_an_unreadable_import_file_is_one_line(tmp_path: Path, tally: Tally):
    """JSON lines are UTF-8 (unless --encoding says otherwise); a table may also be GBK/GB18030 or
    UTF-16 with its BOM, but not Latin-1 nor damaged UTF-8."""
    header = ",".join(CSV_COLUMNS) + "\n"
    cases = {
        "latin1.jsonl": "ticket,café\n".encode("latin-1"),
        "latin1.csv": (header + "café,x\n").encode("latin-1"),
        "damaged.csv": (header + "垃圾,清运").encode() + b"\xff\n",
        "gbk.jsonl": json.dumps(valid_ticket(), ensure_ascii=False).encode("gbk"),
    }
    for name, raw in cases.items():
        tally("imports", "not UTF-8")
        (tmp_path / name).write_bytes(raw)
        with pytest.raises(TicketFileError, match=r": line \d+: not UTF-8 text"):
            list(read_many(tmp_path / name))
    tally("imports", "unknown encoding")
    with pytest.raises(TicketFileError, match=r"--encoding: unknown encoding 'klingon'"):
        list(read_many(tmp_path / "latin1.csv", "klingon"))
    tally("imports", "not a workbook")
    (tmp_path / "fake.xlsx").write_bytes(b"ticket_no,title\n")
    with pytest.raises(TicketFileError, match=r"fake\.xlsx: not an Excel workbook"):
        list(read_many(tmp_path / "fake.xlsx"))
    tally("imports", "old workbook")
    (tmp_path / "old.xls").write_bytes(b"\xd0\xcf\x11\xe0")
    with pytest.raises(TicketFileError, match=r"old\.xls: .*save it as \.xlsx or CSV"):
        list(read_many(tmp_path / "old.xls"))
    tally("imports", "not a file")
    with pytest.raises(TicketFileError, match="cannot read"):
        list(read_many(tmp_path))


# ----- scenarios -----


def test_a_bad_scenario_line_is_refused_naming_the_line_and_field(config: DistrictConfig, tally: Tally):
    sites = {name: st.tuples(st.integers(0, 3), strategy) for name, strategy in bad_scenario_lines(config).items()}

    def check(drawn: tuple[int, tuple[str, str, str]]) -> None:
        before, (text, kind, named) = drawn
        tally("scenarios", kind)
        good = [json.dumps({**VALID_LINE, "no": "S0001" if i == 0 else f"G{i}"}) for i in range(max(before, 1))]
        lines = [*good, "", text]
        with pytest.raises(ScenarioError) as refused:
            parse_scenario("\n".join(lines), config, "month.jsonl")
        message = str(refused.value)
        assert message.startswith(f"month.jsonl:{len(lines)}: ") and named in message, message

    each_site(sites, 100, check)
    tally("scenarios", "no tickets")
    with pytest.raises(ScenarioError, match=r"month\.jsonl: no tickets"):
        parse_scenario("\n \n", config, "month.jsonl")


# ----- update payloads, as their models read them -----


def test_every_update_payload_of_every_workflow_is_refused_naming_the_field(config: DistrictConfig, tally: Tally):
    updates = workflow_updates()
    valid = valid_payloads(config)
    sites = {
        f"{workflow}.{name} {site}": strategy.map(lambda case, key=(workflow, name): (key, *case))  # type: ignore[misc]  # mypy cannot infer a lambda with a default argument
        for (workflow, name), update in updates.items()
        for site, strategy in bad_fields(
            update.arg_types[0], valid[update.arg_types[0]].model_dump(mode="json"), CONFIGURED
        ).items()
    }

    def check(case: tuple[tuple[str, str], Any, Bad]) -> None:
        key, data, bad = case
        model = updates[key].arg_types[0]
        tally("update_payloads", bad.kind)
        with pytest.raises(ValidationError) as refused:
            model.model_validate(data)
        message = describe_validation_error(model.__name__, refused.value)
        assert bad.where in message, (key, bad, message)

    each_site(sites, 300, check)


# ----- the limits -----

ANY_STRING = {"type": "string"}


def unbounded(model: type[BaseModel], skip: tuple[str, ...] = ()) -> list[str]:
    """Paths of string fields without a maximum length, lists without a maximum number of items and
    mappings without a maximum size, in a model's JSON schema."""
    schema = model.model_json_schema(mode="validation")
    defs = schema.get("$defs", {})
    found: list[str] = []

    def walk(node: dict[str, Any], path: str, seen: frozenset[str]) -> None:
        if "$ref" in node:
            name = node["$ref"].split("/")[-1]
            if name not in seen:
                walk(defs[name], path, seen | {name})
            return
        for branch in node.get("anyOf", []):
            walk(branch, path, seen)
        kind = node.get("type")
        if kind == "string" and not ({"enum", "const", "maxLength"} & set(node)) and "format" not in node:
            found.append(path)
        if kind == "array":
            if "maxItems" not in node:
                found.append(f"{path}[]")
            walk(node.get("items", {}), f"{path}[]", seen)
        if kind == "object":
            for key, sub in node.get("properties", {}).items():
                if not (path == model.__name__ and key in skip):
                    walk(sub, f"{path}.{key}", seen)
            extra = node.get("additionalProperties")
            if isinstance(extra, dict):
                if "maxProperties" not in node:
                    found.append(f"{path}{{}}")
                walk(extra, f"{path}{{}}", seen)

    walk(schema, model.__name__, frozenset())
    return found


def test_every_free_text_and_list_field_of_every_input_is_bounded(config):
    """What a person or a department's system writes is bounded field by field. What the client
    fills in from the configuration (a ticket's plan, the deadline policy and calendar slice carried
    by enterprise commands) is bounded by the payload limit instead."""
    from domain.campaign import CampaignInput
    from domain.meeting import MeetingInput
    from domain.whistle import WhistleInput

    inputs: list[tuple[type[BaseModel], tuple[str, ...]]] = [
        (Ticket, ()),
        (TicketInput, ("plan",)),
        (ScenarioLine, ()),
        (WhistleInput, ("deadlines",)),
        (MeetingInput, ("calendar",)),
        (CampaignInput, ("calendar",)),
    ]
    inputs += [(update.arg_types[0], CONFIGURED) for update in workflow_updates().values()]
    found = {path for model, skip in inputs for path in unbounded(model, skip)}
    assert not found, sorted(found)


def test_every_update_validator_checks_the_payload_first():
    """Every update's validator is registered through `validates`, which checks the payload (its type
    is the update's own, its size within the limit) before the rules."""
    for (workflow, name), update in workflow_updates().items():
        model = getattr(update.validator, "payload_model", None)
        assert model is update.arg_types[0], (workflow, name, model)


def test_the_payload_limit(config: DistrictConfig, tally: Tally):
    from domain.enterprise import ItemSpec, RecordVisit

    valid = valid_payloads(config)
    visit = valid[RecordVisit]
    # Every field within its own bound, the whole far over: 50 items of 2,000 characters of measures.
    item = ItemSpec.model_validate({**visit.items[0].model_dump(), "measures": "措" * 2000})  # type: ignore[attr-defined]  # valid_payloads() types its samples BaseModel; this one is a RecordVisit
    big = visit.model_copy(update={"items": [item] * 50})
    assert RecordVisit.model_validate(big.model_dump()) == big
    tally("update_payloads", "oversized payload")
    with pytest.raises(PayloadRejected, match=r"^visit: \d+\.\d KiB serialized, more than the limit of 64 KiB$"):
        check_payload(big, RecordVisit, "visit")
    for wrong in (None, {"actor": "x"}, "RecordVisit"):
        tally("update_payloads", "wrong type")
        with pytest.raises(PayloadRejected, match="RecordVisit: expected RecordVisit, got "):
            check_payload(wrong, RecordVisit)
    # The largest ticket a person can submit, with its plan, stays well inside the limit.
    ticket = Ticket.model_validate(
        valid_ticket(title="题" * 200, content="容" * 4000, community="镇北社区")
        | {"citizen": {"name": "名" * 200, "phone": "+86 (0473) 1234-5678 转 800123", "address": "址" * 200}}
    )
    from activities.runtime.calendar_source import calendar_for
    from domain.intake import plan_intake

    planned = plan_intake(config, ticket, calendar_for(config.calendar, ticket.received_at))
    assert payload_size(planned) < MAX_PAYLOAD_BYTES / 2
    for model, payload in valid.items():
        assert payload_size(payload) < MAX_PAYLOAD_BYTES / 4, model


def test_one_line():
    assert one_line("a\nb\r\x1b[31mc\u2028d\u3000e 中") == "a\\nb\\r\\x1b[31mc\\u2028d\u3000e 中"
    assert len(one_line("x" * 10_000)) == 500
