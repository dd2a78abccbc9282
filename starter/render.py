"""How tickets look in the terminal: the whole record of one, or a table of many."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from rich.console import Console, Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from domain.calendar import CHINA_TZ
from domain.enterprise import EnterpriseRecord
from domain.enterprise_lists import results_list, service_list, summarize, summary_details
from domain.meeting import MeetingRecord
from domain.models import TicketStatus
from domain.tables import Table as Tables
from domain.ticket_record import HANDLING, TicketRecord
from domain.whistle import WhistleRecord

# The terminal every command and the demo print to (Chinese text: no highlighting, lines wrap softly).
console = Console(highlight=False, soft_wrap=True)


def when(at: datetime | None) -> str:
    """An instant in the district's time (China time), never the host's: a server in a container
    runs on UTC, and the deadlines and texts beside these times are the district's."""
    return at.astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M:%S") if at else "—"


def remaining(due: datetime | None, now: datetime, done_at: datetime | None = None) -> str:
    if due is None:
        return "—"
    if done_at is not None:
        return "按时" if done_at <= due else f"超时 {_span(done_at - due)}"
    delta = due - now
    return f"剩余 {_span(delta)}" if delta.total_seconds() >= 0 else f"已超期 {_span(-delta)}"


def _span(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    parts = [f"{days}天" if days else "", f"{hours}小时" if hours else "", f"{minutes}分" if not days else ""]
    return "".join(parts) or "0分"


def ticket_panel(record: TicketRecord, now: datetime | None = None) -> Panel:
    now = now or datetime.now(UTC)
    t = record.ticket
    info = Table.grid(padding=(0, 2))
    info.add_column(style="bold")
    info.add_column()
    info.add_row("工单号", t.ticket_no)
    info.add_row("状态", Text(record.status.value, style="green" if record.status.is_final else "yellow"))
    info.add_row("类型 / 类别", f"{t.kind.value} / {t.category}")
    info.add_row("镇街 / 社区", f"{t.street} / {t.community or '—'}")
    info.add_row("紧急程度", t.urgency)
    info.add_row("标题", t.title)
    info.add_row("内容", t.content)
    info.add_row("受理时间", when(t.received_at))
    info.add_row("承办单位", record.assignment.department_name if record.assignment else "—")
    info.add_row("派遣轮次 / 重办 / 退单", f"{record.dispatch_round} / {record.redo_count} / {record.return_count}")
    if record.plan.deadlines is not None:
        info.add_row("时限档次", record.plan.deadlines.tier.name)
    if record.dispatch_round and record.plan.deadlines is None:  # first-release tickets
        sign_clock = remaining(record.sign_for_due, now, record.signed_at)
        info.add_row("签收时限", f"{when(record.sign_for_due)}（{sign_clock}）")
        overdue = "，已超期" if record.overdue else ""
        answer_clock = remaining(record.resolve_due, now, record.answered_at)
        info.add_row("办理时限", f"{when(record.resolve_due)}（{answer_clock}{overdue}）")
    if record.return_deadline and record.status in HANDLING:
        info.add_row("可退单至", when(record.return_deadline))
    if record.escalation_level:
        info.add_row("督办级别", Text(record.escalation_level, style="red"))
    if record.delivery_blocked_at:
        note = f"自 {when(record.delivery_blocked_at)} 起已告知值班长，系统继续重试"
        info.add_row("派遣受阻", Text(f"{note}：{record.dispatch_error}", style="red"))
    elif record.dispatch_error:
        info.add_row("派遣错误", Text(record.dispatch_error, style="red"))
    if record.answer:
        info.add_row("答复", f"{'已解决' if record.answer.resolved else '未解决'}：{record.answer.text}")
    if record.callback:
        info.add_row(
            "回访", f"{'已解决' if record.callback.resolved else '未解决'} · {record.callback.satisfaction.value}"
        )
    if record.status is TicketStatus.AWAITING_VERIFICATION:
        offer = "重办或核查结案" if record.redo_allowed else "重办已达上限：核查结案或提请会商"
        info.add_row("待核查", Text(offer, style="yellow"))
    if record.closure:
        info.add_row("核查结案", record.closure.value)
    if record.backlog_until:
        state = "挂账中" if record.on_backlog else "已结束"
        info.add_row(
            "挂账", f"计划 {record.backlog_until.isoformat()} 前完成（{state}，已提醒 {record.backlog_reminders} 次）"
        )
    if record.paused_since:
        info.add_row(
            "暂停计时",
            Text(f"自 {when(record.paused_since)}，最迟 {when(record.pause_ends_at)} 自动恢复", style="yellow"),
        )
    if record.exempted:
        info.add_row("免考核", "、".join(record.exempted))

    parts: list[Panel | Table] = [info]
    clocks = [c for c in record.clocks if c.round == record.dispatch_round]
    if clocks:
        table = Table(title=f"时限（第 {record.dispatch_round} 轮）", title_justify="left")
        for column in ("时限", "起算", "到期", "状态", "督办级别", "备注"):
            table.add_column(column)
        for clock in clocks:
            state = remaining(clock.due_at, now, clock.stopped_at)
            style = "red" if clock.breached(now) else ("green" if clock.stopped_at else "yellow")
            note = "节假日数据缺失，按周末推算" if clock.estimated else ""
            table.add_row(
                clock.kind.value,
                when(clock.started_at),
                when(clock.due_at),
                Text(state, style=style),
                clock.level or "—",
                note,
            )
        parts.append(table)
    if record.approvals:
        approvals = Table(title="异常审批", title_justify="left")
        for column in ("编号", "类型", "申请人", "申请时间", "理由", "状态", "审批人", "意见"):
            approvals.add_column(column)
        for a in record.approvals:
            detail = (
                f"（{a.extension}）" if a.extension else (f"（至 {a.plan_date.isoformat()}）" if a.plan_date else "")
            )
            approvals.add_row(
                a.id,
                a.kind.value + (f" {a.extension_hours}小时" if a.extension_hours else "") + detail,
                a.requested_by.label,
                when(a.requested_at),
                a.reason + (f"；证明：{a.evidence}" if a.evidence else ""),
                a.state.value,
                a.decided_by.label if a.decided_by else "—",
                (a.decision_note or "") + (f" 改派 {a.reassigned_to}" if a.reassigned_to else ""),
            )
        parts.append(approvals)
    if record.assists:
        assists = Table(title="协办单位", title_justify="left")
        for column in ("单位", "状态", "报告"):
            assists.add_column(column)
        for part in record.assists:
            assists.add_row(part.assignment.department_name, part.status.value, part.report or "—")
        parts.append(assists)
    actions = Table(title="办理记录", title_justify="left")
    for column in ("时间", "操作人", "操作", "说明"):
        actions.add_column(column)
    for action in record.actions:
        actions.add_row(when(action.at), action.actor.label, action.action, action.detail)
    parts.append(actions)
    return Panel(Group(*parts), title=f"工单 {t.ticket_no}", title_align="left")


def rich_table(table: Tables) -> Table:
    """A report's or list's table (display strings) as a terminal table."""
    shown = Table(title=table.title, title_justify="left")
    for column in table.columns:
        shown.add_column(column)
    for row in table.rows:
        shown.add_row(*row)
    return shown


def meeting_panel(record: MeetingRecord) -> Panel:
    m = record.input
    invitees = Table(title=f"邀请单位（出席确认截至 {when(record.attendance_due)}）", title_justify="left")
    for column in ("单位", "出席", "确认人", "确认时间"):
        invitees.add_column(column)
    for i in record.invitees:
        state = "已确认" if i.attended_by else ("缺席" if i.absent else "待确认")
        invitees.add_row(
            i.assignment.department_name, state, i.attended_by.label if i.attended_by else "—", when(i.confirmed_at)
        )
    actions = Table(title="记录", title_justify="left")
    for column in ("时间", "操作人", "操作", "说明"):
        actions.add_column(column)
    for action in record.actions:
        actions.add_row(when(action.at), action.actor.label, action.action, action.detail)
    d = record.determination
    outcome = (
        f"；{d.source}：主办 {d.lead.department_name}，协办 {'、'.join(a.department_name for a in d.assisting) or '无'}"
        if d
        else ""
    )
    header = f"状态：{record.status.value}；事由：{m.reason}；工单：{'、'.join(m.tickets)}{outcome}"
    return Panel(Group(header, invitees, actions), title=f"会商 {m.meeting_no}", title_align="left")


def whistle_panel(record: WhistleRecord) -> Panel:
    now = datetime.now(UTC)
    w = record.input
    parts = Table(title=f"{w.street}吹哨（{w.kind}）：{w.title}", title_justify="left")
    for column in ("部门", "状态", "报到时限", "答卷时限", "督办级别", "评价"):
        parts.add_column(column)
    for part in record.parts:
        report, answer = part.clocks
        evaluation = part.evaluation
        parts.add_row(
            part.assignment.department_name,
            part.status.value,
            f"{when(report.due_at)}（{remaining(report.due_at, now, report.stopped_at)}）",
            f"{when(answer.due_at)}（{remaining(answer.due_at, now, answer.stopped_at)}）",
            part.escalation_level or "—",
            f"{evaluation.satisfaction.value} {evaluation.comment}".strip() if evaluation else "—",
        )
    actions = Table(title="记录", title_justify="left")
    for column in ("时间", "操作人", "操作", "说明"):
        actions.add_column(column)
    for action in record.actions:
        actions.add_row(when(action.at), action.actor.label, action.action, action.detail)
    header = f"状态：{record.status.value}；关联工单：{'、'.join(w.tickets) or '—'}；{w.content}"
    return Panel(Group(header, parts, actions), title=f"吹哨 {w.whistle_no}", title_align="left")


def enterprise_panel(record: EnterpriseRecord, now: datetime) -> Panel:
    e = record.enterprise
    visits = Table(title="走访", title_justify="left")
    for column in ("走访", "日期", "成员", "会见", "政策宣传", "事项", "状态"):
        visits.add_column(column)
    for v in record.visits:
        visits.add_row(
            v.visit_no,
            v.visited_on.isoformat(),
            "、".join(m.name for m in v.members),
            "、".join(v.met) or "—",
            "、".join(v.policies) or "—",
            "、".join(v.item_nos) or "—",
            f"已办结 {when(v.closed_at)}" if v.closed_at else "跟进中",
        )
    actions = Table(title="记录", title_justify="left")
    for column in ("时间", "操作人", "操作", "事项", "说明"):
        actions.add_column(column)
    for a in record.actions:
        actions.add_row(when(a.at), a.actor.label, a.action, a.item_no or a.visit_no or "", a.detail)
    header = (
        f"状态：{record.status.value}；镇街：{e.street or '—'}；行业：{e.industry or '—'}；"
        f"运行 {len(record.runs)} 段（历史超长时续接新运行，事项全部带入）"
    )
    parts: list[RenderableType] = [
        header,
        visits,
        rich_table(service_list(record, now)),
        rich_table(results_list(record)),
        rich_table(summary_details(summarize(record, now))),
        actions,
    ]
    return Panel(Group(*parts), title=f"{e.name}（{e.id}）", title_align="left")
