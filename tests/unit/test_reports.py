"""The three reports as tables: 日报预警, 周报督办 and 月报分析 (on the hand-made tickets of
tests/unit/test_metrics.py, with whistles evaluated through the domain API), every cell checked."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from activities.runtime.calendar_source import calendar_for
from activities.runtime.settings import actor_for
from domain.calendar import CHINA_TZ, Span, Unit
from domain.campaign import CampaignInput, CampaignKind, CampaignRecord, Snapshot, TicketFilter
from domain.config import DistrictConfig
from domain.enterprise_lists import Summary
from domain.facts import TicketFacts
from domain.metrics import MetricsPolicy, Period, Rate
from domain.models import Satisfaction, TicketStatus
from domain.reports import (
    ChartSpec,
    Report,
    ReportKind,
    change_count,
    change_points,
    cumulative,
    daily_warning,
    days_overdue,
    headline,
    monthly_analysis,
    span_text,
    weekly_supervision,
    with_backlog_pushes,
)
from domain.tables import Table
from domain.whistle import WhistleRecord, plan_whistle, whistle_evaluations
from tests.support.metrics_samples import EVALUATIONS, NOVEMBER, POLICY, at, sample_facts

S, B, U = Satisfaction.SATISFIED, Satisfaction.BASICALLY_SATISFIED, Satisfaction.UNSATISFIED
NAMES = {
    "zjj": "区住房和城乡建设局",
    "cgj": "区城市管理综合执法局",
    "gdgs": "海勃湾供电分公司",
    "rsj": "区人力资源和社会保障局",
}
ZJJ, CGJ, GDGS, RSJ = (NAMES[c] for c in ("zjj", "cgj", "gdgs", "rsj"))
NOW = datetime(2026, 11, 30, 10, 0, tzinfo=CHINA_TZ)  # a Monday, ISO week 49


def fact(no: str, department: str | None, status: str = TicketStatus.SIGNED, **fields: Any) -> TicketFacts:
    fields.setdefault("received_at", at(11, 20))
    return TicketFacts(workflow_id=f"ticket-{no}", status=status, department=department, **fields)


def rows(report: Report, title: str) -> list[list[str]]:
    return report.table(title).rows


# ----- display -----


def test_display_of_changes_and_spans() -> None:
    assert change_points(0.9, 0.875) == "+2.50 个百分点"
    assert change_points(0.875, 1.0) == "-12.50 个百分点"
    assert change_points(6 / 7, 1.0) == "-14.29 个百分点"
    assert change_points(0.5, 0.5) == "0.00 个百分点"
    assert change_points(None, 0.5) == "—" and change_points(0.5, None) == "—"
    assert (change_count(13, 5), change_count(2, 4), change_count(3, 3)) == ("+8", "-2", "0")
    assert span_text(at(11, 30, 20) - NOW) == "10小时"
    assert span_text(at(12, 1, 10) - NOW) == "1天"
    assert span_text(at(11, 30, 15, 25) - NOW) == "5小时25分"
    assert span_text(at(12, 2, 12, 5) - NOW) == "2天2小时5分"
    assert span_text(NOW - NOW) == "0分"


# ----- 日报预警 -----


def daily_facts() -> tuple[list[TicketFacts], list[TicketFacts]]:
    open_facts = [
        fact("D1", "cgj", category="城乡建设", street="千里山镇", resolve_due=at(11, 30, 20)),  # in 10 h
        fact("D2", "cgj", TicketStatus.CONTACTED, category="噪音污染", street="滨河街道", resolve_due=at(12, 1, 10)),
        fact("D3", "zjj", category="物业服务", street="滨河街道", resolve_due=at(12, 1, 10, 1)),  # 24 h 1 min: not yet
        fact(
            "D4",
            "zjj",
            TicketStatus.CONTACTED,
            category="噪音污染",
            street="千里山镇",
            resolve_due=at(11, 30, 8),  # fell due 2 hours ago
            overdue=True,
            escalation="催办",
        ),
        fact(
            "D5",
            "gdgs",
            category="供水供电",
            street="千里山镇",
            resolve_due=at(11, 27, 9),  # overdue for days: not new, not escalated today
            overdue=True,
            escalation="督办",
        ),
        fact(
            "D6",
            "gdgs",
            TicketStatus.AWAITING_SIGN_FOR,
            category="供水供电",
            street="滨河街道",
            resolve_due=at(11, 30, 15, 25),
        ),
        fact("D7", "cgj", TicketStatus.CLOSED, category="噪音污染", resolve_due=at(11, 30, 12)),  # not open: ignored
    ]
    escalations_today = [
        # fell due 22 hours ago, escalated (催办) and answered since
        fact(
            "E1",
            "zjj",
            TicketStatus.CLOSED,
            category="物业服务",
            street="滨河街道",
            resolve_due=at(11, 29, 12),
            escalation="催办",
        ),
        open_facts[3],  # D4 found again: listed once
    ]
    return open_facts, escalations_today


def test_daily_warning() -> None:
    open_facts, escalations_today = daily_facts()
    report = daily_warning(open_facts, NOW, escalations_today, names=NAMES)
    assert (report.kind, report.period, report.generated_at) == (ReportKind.DAILY, "2026-11-30", NOW)
    assert report.title == "12345热线日报预警（2026-11-30）"
    assert [t.title for t in report.tables] == [
        "预警汇总",
        f"24小时内到期：{CGJ}",
        f"24小时内到期：{GDGS}",
        "新增超期工单",
        "今日升级督办",
    ]
    summary = report.table("预警汇总")
    assert summary.columns == ["承办单位", "24小时内到期", "新增超期", "今日升级"]
    # departments by name: 区住 (U+4F4F) before 区城 (U+57CE) before 海
    assert summary.rows == [
        [ZJJ, "0", "1", "2"],  # D4 newly overdue; D4 and E1 escalated
        [CGJ, "2", "0", "0"],  # D1, D2 (exactly 24 h: in); D7 closed
        [GDGS, "1", "0", "0"],  # D6; D5 overdue for days
        ["合计", "3", "1", "2"],
    ]
    due = report.table(f"24小时内到期：{CGJ}")
    assert due.columns == ["工单号", "类别", "镇街", "办结时限", "剩余"]
    assert due.rows == [
        ["D1", "城乡建设", "千里山镇", "2026-11-30 20:00", "10小时"],
        ["D2", "噪音污染", "滨河街道", "2026-12-01 10:00", "1天"],
    ]
    assert rows(report, f"24小时内到期：{GDGS}") == [["D6", "供水供电", "滨河街道", "2026-11-30 15:25", "5小时25分"]]
    overdue = report.table("新增超期工单")
    assert overdue.columns == ["工单号", "承办单位", "类别", "镇街", "办结时限", "已超期"]
    assert overdue.rows == [["D4", ZJJ, "噪音污染", "千里山镇", "2026-11-30 08:00", "2小时"]]
    escalated = report.table("今日升级督办")
    assert escalated.columns == ["工单号", "承办单位", "类别", "镇街", "办结时限", "督办级别"]
    assert escalated.rows == [
        ["E1", ZJJ, "物业服务", "滨河街道", "2026-11-29 12:00", "催办"],
        ["D4", ZJJ, "噪音污染", "千里山镇", "2026-11-30 08:00", "催办"],
    ]
    # one chart: tickets due within 24 hours per department, without the 合计 line, the day in its title
    assert report.charts == [
        ChartSpec(
            title="各单位24小时内到期工单（2026-11-30）",
            table="预警汇总",
            label_column="承办单位",
            value_column="24小时内到期",
            omit=["合计"],
        )
    ]


def test_daily_warning_on_a_quiet_day_and_without_names() -> None:
    report = daily_warning([fact("Q1", "zjj", resolve_due=at(12, 5))], NOW)
    assert [t.title for t in report.tables] == ["预警汇总", "新增超期工单", "今日升级督办"]
    assert rows(report, "预警汇总") == [["合计", "0", "0", "0"]]
    assert rows(report, "新增超期工单") == [] and rows(report, "今日升级督办") == []

    # codes stand for names when none are given; only the open tickets count
    open_facts, _ = daily_facts()
    assert rows(daily_warning(open_facts, NOW), "预警汇总")[0] == ["cgj", "2", "0", "0"]


# ----- 周报督办 -----


def weekly_facts() -> list[TicketFacts]:
    return [
        # zjj: W1 due 10 days ago to the hour; W2 19 hours ago (a started day: 1); W3 not overdue
        fact(
            "W1",
            "zjj",
            category="噪音污染",
            street="千里山镇",
            resolve_due=at(11, 20, 10),
            overdue=True,
            escalation="督办",
        ),
        fact(
            "W2",
            "zjj",
            category="城乡建设",
            street="滨河街道",
            resolve_due=at(11, 29, 15),
            overdue=True,
            escalation="催办",
        ),
        fact("W3", "zjj", category="物业服务", street="滨河街道", resolve_due=at(12, 5)),
        # cgj: W4 20 days 1 hour (21); W8 exactly 5 days, at a step of a district's own ladder;
        # W5 late to sign for, its resolution not yet due
        fact(
            "W4",
            "cgj",
            category="城乡建设",
            street="千里山镇",
            resolve_due=at(11, 10, 9),
            overdue=True,
            escalation="通报",
        ),
        fact(
            "W5",
            "cgj",
            TicketStatus.AWAITING_SIGN_FOR,
            category="噪音污染",
            street="滨河街道",
            resolve_due=at(12, 3),
            overdue=True,
            escalation="催办",
        ),
        fact(
            "W8",
            "cgj",
            category="噪音污染",
            street="千里山镇",
            resolve_due=at(11, 25, 10),
            overdue=True,
            escalation="约谈",
        ),
        # gdgs: open, in time
        fact("W6", "gdgs", category="供水供电", street="千里山镇", resolve_due=at(12, 7)),
        # closed: not counted
        fact("W7", "gdgs", TicketStatus.CLOSED, resolve_due=at(11, 1), overdue=True, escalation="领导督办"),
    ]


def test_days_overdue() -> None:
    w1, w2, _, w4, w5, w8, *_ = weekly_facts()
    assert [days_overdue(f, NOW) for f in (w1, w2, w4, w5, w8)] == [10, 1, 21, None, 5]


def test_weekly_supervision() -> None:
    report = weekly_supervision(weekly_facts(), NOW)
    assert (report.kind, report.period) == (ReportKind.WEEKLY, "2026年第49周")
    assert report.title == "12345热线周报督办（2026年第49周）"
    assert [t.title for t in report.tables] == ["各单位超期统计", "超期工单：cgj", "超期工单：zjj"]
    summary = report.table("各单位超期统计")
    # the default ladder, then the other steps found (约谈)
    assert summary.columns == [
        "承办单位",
        "在办",
        "其中挂账",
        "超期",
        "最长超期天数",
        "催办",
        "督办",
        "通报",
        "领导督办",
        "约谈",
    ]
    assert summary.rows == [
        ["cgj", "3", "0", "3", "21", "1", "0", "1", "0", "1"],  # most overdue first
        ["zjj", "3", "0", "2", "10", "1", "1", "0", "0", "0"],
        ["gdgs", "1", "0", "0", "—", "0", "0", "0", "0", "0"],
        ["合计", "7", "0", "5", "21", "2", "1", "1", "0", "1"],  # W7 closed: not counted
    ]
    cgj = report.table("超期工单：cgj")
    assert cgj.columns == ["工单号", "类别", "镇街", "办结时限", "超期天数", "督办级别"]
    assert cgj.rows == [
        ["W4", "城乡建设", "千里山镇", "2026-11-10 09:00", "21", "通报"],
        ["W8", "噪音污染", "千里山镇", "2026-11-25 10:00", "5", "约谈"],
        ["W5", "噪音污染", "滨河街道", "2026-12-03 10:00", "—", "催办"],  # only its sign-for clock is late
    ]
    assert rows(report, "超期工单：zjj") == [
        ["W1", "噪音污染", "千里山镇", "2026-11-20 10:00", "10", "督办"],
        ["W2", "城乡建设", "滨河街道", "2026-11-29 15:00", "1", "催办"],
    ]


def test_weekly_supervision_with_names_and_nothing_overdue() -> None:
    report = weekly_supervision([fact("W3", "zjj", resolve_due=at(12, 5))], NOW, names=NAMES)
    assert [t.title for t in report.tables] == ["各单位超期统计"]
    assert report.table("各单位超期统计").rows == [
        [ZJJ, "1", "0", "0", "—", "0", "0", "0", "0"],
        ["合计", "1", "0", "0", "—", "0", "0", "0", "0"],
    ]


# ----- 月报分析 -----


def whistle(
    config: DistrictConfig,
    no: str,
    street_person: str,
    blown: datetime,
    evaluations: dict[str, Satisfaction],
) -> WhistleRecord:
    """A work-advance whistle naming the departments of `evaluations`, each reporting in and answering
    an hour apart, then evaluated by the street the next day."""
    clerks = {"zjj": "zjj_li", "cgj": "cgj_sun", "gdgs": "gdgs_wu", "rsj": "rsj_feng"}
    street = actor_for(config, street_person)
    plan = plan_whistle(
        config,
        calendar_for(config.calendar, blown),
        whistle_no=no,
        raised_by=street,
        kind="推进",
        title="老旧小区管网改造推进受阻",
        content="需多部门现场协调。",
        departments=list(evaluations),
    )
    record = WhistleRecord.blow(plan, blown)
    for department in evaluations:
        clerk = actor_for(config, clerks[department])
        record.report_in(clerk, "已到现场", blown.replace(hour=blown.hour + 1))
        record.give_answer(clerk, "已协调完毕", blown.replace(hour=blown.hour + 2))
    for department, satisfaction in evaluations.items():
        record.evaluate(street, department, satisfaction, "", blown.replace(day=blown.day + 1))
    return record


@pytest.fixture(scope="module")
def whistles(config: DistrictConfig) -> list[WhistleRecord]:
    return [
        whistle(config, "W-A", "bhjd_street", at(11, 3, 9), {"zjj": U, "cgj": S, "rsj": S}),
        whistle(config, "W-B", "qlsz_street", at(11, 10, 9), {"zjj": B, "gdgs": B}),
        whistle(config, "W-C", "qlsz_street", at(11, 15, 9), {"gdgs": B}),
        whistle(config, "W-D", "bhjd_street", at(10, 10, 9), {"zjj": U}),  # October's: not in November
    ]


def test_whistle_evaluations_of_the_period(whistles: list[WhistleRecord]) -> None:
    assert whistle_evaluations(whistles, NOVEMBER) == EVALUATIONS  # the inputs of test_metrics's assessment
    assert whistle_evaluations(whistles, NOVEMBER.previous()) == {"zjj": [U]}


ENTERPRISES = Summary(
    items=6, closed=4, confirmed=3, open=2, overdue=1, closed_on_time=3, satisfied=2, visits=2, visits_closed=1
)


@pytest.fixture(scope="module")
def monthly(whistles: list[WhistleRecord]) -> Report:
    return monthly_analysis(sample_facts(), NOVEMBER, POLICY, whistles, ENTERPRISES, names=NAMES)


def test_monthly_report_frame(monthly: Report) -> None:
    assert (monthly.kind, monthly.period) == (ReportKind.MONTHLY, "2026年11月")
    assert monthly.title == "12345热线月报分析（2026年11月）"
    assert monthly.generated_at == NOVEMBER.end
    assert [t.title for t in monthly.tables] == [
        "总体情况",
        "各单位办理情况",
        "各镇街办理情况",
        "各类别办理情况",
        "环比变化",
        "受理量前5类别",
        "部门考核得分",
        "红榜",
        "黑榜",
        "吹哨部门评价",
        "红色服务团企业事项",
    ]
    targets = POLICY.targets
    assert monthly.charts == [
        ChartSpec(
            title=f"各单位{rate.value}（2026年11月）",
            table="各单位办理情况",
            label_column="单位",
            value_column=rate.value,
            target=targets[rate],
        )
        for rate in (Rate.RESPONSE, Rate.RESOLUTION, Rate.SATISFACTION)
    ] + [
        ChartSpec(title="受理量前5类别（2026年11月）", table="受理量前5类别", label_column="类别", value_column="受理")
    ]
    assert monthly.partial_until is None  # the month is over


def test_a_month_not_over_is_partial_and_never_dated_in_the_future() -> None:
    now = NOVEMBER.start + timedelta(days=12, hours=9)
    report = monthly_analysis(sample_facts(), NOVEMBER, POLICY, [], None, now=now)
    assert report.generated_at == now and report.partial_until == now
    with_targets = MetricsPolicy(targets={Rate.RESOLUTION: 85})
    charts = monthly_analysis(sample_facts(), NOVEMBER, with_targets, [], None).charts
    assert [c.target for c in charts] == [None, 85, None, None]


def test_monthly_overview(monthly: Report) -> None:
    overview = monthly.table("总体情况")
    assert overview.columns == ["指标", "数值", "计算"]
    assert overview.numeric == ["数值"]
    # the figures of test_metrics.test_november_counts and test_november_rates, rates with two decimals
    assert overview.rows == [
        ["受理量", "13", "—"],
        ["办结量", "10", "—"],
        ["在办量", "4", "—"],
        ["其中挂账", "0", "—"],
        ["直接答复", "1", "—"],
        ["上转市级", "1", "—"],
        ["并单", "1", "—"],
        ["参评工单", "9", "—"],
        ["其中核查结案", "0", "—"],
        ["免考核", "0", "—"],
        ["计时轮次", "11", "—"],
        ["签收及时率", "100.00%", "8/8"],
        ["响应率", "85.71%", "6/7"],  # 0.857142…
        ["按时办结率", "75.00%", "6/8"],
        ["解决率", "87.50%", "7/8"],
        ["满意率", "87.50%", "7/8"],
        ["重办率", "11.11%", "1/9"],
        ["退单率", "11.11%", "1/9"],
        ["延期率", "22.22%", "2/9"],
    ]


RATE_HEADINGS = [
    "受理",
    "办结",
    "在办",
    "其中挂账",
    "免考核",
    "签收及时率",
    "响应率",
    "按时办结率",
    "解决率",
    "满意率",
    "重办率",
    "退单率",
    "延期率",
]


def test_monthly_rates_per_department_street_and_category(monthly: Report) -> None:
    departments = monthly.table("各单位办理情况")
    assert departments.columns == ["单位", *RATE_HEADINGS]
    assert departments.numeric == RATE_HEADINGS
    # zjj: received 4, closed 4, open 1 (T17); the clocks of its rounds received in November (T01 T02
    # T04): signed 3/3, contacted 3/3, on time 2/3 (T02); of its closed tickets (T01–T04): resolved 3/4,
    # satisfied 3/4, redo 1/4, return 0/4, ext 1/4
    zjj = [
        ZJJ,
        "4",
        "4",
        "1",
        "0",
        "0",
        "100.00%",
        "100.00%",
        "66.67%",
        "75.00%",
        "75.00%",
        "25.00%",
        "0.00%",
        "25.00%",
    ]
    # cgj: clocks T05 T06 T07 (T13 none yet): 3/3, 2/3, 3/3; closed T05 T06 T18: 3/3, 3/3, 0/3, 1/3, 0/3
    cgj = [
        CGJ,
        "4",
        "3",
        "2",
        "0",
        "0",
        "100.00%",
        "66.67%",
        "100.00%",
        "100.00%",
        "100.00%",
        "0.00%",
        "33.33%",
        "0.00%",
    ]
    # gdgs: clocks T08 T09: 2/2, 1/1 (T08 unknown), 1/2; closed T08 T09: 1/1, 1/1, 0/2, 0/2, 1/2
    gdgs = [
        GDGS,
        "3",
        "2",
        "1",
        "0",
        "0",
        "100.00%",
        "100.00%",
        "50.00%",
        "100.00%",
        "100.00%",
        "0.00%",
        "0.00%",
        "50.00%",
    ]
    # T10 (direct answer) and T12 (merged): nothing to rate
    assert departments.rows == [zjj, cgj, gdgs, ["（未派遣）", "2", "1", "0", "0", "0", *["—"] * 8]]
    streets = monthly.table("各镇街办理情况")
    assert streets.columns == ["镇街", *RATE_HEADINGS]
    assert streets.rows == [
        # clocks of T01 T02 T05 T08 T09 (T11 T13 none): signed 5/5; contacted 3/4 (T05 late, T08 unknown);
        # on time 3/5 (T02 T09 late); closed T01 T02 T05 T08 T09: resolved 4/4; satisfied 4/4; redo 0/5;
        # return 1/5 (T05); extension 2/5 (T02 T09); open T13 T17
        [
            "千里山镇",
            "8",
            "5",
            "2",
            "0",
            "0",
            *("100.00%", "75.00%", "60.00%", "100.00%", "100.00%"),
            "0.00%",
            "20.00%",
            "40.00%",
        ],
        # clocks of T04 T06 T07: 3/3 each; closed T03 T04 T06 T18: resolved 3/4, satisfied 3/4, redo 1/4
        [
            "滨河街道",
            "5",
            "5",
            "2",
            "0",
            "0",
            *("100.00%", "100.00%", "100.00%", "75.00%", "75.00%"),
            "25.00%",
            "0.00%",
            "0.00%",
        ],
    ]
    categories = monthly.table("各类别办理情况")
    assert categories.columns == ["类别", *RATE_HEADINGS]
    assert [row[0] for row in categories.rows] == ["供水供电", "噪音污染", "城乡建设", "物业服务", "环境保护"]
    # 噪音污染: received T01 T06 T07 T12, their clocks 3/3 each; open T07 T17; closed and rated T01 T03
    # T06 T18: resolved 3/4, satisfied 3/4 (T03 不满意), redo 1/4 (T03)
    assert categories.rows[1] == [
        *("噪音污染", "4", "4", "2", "0", "0"),
        *("100.00%", "100.00%", "100.00%", "75.00%", "75.00%", "25.00%", "0.00%", "0.00%"),
    ]


def test_monthly_change_against_last_month(monthly: Report) -> None:
    change = monthly.table("环比变化")
    assert change.columns == ["指标", "本月", "上月", "变化"]
    # October (test_metrics.test_october_and_empty_denominators): 5 received, 2 closed, 3 open;
    # signed 3/4, contacted 4/4, on time 3/4, resolved 1/2, satisfied 1/2, redo 1/2, return 0/2, ext 0/2
    assert change.rows == [
        ["受理量", "13", "5", "+8"],
        ["办结量", "10", "2", "+8"],
        ["在办量", "4", "3", "+1"],
        ["签收及时率", "100.00%", "75.00%", "+25.00 个百分点"],
        ["响应率", "85.71%", "100.00%", "-14.29 个百分点"],  # 6/7 − 1 = −0.142857
        ["按时办结率", "75.00%", "75.00%", "0.00 个百分点"],
        ["解决率", "87.50%", "50.00%", "+37.50 个百分点"],
        ["满意率", "87.50%", "50.00%", "+37.50 个百分点"],
        ["重办率", "11.11%", "50.00%", "-38.89 个百分点"],  # 1/9 − 0.5 = −0.38889
        ["退单率", "11.11%", "0.00%", "+11.11 个百分点"],
        ["延期率", "22.22%", "0.00%", "+22.22 个百分点"],
    ]


def test_monthly_top_categories(monthly: Report) -> None:
    top = monthly.table("受理量前5类别")
    assert top.columns == ["排名", "类别", "受理", "占比"]
    assert top.rows == [
        ["1", "噪音污染", "4", "30.77%"],  # 4 / 13
        ["2", "供水供电", "3", "23.08%"],  # ties by name: 供 (U+4F9B) before 城 (U+57CE)
        ["3", "城乡建设", "3", "23.08%"],
        ["4", "物业服务", "2", "15.38%"],
        ["5", "环境保护", "1", "7.69%"],
    ]


def test_monthly_assessment_lists_and_whistles(monthly: Report) -> None:
    scores = monthly.table("部门考核得分")
    assert scores.columns == [
        "排名",
        "单位",
        "办结",
        "响应率",
        "解决率",
        "满意率",
        "响应得分",
        "解决得分",
        "满意得分",
        "吹哨扣分",
        "总分",
    ]
    # the scores of test_metrics.test_assessment_weights_and_whistle_deductions
    assert scores.rows == [
        ["1", GDGS, "2", "100.00%", "100.00%", "100.00%", "30.00", "35.00", "35.00", "1.00", "99.00"],
        ["2", CGJ, "3", "66.67%", "100.00%", "100.00%", "20.00", "35.00", "35.00", "0.00", "90.00"],
        ["3", ZJJ, "4", "100.00%", "75.00%", "75.00%", "30.00", "26.25", "26.25", "2.50", "80.00"],
        ["—", RSJ, "0", "—", "—", "—", "—", "—", "—", "0.00", "样本不足"],
    ]
    # by the default rules (5 closed at least) nobody is listed
    assert monthly.table("红榜").columns == ["名次", "单位", "总分", "办结", "满意率"]
    assert rows(monthly, "红榜") == [] and rows(monthly, "黑榜") == []

    evaluations = monthly.table("吹哨部门评价")
    assert evaluations.columns == ["单位", "评价次数", "满意", "基本满意", "不满意", "扣分"]
    assert evaluations.rows == [
        [RSJ, "1", "1", "0", "0", "0.00"],
        [ZJJ, "2", "0", "1", "1", "2.50"],  # 2.0 + 0.5; October's 不满意 not counted
        [CGJ, "1", "1", "0", "0", "0.00"],
        [GDGS, "2", "0", "2", "0", "1.00"],  # 2 × 0.5
    ]
    assert rows(monthly, "红色服务团企业事项") == [
        ["走访次数", "2"],
        ["已办结走访", "1"],
        ["事项", "6"],
        ["已办结", "4"],
        ["已确认", "3"],
        ["办理中", "2"],
        ["超期", "1"],
        ["按时办结率", "75.00%"],  # 3 / 4
        ["满意率", "66.67%"],  # 2 / 3
    ]


def test_monthly_red_and_black_lists(whistles: list[WhistleRecord]) -> None:
    policy = MetricsPolicy(
        red_list={"min_closed": 2, "min_score": 90},
        black_list={"min_closed": 2, "max_score": 85},
        top_categories=2,
    )
    report = monthly_analysis(sample_facts(), NOVEMBER, policy, whistles, None, names=NAMES, now=NOW)
    assert rows(report, "红榜") == [["1", GDGS, "99.00", "2", "100.00%"], ["2", CGJ, "90.00", "3", "100.00%"]]
    assert rows(report, "黑榜") == [["1", ZJJ, "80.00", "4", "75.00%"]]
    assert report.generated_at == NOW
    assert "红色服务团企业事项" not in [t.title for t in report.tables]  # no summary given
    assert rows(report, "受理量前2类别") == [["1", "噪音污染", "4", "30.77%"], ["2", "供水供电", "3", "23.08%"]]
    assert report.charts[-1].table == "受理量前2类别"


def test_monthly_report_of_a_quiet_month() -> None:
    report = monthly_analysis([], Period.month(2026, 9), POLICY, [], None)
    assert rows(report, "各单位办理情况") == []
    assert rows(report, "部门考核得分") == []
    assert rows(report, "环比变化")[3] == ["签收及时率", "—", "—", "—"]


def test_a_chart_must_name_a_table_and_its_columns() -> None:
    table = Table(title="各单位办理情况", columns=["单位", "满意率"], rows=[])
    base = {"kind": ReportKind.MONTHLY, "title": "t", "period": "p", "generated_at": NOW, "tables": [table]}
    chart = ChartSpec(title="c", table="各单位办理情况", label_column="单位", value_column="满意率")
    assert Report(**base, charts=[chart]).charts == [chart]
    with pytest.raises(ValidationError, match=r"charts\.0\.table: no table titled '别的表'"):
        Report(**base, charts=[chart.model_copy(update={"table": "别的表"})])
    with pytest.raises(ValidationError, match="has no column '解决率'"):
        Report(**base, charts=[chart.model_copy(update={"value_column": "解决率"})])
    with pytest.raises(KeyError):
        Report(**base).table("别的表")


def test_the_weekly_supervision_shows_each_backlog_push(config: DistrictConfig) -> None:
    """专项推进 progress: members closed out of those taken in, against the target; 专项行动 not listed."""
    lead = actor_for(config, "zhangli")

    def campaign(no: str, kind: CampaignKind, statuses: list[str]) -> CampaignRecord:
        started = CampaignInput(
            campaign_no=no,
            kind=kind,
            title=f"{no} 清零",
            started_by=lead,
            filter=TicketFilter(department="sw", overdue_only=True),
            target_percent=60,
            deadline=datetime(2026, 12, 10, 18, 0, tzinfo=CHINA_TZ),
            refresh=Span(amount=1, unit=Unit.HOURS),
        )
        record = CampaignRecord.start(started, NOW)
        ids = [f"ticket-{no}-{i}" for i in range(len(statuses))]
        record.apply(Snapshot(new=ids, statuses=dict(zip(ids, statuses, strict=True))), NOW)
        return record

    push = campaign("P1", CampaignKind.BACKLOG_PUSH, ["办结", "办结", "已签收"])  # 2 of 3: 66.7% ≥ 60%
    action = campaign("S1", CampaignKind.SPECIAL_ACTION, ["办结"])
    names = {d.code: d.name for d in config.departments}
    report = with_backlog_pushes(weekly_supervision(weekly_facts(), NOW), [action, push], names)

    assert report.tables[-1].title == "专项推进进展"
    # the scope names the department (范围 区水务局), never its code (sw)
    assert rows(report, "专项推进进展") == [
        ["P1", "P1 清零", f"{names['sw']}、超期", "进行中", "2026-12-10 18:00", "3", "2", "66.67%", "60%（已达成）"]
    ]
    assert names["sw"] != "sw"


# ----- 累计 (截至目前) -----


def test_cumulative_report_gives_the_published_figures() -> None:
    from datetime import date

    from domain.facts import RoundFacts
    from domain.metrics import figures

    until = datetime(2026, 12, 4, 16, 45, tzinfo=CHINA_TZ)
    period = Period.cumulative(date(2026, 1, 1), until)
    backlog = fact("C1", "zjj", received_at=at(11, 5), backlog=True, resolve_due=datetime(2027, 5, 1, tzinfo=CHINA_TZ))
    verified = fact(
        "C2",
        "cgj",
        TicketStatus.CLOSED,
        received_at=at(11, 6),
        closed_at=at(11, 20),
        signed_on_time=True,
        contacted_on_time=True,
        answered_on_time=True,
        resolved=False,
        satisfaction=U,
        closure="已解释说明",
        earlier_rounds=(RoundFacts(round=1, department="cgj", contacted_on_time=False, resolved=False),),
    )
    facts = [*sample_facts(), backlog, verified]
    report = cumulative(facts, period, POLICY, names=NAMES)
    assert (report.kind, report.period) == (ReportKind.CUMULATIVE, "截至 2026-12-04 16:45")
    assert report.title == "12345热线累计情况（2026-01-01 起）"
    assert [t.title for t in report.tables] == ["累计情况", "总体情况", "各单位累计情况"]
    # The sample's 19 (test_metrics.test_cumulative_period), C1 (open, 挂账) and C2 (核查结案).
    # 响应率 over every round of the tickets received: contacted known for T01–T07, T09, T15, T16, T18
    # (11, T05 late) and C2's two rounds (the first late) → 11/13. 解决率 over the 13 closed (办结) and
    # called back: resolved known for 11 of the sample's 12 (not T08), T03 and T16 unresolved → 9/11, and
    # C2 unresolved → 9/12; 满意率: 满意/基本满意 for all known but T03, T16 (不满意) → 9/11, C2 不满意 → 9/12.
    assert report.table("累计情况").rows == [
        ["受理", "21", "—"],
        ["办结", "14", "—"],
        ["在办", "5", "—"],
        ["其中挂账", "1", "—"],
        ["响应率", "84.62%", "11/13"],
        ["解决率", "75.00%", "9/12"],
        ["满意率", "75.00%", "9/12"],
    ]
    whole = figures(facts, period, POLICY)
    assert headline(report) == (
        "受理诉求 21 件，办结 14 件，在办 5 件（其中挂账 1 件）；响应率 84.62%，解决率 75.00%，满意率 75.00%"
    )
    assert whole.verified_closed == 1
    departments = {row[0]: row for row in report.table("各单位累计情况").rows}
    # 在办, 其中挂账: zjj T17, T19 and C1 (挂账); cgj T13
    assert (departments[ZJJ][3:5], departments[CGJ][3:5]) == (["3", "1"], ["1", "0"])


def test_weekly_supervision_shows_backlog_overdue_only_past_its_plan_date() -> None:
    # K1 挂账 until 2027-05-01 (its old round's overdue flag no longer counts); K2 挂账 until 11-25,
    # five days past its plan date at NOW; K3 an ordinary overdue ticket.
    k1 = fact("K1", "zjj", backlog=True, overdue=True, resolve_due=datetime(2027, 5, 1, tzinfo=CHINA_TZ))
    k2 = fact("K2", "zjj", backlog=True, resolve_due=at(11, 25))
    k3 = fact("K3", "zjj", overdue=True, resolve_due=at(11, 28), escalation="催办")
    report = weekly_supervision([k1, k2, k3], NOW)
    assert report.table("各单位超期统计").rows == [
        ["zjj", "3", "2", "2", "5", "1", "0", "0", "0"],
        ["合计", "3", "2", "2", "5", "1", "0", "0", "0"],
    ]
    assert [row[0] for row in rows(report, "超期工单：zjj")] == ["K2", "K3"]
