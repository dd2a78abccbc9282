"""`hotline enterprise …` as the red service team runs it: a real process against the dev server.

A visit with a dozen items across two visits followed to the last confirmed outcome, both lists
exported and opened; bad input gets one line, exit code 2 and starts nothing."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import yaml
from temporalio.client import Client
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from domain.config import DistrictConfig
from domain.enterprise import CloseItem, ConfirmItem, Outcome, OutcomeKind, workflow_id_for_enterprise
from domain.models import Satisfaction
from starter.enterprises import act_enterprise, view_enterprise
from tests.support.cli import Cli, Result, cli_for
from tests.support.district import make_config, raw_config
from tests.support.helpers import person
from workflows.enterprise import EnterpriseServiceWorkflow


@pytest.fixture
def client(own_dev_env: WorkflowEnvironment) -> Client:
    """A dev server of this module's own: `enterprise list` queries every enterprise it finds, and
    other modules' enterprises have no worker left to answer."""
    return own_dev_env.client


@pytest.fixture
def enterprise_id() -> str:
    return f"qy-{uuid.uuid4().hex[:10]}"  # the dev server is shared: an enterprise of this test only


@pytest.fixture
def config(tmp_path: Path, enterprise_id: str) -> DistrictConfig:
    red_service = raw_config()["red_service"]
    red_service["enterprises"].append({"id": enterprise_id, "name": "乌海市金泰焦化有限公司", "street": "千里山镇"})
    people = raw_config()["people"] + [
        {"id": "jt_sun", "name": "孙海涛", "role": "enterprise", "enterprise": enterprise_id}
    ]
    return make_config(tmp_path, red_service=red_service, people=people)


@pytest.fixture
async def cli(client: Client, config: DistrictConfig, tmp_path: Path) -> AsyncIterator[Cli]:
    async for run in cli_for(client, config, tmp_path):
        yield run


def items_file(tmp_path: Path, name: str, items: list[dict[str, Any]]) -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(items, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


FIRST_VISIT = [
    {"need": "焦炉煤气综合利用项目环评", "category": "转型升级", "unit": "sthj", "person": "周科长", "within": "10wd"},
    {"need": "厂区道路占道整治", "category": "生产经营", "unit": "cgj", "person": "孙队长", "measures": "联合执法"},
    {"need": "技改贴息政策辅导", "category": "政策咨询", "unit": "hft_wang"},
    {"need": "高校毕业生招聘", "category": "用工招聘", "unit": "rsj", "person": "冯科长"},
    {"need": "党支部标准化建设", "category": "党的建设", "unit": "hft_ma"},
    {"need": "供电线路迁改", "category": "生产经营", "unit": "gdgs", "person": "吴经理"},
]
SECOND_VISIT = [
    {"need": f"第二次走访事项{n}", "category": "其他", "unit": "hft_li", "due_on": "2099-12-31"} for n in range(1, 7)
]


async def test_two_visits_a_dozen_items_followed_to_the_last_confirmation_and_exported(
    cli: Cli, client: Client, config: DistrictConfig, tmp_path: Path, enterprise_id: str
) -> None:
    yesterday = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
    first = await cli(
        "enterprise", "visit", "--as", "hft_li", "--enterprise", enterprise_id, "--date", yesterday,
        "--member", "hft_li", "--member", "hft_wang", "--met", "孙海涛（总经理）", "--policy", "技改贴息政策",
        "--items", str(items_file(tmp_path, "v1.yaml", FIRST_VISIT)),
    )  # fmt: skip
    assert first.code == 0, first.err
    assert "已记录走访 V1，列入服务清单 6 项" in first.out and "S1、S2、S3、S4、S5、S6" in first.out
    second = await cli(
        "enterprise", "visit", "--as", "hft_ma", "--enterprise", enterprise_id,
        "--items", str(items_file(tmp_path, "v2.yaml", SECOND_VISIT)),
    )  # fmt: skip
    assert second.code == 0, second.err and "V2" in second.out
    added = await cli(
        "enterprise", "item", "add", enterprise_id, "--as", "hft_li", "--visit", "V2", "--need", "融资对接",
        "--category", "融资贷款", "--unit", "hft_wang", "--within", "5wd",
    )  # fmt: skip
    assert added.code == 0 and "S13" in added.out, added.err

    # Items 1-6 through the CLI (concurrently, as six clerks would), 7-13 through the client API.
    owners = {1: "sthj_zhou", 2: "cgj_sun", 3: "hft_wang", 4: "rsj_feng", 5: "hft_ma", 6: "gdgs_wu"}

    async def close_by_cli(n: int, owner: str) -> Result:
        result = ["--result", "已办结", "--evidence", f"回执{n}"]
        if n == 3:
            result = ["--result", "无法办理", "--reason", "企业投资额未达贴息标准"]
        return await cli(
            "enterprise", "item", "close", enterprise_id, f"S{n}", "--as", owner, *result, "--outcome", f"成效{n}"
        )

    progress = await cli("enterprise", "item", "progress", enterprise_id, "S1", "--as", "sthj_zhou", "--text", "已受理")
    assert progress.code == 0, progress.err
    for closed in await asyncio.gather(*(close_by_cli(n, owner) for n, owner in owners.items())):
        assert closed.code == 0 and "待企业确认" in closed.out, closed.err
    officials = {n: person(config, "hft_li") for n in range(7, 13)} | {13: person(config, "hft_wang")}
    for n, official in officials.items():
        outcome = Outcome(kind=OutcomeKind.DONE, text=f"成效{n}", evidence=[f"回执{n}"])
        command = CloseItem(actor=official, item_no=f"S{n}", outcome=outcome)
        await act_enterprise(client, enterprise_id, EnterpriseServiceWorkflow.close_item, command)
        confirm = ConfirmItem(actor=person(config, "jt_sun"), item_no=f"S{n}", satisfaction=Satisfaction.SATISFIED)
        await act_enterprise(client, enterprise_id, EnterpriseServiceWorkflow.confirm_item, confirm)

    reopened = await cli(
        "enterprise", "item", "reopen", enterprise_id, "S2", "--as", "jt_sun", "--reason", "西侧仍有占道"
    )
    assert reopened.code == 0 and "第 2 轮" in reopened.out, reopened.err
    again = await cli(
        "enterprise", "item", "close", enterprise_id, "S2", "--as", "cgj_sun", "--result", "已办结",
        "--outcome", "西侧占道已清理", "--evidence", "整治照片",
    )  # fmt: skip
    assert again.code == 0, again.err

    async def confirm_by_cli(n: int) -> Result:
        satisfaction = "基本满意" if n == 3 else "满意"
        return await cli(
            "enterprise", "item", "confirm", enterprise_id, f"S{n}", "--as", "jt_sun", "--satisfaction", satisfaction
        )

    for confirmed in await asyncio.gather(*(confirm_by_cli(n) for n in owners)):
        assert confirmed.code == 0, confirmed.err

    record = await view_enterprise(client, enterprise_id)
    assert len(record.items) == 13 and all(v.closed_at for v in record.visits)
    shown = await cli("enterprise", "show", enterprise_id)
    assert shown.code == 0 and "服务清单" in shown.out and "成效清单" in shown.out and "事项均已确认" in shown.out
    listed = await cli("enterprise", "list", "--all")
    assert enterprise_id in listed.out
    open_only = await cli("enterprise", "list")
    assert enterprise_id not in open_only.out  # nothing left to follow up

    out = tmp_path / "lists"
    for fmt in ("xlsx", "md"):
        exported = await cli("enterprise", "lists", "--format", fmt, "--out", str(out), "--enterprise", enterprise_id)
        assert exported.code == 0, exported.err
    workbook = openpyxl.load_workbook(out / f"{enterprise_id}-乌海市金泰焦化有限公司.xlsx")
    assert workbook.sheetnames == ["服务清单", "成效清单", "汇总"]
    service = list(workbook["服务清单"].iter_rows(values_only=True))
    assert service[0][:3] == ("编号", "走访", "事项") and len(service) == 14
    results = list(workbook["成效清单"].iter_rows(values_only=True))
    header = results[0]
    rows = {row[0]: dict(zip(header, row, strict=True)) for row in results[1:]}
    assert len(rows) == 13
    assert rows["S2"]["成效"] == "西侧占道已清理" and rows["S2"]["企业评价"] == "满意"
    assert rows["S3"]["办理结果"].startswith("无法办理") and rows["S3"]["企业评价"] == "基本满意"
    markdown = (out / f"{enterprise_id}-乌海市金泰焦化有限公司.md").read_text(encoding="utf-8")
    assert "# 乌海市金泰焦化有限公司 服务清单与成效清单" in markdown and "| S13 |" in markdown
    assert (out / "by-unit").is_dir() and (out / "汇总.xlsx").exists()


async def test_bad_input_is_one_line_exit_2_and_starts_nothing(
    cli: Cli, client: Client, tmp_path: Path, enterprise_id: str
) -> None:
    bad = items_file(
        tmp_path,
        "bad.yaml",
        [FIRST_VISIT[0], {"need": "某事项", "category": "生产经营", "unit": "nobody", "person": "x"}],
    )
    result = await cli("enterprise", "visit", "--as", "hft_li", "--enterprise", enterprise_id, "--items", str(bad))
    assert result.code == 2
    assert result.err.strip().splitlines() == [
        f"错误：{bad}:6: items.1.unit: unknown 'nobody'（部门代码，或红色服务团成员的人员 ID）"
    ]
    for args, expected in (
        (["--as", "zjj_li"], "不是红色服务团成员"),  # a clerk cannot record a visit
        (["--as", "hft_li", "--date", "2099-01-01"], "晚于今天"),
        (["--as", "hft_li", "--date", "yesterday"], "date"),
        (["--as", "hft_li", "--member", "zjj_li"], "members.0"),
    ):
        result = await cli("enterprise", "visit", "--enterprise", enterprise_id, *args)
        assert result.code == 2 and expected in result.err and len(result.err.strip().splitlines()) == 1, result.err
    unknown = await cli("enterprise", "visit", "--as", "hft_li", "--enterprise", "91150302MA0N8K2L3X")
    assert unknown.code == 2 and "校验位错误" in unknown.err
    with pytest.raises(RPCError):
        await client.get_workflow_handle(workflow_id_for_enterprise(enterprise_id)).describe()

    items = items_file(tmp_path, "ok.yaml", FIRST_VISIT[:1])
    ok = await cli("enterprise", "visit", "--as", "hft_li", "--enterprise", enterprise_id, "--items", str(items))
    assert ok.code == 0, ok.err
    for args, expected in (
        (["progress", enterprise_id, "S1", "--as", "cgj_sun", "--text", "越权"], "不是事项 S1 的责任单位"),
        (
            [
                "close",
                enterprise_id,
                "S1",
                "--as",
                "sthj_zhou",
                "--result",
                "部分办结",
                "--outcome",
                "x",
                "--evidence",
                "y",
            ],
            "须说明原因",
        ),
        (["close", enterprise_id, "S1", "--as", "sthj_zhou", "--result", "已办结", "--outcome", "x"], "须附佐证材料"),
        (["confirm", enterprise_id, "S1", "--as", "jt_sun", "--satisfaction", "满意"], "「办理中」"),
        (["progress", enterprise_id, "S7", "--as", "sthj_zhou", "--text", "x"], "没有事项 S7"),
        (["progress", "no-such-enterprise", "S1", "--as", "sthj_zhou", "--text", "x"], "不存在"),
    ):
        result = await cli("enterprise", "item", *args)
        assert result.code == 2 and expected in result.err and len(result.err.strip().splitlines()) == 1, result.err
    fmt = await cli("enterprise", "lists", "--format", "csv", "--out", str(tmp_path / "x"))
    assert fmt.code == 2 and "--format" in fmt.err
    record = await view_enterprise(client, enterprise_id)
    assert [a.action for a in record.actions] == ["走访", "列入服务清单"]  # every refusal left nothing
