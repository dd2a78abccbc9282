"""The demo's enterprise (红色服务团): two visits to a mining company whose items end in every state.

- S1 住建局: delivered to its (simulated) system, done, confirmed 满意;
- S2 供电公司: done, reopened by the enterprise, done again and waiting for its confirmation;
- S3 an official: cannot be done (with the reason), confirmed 基本满意;
- S4 an official with a limit of seconds, never answered: reminders, then the whole ladder;
- S5 an official: in progress, with a progress note;
- S6 人社局 (the second visit): done and confirmed, so that visit is closed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from temporalio.client import Client

from activities.reports.enterprise_export import write_lists
from activities.runtime.settings import actor_for
from domain.config import DistrictConfig
from domain.enterprise import (
    CloseItem,
    ConfirmItem,
    EnterpriseRecord,
    ItemStatus,
    NoteProgress,
    Outcome,
    OutcomeKind,
    ReopenItem,
)
from domain.enterprise_plan import enterprise_for, item_spec
from domain.models import Actor, Role, Satisfaction
from starter.enterprises import act_enterprise, record_visit, view_enterprise
from starter.render import console, enterprise_panel
from workflows.enterprise import EnterpriseServiceWorkflow as Enterprise

FIRST_VISIT = [
    {"need": "新建选煤车间施工许可办理", "category": "转型升级", "unit": "zjj", "person": "李建国", "within": "10wd",
     "measures": "开辟绿色通道，并联审批"},
    {"need": "矿区供电线路增容", "category": "生产经营", "unit": "gdgs", "person": "吴磊", "within": "10wd",
     "measures": "现场勘查，制定增容方案"},
    {"need": "技改贴息政策申报辅导", "category": "政策咨询", "unit": "hft_wang", "within": "5wd"},
    {"need": "党支部标准化建设指导", "category": "党的建设", "unit": "hft_ma", "within": "20s"},
    {"need": "绿色矿山建设融资对接", "category": "融资贷款", "unit": "hft_li", "within": "15wd",
     "measures": "对接区内银行，组织银企座谈"},
]  # fmt: skip
SECOND_VISIT = [
    {"need": "招聘采矿技术工人 20 名", "category": "用工招聘", "unit": "rsj", "person": "冯雪", "within": "5wd"},
]


class EnterpriseStory:
    """Plays the team and the enterprise's contact while the demo's tickets run."""

    def __init__(self, client: Client, config: DistrictConfig, prefix: str) -> None:
        self.client = client
        self.config = config
        self.enterprise = enterprise_for(config, f"{prefix}-QY1", name="海勃湾宏达矿业有限公司", street="千里山镇")
        self.contact = Actor(id="demo_zhang", name="张志远", role=Role.ENTERPRISE, enterprise=self.enterprise.id)
        self.finished = False

    @property
    def id(self) -> str:
        return self.enterprise.id

    async def run(self) -> None:
        client, config = self.client, self.config
        team = actor_for(config, "hft_li")
        today = datetime.now(UTC).date()
        for on, items, members, policies in (
            (today - timedelta(days=7), FIRST_VISIT, ["hft_li", "hft_wang", "hft_ma"], ["中小企业技改贴息政策"]),
            (today, SECOND_VISIT, ["hft_li"], ["稳岗返还政策"]),
        ):
            await record_visit(
                client,
                config,
                actor=team,
                enterprise=self.enterprise,
                visited_on=on,
                members=members,
                met=["张志远（总经理）"],
                policies=policies,
                summary="企业反映转型升级中的审批、供电、用工与融资问题",
                items=[item_spec(config, raw) for raw in items],
            )
        await self._act(
            Enterprise.note_progress, NoteProgress(actor=team, item_no="S5", text="已联系两家银行，下周座谈")
        )
        cannot = Outcome(kind=OutcomeKind.CANNOT, text="已逐条讲解申报条件", reason="企业技改投资额未达贴息标准")
        await self._act(
            Enterprise.close_item, CloseItem(actor=actor_for(config, "hft_wang"), item_no="S3", outcome=cannot)
        )
        await self._confirm("S3", Satisfaction.BASICALLY_SATISFIED, "理解，明年再申报")
        await self._until(lambda r: r.item("S1").status is ItemStatus.AWAITING_CONFIRMATION)
        await self._confirm("S1", Satisfaction.SATISFIED)
        await self._until(lambda r: r.item("S6").status is ItemStatus.AWAITING_CONFIRMATION)
        await self._confirm("S6", Satisfaction.SATISFIED)
        await self._until(lambda r: r.item("S2").status is ItemStatus.AWAITING_CONFIRMATION)
        reopen = ReopenItem(actor=self.contact, item_no="S2", reason="高峰时段电压仍不稳定", within="5wd")
        await self._act(Enterprise.reopen_item, reopen)
        await self._until(lambda r: r.item("S2").status is ItemStatus.AWAITING_CONFIRMATION)
        await self._until(lambda r: (event := r.next_clock_event()) is None or event[0].item_no != "S4")
        self.finished = True

    async def state(self) -> str:
        try:
            record = await view_enterprise(self.client, self.id)
        except Exception:
            return "走访中"
        confirmed = sum(i.status is ItemStatus.CONFIRMED for i in record.items)
        return f"企业事项 {confirmed}/{len(record.items)} 已确认"

    async def report(self, out: Path) -> None:
        record = await view_enterprise(self.client, self.id)
        console.print(f"红色服务团走访企业（hotline enterprise show {self.id}）")
        console.print(enterprise_panel(record, datetime.now(UTC)))
        paths = [p for fmt in ("xlsx", "md") for p in write_lists([record], out, fmt, datetime.now(UTC))]
        console.print(f"服务清单与成效清单已导出 {len(paths)} 个文件：{out}（hotline enterprise lists --out DIR）")

    async def _act(self, update: object, command: object) -> None:
        await act_enterprise(self.client, self.id, update, command)

    async def _confirm(self, item_no: str, satisfaction: Satisfaction, comment: str = "") -> None:
        command = ConfirmItem(actor=self.contact, item_no=item_no, satisfaction=satisfaction, comment=comment)
        await self._act(Enterprise.confirm_item, command)

    async def _until(self, condition: Callable[[EnterpriseRecord], bool], timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition(await view_enterprise(self.client, self.id)):
                return
            await asyncio.sleep(0.3)
        raise TimeoutError(f"企业 {self.id} 未在 {timeout:.0f} 秒内到达预期状态")
