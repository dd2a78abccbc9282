"""Record the histories that tests/integration/test_replay.py replays: `python -m tests.support.record_histories`.

Runs tickets on a fresh local dev server (standard; 退单→改派; 重办 with a 延期; an urgent ticket left
to climb the escalation ladder; 核查结案; 核查→重办; 免考核; 挂账; 暂停计时) and writes each workflow's history as JSON to
tests/histories/<RELEASE>/<name>.json. Histories of earlier releases stay: they stand for tickets
still running from then, and must keep replaying. Record a new release folder after an intended
change of TicketWorkflow's commands. `python -m tests.support.record_histories NAME…` records the named
scenarios alone (ticket scenarios of SCENARIOS, and those of OUTAGES: `outage` for 派遣受阻,
`redirected` for 人工改派 while blocked, `enterprise_outage` for an item's 派送受阻) into the current release
folder, leaving the other files as they are.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHistory

from activities.runtime.binaries import start_dev_server
from activities.runtime.codec import data_converter
from domain.calendar import Span, Unit
from domain.campaign import CampaignKind, TicketFilter
from domain.commands import (
    AssistReport,
    Attend,
    CloseCampaign,
    ContactCitizen,
    Decide,
    DetermineOwner,
    EvaluateDepartment,
    GiveAnswer,
    ManualDispatch,
    RecordCallback,
    RecordMinutes,
    ReportIn,
    RequestBacklog,
    RequestExemption,
    RequestExtension,
    RequestPause,
    RequestReturn,
    ResumeClock,
    SignFor,
    VerifyTicket,
    WhistleAnswer,
)
from domain.config import DistrictConfig
from domain.deadlines import Tier, TierMatch
from domain.enterprise import (
    CloseItem,
    ConfirmItem,
    DeliveryState,
    EnterpriseRecord,
    NoteProgress,
    Outcome,
    OutcomeKind,
    ReopenItem,
    workflow_id_for_enterprise,
)
from domain.enterprise_plan import enterprise_for, item_spec
from domain.intake import assignment_for, workflow_id_for
from domain.meeting import MeetingStatus
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
from domain.report_request import ReportRequest, ReportRun
from domain.whistle import workflow_id_for_whistle
from starter.campaigns import act_campaign, campaign_summary, start_campaign, view_campaign
from starter.enterprises import act_enterprise, record_visit, view_enterprise
from starter.meetings import act_meeting, meeting_outcome, view_meeting
from starter.tickets import act, outcome, submit
from starter.whistles import act_whistle, blow, view_whistle, whistle_outcome
from tests.support.district import make_config
from tests.support.enterprise import eventually_enterprise
from tests.support.fake_department import serve
from tests.support.helpers import eventually, person, sample_ticket
from worker import build_workers
from workflows.campaign import CampaignWorkflow
from workflows.enterprise import EnterpriseServiceWorkflow as Enterprise
from workflows.meeting import ConsultationMeetingWorkflow
from workflows.report import ReportWorkflow
from workflows.ticket import TicketWorkflow
from workflows.whistle import WhistleWorkflow

HISTORIES = Path(__file__).resolve().parents[1] / "histories"
# v1: first release (hour-based limits); v2: working-day clocks and the escalation ladder; v3: the
# dispatch step published once, and no callback request when operators make the callbacks; v4: 核查
# after the callback, 免考核, 挂账 and 暂停计时, and each round's facts published (issue 17); v5: 改派
# while 派遣受阻, and an enterprise item's 派送受阻 (recorded alone: redirected, enterprise_outage).
RELEASE = "v5"
RECEIVED_AT = datetime(2024, 5, 6, 9, 0, tzinfo=UTC)

Scenario = Callable[[Client, DistrictConfig, str], Awaitable[None]]


def ticket_no_for(name: str) -> str:
    """The fixed ticket number of a scenario, so re-recording gives the same workflow ids."""
    return f"HIST-{name.replace('_', '-')}"


async def _delivered_to(client: Client, ticket_no: str, department: str, round: int) -> None:
    await eventually(
        client,
        ticket_no,
        lambda r: (
            r.status is TicketStatus.AWAITING_SIGN_FOR
            and r.assignment is not None
            and r.assignment.department == department
            and r.dispatch_round == round
        ),
    )


async def _work(client: Client, config: DistrictConfig, ticket_no: str, clerk: str, *, sign: bool = True) -> None:
    actor = person(config, clerk)
    if sign:
        await act(client, ticket_no, TicketWorkflow.sign_for, SignFor(actor=actor))
    await act(client, ticket_no, TicketWorkflow.contact_citizen, ContactCitizen(actor=actor, note="已电话联系诉求人"))
    answer = Answer(text="已到现场处理完毕", resolved=True, evidence=["photo-001.jpg"])
    await act(client, ticket_no, TicketWorkflow.answer, GiveAnswer(actor=actor, answer=answer))


async def _call_back(
    client: Client,
    config: DistrictConfig,
    ticket_no: str,
    satisfaction: Satisfaction,
    closure: ClosureCategory | None = None,
) -> None:
    """回访; an unsatisfied verdict goes to 核查 (tickets since v4): 重办, or 核查结案 with `closure`."""
    callback = Callback(resolved=satisfaction is not Satisfaction.UNSATISFIED, satisfaction=satisfaction)
    called = await act(
        client,
        ticket_no,
        TicketWorkflow.record_callback,
        RecordCallback(actor=person(config, "liumei"), callback=callback),
    )
    if called.status is TicketStatus.AWAITING_VERIFICATION:
        decision = VerifyDecision.CLOSE if closure else VerifyDecision.REDO
        verify = VerifyTicket(actor=person(config, "zhangli"), decision=decision, closure=closure, reason="已核实")
        await act(client, ticket_no, TicketWorkflow.verify, verify)


async def standard(client: Client, config: DistrictConfig, ticket_no: str) -> None:
    """受理 → 派遣 → 签收 → 联系 → 答复 → 回访 → 办结."""
    await _delivered_to(client, ticket_no, "cgj", 1)
    await _work(client, config, ticket_no, "cgj_sun")
    await _call_back(client, config, ticket_no, Satisfaction.SATISFIED)


async def return_reassign(client: Client, config: DistrictConfig, ticket_no: str) -> None:
    """cgj signs, asks to return it; the shift lead approves and reassigns it to bhjd, who handles it."""
    await _delivered_to(client, ticket_no, "cgj", 1)
    clerk, lead = person(config, "cgj_sun"), person(config, "zhangli")
    await act(client, ticket_no, TicketWorkflow.sign_for, SignFor(actor=clerk))
    requested = await act(
        client, ticket_no, TicketWorkflow.request_return, RequestReturn(actor=clerk, reason="属小区物业管理范围")
    )
    to = assignment_for(config, "bhjd")
    decision = Decide(actor=lead, approval_id=requested.approval_id or "", reassign_to=to, note="改派滨河街道")
    await act(client, ticket_no, TicketWorkflow.approve, decision)
    await _delivered_to(client, ticket_no, "bhjd", 2)
    await eventually(client, ticket_no, lambda r: not r.outbox)  # the 工单改派 notice has reached cgj
    await _work(client, config, ticket_no, "bhjd_yang")
    await _call_back(client, config, ticket_no, Satisfaction.BASICALLY_SATISFIED)


async def redo_extension(client: Client, config: DistrictConfig, ticket_no: str) -> None:
    """cgj signs and gets a 48-hour extension, answers; the citizen is unsatisfied; the redo closes it."""
    await _delivered_to(client, ticket_no, "cgj", 1)
    clerk, lead = person(config, "cgj_sun"), person(config, "zhangli")
    await act(client, ticket_no, TicketWorkflow.sign_for, SignFor(actor=clerk))
    requested = await act(
        client, ticket_no, TicketWorkflow.request_extension, RequestExtension(actor=clerk, hours=48, reason="需勘查")
    )
    await act(client, ticket_no, TicketWorkflow.approve, Decide(actor=lead, approval_id=requested.approval_id or ""))
    await _work(client, config, ticket_no, "cgj_sun", sign=False)
    await _call_back(client, config, ticket_no, Satisfaction.UNSATISFIED)
    await _delivered_to(client, ticket_no, "cgj", 2)
    await _work(client, config, ticket_no, "cgj_sun")
    await _call_back(client, config, ticket_no, Satisfaction.SATISFIED)


async def escalated(client: Client, config: DistrictConfig, ticket_no: str) -> None:
    """An urgent ticket nobody signs for: warnings and every ladder step fire, then it is handled."""
    await _delivered_to(client, ticket_no, "cgj", 1)
    await eventually(client, ticket_no, lambda r: r.next_clock_event() is None, timeout=60)
    await _work(client, config, ticket_no, "cgj_sun")
    await _call_back(client, config, ticket_no, Satisfaction.BASICALLY_SATISFIED)


async def verified_closed(client: Client, config: DistrictConfig, ticket_no: str) -> None:
    """回访 unresolved and unsatisfied; 核查 closes it as explained (核查结案), the verdict kept."""
    await _delivered_to(client, ticket_no, "cgj", 1)
    await _work(client, config, ticket_no, "cgj_sun")
    await _call_back(client, config, ticket_no, Satisfaction.UNSATISFIED, ClosureCategory.EXPLAINED)


async def verified_redo(client: Client, config: DistrictConfig, ticket_no: str) -> None:
    """回访 unsatisfied; 核查 sends it back (重办); the second round closes satisfied."""
    await _delivered_to(client, ticket_no, "cgj", 1)
    await _work(client, config, ticket_no, "cgj_sun")
    await _call_back(client, config, ticket_no, Satisfaction.UNSATISFIED)
    await _delivered_to(client, ticket_no, "cgj", 2)
    await _work(client, config, ticket_no, "cgj_sun")
    await _call_back(client, config, ticket_no, Satisfaction.SATISFIED)


async def exempted(client: Client, config: DistrictConfig, ticket_no: str) -> None:
    """cgj asks for 免考核 with evidence (X1); the shift lead approves; the ticket is handled and closed."""
    await _delivered_to(client, ticket_no, "cgj", 1)
    clerk, lead = person(config, "cgj_sun"), person(config, "zhangli")
    await act(client, ticket_no, TicketWorkflow.sign_for, SignFor(actor=clerk))
    ask = RequestExemption(actor=clerk, category=ExemptionReason.UNREASONABLE, evidence="诉求人要求拆除合法建筑")
    requested = await act(client, ticket_no, TicketWorkflow.request_exemption, ask)
    await act(client, ticket_no, TicketWorkflow.approve, Decide(actor=lead, approval_id=requested.approval_id or ""))
    await eventually(client, ticket_no, lambda r: not r.outbox)
    await _work(client, config, ticket_no, "cgj_sun", sign=False)
    await _call_back(client, config, ticket_no, Satisfaction.BASICALLY_SATISFIED)


async def backlog(client: Client, config: DistrictConfig, ticket_no: str) -> None:
    """cgj asks for 挂账 to a plan date (B1); approved, the monthly reminder's timer starts; the answer ends it."""
    await _delivered_to(client, ticket_no, "cgj", 1)
    clerk, lead = person(config, "cgj_sun"), person(config, "zhangli")
    await act(client, ticket_no, TicketWorkflow.sign_for, SignFor(actor=clerk))
    await act(client, ticket_no, TicketWorkflow.contact_citizen, ContactCitizen(actor=clerk, note="已说明改造计划"))
    ask = RequestBacklog(actor=clerk, plan_date=datetime(2027, 6, 30).date(), reason="需列入道路改造计划")
    requested = await act(client, ticket_no, TicketWorkflow.request_backlog, ask)
    await act(client, ticket_no, TicketWorkflow.approve, Decide(actor=lead, approval_id=requested.approval_id or ""))
    await eventually(client, ticket_no, lambda r: not r.outbox)
    await _work(client, config, ticket_no, "cgj_sun", sign=False)
    await _call_back(client, config, ticket_no, Satisfaction.SATISFIED)


async def paused(client: Client, config: DistrictConfig, ticket_no: str) -> None:
    """cgj asks to pause the clocks (P1: 补充材料); approved; cgj resumes them, handles and closes it."""
    await _delivered_to(client, ticket_no, "cgj", 1)
    clerk, lead = person(config, "cgj_sun"), person(config, "zhangli")
    await act(client, ticket_no, TicketWorkflow.sign_for, SignFor(actor=clerk))
    ask = RequestPause(actor=clerk, category=PauseReason.MATERIALS, note="待补充产权证明")
    requested = await act(client, ticket_no, TicketWorkflow.request_pause, ask)
    await act(client, ticket_no, TicketWorkflow.approve, Decide(actor=lead, approval_id=requested.approval_id or ""))
    await eventually(client, ticket_no, lambda r: not r.outbox)
    await act(client, ticket_no, TicketWorkflow.resume_clock, ResumeClock(actor=clerk, note="材料已补齐"))
    await _work(client, config, ticket_no, "cgj_sun", sign=False)
    await _call_back(client, config, ticket_no, Satisfaction.SATISFIED)


SCENARIOS: dict[str, Scenario] = {
    "standard": standard,
    "return_reassign": return_reassign,
    "redo_extension": redo_extension,
    "escalated": escalated,
    "verified_closed": verified_closed,
    "verified_redo": verified_redo,
    "exempted": exempted,
    "backlog": backlog,
    "paused": paused,
}


def seconds_policy(config: DistrictConfig) -> DistrictConfig:
    """紧急 tickets on a clock of seconds, so the escalation scenario records in real time."""
    fast = Tier(name="紧急", match=TierMatch(urgency=["紧急"]), sign_for="2s", contact="4s", resolve="6s")
    ladder = [
        step.model_copy(update={"after": Span(amount=2 * i, unit=Unit.SECONDS)})
        for i, step in enumerate(config.deadlines.ladder)
    ]
    deadlines = config.deadlines.model_copy(update={"tiers": [fast, *config.deadlines.tiers[1:]], "ladder": ladder})
    return config.model_copy(update={"deadlines": deadlines})


async def record(folder: Path = HISTORIES / RELEASE) -> list[Path]:
    """Run every scenario on a fresh dev server and write its history; returns the files written."""
    folder.mkdir(parents=True, exist_ok=True)
    # Unencrypted: the histories are test fixtures (sample citizens) that must replay on any machine,
    # and the encrypting converter reads them as they are.
    env = await start_dev_server(data_converter(None))
    written: list[Path] = []
    try:
        with tempfile.TemporaryDirectory(prefix="hotline-histories-") as tmp:
            config = seconds_policy(make_config(Path(tmp)))
            codes = [d.code for d in config.departments]
            async with build_workers(env.client, config, departments=codes, center=True):
                for name in SCENARIOS:
                    written.append(_write(folder, name, await ticket_scenario(env.client, config, name)))
                written.append(_write(folder, "whistle", await whistle(env.client, config)))
                written += [_write(folder, name, h) for name, h in (await problem_ticket(env.client, config)).items()]
                written += [_write(folder, name, h) for name, h in (await merged(env.client, config)).items()]
                written.append(_write(folder, "joint_response", await joint_response(env.client, config)))
                written.append(_write(folder, "campaign", await campaign(env.client, config)))
                written += [_write(folder, name, h) for name, h in (await enterprise(env.client, config)).items()]
                written.append(_write(folder, "report_daily", await report(env.client, config)))
            for name, scenario in OUTAGES.items():
                written.append(_write(folder, name, await scenario(env.client, Path(tmp))))
    finally:
        await env.shutdown()
    return written


async def ticket_scenario(client: Client, config: DistrictConfig, name: str) -> WorkflowHistory:
    """One of SCENARIOS from intake to 办结 (workers running); its ticket's history."""
    ticket_no = ticket_no_for(name)
    urgency = "紧急" if name == "escalated" else "一般"
    ticket = sample_ticket(ticket_no=ticket_no, urgency=urgency)
    if name != "escalated":  # its clocks must run from now, in real time
        ticket = ticket.model_copy(update={"received_at": RECEIVED_AT})
    await submit(client, config, ticket)
    await SCENARIOS[name](client, config, ticket_no)
    result = await outcome(client, ticket_no)
    assert result.status is TicketStatus.CLOSED, f"{name} ended {result.status}"
    return await client.get_workflow_handle(workflow_id_for(ticket_no)).fetch_history()


async def record_named(names: list[str], folder: Path = HISTORIES / RELEASE) -> list[Path]:
    """The named scenarios alone (`python -m tests.support.record_histories standard outage`): the other
    files stay. Names: those of SCENARIOS and of OUTAGES."""
    unknown = [n for n in names if n not in SCENARIOS and n not in OUTAGES]
    if unknown:
        raise SystemExit(f"unknown scenario {', '.join(unknown)}; known: {', '.join([*SCENARIOS, *OUTAGES])}")
    folder.mkdir(parents=True, exist_ok=True)
    env = await start_dev_server(data_converter(None))
    written: list[Path] = []
    try:
        with tempfile.TemporaryDirectory(prefix="hotline-histories-") as tmp:
            tickets = [n for n in names if n in SCENARIOS]
            if tickets:
                config = seconds_policy(make_config(Path(tmp)))
                codes = [d.code for d in config.departments]
                async with build_workers(env.client, config, departments=codes, center=True):
                    for name in tickets:
                        written.append(_write(folder, name, await ticket_scenario(env.client, config, name)))
            for name in (n for n in names if n in OUTAGES):
                written.append(_write(folder, name, await OUTAGES[name](env.client, Path(tmp))))
    finally:
        await env.shutdown()
    return written


async def outage(client: Client, tmp: Path) -> WorkflowHistory:
    """派遣受阻: cgj's system answers 503 past the alert threshold (2 seconds here, 15 minutes by
    default); the shift lead is told, the delivery is retried on and reaches the system once it is
    back (派遣恢复); then the ticket is handled and closed as usual."""
    with serve() as system:
        for _ in range(3):  # the first stretch's two attempts, and the first after the alert
            system.answer(503, "系统维护中")
        config = _down_config(tmp, "outage", system.url)
        no = ticket_no_for("outage")
        async with build_workers(client, config, departments=["cgj"], center=True):
            await submit(client, config, sample_ticket(ticket_no=no).model_copy(update={"received_at": RECEIVED_AT}))
            await eventually(
                client, no, lambda r: r.status is TicketStatus.AWAITING_SIGN_FOR and not r.outbox, timeout=60
            )
            await _work(client, config, no, "cgj_sun")
            await _call_back(client, config, no, Satisfaction.SATISFIED)
            result = await outcome(client, no)
        assert result.status is TicketStatus.CLOSED and len(system.requests) >= 4 and not system.replies
    history = await client.get_workflow_handle(workflow_id_for(no)).fetch_history()
    kinds = {e.event_type for e in history.events}
    assert EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED in kinds and EventType.EVENT_TYPE_TIMER_STARTED in kinds
    return history


def _down_config(tmp: Path, name: str, url: str) -> DistrictConfig:
    """cgj reached by webhook at `url`; the outage alert after 2 seconds (15 minutes by default)."""
    webhook = {"type": "webhook", "url": url, "secret": "outage", "timeout_s": 2}
    config = make_config(tmp / name, adapters={"cgj": webhook})
    center = config.center.model_copy(update={"delivery_alert_after": Span(amount=2, unit=Unit.SECONDS)})
    return config.model_copy(update={"center": center})


async def redirected(client: Client, tmp: Path) -> WorkflowHistory:
    """派遣受阻, then 人工改派: cgj's system stays down past the alert; the shift lead sends the ticket
    to zjj, whose clerk handles it; cgj hears of it (工单改派) once its system is back."""
    with serve() as system:
        for _ in range(200):
            system.answer(503, "系统维护中")
        config = _down_config(tmp, "redirected", system.url)
        no = ticket_no_for("redirected")
        async with build_workers(client, config, departments=["cgj", "zjj"], center=True):
            await submit(client, config, sample_ticket(ticket_no=no).model_copy(update={"received_at": RECEIVED_AT}))
            await eventually(client, no, lambda r: r.delivery_blocked_at is not None, timeout=60)
            redirect = ManualDispatch(actor=person(config, "zhangli"), to=assignment_for(config, "zjj"))
            await act(client, no, TicketWorkflow.dispatch, redirect)
            system.replies.clear()  # cgj's system is back: it hears of the redirect
            await eventually(
                client, no, lambda r: r.status is TicketStatus.AWAITING_SIGN_FOR and not r.outbox, timeout=60
            )
            await _work(client, config, no, "zjj_li")
            await _call_back(client, config, no, Satisfaction.SATISFIED)
            result = await outcome(client, no)
        assert result.status is TicketStatus.CLOSED
    history = await client.get_workflow_handle(workflow_id_for(no)).fetch_history()
    kinds = {e.event_type for e in history.events}
    assert EventType.EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED in kinds or EventType.EVENT_TYPE_TIMER_CANCELED in kinds
    return history


async def enterprise_outage(client: Client, tmp: Path) -> WorkflowHistory:
    """红色服务团 派送受阻: an item for cgj, whose system answers 503 past the alert; the shift lead is
    told, the item reaches the system once it is back (派遣恢复), and cgj notes progress until the
    run continues as new. Its first run is recorded."""
    with serve() as system:
        for _ in range(3):  # the first stretch's two attempts, and the first after the alert
            system.answer(503, "系统维护中")
        config = _down_config(tmp, "enterprise_outage", system.url)
        enterprise = enterprise_for(config, "HIST-enterprise-outage", name="某某建材有限公司", street="滨河街道")
        item = item_spec(config, {"need": "用电增容", "category": "生产经营", "unit": "cgj", "person": "王科长"})
        async with build_workers(client, config, departments=["cgj"], center=True):
            await record_visit(
                client, config, actor=person(config, "hft_li"), enterprise=enterprise,
                visited_on=datetime(2026, 11, 20, tzinfo=UTC).date(), members=["hft_li"], items=[item],
                history_limit=50,
            )  # fmt: skip
            delivered = lambda r: r.items[0].delivery is DeliveryState.DELIVERED and not r.outbox  # noqa: E731
            record = await eventually_enterprise(client, enterprise.id, delivered, tries=300)
            clerk = person(config, "cgj_sun")
            for n in range(30):
                if len(record.runs) >= 2:
                    break
                progress = NoteProgress(actor=clerk, item_no="S1", text=f"推进{n}")
                await act_enterprise(client, enterprise.id, Enterprise.note_progress, progress)
                record = await view_enterprise(client, enterprise.id)
        assert [a.action for a in record.actions].count("派送受阻") == 1 and len(record.runs) >= 2
    first = record.runs[0].run_id
    return await client.get_workflow_handle(workflow_id_for_enterprise(enterprise.id), run_id=first).fetch_history()


async def whistle(client: Client, config: DistrictConfig) -> WorkflowHistory:
    """滨河街道 blows a work-advance whistle on zjj and cgj; zjj reports in at once, cgj only after a
    warning and 催办 (on the seconds policy); both answer and are evaluated."""
    street, zjj, cgj = person(config, "bhjd_street"), person(config, "zjj_li"), person(config, "cgj_sun")
    fast = config.model_copy(
        update={
            "whistle_kinds": [
                k.model_copy(update={"report_in": Span(amount=2, unit=Unit.SECONDS)}) for k in config.whistle_kinds
            ]
        }
    )
    blown = await blow(
        client, fast, raised_by=street, kind="推进", title="管网改造推进受阻", content="需住建、城管现场协调",
        departments=["zjj", "cgj"], tickets=[ticket_no_for("standard")], whistle_no="HIST-whistle",
    )  # fmt: skip
    no = blown.whistle_no
    await act_whistle(client, no, WhistleWorkflow.report_in, ReportIn(actor=zjj, note="已到场"))
    for _ in range(200):
        if (await view_whistle(client, no)).part("cgj").escalation_level:
            break
        await asyncio.sleep(0.1)
    await act_whistle(client, no, WhistleWorkflow.report_in, ReportIn(actor=cgj, note="迟到报到"))
    for clerk in (zjj, cgj):
        await act_whistle(client, no, WhistleWorkflow.answer, WhistleAnswer(actor=clerk, text="已协调完毕"))
    for code, satisfaction in (("zjj", Satisfaction.SATISFIED), ("cgj", Satisfaction.UNSATISFIED)):
        evaluation = EvaluateDepartment(actor=street, department=code, satisfaction=satisfaction)
        await act_whistle(client, no, WhistleWorkflow.evaluate, evaluation)
    await whistle_outcome(client, no)
    return await client.get_workflow_handle(workflow_id_for_whistle(no)).fetch_history()


async def problem_ticket(client: Client, config: DistrictConfig) -> dict[str, WorkflowHistory]:
    """Returned three times: the ticket convenes a consultation by itself; one invitee is absent
    (a 3-second attendance window here), the meeting decides, the ticket moves to its lead and closes."""
    fast = config.model_copy(
        update={"center": config.center.model_copy(update={"attendance_window": Span(amount=3, unit=Unit.SECONDS)})}
    )
    no = ticket_no_for("problem_ticket")
    await submit(client, fast, sample_ticket(ticket_no=no))
    lead = person(config, "zhangli")
    hops = (("cgj", "cgj_sun", "bhjd"), ("bhjd", "bhjd_yang", "zjj"), ("zjj", "zjj_li", "cgj"))
    for round_, (holder, clerk, to) in enumerate(hops, start=1):
        await _delivered_to(client, no, holder, round_)
        requested = await act(
            client, no, TicketWorkflow.request_return, RequestReturn(actor=person(config, clerk), reason="非本单位职责")
        )
        decision = Decide(actor=lead, approval_id=requested.approval_id or "", reassign_to=assignment_for(config, to))
        await act(client, no, TicketWorkflow.approve, decision)
    record = await eventually(client, no, lambda r: r.consultation is not None)
    meeting_no = f"AUTO-{no}"
    for clerk in ("cgj_sun", "bhjd_yang"):  # zjj never confirms: absent after the window
        await act_meeting(client, meeting_no, ConsultationMeetingWorkflow.attend, Attend(actor=person(config, clerk)))
    for _ in range(200):
        if (await view_meeting(client, meeting_no)).status is MeetingStatus.IN_SESSION:
            break
        await asyncio.sleep(0.1)
    minutes = RecordMinutes(actor=lead, minutes="经会商，由滨河街道主办，城管局协办。")
    await act_meeting(client, meeting_no, ConsultationMeetingWorkflow.record_minutes, minutes)
    owner = DetermineOwner(actor=lead, lead=assignment_for(config, "bhjd"), assisting=[assignment_for(config, "cgj")])
    await act_meeting(client, meeting_no, ConsultationMeetingWorkflow.decide, owner)
    await meeting_outcome(client, meeting_no)
    await _delivered_to(client, no, "bhjd", 5)
    await _work(client, config, no, "bhjd_yang")
    await _call_back(client, config, no, Satisfaction.SATISFIED)
    await outcome(client, no)
    return {
        "problem_ticket": await client.get_workflow_handle(workflow_id_for(no)).fetch_history(),
        "meeting": await client.get_workflow_handle(record.consultation or "").fetch_history(),
    }


async def merged(client: Client, config: DistrictConfig) -> dict[str, WorkflowHistory]:
    """并单: a second caller on the same matter is merged; the main answer reaches them; both close."""
    main_no, repeat_no = ticket_no_for("merged_main"), ticket_no_for("merged_repeat")
    main = sample_ticket(ticket_no=main_no)
    await submit(client, config, main)
    await _delivered_to(client, main_no, "cgj", 1)
    query = f"WorkflowId = '{workflow_id_for(main_no)}' AND HotlineMatchKey IS NOT NULL"
    for _ in range(100):
        if [w async for w in client.list_workflows(query)]:
            break
        await asyncio.sleep(0.1)
    await submit(client, config, main.model_copy(update={"ticket_no": repeat_no}))
    await eventually(client, repeat_no, lambda r: r.status is TicketStatus.MERGED)
    await eventually(client, main_no, lambda r: bool(r.linked))
    await _work(client, config, main_no, "cgj_sun")
    await eventually(client, repeat_no, lambda r: r.status is TicketStatus.AWAITING_CALLBACK)
    for no in (main_no, repeat_no):
        await _call_back(client, config, no, Satisfaction.SATISFIED)
        await outcome(client, no)
    return {
        "merged_main": await client.get_workflow_handle(workflow_id_for(main_no)).fetch_history(),
        "merged_repeat": await client.get_workflow_handle(workflow_id_for(repeat_no)).fetch_history(),
    }


async def joint_response(client: Client, config: DistrictConfig) -> WorkflowHistory:
    """紧急诉求联动处置: lead and assisting departments at once; one assistant reports, one does not."""
    no = ticket_no_for("joint_response")
    ticket = sample_ticket("供水供电", urgency="加急", ticket_no=no)
    joint = [rule.model_copy(update={"urgency": "加急"}) for rule in config.joint_response]
    await submit(client, config.model_copy(update={"joint_response": joint}), ticket)
    await eventually(client, no, lambda r: len(r.assists) == 2 and all(a.status.value == "待签收" for a in r.assists))
    gdgs = person(config, "gdgs_wu")
    await act(client, no, TicketWorkflow.assist_sign_for, SignFor(actor=gdgs))
    await act(client, no, TicketWorkflow.assist_report, AssistReport(actor=gdgs, text="已抢修供电线路"))
    await _work(client, config, no, "sw_jiang")
    await _call_back(client, config, no, Satisfaction.SATISFIED)
    await outcome(client, no)
    return await client.get_workflow_handle(workflow_id_for(no)).fetch_history()


async def campaign(client: Client, config: DistrictConfig) -> WorkflowHistory:
    """A special action on 物业服务 in 新华街道: refreshes, a coordination meeting, closed by the lead."""
    lead = person(config, "zhangli")
    no = ticket_no_for("campaign_ticket")
    await submit(client, config, sample_ticket("物业服务", "新华街道", ticket_no=no))
    await _delivered_to(client, no, "xhjd", 1)
    started = await start_campaign(
        client, config, started_by=lead, kind=CampaignKind.SPECIAL_ACTION, title="物业服务专项整治",
        filter=TicketFilter(category="物业服务", street="新华街道"), within=Span(amount=1, unit=Unit.DAYS),
        refresh=Span(amount=1, unit=Unit.SECONDS), campaign_no="HIST-campaign",
    )  # fmt: skip
    for _ in range(100):
        if (await view_campaign(client, started.campaign_no)).members:
            break
        await asyncio.sleep(0.1)
    minutes = RecordMinutes(actor=lead, minutes="明确整改时限")
    await act_campaign(client, started.campaign_no, CampaignWorkflow.record_meeting, minutes)
    await act_campaign(client, started.campaign_no, CampaignWorkflow.close, CloseCampaign(actor=lead, note="收尾"))
    await campaign_summary(client, started.campaign_no)
    return await client.get_workflow_handle(f"campaign-{started.campaign_no}").fetch_history()


async def enterprise(client: Client, config: DistrictConfig) -> dict[str, WorkflowHistory]:
    """红色服务团: a visit with a department item (delivered, closed, reopened, closed, confirmed), an
    official's item left to climb the ladder (seconds policy) and one closed as cannot be done; the
    workflow continues as new twice. Its first two runs are recorded."""
    team, official, zjj = person(config, "hft_li"), person(config, "hft_wang"), person(config, "zjj_li")
    contact = person(config, "hd_zhang")
    items = [
        item_spec(config, {"need": "施工许可办理", "category": "转型升级", "unit": "zjj", "person": "李科长"}),
        item_spec(config, {"need": "党建指导", "category": "党的建设", "unit": "hft_ma", "within": "4s"}),
        item_spec(config, {"need": "贴息政策辅导", "category": "政策咨询", "unit": "hft_wang"}),
    ]
    enterprise = enterprise_for(config, "91150302MA0N8K2L3P")
    visited = datetime(2026, 11, 20, tzinfo=UTC).date()
    await record_visit(
        client, config, actor=team, enterprise=enterprise, visited_on=visited, members=["hft_li"], items=items,
        history_limit=60,
    )  # fmt: skip

    async def act(update: object, command: object) -> None:
        await act_enterprise(client, enterprise.id, update, command)

    async def until(condition: Callable[[EnterpriseRecord], bool]) -> EnterpriseRecord:
        return await eventually_enterprise(client, enterprise.id, condition, tries=300)

    await until(lambda r: r.items[0].delivery is DeliveryState.DELIVERED)
    done = Outcome(kind=OutcomeKind.DONE, text="已办结", evidence=["回执"])
    await act(Enterprise.note_progress, NoteProgress(actor=zjj, item_no="S1", text="已受理"))
    await act(Enterprise.close_item, CloseItem(actor=zjj, item_no="S1", outcome=done))
    await act(Enterprise.reopen_item, ReopenItem(actor=contact, item_no="S1", reason="仍未解决"))
    await until(lambda r: r.items[0].delivery is DeliveryState.DELIVERED)
    await act(Enterprise.close_item, CloseItem(actor=zjj, item_no="S1", outcome=done))
    await act(Enterprise.confirm_item, ConfirmItem(actor=contact, item_no="S1", satisfaction=Satisfaction.SATISFIED))
    cannot = Outcome(kind=OutcomeKind.CANNOT, text="已讲解政策", reason="不符合条件")
    await act(Enterprise.close_item, CloseItem(actor=official, item_no="S3", outcome=cannot))
    await until(lambda r: r.items[1].escalation_level == "领导督办")
    for n in range(12):  # enough steps for a second continue-as-new
        await act(Enterprise.note_progress, NoteProgress(actor=person(config, "hft_ma"), item_no="S2", text=f"推进{n}"))
    record = await until(lambda r: len(r.runs) >= 3)
    histories = {}
    for name, run in (("enterprise_first_run", record.runs[0]), ("enterprise_carried_run", record.runs[1])):
        handle = client.get_workflow_handle(workflow_id_for_enterprise(enterprise.id), run_id=run.run_id)
        histories[name] = await handle.fetch_history()
    return histories


async def report(client: Client, config: DistrictConfig) -> WorkflowHistory:
    """A daily warning made on demand through the workflow (as a Schedule would start it)."""
    request = ReportRequest(kind=ReportRun.DAILY, as_of=datetime(2026, 11, 30, 0, 0, tzinfo=UTC), deliver=False)
    handle = await client.start_workflow(
        ReportWorkflow.run, request, id="HIST-report-daily", task_queue=config.center.task_queue
    )
    await handle.result()
    return await handle.fetch_history()


def _write(folder: Path, name: str, history: WorkflowHistory) -> Path:
    path = folder / f"{name}.json"
    path.write_text(history.to_json(), encoding="utf-8")
    print(f"{path}: {len(history.events)} events")
    return path


# Scenarios with a department's system down, each with a server and configuration of its own.
OUTAGES: dict[str, Callable[[Client, Path], Awaitable[WorkflowHistory]]] = {
    "outage": outage,
    "redirected": redirected,
    "enterprise_outage": enterprise_outage,
}


def main() -> int:
    if sys.argv[1:]:
        asyncio.run(record_named(sys.argv[1:]))
    else:
        asyncio.run(record())
    return 0


if __name__ == "__main__":
    sys.exit(main())
