"""红色服务团's two lists as tables: the service list (服务清单: every item agreed at a visit, who is
responsible, by when, how it is going) and the results list (成效清单: every item closed with an
outcome, and what the enterprise said about it), per enterprise and per responsible unit, with a
summary (汇总) of counts and rates.

Pure: records in, `Table`s of display strings out (times in China time). Writing them to files is
`activities.reports.enterprise_export`'s job.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from pydantic import BaseModel, ConfigDict, computed_field

from domain.calendar import CHINA_TZ, china_time
from domain.enterprise import EnterpriseRecord, ItemStatus, ServiceItem
from domain.models import Satisfaction
from domain.tables import Table

EMPTY = "—"
OVERDUE_MARK = "（超期）"
AWAITING = "待确认"
TOTAL = "合计"

SERVICE_COLUMNS = ["编号", "走访", "事项", "类别", "责任单位", "责任人", "完成时限", "措施", "进展", "状态"]
RESULTS_COLUMNS = [
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
ENTERPRISE_COLUMN = "企业"
SUMMARY_COLUMNS = ["企业", "走访次数", "事项", "已办结", "已确认", "办理中", "超期", "按时办结率", "满意率"]
DETAIL_COLUMNS = ["指标", "数值"]

SERVICE_LIST = "服务清单"
RESULTS_LIST = "成效清单"
SUMMARY = "汇总"

_CLOSED = (ItemStatus.AWAITING_CONFIRMATION, ItemStatus.CONFIRMED)
_SATISFIED = (Satisfaction.SATISFIED, Satisfaction.BASICALLY_SATISFIED)


# ----- the two lists -----


def service_list(record: EnterpriseRecord, now: datetime) -> Table:
    """服务清单: every item of the enterprise, in the order they were agreed."""
    rows = [_service_row(record, item, now) for item in record.items]
    return Table(title=f"{record.enterprise.name} {SERVICE_LIST}", columns=list(SERVICE_COLUMNS), rows=rows)


def results_list(record: EnterpriseRecord) -> Table:
    """成效清单: every item closed with an outcome (awaiting the enterprise's confirmation, or confirmed)."""
    rows = [_results_row(item) for item in _closed(record.items)]
    return Table(title=f"{record.enterprise.name} {RESULTS_LIST}", columns=list(RESULTS_COLUMNS), rows=rows)


def lists_by_unit(records: Iterable[EnterpriseRecord], now: datetime) -> dict[str, tuple[Table, Table]]:
    """Per responsible unit (by name, in order of first appearance): its service and results lists
    across all enterprises, each row led by the enterprise's name."""
    service: dict[str, list[list[str]]] = {}
    results: dict[str, list[list[str]]] = {}
    for record in records:
        name = record.enterprise.name
        for item in record.items:
            unit = item.spec.unit.name
            service.setdefault(unit, []).append([name, *_service_row(record, item, now)])
            results.setdefault(unit, [])
            if item.status in _CLOSED and item.outcome is not None:
                results[unit].append([name, *_results_row(item)])
    return {
        unit: (
            Table(title=f"{unit} {SERVICE_LIST}", columns=[ENTERPRISE_COLUMN, *SERVICE_COLUMNS], rows=rows),
            Table(title=f"{unit} {RESULTS_LIST}", columns=[ENTERPRISE_COLUMN, *RESULTS_COLUMNS], rows=results[unit]),
        )
        for unit, rows in service.items()
    }


def _service_row(record: EnterpriseRecord, item: ServiceItem, now: datetime) -> list[str]:
    spec = item.spec
    visit = next((v for v in record.visits if v.visit_no == item.visit_no), None)
    visit_text = f"{item.visit_no}（{visit.visited_on.isoformat()}）" if visit is not None else item.visit_no
    status = item.status.value
    if item.status is ItemStatus.OPEN and item.overdue(now):
        status += OVERDUE_MARK
    return [
        item.item_no,
        visit_text,
        spec.need,
        spec.category,
        spec.unit.name,
        spec.person,
        local_time(item.due_at),
        spec.measures or EMPTY,
        _latest_progress(item),
        status,
    ]


def _results_row(item: ServiceItem) -> list[str]:
    spec = item.spec
    closed = item.outcome
    assert closed is not None
    outcome = closed.outcome
    result = outcome.kind.value + (f"；原因：{outcome.reason}" if outcome.reason else "")
    return [
        item.item_no,
        spec.need,
        spec.unit.name,
        spec.person,
        local_time(item.due_at),
        result,
        outcome.text,
        local_time(closed.at),
        "、".join(outcome.evidence) or EMPTY,
        _evaluation(item),
    ]


def _latest_progress(item: ServiceItem) -> str:
    if not item.progress:
        return EMPTY
    note = item.progress[-1]
    return f"{local_date(note.at)} {note.text}"


def _evaluation(item: ServiceItem) -> str:
    confirmation = item.confirmation
    if confirmation is None:
        return AWAITING
    return confirmation.satisfaction.value + (f"：{confirmation.comment}" if confirmation.comment else "")


def _closed(items: Iterable[ServiceItem]) -> list[ServiceItem]:
    return [i for i in items if i.status in _CLOSED and i.outcome is not None]


# ----- 汇总 -----


class Summary(BaseModel):
    """Counts over one or more enterprises' records; the rates follow from them (None: nothing to rate)."""

    model_config = ConfigDict(frozen=True)  # not extra="forbid": a dump carries the computed rates

    items: int = 0
    closed: int = 0  # has an outcome: awaiting the enterprise's confirmation, or confirmed
    confirmed: int = 0
    open: int = 0
    overdue: int = 0  # open past its time limit now, or closed after it
    closed_on_time: int = 0
    satisfied: int = 0  # confirmed 满意 or 基本满意
    visits: int = 0
    visits_closed: int = 0

    @computed_field  # type: ignore[prop-decorator]  # mypy takes no decorator above @property (python/mypy#1362)
    @property
    def on_time_rate(self) -> float | None:
        return self.closed_on_time / self.closed if self.closed else None

    @computed_field  # type: ignore[prop-decorator]  # mypy takes no decorator above @property (python/mypy#1362)
    @property
    def satisfaction_rate(self) -> float | None:
        return self.satisfied / self.confirmed if self.confirmed else None

    def __add__(self, other: Summary) -> Summary:
        fields = Summary.model_fields
        return Summary(**{name: getattr(self, name) + getattr(other, name) for name in fields})


def summarize(records: EnterpriseRecord | Iterable[EnterpriseRecord], now: datetime) -> Summary:
    """The counts of one record, or of several together."""
    if isinstance(records, EnterpriseRecord):
        records = [records]
    total = Summary()
    for record in records:
        total += _summarize_one(record, now)
    return total


def _summarize_one(record: EnterpriseRecord, now: datetime) -> Summary:
    items = record.items
    closed = _closed(items)
    confirmations = [i.confirmation for i in items if i.confirmation is not None]
    return Summary(
        items=len(items),
        closed=len(closed),
        confirmed=len(confirmations),
        open=sum(1 for i in items if i.status is ItemStatus.OPEN),
        overdue=sum(1 for i in items if i.overdue(now)),
        closed_on_time=sum(1 for i in closed if i.outcome is not None and i.outcome.on_time),
        satisfied=sum(1 for c in confirmations if c.satisfaction in _SATISFIED),
        visits=len(record.visits),
        visits_closed=sum(1 for v in record.visits if v.closed_at is not None),
    )


def summary_table(summaries: dict[str, Summary], title: str = SUMMARY) -> Table:
    """One row per enterprise (keyed by its name), then 合计 over all of them."""
    total = sum(summaries.values(), Summary())
    rows = [_summary_row(name, s) for name, s in summaries.items()]
    rows.append(_summary_row(TOTAL, total))
    return Table(title=title, columns=list(SUMMARY_COLUMNS), rows=rows, numeric=SUMMARY_COLUMNS[1:])


def summary_details(summary: Summary, title: str = SUMMARY) -> Table:
    """One enterprise's (or any) summary as 指标 / 数值 lines."""
    rows = [
        ["走访次数", str(summary.visits)],
        ["已办结走访", str(summary.visits_closed)],
        ["事项", str(summary.items)],
        ["已办结", str(summary.closed)],
        ["已确认", str(summary.confirmed)],
        ["办理中", str(summary.open)],
        ["超期", str(summary.overdue)],
        ["按时办结率", percent(summary.on_time_rate)],
        ["满意率", percent(summary.satisfaction_rate)],
    ]
    return Table(title=title, columns=list(DETAIL_COLUMNS), rows=rows, numeric=DETAIL_COLUMNS[1:])


def _summary_row(name: str, s: Summary) -> list[str]:
    counts = (s.visits, s.items, s.closed, s.confirmed, s.open, s.overdue)
    return [name, *(str(n) for n in counts), percent(s.on_time_rate), percent(s.satisfaction_rate)]


# ----- display -----


def percent(rate: float | None) -> str:
    """0.875 → "87.50%" (two decimals, as the district publishes rates); None → "—"."""
    return EMPTY if rate is None else f"{rate:.2%}"


local_time = china_time  # the lists' and reports' times


def local_date(at: datetime) -> str:
    return at.astimezone(CHINA_TZ).strftime("%Y-%m-%d")
