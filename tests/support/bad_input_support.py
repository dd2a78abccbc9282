"""What the bad-input catalogue (tests/unit/test_bad_input.py, tests/integration/test_bad_input_*.py) shares: hypothesis settings, strategies of
bad values derived from the models' own JSON schemas, running the session's event loop from
hypothesis's synchronous tests, and the tally of bad inputs tried per category, written to
`reliability-bad-input.json` (under HOTLINE_RELIABILITY_OUT_DIR, else .pytest-results/) for the README.

Settings: examples are derandomized (the same inputs on every run, so CI never flakes on a new
example); HOTLINE_BAD_INPUT_RANDOM=1 draws fresh ones, HOTLINE_BAD_INPUT_SCALE=5 draws five times
as many.
"""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir
from pydantic import BaseModel

from domain.limits import MAX_PAYLOAD_BYTES

T = TypeVar("T")
ROOT = Path(__file__).resolve().parents[2]
OUT_ENV = "HOTLINE_RELIABILITY_OUT_DIR"
RESULTS_NAME = "reliability-bad-input.json"

CATEGORIES = {
    "submissions": "ticket submissions: the Ticket model and intake checks, `hotline ticket submit`, POST /api/tickets",
    "imports": "ticket files: JSON, JSONL and CSV (`hotline ticket import`)",
    "scenarios": "scenario files (parse_scenario, `hotline simulate`)",
    "cli_actions": "every `hotline` subcommand that changes something, with bad arguments",
    "update_payloads": "the update payloads of every workflow (ticket, whistle, meeting, campaign, enterprise), "
    "client-side and raw to the workflow, and the departments' API callbacks",
}


# ----- hypothesis -----


def examples(count: int) -> int:
    return max(1, round(count * float(os.environ.get("HOTLINE_BAD_INPUT_SCALE", "1"))))


def bad_input_settings(count: int) -> settings:
    """Modest and deterministic by default: the catalogue adds about a minute to CI on 2 cores."""
    return settings(
        max_examples=examples(count),
        deadline=None,
        database=None,
        derandomize=not os.environ.get("HOTLINE_BAD_INPUT_RANDOM"),
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    )


def hypothesis_home() -> Iterator[None]:
    """(A module fixture) Hypothesis keeps its files (its cache of the project's constants) in the
    system's temporary folder, not in .hypothesis/ in the working tree."""
    set_hypothesis_home_dir(str(Path(tempfile.gettempdir()) / "hotline-hypothesis"))
    yield
    set_hypothesis_home_dir(None)


def on_loop(loop: asyncio.AbstractEventLoop) -> Callable[[Awaitable[T]], T]:
    """From hypothesis's synchronous test, run in a thread (asyncio.to_thread), run a coroutine on the
    session's loop, where the dev server's client and the workers live."""

    def run(work: Awaitable[T]) -> T:
        return asyncio.run_coroutine_threadsafe(work, loop).result(timeout=120)  # type: ignore[arg-type]  # the callers pass coroutines

    return run


# ----- bad values -----

WRONG_TYPES = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.lists(st.integers(), min_size=1, max_size=3),
    st.dictionaries(st.sampled_from(["a", "值", "0"]), st.integers(), min_size=1, max_size=2),
)
NOT_NUMBERS = st.sampled_from([True, False, [1], {"a": 1}, ["2026-11-29"]])  # dates take numbers as timestamps
CONTROL = st.sampled_from(["\x00", "\x07", "\x08", "\x1b", "\x1b[31m", "\x7f", "\x85", "\x9b", "\ud800"])
# Format characters (Unicode Cf) that hide text or reorder it on screen: direction overrides and
# isolates, zero-width spaces and joiners, the byte-order mark, a soft hyphen, a Unicode tag.
INVISIBLE = st.sampled_from(
    ["\u202e", "\u202d", "\u2066", "\u200b", "\u200c", "\u200d", "\u200e", "\u2060", "\ufeff", "\u00ad", "\U000e0041"]
)
BLANKS = st.sampled_from(["", " ", "   ", "\t", "\n", "\u3000", " \u3000\t"])
# Printable text of many scripts (no control characters), from a fixed alphabet: drawing from all of
# Unicode makes hypothesis build its character tables, seconds of CPU per run.
ALPHABET = "abzAZ09 _-.,;:/'\"\\<>{}[]%$&#@!?=+*~`^|" + "中文工单滨河街道垃圾诉求 ，。！？（）【】：" + "éßøЖжαΩ"
ALPHABET += "אבغ\u200b\u200f\u2028\u2029\u3000\u0301\ufeff😀🚀\U0001f1e8\U0001f1f3"
TEXT = st.text(st.sampled_from(ALPHABET), min_size=1, max_size=12)
BAD_INSTANTS = st.sampled_from(
    [
        "yesterday",
        "2026-13-01T10:00:00+08:00",
        "2026-02-30T10:00:00+08:00",
        "2026-11-29T10:00:00",  # no time zone
        "2026-11-29 25:00:00+08:00",
        "10:00",
        "",
        "0001-01-01T00:00:00+00:00",
        "1999-12-31T23:00:00+08:00",
        "2100-01-01T00:00:00+08:00",
        "9999-12-31T23:59:59+14:00",
    ]
)
BAD_DATES = st.sampled_from(["yesterday", "2026-13-01", "2026-02-30", "29/11/2026", "10:00", "", "2026-11"])
BAD_DURATIONS = st.sampled_from(["forever", "3", "wd", "3x", "-1d", "1.5h", "3 weeks", "99999d", "10000000000wd", ""])


def too_long(limit: int) -> st.SearchStrategy[str]:
    """Text just over `limit` characters (or far over), of ASCII, Chinese or emoji."""
    return st.builds(
        lambda ch, extra: ch * (limit + extra),
        st.sampled_from(["x", "长", "😀"]),
        st.one_of(st.integers(1, 3), st.integers(limit, limit + 10)),
    )


def with_control(text: st.SearchStrategy[str] = TEXT) -> st.SearchStrategy[str]:
    return st.builds(lambda a, c, b: a + c + b, text, CONTROL, text)


def with_invisible(
    text: st.SearchStrategy[str] = st.sampled_from(["垃圾", "ab", "12", "清运", "x"]),
) -> st.SearchStrategy[str]:
    """Visible text with a format character inside it (a title reading "收费" shown reversed …)."""
    return st.builds(lambda a, c, b: a + c + b, text, INVISIBLE, text)


@dataclass(frozen=True)
class Bad:
    """One bad field: what kind of badness, the value, and the field's path."""

    kind: str
    value: Any
    path: tuple[str | int, ...]

    @property
    def where(self) -> str:
        """The path as the messages write it: citizen.phone, answer.evidence.0"""
        return ".".join(str(p) for p in self.path)


MISSING = object()
Kinds = list[tuple[str, st.SearchStrategy[Any]]]


def bad_strings(schema: dict[str, Any]) -> Kinds:
    """Kinds of bad values for a string field of this JSON schema (none of them null)."""
    if "enum" in schema or "const" in schema:
        known = set(schema.get("enum", [schema.get("const")]))
        return [("wrong enum value", TEXT.filter(lambda v: v not in known)), ("wrong type", WRONG_TYPES)]
    if schema.get("format") == "date-time":
        return [("bad date", BAD_INSTANTS), ("wrong type", NOT_NUMBERS)]
    if schema.get("format") == "date":
        return [("bad date", BAD_DATES), ("wrong type", NOT_NUMBERS)]
    kinds: Kinds = []
    if "maxLength" in schema:
        kinds.append(("too long", too_long(schema["maxLength"])))
    kinds.append(("control character", with_control()))
    kinds.append(("invisible character", with_invisible()))
    if schema.get("minLength", 0) >= 1:
        kinds.append(("empty or blank", BLANKS))
    if "pattern" in schema:
        kinds.append(("bad characters", st.sampled_from(["a b", "a/b", "工单", "x;y", "a\u2028b", "é", "a\u202eb"])))
    kinds.append(("wrong type", WRONG_TYPES))
    return kinds


def _resolve(schema: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in schema:
        return _resolve(defs[schema["$ref"].split("/")[-1]], defs)
    return schema


def _non_null(schema: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    """The schema without the `null` branch of an optional field."""
    schema = _resolve(schema, defs)
    branches = [b for b in schema.get("anyOf", []) if _resolve(b, defs).get("type") != "null"]
    return _resolve(branches[0], defs) if len(branches) == 1 else schema


def _integers(node: dict[str, Any]) -> Kinds:
    kinds: Kinds = []
    if "maximum" in node or "exclusiveMaximum" in node:
        above = node["maximum"] + 1 if "maximum" in node else node["exclusiveMaximum"]
        kinds.append(("out of range", st.integers(above, above + 10**12)))
    if "minimum" in node or "exclusiveMinimum" in node:
        below = node["minimum"] - 1 if "minimum" in node else node["exclusiveMinimum"]
        kinds.append(("out of range", st.integers(below - 10**12, below)))
    kinds.append(("wrong type", st.sampled_from(["abc", "1.5", 1.5, [1], {"a": 1}])))
    return kinds


def bad_values(
    model: type[BaseModel], valid: dict[str, Any], skip: tuple[str, ...] = ()
) -> st.SearchStrategy[tuple[Any, Bad]]:
    """Any one of `bad_fields`."""
    return st.one_of(list(bad_fields(model, valid, skip).values()))


def bad_fields(
    model: type[BaseModel], valid: dict[str, Any], skip: tuple[str, ...] = ()
) -> dict[str, st.SearchStrategy[tuple[Any, Bad]]]:
    """Every way to make one value of a valid payload (as JSON data) bad, read from the model's own
    JSON schema, keyed "<field path>: <kind>": wrong types, empty or blank, too long, control
    characters, bad characters, wrong enum values, bad dates and durations, numbers out of range,
    lists over their bound, extra and missing fields, and the whole payload of another type. Each
    gives (the bad payload, what is bad). Top-level fields named in `skip` (what the configuration
    fills in, e.g. deadlines) are left alone."""
    schema = model.model_json_schema(mode="validation")
    defs = schema.get("$defs", {})
    sites: dict[str, st.SearchStrategy[tuple[Any, Bad]]] = {}

    def add(path: tuple[str | int, ...], kind: str, values: st.SearchStrategy[Any]) -> None:
        name = f"{'.'.join(map(str, path)) or '(payload)'}: {kind}"
        if name in sites:  # e.g. below and above a number's range
            sites[name] = st.one_of(sites[name], values.map(lambda v: (_set(valid, path, v), Bad(kind, v, path))))
        else:
            sites[name] = values.map(lambda v: (_set(valid, path, v), Bad(kind, v, path)))

    def visit(raw: dict[str, Any], value: Any, path: tuple[str | int, ...]) -> None:
        if path and path[0] in skip:
            return
        node = _non_null(raw, defs)
        kind = node.get("type")
        if kind == "object" and isinstance(value, str):  # a Duration: a Span written "5wd"
            add(path, "bad duration", BAD_DURATIONS)
            add(path, "wrong type", NOT_NUMBERS)
        elif kind == "object" and isinstance(value, dict):
            props = node.get("properties", {})
            for key, sub in props.items():
                if value.get(key) is not None:
                    visit(sub, value[key], (*path, key))
                if key in node.get("required", []) and not (not path and key in skip):
                    add((*path, key), "missing field", st.just(MISSING))
            if node.get("additionalProperties") is False:
                names = st.sampled_from(["priority", "额外", "actorId", "__class__", ""]).filter(
                    lambda k: k not in props
                )
                name = f"{'.'.join(map(str, path)) or '(payload)'}: extra field"
                sites[name] = names.map(lambda k: (_set(valid, (*path, k), "x"), Bad("extra field", "x", (*path, k))))
            if path:
                add(path, "wrong type", WRONG_TYPES.filter(lambda v: not isinstance(v, dict)))
        elif kind == "array" and isinstance(value, list):
            if "maxItems" in node and value:
                add(path, "too many items", st.just([value[0]] * (node["maxItems"] + 1)))
            if value:
                visit(node.get("items", {}), value[0], (*path, 0))
            add(path, "wrong type", st.sampled_from(["x", 3, {"a": 1}]))
        elif kind == "string" or "enum" in node or "const" in node:
            for bad_kind, values in bad_strings(node):
                add(path, bad_kind, values)
        elif kind == "integer":
            for bad_kind, values in _integers(node):
                add(path, bad_kind, values)
        elif kind == "boolean":
            add(path, "wrong type", st.sampled_from(["maybe", 2, [True], {"a": 1}]))

    visit(schema, valid, ())
    add((), "wrong type", st.sampled_from([None, 0, "text", [], [valid]]))
    return sites


def each_site(sites: dict[str, st.SearchStrategy[T]], total: int, check: Callable[[T], None], least: int = 1) -> None:
    """Run `check` on examples of every site (a field and a kind of badness), `total` spread evenly
    over them; with more sites than that, on an even spread of the sites (the same on every run).
    Hypothesis alone would try its favourite field many times and some never."""
    count = examples(total)
    names = sorted(sites)
    if len(names) > count:
        step = len(names) / count
        names = [names[int(i * step)] for i in range(count)]
    per = max(least, count // max(1, len(names)))
    for name in names:
        run = given(sites[name])(settings(bad_input_settings(1), max_examples=per)(lambda case: check(case)))
        run()


def _set(data: Any, path: tuple[str | int, ...], value: Any) -> Any:
    """A copy of `data` with the value at `path` replaced (MISSING: removed)."""
    if not path:
        return value
    head, rest = path[0], path[1:]
    copy: Any = dict(data) if isinstance(data, dict) else list(data)
    if not rest and value is MISSING:
        del copy[head]
    else:
        copy[head] = _set(copy[head], rest, value) if rest else value
    return copy


# ----- the tally -----


@dataclass
class Tally:
    """Bad inputs tried by one test, per category and kind; written to the results file after it."""

    test: str
    counts: dict[str, Counter[str]] = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic)

    def __call__(self, category: str, kind: str = "other") -> None:
        assert category in CATEGORIES, category
        self.counts.setdefault(category, Counter())[kind] += 1

    @property
    def total(self) -> int:
        return sum(sum(c.values()) for c in self.counts.values())


def results_file() -> Path:
    folder = Path(os.environ.get(OUT_ENV) or ROOT / ".pytest-results")
    return folder / RESULTS_NAME


def record(tally: Tally) -> None:
    """Merge one test's counts into the results file (a test run again replaces its own entry)."""
    path = results_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        data = {}
    tests: dict[str, Any] = data.get("tests", {})
    tests[tally.test] = {
        "seconds": round(time.monotonic() - tally.started, 2),
        "tried": {category: dict(sorted(kinds.items())) for category, kinds in sorted(tally.counts.items())},
    }
    totals: Counter[str] = Counter()
    kinds: dict[str, Counter[str]] = {}
    for entry in tests.values():
        for category, by_kind in entry["tried"].items():
            totals[category] += sum(by_kind.values())
            kinds.setdefault(category, Counter()).update(by_kind)
    result = {
        "description": "Bad inputs tried by the catalogue (tests/unit/test_bad_input.py, tests/integration/test_bad_input_*.py), per category; each one "
        "refused with one line naming the field or line, nothing started, nothing changed.",
        "updated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "max_payload_bytes": MAX_PAYLOAD_BYTES,
        "categories": {c: {"description": d, "tried": totals.get(c, 0)} for c, d in CATEGORIES.items()},
        "total": sum(totals.values()),
        "by_kind": {c: dict(sorted(k.items())) for c, k in sorted(kinds.items())},
        "seconds": round(sum(e["seconds"] for e in tests.values()), 1),
        "tests": dict(sorted(tests.items())),
    }
    path.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def tally(request: pytest.FixtureRequest) -> Iterator[Tally]:
    """(A test's fixture) Counts what the test tries; recorded when it ends."""
    counts = Tally(request.node.nodeid)
    yield counts
    if counts.total:
        record(counts)


# ----- every update of every workflow, and a valid payload for each -----


def workflow_updates() -> dict[tuple[str, str], Any]:
    """(workflow, update) → the update's definition (its payload type and validator), read from the
    workflow classes themselves, so a new update joins the catalogue by itself."""
    from temporalio import workflow

    from workflows.registry import WORKFLOWS

    found = {}
    for cls in WORKFLOWS:
        definition = workflow._Definition.must_from_class(cls)
        for name, update in definition.updates.items():
            found[(definition.name, name)] = update
    return found  # type: ignore[return-value]  # the SDK's definitions carry Optional names; ours all have one


# Fields of a payload that the client fills in from the configuration, not from what a person types:
# the deadline policy and calendar travel with enterprise commands; their size is bounded by the
# payload limit (domain/limits.py), not by a field's own bound.
CONFIGURED = ("deadlines",)


def valid_payloads(config: Any) -> dict[type[BaseModel], BaseModel]:
    """One valid payload of each update's type, from the bundled district's people."""
    from datetime import timedelta

    from activities.runtime.calendar_source import calendar_for
    from activities.runtime.settings import actor_for
    from domain import commands as c
    from domain import enterprise as e
    from domain.enterprise_plan import item_deadlines, item_spec
    from domain.intake import assignment_for
    from domain.models import (
        Answer,
        Callback,
        ClosureCategory,
        ExemptionReason,
        PauseReason,
        Satisfaction,
        VerifyDecision,
    )

    def who(person: str) -> Any:
        return actor_for(config, person)

    clerk, lead, operator, street = who("cgj_sun"), who("zhangli"), who("liumei"), who("bhjd_street")
    team = who("hft_li")
    now = datetime.now(UTC)
    deadlines = item_deadlines(config, calendar_for(config.calendar, now))
    item = item_spec(
        config, {"need": "用电增容", "category": "生产经营", "unit": "cgj", "person": "王科长", "within": "5wd"}
    )
    zjj, cgj = assignment_for(config, "zjj"), assignment_for(config, "cgj")
    payloads: list[BaseModel] = [
        c.SignFor(actor=clerk),
        c.AssistReport(actor=clerk, text="协办部分已完成"),
        c.TransferToCity(actor=lead, reason="超出区级职权"),
        c.CityReply(actor=lead, reason="属区级事权"),
        c.LinkTicket(actor=lead, main_ticket="T1"),
        c.Unlink(actor=lead, note="不同事项"),
        c.DetermineOwner(
            actor=lead, lead=zjj, assisting=[cgj], note="现场确权", lead_within="5wd", assist_within="2wd"
        ),
        c.ManualDispatch(actor=lead, to=cgj, note="人工派遣"),
        c.ContactCitizen(actor=clerk, note="已电话联系"),
        c.GiveAnswer(actor=clerk, answer=Answer(text="已清运完毕", resolved=True, evidence=["回执.pdf"])),
        c.RequestReturn(actor=clerk, reason="属物业管理范围"),
        c.RequestExtension(actor=clerk, working_days=3, reason="需现场勘查"),
        c.RequestExemption(actor=clerk, category=ExemptionReason.UNREASONABLE, evidence="诉求人要求拆除合法建筑"),
        c.RequestBacklog(actor=clerk, plan_date=(now + timedelta(days=200)).date(), reason="需列入改造计划"),
        c.RequestPause(actor=clerk, category=PauseReason.MATERIALS, note="待补充材料"),
        c.ResumeClock(actor=clerk, note="材料已补齐"),
        c.VerifyTicket(actor=lead, decision=VerifyDecision.CLOSE, closure=ClosureCategory.EXPLAINED, reason="已解释"),
        c.Decide(actor=lead, approval_id="R1", reassign_to=zjj, note="改派"),
        c.RecordCallback(
            actor=operator, callback=Callback(resolved=True, satisfaction=Satisfaction.SATISFIED, note="满意")
        ),
        c.ReportIn(actor=clerk, note="已到场"),
        c.WhistleAnswer(actor=clerk, text="已协调完毕"),
        c.EvaluateDepartment(actor=street, department="cgj", satisfaction=Satisfaction.SATISFIED, comment="好"),
        c.Withdraw(actor=street, reason="已自行解决"),
        c.Attend(actor=clerk),
        c.RecordMinutes(actor=lead, minutes="由住建局主办"),
        c.Refer(actor=lead, reason="未能达成一致"),
        c.CloseCampaign(actor=lead, note="阶段收尾"),
        e.RecordVisit(
            actor=team,
            visited_on=(now - timedelta(days=1)).date(),
            members=[team],
            met=["张总"],
            policies=["技改贴息"],
            summary="走访",
            items=[item],
            deadlines=deadlines,
        ),
        e.AddItem(actor=team, visit_no="V1", item=item, deadlines=deadlines),
        e.NoteProgress(actor=clerk, item_no="S1", text="已受理"),
        e.CloseItem(
            actor=clerk, item_no="S1", outcome=e.Outcome(kind=e.OutcomeKind.DONE, text="已办结", evidence=["回执.pdf"])
        ),
        e.ConfirmItem(actor=team, item_no="S1", satisfaction=Satisfaction.SATISFIED, comment="满意"),
        e.ReopenItem(actor=team, item_no="S1", reason="未解决", within="5wd", deadlines=deadlines),
    ]
    return {type(p): p for p in payloads}


# ----- one running workflow of each kind, for the checks that nothing changes -----


@dataclass
class Running:
    """One running workflow of each kind, settled (no step of its own under way), by workflow type."""

    ticket_no: str
    whistle_no: str
    meeting_no: str
    campaign_no: str
    enterprise_id: str

    @property
    def ids(self) -> dict[str, str]:
        return {
            "TicketWorkflow": f"ticket-{self.ticket_no}",
            "WhistleWorkflow": f"whistle-{self.whistle_no}",
            "ConsultationMeetingWorkflow": f"meeting-{self.meeting_no}",
            "CampaignWorkflow": f"campaign-{self.campaign_no}",
            "EnterpriseServiceWorkflow": f"enterprise-{self.enterprise_id}",
        }


async def history_length(client: Any, workflow_id: str) -> int:
    described = await client.get_workflow_handle(workflow_id).describe()
    return described.raw_description.workflow_execution_info.history_length


async def exists(client: Any, workflow_id: str) -> bool:
    from temporalio.service import RPCError, RPCStatusCode

    try:
        await client.get_workflow_handle(workflow_id).describe()
    except RPCError as err:
        if err.status is RPCStatusCode.NOT_FOUND:
            return False
        raise
    return True


async def settled(client: Any, workflow_ids: list[str], quiet: float = 1.0, timeout: float = 60) -> dict[str, int]:
    """Wait until none of the workflows' histories has grown for `quiet` seconds (deliveries and
    notices done; only timers hours away remain); their lengths."""
    deadline = time.monotonic() + timeout
    lengths = {w: await history_length(client, w) for w in workflow_ids}
    calm_since = time.monotonic()
    while time.monotonic() - calm_since < quiet:
        assert time.monotonic() < deadline, f"workflows never settled: {lengths}"
        await asyncio.sleep(0.2)
        now = {w: await history_length(client, w) for w in workflow_ids}
        if now != lengths:
            lengths, calm_since = now, time.monotonic()
    return lengths


async def start_running(client: Any, config: Any) -> Running:
    """A ticket waiting to be signed for at cgj; a whistle on zjj and cgj; a meeting on the ticket;
    a campaign; an enterprise (not configured: its own id) with one item at cgj."""
    import uuid

    from activities.runtime.settings import actor_for
    from domain.campaign import CampaignKind, TicketFilter
    from domain.models import TicketStatus
    from starter.meetings import convene
    from starter.tickets import submit
    from tests.support.centre_work import campaign as centre_campaign
    from tests.support.centre_work import work_advance
    from tests.support.enterprise import visited_yesterday
    from tests.support.helpers import eventually, sample_ticket

    run = uuid.uuid4().hex[:8]
    ticket = sample_ticket(ticket_no=f"BAD{run}")
    await submit(client, config, ticket)
    await eventually(client, ticket.ticket_no, lambda r: r.status is TicketStatus.AWAITING_SIGN_FOR)
    whistle = await work_advance(client, config, whistle_no=f"WBAD{run}")
    meeting = await convene(
        client,
        config,
        convened_by=actor_for(config, "zhangli"),
        reason="权责不清",
        tickets=[ticket.ticket_no],
        departments=["cgj", "zjj"],
        meeting_no=f"MBAD{run}",
    )
    campaign = await centre_campaign(
        client,
        config,
        CampaignKind.SPECIAL_ACTION,
        "噪音专项整治",
        TicketFilter(category="噪音污染", street="新华街道"),
        f"CBAD{run}",
    )
    enterprise = await visited_yesterday(client, config, f"qy-bad-{run}", "某某有限公司")
    running = Running(ticket.ticket_no, whistle.whistle_no, meeting.meeting_no, campaign.campaign_no, enterprise.id)
    await settled(client, list(running.ids.values()))
    return running


def payload_for(valid: BaseModel, workflow: str, running: Running) -> dict[str, Any]:
    """A valid payload as JSON data, naming the running workflow's own items where it has any."""
    data = valid.model_dump(mode="json")
    if "item_no" in data:
        data["item_no"] = "S1"
    if workflow == "TicketWorkflow" and "main_ticket" in data:
        data["main_ticket"] = running.ticket_no
    return data


def encodable(data: Any) -> bool:
    """What can be written as UTF-8 at all, to a file or a payload (a lone surrogate cannot)."""
    try:
        json.dumps(data, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        return False
    return True
