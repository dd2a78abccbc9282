"""红色服务团's lists without a server: records built through the domain API, turned into the service
list, the results list, per-unit lists and the summary, and written as Excel and Markdown."""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from pydantic import ValidationError

from activities.reports.enterprise_export import markdown_table, safe_name, write_lists
from activities.runtime.calendar_source import calendar_for
from activities.runtime.settings import actor_for
from domain.calendar import CHINA_TZ
from domain.config import DistrictConfig
from domain.deadlines import TicketDeadlines
from domain.enterprise import (
    CloseItem,
    ConfirmItem,
    EnterpriseRecord,
    ItemSpec,
    NoteProgress,
    Outcome,
    OutcomeKind,
    RecordVisit,
    ReopenItem,
)
from domain.enterprise_lists import (  # type: ignore[attr-defined]  # Table is domain.tables', the lists' return type
    RESULTS_COLUMNS,
    SERVICE_COLUMNS,
    SUMMARY_COLUMNS,
    Summary,
    Table,
    lists_by_unit,
    percent,
    results_list,
    service_list,
    summarize,
    summary_details,
    summary_table,
)
from domain.enterprise_plan import enterprise_for, item_deadlines, item_spec
from domain.models import Satisfaction

MINING = "91150302MA0N8K2L3P"  # 海勃湾宏达矿业有限公司, contact hd_zhang
ENERGY = "91150302MA0Q7W5R16"  # 乌海新能源科技有限公司, contact xny_qian
MINING_NAME = "海勃湾宏达矿业有限公司"
ENERGY_NAME = "乌海新能源科技有限公司"
ZJJ, CGJ, RSJ = "区住房和城乡建设局", "区城市管理综合执法局", "区人力资源和社会保障局"

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=CHINA_TZ)  # a Monday
NOW = datetime(2025, 3, 14, 12, 0, tzinfo=CHINA_TZ)


def at(day: int, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(2025, 3, day, hour, minute, tzinfo=CHINA_TZ)


@pytest.fixture(scope="module")
def deadlines(config: DistrictConfig) -> TicketDeadlines:
    return item_deadlines(config, calendar_for(config.calendar, T0))


def spec(config: DistrictConfig, need: str, unit: str, **extra: Any) -> ItemSpec:
    raw = {"need": need, "category": "生产经营", "unit": unit, "person": "王科长", "measures": "对接企业，限期办理"}
    return item_spec(config, {**raw, **extra})


def done(text: str = "已协调解决") -> Outcome:
    return Outcome(kind=OutcomeKind.DONE, text=text, evidence=["现场照片", "办结回执"])


class Desk:
    """Acts on a record as the workflow would: every command checked first, then applied."""

    def __init__(self, config: DistrictConfig, record: EnterpriseRecord, contact: str) -> None:
        self.config = config
        self.record = record
        self.contact = contact

    def visit(self, when: datetime, members: list[str], items: list[ItemSpec], deadlines: TicketDeadlines) -> None:
        team = [actor_for(self.config, m) for m in members]
        cmd = RecordVisit(
            actor=team[0],
            visited_on=when.date(),
            members=team,
            met=["总经理"],
            policies=["中小企业技改贴息政策"],
            items=items,
            deadlines=deadlines,
        )
        self.record.check_record_visit(cmd, when.date())
        self.record.record_visit(cmd, when)

    def progress(self, who: str, item_no: str, text: str, when: datetime) -> None:
        cmd = NoteProgress(actor=actor_for(self.config, who), item_no=item_no, text=text)
        self.record.check_progress(cmd)
        self.record.note_progress(cmd, when)

    def close(self, who: str, item_no: str, outcome: Outcome, when: datetime) -> None:
        cmd = CloseItem(actor=actor_for(self.config, who), item_no=item_no, outcome=outcome)
        self.record.check_close(cmd)
        self.record.close_item(cmd, when)

    def confirm(self, item_no: str, satisfaction: Satisfaction, when: datetime, comment: str = "") -> None:
        actor = actor_for(self.config, self.contact)
        cmd = ConfirmItem(actor=actor, item_no=item_no, satisfaction=satisfaction, comment=comment)
        self.record.check_confirm(cmd)
        # The records here are kept under the first releases' rule, where 不满意 confirmed the item
        # (S4): carried records of such enterprises still exist, and the lists show them as they are.
        # The rule of today (不满意 sends the item back) is tested in tests/unit/test_domain_enterprise.py.
        self.record.confirm(cmd, when, unsatisfied_sends_back=False)

    def reopen(self, item_no: str, reason: str, within: str, when: datetime) -> None:
        actor = actor_for(self.config, self.contact)
        cmd = ReopenItem.model_validate({"actor": actor, "item_no": item_no, "reason": reason, "within": within})
        self.record.check_reopen(cmd)
        self.record.reopen(cmd, when)


@pytest.fixture
def mining(config: DistrictConfig, deadlines: TicketDeadlines) -> EnterpriseRecord:
    """Twelve items over two visits: confirmed, awaiting confirmation, open, overdue, closed late, reopened."""
    record = EnterpriseRecord.open(enterprise_for(config, MINING), deadlines, T0)
    record.begin_run("run-1", T0)
    desk = Desk(config, record, "hd_zhang")
    desk.visit(
        at(3, 9),
        ["hft_li", "hft_wang"],
        [
            spec(config, "新建厂房施工许可办理", "zjj", within="10d"),  # S1: due 03-13 09:00
            spec(config, "厂区周边道路占道整治", "cgj", person="刘队长", due_on=date(2025, 3, 31)),  # S2
            spec(config, "技改贴息政策申报辅导", "hft_wang", person=None, category="政策咨询", within="5d"),  # S3
            spec(config, "变电站增容审批协调", "zjj", within="2d"),  # S4: due 03-05 09:00, closed late
            spec(config, "渣土车通行证办理", "cgj", within="3d"),  # S5: due 03-06 09:00, left open
            spec(config, "技能人才招聘对接", "rsj", category="用工招聘", within="30d"),  # S6
            spec(config, "厂区消防验收", "zjj", within="5d"),  # S7: closed, then reopened
        ],
        deadlines,
    )
    desk.progress("zjj_li", "S1", "已受理，正在审核材料", at(4))
    desk.progress("zjj_li", "S1", "材料齐全", at(5))
    desk.progress("rsj_feng", "S6", "已发布招聘信息 | 首批20人\n第二批待定", at(5, 15))
    desk.close("zjj_li", "S4", done("已完成增容审批"), at(6))
    desk.close("zjj_li", "S7", done(), at(6, 11))
    cannot = Outcome(kind=OutcomeKind.CANNOT, text="已解释政策", reason="投资额未达贴息标准")
    desk.close("hft_wang", "S3", cannot, at(7))
    desk.reopen("S7", "验收意见未书面反馈", "10d", at(7, 11))  # new limit 03-17 11:00
    desk.confirm("S4", Satisfaction.UNSATISFIED, at(8), comment="办理拖延")
    desk.visit(
        at(10, 9),
        ["hft_ma"],
        [
            spec(config, "稳岗返还申领", "rsj", within="5d"),  # S8
            spec(
                config,
                "银行融资对接",
                "hft_ma",
                person=None,
                category="融资贷款",
                within="20d",
                measures="=对接3家银行",
            ),
            spec(config, "办公楼加层审批", "zjj", within="20d", measures=None),  # S10
            spec(config, "门前三包责任落实", "cgj", within="10d"),  # S11
            spec(config, "党建工作指导", "hft_li", person=None, category="党的建设", within="10d"),  # S12
        ],
        deadlines,
    )
    desk.close("zjj_li", "S1", done("施工许可证已核发"), at(10))
    desk.confirm("S1", Satisfaction.SATISFIED, at(11), comment="办理及时")
    desk.close("hft_li", "S12", done(), at(11, 11))
    desk.close("rsj_feng", "S8", done(), at(12))
    desk.close("cgj_sun", "S11", done(), at(12, 11))
    partly = Outcome(
        kind=OutcomeKind.PARTLY, text="已完成东侧道路整治", reason="西侧涉及铁路用地", evidence=["整治前后照片"]
    )
    desk.close("cgj_sun", "S2", partly, at(12, 15))
    desk.confirm("S2", Satisfaction.BASICALLY_SATISFIED, at(13))
    desk.confirm("S11", Satisfaction.SATISFIED, at(13))
    desk.confirm("S12", Satisfaction.SATISFIED, at(13))
    desk.progress("zjj_li", "S7", "已书面反馈验收意见", at(13, 11))
    return record


@pytest.fixture
def energy(config: DistrictConfig, deadlines: TicketDeadlines) -> EnterpriseRecord:
    """One visit, one item, closed and confirmed: the visit is closed."""
    record = EnterpriseRecord.open(enterprise_for(config, ENERGY), deadlines, T0)
    record.begin_run("run-1", T0)
    desk = Desk(config, record, "xny_qian")
    desk.visit(at(5, 9), ["hft_wang"], [spec(config, "光伏项目备案", "zjj", person="赵股长", within="5d")], deadlines)
    desk.close("zjj_li", "S1", done("已完成备案"), at(7))
    desk.confirm("S1", Satisfaction.SATISFIED, at(8))
    return record


def column(table: Table, name: str) -> list[str]:
    index = table.columns.index(name)
    return [row[index] for row in table.rows]


def row_of(table: Table, item_no: str) -> list[str]:
    index = table.columns.index("编号")
    return next(row for row in table.rows if row[index] == item_no)


# ----- the lists -----


def test_the_service_list_has_every_item_in_order_with_its_state(mining: EnterpriseRecord) -> None:
    table = service_list(mining, NOW)
    assert table.title == f"{MINING_NAME} 服务清单"
    assert table.columns == ["编号", "走访", "事项", "类别", "责任单位", "责任人", "完成时限", "措施", "进展", "状态"]
    assert column(table, "编号") == [f"S{n}" for n in range(1, 13)]
    assert column(table, "走访") == ["V1（2025-03-03）"] * 7 + ["V2（2025-03-10）"] * 5
    assert row_of(table, "S1") == [
        "S1",
        "V1（2025-03-03）",
        "新建厂房施工许可办理",
        "生产经营",
        ZJJ,
        "王科长",
        "2025-03-13 09:00",
        "对接企业，限期办理",
        "2025-03-05 材料齐全",  # the latest note, with its date
        "已确认",
    ]
    assert column(table, "状态") == [
        "已确认",
        "已确认",
        "待企业确认",
        "已确认",  # closed late: the mark is for open items only
        "办理中（超期）",
        "办理中",
        "办理中",  # reopened, with a new limit not yet reached
        "待企业确认",
        "办理中",
        "办理中",
        "已确认",
        "已确认",
    ]
    assert column(table, "完成时限")[1] == "2025-03-31 23:59"  # a date limit is the end of that day
    assert column(table, "完成时限")[6] == "2025-03-17 11:00"  # the reopened item's new limit
    assert column(table, "责任单位")[2] == "王建业"  # a named official
    assert column(table, "责任人")[2] == "王建业"
    assert column(table, "进展")[4] == "—"
    assert column(table, "进展")[6] == "2025-03-13 已书面反馈验收意见"
    assert column(table, "措施")[9] == "—"


def test_the_overdue_mark_follows_now(mining: EnterpriseRecord) -> None:
    before = service_list(mining, at(6, 8))
    assert row_of(before, "S5")[-1] == "办理中"
    later = service_list(mining, datetime(2025, 3, 18, 9, 0, tzinfo=CHINA_TZ))
    overdue = [row[0] for row in later.rows if row[-1].endswith("（超期）")]
    assert overdue == ["S5", "S7"]


def test_the_results_list_has_the_closed_items_with_outcome_and_evaluation(mining: EnterpriseRecord) -> None:
    table = results_list(mining)
    assert table.title == f"{MINING_NAME} 成效清单"
    assert table.columns == [
        "编号",
        "事项",
        "责任单位",
        "责任人",
        "完成时限",
        "办理结果",
        "成效",
        "完成时间",
        "佐证材料",
        "企业评价",
    ]
    assert column(table, "编号") == ["S1", "S2", "S3", "S4", "S8", "S11", "S12"]  # not S7: reopened
    assert row_of(table, "S2") == [
        "S2",
        "厂区周边道路占道整治",
        CGJ,
        "刘队长",
        "2025-03-31 23:59",
        "部分办结；原因：西侧涉及铁路用地",
        "已完成东侧道路整治",
        "2025-03-12 15:00",
        "整治前后照片",
        "基本满意",
    ]
    assert row_of(table, "S1")[5:] == [
        "已办结",
        "施工许可证已核发",
        "2025-03-10 10:00",
        "现场照片、办结回执",
        "满意：办理及时",
    ]
    assert row_of(table, "S3")[5:] == [
        "无法办理；原因：投资额未达贴息标准",
        "已解释政策",
        "2025-03-07 10:00",
        "—",
        "待确认",
    ]
    assert row_of(table, "S4")[-1] == "不满意：办理拖延"
    assert row_of(table, "S8")[-1] == "待确认"


def test_the_lists_per_unit_gather_items_across_enterprises(mining: EnterpriseRecord, energy: EnterpriseRecord) -> None:
    by_unit = lists_by_unit([mining, energy], NOW)
    assert list(by_unit) == [ZJJ, CGJ, "王建业", RSJ, "马晓燕", "李红军"]
    service, results = by_unit[ZJJ]
    assert service.title == f"{ZJJ} 服务清单"
    assert results.title == f"{ZJJ} 成效清单"
    assert service.columns == ["企业", *SERVICE_COLUMNS]
    assert results.columns == ["企业", *RESULTS_COLUMNS]
    assert [(row[0], row[1]) for row in service.rows] == [
        (MINING_NAME, "S1"),
        (MINING_NAME, "S4"),
        (MINING_NAME, "S7"),
        (MINING_NAME, "S10"),
        (ENERGY_NAME, "S1"),
    ]
    assert service.rows[-1][1:] == service_list(energy, NOW).rows[0]
    assert [(row[0], row[1]) for row in results.rows] == [(MINING_NAME, "S1"), (MINING_NAME, "S4"), (ENERGY_NAME, "S1")]
    assert results.rows[0][1:] == results_list(mining).rows[0]
    assert [row[1] for row in by_unit[CGJ][0].rows] == ["S2", "S5", "S11"]
    assert [row[1] for row in by_unit[CGJ][1].rows] == ["S2", "S11"]
    assert [row[1] for row in by_unit[RSJ][1].rows] == ["S8"]
    assert by_unit["马晓燕"][1].rows == []  # a unit with nothing closed still has an (empty) results list
    assert lists_by_unit([], NOW) == {}


# ----- the summary -----


def test_the_summary_counts_items_states_and_rates(mining: EnterpriseRecord, energy: EnterpriseRecord) -> None:
    summary = summarize(mining, NOW)
    assert summary.model_dump() == {
        "items": 12,
        "closed": 7,
        "confirmed": 5,
        "open": 5,
        "overdue": 2,  # S4 closed late, S5 open past its limit
        "closed_on_time": 6,
        "satisfied": 4,  # S4's 不满意 is not
        "visits": 2,
        "visits_closed": 0,
        "on_time_rate": pytest.approx(6 / 7),
        "satisfaction_rate": pytest.approx(4 / 5),
    }
    assert summarize(mining, at(6, 8)).overdue == 1  # S5 not yet due: only the late close
    assert summarize(mining, datetime(2025, 3, 18, 9, 0, tzinfo=CHINA_TZ)).overdue == 3  # S7's new limit passed
    one = summarize(energy, NOW)
    assert (one.items, one.closed, one.confirmed, one.visits, one.visits_closed) == (1, 1, 1, 1, 1)
    both = summarize([mining, energy], NOW)
    assert both == summary + one
    assert (both.items, both.closed, both.on_time_rate, both.satisfaction_rate) == (13, 8, 7 / 8, 5 / 6)
    empty = summarize([], NOW)
    assert (empty.items, empty.on_time_rate, empty.satisfaction_rate) == (0, None, None)


def test_the_summary_table_has_a_row_per_enterprise_and_the_total(
    mining: EnterpriseRecord, energy: EnterpriseRecord
) -> None:
    table = summary_table({MINING_NAME: summarize(mining, NOW), ENERGY_NAME: summarize(energy, NOW)})
    assert table.columns == SUMMARY_COLUMNS
    assert table.columns == ["企业", "走访次数", "事项", "已办结", "已确认", "办理中", "超期", "按时办结率", "满意率"]
    assert table.rows == [
        [MINING_NAME, "2", "12", "7", "5", "5", "2", "85.71%", "80.00%"],  # 6/7, 4/5
        [ENERGY_NAME, "1", "1", "1", "1", "0", "0", "100.00%", "100.00%"],
        ["合计", "3", "13", "8", "6", "5", "2", "87.50%", "83.33%"],  # 7/8, 5/6
    ]
    assert summary_table({}).rows == [["合计", "0", "0", "0", "0", "0", "0", "—", "—"]]
    details = summary_details(summarize(energy, NOW))
    assert details.columns == ["指标", "数值"]
    assert dict((k, v) for k, v in details.rows) == {
        "走访次数": "1",
        "已办结走访": "1",
        "事项": "1",
        "已办结": "1",
        "已确认": "1",
        "办理中": "0",
        "超期": "0",
        "按时办结率": "100.00%",
        "满意率": "100.00%",
    }
    assert (percent(0.875), percent(None), percent(0)) == ("87.50%", "—", "0.00%")
    assert percent(0.99954) == "99.95%"  # two decimals, as the district publishes its rates


def test_a_table_keeps_one_cell_per_column() -> None:
    with pytest.raises(ValidationError, match=r"rows\.1"):
        Table(title="t", columns=["a", "b"], rows=[["1", "2"], ["3"]])
    table = Table(title="t", columns=["a"], rows=[])
    with pytest.raises(ValidationError, match="frozen"):
        table.title = "u"  # type: ignore[misc]  # frozen: the test expects the refusal
    with pytest.raises(ValidationError, match="frozen"):
        Summary().items = 1  # type: ignore[misc]  # frozen: the test expects the refusal


# ----- the files -----


def test_the_lists_are_written_as_workbooks(mining: EnterpriseRecord, energy: EnterpriseRecord, tmp_path: Path) -> None:
    out = tmp_path / "out" / "lists"
    paths = write_lists([mining, energy], out, "xlsx", NOW)
    units = [ZJJ, CGJ, "王建业", RSJ, "马晓燕", "李红军"]
    assert paths == [
        out / f"{MINING}-{MINING_NAME}.xlsx",
        out / f"{ENERGY}-{ENERGY_NAME}.xlsx",
        *(out / "by-unit" / f"{unit}.xlsx" for unit in units),
        out / "汇总.xlsx",
    ]
    assert all(p.is_file() for p in paths)

    book = load_workbook(paths[0])
    assert book.sheetnames == ["服务清单", "成效清单", "汇总"]
    sheet = book["服务清单"]
    rows = [[c.value for c in r] for r in sheet.iter_rows()]
    assert rows[0] == SERVICE_COLUMNS
    assert all(c.font.bold for c in sheet[1])
    assert not sheet["A2"].font.bold
    assert sheet.freeze_panes == "A2"
    assert rows[1:] == service_list(mining, NOW).rows
    assert rows[5][-1] == "办理中（超期）"
    assert sheet.column_dimensions["C"].width > sheet.column_dimensions["A"].width  # 事项 is wider than 编号
    measures = sheet.cell(row=10, column=SERVICE_COLUMNS.index("措施") + 1)  # S9's "=…" stays text
    assert (measures.value, measures.data_type) == ("=对接3家银行", "s")
    results = [[c.value for c in r] for r in book["成效清单"].iter_rows()]
    assert results[0] == RESULTS_COLUMNS
    assert [r[0] for r in results[1:]] == ["S1", "S2", "S3", "S4", "S8", "S11", "S12"]
    assert results[2][5] == "部分办结；原因：西侧涉及铁路用地"
    details = {r[0].value: r[1].value for r in book["汇总"].iter_rows(min_row=2)}
    # Numbers as numbers: counts as integers, rates as fractions shown with two decimals.
    assert (details["事项"], details["超期"], details["按时办结率"], details["满意率"]) == (12, 2, 0.8571, 0.8)
    formats = {r[0].value: r[1].number_format for r in book["汇总"].iter_rows(min_row=2)}
    assert (formats["事项"], formats["按时办结率"]) == ("0", "0.00%")

    unit_book = load_workbook(out / "by-unit" / f"{ZJJ}.xlsx")
    assert unit_book.sheetnames == ["服务清单", "成效清单"]
    unit_rows = [list(r) for r in unit_book["服务清单"].iter_rows(values_only=True)]
    assert unit_rows[0] == ["企业", *SERVICE_COLUMNS]
    assert [(r[0], r[1]) for r in unit_rows[1:]] == [(MINING_NAME, n) for n in ("S1", "S4", "S7", "S10")] + [
        (ENERGY_NAME, "S1")
    ]
    empty = load_workbook(out / "by-unit" / "马晓燕.xlsx")["成效清单"]
    assert [[c.value for c in r] for r in empty.iter_rows()] == [["企业", *RESULTS_COLUMNS]]

    overall = load_workbook(out / "汇总.xlsx")
    assert overall.sheetnames == ["汇总"]
    summary_rows = [[c.value for c in r] for r in overall["汇总"].iter_rows()]
    assert summary_rows[0] == SUMMARY_COLUMNS
    assert summary_rows[-1] == ["合计", 3, 13, 8, 6, 5, 2, 0.875, 0.8333]
    assert [r[0] for r in summary_rows[1:]] == [MINING_NAME, ENERGY_NAME, "合计"]


def md_row(*cells: str) -> str:
    return "| " + " | ".join(cells) + " |"


def unescaped_pipes(line: str) -> int:
    return len(re.findall(r"(?<!\\)\|", line))


def test_the_lists_are_written_as_markdown(mining: EnterpriseRecord, energy: EnterpriseRecord, tmp_path: Path) -> None:
    paths = write_lists([mining, energy], tmp_path, "md", NOW)
    assert [p.name for p in paths] == [
        f"{MINING}-{MINING_NAME}.md",
        f"{ENERGY}-{ENERGY_NAME}.md",
        *(f"{unit}.md" for unit in [ZJJ, CGJ, "王建业", RSJ, "马晓燕", "李红军"]),
        "汇总.md",
    ]
    text = paths[0].read_text(encoding="utf-8")
    lines = text.splitlines()
    assert lines[0] == f"# {MINING_NAME} 服务清单与成效清单"
    assert f"- 统一社会信用代码：{MINING}" in lines
    assert "- 统计时间：2025-03-14 12:00" in lines
    headings = [line for line in lines if line.startswith("## ")]
    assert headings == ["## 服务清单", "## 成效清单", "## 汇总"]
    assert md_row(*SERVICE_COLUMNS) in lines
    assert "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |" in lines
    s5 = ["S5", "V1（2025-03-03）", "渣土车通行证办理", "生产经营", CGJ, "王科长", "2025-03-06 09:00"]
    assert md_row(*s5, "对接企业，限期办理", "—", "办理中（超期）") in lines
    s6 = next(line for line in lines if line.startswith("| S6 |"))
    assert "2025-03-05 已发布招聘信息 \\| 首批20人<br>第二批待定" in s6  # escaped: the row stays one line
    table_lines = [line for line in lines if line.startswith("|")]
    service_lines = table_lines[: 2 + 12]
    assert [line.split(" | ")[0] for line in service_lines[2:]] == [f"| S{n}" for n in range(1, 13)]
    assert {unescaped_pipes(line) for line in service_lines} == {len(SERVICE_COLUMNS) + 1}
    assert md_row(*RESULTS_COLUMNS) in lines
    s3 = ["S3", "技改贴息政策申报辅导", "王建业", "王建业", "2025-03-08 09:00", "无法办理；原因：投资额未达贴息标准"]
    assert md_row(*s3, "已解释政策", "2025-03-07 10:00", "—", "待确认") in lines
    assert "| 按时办结率 | 85.71% |" in lines
    assert text.index("## 服务清单") < text.index("## 成效清单") < text.index("## 汇总")

    unit_text = (tmp_path / "by-unit" / "马晓燕.md").read_text(encoding="utf-8")
    assert unit_text.splitlines()[0] == "# 马晓燕 服务清单与成效清单"
    assert "| 企业 | 编号 | 走访 |" in unit_text
    assert f"| {MINING_NAME} | S9 | V2（2025-03-10） | 银行融资对接 |" in unit_text
    assert unit_text.split("## 成效清单")[1].strip() == "（暂无）"

    overall = (tmp_path / "汇总.md").read_text(encoding="utf-8").splitlines()
    assert overall[0] == "# 服务清单与成效清单汇总"
    assert "| 企业 | 走访次数 | 事项 | 已办结 | 已确认 | 办理中 | 超期 | 按时办结率 | 满意率 |" in overall
    assert "| 合计 | 3 | 13 | 8 | 6 | 5 | 2 | 87.50% | 83.33% |" in overall


def test_file_names_and_cells_are_made_safe(tmp_path: Path) -> None:
    assert safe_name("城管/执法:一队") == "城管_执法_一队"
    assert safe_name("..") == "_"
    table = Table(title="t", columns=["a|b", "c"], rows=[["x\r\ny", "p|q"]])
    assert markdown_table(table).splitlines() == ["| a\\|b | c |", "| --- | --- |", "| x<br>y | p\\|q |"]
    with pytest.raises(ValueError, match="fmt"):
        write_lists([], tmp_path, "csv", NOW)  # type: ignore[arg-type]  # a format it refuses, on purpose
    assert write_lists([], tmp_path / "none", "md", NOW) == [tmp_path / "none" / "汇总.md"]
