"""Issue 17 on Temporal's time-skipping test server: 核查 after the callback (重办 or 核查结案, the cap on
redos, the auto_redo switch), 免考核, 挂账 with its monthly reminder, 暂停计时 moving the due times, and
the facts each step publishes for the reports (HotlineFacts)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from domain import search_attributes as sa
from domain.calendar import CHINA_TZ
from domain.commands import (
    ContactCitizen,
    Decide,
    GiveAnswer,
    RecordCallback,
    RequestBacklog,
    RequestExemption,
    RequestPause,
    ResumeClock,
    SignFor,
    VerifyTicket,
)
from domain.config import DistrictConfig
from domain.intake import workflow_id_for
from domain.models import (
    Answer,
    Callback,
    ClosureCategory,
    ExemptionReason,
    PauseReason,
    Satisfaction,
    TicketStatus,
    VerifyDecision,
)
from starter.tickets import ActionFailed, act, outcome, submit, view
from starter.tools.audit import story_of
from tests.support.district import make_config
from tests.support.helpers import eventually, person, sample_ticket
from worker import build_workers
from workflows.ticket import TicketWorkflow

pytestmark = pytest.mark.workers(departments=["cgj"])


def with_callback(config: DistrictConfig, **policy: object) -> DistrictConfig:
    callback = config.center.callback.model_copy(update=policy)
    return config.model_copy(update={"center": config.center.model_copy(update={"callback": callback})})


async def delivered(client: Client, config: DistrictConfig, urgency: str = "一般") -> str:
    ticket = sample_ticket(urgency=urgency)
    await submit(client, config, ticket)
    await eventually(client, ticket.ticket_no, lambda r: r.status is TicketStatus.AWAITING_SIGN_FOR)
    return ticket.ticket_no


async def answer(client: Client, config: DistrictConfig, no: str, *, sign: bool = True) -> None:
    clerk = person(config, "cgj_sun")
    if sign:
        await act(client, no, TicketWorkflow.sign_for, SignFor(actor=clerk))
    await act(client, no, TicketWorkflow.contact_citizen, ContactCitizen(actor=clerk, note="已联系"))
    reply = GiveAnswer(actor=clerk, answer=Answer(text="已清运", resolved=True))
    await act(client, no, TicketWorkflow.answer, reply)


async def call_back(client: Client, config: DistrictConfig, no: str, satisfaction: Satisfaction) -> str:
    verdict = Callback(resolved=satisfaction is not Satisfaction.UNSATISFIED, satisfaction=satisfaction)
    result = await act(
        client, no, TicketWorkflow.record_callback, RecordCallback(actor=person(config, "liumei"), callback=verdict)
    )
    return result.message


async def published(client: Client, no: str) -> dict[str, object]:
    attrs = (await client.get_workflow_handle(workflow_id_for(no)).describe()).typed_search_attributes
    return {
        "status": attrs.get(sa.STATUS),
        "facts": list(attrs.get(sa.FACTS) or []),
        "resolve_due": attrs.get(sa.RESOLVE_DUE),
        "awaiting_approval": attrs.get(sa.AWAITING_APPROVAL),
    }


def verify(config: DistrictConfig, decision: VerifyDecision, closure: ClosureCategory | None = None) -> VerifyTicket:
    return VerifyTicket(actor=person(config, "zhangli"), decision=decision, closure=closure, reason="已核实")


async def test_an_unsatisfied_callback_waits_for_verification_and_closes_unresolved(
    env: WorkflowEnvironment, config: DistrictConfig, workers: None
) -> None:
    no = await delivered(env.client, config)
    await answer(env.client, config, no)

    assert await call_back(env.client, config, no, Satisfaction.UNSATISFIED) == "回访不满意或未解决，待中心核查"
    record = await view(env.client, no)
    assert record.status is TicketStatus.AWAITING_VERIFICATION and record.redo_count == 0
    assert (await published(env.client, no))["status"] == "待核查"
    with pytest.raises(ActionFailed, match="仅限值班长"):
        bad = VerifyTicket(actor=person(config, "cgj_sun"), decision=VerifyDecision.REDO, reason="x")
        await act(env.client, no, TicketWorkflow.verify, bad)

    closed = verify(config, VerifyDecision.CLOSE, ClosureCategory.EXPLAINED)
    result = await act(env.client, no, TicketWorkflow.verify, closed)

    assert result.status is TicketStatus.CLOSED and result.message == "核查结案：已解释说明"
    ending = await outcome(env.client, no)
    assert ending.status is TicketStatus.CLOSED and ending.redo_count == 0
    facts = (await published(env.client, no))["facts"]
    assert "核查结案:已解释说明" in facts and "未解决" in facts  # type: ignore[operator]  # facts is a list; published() types its values object
    record = await view(env.client, no)
    assert record.callback is not None and record.callback.satisfaction is Satisfaction.UNSATISFIED
    assert record.actions[-1].action == "核查结案" and record.actions[-1].actor.name == "张丽"


async def test_verification_redoes_until_the_cap_then_only_closes(env: WorkflowEnvironment, tmp_path: Path) -> None:
    config = with_callback(make_config(tmp_path), max_redo=1)
    async with build_workers(env.client, config, departments=["cgj"], center=True):
        no = await delivered(env.client, config)
        await answer(env.client, config, no)
        await call_back(env.client, config, no, Satisfaction.UNSATISFIED)

        result = await act(env.client, no, TicketWorkflow.verify, verify(config, VerifyDecision.REDO))

        assert result.message == "核查：已发回重办"
        await eventually(env.client, no, lambda r: r.dispatch_round == 2 and r.status is TicketStatus.AWAITING_SIGN_FOR)
        facts = (await published(env.client, no))["facts"]
        assert "#1@cgj:未解决" in facts and "#1@cgj:签收及时" in facts  # type: ignore[operator]  # facts is a list; published() types its values object
        assert "未解决" not in facts  # type: ignore[operator]  # facts is a list; published() types its values object; the first round's verdict moved to its round tag
        await answer(env.client, config, no)
        await call_back(env.client, config, no, Satisfaction.UNSATISFIED)
        with pytest.raises(ActionFailed, match="达到上限（1 次），仅可核查结案或提请会商"):
            await act(env.client, no, TicketWorkflow.verify, verify(config, VerifyDecision.REDO))
        closed = verify(config, VerifyDecision.CLOSE, ClosureCategory.HISTORICAL)
        await act(env.client, no, TicketWorkflow.verify, closed)
        ending = await outcome(env.client, no)
    assert ending.status is TicketStatus.CLOSED and ending.redo_count == 1


async def test_auto_redo_switch_keeps_todays_behaviour(env: WorkflowEnvironment, tmp_path: Path) -> None:
    config = with_callback(make_config(tmp_path), auto_redo=True)
    async with build_workers(env.client, config, departments=["cgj"], center=True):
        no = await delivered(env.client, config)
        await answer(env.client, config, no)

        assert await call_back(env.client, config, no, Satisfaction.UNSATISFIED) == "回访不满意或未解决，已发回重办"
        record = await eventually(
            env.client, no, lambda r: r.dispatch_round == 2 and r.status is TicketStatus.AWAITING_SIGN_FOR
        )
        assert record.plan.verification is not None and record.plan.verification.auto_redo
        await answer(env.client, config, no)
        await call_back(env.client, config, no, Satisfaction.SATISFIED)
        assert (await outcome(env.client, no)).redo_count == 1


async def test_an_exemption_decided_after_closure_still_reaches_the_facts(
    env: WorkflowEnvironment, config: DistrictConfig, workers: None
) -> None:
    no = await delivered(env.client, config)
    clerk, lead = person(config, "cgj_sun"), person(config, "zhangli")
    await act(env.client, no, TicketWorkflow.sign_for, SignFor(actor=clerk))
    asked = RequestExemption(actor=clerk, category=ExemptionReason.UNREASONABLE, evidence="诉求人要求拆除合法建筑")
    requested = await act(env.client, no, TicketWorkflow.request_exemption, asked)
    assert requested.approval_id == "X1" and requested.message == "免考核申请已提交，待值班长审批"
    assert (await published(env.client, no))["awaiting_approval"] is True
    with pytest.raises(ActionFailed, match="已有免考核申请待审批"):
        await act(env.client, no, TicketWorkflow.request_exemption, asked)
    await answer(env.client, config, no, sign=False)
    await call_back(env.client, config, no, Satisfaction.SATISFIED)
    # Closed, but the exemption waits for its decision: the workflow is still there to take it.
    record = await eventually(env.client, no, lambda r: r.status is TicketStatus.CLOSED)
    assert record.pending_exemption is not None

    await act(env.client, no, TicketWorkflow.approve, Decide(actor=lead, approval_id="X1", note="证据充分"))

    assert (await outcome(env.client, no)).status is TicketStatus.CLOSED
    after = await published(env.client, no)
    assert "免考核@cgj" in after["facts"] and after["awaiting_approval"] is False  # type: ignore[operator]  # facts is a list; published() types its values object


async def test_backlog_moves_the_due_time_to_the_plan_date_and_reminds_monthly(
    env: WorkflowEnvironment, config: DistrictConfig, workers: None, tmp_path: Path
) -> None:
    no = await delivered(env.client, config)
    clerk, lead = person(config, "cgj_sun"), person(config, "zhangli")
    await act(env.client, no, TicketWorkflow.sign_for, SignFor(actor=clerk))
    await act(env.client, no, TicketWorkflow.contact_citizen, ContactCitizen(actor=clerk, note="已说明改造计划"))
    now = await env.get_current_time()
    plan = (now + timedelta(days=75)).date()
    ask = RequestBacklog(actor=clerk, plan_date=plan, reason="需列入道路改造计划")
    requested = await act(env.client, no, TicketWorkflow.request_backlog, ask)
    assert requested.approval_id == "B1"
    await act(env.client, no, TicketWorkflow.approve, Decide(actor=lead, approval_id="B1"))

    record = await view(env.client, no)
    assert record.on_backlog and record.resolve_due is not None
    assert record.resolve_due.astimezone(CHINA_TZ).date() == plan + timedelta(days=1)
    shown = await published(env.client, no)
    assert "挂账" in shown["facts"] and shown["resolve_due"] == record.resolve_due and shown["status"] == "已联系"  # type: ignore[operator]  # facts is a list; published() types its values object

    await env.sleep(timedelta(days=32))  # past the first month: one reminder, no 催办 (the plan date governs)
    record = await eventually(env.client, no, lambda r: r.backlog_reminders == 1 and not r.outbox)
    assert [a.action for a in record.actions].count("挂账提醒") == 1 and not record.overdue
    notices = list((tmp_path / "cgj" / "notices").glob("*.json"))
    assert any("挂账提醒" in p.read_text(encoding="utf-8") for p in notices)
    reply = GiveAnswer(actor=clerk, answer=Answer(text="道路已改造", resolved=True))
    await act(env.client, no, TicketWorkflow.answer, reply)
    await call_back(env.client, config, no, Satisfaction.SATISFIED)
    assert (await outcome(env.client, no)).status is TicketStatus.CLOSED
    assert "挂账" not in (await published(env.client, no))["facts"]  # type: ignore[operator]  # facts is a list; published() types its values object


async def test_a_pause_moves_the_due_times_and_resumes_by_itself_at_the_limit(
    env: WorkflowEnvironment, config: DistrictConfig, workers: None
) -> None:
    no = await delivered(env.client, config)
    clerk, lead = person(config, "cgj_sun"), person(config, "zhangli")
    await act(env.client, no, TicketWorkflow.sign_for, SignFor(actor=clerk))
    before = (await view(env.client, no)).resolve_due
    ask = RequestPause(actor=clerk, category=PauseReason.MATERIALS, note="待补充产权证明")
    assert (await act(env.client, no, TicketWorkflow.request_pause, ask)).approval_id == "P1"
    await act(env.client, no, TicketWorkflow.approve, Decide(actor=lead, approval_id="P1"))
    record = await view(env.client, no)
    assert record.paused_since is not None and "暂停计时" in (await published(env.client, no))["facts"]  # type: ignore[operator]  # facts is a list; published() types its values object
    paused_at, limit_at = record.paused_since, record.pause_ends_at
    assert limit_at is not None

    await env.sleep(limit_at - paused_at + timedelta(minutes=1))  # the default limit: 10 working days

    record = await eventually(env.client, no, lambda r: r.paused_since is None)
    resumed = next(a for a in record.actions if a.action == "恢复计时")
    assert resumed.actor.id == "system" and "自动恢复" in resumed.detail
    assert record.resolve_due is not None and before is not None
    assert record.resolve_due - before >= timedelta(days=10)  # 10 working days of pause, at least 10 days
    assert record.escalation_level is None and not record.overdue  # no step fired while paused
    assert "暂停计时" not in (await published(env.client, no))["facts"]  # type: ignore[operator]  # facts is a list; published() types its values object
    # The audit timeline names the timer: the system resumed the clocks at the limit.
    story = await story_of(env.client, workflow_id_for(no))
    assert any(s.action == "时限计时到点" and "暂停计时上限" in s.detail for s in story.steps)
    assert [(s.action, s.actor.name) for s in story.steps if s.action in ("申请暂停计时", "批准")] == [
        ("申请暂停计时", "孙浩"),
        ("批准", "张丽"),
    ]
    # A pause the department ends itself.
    await act(env.client, no, TicketWorkflow.request_pause, ask.model_copy(update={"category": PauseReason.AWAY}))
    await act(env.client, no, TicketWorkflow.approve, Decide(actor=lead, approval_id="P2"))
    await env.sleep(timedelta(hours=5))
    result = await act(env.client, no, TicketWorkflow.resume_clock, ResumeClock(actor=clerk, note="已见到诉求人"))
    assert result.message == "已恢复计时"
    record = await view(env.client, no)
    assert record.actions[-1].action == "恢复计时" and record.actions[-1].actor.name == "孙浩"


async def test_an_open_ticket_past_its_sign_for_time_publishes_it_late(
    env: WorkflowEnvironment, config: DistrictConfig, workers: None
) -> None:
    no = await delivered(env.client, config, urgency="紧急")
    assert "签收超时" not in (await published(env.client, no))["facts"]  # type: ignore[operator]  # facts is a list; published() types its values object

    await env.sleep(timedelta(minutes=40))  # the 30-minute sign-for clock ran out: 催办

    await eventually(env.client, no, lambda r: r.overdue)
    assert "签收超时" in (await published(env.client, no))["facts"]  # type: ignore[operator]  # facts is a list; published() types its values object
