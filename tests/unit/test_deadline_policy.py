"""The deadline policy (时限规则) and a ticket's clocks: validation, warnings (预警) and the
escalation ladder (催办 → 督办 → 通报 → 领导督办) in working days, and how TicketRecord records them.

Pure: no Temporal, explicit times. The ticket is dispatched on Tuesday 2026-09-22 10:00 China time,
so its 7-day 办结 limit ends on Tuesday 2026-09-29, just before the National Day week (Oct 1-7 off,
Sunday Sep 20 and Saturday Oct 10 worked).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from activities.runtime.calendar_source import calendar_for
from activities.runtime.settings import actor_for
from domain.calendar import CHINA_TZ, Duration, Span
from domain.config import DistrictConfig, describe_validation_error
from domain.deadlines import (
    TICKET_CLOCKS,
    Clock,
    ClockEvent,
    ClockKind,
    DeadlinePolicy,
    Escalation,
    TicketDeadlines,
    events,
    next_event,
    start_clock,
)
from domain.delivery import NoticeKind
from domain.intake import assignment_for, plan_intake
from domain.models import Actor, Answer, Callback, RequestKind, Satisfaction, TicketStatus, VerifyDecision
from domain.ticket_record import TicketRecord
from tests.support.district import raw_config
from tests.support.helpers import sample_ticket


def china(year: int, month: int, day: int, hour: int = 10, minute: int = 0) -> datetime:
    """A wall-clock time in China (UTC+8)."""
    return datetime(year, month, day, hour, minute, tzinfo=CHINA_TZ)


START = china(2026, 9, 22)  # received and dispatched
DUE = china(2026, 9, 29)  # the 一般 tier's 办结 limit: 7 natural days


def span(text: str) -> Span:
    """A duration as the policy writes it ("2h", "1wd")."""
    return TypeAdapter(Duration).validate_python(text)


@pytest.fixture
def deadlines(config: DistrictConfig) -> TicketDeadlines:
    """What a 一般 complaint received at START carries."""
    ticket = sample_ticket(urgency="一般").model_copy(update={"received_at": START})
    planned = plan_intake(config, ticket, calendar_for(config.calendar, START)).plan.deadlines
    assert planned is not None and planned.tier.name == "一般"
    return planned


def who(config: DistrictConfig, person_id: str) -> Actor:
    return actor_for(config, person_id)


def delivered(config: DistrictConfig) -> TicketRecord:
    """A 一般 市容环卫 ticket routed to cgj, delivered at START; its three clocks run."""
    ticket = sample_ticket(urgency="一般", ticket_no="HX-CLOCK-1").model_copy(update={"received_at": START})
    record = TicketRecord.receive(ticket, plan_intake(config, ticket, calendar_for(config.calendar, START)).plan, START)
    record.start_delivery(START)
    record.delivered(START, "cgj/tickets/HX-CLOCK-1_round1.json")
    return record


def handled(config: DistrictConfig) -> TicketRecord:
    """Signed for and contacted in time: only the 办结 clock still runs."""
    record = delivered(config)
    clerk = who(config, "cgj_sun")
    record.sign_for(clerk, START + timedelta(hours=1))
    record.contact(clerk, "已电话联系", START + timedelta(hours=3))
    assert [c.kind for c in record.running_clocks] == [ClockKind.RESOLVE]
    return record


def event(record: TicketRecord, kind: ClockKind, key: str) -> ClockEvent:
    """One of the current round's events, by key (warn0.5, step0 …)."""
    assert record.plan.deadlines is not None
    return next(e for e in events(record.clock(kind), record.plan.deadlines) if e.key == key)


def next_key(clocks: list[Clock], deadlines: TicketDeadlines) -> str | None:
    """The key of the next event to fire, or None."""
    upcoming = next_event(clocks, deadlines)
    return upcoming.key if upcoming else None


def run_until(record: TicketRecord, kind: ClockKind, key: str) -> list[ClockEvent]:
    """Fire every event in time order, as the workflow's timekeeper would, up to and including `key`."""
    fired: list[ClockEvent] = []
    while True:
        upcoming = record.next_clock_event()
        assert upcoming is not None, f"{kind} {key} never came"
        record.fire(upcoming, upcoming.at)
        fired.append(upcoming)
        if (upcoming.clock, upcoming.key) == (kind, key):
            return fired


def policy_raw() -> dict[str, Any]:
    """The bundled `deadlines:` section as plain data, to spoil in a test."""
    return raw_config()["deadlines"]


# --- validation --------------------------------------------------------------------------------


def test_bundled_policy_validates() -> None:
    assert DeadlinePolicy.model_validate(policy_raw()).tiers[-1].name == "一般"


def test_last_tier_must_match_every_ticket() -> None:
    raw = policy_raw()
    raw["tiers"][-1]["match"] = {"urgency": ["一般"]}

    with pytest.raises(ValidationError) as info:
        DeadlinePolicy.model_validate(raw)

    assert "tiers.5: the last tier must match every ticket (no match)" in str(info.value)


@pytest.mark.parametrize("warnings", [[0, 0.5], [0.5, 1], [1.5], [-0.25]])
def test_warnings_must_lie_strictly_between_0_and_1(warnings: list[float]) -> None:
    raw = policy_raw()
    raw["warnings"] = warnings

    with pytest.raises(ValidationError) as info:
        DeadlinePolicy.model_validate(raw)

    assert "warnings: each fraction must be between 0 and 1" in str(info.value)


@pytest.mark.parametrize("warnings", [[0.75, 0.5], [0.5, 0.5]])
def test_warnings_must_strictly_increase(warnings: list[float]) -> None:
    raw = policy_raw()
    raw["warnings"] = warnings

    with pytest.raises(ValidationError) as info:
        DeadlinePolicy.model_validate(raw)

    assert "warnings: fractions must be strictly increasing" in str(info.value)


@pytest.mark.parametrize("key", ["tiers", "ladder"])
def test_tiers_and_ladder_may_not_be_empty(key: str) -> None:
    raw = policy_raw()
    raw[key] = []

    with pytest.raises(ValidationError):
        DeadlinePolicy.model_validate(raw)


def test_no_warnings_is_allowed() -> None:
    raw = policy_raw()
    raw["warnings"] = []

    assert DeadlinePolicy.model_validate(raw).warnings == []


def test_unknown_urgency_in_a_tier_names_the_key() -> None:
    raw = raw_config()
    raw["deadlines"]["tiers"][2]["match"]["urgency"] = ["加急", "特急"]

    with pytest.raises(ValidationError) as info:
        DistrictConfig.model_validate(raw)

    assert describe_validation_error("district.yaml", info.value) == (
        "district.yaml: deadlines.tiers.2.match.urgency: unknown '特急'"
    )


def test_first_matching_tier_wins(config: DistrictConfig) -> None:
    policy = config.deadlines

    assert policy.tier_for("紧急", "供暖/煤改电", RequestKind.COMPLAINT).name == "紧急"
    assert policy.tier_for("加急", "供暖/煤改电", RequestKind.COMPLAINT).name == "水电气暖"
    assert policy.tier_for("复杂", "政策咨询", RequestKind.QUESTION).name == "咨询"
    assert policy.tier_for("一般", "市容环卫", RequestKind.PRAISE).name == "一般"


# --- a clock's events --------------------------------------------------------------------------


def test_start_clock_uses_the_tier_limit(deadlines: TicketDeadlines) -> None:
    sign_for = start_clock(ClockKind.SIGN_FOR, 1, START, deadlines)
    contact = start_clock(ClockKind.CONTACT, 1, START, deadlines)
    resolve = start_clock(ClockKind.RESOLVE, 1, START, deadlines)

    assert (sign_for.due_at, contact.due_at, resolve.due_at) == (START + timedelta(hours=2), china(2026, 9, 23), DUE)
    assert resolve.armed_from == START and resolve.running and resolve.fired == [] and not resolve.estimated


def test_contact_clock_counts_working_days(deadlines: TicketDeadlines) -> None:
    assert start_clock(ClockKind.CONTACT, 1, china(2026, 9, 30), deadlines).due_at == china(2026, 10, 8)
    assert start_clock(ClockKind.CONTACT, 1, china(2026, 10, 9), deadlines).due_at == china(2026, 10, 10)


def test_events_warn_at_fractions_then_climb_the_ladder_in_working_days(deadlines: TicketDeadlines) -> None:
    clock = start_clock(ClockKind.RESOLVE, 1, START, deadlines)

    result = events(clock, deadlines)

    assert [(e.key, e.at, e.level, e.notify, e.fraction) for e in result] == [
        ("warn0.5", china(2026, 9, 25, 22), None, ["department"], 0.5),  # half of 7 days
        ("warn0.75", china(2026, 9, 27, 16), None, ["department"], 0.75),
        ("step0", DUE, "催办", ["department", "shift_lead"], None),  # at the breach
        ("step1", china(2026, 9, 30), "督办", ["department", "shift_lead"], None),  # due + 1wd
        ("step2", china(2026, 10, 12), "通报", ["shift_lead", "leadership"], None),  # + 5wd: 9/30, 10/8, 9, 10, 12
        ("step3", china(2026, 10, 19), "领导督办", ["leadership"], None),  # + 10wd
    ]
    assert all(e.clock is ClockKind.RESOLVE for e in result)


def test_next_event_is_the_earliest_unfired_one(deadlines: TicketDeadlines) -> None:
    clock = start_clock(ClockKind.RESOLVE, 1, START, deadlines)

    assert next_key([clock], deadlines) == "warn0.5"
    clock.fired.append("warn0.5")
    assert next_key([clock], deadlines) == "warn0.75"
    clock.fired += ["warn0.75", "step0", "step1", "step2"]
    assert next_key([clock], deadlines) == "step3"
    clock.fired.append("step3")
    assert next_key([clock], deadlines) is None


def test_next_event_skips_events_before_the_clock_was_armed(deadlines: TicketDeadlines) -> None:
    clock = start_clock(ClockKind.RESOLVE, 1, START, deadlines)
    clock.armed_from = china(2026, 9, 28)  # after both warnings, before the breach

    upcoming = next_event([clock], deadlines)

    assert upcoming is not None and (upcoming.key, upcoming.at) == ("step0", DUE)
    clock.armed_from = DUE  # an event exactly at the arming instant still fires
    assert next_key([clock], deadlines) == "step0"


def test_next_event_ignores_stopped_clocks_and_picks_across_clocks(deadlines: TicketDeadlines) -> None:
    clocks: list[Clock] = [start_clock(kind, 1, START, deadlines) for kind in TICKET_CLOCKS]

    first = next_event(clocks, deadlines)
    assert first is not None and (first.clock, first.key) == (ClockKind.SIGN_FOR, "warn0.5")
    assert first.at == START + timedelta(hours=1)

    clocks[0].stopped_at = START + timedelta(minutes=20)
    second = next_event(clocks, deadlines)
    assert second is not None and (second.clock, second.key) == (ClockKind.CONTACT, "warn0.5")

    for clock in clocks:
        clock.stopped_at = START + timedelta(minutes=30)
    assert next_event(clocks, deadlines) is None


# --- TicketRecord: warnings and the ladder -----------------------------------------------------------


def test_a_warning_reminds_the_department(config: DistrictConfig) -> None:
    record = delivered(config)
    warning = record.next_clock_event()
    assert warning is not None and (warning.clock, warning.key) == (ClockKind.SIGN_FOR, "warn0.5")

    record.fire(warning, warning.at)

    [notice] = record.outbox
    assert notice.kind is NoticeKind.REMINDER and notice.department == assignment_for(config, "cgj")
    assert notice.clock is ClockKind.SIGN_FOR and notice.due_at == START + timedelta(hours=2)
    assert notice.text == "签收时限 2026-09-22 12:00 已用去 50%，请抓紧办理"
    assert record.actions[-1].action == "预警" and record.actions[-1].detail == notice.text
    assert not record.overdue and record.escalation_level is None and record.escalations == []
    assert record.clock(ClockKind.SIGN_FOR).fired == ["warn0.5"]
    following = record.next_clock_event()
    assert following is not None and (following.clock, following.key) == (ClockKind.SIGN_FOR, "warn0.75")


def test_a_breach_urges_the_department_and_tells_the_shift_lead(config: DistrictConfig) -> None:
    record = handled(config)
    step = event(record, ClockKind.RESOLVE, "step0")

    record.fire(step, step.at)

    assert [(n.department, n.audience, n.kind, n.level) for n in record.outbox] == [
        (assignment_for(config, "cgj"), [], NoticeKind.ESCALATION, "催办"),
        (None, ["shift_lead"], NoticeKind.ESCALATION, "催办"),
    ]
    assert record.overdue and record.escalation_level == "催办"


def test_the_reporting_step_goes_to_the_centre_only(config: DistrictConfig) -> None:
    record = handled(config)
    run_until(record, ClockKind.RESOLVE, "step1")
    record.outbox.clear()
    step = record.next_clock_event()
    assert step is not None and (step.key, step.level) == ("step2", "通报")

    record.fire(step, step.at)

    [notice] = record.outbox
    assert notice.department is None and notice.audience == ["shift_lead", "leadership"]
    assert notice.kind is NoticeKind.ESCALATION and notice.level == "通报"
    assert notice.clock is ClockKind.RESOLVE and notice.due_at == DUE
    assert notice.text == "区城市管理综合执法局办结超期（时限 2026-09-29 10:00）：通报"
    assert record.escalation_level == "通报" and record.overdue
    assert record.clock(ClockKind.RESOLVE).level == "通报"
    assert record.escalations[-1] == Escalation(
        at=china(2026, 10, 12), clock=ClockKind.RESOLVE, level="通报", round=1, department="cgj", due_at=DUE
    )
    assert [e.level for e in record.escalations] == ["催办", "督办", "通报"]
    assert record.actions[-1].action == "通报"
    assert record.next_clock_event() == event(record, ClockKind.RESOLVE, "step3")


# --- TicketRecord: extensions move the clock -----------------------------------------------------------


def test_extension_approved_after_a_breach_rearms_the_clock(config: DistrictConfig) -> None:
    record = handled(config)
    clerk, lead = who(config, "cgj_sun"), who(config, "zhangli")
    record.request_extension(clerk, span("3wd"), "需协调供电公司", china(2026, 9, 28), "E1")
    fired = run_until(record, ClockKind.RESOLVE, "step1")  # the request waits through 催办 and 督办
    assert [e.key for e in fired] == ["warn0.5", "warn0.75", "step0", "step1"]
    assert record.overdue and record.escalation_level == "督办"
    version = record.clock_version
    approved_at = china(2026, 9, 30, 12)

    record.approve(lead, "E1", None, "同意", approved_at)

    clock = record.clock(ClockKind.RESOLVE)
    assert clock.due_at == record.resolve_due == china(2026, 10, 9)  # 9/29 + 3wd: 9/30, 10/8, 10/9
    assert clock.fired == [] and clock.armed_from == approved_at and clock.running
    assert not record.overdue and record.clock_version > version
    assert record.outbox[-1].text == "延期3个工作日已批准，办理时限改为 2026-10-09 10:00"
    # The warnings are recomputed over the longer span; those already past stay quiet.
    upcoming = record.next_clock_event()
    assert upcoming is not None and (upcoming.key, upcoming.at) == ("warn0.5", china(2026, 9, 30, 22))


def test_extension_approved_too_late_stays_overdue_and_does_not_repeat_steps(config: DistrictConfig) -> None:
    record = handled(config)
    clerk, lead = who(config, "cgj_sun"), who(config, "zhangli")
    record.request_extension(clerk, span("1h"), "需勘查", china(2026, 9, 28), "E1")
    run_until(record, ClockKind.RESOLVE, "step0")

    record.approve(lead, "E1", None, "", china(2026, 9, 29, 12))

    assert record.resolve_due == DUE + timedelta(hours=1) and record.overdue
    upcoming = record.next_clock_event()
    assert upcoming is not None and upcoming.level == "督办"  # 催办 at the new due time is already past


# --- TicketRecord: clock stops give the on-time flags -------------------------------------------------


def test_on_time_flags_come_from_the_clock_stops(config: DistrictConfig) -> None:
    record = delivered(config)
    clerk = who(config, "cgj_sun")
    assert (record.signed_on_time, record.contacted_on_time, record.answered_on_time) == (None, None, None)
    version = record.clock_version

    record.sign_for(clerk, START + timedelta(hours=3))  # limit 2h: late
    assert record.clock_version == version + 1  # a stop wakes the timekeeper
    record.contact(clerk, "已电话联系", china(2026, 9, 23))  # limit 1wd: exactly on time
    record.contact(clerk, "再次联系", china(2026, 9, 24))  # a second contact changes nothing
    record.give_answer(clerk, Answer(text="已清运", resolved=True), DUE - timedelta(minutes=1))

    assert (record.signed_on_time, record.contacted_on_time, record.answered_on_time) == (False, True, True)
    assert record.contacted_at == china(2026, 9, 23)
    assert [(c.kind, c.stopped_at) for c in record.clocks] == [
        (ClockKind.SIGN_FOR, START + timedelta(hours=3)),
        (ClockKind.CONTACT, china(2026, 9, 23)),
        (ClockKind.RESOLVE, DUE - timedelta(minutes=1)),
    ]
    assert record.actions[2].action == "签收" and record.actions[2].detail == "超时签收"
    assert record.running_clocks == [] and record.next_clock_event() is None


def test_late_contact_and_late_answer_are_flagged(config: DistrictConfig) -> None:
    record = delivered(config)
    clerk = who(config, "cgj_sun")

    record.sign_for(clerk, START + timedelta(hours=2))  # at the limit: on time
    record.contact(clerk, "已电话联系", china(2026, 9, 23, 10, 1))
    record.give_answer(clerk, Answer(text="已清运", resolved=True), DUE + timedelta(seconds=1))

    assert (record.signed_on_time, record.contacted_on_time, record.answered_on_time) == (True, False, False)


# --- TicketRecord: a new dispatch round starts new clocks ------------------------------------------------


def test_redo_starts_a_new_round_of_clocks(config: DistrictConfig) -> None:
    record = handled(config)
    clerk = who(config, "cgj_sun")
    run_until(record, ClockKind.RESOLVE, "step0")
    record.give_answer(clerk, Answer(text="已处理", resolved=False), DUE + timedelta(hours=1))
    callback = Callback(resolved=False, satisfaction=Satisfaction.UNSATISFIED)
    record.record_callback(who(config, "liumei"), callback, china(2026, 9, 30))
    assert record.status is TicketStatus.AWAITING_VERIFICATION  # 核查 decides: here, 重办
    record.verify(who(config, "zhangli"), VerifyDecision.REDO, None, "仍未清运", china(2026, 9, 30))
    assert record.status is TicketStatus.DISPATCHING and record.pending_dispatch
    redo_at = china(2026, 9, 30, 11)
    version = record.clock_version

    assert record.start_delivery(redo_at) == 2
    assert record.clock_version > version  # the timekeeper wakes for the new clocks

    old, new = record.clocks[:3], record.clocks[3:]
    assert all(c.round == 1 and not c.running for c in old)
    assert [(c.kind, c.round, c.started_at, c.running) for c in new] == [(k, 2, redo_at, True) for k in TICKET_CLOCKS]
    assert record.clock(ClockKind.RESOLVE) is new[2] and record.resolve_due == china(2026, 10, 7, 11)
    assert record.sign_for_due == redo_at + timedelta(hours=2)
    assert record.return_deadline == china(2026, 10, 9, 11)  # 2wd from 9/30: 10/8, 10/9
    assert not record.overdue and record.escalation_level is None
    assert [e.level for e in record.escalations] == ["催办"]  # history is kept
    upcoming = record.next_clock_event()
    assert upcoming is not None and (upcoming.clock, upcoming.key) == (ClockKind.SIGN_FOR, "warn0.5")
    assert upcoming.at == redo_at + timedelta(hours=1)


def test_reassignment_stops_the_running_clocks_of_the_old_round(config: DistrictConfig) -> None:
    record = handled(config)
    clerk, lead = who(config, "cgj_sun"), who(config, "zhangli")
    record.request_return(clerk, "属物业管理范围", START + timedelta(hours=4), "R1")
    record.approve(lead, "R1", assignment_for(config, "bhjd"), "", START + timedelta(hours=5))
    restart = START + timedelta(hours=6)

    record.start_delivery(restart)

    resolve_1 = record.clocks[2]
    assert (resolve_1.round, resolve_1.kind, resolve_1.stopped_at) == (1, ClockKind.RESOLVE, restart)
    assert [c.round for c in record.running_clocks] == [2, 2, 2]
    assert record.answered_on_time is None
