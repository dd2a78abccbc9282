"""Authorization (授权): every human action of every workflow, tried by every wrong actor.

The table (`TABLE`) has a row per human action; `test_the_table_covers_every_update` reads each
workflow class's update handlers from temporalio's definition metadata and fails when one has no
row (or no validator). Each row is played on a real dev server: the workflow is first brought to
where the action is valid for its right actor; then every wrong actor sends the same well-formed
command and the update's validator refuses it, with a reason naming who may act, and nothing of
it reaches the history (no UpdateAccepted event, the record's actions unchanged); then the right
actor succeeds — so a validator that refused everyone would fail the test too.

The wrong actors of a row (`wrong_actors`):

- **another department**: a real clerk of a department that has no part in the matter (rsj);
- **another street**: a real street's staff, not the matter's street (千里山镇);
- **citizen**: a member of the public. A citizen has no role in the configuration; the one role
  outside government is an enterprise's contact (企业联系人), so the row uses another enterprise's
  contact (xny_qian);
- **unknown person**: an id not in the configuration claiming the action's role in a unit the
  configuration does not have (a centre role, which belongs to no unit, claimed "of" one);
- **clerk**: the clerk of the matter's department trying powers above its own (rows whose right
  actor is not a clerk: the shift lead's approvals, dispatch, …, the operator's callback, the
  arbiter's ruling, the street's evaluation, the service team's and the enterprise's actions);
- **operator**: the centre's callback operator trying the shift lead's or the arbiter's powers;
- **shift lead**: the centre trying what belongs to a department, a street, the arbiter, the
  service team or the enterprise;
- **forged role**: the right unit with a role that unit does not have (a "shift lead of cgj", a
  "service team member of the enterprise", …), plus a row's own cases (`extras`).

What no validator can tell apart: an id that is not in the configuration but claims a role and a
unit which fit and are entitled (an unknown "clerk of cgj", an unknown "shift lead"). The workflows
hold no roster: the actor is asserted by whoever calls, and binding caller to actor is the job of
the edges (the CLI's `actor_for`, the gateway's per-department keys, the workbench's accounts) and
of the namespace's authorization — docs/security.md. The edges' refusals are tested below, and the
HTTP gateway's: a callback signed by one department on another's ticket is a 403 and changes nothing.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import ValidationError
from temporalio import workflow
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from activities.adapters.webhook import IDEMPOTENCY_HEADER
from activities.runtime.calendar_source import calendar_for
from activities.runtime.settings import ConfigError, actor_for
from domain.calendar import Span, Unit
from domain.campaign import CampaignKind, TicketFilter
from domain.commands import (
    AssistReport,
    Attend,
    CityReply,
    CloseCampaign,
    ContactCitizen,
    Decide,
    DetermineOwner,
    EvaluateDepartment,
    GiveAnswer,
    LinkTicket,
    ManualDispatch,
    RecordCallback,
    RecordMinutes,
    Refer,
    ReportIn,
    RequestBacklog,
    RequestExemption,
    RequestExtension,
    RequestPause,
    RequestReturn,
    ResumeClock,
    SignFor,
    TransferToCity,
    Unlink,
    VerifyTicket,
    WhistleAnswer,
    Withdraw,
)
from domain.config import DistrictConfig
from domain.enterprise import (
    AddItem,
    CloseItem,
    ConfirmItem,
    NoteProgress,
    Outcome,
    OutcomeKind,
    RecordVisit,
    ReopenItem,
)
from domain.enterprise_plan import enterprise_for, item_spec, plan_visit
from domain.intake import TicketRejected, assignment_for
from domain.meeting import plan_meeting
from domain.models import (
    ROLE_UNITS,
    Actor,
    Answer,
    Callback,
    ClosureCategory,
    ExemptionReason,
    PauseReason,
    Role,
    Satisfaction,
    TicketStatus,
    VerifyDecision,
)
from domain.ticket_record import AssistStatus
from domain.whistle import plan_whistle
from starter.campaigns import start_campaign
from starter.enterprises import record_visit
from starter.meetings import convene
from starter.tickets import retry_not_ready, submit
from starter.web.api import api_app
from starter.web.gateway_auth import signed_headers
from starter.web.users import UsersFileError, WebUser, load_users, write_users
from starter.whistles import blow
from tests.support.district import make_config, raw_config
from tests.support.helpers import eventually, sample_ticket
from worker import build_workers
from workflows.campaign import CampaignWorkflow
from workflows.enterprise import EnterpriseServiceWorkflow
from workflows.meeting import ConsultationMeetingWorkflow
from workflows.registry import WORKFLOWS
from workflows.ticket import TicketWorkflow
from workflows.whistle import WhistleWorkflow

CLASSES = {c.__name__: c for c in WORKFLOWS}

ENTERPRISE = f"authz-{uuid.uuid4().hex[:8]}"  # an enterprise of this module alone (the dev server is shared)
CONTACT = "authz_contact"  # its contact (企业联系人)
KEYS = {"center": "authz-centre-key", "cgj": "authz-cgj-key", "zjj": "authz-zjj-key"}
CLERK_OF = {"cgj": "cgj_sun", "zjj": "zjj_li", "sw": "sw_jiang", "gdgs": "gdgs_wu"}

# Signals are not human actions: workflows send them to each other (并单, 确权 from a meeting).
# They have no validators; docs/security.md says who may send them. A new signal must be added here.
INTERNAL_SIGNALS = {
    "TicketWorkflow": {"determine_owner", "link_duplicate", "unlink_duplicate", "main_answered"},
}


# ----- the world the rows are played in -----


def authz_config(folder: Path) -> DistrictConfig:
    raw = raw_config()
    red_service = raw["red_service"]
    red_service["enterprises"].append({"id": ENTERPRISE, "name": "授权测试有限公司", "street": "滨河街道"})
    people = [*raw["people"], {"id": CONTACT, "name": "赵企联", "role": "enterprise", "enterprise": ENTERPRISE}]
    config = make_config(folder, red_service=red_service, people=people)
    departments = [d.model_copy(update={"callback_secret": KEYS.get(d.code)}) for d in config.departments]
    # A ticket sent up may come back (市级退回) for an hour: its row below is played on the way back.
    city = config.center.city.model_copy(update={"reply_within": Span(amount=1, unit=Unit.HOURS)})
    center = config.center.model_copy(update={"api_secret": KEYS["center"], "city": city})
    return config.model_copy(update={"center": center, "departments": departments})


@dataclass
class World:
    client: Client
    config: DistrictConfig
    numbers: dict[str, str] = field(default_factory=dict)  # target ("ticket A") → business number
    handles: dict[str, WorkflowHandle[Any, Any]] = field(default_factory=dict)
    successes: dict[str, int] = field(default_factory=dict)  # updates the right actors sent, per target
    cases: list[tuple[str, str, str]] = field(default_factory=list)  # (row, wrong kind, refusal)

    def person(self, person_id: str) -> Actor:
        return actor_for(self.config, person_id)

    def adopt(self, target: str, workflow_id: str, number: str) -> None:
        self.numbers[target] = number
        self.handles[target] = self.client.get_workflow_handle(workflow_id)
        self.successes.setdefault(target, 0)

    async def ticket(self, target: str, status: TicketStatus, **kwargs: Any) -> None:
        ticket = sample_ticket(**kwargs)
        await submit(self.client, self.config, ticket)
        self.adopt(target, f"ticket-{ticket.ticket_no}", ticket.ticket_no)
        await self.until(target, lambda r: r.status is status)

    async def until(self, target: str, condition: Callable[[Any], bool]) -> None:
        await eventually(self.client, self.numbers[target], condition)

    async def setup(self, target: str, update: Any, command: Any) -> None:
        """An update by the right actor that only brings the workflow where the next row needs it."""
        await send(self.handles[target], update, command, f"setup/{uuid.uuid4().hex[:8]}")
        self.successes[target] += 1


@pytest.fixture(scope="module")
async def world(dev_env: Any, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    config = authz_config(tmp_path_factory.mktemp("authz"))
    async with build_workers(dev_env.client, config, departments=list(CLERK_OF), center=True):
        yield World(dev_env.client, config)


async def send(handle: WorkflowHandle[Any, Any], update: Any, command: Any, update_id: str) -> Any:
    return await retry_not_ready(lambda: handle.execute_update(update, command, id=update_id))


# ----- the table -----

Hook = Callable[[World], Awaitable[None]]


@dataclass(frozen=True)
class Row:
    target: str  # which workflow of the world ("ticket A", "whistle", …)
    update: Any  # the workflow's update method
    right: str  # the person id of the actor entitled to it here
    command: Callable[[World, Actor], Any]  # the well-formed command, for any actor
    unit: str = "cgj"  # the department of the matter: its clerk is the "clerk" and the forged "role of cgj"
    also: tuple[Role, ...] = ()  # other roles entitled to it (the shift lead's callback, the team's confirmation)
    extras: tuple[tuple[str, Callable[[World], Actor]], ...] = ()  # the row's own wrong actors
    before: Hook | None = None  # bring the workflow to the state this row needs
    after: Hook | None = None
    variant: str = ""

    @property
    def workflow(self) -> str:
        return self.update.__qualname__.split(".")[0]

    @property
    def name(self) -> str:
        return self.update.__name__

    @property
    def key(self) -> str:
        return f"{self.target}/{self.name}" + (f"/{self.variant}" if self.variant else "")


def ghost(role: Role) -> Actor:
    """An id the configuration does not know, claiming `role` in a unit it does not know either (a
    centre role, which belongs to no unit, "of" an unknown department)."""
    kind = ROLE_UNITS.get(role, "department")
    unit = {"department": "ghost", "street": "无名街道", "enterprise": "ghost-co"}[kind]
    return Actor(id="ghost", name="无名氏", role=role, **{kind: unit})


def forged(world: World, row: Row, right: Actor) -> Actor:
    """The right unit with a role that unit does not have."""
    if right.role is Role.CLERK:
        return Actor(id=right.id, name=right.name, role=Role.SHIFT_LEAD, department=right.department)
    if right.role is Role.STREET:
        return Actor(id=right.id, name=right.name, role=Role.SHIFT_LEAD, street=right.street)
    if right.role is Role.ENTERPRISE:
        return Actor(id=right.id, name=right.name, role=Role.SERVICE_TEAM, enterprise=right.enterprise)
    clerk = world.person(CLERK_OF[row.unit])  # a centre role claimed by the matter's clerk, "of" its department
    return Actor(id=clerk.id, name=clerk.name, role=right.role, department=clerk.department)


def wrong_actors(world: World, row: Row) -> dict[str, Actor]:
    right = world.person(row.right)
    entitled = {right.role, *row.also}
    wrong = {
        "another department": world.person("rsj_feng"),
        "another street": world.person("qlsz_street"),
        "citizen": world.person("xny_qian"),
        "unknown person": ghost(right.role),
    }
    if Role.CLERK not in entitled:
        wrong["clerk"] = world.person(CLERK_OF[row.unit])
    if right.role in (Role.SHIFT_LEAD, Role.ARBITER) and Role.OPERATOR not in entitled:
        wrong["operator"] = world.person("liumei")
    if Role.SHIFT_LEAD not in entitled:
        wrong["shift lead"] = world.person("zhangli")
    wrong["forged role"] = forged(world, row, right)
    wrong.update({name: make(world) for name, make in row.extras})
    return wrong


def wait_for(target: str, condition: Callable[[Any], bool]) -> Hook:
    async def hook(world: World) -> None:
        await world.until(target, condition)

    return hook


def assist_of(department: str, status: AssistStatus) -> Callable[[Any], bool]:
    return lambda r: any(a.assignment.department == department and a.status is status for a in r.assists)


async def zjj_attends(world: World) -> None:
    await world.setup("meeting 1", ConsultationMeetingWorkflow.attend, Attend(actor=world.person("zjj_li")))


async def meeting_2_in_session(world: World) -> None:
    await world.setup("meeting 2", ConsultationMeetingWorkflow.attend, Attend(actor=world.person("cgj_sun")))
    minutes = RecordMinutes(actor=world.person("zhangli"), minutes="各方陈述职责依据")
    await world.setup("meeting 2", ConsultationMeetingWorkflow.record_minutes, minutes)


def item(world: World, need: str, unit: str, **extra: Any) -> Any:
    raw = {"need": need, "category": "生产经营", "unit": unit, "person": "李科长", **extra}
    return item_spec(world.config, raw)


def done() -> Outcome:
    return Outcome(kind=OutcomeKind.DONE, text="已协调办结", evidence=["办结回执.pdf"])


def yesterday() -> date:
    return (datetime.now(UTC) - timedelta(days=1)).date()


async def e_signed(world: World) -> None:
    await world.setup("ticket E", TicketWorkflow.sign_for, SignFor(actor=world.person("cgj_sun")))


async def e_paused(world: World) -> None:
    await world.setup("ticket E", TicketWorkflow.approve, Decide(actor=world.person("zhangli"), approval_id="P1"))


async def e_unsatisfied(world: World) -> None:
    clerk = world.person("cgj_sun")
    await world.setup("ticket E", TicketWorkflow.contact_citizen, ContactCitizen(actor=clerk))
    reply = GiveAnswer(actor=clerk, answer=Answer(text="已解释", resolved=False))
    await world.setup("ticket E", TicketWorkflow.answer, reply)
    verdict = Callback(resolved=False, satisfaction=Satisfaction.UNSATISFIED)
    await world.setup(
        "ticket E", TicketWorkflow.record_callback, RecordCallback(actor=world.person("liumei"), callback=verdict)
    )


async def e_exemption_decided(world: World) -> None:
    await world.setup("ticket E", TicketWorkflow.approve, Decide(actor=world.person("zhangli"), approval_id="X3"))


OFFICIAL_EXTRAS = (
    ("another team member", lambda w: w.person("hft_ma")),
    ("the official's id as a clerk", lambda w: Actor(id="hft_wang", name="王建业", role=Role.CLERK, department="zjj")),
    ("the official's id, unknown role", lambda w: Actor(id="hft_wang", name="王建业", role=Role.OPERATOR)),
)
LEAD_CLERK = (("the lead's clerk", lambda w: w.person("sw_jiang")),)
TEAM_EXTRAS = (("the enterprise's own contact", lambda w: w.person(CONTACT)),)

TABLE: list[Row] = [
    # ----- 工单 (TicketWorkflow): A goes the whole way, B has assisting departments, C waits for
    # the shift lead's dispatch, D is merged, unmerged and determined -----
    Row("ticket A", TicketWorkflow.sign_for, "cgj_sun", lambda w, a: SignFor(actor=a)),
    Row(
        "ticket A",
        TicketWorkflow.request_extension,
        "cgj_sun",
        lambda w, a: RequestExtension(actor=a, working_days=2, reason="需现场勘查"),
    ),
    Row("ticket A", TicketWorkflow.approve, "zhangli", lambda w, a: Decide(actor=a, approval_id="E1", note="同意")),
    Row("ticket A", TicketWorkflow.contact_citizen, "cgj_sun", lambda w, a: ContactCitizen(actor=a, note="已电话联系")),
    Row("ticket A", TicketWorkflow.request_return, "cgj_sun", lambda w, a: RequestReturn(actor=a, reason="属物业范围")),
    Row(
        "ticket A", TicketWorkflow.reject, "zhangli", lambda w, a: Decide(actor=a, approval_id="R2", note="请继续办理")
    ),
    Row(
        "ticket A",
        TicketWorkflow.answer,
        "cgj_sun",
        lambda w, a: GiveAnswer(actor=a, answer=Answer(text="已清运", resolved=True)),
    ),
    Row(
        "ticket A",
        TicketWorkflow.record_callback,
        "liumei",
        lambda w, a: RecordCallback(actor=a, callback=Callback(resolved=True, satisfaction=Satisfaction.SATISFIED)),
        also=(Role.SHIFT_LEAD,),
    ),
    Row(
        "ticket B",
        TicketWorkflow.assist_sign_for,
        "gdgs_wu",
        lambda w, a: SignFor(actor=a),
        unit="sw",
        extras=LEAD_CLERK,
        before=wait_for("ticket B", assist_of("gdgs", AssistStatus.AWAITING_SIGN_FOR)),
    ),
    Row(
        "ticket B",
        TicketWorkflow.assist_report,
        "gdgs_wu",
        lambda w, a: AssistReport(actor=a, text="线路已排查"),
        unit="sw",
        extras=LEAD_CLERK,
    ),
    Row(
        "ticket C",
        TicketWorkflow.dispatch,
        "zhangli",
        lambda w, a: ManualDispatch(actor=a, to=assignment_for(w.config, "cgj"), note="人工派遣"),
    ),
    Row(
        "ticket D",
        TicketWorkflow.link,
        "zhangli",
        lambda w, a: LinkTicket(actor=a, main_ticket=w.numbers["ticket B"]),
    ),
    Row(
        "ticket D",
        TicketWorkflow.unlink,
        "zhangli",
        lambda w, a: Unlink(actor=a, note="并非同一事项"),
        after=wait_for("ticket D", lambda r: r.status is TicketStatus.AWAITING_SIGN_FOR),
    ),
    Row(
        "ticket D",
        TicketWorkflow.determine,
        "zhangli",
        lambda w, a: DetermineOwner(actor=a, lead=assignment_for(w.config, "zjj"), note="现场确权"),
    ),
    Row(
        "ticket B",
        TicketWorkflow.transfer_to_city,
        "zhangli",
        lambda w, a: TransferToCity(actor=a, reason="涉及市级管网"),
        unit="sw",
    ),
    Row(
        "ticket B",
        TicketWorkflow.city_reply,
        "zhangli",
        lambda w, a: CityReply(actor=a, reason="属区级事权，请区级办理"),
        unit="sw",
    ),
    # ----- ticket E: 暂停计时 (P1), 挂账 (B2), 免考核 (X3) and 核查 after an unsatisfied callback -----
    Row(
        "ticket E",
        TicketWorkflow.request_pause,
        "cgj_sun",
        lambda w, a: RequestPause(actor=a, category=PauseReason.MATERIALS, note="待补充材料"),
        before=e_signed,
    ),
    Row(
        "ticket E",
        TicketWorkflow.resume_clock,
        "cgj_sun",
        lambda w, a: ResumeClock(actor=a, note="材料已补齐"),
        before=e_paused,
    ),
    Row(
        "ticket E",
        TicketWorkflow.request_backlog,
        "cgj_sun",
        lambda w, a: RequestBacklog(actor=a, plan_date=date(2030, 6, 30), reason="需列入改造计划"),
    ),
    Row(
        "ticket E",
        TicketWorkflow.request_exemption,
        "cgj_sun",
        lambda w, a: RequestExemption(actor=a, category=ExemptionReason.UNREASONABLE, evidence="诉求不合理的说明"),
    ),
    Row(
        "ticket E",
        TicketWorkflow.verify,
        "zhangli",
        lambda w, a: VerifyTicket(
            actor=a, decision=VerifyDecision.CLOSE, closure=ClosureCategory.EXPLAINED, reason="已解释说明"
        ),
        before=e_unsatisfied,
        after=e_exemption_decided,
    ),
    # ----- 吹哨 (WhistleWorkflow): 滨河街道 names zjj and cgj -----
    Row("whistle", WhistleWorkflow.report_in, "zjj_li", lambda w, a: ReportIn(actor=a, note="已到场")),
    Row("whistle", WhistleWorkflow.answer, "zjj_li", lambda w, a: WhistleAnswer(actor=a, text="已协调完毕")),
    Row(
        "whistle",
        WhistleWorkflow.evaluate,
        "bhjd_street",
        lambda w, a: EvaluateDepartment(actor=a, department="zjj", satisfaction=Satisfaction.SATISFIED),
        unit="zjj",
    ),
    Row(
        "whistle",
        WhistleWorkflow.withdraw,
        "bhjd_street",
        lambda w, a: Withdraw(actor=a, reason="已另行处理"),
        unit="zjj",
    ),
    # ----- 会商 (ConsultationMeetingWorkflow): meeting 1 is referred and ruled, meeting 2 decides -----
    Row("meeting 1", ConsultationMeetingWorkflow.attend, "cgj_sun", lambda w, a: Attend(actor=a), after=zjj_attends),
    Row(
        "meeting 1",
        ConsultationMeetingWorkflow.record_minutes,
        "zhangli",
        lambda w, a: RecordMinutes(actor=a, minutes="各方陈述职责依据"),
    ),
    Row("meeting 1", ConsultationMeetingWorkflow.refer, "zhangli", lambda w, a: Refer(actor=a, reason="未能达成一致")),
    Row(
        "meeting 1",
        ConsultationMeetingWorkflow.rule,
        "bianban_gao",
        lambda w, a: DetermineOwner(actor=a, lead=assignment_for(w.config, "zjj")),
    ),
    Row(
        "meeting 2",
        ConsultationMeetingWorkflow.decide,
        "zhangli",
        lambda w, a: DetermineOwner(
            actor=a, lead=assignment_for(w.config, "zjj"), assisting=[assignment_for(w.config, "cgj")]
        ),
        before=meeting_2_in_session,
    ),
    # ----- 专项行动 (CampaignWorkflow) -----
    Row(
        "campaign",
        CampaignWorkflow.record_meeting,
        "zhangli",
        lambda w, a: RecordMinutes(actor=a, minutes="部署专项整治"),
    ),
    Row("campaign", CampaignWorkflow.close, "zhangli", lambda w, a: CloseCampaign(actor=a, note="阶段性收尾")),
    # ----- 红色服务团 (EnterpriseServiceWorkflow): visit V1 listed S1 (zjj) and S2 (hft_wang, an official) -----
    Row(
        "enterprise",
        EnterpriseServiceWorkflow.record_visit,
        "hft_li",
        lambda w, a: RecordVisit(actor=a, visited_on=yesterday(), members=[w.person("hft_li")], summary="回访企业"),
        unit="zjj",
        extras=TEAM_EXTRAS,
    ),
    Row(
        "enterprise",
        EnterpriseServiceWorkflow.add_item,
        "hft_wang",
        lambda w, a: AddItem(actor=a, visit_no="V1", item=item(w, "用工招聘对接", "zjj")),
        unit="zjj",
        extras=TEAM_EXTRAS,
    ),
    Row(
        "enterprise",
        EnterpriseServiceWorkflow.note_progress,
        "zjj_li",
        lambda w, a: NoteProgress(actor=a, item_no="S1", text="已受理"),
        unit="zjj",
        variant="department item",
    ),
    Row(
        "enterprise",
        EnterpriseServiceWorkflow.note_progress,
        "hft_wang",
        lambda w, a: NoteProgress(actor=a, item_no="S2", text="已对接企业"),
        unit="zjj",
        extras=OFFICIAL_EXTRAS,
        variant="official's item",
    ),
    Row(
        "enterprise",
        EnterpriseServiceWorkflow.close_item,
        "zjj_li",
        lambda w, a: CloseItem(actor=a, item_no="S1", outcome=done()),
        unit="zjj",
        variant="department item",
    ),
    Row(
        "enterprise",
        EnterpriseServiceWorkflow.close_item,
        "hft_wang",
        lambda w, a: CloseItem(actor=a, item_no="S2", outcome=done()),
        unit="zjj",
        extras=OFFICIAL_EXTRAS,
        variant="official's item",
    ),
    Row(
        "enterprise",
        EnterpriseServiceWorkflow.confirm_item,
        CONTACT,
        lambda w, a: ConfirmItem(actor=a, item_no="S1", satisfaction=Satisfaction.SATISFIED),
        unit="zjj",
        also=(Role.SERVICE_TEAM,),
    ),
    Row(
        "enterprise",
        EnterpriseServiceWorkflow.reopen_item,
        CONTACT,
        lambda w, a: ReopenItem(actor=a, item_no="S2", reason="材料不全"),
        unit="zjj",
        also=(Role.SERVICE_TEAM,),
    ),
]


# ----- playing a row -----

WHY = ("仅限", "不是", "不属于", "未受邀", "身份不符", "无权")


# The server admits a few in-flight updates per workflow (history.maxInFlightUpdates, 10 by default).
IN_FLIGHT = asyncio.Semaphore(5)


async def attempt(world: World, row: Row, kind: str, actor: Actor) -> BaseException | None:
    """The wrong actor's update: its failure's cause, or None if it was let through."""
    async with IN_FLIGHT:
        try:
            await send(world.handles[row.target], row.update, row.command(world, actor), f"wrong/{row.key}/{kind}")
        except WorkflowUpdateFailedError as err:
            return err.cause
    return None


async def play(world: World, rows: list[Row]) -> None:
    for row in rows:
        handle = world.handles[row.target]
        if row.before:
            await row.before(world)
        view = CLASSES[row.workflow].view  # type: ignore[attr-defined]  # each workflow class has its view query
        before = (await handle.query(view)).actions
        wrong = wrong_actors(world, row)
        causes = await asyncio.gather(*(attempt(world, row, kind, actor) for kind, actor in wrong.items()))
        problems = []
        for (kind, actor), cause in zip(wrong.items(), causes, strict=True):
            if cause is None:
                problems.append(f"{kind} {actor.label}: let through")
                continue
            message = getattr(cause, "message", str(cause))
            by_validator = isinstance(cause, ApplicationError) and cause.type == "ActionRefused"
            names_why = message.startswith("拒绝") and "当前" not in message and any(w in message for w in WHY)
            if not (by_validator and names_why):
                problems.append(f"{kind} {actor.label}: {type(cause).__name__} {message}")
            world.cases.append((row.key, kind, message))
        assert not problems, f"{row.key}:\n" + "\n".join(problems)
        assert (await handle.query(view)).actions == before, f"{row.key}: a refused actor changed the record"
        right = world.person(row.right)
        await send(handle, row.update, row.command(world, right), f"right/{row.key}")
        world.successes[row.target] += 1
        if row.after:
            await row.after(world)


async def assert_histories_hold_only_the_right_actors(world: World, targets: list[str]) -> None:
    """No update from a wrong actor was ever accepted: every UpdateAccepted event is a right actor's."""
    for target in targets:
        accepted = [
            event.workflow_execution_update_accepted_event_attributes.accepted_request.meta.update_id
            async for event in world.handles[target].fetch_history_events()
            if event.HasField("workflow_execution_update_accepted_event_attributes")
        ]
        assert not [a for a in accepted if a.startswith("wrong/")], (target, accepted)
        assert len(accepted) == world.successes[target], (target, accepted)


def rows_of(workflow_class: type) -> list[Row]:
    return [row for row in TABLE if row.workflow == workflow_class.__name__]


def report(world: World, prefix: str) -> None:
    cases = [case for case in world.cases if case[0].startswith(prefix)]
    print(f"{prefix}: {len(cases)} wrong-actor attempts refused by their validators")


# ----- the table covers every update -----


def test_the_table_covers_every_update() -> None:
    declared: set[tuple[str, str]] = set()
    for workflow_class in WORKFLOWS:
        definition = workflow._Definition.from_class(workflow_class)
        assert definition is not None
        for name, update in definition.updates.items():
            declared.add((workflow_class.__name__, name))  # type: ignore[arg-type]  # no workflow of ours has a dynamic (nameless) update
            assert update.validator is not None, f"{workflow_class.__name__}.{name} has no validator"
        assert set(definition.signals) == INTERNAL_SIGNALS.get(workflow_class.__name__, set()), (
            f"{workflow_class.__name__}: a new signal — who may send it? (docs/security.md, INTERNAL_SIGNALS)"
        )
    tabled = {(row.workflow, row.name) for row in TABLE}
    assert declared - tabled == set(), "updates without a row in TABLE"
    assert tabled - declared == set(), "rows naming no update"
    for row in TABLE:  # the row's method is the handler of that name (no renamed updates)
        definition = workflow._Definition.from_class(CLASSES[row.workflow])
        assert definition is not None and definition.updates[row.name].fn is row.update
    assert len({row.key for row in TABLE}) == len(TABLE)


def test_the_table_counts_its_cases(tmp_path: Path) -> None:
    """Every row has at least six wrong actors; the count is printed (pytest -s)."""
    world = World(client=None, config=authz_config(tmp_path))  # type: ignore[arg-type]  # no server needed
    counts = {row.key: len(wrong_actors(world, row)) for row in TABLE}
    assert min(counts.values()) >= 6, counts
    print(f"authorization: {len(TABLE)} rows, {sum(counts.values())} (action × wrong actor) cases on the workflows")


# ----- the workflows -----


async def test_every_ticket_action_refuses_every_wrong_actor(world: World) -> None:
    await asyncio.gather(
        world.ticket("ticket A", TicketStatus.AWAITING_SIGN_FOR),  # 市容环卫 → cgj
        world.ticket(
            "ticket B",
            TicketStatus.AWAITING_SIGN_FOR,
            category="供水供电",
            urgency="紧急",
            title="停水",
            content="整栋楼停水",
        ),  # → sw, with gdgs and cgj assisting (紧急诉求联动处置)
        world.ticket("ticket C", TicketStatus.AWAITING_DISPATCH, category="政策咨询"),  # no catalogue line
        world.ticket("ticket D", TicketStatus.AWAITING_SIGN_FOR),
        world.ticket("ticket E", TicketStatus.AWAITING_SIGN_FOR),
    )
    await play(world, rows_of(TicketWorkflow))
    await assert_histories_hold_only_the_right_actors(
        world, ["ticket A", "ticket B", "ticket C", "ticket D", "ticket E"]
    )
    report(world, "ticket")


async def test_every_whistle_action_refuses_every_wrong_actor(world: World) -> None:
    whistle = await blow(
        world.client,
        world.config,
        raised_by=world.person("bhjd_street"),
        kind="推进",
        title="管网改造受阻",
        content="需住建、城管两部门现场协调",
        departments=["zjj", "cgj"],
        whistle_no=f"AUTHZ{uuid.uuid4().hex[:8]}",
    )
    world.adopt("whistle", f"whistle-{whistle.whistle_no}", whistle.whistle_no)
    await play(world, rows_of(WhistleWorkflow))
    await assert_histories_hold_only_the_right_actors(world, ["whistle"])
    report(world, "whistle")


async def test_every_meeting_action_refuses_every_wrong_actor(world: World) -> None:
    lead = world.person("zhangli")
    for target, departments in (("meeting 1", ["cgj", "zjj"]), ("meeting 2", ["cgj"])):
        meeting = await convene(
            world.client,
            world.config,
            convened_by=lead,
            reason="占道经营权责不清",
            tickets=[f"AUTHZ-NONE-{uuid.uuid4().hex[:6]}"],  # no such ticket: the decision is recorded as not delivered
            departments=departments,
            meeting_no=f"AUTHZ{uuid.uuid4().hex[:8]}",
        )
        world.adopt(target, f"meeting-{meeting.meeting_no}", meeting.meeting_no)
    await play(world, rows_of(ConsultationMeetingWorkflow))
    await assert_histories_hold_only_the_right_actors(world, ["meeting 1", "meeting 2"])
    report(world, "meeting")


async def test_every_campaign_action_refuses_every_wrong_actor(world: World) -> None:
    campaign = await start_campaign(
        world.client,
        world.config,
        started_by=world.person("zhangli"),
        kind=CampaignKind.SPECIAL_ACTION,
        title="政策咨询专项",
        filter=TicketFilter(category="政策咨询", street="千里山镇"),
        within=Span(amount=1, unit=Unit.DAYS),
        campaign_no=f"AUTHZ{uuid.uuid4().hex[:8]}",
    )
    world.adopt("campaign", f"campaign-{campaign.campaign_no}", campaign.campaign_no)
    await play(world, rows_of(CampaignWorkflow))
    await assert_histories_hold_only_the_right_actors(world, ["campaign"])
    report(world, "campaign")


async def test_every_enterprise_action_refuses_every_wrong_actor(world: World) -> None:
    config = world.config
    await record_visit(
        world.client,
        config,
        actor=world.person("hft_li"),
        enterprise=enterprise_for(config, ENTERPRISE),
        visited_on=yesterday(),
        members=["hft_li", "hft_wang"],
        summary="走访企业，议定两项",
        items=[
            item(world, "厂房消防验收", "zjj", within="10wd"),
            item(world, "技改贴息政策申报辅导", "hft_wang", person=None, category="政策咨询"),
        ],
    )
    world.adopt("enterprise", f"enterprise-{ENTERPRISE}", ENTERPRISE)
    world.successes["enterprise"] += 1  # the first visit (update-with-start)
    await play(world, rows_of(EnterpriseServiceWorkflow))
    await assert_histories_hold_only_the_right_actors(world, ["enterprise"])
    report(world, "enterprise")


# ----- the HTTP gateway: a department's key acts on its own tickets only -----


@dataclass
class Gateway:
    http: httpx.AsyncClient

    async def post(self, caller: str, ticket_no: str, action: str, body: dict[str, Any]) -> httpx.Response:
        path = f"/api/tickets/{ticket_no}/{action}"
        content = json.dumps(body, ensure_ascii=False).encode()
        key = uuid.uuid4().hex
        headers = {"Content-Type": "application/json", IDEMPOTENCY_HEADER: key}
        headers.update(signed_headers(KEYS[caller], caller, "POST", path, content, idempotency_key=key))
        return await self.http.post(path, content=content, headers=headers)


async def accepted_updates(handle: WorkflowHandle[Any, Any]) -> int:
    return len(
        [
            e
            async for e in handle.fetch_history_events()
            if e.HasField("workflow_execution_update_accepted_event_attributes")
        ]
    )


async def test_a_callback_signed_by_another_department_is_refused_and_changes_nothing(world: World) -> None:
    """Every callback endpoint, signed with zjj's key on cgj's ticket (naming zjj's clerk or cgj's),
    or with the centre's key: 403, no update reaches the workflow; then cgj's own call succeeds.
    (tests/integration/test_web_api.py covers authentication itself and sign-for's variants.)"""
    await asyncio.gather(
        world.ticket("api 1", TicketStatus.AWAITING_SIGN_FOR), world.ticket("api 2", TicketStatus.AWAITING_SIGN_FOR)
    )
    steps = [
        ("api 1", "sign-for", {}),
        ("api 1", "contact", {"note": "已电话联系"}),
        ("api 1", "extension", {"working_days": 2, "reason": "需现场勘查"}),
        ("api 1", "answer", {"answer": {"text": "已清运", "resolved": True}}),
        ("api 2", "return", {"reason": "属物业范围"}),
    ]
    wrong = [("zjj", "zjj_li"), ("zjj", "cgj_sun"), ("center", "cgj_sun")]
    app = api_app(world.client, world.config)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://hotline.test") as http:
        gateway = Gateway(http)
        for target, action, body in steps:
            ticket_no, handle = world.numbers[target], world.handles[target]
            before = (await handle.query(TicketWorkflow.view)).actions, await accepted_updates(handle)
            for caller, actor in wrong:
                response = await gateway.post(caller, ticket_no, action, {"actor": actor, **body})  # type: ignore[dict-item]  # the steps' bodies are dicts, typed object
                assert response.status_code == 403, (action, caller, actor, response.text)
                assert response.json()["detail"], response.text
                world.cases.append((f"api/{action}", f"{caller} as {actor}", response.json()["detail"]))
            after = (await handle.query(TicketWorkflow.view)).actions, await accepted_updates(handle)
            assert after == before, f"{action}: a refused call changed the workflow"
            right = await gateway.post("cgj", ticket_no, action, {"actor": "cgj_sun", **body})  # type: ignore[dict-item]  # the steps' bodies are dicts, typed object
            assert right.status_code == 200, (action, right.text)
    print(f"gateway: {len(steps) * len(wrong)} callbacks signed by the wrong caller refused")


# ----- the edges bind only people of the configuration; workflows are started by the right roles -----


async def test_the_edges_refuse_unknown_people_and_wrong_starters(tmp_path: Path) -> None:
    config = authz_config(tmp_path)
    with pytest.raises(ConfigError, match="unknown person 'ghost'"):
        actor_for(config, "ghost")  # the CLI's --as, the gateway's actor, the workbench's accounts
    users = tmp_path / "users.yaml"
    write_users(users, [WebUser(username="ghost", person="ghost", password_hash="$argon2id$v=19$placeholder")])
    with pytest.raises(UsersFileError, match=r"users\.0\.person: unknown 'ghost'"):
        load_users(users, config)

    # Starting a workflow is no update: the edges check who starts one (docs/security.md).
    now = datetime.now(UTC)
    calendar = calendar_for(config.calendar, now)
    person = lambda person_id: actor_for(config, person_id)  # noqa: E731
    for who in ("cgj_sun", "zhangli", "hd_zhang", "hft_li"):
        with pytest.raises(TicketRejected, match="不是镇街工作人员"):
            plan_whistle(
                config, calendar, whistle_no="W1", raised_by=person(who), kind="推进", title="t", content="c",
                departments=["zjj"],
            )  # fmt: skip
    for who in ("cgj_sun", "bhjd_street", "liumei", "bianban_gao"):
        with pytest.raises(TicketRejected, match="不是值班长"):
            plan_meeting(
                config, calendar, meeting_no="M1", convened_by=person(who), reason="r", tickets=["T1"],
                departments=["cgj"],
            )  # fmt: skip
        with pytest.raises(TicketRejected, match="不是值班长"):
            await start_campaign(
                None,  # type: ignore[arg-type]  # refused before any call
                config, started_by=person(who), kind=CampaignKind.SPECIAL_ACTION, title="t", filter=TicketFilter(),
                within=Span(amount=1, unit=Unit.DAYS),
            )  # fmt: skip
    enterprise = enterprise_for(config, ENTERPRISE)
    for actor, why in (
        (person("zjj_li"), "无权操作"),
        (person(CONTACT), "无权操作"),
        (Actor(id="hft_li", name="李红军", role=Role.SERVICE_TEAM, enterprise=ENTERPRISE), "身份不符"),
    ):
        with pytest.raises(TicketRejected, match=why):
            plan_visit(
                config, calendar, now, actor=actor, enterprise=enterprise, visited_on=yesterday(), members=["hft_li"],
                met=[], policies=[], summary="", items=[],
            )  # fmt: skip


def test_a_person_whose_role_and_unit_do_not_fit_is_refused_by_the_configuration() -> None:
    for extra, key, why in (
        ({"role": "shift_lead", "department": "cgj"}, "department", "值班长不属于承办单位"),
        ({"role": "operator", "street": "滨河街道"}, "street", "中心回访员不属于镇街"),
        ({"role": "service_team", "enterprise": "91150302MA0N8K2L3P"}, "enterprise", "红色服务团成员不属于企业"),
        ({"role": "clerk", "department": "cgj", "street": "滨河街道"}, "street", "承办单位经办人不属于镇街"),
    ):
        raw = raw_config()
        raw["people"].append({"id": "odd", "name": "某某", **extra})
        with pytest.raises(ValidationError, match=rf"people\.{len(raw['people']) - 1}\.{key}[\s\S]*{why}"):
            DistrictConfig.model_validate(raw)
    config = DistrictConfig.model_validate(raw_config())
    assert [p.id for p in config.people if actor_for(config, p.id).misfit] == []
