"""Workers: `python worker.py --department CODE [CODE ...]`, `--center`, or `--all`.

A department's worker polls only its own task queue and runs only the delivery activities of its
own adapter, so it can run on the department's own machine, next to its system. The centre's
worker runs the workflows and the callback channel.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import structlog
from temporalio.client import Client
from temporalio.worker import Worker

from activities.adapters.base import DepartmentAdapter
from activities.adapters.factory import build_adapter, build_sink
from activities.adapters.file_inbox import FileInboxDepartmentAdapter
from activities.center import CenterActivities
from activities.department import DepartmentActivities
from activities.reports import ReportActivities
from domain.config import Department, DepartmentSite, DistrictConfig, FileInboxAdapter, SimulatedSurvey
from starter.keys import KeyRingError, load_key_ring
from starter.logging import configure_logging
from starter.process import exit_now
from starter.settings import ConfigError, actor_for, connect, load_config, load_department_site
from starter.startup import SetupError, check_search_attributes
from workflows.campaign import CampaignWorkflow
from workflows.enterprise import EnterpriseServiceWorkflow
from workflows.meeting import ConsultationMeetingWorkflow
from workflows.report import ReportWorkflow
from workflows.ticket import TicketWorkflow
from workflows.whistle import WhistleWorkflow

log = structlog.get_logger()

WORKFLOWS: list[type] = [
    TicketWorkflow,
    WhistleWorkflow,
    ConsultationMeetingWorkflow,
    CampaignWorkflow,
    EnterpriseServiceWorkflow,
    ReportWorkflow,
]


@dataclass
class WorkerSet:
    """The workers of one process and what must be closed after them."""

    workers: list[Worker] = field(default_factory=list)
    closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    async def __aenter__(self) -> WorkerSet:
        self._runs = [asyncio.create_task(w.run()) for w in self.workers]
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.shutdown()
        await asyncio.gather(*self._runs, return_exceptions=True)

    async def run_until(self, stop: asyncio.Event) -> None:
        runs = [asyncio.create_task(w.run()) for w in self.workers]
        stopped = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait([*runs, stopped], return_when=asyncio.FIRST_COMPLETED)
        await self.shutdown()
        for task in done:
            if task is not stopped and task.exception():
                raise task.exception()  # type: ignore[misc]

    async def shutdown(self) -> None:
        await asyncio.gather(*(w.shutdown() for w in self.workers), return_exceptions=True)
        for close in self.closers:
            await close()


def build_workers(
    client: Client,
    config: DistrictConfig,
    *,
    departments: Sequence[str] = (),
    center: bool = False,
    max_cached_workflows: int = 1000,
    workflow_failure_exception_types: Sequence[type[BaseException]] = (),
    adapters: Mapping[str, DepartmentAdapter] | None = None,
) -> WorkerSet:
    """Workers for the given departments and, if asked, the centre. Unknown codes are refused.
    `adapters` puts in the simulator's own department systems instead of the configured ones."""
    result = WorkerSet()
    for code in departments:
        try:
            department = config.department(code)
        except KeyError:
            raise ConfigError(f"--department: unknown department '{code}'") from None
        adapter = (adapters or {}).get(code) or build_adapter(department, config, client)
        result.workers.append(department_worker(client, department, adapter))
        result.closers.append(adapter.aclose)
    if center:
        survey = config.center.callback
        operator = actor_for(config, survey.actor) if isinstance(survey, SimulatedSurvey) else None
        sink = FileInboxDepartmentAdapter(
            FileInboxAdapter(type="file_inbox", folder=config.center.notifications.folder)
        )
        city = build_sink(config.center.city.adapter)
        center_acts = CenterActivities(survey, operator, client, sink, city)
        result.workers.append(
            Worker(
                client,
                task_queue=config.center.task_queue,
                workflows=WORKFLOWS,
                activities=[
                    center_acts.request_callback,
                    center_acts.notify_center,
                    center_acts.notify_city,
                    center_acts.find_campaign_tickets,
                    ReportActivities(client, config).make_report,
                ],
                max_cached_workflows=max_cached_workflows,
                workflow_failure_exception_types=list(workflow_failure_exception_types),
                identity="hotline-center",
            )
        )
        result.closers += [center_acts.aclose, city.aclose]
    return result


def department_worker(client: Client, department: Department, adapter: DepartmentAdapter) -> Worker:
    """A department's worker: its own task queue, its own delivery activities, nothing else."""
    acts = DepartmentActivities(department.code, adapter)
    return Worker(
        client,
        task_queue=department.task_queue,
        activities=[acts.deliver_ticket, acts.deliver_item, acts.notify_department],
        identity=f"hotline-dept-{department.code}",
    )


def site_workers(client: Client, site: DepartmentSite) -> WorkerSet:
    """The worker of a department run from its own configuration file (no district file)."""
    adapter = build_adapter(site.department, site, client)
    return WorkerSet(workers=[department_worker(client, site.department, adapter)], closers=[adapter.aclose])


def own_keys_only(site: DepartmentSite) -> None:
    """A department's machine holds its own key file (hotline keys export-department), never the
    centre's ring, which opens every citizen's data in the district."""
    ring = load_key_ring()
    code = site.department.code
    if ring is not None and ring.holder != code:
        held = f"承办单位 {ring.holder} 的" if ring.holder else "中心的（全区）"
        raise ConfigError(
            f"{ring.source}: 这是{held}密钥文件；承办单位 {code} 的 worker 只使用本单位的密钥文件"
            f"（hotline keys export-department {code} --out 文件）"
        )


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="运行 12345 热线工作流的 worker")
    parser.add_argument("--config", help="配置文件（默认：HOTLINE_CONFIG 或内置海勃湾区样例）")
    who = parser.add_mutually_exclusive_group(required=True)
    who.add_argument("--department", nargs="+", metavar="CODE", help="运行这些承办单位的 worker")
    who.add_argument("--center", action="store_true", help="运行中心的工作流和活动")
    who.add_argument("--all", action="store_true", help="在一个进程中运行全部（本地使用）")
    who.add_argument(
        "--department-config", type=Path, metavar="FILE", help="按本单位自己的配置文件运行（无需全区配置）"
    )
    return parser.parse_args(argv)


async def serve(args: argparse.Namespace) -> None:
    if args.department_config:
        site = load_department_site(args.department_config)
        own_keys_only(site)
        # The file gives the centre's address; Temporal's own variables, when set, still win.
        client = await connect(
            target_host=os.environ.get("TEMPORAL_ADDRESS") or site.center.address,
            namespace=os.environ.get("TEMPORAL_NAMESPACE") or site.center.namespace,
        )
        await check_search_attributes(client)
        workers = site_workers(client, site)
    else:
        config = load_config(args.config)
        ring = load_key_ring() if args.center or args.all else None
        if ring is not None and ring.holder is not None:
            raise ConfigError(
                f"{ring.source}: 这是承办单位 {ring.holder} 的密钥文件；中心的 worker 使用中心的（全区）密钥文件"
            )
        client = await connect()
        await check_search_attributes(client)
        departments = [d.code for d in config.departments] if args.all else (args.department or [])
        workers = build_workers(client, config, departments=departments, center=args.center or args.all)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    queues = [w.task_queue for w in workers.workers]
    log.info("workers started", task_queues=queues)
    print(f"worker 已启动，任务队列：{', '.join(queues)}（Ctrl-C 停止）", flush=True)
    await workers.run_until(stop)
    log.info("workers stopped")


def main(argv: Sequence[str] | None = None) -> int:
    configure_logging()
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        asyncio.run(serve(args))
    except (ConfigError, SetupError, KeyRingError) as err:
        print(f"错误：{err}", file=sys.stderr)
        return 2
    except RuntimeError as err:
        if "connect" in str(err).lower():
            print(f"错误：无法连接 Temporal 服务：{err}", file=sys.stderr)
            return 2
        raise
    return 0


if __name__ == "__main__":
    exit_now(main())
