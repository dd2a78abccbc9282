"""红色服务团: an enterprise's two lists, followed up until every item has an answer
(件件有回音、事事有着落).

Officials visit an enterprise (走访), explain policies (政策宣传) and agree its needs as items of the
service list (服务清单): each with a category, a responsible unit (a department or a named official),
the responsible person, a time limit and the planned measures. The unit notes progress and closes
an item only with an outcome (办结 / 部分办结 / 无法办理, with reason and evidence), which enters the
results list (成效清单); the enterprise then confirms it (满意 / 基本满意) or reopens it. Its 不满意
sends the item back to its unit for a new round, as 未解决 does for a ticket (the verdict stays on
record in the item's reopenings; enterprises' workflows from before keep 不满意 as a confirmation).
A visit is closed once every item from it has an outcome the enterprise has confirmed.

A pure state machine, like `ticket_record`: `check_*` refuse with a reason and change nothing.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime, time
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints, model_validator

from domain.calendar import CHINA_TZ, Duration, Span, china_time
from domain.deadlines import Clock, ClockEvent, ClockKind, Escalation, TicketDeadlines, next_event, start_clock
from domain.delivery import ItemDelivery, NoticeKind, item_delivery_key
from domain.models import (
    ROLE_LABELS,
    SYSTEM_ACTOR,
    Actor,
    Assignment,
    Day,
    Enterprise,
    Frozen,
    Printable,
    Ref,
    Role,
    Satisfaction,
    ShortText,
)
from domain.records import ActionRefused, PendingNotice, how_long, require_fit, require_role

Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000), Printable]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000), Printable]


# ----- what a visit agrees -----


class ResponsibleUnit(Frozen):
    """责任单位: a department (its clerks act; items reach its system like tickets) or a named official."""

    kind: Literal["department", "official"]
    code: Ref  # the department's code, or the official's person id
    name: Ref
    task_queue: Ref | None = None  # a department's queue

    @property
    def assignment(self) -> Assignment | None:
        if self.kind != "department" or self.task_queue is None:
            return None
        return Assignment(department=self.code, department_name=self.name, task_queue=self.task_queue)

    def includes(self, actor: Actor) -> bool:
        if self.kind == "department":
            return actor.role is Role.CLERK and actor.department == self.code
        return actor.role is Role.SERVICE_TEAM and actor.id == self.code  # a named official is a team member


class ItemSpec(Frozen):
    """One need raised at a visit, as agreed: what, who, by when, how."""

    need: ShortText  # 事项
    category: ShortText  # 类别
    unit: ResponsibleUnit  # 责任单位
    person: ShortText  # 责任人
    measures: Note = ""  # 措施
    within: Duration | None = None  # 完成时限 as a span from now …
    due_on: Day | None = None  # … or as a date (the end of that day, China time)

    @model_validator(mode="after")
    def _one_limit(self) -> ItemSpec:
        if self.within is not None and self.due_on is not None:
            raise ValueError("give either within or due_on, not both")
        return self


class RecordVisit(Frozen):
    """走访: who went, when, whom they met, which policies they explained, which needs were agreed."""

    actor: Actor
    visited_on: Day
    members: list[Actor] = Field(min_length=1, max_length=20)  # 服务团成员
    met: list[ShortText] = Field(default_factory=list, max_length=20)  # the enterprise's people met
    policies: list[ShortText] = Field(default_factory=list, max_length=50)  # 政策宣传
    summary: Note = ""
    items: list[ItemSpec] = Field(default_factory=list, max_length=50)
    deadlines: TicketDeadlines | None = None  # the policy and calendar as of now (else the last known)

    @property
    def fingerprint(self) -> str:
        """The same visit sent twice (a client retry) has the same fingerprint and is recorded once."""
        return _digest(
            self.visited_on.isoformat(),
            *(m.id for m in self.members),
            *self.met,
            *self.policies,
            self.summary,
            *(i.need for i in self.items),
        )


class AddItem(Frozen):
    """A need raised after the visit (by phone, at a follow-up), added to that visit's items."""

    actor: Actor
    visit_no: ShortText
    item: ItemSpec
    deadlines: TicketDeadlines | None = None

    @property
    def fingerprint(self) -> str:
        return _digest(self.visit_no, self.item.need, self.item.unit.code)


class NoteProgress(Frozen):
    actor: Actor
    item_no: ShortText
    text: Text


class OutcomeKind(StrEnum):
    DONE = "已办结"
    PARTLY = "部分办结"
    CANNOT = "无法办理"


class Outcome(Frozen):
    """成效: what was done, and for anything less than done, why; evidence for what was done."""

    kind: OutcomeKind
    text: Text  # 成效
    reason: Note = ""
    evidence: list[ShortText] = Field(default_factory=list, max_length=20)

    @model_validator(mode="after")
    def _complete(self) -> Outcome:
        if self.kind is not OutcomeKind.DONE and not self.reason:
            raise ValueError(f"reason: 「{self.kind.value}」须说明原因")
        if self.kind is not OutcomeKind.CANNOT and not self.evidence:
            raise ValueError(f"evidence: 「{self.kind.value}」须附佐证材料")
        return self


class CloseItem(Frozen):
    actor: Actor
    item_no: ShortText
    outcome: Outcome


class ConfirmItem(Frozen):
    actor: Actor
    item_no: ShortText
    satisfaction: Satisfaction
    comment: Note = ""


class ReopenItem(Frozen):
    actor: Actor
    item_no: ShortText
    reason: Text
    within: Duration | None = None  # the new time limit (else the item's own, or the tier's)
    deadlines: TicketDeadlines | None = None


class EnterpriseResult(Frozen):
    """What an enterprise update returns."""

    message: str
    visit_no: str | None = None
    item_nos: list[str] = Field(default_factory=list)


# ----- the record -----


class ItemStatus(StrEnum):
    OPEN = "办理中"
    AWAITING_CONFIRMATION = "待企业确认"
    CONFIRMED = "已确认"


class EnterpriseStatus(StrEnum):
    FOLLOWING = "跟进中"  # some item has no confirmed outcome yet
    SETTLED = "事项均已确认"


class DeliveryState(StrEnum):
    NONE = "—"  # a named official's item: no department system to reach
    SENDING = "派送中"
    DELIVERED = "已送达"
    FAILED = "派送失败"
    BLOCKED = "派送受阻"  # the department's system has kept failing: the shift lead was told, still retried


class ClosedOutcome(Frozen):
    outcome: Outcome
    round: int
    by: Actor
    at: datetime
    on_time: bool


class Confirmation(Frozen):
    satisfaction: Satisfaction
    comment: str = ""
    by: Actor
    at: datetime


class ProgressNote(Frozen):
    at: datetime
    by: Actor
    text: str
    round: int


class Reopening(Frozen):
    at: datetime
    by: Actor
    reason: str
    previous: ClosedOutcome
    verdict: Satisfaction | None = None  # the enterprise's 不满意 that sent it back (None: a reopening asked for)


class ServiceItem(BaseModel):
    """One line of the service list, and (once closed) of the results list."""

    item_no: str
    visit_no: str
    spec: ItemSpec
    status: ItemStatus = ItemStatus.OPEN
    opened_at: datetime
    opened_in_run: str  # the run whose history holds the item's first events
    round: int = 1
    clock: Clock
    escalation_level: str | None = None  # the highest ladder step reached this round
    progress: list[ProgressNote] = Field(default_factory=list)
    outcome: ClosedOutcome | None = None
    confirmation: Confirmation | None = None
    reopenings: list[Reopening] = Field(default_factory=list)
    delivery: DeliveryState = DeliveryState.NONE
    delivery_reference: str | None = None
    blocked_since: datetime | None = None  # 派送受阻: its delivery has kept failing since

    @property
    def due_at(self) -> datetime:
        return self.clock.due_at

    def overdue(self, now: datetime) -> bool:
        """Open past its time limit now, or closed after it."""
        if self.status is ItemStatus.OPEN:
            return now > self.clock.due_at
        return self.outcome is not None and not self.outcome.on_time


class Visit(BaseModel):
    visit_no: str
    visited_on: date
    members: list[Actor]
    met: list[str]
    policies: list[str]
    summary: str
    recorded_by: Actor
    recorded_at: datetime
    item_nos: list[str] = Field(default_factory=list)
    fingerprint: str
    closed_at: datetime | None = None  # every item has an outcome the enterprise confirmed


class EnterpriseAction(Frozen):
    """One line of the enterprise's record; `run_id` names the history that holds it."""

    at: datetime
    actor: Actor
    action: str
    detail: str = ""
    item_no: str | None = None
    visit_no: str | None = None
    run_id: str = ""


class RunLink(Frozen):
    """One run of the enterprise's workflow (it continues as new before its history grows large)."""

    run_id: str
    started_at: datetime


class NoticeCounter(BaseModel):
    """Notices sent so far: their keys stay unique (and a resend keeps its key) across runs."""

    sent: int = 0


class EnterpriseRecord(BaseModel):
    """Everything an enterprise's workflow knows; the query `view` returns it and continue-as-new
    carries it whole."""

    enterprise: Enterprise
    deadlines: TicketDeadlines
    opened_at: datetime
    visits: list[Visit] = Field(default_factory=list)
    items: list[ServiceItem] = Field(default_factory=list)
    actions: list[EnterpriseAction] = Field(default_factory=list)
    escalations: list[Escalation] = Field(default_factory=list)
    outbox: list[PendingNotice] = Field(default_factory=list)
    notices: NoticeCounter = NoticeCounter()
    deliveries: list[ItemDelivery] = Field(default_factory=list)
    runs: list[RunLink] = Field(default_factory=list)
    clock_version: int = 0

    @classmethod
    def open(cls, enterprise: Enterprise, deadlines: TicketDeadlines, at: datetime) -> EnterpriseRecord:
        return cls(enterprise=enterprise, deadlines=deadlines, opened_at=at)

    def begin_run(self, run_id: str, at: datetime) -> None:
        if not self.runs or self.runs[-1].run_id != run_id:
            self.runs.append(RunLink(run_id=run_id, started_at=at))

    @property
    def run_id(self) -> str:
        return self.runs[-1].run_id if self.runs else ""

    @property
    def status(self) -> EnterpriseStatus:
        if any(i.status is not ItemStatus.CONFIRMED for i in self.items):
            return EnterpriseStatus.FOLLOWING
        return EnterpriseStatus.SETTLED

    # ----- 走访 -----

    def check_record_visit(self, cmd: RecordVisit, today: date) -> None:
        self._require_team(cmd.actor, "记录走访")
        if cmd.visited_on > today:
            raise ActionRefused(f"拒绝记录走访：走访日期 {cmd.visited_on} 晚于今天")
        for i, member in enumerate(cmd.members):
            if member.role is not Role.SERVICE_TEAM:
                raise ActionRefused(f"拒绝记录走访：members.{i}：{member.label} 不是{ROLE_LABELS[Role.SERVICE_TEAM]}")
            require_fit(member, f"记录走访：members.{i}")
        earlier = next((v for v in self.visits if v.fingerprint == cmd.fingerprint), None)
        if earlier is not None:
            raise ActionRefused(f"拒绝记录走访：该走访已记录为 {earlier.visit_no}")
        for i, spec in enumerate(cmd.items):
            self._check_spec(spec, f"items.{i}", today)

    def record_visit(self, cmd: RecordVisit, at: datetime) -> tuple[str, list[str]]:
        self._adopt(cmd.deadlines)
        visit = Visit(
            visit_no=f"V{len(self.visits) + 1}",
            visited_on=cmd.visited_on,
            members=cmd.members,
            met=cmd.met,
            policies=cmd.policies,
            summary=cmd.summary,
            recorded_by=cmd.actor,
            recorded_at=at,
            fingerprint=cmd.fingerprint,
        )
        self.visits.append(visit)
        names = "、".join(m.name for m in cmd.members)
        detail = f"{cmd.visited_on} 走访；成员 {names}；议定事项 {len(cmd.items)} 项"
        if cmd.policies:
            detail += f"；宣传政策：{'、'.join(cmd.policies)}"
        self._log(at, cmd.actor, "走访", detail, visit_no=visit.visit_no)
        item_nos = [self._open_item(visit, spec, cmd.actor, at) for spec in cmd.items]
        self._settle_visit(visit, at)
        return visit.visit_no, item_nos

    def check_add_item(self, cmd: AddItem, today: date) -> None:
        self._require_team(cmd.actor, "新增事项")
        self._visit_or_refuse(cmd.visit_no, "新增事项")
        earlier = next(
            (i for i in self.items if _digest(i.visit_no, i.spec.need, i.spec.unit.code) == cmd.fingerprint), None
        )
        if earlier is not None:
            raise ActionRefused(f"拒绝新增事项：该事项已记录为 {earlier.item_no}")
        self._check_spec(cmd.item, "item", today)

    def add_item(self, cmd: AddItem, at: datetime) -> str:
        self._adopt(cmd.deadlines)
        visit = self.visit(cmd.visit_no)
        item_no = self._open_item(visit, cmd.item, cmd.actor, at)
        visit.closed_at = None
        return item_no

    # ----- the responsible unit: 进展、办结 -----

    def check_progress(self, cmd: NoteProgress) -> None:
        item = self._own_item(cmd.actor, cmd.item_no, "记录进展")
        _require_status(item, "记录进展", ItemStatus.OPEN)

    def note_progress(self, cmd: NoteProgress, at: datetime) -> None:
        item = self.item(cmd.item_no)
        item.progress.append(ProgressNote(at=at, by=cmd.actor, text=cmd.text, round=item.round))
        self._log(at, cmd.actor, "进展", cmd.text, item_no=item.item_no)

    def check_close(self, cmd: CloseItem) -> None:
        item = self._own_item(cmd.actor, cmd.item_no, "办结")
        _require_status(item, "办结", ItemStatus.OPEN)

    def close_item(self, cmd: CloseItem, at: datetime) -> None:
        item = self.item(cmd.item_no)
        on_time = self._stop(item, at)
        item.outcome = ClosedOutcome(outcome=cmd.outcome, round=item.round, by=cmd.actor, at=at, on_time=on_time)
        item.status = ItemStatus.AWAITING_CONFIRMATION
        o = cmd.outcome
        detail = f"{o.kind.value}：{o.text}" + (f"；原因：{o.reason}" if o.reason else "")
        if o.evidence:
            detail += f"；佐证：{'、'.join(o.evidence)}"
        self._log(at, cmd.actor, "办结", detail + ("" if on_time else "（超期）"), item_no=item.item_no)

    # ----- the enterprise: 确认、重办 -----

    def check_confirm(self, cmd: ConfirmItem) -> None:
        item = self._enterprise_item(cmd.actor, cmd.item_no, "确认")
        _require_status(item, "确认", ItemStatus.AWAITING_CONFIRMATION)

    def confirm(self, cmd: ConfirmItem, at: datetime, *, unsatisfied_sends_back: bool = True) -> bool:
        """The enterprise's verdict on the outcome. 满意 and 基本满意 confirm the item (and may close its
        visit); 不满意 sends it back to its unit for a new round with a fresh time limit and returns
        True. `unsatisfied_sends_back=False` is the first releases' rule (不满意 confirmed the item
        too), kept for the enterprises' workflows that ran under it."""
        item = self.item(cmd.item_no)
        detail = cmd.satisfaction.value + (f"；{cmd.comment}" if cmd.comment else "")
        self._log(at, cmd.actor, "企业确认", detail, item_no=item.item_no)
        if unsatisfied_sends_back and cmd.satisfaction is Satisfaction.UNSATISFIED:
            reason = "企业不满意" + (f"：{cmd.comment}" if cmd.comment else "")
            self._send_back(item, cmd.actor, reason, None, at, verdict=cmd.satisfaction)
            return True
        item.confirmation = Confirmation(satisfaction=cmd.satisfaction, comment=cmd.comment, by=cmd.actor, at=at)
        item.status = ItemStatus.CONFIRMED
        self._settle_visit(self.visit(item.visit_no), at)
        return False

    def check_reopen(self, cmd: ReopenItem) -> None:
        item = self._enterprise_item(cmd.actor, cmd.item_no, "重新办理")
        _require_status(item, "重新办理", ItemStatus.AWAITING_CONFIRMATION)

    def reopen(self, cmd: ReopenItem, at: datetime) -> None:
        self._adopt(cmd.deadlines)
        self._send_back(self.item(cmd.item_no), cmd.actor, cmd.reason, cmd.within, at)

    def _send_back(
        self,
        item: ServiceItem,
        actor: Actor,
        reason: str,
        within: Span | None,
        at: datetime,
        verdict: Satisfaction | None = None,
    ) -> None:
        """Back to its unit: a new round with a fresh clock, the previous outcome kept in the reopenings."""
        assert item.outcome is not None
        item.reopenings.append(Reopening(at=at, by=actor, reason=reason, previous=item.outcome, verdict=verdict))
        item.outcome = None
        item.status = ItemStatus.OPEN
        item.round += 1
        item.escalation_level = None
        item.clock = self._clock(item.spec, item.round, at, within)
        self.clock_version += 1
        self._log(at, actor, "重新办理", f"{reason}；新时限 {china_time(item.due_at)}", item_no=item.item_no)
        self._tell_unit(item, f"企业要求重新办理：{reason}", at)

    # ----- deliveries to departments -----

    def delivered(self, delivery: ItemDelivery, reference: str, at: datetime | None = None) -> None:
        item = self.item(delivery.item_no)
        if item.round != delivery.round:
            return
        if item.blocked_since is not None and at is not None:
            note = f"受阻 {how_long(at - item.blocked_since)}后恢复送达"
            text = f"{self._item_label(item)}派送已恢复：{item.spec.unit.name}系统{note}（{reference}）"
            self._log(at, None, "派送恢复", text, item_no=item.item_no)
            self.outbox.append(
                PendingNotice(department=None, kind=NoticeKind.DISPATCH_RESUMED, text=text, audience=["shift_lead"])
            )
        item.delivery = DeliveryState.DELIVERED
        item.delivery_reference = reference
        item.blocked_since = None

    def delivery_blocked(self, delivery: ItemDelivery, error: str, at: datetime, since: datetime) -> None:
        """派送受阻: the department's system has kept failing since `since` for the alert threshold.
        The shift lead is told once; the delivery goes on being retried, and the item's clock runs."""
        item = self.item(delivery.item_no)
        if item.round == delivery.round:
            item.delivery = DeliveryState.BLOCKED
            item.blocked_since = since
        text = (
            f"{self._item_label(item)}派送受阻：{item.spec.unit.name}系统已连续 {how_long(at - since)}无法接收"
            f"（{error}），系统继续重试；办理时限 {china_time(item.due_at)} 照常计算"
        )
        self._log(at, None, "派送受阻", text, item_no=item.item_no)
        self.outbox.append(
            PendingNotice(department=None, kind=NoticeKind.DISPATCH_BLOCKED, text=text, audience=["shift_lead"])
        )

    def _item_label(self, item: ServiceItem) -> str:
        return f"{self.enterprise.name} 事项 {item.item_no}（{item.spec.need}）"

    def delivery_failed(self, delivery: ItemDelivery, error: str, at: datetime) -> None:
        item = self.item(delivery.item_no)
        if item.round == delivery.round:
            item.delivery = DeliveryState.FAILED
            item.blocked_since = None
        text = f"{self._item_label(item)}派送{item.spec.unit.name}失败：{error}"
        self._log(at, None, "派送失败", text, item_no=item.item_no)
        self.outbox.append(
            PendingNotice(department=None, kind=NoticeKind.ITEM_FAILED, text=text, audience=["shift_lead"])
        )

    # ----- clocks: reminders before the limit, the ladder after it -----

    def next_clock_event(self) -> tuple[ServiceItem, ClockEvent] | None:
        candidates = [
            (item, event)
            for item in self.items
            if item.status is ItemStatus.OPEN and (event := next_event([item.clock], self.deadlines)) is not None
        ]
        return min(candidates, key=lambda ie: ie[1].at, default=None)

    def fire(self, item_no: str, event: ClockEvent, at: datetime) -> None:
        item = self.item(item_no)
        clock = item.clock
        clock.fired.append(event.key)
        about = {"clock": clock.kind, "due_at": clock.due_at}
        subject = f"{self.enterprise.name} 事项 {item.item_no}（{item.spec.need}）"
        if event.level is None:
            detail = f"完成时限 {china_time(clock.due_at)} 已用去 {event.fraction:.0%}"
            text = f"{subject} {detail}"
            self._log(at, None, "预警", detail, item_no=item.item_no)
            self.outbox.append(self._to_unit(item, NoticeKind.REMINDER, text, **about))
            return
        clock.level = item.escalation_level = event.level
        unit = item.spec.unit
        self.escalations.append(Escalation(at=at, round=item.round, level=event.level, department=unit.code, **about))
        detail = f"超过完成时限 {china_time(clock.due_at)}，责任单位 {unit.name}"
        text = f"{subject} {detail}：{event.level}"
        self._log(at, None, event.level, detail, item_no=item.item_no)
        about["level"] = event.level
        if "department" in event.notify:
            self.outbox.append(self._to_unit(item, NoticeKind.ESCALATION, text, **about))
        audience = [t for t in event.notify if t != "department"]
        if audience:
            notice = PendingNotice(department=None, kind=NoticeKind.ESCALATION, text=text, audience=audience, **about)
            self.outbox.append(notice)

    # ----- look-ups -----

    def item(self, item_no: str) -> ServiceItem:
        return next(i for i in self.items if i.item_no == item_no)

    def visit(self, visit_no: str) -> Visit:
        return next(v for v in self.visits if v.visit_no == visit_no)

    def items_of(self, visit_no: str) -> list[ServiceItem]:
        return [i for i in self.items if i.visit_no == visit_no]

    def runs_of(self, item_no: str) -> list[str]:
        """The runs whose histories hold this item's events, oldest first (its history reference)."""
        runs = [a.run_id for a in self.actions if a.item_no == item_no]
        return list(dict.fromkeys(runs))

    # ----- helpers -----

    def _open_item(self, visit: Visit, spec: ItemSpec, actor: Actor, at: datetime) -> str:
        item_no = f"S{len(self.items) + 1}"
        item = ServiceItem(
            item_no=item_no,
            visit_no=visit.visit_no,
            spec=spec,
            opened_at=at,
            opened_in_run=self.run_id,
            clock=self._clock(spec, 1, at, None),
        )
        self.items.append(item)
        visit.item_nos.append(item_no)
        self.clock_version += 1
        detail = f"{spec.category}：{spec.need}；责任单位 {spec.unit.name}（{spec.person}）；完成时限 {china_time(item.due_at)}"
        self._log(at, actor, "列入服务清单", detail, item_no=item_no, visit_no=visit.visit_no)
        self._tell_unit(item, spec.measures, at)
        return item_no

    def _tell_unit(self, item: ServiceItem, note: str, at: datetime) -> None:
        """A department's system receives the item (like a ticket); a named official gets a notice."""
        spec = item.spec
        assignment = spec.unit.assignment
        if assignment is None:
            text = (
                f"{self.enterprise.name} 服务清单事项 {item.item_no}：{spec.need}；完成时限 {china_time(item.due_at)}"
            )
            if note:
                text += f"；{note}"
            self.outbox.append(self._to_unit(item, NoticeKind.ENTERPRISE_ITEM, text, due_at=item.due_at))
            return
        item.delivery = DeliveryState.SENDING
        self.deliveries.append(
            ItemDelivery(
                idempotency_key=item_delivery_key(self.enterprise.id, item.item_no, item.round),
                workflow_id=workflow_id_for_enterprise(self.enterprise.id),
                enterprise=self.enterprise,
                item_no=item.item_no,
                visit_no=item.visit_no,
                round=item.round,
                assignment=assignment,
                need=spec.need,
                category=spec.category,
                person=spec.person,
                measures=spec.measures,
                due_at=item.due_at,
                note=note if item.round > 1 else "",
            )
        )

    def _to_unit(self, item: ServiceItem, kind: NoticeKind, text: str, **about: object) -> PendingNotice:
        unit = item.spec.unit
        if unit.assignment is not None:
            return PendingNotice(department=unit.assignment, kind=kind, text=text, **about)
        return PendingNotice(department=None, kind=kind, text=text, audience=[f"official:{unit.code}"], **about)

    def _clock(self, spec: ItemSpec, round: int, at: datetime, within: Span | None) -> Clock:
        if within is None and round == 1 and spec.due_on is not None:
            due = datetime.combine(spec.due_on, time(23, 59, 59), CHINA_TZ)
            return Clock(kind=ClockKind.ITEM, round=round, started_at=at, due_at=due, armed_from=at)
        limit = within or spec.within or self.deadlines.tier.resolve
        return start_clock(ClockKind.ITEM, round, at, self.deadlines, limit=limit)

    def _stop(self, item: ServiceItem, at: datetime) -> bool:
        item.clock.stopped_at = at
        self.clock_version += 1
        return at <= item.clock.due_at

    def _settle_visit(self, visit: Visit, at: datetime) -> None:
        items = self.items_of(visit.visit_no)
        if visit.closed_at is None and all(i.status is ItemStatus.CONFIRMED for i in items):
            visit.closed_at = at
            detail = "本次走访议定事项均已办结并经企业确认" if items else "本次走访未列服务清单事项"
            self._log(at, None, "走访办结", detail, visit_no=visit.visit_no)

    def _adopt(self, deadlines: TicketDeadlines | None) -> None:
        # A newer policy and calendar apply to the clocks from now on (running clocks keep their due times).
        if deadlines is not None and deadlines != self.deadlines:
            self.deadlines = deadlines
            self.clock_version += 1

    def _check_spec(self, spec: ItemSpec, where: str, today: date) -> None:
        if spec.due_on is not None and spec.due_on < today:
            raise ActionRefused(f"拒绝：{where}.due_on：完成时限 {spec.due_on} 已过")
        if spec.unit.kind == "department" and spec.unit.task_queue is None:
            raise ActionRefused(f"拒绝：{where}.unit：部门 {spec.unit.code} 缺少任务队列")

    def _require_team(self, actor: Actor, action: str) -> None:
        require_role(actor, action, Role.SERVICE_TEAM)

    def _visit_or_refuse(self, visit_no: str, action: str) -> Visit:
        visit = next((v for v in self.visits if v.visit_no == visit_no), None)
        if visit is None:
            raise ActionRefused(f"拒绝{action}：{self.enterprise.name} 没有走访 {visit_no}")
        return visit

    def _item_or_refuse(self, item_no: str, action: str) -> ServiceItem:
        item = next((i for i in self.items if i.item_no == item_no), None)
        if item is None:
            raise ActionRefused(f"拒绝{action}：{self.enterprise.name} 没有事项 {item_no}")
        return item

    def _own_item(self, actor: Actor, item_no: str, action: str) -> ServiceItem:
        item = self._item_or_refuse(item_no, action)
        unit = item.spec.unit
        if not unit.includes(actor):
            who = f"{unit.name}的{ROLE_LABELS[Role.CLERK]}" if unit.kind == "department" else unit.name
            raise ActionRefused(f"拒绝{action}：{actor.label} 不是事项 {item_no} 的责任单位，仅限{who}")
        require_fit(actor, action)
        return item

    def _enterprise_item(self, actor: Actor, item_no: str, action: str) -> ServiceItem:
        item = self._item_or_refuse(item_no, action)
        own_contact = actor.role is Role.ENTERPRISE and actor.enterprise == self.enterprise.id
        if not own_contact and actor.role is not Role.SERVICE_TEAM:
            raise ActionRefused(
                f"拒绝{action}：{actor.label} 无权操作，仅限{self.enterprise.name}的企业联系人"
                f"或{ROLE_LABELS[Role.SERVICE_TEAM]}（代企业确认）"
            )
        require_fit(actor, action)
        return item

    def _log(
        self,
        at: datetime,
        actor: Actor | None,
        action: str,
        detail: str,
        *,
        item_no: str | None = None,
        visit_no: str | None = None,
    ) -> None:
        self.actions.append(
            EnterpriseAction(
                at=at,
                actor=actor or SYSTEM_ACTOR,
                action=action,
                detail=detail,
                item_no=item_no,
                visit_no=visit_no,
                run_id=self.run_id,
            )
        )


def _require_status(item: ServiceItem, action: str, *allowed: ItemStatus) -> None:
    if item.status not in allowed:
        wanted = "、".join(f"「{s.value}」" for s in allowed)
        raise ActionRefused(
            f"拒绝{action}：事项 {item.item_no} 当前为「{item.status.value}」，仅在{wanted}时可{action}"
        )


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:16]


def today_in_china(now: datetime) -> date:
    return now.astimezone(CHINA_TZ).date()


def workflow_id_for_enterprise(enterprise_id: str) -> str:
    return f"enterprise-{enterprise_id}"


class EnterpriseInput(Frozen):
    """The workflow's input: the enterprise, the policy and calendar its clocks use, and (after a
    continue-as-new) everything the previous run knew."""

    enterprise: Enterprise
    deadlines: TicketDeadlines
    history_limit: int = Field(default=2000, ge=20)
    # How long an item's delivery may keep failing before the shift lead is told (派送受阻), fixed
    # when the enterprise is first visited (`center.delivery_alert_after`); None: the default.
    delivery_alert_after: Duration | None = None
    carried: EnterpriseRecord | None = None
