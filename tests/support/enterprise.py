"""A red service team's visit on the time-skipping server, as the enterprise tests file it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from activities.runtime.settings import actor_for
from domain.config import DistrictConfig
from domain.enterprise import EnterpriseRecord, ItemSpec, Outcome, OutcomeKind
from domain.enterprise_plan import enterprise_for, item_spec
from domain.models import Enterprise
from starter.enterprises import record_visit, view_enterprise
from tests.support.helpers import person

MINING = "91150302MA0N8K2L3P"  # 海勃湾宏达矿业有限公司, configured, contact hd_zhang


def spec(config: DistrictConfig, need: str, unit: str, **extra: object) -> ItemSpec:
    raw = {"need": need, "category": "生产经营", "unit": unit, "person": "王科长", "measures": "对接企业，限期办理"}
    return item_spec(config, {**raw, **extra})


async def visit(
    env: WorkflowEnvironment, config: DistrictConfig, *specs: ItemSpec, on: date | None = None
) -> list[str]:
    result = await record_visit(
        env.client,
        config,
        actor=person(config, "hft_li"),
        enterprise=enterprise_for(config, MINING),
        visited_on=on or datetime.now(UTC).date() - timedelta(days=1),
        members=["hft_li", "hft_wang"],
        met=["张志远（总经理）"],
        policies=["中小企业技改贴息政策"],
        summary="企业反映转型升级中的用电、用工与审批问题",
        items=list(specs),
    )
    return result.item_nos


def done(text: str = "已协调解决") -> Outcome:
    return Outcome(kind=OutcomeKind.DONE, text=text, evidence=["现场照片", "办结回执"])


async def visited_yesterday(client: Client, config: DistrictConfig, enterprise_no: str, name: str) -> Enterprise:
    """An enterprise of 滨河街道 (not configured: its own number) visited yesterday by hft_li, with
    one item for cgj (用电增容)."""
    enterprise = enterprise_for(config, enterprise_no, name=name, street="滨河街道")
    item = item_spec(config, {"need": "用电增容", "category": "生产经营", "unit": "cgj", "person": "王科长"})
    await record_visit(
        client,
        config,
        actor=actor_for(config, "hft_li"),
        enterprise=enterprise,
        visited_on=(datetime.now(UTC) - timedelta(days=1)).date(),
        members=["hft_li"],
        items=[item],
    )
    return enterprise


async def eventually_enterprise(
    client: Client, enterprise_id: str, ready: Callable[[EnterpriseRecord], bool], tries: int = 100
) -> EnterpriseRecord:
    """The enterprise's record once `ready` (the workflow's notices and deliveries run as activities),
    read every 0.1 s at most `tries` times."""
    for _ in range(tries):
        record = await view_enterprise(client, enterprise_id)
        if ready(record):
            return record
        await asyncio.sleep(0.1)
    raise AssertionError(f"{enterprise_id}: not ready: {record.actions[-3:]}")
