"""Workers: `python worker.py --department CODE [CODE ...]`, `--center`, or `--all`.

A department's worker polls only its own task queue and runs only the delivery activities of its
own adapter, so it can run on the department's own machine, next to its system. The centre's
worker runs the workflows and the callback channel.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import structlog
from temporalio.client import Client
from temporalio.worker import Worker, WorkerDeploymentConfig

from activities.adapters.base import DepartmentAdapter
from activities.adapters.factory import build_adapter, build_sink, build_survey
from activities.adapters.file_inbox import FileInboxDepartmentAdapter
from activities.center import CenterActivities
from activities.department import DepartmentActivities
from activities.reports.activity import ReportActivities
from activities.runtime.home import home_dir, place_key_file, with_paths_under
from activities.runtime.keys import KeyRingError, load_key_ring
from activities.runtime.logging import LogFormat, configure_logging
from activities.runtime.ops import (
    free_local_port,
    serving_worker_ops,
    telemetry_runtime,
)
from activities.runtime.process import exit_now
from activities.runtime.settings import ConfigError, connect, load_config, load_department_site
from activities.runtime.startup import SetupError, check_search_attributes
from activities.runtime.versioning import center_deployment
from domain.config import Department, DepartmentSite, DistrictConfig, FileInboxAdapter
from workflows.registry import WORKFLOWS

log = structlog.get_logger()


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
            if task is not stopped and (err := task.exception()) is not None:
                raise err

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
    deployment: WorkerDeploymentConfig | None = None,
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
        sink = FileInboxDepartmentAdapter(
            FileInboxAdapter(type="file_inbox", folder=config.center.notifications.folder)
        )
        city = build_sink(config.center.city.adapter)
        center_acts = CenterActivities(build_survey(config, client), client, sink, city)
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
                deployment_config=deployment,
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


@dataclass
class WorkerOptions:
    """What `python worker.py` and `hotline worker` take (the same thing, two spellings)."""

    departments: list[str] = field(default_factory=list)
    center: bool = False
    all: bool = False
    config: str | None = None
    metrics_port: int | None = None  # /metrics (the SDK's own), /healthz, /readyz on this port
    metrics_host: str = "127.0.0.1"
    versioning: bool = False  # the centre joins its Worker Deployment (activities/runtime/versioning.py)
    department_config: Path | None = None  # a department's own configuration file (no district file)


def parse_args(argv: Sequence[str]) -> tuple[WorkerOptions, LogFormat | None]:
    parser = argparse.ArgumentParser(description="运行 12345 热线工作流的 worker")
    parser.add_argument("--config", help="配置文件（默认：HOTLINE_CONFIG 或内置海勃湾区样例）")
    who = parser.add_mutually_exclusive_group(required=True)
    who.add_argument("--department", nargs="+", metavar="CODE", help="运行这些承办单位的 worker")
    who.add_argument("--center", action="store_true", help="运行中心的工作流和活动")
    who.add_argument("--all", action="store_true", help="在一个进程中运行全部（本地使用）")
    who.add_argument(
        "--department-config", type=Path, metavar="FILE", help="按本单位自己的配置文件运行（无需全区配置）"
    )
    parser.add_argument("--metrics-port", type=int, help="在此端口提供 /metrics、/healthz、/readyz（默认不开）")
    parser.add_argument("--metrics-host", default="127.0.0.1", help="指标端口的监听地址")
    parser.add_argument("--log-format", choices=["json", "console"], help="日志格式（默认：终端为 console，否则 json）")
    parser.add_argument("--versioning", action="store_true", help="中心 worker 按 Worker Deployment 版本运行")
    args = parser.parse_args(argv)
    options = WorkerOptions(
        departments=args.department or [],
        center=args.center,
        all=args.all,
        config=args.config,
        metrics_port=args.metrics_port,
        metrics_host=args.metrics_host,
        versioning=args.versioning,
        department_config=args.department_config,
    )
    return options, args.log_format


async def serve(options: WorkerOptions) -> None:
    place_key_file()
    sdk_port = free_local_port() if options.metrics_port is not None else None
    runtime = telemetry_runtime(sdk_port) if sdk_port else None
    home = None
    if options.department_config:
        site = load_department_site(options.department_config)
        own_keys_only(site)
        # The file gives the centre's address; Temporal's own variables, when set, still win.
        client = await connect(
            target_host=os.environ.get("TEMPORAL_ADDRESS") or site.center.address,
            namespace=os.environ.get("TEMPORAL_NAMESPACE") or site.center.namespace,
            runtime=runtime,
        )
        await check_search_attributes(client)
        workers = site_workers(client, site)
    else:
        config = load_config(options.config)
        home = home_dir(options.config)
        if home is not None:
            config = with_paths_under(config, home)
        ring = load_key_ring() if options.center or options.all else None
        if ring is not None and ring.holder is not None:
            raise ConfigError(
                f"{ring.source}: 这是承办单位 {ring.holder} 的密钥文件；中心的 worker 使用中心的（全区）密钥文件"
            )
        client = await connect(runtime=runtime)
        await check_search_attributes(client)
        departments = [d.code for d in config.departments] if options.all else options.departments
        workers = build_workers(
            client,
            config,
            departments=departments,
            center=options.center or options.all,
            deployment=center_deployment() if options.versioning else None,
        )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    queues = [w.task_queue for w in workers.workers]
    async with contextlib.AsyncExitStack() as stack:
        if options.metrics_port is not None:
            ops = serving_worker_ops(client, queues, sdk_port, options.metrics_host, options.metrics_port)
            try:
                url = await stack.enter_async_context(ops)
            except OSError as err:
                raise ConfigError(f"--metrics-port: {options.metrics_port}: {err.strerror}") from None
            log.info("metrics and health served", url=url)
        log.info("workers started", task_queues=queues, home=str(home) if home else None)
        print(f"worker 已启动，任务队列：{', '.join(queues)}（Ctrl-C 停止）", flush=True)
        await workers.run_until(stop)
    log.info("workers stopped")


def run(options: WorkerOptions) -> int:
    """Run the workers until SIGINT/SIGTERM; 2 (with one line on stderr) for bad input or no server."""
    try:
        asyncio.run(serve(options))
    except (ConfigError, SetupError, KeyRingError) as err:
        print(f"错误：{err}", file=sys.stderr)
        return 2
    except RuntimeError as err:
        if "connect" in str(err).lower():
            print(f"错误：无法连接 Temporal 服务：{err}", file=sys.stderr)
            return 2
        raise
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    options, log_format = parse_args(sys.argv[1:] if argv is None else argv)
    configure_logging(log_format=log_format)
    return run(options)


if __name__ == "__main__":
    exit_now(main())
