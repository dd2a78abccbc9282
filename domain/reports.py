"""The reports sent to district leaders, as titled tables: 日报预警 (tickets about to fall due, newly
overdue, escalated today), 周报督办 (overdue tickets per department) and 月报分析 (the rates per
department, street and category, the change against last month, the top categories, the
assessment, the red and black lists, the streets' whistle evaluations, the red service team's items).

Also 累计 (截至目前): the figures the district publishes, from a date to now.

Pure: facts in, a `Report` of `Table`s out (times in China time, percentages with two decimals like
"87.50%", "—" where there is nothing to rate). Which bar charts to draw is said by `ChartSpec`s; drawing them, and
writing the tables, is done elsewhere. Definitions of the figures: domain/metrics.py, docs/metrics.md.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import AwareDatetime, Field, model_validator

from domain.calendar import CHINA_TZ
from domain.campaign import CampaignKind, CampaignRecord
from domain.enterprise_lists import EMPTY, Summary, local_time, percent, summary_details
from domain.facts import TicketFacts
from domain.metrics import (
    INSUFFICIENT,
    NO_DEPARTMENT,
    Figures,
    GroupKey,
    MetricsPolicy,
    Period,
    Rate,
    Score,
    assessment,
    by,
    figures,
    is_overdue,
    red_and_black,
    whistle_counts,
    whistle_deduction,
)
from domain.models import Frozen, Satisfaction, TicketStatus
from domain.tables import Table
from domain.whistle import WhistleRecord, whistle_evaluations

TOTAL = "合计"
DAY = timedelta(hours=24)
# The default escalation ladder, in order; other steps found in the facts get columns after these.
LADDER = ("催办", "督办", "通报", "领导督办")


class ReportKind(StrEnum):
    DAILY = "日报"
    WEEKLY = "周报"
    MONTHLY = "月报"
    CUMULATIVE = "累计"


class ChartSpec(Frozen):
    """A bar chart to draw: one bar per row of `table`, labelled by one column, sized by another
    (cells like "87.50%" or "12"; a "—" cell has no bar)."""

    title: str
    table: str  # the title of the report's table it draws from
    label_column: str
    value_column: str
    target: float | None = None  # a target line at this value (percent for rates), e.g. 90.0
    omit: list[str] = Field(default_factory=list)  # labels of rows not drawn (the 合计 line)


class Report(Frozen):
    kind: ReportKind
    title: str
    period: str  # the period's label: "2026-11-30", "2026年第49周", "2026年11月"
    generated_at: AwareDatetime
    tables: list[Table]
    # Set while the period has not ended: the figures are as of this time (截至), not the whole period.
    partial_until: AwareDatetime | None = None
    charts: list[ChartSpec] = Field(default_factory=list)

    @model_validator(mode="after")
    def _charts_drawable(self) -> Report:
        tables = {t.title: t for t in self.tables}
        for i, chart in enumerate(self.charts):
            table = tables.get(chart.table)
            if table is None:
                raise ValueError(f"charts.{i}.table: no table titled '{chart.table}'")
            for column in (chart.label_column, chart.value_column):
                if column not in table.columns:
                    raise ValueError(f"charts.{i}: table '{chart.table}' has no column '{column}'")
        return self

    def table(self, title: str) -> Table:
        """The table with this title (KeyError if there is none)."""
        for table in self.tables:
            if table.title == title:
                return table
        raise KeyError(title)


# ----- display -----


def change_points(now: float | None, before: float | None) -> str:
    """The change of a rate in percentage points: "+2.50 个百分点", "-11.11 个百分点", "0.00 个百分点", "—"."""
    if now is None or before is None:
        return EMPTY
    points = round((now - before) * 100, 2)
    return "0.00 个百分点" if points == 0 else f"{points:+.2f} 个百分点"


def change_count(now: int, before: int) -> str:
    """The change of a count: "+8", "-2", "0"."""
    return "0" if now == before else f"{now - before:+d}"


def span_text(span: timedelta) -> str:
    """A length of time in days, hours and minutes (whole minutes, rounded down): "1天2小时", "45分"."""
    minutes = max(0, int(span.total_seconds() // 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    text = (f"{days}天" if days else "") + (f"{hours}小时" if hours else "") + (f"{minutes}分" if minutes else "")
    return text or "0分"


def score_text(points: float | None) -> str:
    return EMPTY if points is None else f"{points:.2f}"


def _name(department: str | None, names: Mapping[str, str] | None) -> str:
    if department is None:
        return NO_DEPARTMENT
    return (names or {}).get(department, department)


def _due(fact: TicketFacts) -> str:
    return EMPTY if fact.resolve_due is None else local_time(fact.resolve_due)


def _text(value: str | None) -> str:
    return value or EMPTY


_NOT_OPEN = (TicketStatus.CLOSED, TicketStatus.ANSWERED_DIRECTLY, TicketStatus.TRANSFERRED, TicketStatus.MERGED)


def _ticket_row(fact: TicketFacts, names: Mapping[str, str] | None, last: str) -> list[str]:
    """工单号, 承办单位, 类别, 镇街, 办结时限, and one column of the table's own."""
    return [fact.ticket_no, _name(fact.department, names), _text(fact.category), _text(fact.street), _due(fact), last]


def _is_open(fact: TicketFacts) -> bool:
    return fact.status not in _NOT_OPEN


def _by_department(
    facts: Iterable[TicketFacts], names: Mapping[str, str] | None
) -> dict[str | None, list[TicketFacts]]:
    """The tickets per department, in order of the departments' display names (the undispatched last)."""
    groups: dict[str | None, list[TicketFacts]] = {}
    for fact in facts:
        groups.setdefault(fact.department, []).append(fact)
    return dict(sorted(groups.items(), key=lambda kv: (kv[0] is None, _name(kv[0], names))))


# ----- 日报预警 -----

DAILY_SUMMARY = "预警汇总"
DUE_SOON = "24小时内到期"
NEWLY_OVERDUE = "新增超期工单"
ESCALATED = "今日升级督办"
DAILY_SUMMARY_COLUMNS = ["承办单位", "24小时内到期", "新增超期", "今日升级"]
DUE_SOON_COLUMNS = ["工单号", "类别", "镇街", "办结时限", "剩余"]
NEWLY_OVERDUE_COLUMNS = ["工单号", "承办单位", "类别", "镇街", "办结时限", "已超期"]
ESCALATED_COLUMNS = ["工单号", "承办单位", "类别", "镇街", "办结时限", "督办级别"]


def due_soon_title(department: str) -> str:
    return f"{DUE_SOON}：{department}"


def daily_warning(
    open_facts: Iterable[TicketFacts],
    now: datetime,
    escalations_today: Iterable[TicketFacts] = (),
    *,
    names: Mapping[str, str] | None = None,
) -> Report:
    """日报预警 at `now`, over the open tickets (others in `open_facts` are ignored).

    - 24小时内到期, one table per department: open tickets whose resolution is due in (now, now + 24 h].
    - 新增超期工单: open tickets flagged overdue whose resolution fell due in (now − 24 h, now].
    - 今日升级督办: tickets with an escalation step whose resolution fell due in (now − 24 h, now],
      from the open tickets and from `escalations_today` (tickets the caller found with such a due
      time, closed since or not; the later fact of a ticket wins).
    - 预警汇总: the three counts per department.
    """
    open_list = [f for f in open_facts if _is_open(f)]
    due_soon = sorted(
        (f for f in open_list if f.resolve_due is not None and now < f.resolve_due <= now + DAY),
        key=lambda f: (f.resolve_due, f.ticket_no),
    )
    overdue = sorted(
        (f for f in open_list if is_overdue(f, now) and f.resolve_due is not None and now - DAY < f.resolve_due <= now),
        key=lambda f: (f.resolve_due, f.ticket_no),
    )
    candidates = {f.workflow_id: f for f in [*open_list, *escalations_today]}
    escalated = sorted(
        (
            f
            for f in candidates.values()
            if f.escalation and f.resolve_due is not None and now - DAY < f.resolve_due <= now
        ),
        key=lambda f: (f.resolve_due, f.ticket_no),
    )

    due_groups = _by_department(due_soon, names)
    overdue_groups = _by_department(overdue, names)
    escalated_groups = _by_department(escalated, names)
    departments = sorted({*due_groups, *overdue_groups, *escalated_groups}, key=lambda d: (d is None, _name(d, names)))
    summary_rows = [
        [
            _name(d, names),
            str(len(due_groups.get(d, []))),
            str(len(overdue_groups.get(d, []))),
            str(len(escalated_groups.get(d, []))),
        ]
        for d in departments
    ]
    summary_rows.append([TOTAL, str(len(due_soon)), str(len(overdue)), str(len(escalated))])

    tables = [
        Table(
            title=DAILY_SUMMARY,
            columns=list(DAILY_SUMMARY_COLUMNS),
            rows=summary_rows,
            numeric=DAILY_SUMMARY_COLUMNS[1:],
        )
    ]
    for department, facts in due_groups.items():
        rows = [
            [f.ticket_no, _text(f.category), _text(f.street), _due(f), span_text(f.resolve_due - now)]
            for f in facts
            if f.resolve_due is not None
        ]
        tables.append(Table(title=due_soon_title(_name(department, names)), columns=list(DUE_SOON_COLUMNS), rows=rows))
    tables.append(
        Table(
            title=NEWLY_OVERDUE,
            columns=list(NEWLY_OVERDUE_COLUMNS),
            rows=[_ticket_row(f, names, span_text(now - f.resolve_due)) for f in overdue if f.resolve_due is not None],
        )
    )
    tables.append(
        Table(
            title=ESCALATED,
            columns=list(ESCALATED_COLUMNS),
            rows=[_ticket_row(f, names, f.escalation or "") for f in escalated],
        )
    )
    period = Period.containing(now, "day")
    return _charted(ReportKind.DAILY, "日报预警", period, now, tables, tables[0], "各单位24小时内到期工单", DUE_SOON)


def _charted(
    kind: ReportKind,
    name: str,
    period: Period,
    now: datetime,
    tables: list[Table],
    summary: Table,
    chart_title: str,
    value_column: str,
) -> Report:
    """日报 and 周报: the tables and one bar chart of the summary table's units (the 合计 row left out)."""
    chart = ChartSpec(
        title=f"{chart_title}（{period.label}）",
        table=summary.title,
        label_column=summary.columns[0],
        value_column=value_column,
        omit=[TOTAL],
    )
    return Report(
        kind=kind,
        title=f"12345热线{name}（{period.label}）",
        period=period.label,
        generated_at=now,
        tables=tables,
        charts=[chart],
    )


# ----- 周报督办 -----

WEEKLY_SUMMARY = "各单位超期统计"
OVERDUE_LIST = "超期工单"
WEEKLY_SUMMARY_COLUMNS = ["承办单位", "在办", "其中挂账", "超期", "最长超期天数"]
OVERDUE_COLUMNS = ["工单号", "类别", "镇街", "办结时限", "超期天数", "督办级别"]


def overdue_title(department: str) -> str:
    return f"{OVERDUE_LIST}：{department}"


def days_overdue(fact: TicketFacts, now: datetime) -> int | None:
    """Natural days since the resolution due time, a started day counting whole (5 hours late: 1);
    None when the resolution is not yet due (overdue on its sign-for or response clock only)."""
    if fact.resolve_due is None or fact.resolve_due > now:
        return None
    return math.ceil((now - fact.resolve_due) / DAY)


def weekly_supervision(
    open_facts: Iterable[TicketFacts], now: datetime, *, names: Mapping[str, str] | None = None
) -> Report:
    """周报督办 at `now`, over the open tickets.

    - 各单位超期统计: per department, open and overdue tickets, the longest days overdue and how many
      overdue tickets stand at each step of the ladder; a 合计 line.
    - 超期工单：<单位>, one table per department with overdue tickets, most days overdue first
      (tickets overdue only on their sign-for or response clock last, with "—").
    """
    open_list = [f for f in open_facts if _is_open(f)]
    # Departments with most overdue tickets first; equal counts stay in order of name (sorting is stable).
    by_name = _by_department(open_list, names)
    groups = dict(sorted(by_name.items(), key=lambda kv: -sum(1 for f in kv[1] if is_overdue(f, now))))
    levels = [*LADDER, *sorted({f.escalation for f in open_list if f.escalation and f.escalation not in LADDER})]

    def order(fact: TicketFacts) -> tuple[int, float, str]:
        days = days_overdue(fact, now)
        due = fact.resolve_due.timestamp() if fact.resolve_due is not None else math.inf
        return (-(days if days is not None else -1), due, fact.ticket_no)

    summary: list[list[str]] = []
    lists: list[Table] = []
    for department, facts in groups.items():
        overdue = sorted((f for f in facts if is_overdue(f, now)), key=order)
        longest = max((d for f in overdue if (d := days_overdue(f, now)) is not None), default=None)
        at_level = [sum(1 for f in overdue if f.escalation == level) for level in levels]
        backlog = sum(1 for f in facts if f.backlog)
        row = [
            _name(department, names),
            str(len(facts)),
            str(backlog),
            str(len(overdue)),
            EMPTY if longest is None else str(longest),
        ]
        summary.append(row + [str(n) for n in at_level])
        if overdue:
            rows = [
                [
                    f.ticket_no,
                    _text(f.category),
                    _text(f.street),
                    _due(f),
                    EMPTY if (d := days_overdue(f, now)) is None else str(d),
                    f.escalation or EMPTY,
                ]
                for f in overdue
            ]
            lists.append(Table(title=overdue_title(_name(department, names)), columns=list(OVERDUE_COLUMNS), rows=rows))

    all_overdue = [f for f in open_list if is_overdue(f, now)]
    longest_all = max((d for f in all_overdue if (d := days_overdue(f, now)) is not None), default=None)
    total_row = [
        TOTAL,
        str(len(open_list)),
        str(sum(1 for f in open_list if f.backlog)),
        str(len(all_overdue)),
        EMPTY if longest_all is None else str(longest_all),
        *(str(sum(1 for f in all_overdue if f.escalation == level)) for level in levels),
    ]
    summary_table = Table(
        title=WEEKLY_SUMMARY,
        columns=[*WEEKLY_SUMMARY_COLUMNS, *levels],
        rows=[*summary, total_row],
        numeric=[*WEEKLY_SUMMARY_COLUMNS[1:], *levels],
    )
    period = Period.containing(now, "week")
    return _charted(
        ReportKind.WEEKLY, "周报督办", period, now, [summary_table, *lists], summary_table, "各单位超期工单", "超期"
    )


# ----- 月报分析 -----

OVERVIEW = "总体情况"
OVERVIEW_COLUMNS = ["指标", "数值", "计算"]
BY_DEPARTMENT = "各单位办理情况"
BY_STREET = "各镇街办理情况"
BY_CATEGORY = "各类别办理情况"
RATE_COLUMNS = ["受理", "办结", "在办", "其中挂账", "免考核", *(r.value for r in Rate)]
GROUP_COLUMN: dict[GroupKey, str] = {"department": "单位", "street": "镇街", "category": "类别", "urgency": "紧急程度"}
CHANGE = "环比变化"
CHANGE_COLUMNS = ["指标", "本月", "上月", "变化"]
TOP_CATEGORY_COLUMNS = ["排名", "类别", "受理", "占比"]
ASSESSMENT = "部门考核得分"
ASSESSMENT_COLUMNS = [
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
RED_LIST = "红榜"
BLACK_LIST = "黑榜"
LIST_COLUMNS = ["名次", "单位", "总分", "办结", "满意率"]
WHISTLES = "吹哨部门评价"
WHISTLE_COLUMNS = ["单位", "评价次数", *(s.value for s in Satisfaction), "扣分"]
ENTERPRISES = "红色服务团企业事项"
CHARTED_RATES = (Rate.RESPONSE, Rate.RESOLUTION, Rate.SATISFACTION)
COUNTS = (("受理量", "received"), ("办结量", "closed"), ("在办量", "open"))


def top_categories_title(n: int) -> str:
    return f"受理量前{n}类别"


def rates_table(
    title: str, key: GroupKey, groups: Mapping[str, Figures], names: Mapping[str, str] | None = None
) -> Table:
    """One row per group: 受理, 办结, 在办 (其中挂账), 免考核 and the eight rates (departments in order
    of their display names)."""
    if key == "department":
        groups = dict(sorted(groups.items(), key=lambda kv: (kv[0] == NO_DEPARTMENT, _name(kv[0], names))))
    rows = [
        [
            _name(group, names) if key == "department" else group,
            str(fig.received),
            str(fig.closed),
            str(fig.open),
            str(fig.backlog),
            str(fig.exempted),
            *(percent(fig.ratio(rate).rate) for rate in Rate),
        ]
        for group, fig in groups.items()
    ]
    return Table(title=title, columns=[GROUP_COLUMN[key], *RATE_COLUMNS], rows=rows, numeric=list(RATE_COLUMNS))


def overview_table(fig: Figures) -> Table:
    counts = [
        ["受理量", str(fig.received)],
        ["办结量", str(fig.closed)],
        ["在办量", str(fig.open)],
        ["其中挂账", str(fig.backlog)],
        ["直接答复", str(fig.direct)],
        ["上转市级", str(fig.transferred)],
        ["并单", str(fig.merged)],
        ["参评工单", str(fig.rated)],
        ["其中核查结案", str(fig.verified_closed)],
        ["免考核", str(fig.exempted)],
        ["计时轮次", str(fig.clocked)],
    ]
    rows = [[label, value, EMPTY] for label, value in counts]
    rows += [[rate.value, percent(fig.ratio(rate).rate), fig.ratio(rate).text] for rate in Rate]
    return Table(title=OVERVIEW, columns=list(OVERVIEW_COLUMNS), rows=rows, numeric=["数值"])


def change_table(current: Figures, previous: Figures) -> Table:
    """本月 against 上月: the counts, then each rate with its change in percentage points."""
    rows: list[list[str]] = []
    for label, field in COUNTS:
        now, before = getattr(current, field), getattr(previous, field)
        rows.append([label, str(now), str(before), change_count(now, before)])
    for rate in Rate:
        this, last = current.ratio(rate).rate, previous.ratio(rate).rate
        rows.append([rate.value, percent(this), percent(last), change_points(this, last)])
    return Table(title=CHANGE, columns=list(CHANGE_COLUMNS), rows=rows, numeric=CHANGE_COLUMNS[1:])


def top_categories_table(by_category: Mapping[str, Figures], total_received: int, n: int) -> Table:
    """The n categories with most tickets received (ties by name); 占比 of all received."""
    ranked = sorted(((c, f) for c, f in by_category.items() if f.received), key=lambda cf: (-cf[1].received, cf[0]))
    rows = [
        [str(i), category, str(fig.received), percent(fig.received / total_received if total_received else None)]
        for i, (category, fig) in enumerate(ranked[:n], start=1)
    ]
    return Table(
        title=top_categories_title(n), columns=list(TOP_CATEGORY_COLUMNS), rows=rows, numeric=["排名", "受理", "占比"]
    )


def assessment_table(scores: Iterable[Score], names: Mapping[str, str] | None = None) -> Table:
    rows = [
        [
            EMPTY if s.rank is None else str(s.rank),
            _name(s.department, names),
            str(s.closed),
            percent(s.response_rate),
            percent(s.resolution_rate),
            percent(s.satisfaction_rate),
            score_text(s.response_points),
            score_text(s.resolution_points),
            score_text(s.satisfaction_points),
            score_text(s.whistle_deduction),
            INSUFFICIENT if s.total is None else score_text(s.total),
        ]
        for s in scores
    ]
    numeric = [c for c in ASSESSMENT_COLUMNS if c != "单位"]
    return Table(title=ASSESSMENT, columns=list(ASSESSMENT_COLUMNS), rows=rows, numeric=numeric)


def list_table(title: str, scores: Iterable[Score], names: Mapping[str, str] | None = None) -> Table:
    rows = [
        [str(i), _name(s.department, names), score_text(s.total), str(s.closed), percent(s.satisfaction_rate)]
        for i, s in enumerate(scores, start=1)
    ]
    return Table(title=title, columns=list(LIST_COLUMNS), rows=rows, numeric=[c for c in LIST_COLUMNS if c != "单位"])


def whistle_table(
    evaluations: Mapping[str, list[Satisfaction]], policy: MetricsPolicy, names: Mapping[str, str] | None = None
) -> Table:
    rows: list[list[str]] = []
    for department, given in sorted(evaluations.items(), key=lambda kv: _name(kv[0], names)):
        counts = whistle_counts(given)
        rows.append(
            [
                _name(department, names),
                str(len(given)),
                *(str(counts[s]) for s in Satisfaction),
                score_text(whistle_deduction(given, policy)),
            ]
        )
    return Table(title=WHISTLES, columns=list(WHISTLE_COLUMNS), rows=rows, numeric=WHISTLE_COLUMNS[1:])


def monthly_analysis(
    facts: Iterable[TicketFacts],
    period: Period,
    policy: MetricsPolicy,
    whistles: Iterable[WhistleRecord],
    enterprises_summary: Summary | None,
    *,
    names: Mapping[str, str] | None = None,
    now: datetime | None = None,
) -> Report:
    """月报分析 for `period` (a month; any period works). `facts` must hold the previous period's
    tickets too: the change is computed from the same list for `period.previous()`. `names` maps
    department codes to display names; `now` (default: the period's end) is the report's time.

    Tables: 总体情况, 各单位/各镇街/各类别办理情况, 环比变化, 受理量前N类别, 部门考核得分, 红榜, 黑榜,
    吹哨部门评价 and, given a summary, 红色服务团企业事项. Charts: 响应率, 解决率 and 满意率 per
    department (with the policy's targets as lines), and the top categories; each titled with the
    period. A `now` before the period's end makes the report partial (截至 `now`).
    """
    facts = list(facts)
    current = figures(facts, period, policy)
    previous = figures(facts, period.previous(), policy)
    by_department = by(facts, period, policy, "department")
    by_street = by(facts, period, policy, "street")
    by_category = by(facts, period, policy, "category")
    evaluations = whistle_evaluations(whistles, period)
    scores = assessment(by_department, evaluations, policy)
    red, black = red_and_black(scores, by_department, policy)
    top_title = top_categories_title(policy.top_categories)

    tables = [
        overview_table(current),
        rates_table(BY_DEPARTMENT, "department", by_department, names),
        rates_table(BY_STREET, "street", by_street),
        rates_table(BY_CATEGORY, "category", by_category),
        change_table(current, previous),
        top_categories_table(by_category, current.received, policy.top_categories),
        assessment_table(scores, names),
        list_table(RED_LIST, red, names),
        list_table(BLACK_LIST, black, names),
        whistle_table(evaluations, policy, names),
    ]
    if enterprises_summary is not None:
        tables.append(summary_details(enterprises_summary, title=ENTERPRISES))
    charts = [
        ChartSpec(
            title=f"各单位{rate.value}（{period.label}）",
            table=BY_DEPARTMENT,
            label_column="单位",
            value_column=rate.value,
            target=policy.targets.get(rate),
        )
        for rate in CHARTED_RATES
    ]
    charts.append(
        ChartSpec(title=f"{top_title}（{period.label}）", table=top_title, label_column="类别", value_column="受理")
    )
    generated = now or period.end
    return Report(
        kind=ReportKind.MONTHLY,
        title=f"12345热线月报分析（{period.label}）",
        period=period.label,
        generated_at=generated,
        tables=tables,
        charts=charts,
        partial_until=generated if generated < period.end else None,
    )


# ----- 累计 (截至目前) -----

CUMULATIVE = "累计情况"
CUMULATIVE_BY_DEPARTMENT = "各单位累计情况"
# The figures the district publishes "截至目前": 受理, 办结, 在办 (其中挂账), 响应率, 解决率, 满意率.
HEADLINE_RATES = (Rate.RESPONSE, Rate.RESOLUTION, Rate.SATISFACTION)


def cumulative_table(fig: Figures) -> Table:
    """The published figures: the three counts (with 在办's 挂账) and the three rates with their inputs."""
    rows = [
        ["受理", str(fig.received), EMPTY],
        ["办结", str(fig.closed), EMPTY],
        ["在办", str(fig.open), EMPTY],
        ["其中挂账", str(fig.backlog), EMPTY],
        *([rate.value, percent(fig.ratio(rate).rate), fig.ratio(rate).text] for rate in HEADLINE_RATES),
    ]
    return Table(title=CUMULATIVE, columns=list(OVERVIEW_COLUMNS), rows=rows, numeric=["数值"])


def headline(report: Report) -> str:
    """A 累计 report's figures as one sentence, as the district writes them: "受理诉求 22972 件，办结
    18001 件，在办 4971 件（其中挂账 …件）；响应率 99.95%，解决率 97.61%，满意率 96.09%"."""
    value = {row[0]: row[1] for row in report.table(CUMULATIVE).rows}
    rates = "，".join(f"{rate.value} {value[rate.value]}" for rate in HEADLINE_RATES)
    counts = f"受理诉求 {value['受理']} 件，办结 {value['办结']} 件，在办 {value['在办']} 件"
    return f"{counts}（其中挂账 {value['其中挂账']} 件）；{rates}"


def cumulative(
    facts: Iterable[TicketFacts],
    period: Period,
    policy: MetricsPolicy,
    *,
    names: Mapping[str, str] | None = None,
) -> Report:
    """累计 (截至目前) over `period` (`Period.cumulative`): the published figures (累计情况, with 免考核
    and 核查结案 in the overview's terms beside them in 总体情况) and the per-department table."""
    facts = list(facts)
    whole = figures(facts, period, policy)
    tables = [
        cumulative_table(whole),
        overview_table(whole),
        rates_table(CUMULATIVE_BY_DEPARTMENT, "department", by(facts, period, policy, "department"), names),
    ]
    since = period.start.astimezone(CHINA_TZ).date().isoformat()
    return Report(
        kind=ReportKind.CUMULATIVE,
        title=f"12345热线累计情况（{since} 起）",
        period=period.label,
        generated_at=period.end,
        tables=tables,
        partial_until=period.end,  # 截至目前: always as of the report's time
    )


# ----- what a report could not read -----

UNREAD = "未能读取的流程"
UNREAD_COLUMNS = ["流程", "原因"]


def with_unread(report: Report, unread: Sequence[tuple[str, str]]) -> Report:
    """The report with a last table naming each workflow it could not read (its worker stopped) and
    why: its figures leave them out, and say so, rather than the report failing whole."""
    if not unread:
        return report
    table = Table(title=UNREAD, columns=UNREAD_COLUMNS, rows=[[w, why] for w, why in sorted(unread)])
    return report.model_copy(update={"tables": [*report.tables, table]})


def unread_of(report: Report) -> list[str]:
    """The workflows the report could not read (none: an empty list)."""
    return [row[0] for table in report.tables if table.title == UNREAD for row in table.rows]


# ----- 专项推进 progress (weekly) -----

BACKLOG_PUSH = "专项推进进展"
BACKLOG_PUSH_COLUMNS = ["编号", "专项推进", "范围", "状态", "截止时间", "纳入", "已办结", "办结率", "目标"]


def backlog_push_table(campaigns: Iterable[CampaignRecord], names: Mapping[str, str] | None = None) -> Table:
    """Each backlog push (专项推进) running in the week or ended in it: how far it has got."""
    rows = []
    for record in sorted(campaigns, key=lambda r: r.input.campaign_no):
        if record.input.kind is not CampaignKind.BACKLOG_PUSH:
            continue
        progress = record.summary or record.progress()
        rows.append(
            [
                record.input.campaign_no,
                record.input.title,
                record.input.filter.model_copy(
                    update={"department": _department_name(record.input.filter.department, names)}
                ).label,
                record.status.value,
                local_time(record.input.deadline),
                str(progress.total),
                str(progress.closed),
                percent(progress.closed / progress.total if progress.total else 1.0),  # nothing to clear: done
                f"{record.input.target_percent}%{'（已达成）' if progress.target_reached else ''}",
            ]
        )
    return Table(
        title=BACKLOG_PUSH, columns=list(BACKLOG_PUSH_COLUMNS), rows=rows, numeric=["纳入", "已办结", "办结率"]
    )


def with_backlog_pushes(
    report: Report, campaigns: Iterable[CampaignRecord], names: Mapping[str, str] | None = None
) -> Report:
    """The weekly supervision with the backlog pushes' progress as its last table (departments by name)."""
    return report.model_copy(update={"tables": [*report.tables, backlog_push_table(campaigns, names)]})


def _department_name(code: str | None, names: Mapping[str, str] | None) -> str | None:
    return None if code is None else _name(code, names)
