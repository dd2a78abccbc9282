"""`hotline dept …` and `hotline center …`: the human actions on a ticket, acting as a named person
of the configuration. The workflow's validators have the last word: a refusal prints its reason."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from pydantic import BaseModel

from activities.runtime.settings import ConfigError, actor_for
from domain.commands import (
    AssistReport,
    ContactCitizen,
    Decide,
    DetermineOwner,
    GiveAnswer,
    ManualDispatch,
    RecordCallback,
    RequestBacklog,
    RequestExemption,
    RequestExtension,
    RequestPause,
    RequestReturn,
    ResumeClock,
    SignFor,
    VerifyTicket,
)
from domain.intake import TicketRejected, assignment_for
from domain.models import (
    Actor,
    Answer,
    Callback,
    ClosureCategory,
    ExemptionReason,
    PauseReason,
    Satisfaction,
    VerifyDecision,
)
from starter.cli import common
from starter.tickets import act
from workflows.ticket import TicketWorkflow

dept_app = typer.Typer(help="承办单位操作：签收、联系、答复、退单、延期、免考核、挂账、暂停计时", no_args_is_help=True)
center_app = typer.Typer(help="中心操作：人工派遣、审批、驳回、回访、核查", no_args_is_help=True)

TicketNo = Annotated[str, typer.Argument(help="工单号")]
Person = Annotated[str, typer.Option("--as", help="操作人（配置中的人员 ID）")]


def actor_from(config: str | None, person: str) -> Actor:
    settings = common.config_from(config)
    try:
        return actor_for(settings, person)
    except ConfigError as err:
        common.fail(f"--as: {err}".replace("actor: ", ""))


def send_action(ticket: str, update: Any, command: Any) -> None:
    common.send_update(act, ticket, update, command)


def field_action(
    app: typer.Typer,
    name: str,
    update: Any,
    command: type[BaseModel],
    field: str,
    option: Any,
    doc: str,
    *,
    ticket_help: str = "工单号",
) -> None:
    """Declare a ticket action whose command is the actor and one field, given by `option`
    (`hotline … NAME TICKET --as PERSON --FIELD …`)."""

    def run(ticket: str, person: Person, value: str = option, config: common.ConfigPath = None) -> None:
        send_action(ticket, update, command(actor=actor_from(config, person), **{field: value}))

    # Set after the fact: under postponed annotations typer could not see `ticket_help` in a string.
    run.__annotations__["ticket"] = Annotated[str, typer.Argument(help=ticket_help)]

    run.__doc__ = doc
    app.command(name)(run)


def assignment_from(config: str | None, code: str, option: str) -> Any:
    try:
        return assignment_for(common.config_from(config), code)
    except TicketRejected:
        common.fail(f"{option}: unknown department '{code}'")


def owner_from(
    config: str | None,
    person: str,
    lead: str,
    assist: list[str],
    *,
    note: str = "",
    lead_within: str | None = None,
    assist_within: str | None = None,
) -> DetermineOwner:
    """确权 as the CLI's options give it (a meeting's decision, a ruling, or on site)."""
    return DetermineOwner(
        actor=actor_from(config, person),
        lead=assignment_from(config, lead, "--lead"),
        assisting=[assignment_from(config, code, "--assist") for code in assist],
        note=note,
        lead_within=lead_within,  # a duration as written ("3wd"): pydantic parses it
        assist_within=assist_within,
    )


@dept_app.command("sign")
def sign(ticket: TicketNo, person: Person, config: common.ConfigPath = None) -> None:
    """签收。"""
    send_action(ticket, TicketWorkflow.sign_for, SignFor(actor=actor_from(config, person)))


field_action(
    dept_app,
    "contact",
    TicketWorkflow.contact_citizen,
    ContactCitizen,
    "note",
    typer.Option("", "--note", help="联系情况"),
    "联系诉求人（首次响应）。",
)


@dept_app.command("answer")
def answer(
    ticket: TicketNo,
    person: Person,
    text: Annotated[str, typer.Option(help="答复内容")],
    resolved: bool = typer.Option(True, "--resolved/--unresolved", help="是否已解决"),
    evidence: list[str] = typer.Option([], help="佐证材料引用，可多次给出"),
    config: common.ConfigPath = None,
) -> None:
    """答复（答卷）。"""
    actor = actor_from(config, person)
    command = GiveAnswer(actor=actor, answer=Answer(text=text, resolved=resolved, evidence=evidence))
    send_action(ticket, TicketWorkflow.answer, command)


field_action(
    dept_app,
    "return",
    TicketWorkflow.request_return,
    RequestReturn,
    "reason",
    typer.Option(..., "--reason", help="退单理由"),
    "申请退单（非本单位职责），由值班长审批。",
)


@dept_app.command("extend")
def extend(
    ticket: TicketNo,
    person: Person,
    hours: int | None = typer.Option(None, min=1, help="延期小时数"),
    days: int | None = typer.Option(None, min=1, help="延期工作日数"),
    reason: str = typer.Option(..., help="延期理由"),
    config: common.ConfigPath = None,
) -> None:
    """申请延期（--days 个工作日或 --hours 小时），由值班长审批。"""
    if (hours is None) == (days is None):
        common.fail("--days / --hours: give exactly one")
    command = RequestExtension(actor=actor_from(config, person), hours=hours, working_days=days, reason=reason)
    send_action(ticket, TicketWorkflow.request_extension, command)


@dept_app.command("exempt")
def exempt(
    ticket: TicketNo,
    person: Person,
    category: Annotated[ExemptionReason, typer.Option(help="免考核理由：不合理诉求 / 不可抗力 / 非本单位职责 / 其他")],
    evidence: Annotated[str, typer.Option(help="证明材料（说明或材料引用）")],
    config: common.ConfigPath = None,
) -> None:
    """申请免考核（异常审批，编号如 X3），由值班长审批；获批后不计入本单位考核，仍计入全区总量。"""
    command = RequestExemption(actor=actor_from(config, person), category=category, evidence=evidence)
    send_action(ticket, TicketWorkflow.request_exemption, command)


@dept_app.command("backlog")
def backlog(
    ticket: TicketNo,
    person: Person,
    until: Annotated[str, typer.Option("--until", help="计划完成日期 YYYY-MM-DD")],
    reason: Annotated[str, typer.Option(help="挂账理由（如需列入明年改造计划）")],
    config: common.ConfigPath = None,
) -> None:
    """申请挂账（长期未能办结，异常审批，编号如 B4），由值班长审批；获批后办理时限改为计划完成日期。"""
    plan = common.parse_date(until, "--until")
    command = RequestBacklog(actor=actor_from(config, person), plan_date=plan, reason=reason)
    send_action(ticket, TicketWorkflow.request_backlog, command)


@dept_app.command("pause")
def pause(
    ticket: TicketNo,
    person: Person,
    category: Annotated[PauseReason, typer.Option(help="暂停理由：补充材料 / 不在家 / 其他")],
    note: str = typer.Option("", help="说明"),
    config: common.ConfigPath = None,
) -> None:
    """申请暂停计时（等待诉求人，异常审批，编号如 P5），由值班长审批。"""
    command = RequestPause(actor=actor_from(config, person), category=category, note=note)
    send_action(ticket, TicketWorkflow.request_pause, command)


field_action(
    dept_app,
    "resume",
    TicketWorkflow.resume_clock,
    ResumeClock,
    "note",
    typer.Option("", "--note", help="说明"),
    "恢复计时：时限按暂停的工作时间顺延。",
)


@center_app.command("verify")
def verify(
    ticket: TicketNo,
    reason: Annotated[str, typer.Argument(help="核查意见（理由）")],
    person: Person,
    close: ClosureCategory | None = typer.Option(
        None, "--close", help="核查结案的类别：已解释说明 / 诉求不合理 / 超出职权范围 / 历史遗留问题 / 重复诉求"
    ),
    redo: bool = typer.Option(False, "--redo", help="发回原承办单位重办"),
    config: common.ConfigPath = None,
) -> None:
    """核查（回访未解决或不满意后）：--redo 发回重办，或 --close 类别 核查结案（保留回访结论）。"""
    if redo == (close is not None):
        common.fail("--close / --redo: give exactly one")
    decision = VerifyDecision.REDO if redo else VerifyDecision.CLOSE
    command = VerifyTicket(actor=actor_from(config, person), decision=decision, closure=close, reason=reason)
    send_action(ticket, TicketWorkflow.verify, command)


@center_app.command("dispatch")
def dispatch(
    ticket: TicketNo,
    person: Person,
    to: Annotated[str, typer.Option("--to", help="承办单位代码")],
    note: str = typer.Option("", help="派遣说明"),
    config: common.ConfigPath = None,
) -> None:
    """人工派遣（派单目录无匹配或派遣失败时），或派遣受阻时改派其他单位。"""
    command = ManualDispatch(actor=actor_from(config, person), to=assignment_from(config, to, "--to"), note=note)
    send_action(ticket, TicketWorkflow.dispatch, command)


@center_app.command("approve")
def approve(
    ticket: TicketNo,
    approval_id: Annotated[str, typer.Argument(help="申请编号，如 R1、E2、X3、B4、P5")],
    person: Person,
    reassign: str | None = typer.Option(None, help="批准退单时改派的承办单位代码"),
    note: str = typer.Option("", help="审批意见"),
    config: common.ConfigPath = None,
) -> None:
    """批准退单（须改派）、延期、免考核、挂账或暂停计时。"""
    to = assignment_from(config, reassign, "--reassign") if reassign else None
    command = Decide(actor=actor_from(config, person), approval_id=approval_id, reassign_to=to, note=note)
    send_action(ticket, TicketWorkflow.approve, command)


@center_app.command("reject")
def reject(
    ticket: TicketNo,
    approval_id: Annotated[str, typer.Argument(help="申请编号，如 R1、E2、X3、B4、P5")],
    person: Person,
    note: Annotated[str, typer.Option(help="驳回理由")],
    config: common.ConfigPath = None,
) -> None:
    """驳回退单（承办单位须继续办理）、延期、免考核、挂账或暂停计时。"""
    send_action(
        ticket, TicketWorkflow.reject, Decide(actor=actor_from(config, person), approval_id=approval_id, note=note)
    )


@center_app.command("callback")
def callback(
    ticket: TicketNo,
    person: Person,
    resolved: Annotated[bool, typer.Option("--resolved/--unresolved", help="诉求人认为是否解决")],
    satisfaction: Annotated[Satisfaction, typer.Option(help="满意 / 基本满意 / 不满意")],
    note: str | None = typer.Option(None, help="回访记录"),
    config: common.ConfigPath = None,
) -> None:
    """记录回访结果：未解决或不满意则待核查（或按配置直接重办），否则办结。"""
    result = Callback(resolved=resolved, satisfaction=satisfaction, note=note)
    send_action(
        ticket, TicketWorkflow.record_callback, RecordCallback(actor=actor_from(config, person), callback=result)
    )


@center_app.command("determine")
def determine(
    ticket: TicketNo,
    person: Person,
    lead: Annotated[str, typer.Option("--lead", help="主办单位代码")],
    assist: list[str] = typer.Option([], "--assist", help="协办单位代码，可多次给出"),
    note: str = typer.Option("", help="现场确权说明"),
    config: common.ConfigPath = None,
) -> None:
    """现场确权督办：不经会商，直接确定主办与协办单位（工单随即改派主办单位）。"""
    send_action(ticket, TicketWorkflow.determine, owner_from(config, person, lead, assist, note=note))


@dept_app.command("assist-sign")
def assist_sign(ticket: TicketNo, person: Person, config: common.ConfigPath = None) -> None:
    """协办签收（本单位为该工单的协办单位时）。"""
    send_action(ticket, TicketWorkflow.assist_sign_for, SignFor(actor=actor_from(config, person)))


field_action(
    dept_app,
    "assist-report",
    TicketWorkflow.assist_report,
    AssistReport,
    "text",
    typer.Option(..., "--text", help="协办情况"),
    "协办报告：向主办单位报告本单位办理情况。",
)
