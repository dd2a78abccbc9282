"""The reports' Temporal Schedules: 日报 every morning, 周报 every Monday, 月报 on the 1st, at the times
the configuration gives (China time). Creating them again updates them in place: run it after any
change of the configuration, as often as you like."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleCalendarSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleRange,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
)

from domain.config import DistrictConfig
from domain.report_request import ReportRequest, ReportRun
from workflows.report import ReportWorkflow

TIME_ZONE = "Asia/Shanghai"
SCHEDULED = (ReportRun.DAILY, ReportRun.WEEKLY, ReportRun.MONTHLY)  # 累计 is made on demand only


@dataclass(frozen=True)
class Ensured:
    schedule_id: str
    created: bool  # False: it existed and was updated


def schedule_id(kind: ReportRun) -> str:
    return f"hotline-report-{kind.value}"


def schedule_for(config: DistrictConfig, kind: ReportRun) -> Schedule:
    times = config.reports.schedule
    at = {ReportRun.DAILY: times.daily, ReportRun.WEEKLY: times.weekly, ReportRun.MONTHLY: times.monthly}[kind]
    hour, minute = (int(part) for part in at.split(":"))
    calendar = ScheduleCalendarSpec(
        hour=[ScheduleRange(hour)],
        minute=[ScheduleRange(minute)],
        second=[ScheduleRange(0)],
        day_of_week=[ScheduleRange(1)] if kind is ReportRun.WEEKLY else [ScheduleRange(0, 6)],
        day_of_month=[ScheduleRange(1)] if kind is ReportRun.MONTHLY else [ScheduleRange(1, 31)],
        comment=f"{kind.value} report at {at} China time",
    )
    return Schedule(
        action=ScheduleActionStartWorkflow(
            ReportWorkflow.run,
            ReportRequest(kind=kind),
            id=f"report-{kind.value}",
            task_queue=config.center.task_queue,
        ),
        spec=ScheduleSpec(calendars=[calendar], time_zone_name=TIME_ZONE),
        # A server down at report time still sends that morning's report when it is back.
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP, catchup_window=timedelta(hours=12)),
    )


async def ensure_schedules(client: Client, config: DistrictConfig) -> list[Ensured]:
    """Create each report's schedule, or bring an existing one up to the configuration."""
    done = []
    for kind in SCHEDULED:
        wanted = schedule_for(config, kind)
        try:
            await client.create_schedule(schedule_id(kind), wanted)
            done.append(Ensured(schedule_id(kind), created=True))
        except ScheduleAlreadyRunningError:

            def replace(_: ScheduleUpdateInput, wanted: Schedule = wanted) -> ScheduleUpdate:
                return ScheduleUpdate(schedule=wanted)

            await client.get_schedule_handle(schedule_id(kind)).update(replace)
            done.append(Ensured(schedule_id(kind), created=False))
    return done
