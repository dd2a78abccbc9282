"""`hotline meeting …`: 疑难工单会商会议 and its 确权, from the command line."""

from __future__ import annotations

import typer

from domain.commands import Attend, RecordMinutes, Refer
from starter.cli import common
from starter.cli.actions import AsOption, actor_from, owner_from
from starter.meetings import act_meeting, convene, view_meeting
from starter.render import meeting_panel
from workflows.meeting import ConsultationMeetingWorkflow

app = typer.Typer(help="疑难工单会商：召集、出席、纪要、确权、提交裁定、裁定、查看", no_args_is_help=True)

MeetingArg = typer.Argument(..., help="会商编号")
LeadOption = typer.Option(..., "--lead", help="主办单位代码")
AssistOption = typer.Option([], "--assist", help="协办单位代码，可多次给出")
LeadWithin = typer.Option(None, "--lead-within", help="主办单位办理时限，如 5wd（默认按工单时限档次）")
AssistWithin = typer.Option(None, "--assist-within", help="协办单位报告时限，如 2wd")


@app.command("convene")
def convene_command(
    person: str = AsOption,
    reason: str = typer.Option(..., help="会商事由"),
    ticket: list[str] = typer.Option(..., "--ticket", help="涉及的工单号，可多次给出"),
    department: list[str] = typer.Option(..., "--dept", help="邀请的部门代码，可多次给出"),
    meeting_no: str | None = typer.Option(None, "--no", help="会商编号（默认自动生成）"),
    config: str | None = common.ConfigOption,
) -> None:
    """值班长召集疑难工单会商。打印会商编号。"""
    settings = common.config_from(config)
    actor = actor_from(config, person)

    async def go() -> None:
        client = await common.client()
        meeting = await convene(
            client,
            settings,
            convened_by=actor,
            reason=reason,
            tickets=ticket,
            departments=department,
            meeting_no=meeting_no,
        )
        common.console.print(meeting.meeting_no)

    common.run(go())


@app.command("attend")
def attend(meeting_no: str = MeetingArg, person: str = AsOption, config: str | None = common.ConfigOption) -> None:
    """受邀部门确认出席。"""
    common.send_update(
        act_meeting, meeting_no, ConsultationMeetingWorkflow.attend, Attend(actor=actor_from(config, person))
    )


@app.command("record")
def record(
    meeting_no: str = MeetingArg,
    person: str = AsOption,
    minutes: str = typer.Option(..., help="会议纪要"),
    config: str | None = common.ConfigOption,
) -> None:
    """记录会议纪要（出席单位自动列入）。"""
    command = RecordMinutes(actor=actor_from(config, person), minutes=minutes)
    common.send_update(act_meeting, meeting_no, ConsultationMeetingWorkflow.record_minutes, command)


@app.command("decide")
def decide(
    meeting_no: str = MeetingArg,
    person: str = AsOption,
    lead: str = LeadOption,
    assist: list[str] = AssistOption,
    lead_within: str | None = LeadWithin,
    assist_within: str | None = AssistWithin,
    config: str | None = common.ConfigOption,
) -> None:
    """会商确权：主办与协办单位及各自时限；涉及的工单随即改派主办单位。"""
    command = owner_from(config, person, lead, assist, lead_within=lead_within, assist_within=assist_within)
    common.send_update(act_meeting, meeting_no, ConsultationMeetingWorkflow.decide, command)


@app.command("refer")
def refer(
    meeting_no: str = MeetingArg,
    person: str = AsOption,
    reason: str = typer.Option(..., help="未能达成一致的情况"),
    config: str | None = common.ConfigOption,
) -> None:
    """未能达成一致：提交裁定机关裁定。"""
    common.send_update(
        act_meeting,
        meeting_no,
        ConsultationMeetingWorkflow.refer,
        Refer(actor=actor_from(config, person), reason=reason),
    )


@app.command("rule")
def rule(
    meeting_no: str = MeetingArg,
    person: str = AsOption,
    lead: str = LeadOption,
    assist: list[str] = AssistOption,
    lead_within: str | None = LeadWithin,
    assist_within: str | None = AssistWithin,
    config: str | None = common.ConfigOption,
) -> None:
    """裁定机关裁定（最终决定）。"""
    command = owner_from(config, person, lead, assist, lead_within=lead_within, assist_within=assist_within)
    common.send_update(act_meeting, meeting_no, ConsultationMeetingWorkflow.rule, command)


@app.command("show")
def show(meeting_no: str = MeetingArg) -> None:
    """显示会商：邀请与出席、纪要、确权或裁定，以及全部记录。"""

    async def go() -> None:
        client = await common.client()
        common.console.print(meeting_panel(await view_meeting(client, meeting_no)))

    common.run(go())
