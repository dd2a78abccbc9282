"""受理 without Temporal: checking a ticket, routing it by the catalogue, the knowledge base and the
deadline tier."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from pydantic import TypeAdapter

from activities.runtime.calendar_source import WINDOW_DAYS, calendar_for
from domain.calendar import CalendarData, Duration, Span
from domain.config import CalendarSettings, DistrictConfig, ManualSurvey, SimulatedSurvey
from domain.intake import (
    IntakePlan,
    TicketInput,
    TicketRejected,
    answer_from_knowledge,
    assignment_for,
    check_ticket,
    plan_intake,
    route,
    workflow_id_for,
)
from domain.models import RequestKind, Ticket
from tests.support.helpers import sample_ticket


def calendar(config: DistrictConfig, ticket: Ticket) -> CalendarData:
    """The slice of the working-day calendar a ticket takes at intake, as the CLI does."""
    return calendar_for(config.calendar, ticket.received_at)


def intake(config: DistrictConfig, ticket: Ticket) -> TicketInput:
    """plan_intake with the ticket's own calendar slice."""
    return plan_intake(config, ticket, calendar(config, ticket))


def plan_of(config: DistrictConfig, ticket: Ticket) -> IntakePlan:
    """Just the plan of `intake`."""
    return intake(config, ticket).plan


def span(text: str) -> Span:
    """A duration as the policy writes it ("2h", "1wd")."""
    return TypeAdapter(Duration).validate_python(text)


# --- routing by the dispatch catalogue -------------------------------------------------------


def test_street_specific_line_wins_over_the_generic_one(config: DistrictConfig) -> None:
    assert route(config, "物业服务", "滨河街道") == "bhjd"
    assert route(config, "物业服务", "新华街道") == "xhjd"
    assert route(config, "物业服务", "千里山镇") == "zjj"  # no line for this street: the generic one


def test_street_line_wins_even_when_listed_before_the_generic_one(config: DistrictConfig) -> None:
    # 噪音污染: the generic line comes first in the file, the 千里山镇 line second.
    assert route(config, "噪音污染", "千里山镇") == "qlsz"
    assert route(config, "噪音污染", "滨河街道") == "sthj"


def test_policy_question_has_no_route(config: DistrictConfig) -> None:
    assert route(config, "政策咨询", "滨河街道") is None
    ticket = sample_ticket("政策咨询", kind=RequestKind.QUESTION, title="退休能否参加培训", content="想了解培训政策。")

    plan = plan_of(config, ticket)

    assert plan.route is None and plan.direct_answer is None and plan.knowledge_id is None


def test_plan_carries_the_assignment_with_its_task_queue(config: DistrictConfig) -> None:
    ticket = sample_ticket("物业服务", "滨河街道", title="电梯长期故障", content="小区电梯坏了一个月，物业不修。")

    plan = plan_of(config, ticket)

    assert plan.route is not None
    assert plan.route.department == "bhjd"
    assert plan.route.department_name == "滨河街道办事处"
    assert plan.route.task_queue == "hotline-dept-bhjd"
    assert plan.route == assignment_for(config, "bhjd")


def test_assignment_for_unknown_department_is_rejected(config: DistrictConfig) -> None:
    with pytest.raises(TicketRejected, match=r"^department: unknown 'nope'$"):
        assignment_for(config, "nope")


# --- the knowledge base ----------------------------------------------------------------------


def test_knowledge_base_answers_a_question_with_all_keywords(config: DistrictConfig) -> None:
    ticket = sample_ticket(
        "供暖/煤改电", "千里山镇", kind=RequestKind.QUESTION, title="煤改电补贴怎么申请", content="请问标准？"
    )

    plan = plan_of(config, ticket)

    assert plan.knowledge_id == "KB-001"
    assert plan.direct_answer is not None and "煤改电空气源热泵按户补贴" in plan.direct_answer
    assert plan.route is None  # answered at intake: nothing is dispatched


def test_knowledge_base_does_not_answer_a_complaint_with_the_same_words(config: DistrictConfig) -> None:
    ticket = sample_ticket(
        "供暖/煤改电", "千里山镇", kind=RequestKind.COMPLAINT, title="煤改电补贴迟迟不发", content="补贴申请半年了。"
    )

    assert answer_from_knowledge(config, ticket) is None
    plan = plan_of(config, ticket)
    assert plan.direct_answer is None and plan.knowledge_id is None
    assert plan.route is not None and plan.route.department == "gdgs"  # 千里山镇's line for 供暖/煤改电


def test_knowledge_base_needs_every_keyword(config: DistrictConfig) -> None:
    ticket = sample_ticket(
        "供暖/煤改电", "新华街道", kind=RequestKind.QUESTION, title="煤改电设备坏了", content="空气源热泵不制热。"
    )

    assert answer_from_knowledge(config, ticket) is None
    assert plan_of(config, ticket).route == assignment_for(config, "rlgs")


def test_knowledge_keywords_may_be_spread_over_title_and_content(config: DistrictConfig) -> None:
    ticket = sample_ticket("住房保障", kind=RequestKind.QUESTION, title="公租房", content="请问怎么申请？")

    entry = answer_from_knowledge(config, ticket)

    assert entry is not None and entry.id == "KB-004"


# --- checking a ticket names the field -------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field", "value"),
    [
        ({"category": "外星人入侵"}, "category", "外星人入侵"),
        ({"street": "海北街道"}, "street", "海北街道"),
        ({"community": "蓝天社区"}, "community", "蓝天社区"),  # a community of 新华街道, not of 滨河街道
        ({"urgency": "特急"}, "urgency", "特急"),
    ],
)
def test_check_ticket_names_the_field(config: DistrictConfig, changes: dict[str, str], field: str, value: str) -> None:
    ticket = sample_ticket().model_copy(update=changes)

    with pytest.raises(TicketRejected) as info:
        check_ticket(config, ticket)
    with pytest.raises(TicketRejected):
        intake(config, ticket)

    message = str(info.value)
    assert message.startswith(f"{field}: ")
    assert value in message


def test_check_ticket_accepts_a_known_community(config: DistrictConfig) -> None:
    check_ticket(config, sample_ticket().model_copy(update={"community": "镇北社区"}))
    check_ticket(config, sample_ticket().model_copy(update={"community": None}))


# --- the deadline tier: the first tier of the policy whose match fits ---------------------------


@pytest.mark.parametrize(
    ("category", "kind", "urgency", "tier", "limits"),
    [
        ("市容环卫", RequestKind.COMPLAINT, "紧急", "紧急", ("30m", "1h", "2h")),
        ("供暖/煤改电", RequestKind.COMPLAINT, "紧急", "紧急", ("30m", "1h", "2h")),  # 紧急 is listed first
        ("供暖/煤改电", RequestKind.COMPLAINT, "一般", "水电气暖", ("2h", "4h", "24h")),
        ("供暖/煤改电", RequestKind.COMPLAINT, "复杂", "水电气暖", ("2h", "4h", "24h")),
        ("供水供电", RequestKind.REQUEST, "一般", "水电气暖", ("2h", "4h", "24h")),
        ("市容环卫", RequestKind.COMPLAINT, "加急", "加急", ("2h", "4h", "24h")),
        ("政策咨询", RequestKind.QUESTION, "一般", "咨询", ("2h", "1wd", "1wd")),
        ("政策咨询", RequestKind.QUESTION, "复杂", "咨询", ("2h", "1wd", "1wd")),  # 咨询 comes before 复杂
        ("市容环卫", RequestKind.COMPLAINT, "复杂", "复杂", ("1wd", "2wd", "15d")),
        ("市容环卫", RequestKind.COMPLAINT, "一般", "一般", ("2h", "1wd", "7d")),
        ("城乡建设", RequestKind.SUGGESTION, "一般", "一般", ("2h", "1wd", "7d")),
    ],
)
def test_plan_tier_comes_from_urgency_category_and_kind(
    config: DistrictConfig,
    category: str,
    kind: RequestKind,
    urgency: str,
    tier: str,
    limits: tuple[str, str, str],
) -> None:
    ticket = sample_ticket(category, kind=kind, urgency=urgency, title="诉求", content="请尽快处理。")

    deadlines = plan_of(config, ticket).deadlines

    assert deadlines is not None and deadlines.tier.name == tier
    assert (deadlines.tier.sign_for, deadlines.tier.contact, deadlines.tier.resolve) == tuple(map(span, limits))
    assert deadlines.tier == config.deadlines.tier_for(urgency, category, kind)


def test_plan_carries_the_whole_policy_and_the_calendar(config: DistrictConfig) -> None:
    ticket = sample_ticket(urgency="一般")
    sliced = calendar(config, ticket)

    ticket_input = plan_intake(config, ticket, sliced)
    deadlines = ticket_input.plan.deadlines

    assert ticket_input.plan.policy is None  # the first-release hour policy is for old histories only
    assert deadlines is not None and deadlines.calendar == sliced
    assert deadlines.warnings == [0.5, 0.75]
    assert [step.level for step in deadlines.ladder] == ["催办", "督办", "通报", "领导督办"]
    assert deadlines.return_window == span("2wd")
    assert deadlines.extension.max_count == 1 and deadlines.extension.max == span("10wd")
    assert ticket_input.ticket.urgency == "一般"


def test_plan_fixes_how_the_ticket_publishes_its_dispatch_and_who_calls_back(config: DistrictConfig) -> None:
    """Decided at intake, so that replay never depends on today's configuration."""
    ticket = sample_ticket()
    assert isinstance(config.center.callback, ManualSurvey)  # the bundled district: operators call back

    plan = plan_of(config, ticket)
    survey = SimulatedSurvey(type="simulated", actor="liumei")
    simulated = config.model_copy(update={"center": config.center.model_copy(update={"callback": survey})})

    assert plan.publish_on_delivery and plan.callback_by_operator
    assert not plan_of(simulated, ticket).callback_by_operator
    assert plan_of(simulated, ticket).publish_on_delivery


def test_an_input_from_before_the_plan_fixed_them_keeps_the_old_behaviour(config: DistrictConfig) -> None:
    """Inputs in the histories of tickets received earlier lack the fields: they read as before (the
    dispatch step also published as it starts, the callback asked for by the local activity)."""
    raw = intake(config, sample_ticket()).model_dump(mode="json")
    del raw["plan"]["publish_on_delivery"], raw["plan"]["callback_by_operator"]

    plan = TicketInput.model_validate(raw).plan

    assert not plan.publish_on_delivery and not plan.callback_by_operator


def test_calendar_slice_starts_the_day_before_the_ticket_in_china_time(config: DistrictConfig) -> None:
    """Received at 2026-09-30 20:00 UTC, which is already 2026-10-01 in China: the slice starts on
    2026-09-30 and reaches past every limit, ladder step and extension."""
    ticket = sample_ticket().model_copy(update={"received_at": datetime(2026, 9, 30, 20, 0, tzinfo=UTC)})

    sliced = plan_of(config, ticket).deadlines

    assert sliced is not None
    assert sliced.calendar.start == date(2026, 9, 30)
    assert sliced.calendar.end == date(2026, 10, 1) + timedelta(days=WINDOW_DAYS)
    assert date(2026, 10, 1) in sliced.calendar.holidays


def test_a_ticket_entered_late_gets_a_slice_reaching_from_now() -> None:
    """A backlog ticket received long ago is dispatched now: its clocks need the calendar from now on."""
    received = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)
    now = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)

    sliced = calendar_for(CalendarSettings(), received, now=now)

    assert sliced.start == date(2025, 1, 5)
    assert sliced.end == date(2026, 11, 2) + timedelta(days=WINDOW_DAYS)


def test_workflow_id_for_ticket() -> None:
    assert workflow_id_for("HX2024-001") == "ticket-HX2024-001"
