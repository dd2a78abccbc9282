"""受理 without Temporal: checking a ticket, routing it by the catalogue, the knowledge base and the policy."""

from __future__ import annotations

import pytest

from domain.config import DistrictConfig
from domain.intake import (
    TicketRejected,
    answer_from_knowledge,
    assignment_for,
    check_ticket,
    plan_intake,
    route,
    workflow_id_for,
)
from domain.models import RequestKind
from starter.settings import CONFIG_ENV, load_config
from tests.helpers import sample_ticket


@pytest.fixture
def config(monkeypatch: pytest.MonkeyPatch) -> DistrictConfig:
    monkeypatch.delenv(CONFIG_ENV, raising=False)
    return load_config()


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

    plan = plan_intake(config, ticket).plan

    assert plan.route is None and plan.direct_answer is None and plan.knowledge_id is None


def test_plan_carries_the_assignment_with_its_task_queue(config: DistrictConfig) -> None:
    ticket = sample_ticket("物业服务", "滨河街道", title="电梯长期故障", content="小区电梯坏了一个月，物业不修。")

    plan = plan_intake(config, ticket).plan

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

    plan = plan_intake(config, ticket).plan

    assert plan.knowledge_id == "KB-001"
    assert plan.direct_answer is not None and "煤改电空气源热泵按户补贴" in plan.direct_answer
    assert plan.route is None  # answered at intake: nothing is dispatched


def test_knowledge_base_does_not_answer_a_complaint_with_the_same_words(config: DistrictConfig) -> None:
    ticket = sample_ticket(
        "供暖/煤改电", "千里山镇", kind=RequestKind.COMPLAINT, title="煤改电补贴迟迟不发", content="补贴申请半年了。"
    )

    assert answer_from_knowledge(config, ticket) is None
    plan = plan_intake(config, ticket).plan
    assert plan.direct_answer is None and plan.knowledge_id is None
    assert plan.route is not None and plan.route.department == "gdgs"  # 千里山镇's line for 供暖/煤改电


def test_knowledge_base_needs_every_keyword(config: DistrictConfig) -> None:
    ticket = sample_ticket(
        "供暖/煤改电", "新华街道", kind=RequestKind.QUESTION, title="煤改电设备坏了", content="空气源热泵不制热。"
    )

    assert answer_from_knowledge(config, ticket) is None
    assert plan_intake(config, ticket).plan.route == assignment_for(config, "rlgs")


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
        plan_intake(config, ticket)

    message = str(info.value)
    assert message.startswith(f"{field}: ")
    assert value in message


def test_check_ticket_accepts_a_known_community(config: DistrictConfig) -> None:
    check_ticket(config, sample_ticket().model_copy(update={"community": "镇北社区"}))
    check_ticket(config, sample_ticket().model_copy(update={"community": None}))


# --- the policy comes from the urgency -------------------------------------------------------


@pytest.mark.parametrize(
    ("urgency", "sign_for_hours", "resolve_hours"),
    [("紧急", 0.5, 2), ("加急", 2, 24), ("一般", 2, 168), ("复杂", 24, 360)],
)
def test_plan_policy_comes_from_the_urgency(
    config: DistrictConfig, urgency: str, sign_for_hours: float, resolve_hours: float
) -> None:
    ticket_input = plan_intake(config, sample_ticket(urgency=urgency))
    policy = ticket_input.plan.policy

    assert (policy.sign_for_hours, policy.resolve_hours) == (sign_for_hours, resolve_hours)
    assert policy.return_window_hours == config.center.return_window_hours == 48
    assert policy.max_extensions == config.center.max_extensions == 1
    assert policy.max_extension_hours == config.center.max_extension_hours == 240
    assert ticket_input.ticket.urgency == urgency


def test_workflow_id_for_ticket() -> None:
    assert workflow_id_for("HX2024-001") == "ticket-HX2024-001"
