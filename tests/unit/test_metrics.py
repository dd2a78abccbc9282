"""The figures, the assessment and the red and black lists on a hand-made set of tickets, every
number checked against arithmetic done by hand (written beside it).

The set (`sample_facts`): 19 tickets of three departments (zjj, cgj, gdgs), two streets (千里山镇,
滨河街道) and five categories; November 2026 is the period, October 2026 the month before.

| no | dept | street | category | status | received | closed | sign/contact/answer/resolved | satisfaction | redo/ret/ext |
| T01 | zjj | 千里山镇 | 噪音污染 | 办结 | 11-02 | 11-05 | T T T T | 满意 | 0 0 0 |
| T02 | zjj | 千里山镇 | 城乡建设 | 办结 | 11-03 | 11-10 | T T F T | 基本满意 | 0 0 1 |
| T03 | zjj | 滨河街道 | 噪音污染 | 办结 | 10-28 | 11-02 | F T T F | 不满意 | 1 0 0 |
| T04 | zjj | 滨河街道 | 物业服务 | 办结 | 11-10 | 11-20 | T T T T | 满意 | 0 0 0 |
| T05 | cgj | 千里山镇 | 城乡建设 | 办结 | 11-05 | 11-08 | T F T T | 满意 | 0 1 0 |
| T06 | cgj | 滨河街道 | 噪音污染 | 办结 | 11-06 | 11-12 | T T T T | 基本满意 | 0 0 0 |
| T07 | cgj | 滨河街道 | 噪音污染 | 办结 | 11-20 | 12-01 00:00 (the end: not in) | T T T T | 满意 | |
| T08 | gdgs | 千里山镇 | 供水供电 (加急) | 办结 | 11-15 | 11-16 | T ? T ? | ? | 0 0 0 |
| T09 | gdgs | 千里山镇 | 供水供电 | 办结 | 11-01 00:00 (the start: in) | 11-03 | T T F T | 基本满意 | 0 0 1 |
| T10 | — | 滨河街道 | 物业服务 | 直接答复 | 11-11 | 11-11 | | | |
| T11 | zjj | 千里山镇 | 环境保护 | 已上转市级 | 11-12 | 11-14 | | | |
| T12 | — | 千里山镇 | 噪音污染 | 已并单 | 11-13 | | | | |
| T13 | cgj | 千里山镇 | 城乡建设 | 已签收 | 11-25 | | | | |
| T14 | gdgs | 滨河街道 | 供水供电 (紧急) | 待签收 | 11-30 23:59:59 | | | | |
| T15 | zjj | 千里山镇 | 噪音污染 | 办结 | 10-05 | 10-10 | T T T T | 满意 | 0 0 0 |
| T16 | cgj | 滨河街道 | 城乡建设 | 办结 | 10-08 | 10-20 | T T F F | 不满意 | 1 0 0 |
| T17 | zjj | 千里山镇 | 噪音污染 | 已联系 | 10-20 | | | | |
| T18 | cgj | 滨河街道 | 噪音污染 | 办结 | 10-30 | 11-01 00:00 (the start: in) | T T T T | 满意 | 0 0 0 |
| T19 | zjj | 滨河街道 | (none) | 待签收 | 12-01 00:00 (the end: not in) | | | | |
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from pydantic import ValidationError

from domain.calendar import CHINA_TZ
from domain.metrics import (
    INSUFFICIENT,
    NO_DEPARTMENT,
    NO_VALUE,
    Figures,
    MetricsPolicy,
    Period,
    Rate,
    Ratio,
    Score,
    assessment,
    by,
    figures,
    red_and_black,
    whistle_counts,
    whistle_deduction,
)
from domain.models import TicketStatus
from tests.support.metrics_samples import (
    BH,
    CLOSED,
    EVALUATIONS,
    NOVEMBER,
    POLICY,
    QLS,
    B,
    S,
    U,
    at,
    done,
    sample_facts,
    ticket,
)


def ratio(n: int, d: int) -> Ratio:
    return Ratio(numerator=n, denominator=d)


def rates(fig: Figures) -> dict[Rate, tuple[int, int]]:
    return {rate: (fig.ratio(rate).numerator, fig.ratio(rate).denominator) for rate in Rate}


# ----- periods -----


def test_periods_in_china_time_with_labels() -> None:
    assert NOVEMBER.start == datetime(2026, 11, 1, tzinfo=CHINA_TZ)
    assert NOVEMBER.end == datetime(2026, 12, 1, tzinfo=CHINA_TZ)
    assert NOVEMBER.label == "2026年11月"
    assert NOVEMBER.previous() == Period.month(2026, 10)
    assert Period.month(2027, 1).previous().label == "2026年12月"
    assert Period.month(2026, 12).end == datetime(2027, 1, 1, tzinfo=CHINA_TZ)

    day = Period.day(date(2026, 11, 30))
    assert (day.label, day.start, day.end) == (
        "2026-11-30",
        datetime(2026, 11, 30, tzinfo=CHINA_TZ),
        datetime(2026, 12, 1, tzinfo=CHINA_TZ),
    )
    assert Period.day(date(2026, 3, 1)).previous().label == "2026-02-28"

    week = Period.iso_week(2026, 48)  # Monday 23 November to Sunday 29 November
    assert (week.label, week.start, week.end) == (
        "2026年第48周",
        datetime(2026, 11, 23, tzinfo=CHINA_TZ),
        datetime(2026, 11, 30, tzinfo=CHINA_TZ),
    )
    assert Period.iso_week(2027, 1).previous().label == "2026年第53周"  # 2026 has 53 ISO weeks
    assert Period.containing(at(11, 30), "week").label == "2026年第49周"

    # Start inclusive, end exclusive; 2026-11-30 16:30 UTC is 2026-12-01 00:30 in China.
    assert NOVEMBER.contains(at(11, 1, 0))
    assert not NOVEMBER.contains(at(12, 1, 0))
    assert not NOVEMBER.contains(datetime(2026, 11, 30, 16, 30, tzinfo=UTC))
    assert not NOVEMBER.contains(None)
    with pytest.raises(ValueError, match="month: 13"):
        Period.month(2026, 13)


# ----- the figures -----


def test_november_counts() -> None:
    fig = figures(sample_facts(), NOVEMBER, POLICY)
    # 受理量: received in [11-01 00:00, 12-01 00:00): T01 T02 T04 T05 T06 T07 T08 T09 (at the start)
    # T10 T11 T12 T13 T14 = 13 (not T03 T15–T18: October; not T19: received exactly at the end).
    assert fig.received == 13
    # 办结量: 办结 or 直接答复 closed in November: T01 T02 T03 T04 T05 T06 T08 T09 T10 T18 (closed
    # exactly at the start) = 10 (not T07: closed exactly at the end; not T11: sent up).
    assert fig.closed == 10
    # 在办量 at 12-01 00:00: T07 (closed at the end, not before it), T13, T14, T17 (from October) = 4
    # (not T19: received at the end; not T11 (上转) nor T12 (并单)).
    assert fig.open == 4
    assert (fig.direct, fig.transferred, fig.merged) == (1, 1, 1)  # T10; T11; T12
    # Rated: 办结 in November and dispatched: T01 T02 T03 T04 T05 T06 T08 T09 T18 = 9 (T10 has none).
    assert fig.rated == 9
    # Clocked: the rounds of the dispatched tickets received in November: T01 T02 T04 T05 T06 T07 T08
    # T09 T11 (sent up later) T13 T14 = 11 (T10, T12 were never dispatched).
    assert fig.clocked == 11
    assert (fig.backlog, fig.verified_closed, fig.exempted) == (0, 0, 0)


def test_november_rates() -> None:
    fig = figures(sample_facts(), NOVEMBER, POLICY)
    assert rates(fig) == {
        # The clock rates are over the rounds of the tickets received in November, closed or not
        # (T01 T02 T04 T05 T06 T07 T08 T09; T11 T13 T14 have no clock stopped; T13 is due 12-02).
        # signed: all 8 known T → 8 of 8
        Rate.SIGN_FOR: (8, 8),
        # contacted: T05 F, T08 unknown, T01 T02 T04 T06 T07 T09 T → 6 of 7 known
        Rate.RESPONSE: (6, 7),
        # answered: T02 F, T09 F, the other 6 T → 6 of 8
        Rate.ON_TIME: (6, 8),
        # The callback rates are over the tickets closed (办结) in November (T01 T02 T03 T04 T05 T06 T08 T09 T18):
        # resolved: T03 F, T08 unknown → 7 of 8
        Rate.RESOLUTION: (7, 8),
        # satisfaction known for 8 (not T08): 满意 T01 T04 T05 T18 = 4, 基本满意 T02 T06 T09 = 3 → 7 of 8
        Rate.SATISFACTION: (7, 8),
        Rate.REDO: (1, 9),  # T03
        Rate.RETURN: (1, 9),  # T05
        Rate.EXTENSION: (2, 9),  # T02 T09
    }
    assert fig.response_rate == pytest.approx(6 / 7)
    assert fig.sign_for_rate == 1.0
    assert fig.on_time_rate == 0.75
    assert fig.resolution_rate == 0.875
    assert fig.satisfaction_rate == 0.875
    assert fig.redo_rate == pytest.approx(1 / 9)
    assert fig.return_rate == pytest.approx(1 / 9)
    assert fig.extension_rate == pytest.approx(2 / 9)
    dumped = fig.model_dump()
    assert dumped["resolution_rate"] == 0.875
    assert dumped["resolved"] == {"numerator": 7, "denominator": 8, "rate": 0.875}


def test_basic_satisfaction_policy_switch() -> None:
    strict = MetricsPolicy(basic_counts_as_satisfied=False)
    fig = figures(sample_facts(), NOVEMBER, strict)
    # 满意 alone: T01 T04 T05 T18 = 4 of the 8 known → 50%
    assert fig.satisfied == ratio(4, 8)
    assert fig.satisfaction_rate == 0.5
    # the other rates do not move
    assert fig.resolved == ratio(7, 8)


def test_october_and_empty_denominators() -> None:
    october = figures(sample_facts(), NOVEMBER.previous(), POLICY)
    # received in October: T03 T15 T16 T17 T18 = 5; closed: T15 T16 = 2 (T18 closed at 11-01 00:00,
    # October's end); open at 11-01 00:00: T03 (closed 11-02), T17, T18 (closed at the end, not before) = 3
    assert (october.received, october.closed, october.open, october.rated) == (5, 2, 3, 2)
    assert october.clocked == 5  # received in October: T03 T15 T16 T17 T18
    assert rates(october) == {
        Rate.SIGN_FOR: (3, 4),  # T03 late; T17's not recorded
        Rate.RESPONSE: (4, 4),
        Rate.ON_TIME: (3, 4),  # T16 late
        Rate.RESOLUTION: (1, 2),  # T16 unresolved
        Rate.SATISFACTION: (1, 2),  # T15 满意, T16 不满意
        Rate.REDO: (1, 2),  # T16
        Rate.RETURN: (0, 2),
        Rate.EXTENSION: (0, 2),
    }
    assert october.return_rate == 0.0  # a rate of zero is not "nothing to rate"

    september = figures(sample_facts(), Period.month(2026, 9), POLICY)
    assert september == Figures()  # nothing received, closed or open before October
    assert all(september.ratio(rate).rate is None for rate in Rate)
    assert september.response_rate is None and september.satisfaction_rate is None


def test_grouping_by_department() -> None:
    groups = by(sample_facts(), NOVEMBER, POLICY, "department")
    assert list(groups) == ["cgj", "gdgs", "zjj", NO_DEPARTMENT]  # by name, the undispatched last
    zjj, cgj, gdgs, none = groups["zjj"], groups["cgj"], groups["gdgs"], groups[NO_DEPARTMENT]
    # zjj: received T01 T02 T04 T11 = 4; closed T01 T02 T03 T04 = 4; open T17 = 1; T11 sent up
    assert (zjj.received, zjj.closed, zjj.open, zjj.transferred, zjj.rated) == (4, 4, 1, 1, 4)
    assert rates(zjj) == {
        # clocks: the rounds zjj held of tickets received in November: T01 T02 T04 (T11 none stopped)
        Rate.SIGN_FOR: (3, 3),
        Rate.RESPONSE: (3, 3),
        Rate.ON_TIME: (2, 3),  # T02 late
        # callbacks: zjj's tickets closed in November: T01 T02 T03 T04
        Rate.RESOLUTION: (3, 4),  # T03 unresolved
        Rate.SATISFACTION: (3, 4),  # 满意 T01 T04 + 基本满意 T02; T03 不满意
        Rate.REDO: (1, 4),
        Rate.RETURN: (0, 4),
        Rate.EXTENSION: (1, 4),
    }
    # cgj: received T05 T06 T07 T13 = 4; closed T05 T06 T18 = 3; open T07 T13 = 2
    assert (cgj.received, cgj.closed, cgj.open, cgj.rated) == (4, 3, 2, 3)
    assert cgj.contacted_on_time == ratio(2, 3)  # T05 late, T06 T07 on time (T13 not yet)
    assert cgj.satisfied == ratio(3, 3)  # T05 T18 满意, T06 基本满意
    assert cgj.returned == ratio(1, 3)
    # gdgs: received T08 T09 T14 = 3; closed T08 T09 = 2; open T14 = 1
    assert (gdgs.received, gdgs.closed, gdgs.open, gdgs.rated) == (3, 2, 1, 2)
    assert gdgs.contacted_on_time == ratio(1, 1)  # T08 unknown
    assert gdgs.answered_on_time == ratio(1, 2)  # T09 late
    assert gdgs.resolved == ratio(1, 1) and gdgs.satisfied == ratio(1, 1)
    # never dispatched: T10 (direct answer) and T12 (merged); nothing to rate
    assert (none.received, none.closed, none.direct, none.merged, none.rated) == (2, 1, 1, 1, 0)
    assert none.response_rate is None
    # the groups add up to the whole
    assert sum(g.received for g in groups.values()) == 13
    assert sum(g.closed for g in groups.values()) == 10
    assert sum(g.open for g in groups.values()) == 4


def test_grouping_by_street_category_and_urgency() -> None:
    facts = sample_facts()
    streets = by(facts, NOVEMBER, POLICY, "street")
    assert list(streets) == [QLS, BH]  # "千" (U+5343) before "滨" (U+6EE8)
    # 千里山镇: received T01 T02 T05 T08 T09 T11 T12 T13 = 8; closed T01 T02 T05 T08 T09 = 5; open T13 T17 = 2
    qls, bh = streets[QLS], streets[BH]
    assert (qls.received, qls.closed, qls.open, qls.rated) == (8, 5, 2, 5)
    assert qls.satisfied == ratio(4, 4)  # T01 T05 满意, T02 T09 基本满意; T08 unknown
    # 滨河街道: received T04 T06 T07 T10 T14 = 5; closed T03 T04 T06 T10 T18 = 5; open T07 T14 = 2
    assert (bh.received, bh.closed, bh.open, bh.rated) == (5, 5, 2, 4)
    assert bh.satisfied == ratio(3, 4)  # T03 不满意
    assert by(facts, NOVEMBER, MetricsPolicy(basic_counts_as_satisfied=False), "street")[QLS].satisfied == ratio(2, 4)

    categories = by(facts, NOVEMBER, POLICY, "category")
    received = {name: fig.received for name, fig in categories.items()}
    # 噪音污染 T01 T06 T07 T12; 城乡建设 T02 T05 T13; 供水供电 T08 T09 T14; 物业服务 T04 T10; 环境保护 T11
    assert received == {"供水供电": 3, "噪音污染": 4, "城乡建设": 3, "物业服务": 2, "环境保护": 1}
    assert NO_VALUE not in categories  # T19, the one without a category, is December's
    assert NO_VALUE in by(facts, Period.month(2026, 12), POLICY, "category")

    urgencies = by(facts, NOVEMBER, POLICY, "urgency")
    assert {k: (v.received, v.closed, v.open) for k, v in urgencies.items()} == {
        "一般": (11, 9, 3),  # 13 − T08 − T14; 10 − T08; 4 − T14
        "加急": (1, 1, 0),  # T08
        "紧急": (1, 0, 1),  # T14
    }


def test_department_is_the_last_holder() -> None:
    # A ticket returned by zjj and reassigned to cgj reports cgj: the facts carry the last holder,
    # and its return counts against cgj's 退单率 too (the count travels with the ticket).
    moved = done("M1", "cgj", QLS, "城乡建设", at(11, 2), at(11, 9), "TTTT", S, returns=1)
    groups = by([moved], NOVEMBER, POLICY, "department")
    assert list(groups) == ["cgj"]
    assert groups["cgj"].returned == ratio(1, 1)


# ----- the policy -----


def test_policy_defaults_and_validation() -> None:
    assert POLICY.weights.response == 30 and POLICY.weights.resolution == 35 and POLICY.weights.satisfaction == 35
    assert POLICY.whistle_deduction == {U: 2.0, B: 0.5}
    assert (POLICY.red_list.min_closed, POLICY.red_list.min_score, POLICY.red_list.size) == (5, 90, 3)
    assert (POLICY.black_list.min_closed, POLICY.black_list.max_score, POLICY.black_list.size) == (5, 75, 3)
    assert POLICY.top_categories == 5 and POLICY.basic_counts_as_satisfied

    # As a configuration section: Chinese keys for the weights and the evaluations.
    section = {"weights": {"响应": 40, "解决": 30, "满意": 30}, "whistle_deduction": {"不满意": 3}}
    policy = MetricsPolicy.model_validate(section)
    assert (policy.weights.response, policy.weights.resolution) == (40, 30)
    assert policy.whistle_deduction == {U: 3.0}

    with pytest.raises(ValidationError, match=r"weights: response \+ resolution \+ satisfaction must add up to 100"):
        MetricsPolicy.model_validate({"weights": {"response": 40, "resolution": 35, "satisfaction": 35}})
    with pytest.raises(ValidationError, match=r"weights\.extra"):
        MetricsPolicy.model_validate({"weights": {"extra": 1}})
    with pytest.raises(ValidationError, match="unknown"):
        MetricsPolicy.model_validate({"unknown": 1})
    with pytest.raises(ValidationError, match=r"red_list.min_score \(70\) must be above black_list.max_score \(75\)"):
        MetricsPolicy.model_validate({"red_list": {"min_score": 70}})
    with pytest.raises(ValidationError, match="whistle_deduction"):
        MetricsPolicy.model_validate({"whistle_deduction": {"不满意": -1}})


# ----- assessment -----


def scores_of_november(policy: MetricsPolicy = POLICY) -> tuple[list[Score], dict[str, Figures]]:
    departments = by(sample_facts(), NOVEMBER, policy, "department")
    return assessment(departments, EVALUATIONS, policy), departments


def test_assessment_weights_and_whistle_deductions() -> None:
    scores, _ = scores_of_november()
    by_code = {s.department: s for s in scores}
    assert [s.department for s in scores] == ["gdgs", "cgj", "zjj", "rsj"]  # best first, unscored last
    assert [s.rank for s in scores] == [1, 2, 3, None]
    assert NO_DEPARTMENT not in by_code  # the undispatched are no department

    zjj = by_code["zjj"]
    # 响应 4/4 × 30 = 30.00; 解决 3/4 × 35 = 26.25; 满意 3/4 × 35 = 26.25; sum 82.50
    assert (zjj.response_points, zjj.resolution_points, zjj.satisfaction_points) == (30.0, 26.25, 26.25)
    assert (zjj.response_rate, zjj.resolution_rate, zjj.satisfaction_rate) == (1.0, 0.75, 0.75)
    # whistle: 不满意 2.0 + 基本满意 0.5 = 2.5 → 82.50 − 2.5 = 80.00
    assert zjj.whistle_counts == {S: 0, B: 1, U: 1}
    assert zjj.whistle_deduction == 2.5
    assert zjj.total == 80.0
    assert (zjj.closed, zjj.rated) == (4, 4)

    cgj = by_code["cgj"]
    # 响应 2/3 × 30 = 20.00; 解决 3/3 × 35 = 35; 满意 3/3 × 35 = 35; 满意 evaluation costs 0 → 90.00
    assert (cgj.response_points, cgj.resolution_points, cgj.satisfaction_points) == (20.0, 35.0, 35.0)
    assert (cgj.whistle_deduction, cgj.total) == (0.0, 90.0)

    gdgs = by_code["gdgs"]
    # 1/1, 1/1, 1/1 → 100; two 基本满意 × 0.5 = 1.0 → 99.00
    assert (gdgs.whistle_counts[B], gdgs.whistle_deduction, gdgs.total) == (2, 1.0, 99.0)

    rsj = by_code["rsj"]  # evaluated in a whistle but closed nothing: 样本不足
    assert rsj.total is None and not rsj.scored
    assert rsj.response_points is None and rsj.whistle_counts[S] == 1
    assert INSUFFICIENT == "样本不足"


def test_assessment_with_other_weights_and_no_basic_satisfaction() -> None:
    policy = MetricsPolicy(
        basic_counts_as_satisfied=False,
        weights={"response": 20, "resolution": 40, "satisfaction": 40},
        whistle_deduction={U: 5.0},
    )
    scores, _ = scores_of_november(policy)
    zjj = next(s for s in scores if s.department == "zjj")
    # 响应 1 × 20 = 20; 解决 0.75 × 40 = 30; 满意 (满意 alone) 2/4 × 40 = 20; − 不满意 5 (基本满意 now 0) = 65
    assert (zjj.response_points, zjj.resolution_points, zjj.satisfaction_points) == (20.0, 30.0, 20.0)
    assert (zjj.whistle_deduction, zjj.total) == (5.0, 65.0)


def test_a_department_missing_a_rate_gets_no_score() -> None:
    # Closed one ticket whose callback is not recorded: 解决率 and 满意率 have no denominator.
    fact = done("X1", "sw", QLS, "供水供电", at(11, 2), at(11, 3), "TT??", None)
    scores = assessment(by([fact], NOVEMBER, POLICY, "department"), {}, POLICY)
    assert len(scores) == 1
    assert scores[0].response_points == 30.0 and scores[0].resolution_points is None
    assert scores[0].total is None and scores[0].rank is None


def test_a_score_is_never_below_zero() -> None:
    fact = done("X1", "sw", QLS, "供水供电", at(11, 2), at(11, 3), "FFFF", U)  # every rate 0
    scores = assessment(by([fact], NOVEMBER, POLICY, "department"), {"sw": [U]}, POLICY)
    assert scores[0].total == 0.0  # 0 − 2.0, floored at 0
    assert whistle_counts([]) == {S: 0, B: 0, U: 0}
    assert whistle_deduction([U, U, B], POLICY) == 4.5  # 2.0 + 2.0 + 0.5


# ----- red and black lists -----


def test_red_and_black_lists_by_the_default_rules() -> None:
    scores, departments = scores_of_november()
    # No department closed 5 tickets in November (zjj 4, cgj 3, gdgs 2): both lists are empty.
    assert red_and_black(scores, departments, POLICY) == ([], [])


def test_red_and_black_lists() -> None:
    policy = MetricsPolicy(
        red_list={"min_closed": 2, "min_score": 90, "size": 3},
        black_list={"min_closed": 2, "max_score": 85, "size": 3},
    )
    scores, departments = scores_of_november(policy)
    red, black = red_and_black(scores, departments, policy)
    # gdgs 99 and cgj 90 (at the threshold: in) are red; zjj 80 ≤ 85 is black; rsj has no score.
    assert [(s.department, s.total) for s in red] == [("gdgs", 99.0), ("cgj", 90.0)]
    assert [(s.department, s.total) for s in black] == [("zjj", 80.0)]

    stricter = policy.model_copy(update={"red_list": policy.red_list.model_copy(update={"min_closed": 3})})
    red, _ = red_and_black(scores, departments, stricter)
    assert [s.department for s in red] == ["cgj"]  # gdgs closed only 2

    one = policy.model_copy(update={"red_list": policy.red_list.model_copy(update={"size": 1})})
    red, _ = red_and_black(scores, departments, one)
    assert [s.department for s in red] == ["gdgs"]

    wide = policy.model_copy(update={"black_list": policy.black_list.model_copy(update={"max_score": 89.99})})
    _, black = red_and_black(scores, departments, wide)
    assert [s.department for s in black] == ["zjj"]  # worst first; cgj's 90 is above 89.99


def test_issue17_fact_tags_round_trip() -> None:
    from domain.facts import Fact, RoundFacts, TicketFacts, closure_tag, round_tags, scoped_tag

    first = RoundFacts(round=1, department="zjj", signed_on_time=True, contacted_on_time=False, resolved=False)
    tags = [
        *round_tags(first),
        scoped_tag(Fact.EXEMPTED, "cgj"),
        Fact.BACKLOG.value,
        closure_tag("已解释说明"),
        Fact.SIGNED_ON_TIME.value,
    ]
    found = TicketFacts.from_tags(
        tags, workflow_id="ticket-1", status="办结", received_at=datetime(2026, 12, 1, tzinfo=CHINA_TZ)
    )
    assert found.earlier_rounds == (first,)
    assert found.exempted == ("cgj",)
    assert found.backlog and not found.paused
    assert found.closure == "已解释说明"
    assert found.signed_on_time is True and found.contacted_on_time is None


# ----- issue 17: each rate's population, rounds, 免考核, 挂账, 核查结案 -----


def test_an_open_ticket_past_its_resolution_due_time_counts_late() -> None:
    # Stuck at 领导督办: contacted on time but never answered, its resolution due on 11-10. Before,
    # only closed tickets were rated and zjj stood at 100 % 按时办结率.
    stuck = ticket(
        "L1",
        TicketStatus.CONTACTED,
        at(11, 3),
        department="zjj",
        signed_on_time=True,
        contacted_on_time=True,
        resolve_due=at(11, 10),
        overdue=True,
        escalation="领导督办",
    )
    answered = done("L2", "zjj", QLS, "噪音污染", at(11, 4), at(11, 8), "TTTT", S)
    zjj = by([stuck, answered], NOVEMBER, POLICY, "department")["zjj"]
    assert zjj.answered_on_time == ratio(1, 2)  # L1 late, L2 on time
    assert zjj.contacted_on_time == ratio(2, 2)  # the open ticket's response counts too
    assert zjj.resolved == ratio(1, 1)  # the callback rates stay over closed tickets
    assert zjj.open == 1 and zjj.clocked == 2
    # The workflow's own 超时办结 tag (the clock ran out) says the same without the due time.
    tagged = stuck.model_copy(update={"resolve_due": None, "answered_on_time": False})
    assert figures([tagged], NOVEMBER, POLICY).answered_on_time == ratio(0, 1)
    # Not yet due at the period's end, or its clocks paused (暂停计时): not decided yet.
    later = stuck.model_copy(update={"resolve_due": at(12, 3), "overdue": False})
    assert figures([later], NOVEMBER, POLICY).answered_on_time == ratio(0, 0)
    paused = stuck.model_copy(update={"paused": True})
    assert figures([paused], NOVEMBER, POLICY).answered_on_time == ratio(0, 0)
    # Answered and waiting for its callback or for 核查: the answer's own tag decides, not the due time.
    waiting = stuck.model_copy(update={"status": TicketStatus.AWAITING_VERIFICATION})
    assert figures([waiting], NOVEMBER, POLICY).answered_on_time == ratio(0, 0)


def test_backlog_is_open_and_late_only_past_its_plan_date() -> None:
    # 挂账: the resolution clock is replaced by the plan date (HotlineResolveDue).
    planned = ticket(
        "B1",
        TicketStatus.CONTACTED,
        at(11, 2),
        department="zjj",
        backlog=True,
        resolve_due=datetime(2027, 6, 30, tzinfo=CHINA_TZ),
    )
    past = ticket("B2", TicketStatus.CONTACTED, at(11, 2), department="zjj", backlog=True, resolve_due=at(11, 25))
    plain = ticket("B3", TicketStatus.CONTACTED, at(11, 2), department="zjj", resolve_due=at(12, 20))
    fig = figures([planned, past, plain], NOVEMBER, POLICY)
    assert (fig.open, fig.backlog) == (3, 2)  # 在办 3, of which 挂账 2
    assert fig.answered_on_time == ratio(0, 1)  # B2 past its plan date; B1 before it; B3 not due
    closed_later = past.model_copy(update={"status": CLOSED, "closed_at": at(12, 2), "backlog": False})
    assert figures([closed_later], NOVEMBER, POLICY).backlog == 0  # closed: no longer 挂账


def test_each_round_counts_for_the_department_that_held_it() -> None:
    from domain.facts import RoundFacts

    # Two rounds at zjj (its first answer late and unresolved, then redone and late again), then
    # re-determined to cgj, who answered on time: the ticket is cgj's now, the first two rounds zjj's.
    moved = done(
        "R1",
        "cgj",
        QLS,
        "城乡建设",
        at(11, 2),
        at(11, 20),
        "TTTT",
        S,
        redo=1,
        returns=1,
        earlier_rounds=(
            RoundFacts(
                round=1,
                department="zjj",
                signed_on_time=True,
                contacted_on_time=False,
                answered_on_time=False,
                resolved=False,
            ),
            RoundFacts(round=2, department="zjj", signed_on_time=False, contacted_on_time=True, answered_on_time=False),
        ),
    )
    groups = by([moved], NOVEMBER, POLICY, "department")
    assert list(groups) == ["cgj", "zjj"]
    cgj, zjj = groups["cgj"], groups["zjj"]
    assert (cgj.received, cgj.closed, cgj.rated, cgj.clocked) == (1, 1, 1, 1)
    assert (cgj.signed_on_time, cgj.answered_on_time, cgj.resolved) == (ratio(1, 1), ratio(1, 1), ratio(1, 1))
    # zjj holds nothing now, but its two rounds count against it.
    assert (zjj.received, zjj.closed, zjj.open, zjj.rated, zjj.clocked) == (0, 0, 0, 0, 2)
    assert zjj.signed_on_time == ratio(1, 2)
    assert zjj.contacted_on_time == ratio(1, 2)
    assert zjj.answered_on_time == ratio(0, 2)
    assert zjj.resolution_rate is None  # the final verdict is the last department's
    # The whole counts every round once: 3 rounds, 1 ticket.
    whole = figures([moved], NOVEMBER, POLICY)
    assert (whole.received, whole.clocked) == (1, 3)
    assert whole.answered_on_time == ratio(1, 3)
    assert sum(g.clocked for g in groups.values()) == whole.clocked
    # zjj is assessed on what it has: no callback rate, so 样本不足.
    scores = {s.department: s for s in assessment(groups, {}, POLICY)}
    assert scores["zjj"].total is None and scores["zjj"].response_rate == 0.5


def test_an_exempted_ticket_counts_for_the_district_not_the_department() -> None:
    exempted = done("E1", "zjj", QLS, "噪音污染", at(11, 2), at(11, 9), "FFFF", U, exempted=("zjj",))
    others = [done(f"E{n}", "zjj", QLS, "噪音污染", at(11, 2 + n), at(11, 12 + n), "TTTT", S) for n in range(2, 7)]
    facts = [exempted, *others]
    whole = figures(facts, NOVEMBER, POLICY)
    assert (whole.received, whole.closed, whole.rated, whole.exempted) == (6, 6, 6, 1)
    assert whole.resolved == ratio(5, 6) and whole.contacted_on_time == ratio(5, 6)  # the district keeps it

    zjj = by(facts, NOVEMBER, POLICY, "department")["zjj"]
    assert (zjj.received, zjj.closed, zjj.exempted) == (6, 6, 1)  # still received and closed by zjj
    assert (zjj.rated, zjj.clocked) == (5, 5)  # but out of its rates
    assert zjj.resolved == ratio(5, 5) and zjj.contacted_on_time == ratio(5, 5)
    scores = assessment({"zjj": zjj}, {}, POLICY)
    assert scores[0].total == 100.0 and scores[0].rated == 5
    # 红黑榜 counts the department's rated tickets: 5 closed less the exempted one is below 6.
    strict = MetricsPolicy(red_list={"min_closed": 6, "min_score": 90, "size": 3})
    assert red_and_black(scores, {"zjj": zjj}, strict) == ([], [])
    assert red_and_black(scores, {"zjj": zjj}, POLICY)[0] == scores  # min_closed 5: on the red list

    # Exempted for another department (say, one that held an earlier round): zjj's rates keep it.
    elsewhere = exempted.model_copy(update={"exempted": ("cgj",)})
    assert by([elsewhere], NOVEMBER, POLICY, "department")["zjj"].resolved == ratio(0, 1)


def test_verified_closure_keeps_the_verdict_in_the_rates() -> None:
    # 核查结案: the centre closed these after an unresolved or unsatisfied callback; the verdict stays.
    kept = [
        done("V1", "zjj", QLS, "噪音污染", at(11, 2), at(11, 9), "TTTF", U, closure="已解释说明"),
        done("V2", "zjj", QLS, "噪音污染", at(11, 3), at(11, 9), "TTTT", U, closure="诉求不合理"),
        done("V3", "zjj", QLS, "噪音污染", at(11, 4), at(11, 9), "TTTT", S),
        done("V4", "zjj", QLS, "噪音污染", at(11, 5), at(11, 9), "TTTT", B),
    ]
    fig = figures(kept, NOVEMBER, POLICY)
    assert fig.verified_closed == 2
    assert fig.resolved == ratio(3, 4) and fig.resolution_rate == 0.75
    assert fig.satisfied == ratio(2, 4) and fig.satisfaction_rate == 0.5


def test_cumulative_period() -> None:
    until = datetime(2026, 12, 4, 16, 45, tzinfo=CHINA_TZ)
    period = Period.cumulative(date(2026, 1, 1), until)
    assert (period.kind, period.start, period.end) == ("cumulative", datetime(2026, 1, 1, tzinfo=CHINA_TZ), until)
    assert period.label == "截至 2026-12-04 16:45"
    with pytest.raises(ValueError, match="no previous"):
        period.previous()
    fig = figures(sample_facts(), period, POLICY)
    assert fig.received == 19  # every ticket of the sample (T19, received 12-01 00:00, too)
    # 办结 and 直接答复: T01–T09 (T07, closed 12-01 00:00, too), T10, T15, T16, T18 = 13; 在办: T13 T14 T17 T19
    assert (fig.closed, fig.open) == (13, 4)
    assert fig.received == fig.closed + fig.open + fig.transferred + fig.merged
