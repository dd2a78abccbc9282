"""`hotline meeting …`: 疑难工单会商会议 and its 确权, from the command line."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from domain.commands import Attend, RecordMinutes, Refer
from starter.cli import common
from starter.cli.actions import Person, actor_from, owner_from
from starter.meetings import act_meeting, convene, view_meeting
from starter.render import meeting_panel
from workflows.meeting import ConsultationMeetingWorkflow

app = typer.Typer(help="疑难工单会商：召集、出席、纪要、确权、提交裁定、裁定、查看", no_args_is_help=True)

MeetingNo = Annotated[str, typer.Argument(help="会商编号")]
Lead = Annotated[str, typer.Option("--lead", help="主办单位代码")]
Assist = Annotated[list[str], typer.Option("--assist", help="协办单位代码，可多次给出")]
LeadWithinOption = Annotated[
    str | None, typer.Option("--lead-within", help="主办单位办理时限，如 5wd（默认按工单时限档次）")
]
AssistWithinOption = Annotated[str | None, typer.Option("--assist-within", help="协办单位报告时限，如 2wd")]


@app.command("convene")
def convene_command(
    person: Person,
    reason: str = typer.Option(..., help="会商事由"),
    ticket: list[str] = typer.Option(..., "--ticket", help="涉及的工单号，可多次给出"),
    department: list[str] = typer.Option(..., "--dept", help="邀请的部门代码，可多次给出"),
    meeting_no: str | None = typer.Option(None, "--no", help="会商编号（默认自动生成）"),
    config: common.ConfigPath = None,
) -> None:
    """值班长召集疑难工单会商。打印会商编号。"""
    settings = common.config_from(config)
    actor = actor_from(config, person)

    meeting = common.with_client(
        lambda client: convene(
            client,
            settings,
            convened_by=actor,
            reason=reason,
            tickets=ticket,
            departments=department,
            meeting_no=meeting_no,
        )
    )
    common.console.print(meeting.meeting_no)


@app.command("attend")
def attend(meeting_no: MeetingNo, person: Person, config: common.ConfigPath = None) -> None:
    """受邀部门确认出席。"""
    common.send_update(
        act_meeting, meeting_no, ConsultationMeetingWorkflow.attend, Attend(actor=actor_from(config, person))
    )


@app.command("record")
def record(
    meeting_no: MeetingNo,
    person: Person,
    minutes: str = typer.Option(..., help="会议纪要"),
    config: common.ConfigPath = None,
) -> None:
    """记录会议纪要（出席单位自动列入）。"""
    command = RecordMinutes(actor=actor_from(config, person), minutes=minutes)
    common.send_update(act_meeting, meeting_no, ConsultationMeetingWorkflow.record_minutes, command)


def _owner_command(name: str, update: Any, doc: str) -> None:
    """`decide` (会商确权) and `rule` (裁定) take the same 确权 and differ only in the update they send."""

    def command(
        meeting_no: MeetingNo,
        person: Person,
        lead: Lead,
        assist: Assist = [],  # noqa: B006 (typer copies its default)
        lead_within: LeadWithinOption = None,
        assist_within: AssistWithinOption = None,
        config: common.ConfigPath = None,
    ) -> None:
        owner = owner_from(config, person, lead, assist, lead_within=lead_within, assist_within=assist_within)
        common.send_update(act_meeting, meeting_no, update, owner)

    command.__doc__ = doc
    app.command(name)(command)


_owner_command(
    "decide", ConsultationMeetingWorkflow.decide, "会商确权：主办与协办单位及各自时限；涉及的工单随即改派主办单位。"
)


@app.command("refer")
def refer(
    meeting_no: MeetingNo,
    person: Person,
    reason: str = typer.Option(..., help="未能达成一致的情况"),
    config: common.ConfigPath = None,
) -> None:
    """未能达成一致：提交裁定机关裁定。"""
    common.send_update(
        act_meeting,
        meeting_no,
        ConsultationMeetingWorkflow.refer,
        Refer(actor=actor_from(config, person), reason=reason),
    )


_owner_command("rule", ConsultationMeetingWorkflow.rule, "裁定机关裁定（最终决定）。")


@app.command("show")
def show(meeting_no: MeetingNo) -> None:
    """显示会商：邀请与出席、纪要、确权或裁定，以及全部记录。"""
    common.show(view_meeting, meeting_no, meeting_panel)
