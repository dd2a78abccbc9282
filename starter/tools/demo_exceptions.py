"""The demo's issue-17 stories: one ticket whose citizen calls it unresolved and that the centre
closes after 核查 (核查结案), one the department asks to be exempted from its assessment (免考核), and
one put on the long-term backlog (挂账) that stays 在办 at the end of the demo.

The exempted and the 挂账 tickets are worked by hand here (their simulated clerk leaves them alone),
as the department's clerk would in the workbench; the shift lead's decisions are the demo's
`ShiftLead`'s (starter/tools/demo.py), through `decide_exception` and `verify` below.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from temporalio.client import Client

from activities.adapters.clerk import Action, SimulatedClerk
from domain.commands import Decide, VerifyTicket
from domain.config import DistrictConfig
from domain.intake import workflow_id_for
from domain.models import (
    Actor,
    ApprovalKind,
    ClosureCategory,
    ExceptionApproval,
    ExemptionReason,
    RequestKind,
    Role,
    Ticket,
    TicketStatus,
    VerifyDecision,
)
from domain.ticket_record import TicketRecord
from starter.tickets import ActionFailed, act, view
from workflows.ticket import TicketWorkflow


@dataclass(frozen=True)
class Exceptions:
    """The three tickets of the stories (numbers of the demo's batch)."""

    verified: str  # the simulated citizen calls it unresolved: 核查结案
    exempted: str  # its department asks for 免考核, then answers
    backlog: str  # its department asks for 挂账: still 在办 when the demo ends

    @classmethod
    def pick(cls, tickets: Sequence[Ticket], taken: set[str]) -> Exceptions:
        """Three complaints routed by the catalogue, none of the tickets other stories use."""
        free = [t for t in tickets if t.kind is RequestKind.COMPLAINT and t.ticket_no not in taken]
        # Ordinary ones first (一般): their clocks are days, so nothing escalates during the demo.
        found = [t.ticket_no for t in sorted(free, key=lambda t: t.urgency != "一般")]
        return cls(verified=found[0], exempted=found[1], backlog=found[2])

    @property
    def by_hand(self) -> list[str]:
        return [self.exempted, self.backlog]


async def decide_exception(client: Client, lead: Actor, record: TicketRecord, approval: ExceptionApproval) -> bool:
    """The shift lead approves a 免考核, 挂账 or 暂停计时 request; False for another kind."""
    notes = {
        ApprovalKind.EXEMPTION: "证明材料充分，同意免考核",
        ApprovalKind.BACKLOG: "同意挂账，按计划推进，每月报告进展",
        ApprovalKind.PAUSE: "同意暂停计时",
    }
    if approval.kind not in notes:
        return False
    decision = Decide(actor=lead, approval_id=approval.id, note=notes[approval.kind])
    await act(client, record.ticket.ticket_no, TicketWorkflow.approve, decision)
    return True


async def verify(client: Client, lead: Actor, record: TicketRecord, stories: Exceptions) -> None:
    """核查: the story's ticket is closed as explained; any other is redone while redos are allowed."""
    if record.ticket.ticket_no != stories.verified and record.redo_allowed:
        command = VerifyTicket(actor=lead, decision=VerifyDecision.REDO, reason="经核查，发回原承办单位重办")
    else:
        command = VerifyTicket(
            actor=lead,
            decision=VerifyDecision.CLOSE,
            closure=ClosureCategory.EXPLAINED,
            reason="经核查，诉求涉及整体改造，已向诉求人解释说明",
        )
    await act(client, record.ticket.ticket_no, TicketWorkflow.verify, command)


class ByHand:
    """The clerks of the exempted and the 挂账 tickets, acting as the workbench would (simulated
    clerks sending through `starter.tickets.act`, as the workbench sends)."""

    def __init__(self, client: Client, config: DistrictConfig, stories: Exceptions) -> None:
        self.client = client
        self.config = config
        self.stories = stories
        self.done: set[str] = set()

    def clerk(self, record: TicketRecord) -> SimulatedClerk:
        assert record.assignment is not None
        code = record.assignment.department
        person = next(p for p in self.config.people if p.role is Role.CLERK and p.department == code)
        return SimulatedClerk(person.actor(), self.send)

    async def send(self, action: Action) -> Any:
        return await act(self.client, action.workflow_id, action.update, action.command)

    async def until(self, ticket_no: str, wanted: tuple[TicketStatus, ...]) -> TicketRecord:
        while True:
            with contextlib.suppress(ActionFailed):
                record = await view(self.client, ticket_no)
                if record.status in wanted:
                    return record
            await asyncio.sleep(0.3)

    async def exempted(self) -> None:
        no = self.stories.exempted
        record = await self.until(no, (TicketStatus.AWAITING_SIGN_FOR,))
        clerk, workflow_id = self.clerk(record), workflow_id_for(no)
        await clerk.sign_for(workflow_id)
        evidence = "暴雪致道路封闭，气象部门预警文件（附件：预警通知.pdf）"
        await clerk.request_exemption(workflow_id, ExemptionReason.FORCE_MAJEURE, evidence)
        await clerk.contact_citizen(workflow_id, "已电话说明")
        await clerk.answer(workflow_id, "道路恢复通行后已清理完毕", evidence=["现场照片.jpg"])
        self.done.add(no)

    async def backlog(self) -> None:
        no = self.stories.backlog
        record = await self.until(no, (TicketStatus.AWAITING_SIGN_FOR,))
        clerk, workflow_id = self.clerk(record), workflow_id_for(no)
        await clerk.sign_for(workflow_id)
        await clerk.contact_citizen(workflow_id, "已上门说明：需列入明年改造计划")
        plan = (datetime.now(UTC) + timedelta(days=180)).date()
        await clerk.request_backlog(workflow_id, plan, "需纳入明年老旧小区改造计划，资金到位后实施")
        await self.until(no, (TicketStatus.CONTACTED,))
        while not (await view(self.client, no)).on_backlog:
            await asyncio.sleep(0.3)
        self.done.add(no)

    async def run(self) -> None:
        await asyncio.gather(self.exempted(), self.backlog())

    @property
    def finished(self) -> bool:
        return self.done == set(self.stories.by_hand)


def summary_line(records: Sequence[TicketRecord]) -> str:
    """The new statuses in the demo's summary: 核查结案, 免考核, 挂账, 暂停计时."""
    closures = [r.closure.value for r in records if r.closure is not None]
    return (
        f"核查结案 {len(closures)}（{'、'.join(sorted(set(closures))) or '—'}）；"
        f"待核查 {sum(r.status is TicketStatus.AWAITING_VERIFICATION for r in records)}；"
        f"免考核 {sum(bool(r.exempted) for r in records)}；"
        f"挂账 {sum(r.on_backlog for r in records)}（在办）；"
        f"暂停计时 {sum(r.paused_since is not None for r in records)}"
    )
