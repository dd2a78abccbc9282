"""`hotline demo`: the whole process on one machine, in a minute.

Starts the embedded server (or uses the one at TEMPORAL_ADDRESS, in a namespace of its own,
`hotline-demo-<date>`, unless told `--into-existing`), the centre's worker and a
simulated worker for every department, submits a batch of sample tickets, plays the shift lead
(approving or rejecting returns, approving extensions, dispatching by hand what the catalogue
cannot route), shows live progress and ends with a summary per department. It ends what it started:
every workflow of its run still open is terminated at the end, so no whistle or enterprise is left
waiting for a worker that is gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from temporalio.client import Client
from temporalio.service import RPCError

from activities.reports.activity import compose, make_report
from activities.runtime.ops import free_local_port, serving_worker_ops, telemetry_runtime
from activities.runtime.settings import actor_for, address, connect
from activities.runtime.startup import SetupError, check_search_attributes, ensure_namespace, ensure_search_attributes
from domain import search_attributes as sa
from domain.calendar import CHINA_TZ, Span, Unit
from domain.campaign import CampaignInput, CampaignKind, TicketFilter
from domain.commands import (
    CloseCampaign,
    Decide,
    DetermineOwner,
    EvaluateDepartment,
    ManualDispatch,
    RecordMinutes,
    TransferToCity,
)
from domain.config import (
    CenterNotifications,
    CityLink,
    Department,
    DistrictConfig,
    FileInboxAdapter,
    SimulatedAdapter,
    SimulatedSurvey,
)
from domain.deadlines import LadderStep, Tier, TierMatch
from domain.intake import assignment_for, route
from domain.meeting import MeetingRecord, MeetingStatus
from domain.models import (
    Actor,
    ApprovalKind,
    ApprovalState,
    Citizen,
    Role,
    Satisfaction,
    Ticket,
    TicketSource,
    TicketStatus,
)
from domain.report_request import ReportRequest, ReportRun
from domain.ticket_record import TicketRecord
from domain.whistle import PartStatus, WhistleRecord
from starter.campaigns import act_campaign, start_campaign, view_campaign
from starter.meetings import act_meeting, convene, view_meeting
from starter.render import console, meeting_panel, rich_table, ticket_panel, whistle_panel
from starter.tickets import ActionFailed, act, submit, view
from starter.tools.codec_server import DEFAULT_PORT as CODEC_PORT
from starter.tools.codec_server import codec_lines
from starter.tools.demo_codec import DemoCodec, start_demo_codec
from starter.tools.demo_data import demo_tickets
from starter.tools.demo_enterprise import EnterpriseStory
from starter.tools.demo_exceptions import ByHand, Exceptions, decide_exception, summary_line, verify
from starter.tools.server import EmbeddedServer, keys_for_server, port_open, stop_event
from starter.whistles import act_whistle, blow, view_whistle
from worker import build_workers
from workflows.campaign import CampaignWorkflow
from workflows.meeting import ConsultationMeetingWorkflow
from workflows.ticket import TicketWorkflow
from workflows.whistle import WhistleWorkflow

WEB_PORT = 8000  # the workbench's port when it is free (else any free port)
# The demo's workflow ids all carry its run's prefix: what it started, and so what it ends.
DEMO_KINDS = ("ticket", "whistle", "meeting", "meeting-AUTO", "campaign", "enterprise")


def demo_namespace(now: datetime) -> str:
    """On a server already running, the demo keeps to a namespace of its own (one a day)."""
    return f"hotline-demo-{now.astimezone(CHINA_TZ):%Y%m%d}"


# Ended here: closed, answered at intake, or sent up to the city centre.
FINAL = (TicketStatus.CLOSED.value, TicketStatus.ANSWERED_DIRECTLY.value, TicketStatus.TRANSFERRED.value)


def simulated(
    config: DistrictConfig,
    never_answer: Sequence[str] = (),
    files: Path = Path(".hotline/demo"),
    unresolved: Sequence[str] = (),
) -> DistrictConfig:
    """The same district with every department simulated by its first clerk, on demo queues."""
    departments = []
    for i, dept in enumerate(config.departments):
        clerk = next(p for p in config.people if p.role is Role.CLERK and p.department == dept.code)
        adapter = SimulatedAdapter(
            type="simulated",
            actor=clerk.id,
            sign_delay_s=0.5 + (i % 3) * 0.3,
            contact_delay_s=0.5,
            answer_delay_s=1.0,
            return_rate=0.08,
            extension_rate=0.08,
            never_answer=list(never_answer),
        )
        departments.append(
            Department(code=dept.code, name=dept.name, task_queue=f"hotline-demo-{dept.code}", adapter=adapter)
        )
    # One urgent ticket is left unanswered; its clocks run in seconds so the whole ladder shows.
    tiers = [Tier(name="演示紧急", match=TierMatch(urgency=["紧急"]), sign_for="10s", contact="20s", resolve="30s")]
    ladder = [
        LadderStep(level=level, after=after, notify=notify)
        for level, after, notify in (
            ("催办", "0s", ["department", "shift_lead"]),
            ("督办", "5s", ["department", "shift_lead"]),
            ("通报", "10s", ["shift_lead", "leadership"]),
            ("领导督办", "15s", ["leadership"]),
        )
    ]
    deadlines = config.deadlines.model_copy(update={"tiers": tiers + config.deadlines.tiers, "ladder": ladder})
    operator = next(p for p in config.people if p.role is Role.OPERATOR)
    survey = SimulatedSurvey(
        type="simulated",
        actor=operator.id,
        delay_s=1.0,
        unresolved_rate=0.06,
        unsatisfied_rate=0.04,
        always_unresolved=list(unresolved),
    )
    center = config.center.model_copy(
        update={
            "task_queue": "hotline-demo-center",
            "callback": survey,
            # The centre's notices and the city link write under the demo's data folder.
            "notifications": CenterNotifications(folder=str(files / "center")),
            "city": CityLink(adapter=FileInboxAdapter(type="file_inbox", folder=str(files / "city"))),
        }
    )
    # Its reports, and the closed-ticket ledger the daily report keeps, too.
    reports = config.reports.model_copy(update={"folder": str(files / "reports")})
    return config.model_copy(
        update={"departments": departments, "center": center, "deadlines": deadlines, "reports": reports}
    )


class ShiftLead:
    """The demo's 值班长: decides every pending request and dispatches what has no route."""

    def __init__(
        self, client: Client, config: DistrictConfig, prefix: str, consulted: set[str], stories: Exceptions
    ) -> None:
        self.client = client
        self.config = config
        self.prefix = prefix
        self.consulted = consulted  # tickets a consultation meeting will assign: not dispatched by hand
        self.stories = stories  # 核查结案, 免考核 and 挂账
        lead = next(p for p in config.people if p.role is Role.SHIFT_LEAD)
        self.actor = actor_for(config, lead.id)
        self.returns_seen = 0

    async def chair(self, meeting_no: str) -> MeetingRecord:
        """Once everyone has confirmed: minutes, then the decision (确权)."""
        record = await view_meeting(self.client, meeting_no)
        with contextlib.suppress(ActionFailed):
            if record.status is MeetingStatus.IN_SESSION and record.minutes is None:
                minutes = "经会商，该事项以人社局为主办、市场监管局协办，限期答复诉求人。"
                command = RecordMinutes(actor=self.actor, minutes=minutes)
                await act_meeting(self.client, meeting_no, ConsultationMeetingWorkflow.record_minutes, command)
            elif record.status is MeetingStatus.IN_SESSION:
                owner = DetermineOwner(
                    actor=self.actor,
                    lead=assignment_for(self.config, "rsj"),
                    assisting=[assignment_for(self.config, "scjg")],
                )
                await act_meeting(self.client, meeting_no, ConsultationMeetingWorkflow.decide, owner)
        return record

    def office_for(self, street: str, not_this: str | None) -> str:
        """The street's own office takes what a department returns (or the 住建局 as a fallback)."""
        for dept in self.config.departments:
            if dept.name.startswith(street) and dept.code != not_this:
                return dept.code
        return "zjj" if not_this != "zjj" else "cgj"

    async def run(self) -> None:
        query = (
            f"WorkflowId STARTS_WITH 'ticket-{self.prefix}' AND "
            f"({sa.AWAITING_APPROVAL.name} = true OR {sa.STATUS.name} IN ('待派遣', '派遣失败', '待核查'))"
        )
        while True:
            async for wf in self.client.list_workflows(query):
                with contextlib.suppress(ActionFailed):
                    await self.decide(await view(self.client, wf.id))
            await asyncio.sleep(0.5)

    async def decide(self, record: TicketRecord) -> None:
        no = record.ticket.ticket_no
        current = record.assignment.department if record.assignment else None
        if record.status in (TicketStatus.AWAITING_DISPATCH, TicketStatus.DISPATCH_FAILED) and no not in self.consulted:
            to = assignment_for(self.config, self.office_for(record.ticket.street, None))
            await act(
                self.client,
                no,
                TicketWorkflow.dispatch,
                ManualDispatch(actor=self.actor, to=to, note="派单目录无匹配，人工派遣"),
            )
        if record.status is TicketStatus.AWAITING_VERIFICATION:
            await verify(self.client, self.actor, record, self.stories)
        for approval in record.pending_approvals:
            if await decide_exception(self.client, self.actor, record, approval):
                continue
            if approval.kind is ApprovalKind.EXTENSION:
                await act(
                    self.client,
                    no,
                    TicketWorkflow.approve,
                    Decide(actor=self.actor, approval_id=approval.id, note="同意延期"),
                )
                continue
            self.returns_seen += 1
            if self.returns_seen % 2:
                to = assignment_for(self.config, self.office_for(record.ticket.street, current))
                await act(
                    self.client,
                    no,
                    TicketWorkflow.approve,
                    Decide(actor=self.actor, approval_id=approval.id, reassign_to=to, note="同意改派"),
                )
            else:
                note = "经核实属于本单位职责，请继续办理"
                await act(
                    self.client, no, TicketWorkflow.reject, Decide(actor=self.actor, approval_id=approval.id, note=note)
                )


async def run_demo(
    config: DistrictConfig,
    count: int,
    *,
    keep_server: bool,
    data_dir: Path,
    timeout: float,
    stay: bool = False,
    web_port: int = WEB_PORT,
    codec_port: int = CODEC_PORT,
    into_existing: bool = False,
) -> bool:
    """The demo; with `stay`, the workbench and the workers keep running after it until Ctrl-C. On
    a server already running it works in its own namespace (`demo_namespace`), or in the configured
    one with `into_existing`; either way it terminates what it started and left open."""
    now = datetime.now(UTC)
    prefix = f"DEMO{now:%y%m%d%H%M%S}"
    tickets = demo_tickets(config, count, prefix, now)
    # The last ticket is urgent and nobody answers it: it shows the warnings and the whole ladder.
    unanswered = tickets[-1].model_copy(
        update={
            "urgency": "紧急",
            "category": "供水供电",
            "title": "小区突发停水",
            "content": "楼里突然停水，家中有卧床老人，急需供水。",
        }
    )
    tickets[-1] = unanswered
    # 核查结案, 免考核 and 挂账: three tickets no other story uses (the first two go to the whistle).
    stories = Exceptions.pick(tickets, {t.ticket_no for t in tickets[:2]} | {unanswered.ticket_no})
    # The ticket sent up to the city is left alone by its department: the centre transfers it; so
    # are the exempted and the 挂账 tickets: worked here as their clerks would.
    never_answer = [unanswered.ticket_no, f"{prefix}-X001", *stories.by_hand]
    demo_config = simulated(config, never_answer=never_answer, files=data_dir, unresolved=[stories.verified])
    target = address()
    host, _, port_text = target.rpartition(":")
    keys, created = keys_for_server()  # the one-command demo makes its key file when there is none
    if created is not None:
        console.print(f"已生成载荷加密密钥 {created}（权限 0600）")
    embedded: EmbeddedServer | None = None
    codec: DemoCodec | None = None
    client: Client | None = None
    ui_url = f"http://{host}:{int(port_text) + 1000}"
    # The workers' client exports the SDK's metrics, passed on by their ops port (as `hotline worker
    # --metrics-port` does), so an operator can try /healthz, /readyz and /metrics on the demo.
    sdk_port = free_local_port()
    runtime = telemetry_runtime(sdk_port)
    try:
        if not port_open(host or "127.0.0.1", int(port_text)):
            ui_port = int(port_text) + 1000
            if keys is not None:
                log_path = data_dir / "codec-server.log"
                codec = await start_demo_codec(keys, ui_port, detached=keep_server, log_path=log_path, port=codec_port)
            embedded = EmbeddedServer(
                port=int(port_text),
                ui_port=ui_port,
                data_dir=data_dir,
                codec_endpoint=codec.url if codec else None,
                outlive_parent=keep_server,
            )
            embedded.start()
            await embedded.wait_ready()
            ui_url = embedded.ui_url
            console.print(f"已启动内置 Temporal 服务 {embedded.address}（数据：{data_dir}）")
            for line in codec_lines(codec.url, codec.token_source) if codec else []:
                console.print(line)
            client = await connect(runtime=runtime)
        elif into_existing:
            client = await connect(runtime=runtime)
            console.print(f"使用已在运行的 Temporal 服务 {target}，命名空间 {client.namespace}（--into-existing）")
        else:
            namespace = demo_namespace(now)
            try:
                created_namespace = await ensure_namespace(await connect(), namespace)
                client = await connect(namespace=namespace, runtime=runtime)
                await ensure_search_attributes(client)
            except RPCError as err:  # e.g. not allowed to register namespaces there
                raise SetupError(
                    f"无法在 {target} 上建立演示命名空间 {namespace}（{err.message}）；"
                    "可加 --into-existing 在当前命名空间中演示"
                ) from None
            console.print(
                f"使用已在运行的 Temporal 服务 {target}，在演示专用命名空间 {namespace}"
                f"{'（新建）' if created_namespace else ''}中运行，不影响其他命名空间；"
                f"查看演示数据的命令请加 TEMPORAL_NAMESPACE={namespace}"
            )
        await check_search_attributes(client)
        workers = build_workers(client, demo_config, departments=[d.code for d in demo_config.departments], center=True)
        queues = [w.task_queue for w in workers.workers]
        async with workers, serving_worker_ops(client, queues, sdk_port, "127.0.0.1", 0) as ops:
            console.print(f"中心 worker 与 {len(demo_config.departments)} 个模拟承办单位 worker 已启动")
            console.print(f"worker 健康检查与指标：{ops_addresses(ops)}", soft_wrap=True)
            async with workbench(client, demo_config, data_dir, ui_url, web_port, unanswered) as page:
                ok = await _run_batch(client, demo_config, prefix, tickets, timeout, ui_url, data_dir, stories)
                if stay or keep_server:
                    # Kept so that the pages, the Web UI's histories and the ops ports can be tried.
                    console.print(
                        f"工作台 {page}/ 与模拟承办单位 worker 继续运行（worker 健康检查与指标：{ops_addresses(ops)}）；"
                        "按 Ctrl-C 结束",
                        soft_wrap=True,
                    )
                    await stop_event().wait()
        return ok
    finally:
        if client is not None:  # however the demo ends: nothing it started waits for its workers
            try:
                ended = await end_started(client, prefix)
            except RPCError as err:
                console.print(f"[red]未能终止本次演示启动的流程：{err.message}[/red]")
            else:
                if ended:
                    console.print(f"已终止本次演示启动、仍在运行的 {ended} 个流程（其 worker 已随演示停止）")
        if embedded is not None:
            if keep_server:
                left = [p for p in (embedded.process, codec.process if codec else None) if p is not None]
                pids = " ".join(str(p.pid) for p in left)
                console.print(
                    f"内置服务{'与编解码服务' if len(left) > 1 else ''}继续运行（进程 {pids}）；停止：kill {pids}"
                )
            else:
                embedded.stop()
                console.print("内置 Temporal 服务已停止")
        if codec is not None:
            await codec.stop()


async def _run_batch(
    client: Client,
    config: DistrictConfig,
    prefix: str,
    tickets: list[Ticket],
    timeout: float,
    ui_url: str,
    data_dir: Path,
    stories: Exceptions,
) -> bool:
    count = len(tickets)
    unanswered = tickets[-1].ticket_no if count > 1 else None
    results = await asyncio.gather(*(submit(client, config, t) for t in tickets))
    duplicate = await submit(client, config, tickets[0])  # the same call again, as a citizen calling twice
    console.print(f"已受理 {sum(not r.duplicate for r in results)} 件工单（{prefix}-0001 … {prefix}-{count:04d}）")
    console.print(
        f"重复提交 {duplicate.ticket_no}：{'识别为重复工单，未重复创建' if duplicate.duplicate else '未识别！'}"
    )

    street = next(p for p in config.people if p.role is Role.STREET)
    whistle = await blow(
        client,
        config,
        raised_by=actor_for(config, street.id),
        kind="推进",
        title="王元地村道路破损与施工扬尘问题",
        content="村内主路多处破损，周边工地扬尘严重，涉及住建、生态环境等部门，需现场协调推进。",
        departments=["zjj", "sthj"],
        tickets=[t.ticket_no for t in tickets[:2]],
        whistle_no=f"{prefix}-W1",
    )
    console.print(f"{street.street}吹哨（推进）{whistle.whistle_no}：点名 区住房和城乡建设局、市生态环境局海勃湾区分局")

    # A question no catalogue line covers, on which two departments' duties overlap: to a meeting.
    disputed = next(t.ticket_no for t in tickets if t.category == "政策咨询" and t.ticket_no != duplicate.ticket_no)
    lead = ShiftLead(client, config, prefix, consulted={disputed}, stories=stories)
    meeting = await convene(
        client,
        config,
        convened_by=lead.actor,
        reason="咨询事项涉及人社、市场监管职责交叉，需会商确权",
        tickets=[disputed],
        departments=["rsj", "scjg"],
        meeting_no=f"{prefix}-M1",
    )
    console.print(
        f"值班长召集疑难工单会商 {meeting.meeting_no}：工单 {disputed}，邀请 区人力资源和社会保障局、区市场监督管理局"
    )
    # Another citizen calls about the same matter, the address written differently: 并单.
    await call_again(client, config, next(t for t in tickets if t.ticket_no == disputed), f"{prefix}-R001")
    count += 1
    count += await exchange_with_city(client, config, lead.actor, prefix)
    action, push = await start_campaigns(client, config, lead.actor, prefix)
    lead_task = asyncio.create_task(lead.run())
    by_hand = ByHand(client, config, stories)
    hand_task = asyncio.create_task(by_hand.run())
    console.print(
        f"回访未解决、中心核查结案：{stories.verified}；申请免考核：{stories.exempted}；"
        f"申请挂账（演示结束时仍在办）：{stories.backlog}"
    )
    story = EnterpriseStory(client, config, prefix)
    story_task = asyncio.create_task(story.run())
    console.print(f"红色服务团走访企业 {story.enterprise.name}（{story.id}）：两次走访，6 项服务清单事项")
    scope = f"WorkflowId STARTS_WITH 'ticket-{prefix}'"
    closed_query = f"{scope} AND {sa.STATUS.name} IN {_in(FINAL)}"
    deadline = time.monotonic() + timeout
    done = others_done = False
    columns = (TextColumn("办结进度"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.description}"))
    try:
        with Progress(*columns, TimeElapsedColumn(), console=console) as progress:
            task = progress.add_task("", total=count)
            while True:
                closed = (await client.count_workflows(closed_query)).count
                record = await view(client, unanswered) if unanswered else None
                whistle_state = await evaluate_answers(client, config, whistle.whistle_no)
                meeting_state = await lead.chair(meeting.meeting_no)
                note = f"；无人答复的紧急工单督办级别：{record.escalation_level or '—'}" if record else ""
                note += f"；吹哨：{whistle_state.status.value}；会商：{meeting_state.status.value}"
                note += f"；{await story.state()}"
                progress.update(task, completed=closed, description=f"在办 {count - closed}{note}")
                # Done when every other ticket is closed, the unanswered one has climbed every ladder
                # and the whistle has been answered and evaluated.
                ladder_done = record is None or (bool(record.clocks) and record.next_clock_event() is None)
                push_state = await view_campaign(client, push.campaign_no)
                others_done = (
                    whistle_state.status.is_final
                    and meeting_state.status.is_final
                    and push_state.summary is not None
                    and story.finished
                    and by_hand.finished
                )
                for running in (story_task, hand_task):
                    if running.done() and (err := running.exception()) is not None:
                        raise err
                # The 挂账 ticket stays 在办, as the unanswered urgent one does.
                done = closed >= count - (1 if unanswered else 0) - 1 and ladder_done and others_done
                if done or time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.5)
        if not done:
            unfinished = [
                wf.id
                async for wf in client.list_workflows(f"{scope} AND {sa.STATUS.name} NOT IN {_in(FINAL)}")
                if wf.id not in (f"ticket-{unanswered}", f"ticket-{stories.backlog}")
            ]
            console.print(
                f"[red]演示超时（{timeout:.0f} 秒）：{len(unfinished)} 件工单仍在办 "
                f"{'、'.join(unfinished[:10])}；吹哨、会商、专项推进、企业服务是否完成：{others_done}[/red]"
            )
    finally:
        for running_task in (lead_task, story_task, hand_task):
            running_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await running_task
    if unanswered:
        console.print(f"无人答复的紧急工单 {unanswered}：预警与督办逐级升级（hotline ticket show {unanswered}）")
        console.print(ticket_panel(await view(client, unanswered)))
    summary = await act_campaign(
        client, action.campaign_no, CampaignWorkflow.close, CloseCampaign(actor=lead.actor, note="演示结束")
    )
    console.print(
        f"专项行动 {action.campaign_no}（{action.title}）：纳入 {summary.total} 件，办结 {summary.closed} 件"
        f"（hotline campaign show {action.campaign_no}）"
    )
    pushed = (await view_campaign(client, push.campaign_no)).summary
    assert pushed is not None
    console.print(
        f"专项推进 {push.campaign_no}（{push.title}）：到期未清 {len(pushed.remaining)} 件，已报领导督办"
        f"（hotline campaign show {push.campaign_no}）"
    )
    console.print(f"疑难工单会商（hotline meeting show {meeting.meeting_no}）")
    console.print(meeting_panel(await view_meeting(client, meeting.meeting_no)))
    console.print(f"镇街吹哨、部门答卷（hotline whistle show {whistle.whistle_no}）")
    console.print(whistle_panel(await view_whistle(client, whistle.whistle_no)))
    await story.report(data_dir / "lists")
    accounted = await _summary(client, config, prefix, count, ui_url)
    await _reports(client, config, data_dir / "reports")
    return accounted and done


def demo_accounts(config: DistrictConfig, unanswered: Ticket) -> list[tuple[str, str]]:
    """(person id, what to do with it): the clerk of the department holding the unanswered urgent
    ticket first (it waits in 待签收 for the browser), then one of each other role."""
    first = {role: next(p for p in config.people if p.role is role) for role in Role if role is not Role.SYSTEM}
    lead = route(config, unanswered.category, unanswered.street) or "cgj"
    clerk = next(p for p in config.people if p.role is Role.CLERK and p.department == lead)
    other = next(p for p in config.people if p.role is Role.CLERK and p.department not in (lead, None))
    return [
        (
            clerk.id,
            f"{config.department(lead).name}经办人：紧急工单 {unanswered.ticket_no} 待签收，可签收、联系、答复、退单",
        ),
        (other.id, f"{config.department(other.department or '').name}经办人（打开别单位工单会被拒绝）"),
        (first[Role.SHIFT_LEAD].id, "值班长：审批退单与延期、人工派遣"),
        (first[Role.OPERATOR].id, "回访员：回访"),
        (first[Role.STREET].id, f"{first[Role.STREET].street}：吹哨与评价"),
        (first[Role.SERVICE_TEAM].id, "红色服务团：企业两张清单"),
    ]


@contextlib.asynccontextmanager
async def workbench(
    client: Client, config: DistrictConfig, data_dir: Path, ui_url: str, port: int, unanswered: Ticket
) -> AsyncIterator[str]:
    """The workbench pages (`hotline web`'s app) beside the demo, on `port` or any free port, with
    the demo's accounts; stopped when the block ends."""
    from starter.web.app import create_app, serving
    from starter.web.users import DEMO_LEADER, DEMO_PASSWORD, demo_users

    accounts = demo_accounts(config, unanswered)
    users = await asyncio.to_thread(demo_users, data_dir / "web-users.yaml", config, [p for p, _ in accounts])
    app = create_app(client, config, users, temporal_ui_url=ui_url, data_dir=data_dir)
    async with serving(app, "127.0.0.1", port) as url:
        console.print(f"工作台（网页）：{url}/ ；演示账号的口令均为 {DEMO_PASSWORD}", soft_wrap=True)
        console.print(f"工作台健康检查与指标：{ops_addresses(url)}", soft_wrap=True)
        for person, what in [*accounts, (DEMO_LEADER, "区领导：驾驶舱（本月各单位指标、红黑榜、图表）")]:
            console.print(f"  {person:<12} {what}", soft_wrap=True)
        yield url
    console.print("工作台已停止")


def ops_addresses(url: str) -> str:
    """A process's health, readiness and metrics addresses, as the demo prints them."""
    return f"{url}/healthz（存活）、{url}/readyz（就绪）、{url}/metrics（Prometheus 指标）"


async def end_started(client: Client, prefix: str) -> int:
    """Every workflow of this run (its ids carry `prefix`) still running, terminated: once the demo's
    workers stop, nothing of it is left to be queried, or to wait, for ever."""
    scope = " OR ".join(f"WorkflowId STARTS_WITH '{kind}-{prefix}'" for kind in DEMO_KINDS)
    query = f"ExecutionStatus = 'Running' AND ({scope})"
    ended = 0
    for _ in range(3):  # visibility lags a moment behind a start or an end
        running = [(wf.id, wf.run_id) async for wf in client.list_workflows(query)]
        if not running:
            break
        for workflow_id, run_id in running:
            with contextlib.suppress(RPCError):  # it ended meanwhile
                await client.get_workflow_handle(workflow_id, run_id=run_id).terminate("演示结束")
                ended += 1
        await asyncio.sleep(1)
    return ended


def _in(values: Sequence[str]) -> str:
    """A visibility query's value list."""
    return f"({', '.join(repr(v) for v in values)})"


async def _reports(client: Client, config: DistrictConfig, out: Path) -> None:
    """The demo ends as the centre's day does: the daily warning, and this month's analysis so far."""
    daily = await make_report(client, config, ReportRequest(kind=ReportRun.DAILY, out=str(out), deliver=False))
    report, _ = await compose(client, config, ReportRequest(kind=ReportRun.DAILY), daily.as_of)
    console.print(f"{daily.title}（依据 {daily.tickets} 件在办工单）")
    for table in report.tables:
        if table.rows:
            console.print(rich_table(table))
    month = datetime.now(CHINA_TZ).strftime("%Y-%m")
    monthly = await make_report(client, config, ReportRequest(kind=ReportRun.MONTHLY, month=month, out=str(out)))
    charts = [p for p in monthly.files if p.endswith(".png")]
    console.print(
        f"日报：{Path(daily.files[0]).parent}；{monthly.title}（含 {len(charts)} 张图表）：{Path(monthly.files[0]).parent}"
    )
    console.print("（hotline report daily|weekly|monthly --out DIR；定时生成：hotline report schedule）")


async def exchange_with_city(client: Client, config: DistrictConfig, lead: Actor, prefix: str) -> int:
    """One ticket beyond the district's powers goes up to the city; one comes down from it."""
    now = datetime.now(UTC)
    citizen = Citizen(name="周强", phone="13947301234", address="海勃湾区黄河沿岸")
    up = Ticket(
        ticket_no=f"{prefix}-X001",
        received_at=now,
        category="环境保护",
        street="千里山镇",
        title="跨区河道排污",
        content="上游邻区企业向黄河支流排污，污染带延伸至本区。",
        citizen=citizen,
    )
    await submit(client, config, up)
    for _ in range(600):  # once its department has it (a delivery in flight cannot be called back)
        if (await view(client, up.ticket_no)).status is TicketStatus.AWAITING_SIGN_FOR:
            break
        await asyncio.sleep(0.1)
    await act(
        client,
        up.ticket_no,
        TicketWorkflow.transfer_to_city,
        TransferToCity(actor=lead, reason="涉及跨区污染源，超出区级职权"),
    )
    down = up.model_copy(
        update={
            "ticket_no": f"{prefix}-CITY01",
            "source": TicketSource.CITY,
            "category": "市容环卫",
            "street": "滨河街道",
            "title": "市级转办：道路积雪未清",
            "content": "市民反映滨河街道主干道积雪未清，市中心转区办理。",
            "citizen": citizen.model_copy(update={"address": "滨河街道滨河大道"}),
        }
    )
    await submit(client, config, down)
    console.print(f"上转市级 {up.ticket_no}；市级转办 {down.ticket_no}（办结后向市中心反馈）")
    return 2


async def start_campaigns(
    client: Client, config: DistrictConfig, lead: Actor, prefix: str
) -> tuple[CampaignInput, CampaignInput]:
    """A special action on property complaints, and a backlog push on the department that lets one
    urgent ticket go unanswered."""
    every = Span(amount=2, unit=Unit.SECONDS)
    action = await start_campaign(
        client, config, started_by=lead, kind=CampaignKind.SPECIAL_ACTION, title="物业服务专项整治",
        filter=TicketFilter(category="物业服务"), within=Span(amount=1, unit=Unit.DAYS), refresh=every,
        campaign_no=f"{prefix}-S1",
    )  # fmt: skip
    push = await start_campaign(
        client, config, started_by=lead, kind=CampaignKind.BACKLOG_PUSH, title="水务公司超期工单清零",
        filter=TicketFilter(department="sw"), within=Span(amount=40, unit=Unit.SECONDS), refresh=every,
        campaign_no=f"{prefix}-P1",
    )  # fmt: skip
    console.print(f"专项行动 {action.campaign_no}：{action.title}；专项推进 {push.campaign_no}：{push.title}")
    return action, push


async def call_again(client: Client, config: DistrictConfig, original: Ticket, ticket_no: str) -> Ticket:
    """A second caller about the original's matter, once the original is visible as open."""
    address = (original.citizen.address or "").translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    repeat = original.model_copy(
        update={
            "ticket_no": ticket_no,
            "received_at": datetime.now(UTC),
            "citizen": Citizen(name="孙丽", phone="13604731234", address=address),
        }
    )
    query = f"WorkflowId = 'ticket-{original.ticket_no}' AND {sa.MATCH_KEY.name} IS NOT NULL"
    for _ in range(100):
        if [w async for w in client.list_workflows(query)]:
            break
        await asyncio.sleep(0.1)
    await submit(client, config, repeat)
    record = await view(client, ticket_no)
    merged = record.merged_into.removeprefix("ticket-") if record.merged_into else None
    console.print(
        f"重复来电 {ticket_no}（同一事项，另一位诉求人）：{'并入 ' + merged if merged else '未并单，单独办理'}"
    )
    return repeat


async def evaluate_answers(client: Client, config: DistrictConfig, whistle_no: str) -> WhistleRecord:
    """The demo's street evaluates each department as soon as it has answered (一哨一考核)."""
    record = await view_whistle(client, whistle_no)
    actor = actor_for(
        config, next(p.id for p in config.people if p.role is Role.STREET and p.street == record.input.street)
    )
    for i, part in enumerate(record.parts):
        if part.status is PartStatus.ANSWERED:
            satisfaction = Satisfaction.SATISFIED if i % 2 == 0 else Satisfaction.BASICALLY_SATISFIED
            command = EvaluateDepartment(actor=actor, department=part.assignment.department, satisfaction=satisfaction)
            with contextlib.suppress(ActionFailed):
                await act_whistle(client, whistle_no, WhistleWorkflow.evaluate, command)
    return await view_whistle(client, whistle_no)


async def _summary(client: Client, config: DistrictConfig, prefix: str, count: int, ui_url: str) -> bool:
    found = [wf async for wf in client.list_workflows(f"WorkflowId STARTS_WITH 'ticket-{prefix}'")]
    names = {d.code: d.name for d in config.departments}
    received: Counter[str] = Counter()
    closed: Counter[str] = Counter()
    for wf in found:
        attrs = wf.typed_search_attributes
        unit = names.get(attrs.get(sa.DEPARTMENT) or "", "（知识库直接答复）")
        received[unit] += 1
        if attrs.get(sa.STATUS) in FINAL:
            closed[unit] += 1
    records = await asyncio.gather(*(view(client, wf.id) for wf in found))
    approvals = [a for r in records for a in r.approvals]
    returns = [a for a in approvals if a.kind is ApprovalKind.RETURN]

    table = Table(title="演示汇总", title_justify="left")
    for column in ("承办单位", "受理", "办结", "在办"):
        table.add_column(column, justify="right" if column != "承办单位" else "left")
    for unit in sorted(received, key=lambda u: (-received[u], u)):
        table.add_row(unit, str(received[unit]), str(closed[unit]), str(received[unit] - closed[unit]))
    total_closed = sum(closed.values())
    table.add_row("合计", str(len(found)), str(total_closed), str(len(found) - total_closed), style="bold")
    console.print(table)
    console.print(
        f"退单 {len(returns)}（批准改派 {sum(a.state is ApprovalState.APPROVED for a in returns)}，"
        f"驳回 {sum(a.state is ApprovalState.REJECTED for a in returns)}）；"
        f"延期 {sum(a.kind is ApprovalKind.EXTENSION for a in approvals)}；"
        f"重办 {sum(r.redo_count for r in records)}；"
        f"人工派遣 {sum(any(x.action == '人工派遣' for x in r.actions) for r in records)}；"
        f"直接答复 {sum(r.status is TicketStatus.ANSWERED_DIRECTLY for r in records)}；"
        f"并单 {sum(any(x.action == '并单' for x in r.actions) for r in records)}；"
        f"上转市级 {sum(r.status is TicketStatus.TRANSFERRED for r in records)}；"
        f"市级转办 {sum(r.ticket.source is TicketSource.CITY for r in records)}；"
        f"协办 {sum(len(r.assists) for r in records)}"
    )
    console.print(summary_line(records))
    accounted = len(found) == count and total_closed + (len(found) - total_closed) == count
    console.print(
        f"受理 {count}，办结 {total_closed}，在办 {len(found) - total_closed}：{'全部工单均有着落' if accounted else '有工单未找到！'}"
    )
    namespace = client.namespace
    console.print(f"Web UI：{ui_url}/namespaces/{namespace}/workflows（每件工单的完整历史）", soft_wrap=True)
    console.print(f"例如：{ui_url}/namespaces/{namespace}/workflows/ticket-{prefix}-0001", soft_wrap=True)
    # The ticket with the most detours tells the longest story.
    busiest = max(records, key=lambda r: (r.return_count + r.redo_count + len(r.approvals), r.ticket.ticket_no))
    console.print(
        f"审计：hotline audit show {busiest.ticket.ticket_no}（谁在何时做了什么；服务须仍在运行，见 --keep-server）",
        soft_wrap=True,
    )
    return accounted
