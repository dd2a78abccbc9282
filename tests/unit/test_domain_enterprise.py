"""红色服务团's pure rules: enterprise ids (统一社会信用代码), planning against the configuration, and the
EnterpriseRecord state machine with its clocks, notices and deliveries. No Temporal, explicit times.

T0 is Monday 2026-11-30 09:00 China time; the three weeks after it have no holidays and no 调休
workdays, so a working day is Monday to Friday and counting by hand is easy.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from activities.runtime.calendar_source import calendar_for
from activities.runtime.settings import actor_for
from domain.calendar import CHINA_TZ, Span, Unit
from domain.config import DistrictConfig
from domain.deadlines import ClockEvent, ClockKind, TicketDeadlines
from domain.delivery import ItemDelivery, NoticeKind
from domain.enterprise import (
    AddItem,
    CloseItem,
    ConfirmItem,
    DeliveryState,
    EnterpriseRecord,
    EnterpriseStatus,
    ItemSpec,
    ItemStatus,
    NoteProgress,
    Outcome,
    OutcomeKind,
    RecordVisit,
)
from domain.enterprise_plan import (
    enterprise_for,
    item_deadlines,
    item_spec,
    plan_add_item,
    plan_reopen,
    plan_visit,
    team_member,
    unit_for,
)
from domain.intake import TicketRejected
from domain.models import Actor, Role, Satisfaction
from domain.records import ActionRefused
from domain.uscc import ALPHABET, WEIGHTS, EnterpriseId, check_character

MINING = "91150302MA0N8K2L3P"  # 海勃湾宏达矿业有限公司 (千里山镇), contact hd_zhang
ENERGY = "91150302MA0Q7W5R16"  # 乌海新能源科技有限公司, contact xny_qian
MINING_NAME = "海勃湾宏达矿业有限公司"
ZJJ = "区住房和城乡建设局"
CATEGORIES = "转型升级、生产经营、融资贷款、用工招聘、党的建设、政策咨询、其他"

T0 = datetime(2026, 11, 30, 9, 0, tzinfo=CHINA_TZ)  # a Monday
ENTERPRISE_ID: TypeAdapter[str] = TypeAdapter(EnterpriseId)


def dec(day: int, hour: int = 9, minute: int = 0, second: int = 0) -> datetime:
    """A moment of December 2026, China time."""
    return datetime(2026, 12, day, hour, minute, second, tzinfo=CHINA_TZ)


@pytest.fixture(scope="module")
def deadlines(config: DistrictConfig) -> TicketDeadlines:
    return item_deadlines(config, calendar_for(config.calendar, T0))


@pytest.fixture
def record(config: DistrictConfig, deadlines: TicketDeadlines) -> EnterpriseRecord:
    """海勃湾宏达矿业's record, opened at T0 in run-1, with no visit yet."""
    blank = EnterpriseRecord.open(enterprise_for(config, MINING), deadlines, T0)
    blank.begin_run("run-1", T0)
    return blank


def who(config: DistrictConfig, person_id: str) -> Actor:
    return actor_for(config, person_id)


def rejected(call: Callable[..., object], *args: Any, **kwargs: Any) -> str:
    """Call a planning function, expect TicketRejected and return its message."""
    with pytest.raises(TicketRejected) as info:
        call(*args, **kwargs)
    return str(info.value)


def refused(record: EnterpriseRecord, check: Callable[..., None], *args: object) -> str:
    """Call a check_* method, expect a refusal that changed nothing, and return its reason."""
    before = record.model_dump()
    with pytest.raises(ActionRefused) as info:
        check(*args)
    assert record.model_dump() == before
    return str(info.value)


def spec(config: DistrictConfig, need: str, unit: str = "zjj", person: str | None = "王科长", **extra: Any) -> ItemSpec:
    raw = {"need": need, "category": "生产经营", "unit": unit, "person": person, "measures": "对接企业，限期办理"}
    return item_spec(config, {**raw, **extra})


def visit_cmd(
    config: DistrictConfig,
    deadlines: TicketDeadlines,
    items: list[ItemSpec],
    *,
    on: date = T0.date(),
    members: tuple[str, ...] = ("hft_li", "hft_wang"),
    summary: str = "了解企业生产经营情况",
) -> RecordVisit:
    team = [who(config, m) for m in members]
    return RecordVisit(
        actor=team[0],
        visited_on=on,
        members=team,
        met=["总经理"],
        policies=["中小企业技改贴息政策"],
        summary=summary,
        items=items,
        deadlines=deadlines,
    )


def visit(
    record: EnterpriseRecord, cmd: RecordVisit, at: datetime = T0, today: date | None = None
) -> tuple[str, list[str]]:
    record.check_record_visit(cmd, today or at.date())
    return record.record_visit(cmd, at)


def add(
    record: EnterpriseRecord, config: DistrictConfig, visit_no: str, item: ItemSpec, at: datetime, by: str = "hft_li"
) -> str:
    cmd = plan_add_item(config, calendar_for(config.calendar, at), actor=who(config, by), visit_no=visit_no, item=item)
    record.check_add_item(cmd, at.date())
    return record.add_item(cmd, at)


def progress(record: EnterpriseRecord, config: DistrictConfig, by: str, item_no: str, at: datetime) -> None:
    cmd = NoteProgress(actor=who(config, by), item_no=item_no, text="已与企业对接")
    record.check_progress(cmd)
    record.note_progress(cmd, at)


def close_cmd(config: DistrictConfig, by: str, item_no: str) -> CloseItem:
    outcome = Outcome(kind=OutcomeKind.DONE, text="已协调解决", evidence=["办结回执"])
    return CloseItem(actor=who(config, by), item_no=item_no, outcome=outcome)


def close(record: EnterpriseRecord, config: DistrictConfig, by: str, item_no: str, at: datetime) -> None:
    cmd = close_cmd(config, by, item_no)
    record.check_close(cmd)
    record.close_item(cmd, at)


def confirm_cmd(config: DistrictConfig, by: str, item_no: str) -> ConfirmItem:
    return ConfirmItem(actor=who(config, by), item_no=item_no, satisfaction=Satisfaction.SATISFIED)


def confirm(record: EnterpriseRecord, config: DistrictConfig, by: str, item_no: str, at: datetime) -> None:
    cmd = confirm_cmd(config, by, item_no)
    record.check_confirm(cmd)
    record.confirm(cmd, at)


def reopen(
    record: EnterpriseRecord,
    config: DistrictConfig,
    by: str,
    item_no: str,
    at: datetime,
    within: str | None = None,
    reason: str = "问题未彻底解决",
) -> None:
    calendar = calendar_for(config.calendar, at)
    cmd = plan_reopen(config, calendar, actor=who(config, by), item_no=item_no, reason=reason, within=within)
    record.check_reopen(cmd)
    record.reopen(cmd, at)


def fire_next(record: EnterpriseRecord) -> tuple[str, ClockEvent]:
    """Fire the next clock event at its own time, as the workflow's timer would."""
    found = record.next_clock_event()
    assert found is not None
    item, event = found
    record.fire(item.item_no, event, event.at)
    return item.item_no, event


# ----- 统一社会信用代码 -----


@pytest.mark.parametrize("code", ["91330100716105852F", "9144030071526726XG"])
def test_real_credit_codes_pass(code: str) -> None:
    assert check_character(code[:17]) == code[17]
    assert ENTERPRISE_ID.validate_python(code) == code


def test_every_check_character_completes_the_weighted_sum_to_a_multiple_of_31() -> None:
    """GB 32100-2015: the check character's value plus the weighted sum of the other 17 is 0 mod 31,
    which gives every one of the 31 characters (0 and Y included) for some code."""
    seen = set()
    for n in range(200):
        first17 = f"9115030{n:03d}MA0N8K2"  # varying the registration number
        check = check_character(first17)
        total = sum(ALPHABET.index(c) * w for c, w in zip(first17, WEIGHTS, strict=True))
        assert (total + ALPHABET.index(check)) % 31 == 0
        assert ENTERPRISE_ID.validate_python(first17 + check) == first17 + check
        seen.add(check)
    assert seen == set(ALPHABET)


def test_a_wrong_check_character_is_refused_naming_the_right_one(config: DistrictConfig) -> None:
    with pytest.raises(ValidationError) as info:
        ENTERPRISE_ID.validate_python("91330100716105852A")
    assert "校验位错误" in str(info.value) and "应为 F" in str(info.value)

    message = rejected(enterprise_for, config, "9144030071526726XA", name="某公司")
    assert message.startswith("enterprise: ") and "应为 G" in message


def test_a_lower_case_credit_code_is_upper_cased(config: DistrictConfig) -> None:
    assert ENTERPRISE_ID.validate_python(" 9144030071526726xg ") == "9144030071526726XG"
    # … so it finds the configured enterprise written in capitals.
    enterprise = enterprise_for(config, MINING.lower())
    assert (enterprise.id, enterprise.name) == (MINING, MINING_NAME)


def test_a_configured_id_passes_as_written() -> None:
    assert ENTERPRISE_ID.validate_python("qy-001") == "qy-001"
    assert ENTERPRISE_ID.validate_python("Factory_7.b") == "Factory_7.b"
    assert ENTERPRISE_ID.validate_python("QIANLISHANMINING01") == "QIANLISHANMINING01"  # 18 characters, few digits


@pytest.mark.parametrize("typo", ["9115O302MA0N8K2L3P", "91150302MA0N8K2LIP", "91150302MA0S8K2L3P"])
def test_a_code_typed_with_a_letter_the_code_never_uses_is_refused(typo: str) -> None:
    """O for 0, I for 1, S for 5: otherwise the typo would open a second workflow for the enterprise."""
    with pytest.raises(ValidationError, match="格式不符"):
        ENTERPRISE_ID.validate_python(typo)


@pytest.mark.parametrize("value", ["qy 001", "企业001", "qy/001", "", "   ", "x" * 65])
def test_bad_characters_are_refused(value: str) -> None:
    with pytest.raises(ValidationError):
        ENTERPRISE_ID.validate_python(value)


# ----- planning against the configuration -----


def test_unit_for_a_department_or_an_official(config: DistrictConfig) -> None:
    unit, official = unit_for(config, "zjj")
    assert unit == {"kind": "department", "code": "zjj", "name": ZJJ, "task_queue": unit["task_queue"]}
    assert unit["task_queue"] and official is None

    unit, official = unit_for(config, "hft_wang")
    assert unit == {"kind": "official", "code": "hft_wang", "name": "王建业"} and official == "王建业"


def test_an_unknown_unit_is_refused_naming_the_field(config: DistrictConfig) -> None:
    assert rejected(unit_for, config, "nosuch").startswith("unit: unknown 'nosuch'")
    message = rejected(item_spec, config, {"need": "办证", "category": "生产经营", "unit": "nosuch"}, "items.2")
    assert message.startswith("items.2.unit: unknown 'nosuch'")


@pytest.mark.parametrize("person_id", ["zjj_li", "hd_zhang", "zhangli", "bhjd_street"])
def test_a_person_outside_the_team_cannot_be_the_unit(config: DistrictConfig, person_id: str) -> None:
    message = rejected(spec, config, "办证", unit=person_id)
    assert message.startswith("item.unit: ") and f"（{person_id}）不是红色服务团成员" in message


def test_a_person_outside_the_team_cannot_be_a_member(config: DistrictConfig) -> None:
    message = rejected(team_member, config, "zjj_li", "members.1")
    assert message.startswith("members.1: ") and "李建国（zjj_li）不是红色服务团成员" in message
    assert rejected(team_member, config, "nobody", "members.0").startswith("members.0: unknown person 'nobody'")

    member = team_member(config, "hft_ma", "members.0")
    assert (member.id, member.name, member.role) == ("hft_ma", "马晓燕", Role.SERVICE_TEAM)


def test_a_category_outside_red_service_is_refused_listing_the_choices(config: DistrictConfig) -> None:
    message = rejected(spec, config, "噪音扰民", category="噪音污染")  # a hotline category, not red_service's
    assert message.startswith("item.category: unknown '噪音污染'") and CATEGORIES in message
    for category in config.red_service.categories:
        assert spec(config, "办证", category=category).category == category


def test_unknown_keys_are_refused(config: DistrictConfig) -> None:
    raw = {"need": "办证", "category": "生产经营", "unit": "zjj", "person": "王科长", "deadline": "5wd"}
    message = rejected(item_spec, config, raw, "items.0")
    assert message.startswith("items.0.deadline: unknown key") and "need, category, unit" in message


@pytest.mark.parametrize("key", ["need", "category", "unit"])
def test_need_category_and_unit_are_required(config: DistrictConfig, key: str) -> None:
    raw = {"need": "办证", "category": "生产经营", "unit": "zjj", "person": "王科长", key: ""}
    assert rejected(item_spec, config, raw).startswith(f"item.{key}: required")


def test_a_department_item_needs_a_person(config: DistrictConfig) -> None:
    for person in (None, ""):
        assert rejected(spec, config, "办证", unit="zjj", person=person).startswith("item.person: required")


def test_an_official_item_defaults_the_person_to_the_official(config: DistrictConfig) -> None:
    item = spec(config, "政策申报辅导", unit="hft_wang", person=None)
    assert item.person == "王建业"
    assert (item.unit.kind, item.unit.code, item.unit.task_queue, item.unit.assignment) == (
        "official",
        "hft_wang",
        None,
        None,
    )
    assert spec(config, "政策申报辅导", unit="hft_wang", person="王团长").person == "王团长"


def test_within_and_due_on_together_are_refused(config: DistrictConfig) -> None:
    message = rejected(spec, config, "办证", within="5wd", due_on="2026-12-10")
    assert message.startswith("item") and "either within or due_on" in message
    assert rejected(spec, config, "办证", within="soon").startswith("item: within")


def test_a_configured_enterprise_comes_from_the_configuration(config: DistrictConfig) -> None:
    enterprise = enterprise_for(config, MINING, name="别的名字", street="新华街道")
    assert (enterprise.name, enterprise.street, enterprise.industry) == (MINING_NAME, "千里山镇", "采矿业")


def test_an_unconfigured_enterprise_needs_a_name_and_a_known_street(config: DistrictConfig) -> None:
    message = rejected(enterprise_for, config, "qy-001")
    assert message.startswith("enterprise: 'qy-001' 未在配置中登记")

    enterprise = enterprise_for(config, "qy-001", name="乌海某商贸有限公司", street="滨河街道")
    assert (enterprise.id, enterprise.name, enterprise.street) == ("qy-001", "乌海某商贸有限公司", "滨河街道")
    assert enterprise_for(config, "qy-001", name="乌海某商贸有限公司").street is None

    assert rejected(enterprise_for, config, "qy-001", name="某公司", street="火星街道") == "street: unknown '火星街道'"


def test_plan_visit_defaults_the_members_to_the_actor(config: DistrictConfig) -> None:
    calendar = calendar_for(config.calendar, T0)
    cmd = plan_visit(
        config,
        calendar,
        T0,
        actor=who(config, "hft_ma"),
        enterprise=enterprise_for(config, MINING),
        visited_on=T0.date(),
        members=[],
        met=["总经理"],
        policies=[],
        summary="",
        items=[spec(config, "办证")],
    )
    assert [m.id for m in cmd.members] == ["hft_ma"]
    assert cmd.deadlines == item_deadlines(config, calendar)


def plan(config: DistrictConfig, now: datetime, actor: str, members: list[str], **extra: Any) -> RecordVisit:
    args: dict[str, Any] = {
        "actor": who(config, actor),
        "enterprise": enterprise_for(config, MINING),
        "visited_on": now.astimezone(CHINA_TZ).date(),
        "members": members,
        "met": [],
        "policies": [],
        "summary": "",
        "items": [],
    }
    return plan_visit(config, calendar_for(config.calendar, now), now, **{**args, **extra})


def test_plan_visit_refuses_a_visit_in_the_future(config: DistrictConfig) -> None:
    message = rejected(plan, config, T0, "hft_li", [], visited_on=date(2026, 12, 1))
    assert message.startswith("拒绝记录走访") and "2026-12-01 晚于今天" in message
    # Today is the China day: 17:00 UTC on Nov 30 is already Dec 1 in Wuhai.
    late = datetime(2026, 11, 30, 17, 0, tzinfo=UTC)
    assert plan(config, late, "hft_li", [], visited_on=date(2026, 12, 1)).visited_on == date(2026, 12, 1)


def test_plan_visit_refuses_an_actor_or_member_outside_the_team(config: DistrictConfig) -> None:
    message = rejected(plan, config, T0, "zhangli", ["hft_li"])
    assert message.startswith("拒绝记录走访") and "无权操作" in message
    # With no members, the actor is the member, and is refused as one.
    assert rejected(plan, config, T0, "zhangli", []).startswith("members.0: 张丽（zhangli）不是红色服务团成员")
    assert rejected(plan, config, T0, "hft_li", ["hft_li", "cgj_sun"]).startswith("members.1: 孙浩（cgj_sun）")


def test_plan_visit_refuses_a_time_limit_already_past(config: DistrictConfig) -> None:
    items = [spec(config, "办证"), spec(config, "供地", due_on="2026-11-29")]
    message = rejected(plan, config, T0, "hft_li", [], items=items)
    assert "items.1.due_on" in message and "已过" in message


def test_plan_reopen_checks_the_reason_and_the_time_limit(config: DistrictConfig) -> None:
    calendar = calendar_for(config.calendar, T0)
    actor = who(config, "hd_zhang")
    cmd = plan_reopen(config, calendar, actor=actor, item_no="S1", reason="未解决", within="3wd")
    assert cmd.within == Span(amount=3, unit=Unit.WORKING_DAYS) and cmd.deadlines is not None
    message = rejected(plan_reopen, config, calendar, actor=actor, item_no="S1", reason="未解决", within="soon")
    assert message.startswith("reopen: within")
    message = rejected(plan_reopen, config, calendar, actor=actor, item_no="S1", reason="  ", within=None)
    assert message.startswith("reopen: reason")


# ----- the record: visits and items -----


def test_visits_and_items_are_numbered_across_visits(
    record: EnterpriseRecord, config: DistrictConfig, deadlines: TicketDeadlines
) -> None:
    first = visit_cmd(config, deadlines, [spec(config, "办证"), spec(config, "供地", unit="hft_wang", person=None)])
    assert visit(record, first) == ("V1", ["S1", "S2"])
    second = visit_cmd(config, deadlines, [spec(config, "招工", unit="rsj")], on=date(2026, 12, 2))
    assert visit(record, second, dec(2)) == ("V2", ["S3"])
    assert add(record, config, "V1", spec(config, "融资对接"), dec(3)) == "S4"

    assert [v.visit_no for v in record.visits] == ["V1", "V2"]
    assert record.visit("V1").item_nos == ["S1", "S2", "S4"] and record.visit("V2").item_nos == ["S3"]
    assert [i.item_no for i in record.items_of("V1")] == ["S1", "S2", "S4"]
    assert [(i.item_no, i.visit_no, i.status, i.round) for i in record.items] == [
        ("S1", "V1", ItemStatus.OPEN, 1),
        ("S2", "V1", ItemStatus.OPEN, 1),
        ("S3", "V2", ItemStatus.OPEN, 1),
        ("S4", "V1", ItemStatus.OPEN, 1),
    ]
    assert [a.action for a in record.actions] == ["走访", "列入服务清单", "列入服务清单", "走访"] + ["列入服务清单"] * 2
    assert record.status is EnterpriseStatus.FOLLOWING


def test_the_same_visit_twice_is_recorded_once(
    record: EnterpriseRecord, config: DistrictConfig, deadlines: TicketDeadlines
) -> None:
    visit(record, visit_cmd(config, deadlines, [spec(config, "办证")]))
    retry = visit_cmd(config, deadlines, [spec(config, "办证")])

    assert "该走访已记录为 V1" in refused(record, record.check_record_visit, retry, T0.date())
    # Another visit the same day (other members, another summary) is a visit of its own.
    other = visit_cmd(config, deadlines, [spec(config, "办证")], members=("hft_ma",), summary="回访")
    assert visit(record, other, T0 + timedelta(hours=5)) == ("V2", ["S2"])


def test_a_visit_is_refused_for_someone_outside_the_team_or_in_the_future(
    record: EnterpriseRecord, config: DistrictConfig, deadlines: TicketDeadlines
) -> None:
    cmd = visit_cmd(config, deadlines, [], members=("hft_li", "zjj_li"))
    assert "members.1" in refused(record, record.check_record_visit, cmd, T0.date())
    cmd = visit_cmd(config, deadlines, [], members=("zhangli",))
    assert "拒绝记录走访" in refused(record, record.check_record_visit, cmd, T0.date())
    cmd = visit_cmd(config, deadlines, [], on=date(2026, 12, 1))
    assert "晚于今天" in refused(record, record.check_record_visit, cmd, T0.date())


def test_adding_the_same_item_twice_is_refused(
    record: EnterpriseRecord, config: DistrictConfig, deadlines: TicketDeadlines
) -> None:
    visit(record, visit_cmd(config, deadlines, [spec(config, "办证")]))
    add(record, config, "V1", spec(config, "供地"), dec(1))
    again = AddItem(actor=who(config, "hft_ma"), visit_no="V1", item=spec(config, "供地", person="另一位"))

    assert "该事项已记录为 S2" in refused(record, record.check_add_item, again, dec(1).date())
    # The same need for another unit is another item.
    assert add(record, config, "V1", spec(config, "供地", unit="cgj"), dec(1)) == "S3"


def test_an_item_is_added_only_to_a_known_visit_by_the_team(
    record: EnterpriseRecord, config: DistrictConfig, deadlines: TicketDeadlines
) -> None:
    visit(record, visit_cmd(config, deadlines, []))
    cmd = AddItem(actor=who(config, "hft_li"), visit_no="V9", item=spec(config, "办证"))
    assert f"{MINING_NAME} 没有走访 V9" in refused(record, record.check_add_item, cmd, T0.date())

    cmd = AddItem(actor=who(config, "zjj_li"), visit_no="V1", item=spec(config, "办证"))
    reason = refused(record, record.check_add_item, cmd, T0.date())
    assert reason.startswith("拒绝新增事项") and "仅限红色服务团" in reason


def test_a_department_item_is_progressed_and_closed_only_by_its_clerks(
    record: EnterpriseRecord, config: DistrictConfig, deadlines: TicketDeadlines
) -> None:
    visit(record, visit_cmd(config, deadlines, [spec(config, "办证")]))
    for outsider in ("cgj_sun", "hft_li", "hd_zhang", "zhangli"):
        note = NoteProgress(actor=who(config, outsider), item_no="S1", text="已对接")
        reason = refused(record, record.check_progress, note)
        assert reason.startswith("拒绝记录进展") and f"不是事项 S1 的责任单位，仅限{ZJJ}的" in reason
        assert "拒绝办结" in refused(record, record.check_close, close_cmd(config, outsider, "S1"))

    progress(record, config, "zjj_zhao", "S1", dec(1))  # either clerk of zjj
    close(record, config, "zjj_li", "S1", dec(2))
    assert [a.action for a in record.actions][-2:] == ["进展", "办结"]
    assert record.item("S1").status is ItemStatus.AWAITING_CONFIRMATION
    assert record.item("S1").progress[0].by.id == "zjj_zhao"


def test_an_official_item_is_progressed_and_closed_only_by_that_official(
    record: EnterpriseRecord, config: DistrictConfig, deadlines: TicketDeadlines
) -> None:
    visit(record, visit_cmd(config, deadlines, [spec(config, "政策申报辅导", unit="hft_wang", person=None)]))
    for outsider in ("hft_li", "zjj_li"):
        note = NoteProgress(actor=who(config, outsider), item_no="S1", text="已对接")
        assert "仅限王建业" in refused(record, record.check_progress, note)
        assert "仅限王建业" in refused(record, record.check_close, close_cmd(config, outsider, "S1"))

    progress(record, config, "hft_wang", "S1", dec(1))
    close(record, config, "hft_wang", "S1", dec(2))
    assert record.item("S1").outcome is not None and record.item("S1").outcome.by.id == "hft_wang"


def test_an_unknown_item_is_refused(
    record: EnterpriseRecord, config: DistrictConfig, deadlines: TicketDeadlines
) -> None:
    visit(record, visit_cmd(config, deadlines, [spec(config, "办证")]))
    note = NoteProgress(actor=who(config, "zjj_li"), item_no="S9", text="已对接")
    assert f"{MINING_NAME} 没有事项 S9" in refused(record, record.check_progress, note)
    assert "没有事项 S9" in refused(record, record.check_close, close_cmd(config, "zjj_li", "S9"))
    assert "没有事项 S9" in refused(record, record.check_confirm, confirm_cmd(config, "hd_zhang", "S9"))


def test_actions_in_the_wrong_state_are_refused(
    record: EnterpriseRecord, config: DistrictConfig, deadlines: TicketDeadlines
) -> None:
    visit(record, visit_cmd(config, deadlines, [spec(config, "办证")]))
    calendar = calendar_for(config.calendar, T0)
    contact = who(config, "hd_zhang")
    reopen_s1 = plan_reopen(config, calendar, actor=contact, item_no="S1", reason="未解决", within=None)

    reason = refused(record, record.check_confirm, confirm_cmd(config, "hd_zhang", "S1"))
    assert reason == "拒绝确认：事项 S1 当前为「办理中」，仅在「待企业确认」时可确认"
    assert "当前为「办理中」" in refused(record, record.check_reopen, reopen_s1)

    close(record, config, "zjj_li", "S1", dec(1))
    assert "当前为「待企业确认」，仅在「办理中」时可办结" in refused(
        record, record.check_close, close_cmd(config, "zjj_li", "S1")
    )
    note = NoteProgress(actor=who(config, "zjj_li"), item_no="S1", text="补充材料")
    assert "当前为「待企业确认」" in refused(record, record.check_progress, note)

    confirm(record, config, "hd_zhang", "S1", dec(2))
    assert "当前为「已确认」" in refused(record, record.check_confirm, confirm_cmd(config, "hd_zhang", "S1"))
    assert "当前为「已确认」" in refused(record, record.check_reopen, reopen_s1)


@pytest.mark.parametrize("person_id", ["hd_zhang", "hft_ma"])
def test_the_contact_or_a_team_member_confirms_and_reopens(
    record: EnterpriseRecord, config: DistrictConfig, deadlines: TicketDeadlines, person_id: str
) -> None:
    visit(record, visit_cmd(config, deadlines, [spec(config, "办证"), spec(config, "供地")]))
    close(record, config, "zjj_li", "S1", dec(1))
    close(record, config, "zjj_li", "S2", dec(1))

    confirm(record, config, person_id, "S1", dec(2))
    reopen(record, config, person_id, "S2", dec(2))
    assert record.item("S1").confirmation is not None and record.item("S1").confirmation.by.id == person_id
    assert record.item("S2").reopenings[0].by.id == person_id


@pytest.mark.parametrize("person_id", ["xny_qian", "zjj_li", "bhjd_street", "zhangli"])
def test_no_one_else_confirms_or_reopens(
    record: EnterpriseRecord, config: DistrictConfig, deadlines: TicketDeadlines, person_id: str
) -> None:
    visit(record, visit_cmd(config, deadlines, [spec(config, "办证")]))
    close(record, config, "zjj_li", "S1", dec(1))
    calendar = calendar_for(config.calendar, dec(2))
    cmd = plan_reopen(config, calendar, actor=who(config, person_id), item_no="S1", reason="未解决", within=None)

    reason = refused(record, record.check_confirm, confirm_cmd(config, person_id, "S1"))
    assert reason.startswith("拒绝确认") and f"仅限{MINING_NAME}的企业联系人" in reason
    assert refused(record, record.check_reopen, cmd).startswith("拒绝重新办理")


def test_a_visit_closes_when_every_item_from_it_is_confirmed(
    record: EnterpriseRecord, config: DistrictConfig, deadlines: TicketDeadlines
) -> None:
    visit(record, visit_cmd(config, deadlines, [spec(config, "办证"), spec(config, "供地")]))
    close(record, config, "zjj_li", "S1", dec(1))
    close(record, config, "zjj_li", "S2", dec(1))
    confirm(record, config, "hd_zhang", "S1", dec(2))
    assert record.visit("V1").closed_at is None and record.status is EnterpriseStatus.FOLLOWING

    confirm(record, config, "hd_zhang", "S2", dec(3))
    assert record.visit("V1").closed_at == dec(3) and record.status is EnterpriseStatus.SETTLED
    last = record.actions[-1]
    assert (last.action, last.detail, last.visit_no) == ("走访办结", "本次走访议定事项均已办结并经企业确认", "V1")

    # A need added to the visit afterwards opens it again, until that item is confirmed too.
    add(record, config, "V1", spec(config, "融资对接"), dec(4))
    assert record.visit("V1").closed_at is None and record.status is EnterpriseStatus.FOLLOWING
    close(record, config, "zjj_li", "S3", dec(7))
    confirm(record, config, "hd_zhang", "S3", dec(8))
    assert record.visit("V1").closed_at == dec(8)


def test_a_visit_without_items_is_closed_at_once(
    record: EnterpriseRecord, config: DistrictConfig, deadlines: TicketDeadlines
) -> None:
    assert visit(record, visit_cmd(config, deadlines, [])) == ("V1", [])
    assert record.visit("V1").closed_at == T0
    assert [(a.action, a.detail) for a in record.actions][-1] == ("走访办结", "本次走访未列服务清单事项")
    assert record.status is EnterpriseStatus.SETTLED

    add(record, config, "V1", spec(config, "办证"), dec(1))
    assert record.visit("V1").closed_at is None


def test_only_an_unconfirmed_item_is_reopened_so_its_visit_is_still_open(
    record: EnterpriseRecord, config: DistrictConfig, deadlines: TicketDeadlines
) -> None:
    """Reopening needs 「待企业确认」 and a visit closes only once all its items are 「已确认」, so an
    item of a closed visit cannot be reopened: the visit never needs reopening with it."""
    visit(record, visit_cmd(config, deadlines, [spec(config, "办证")]))
    close(record, config, "zjj_li", "S1", dec(1))
    reopen(record, config, "hd_zhang", "S1", dec(2))
    assert record.visit("V1").closed_at is None

    close(record, config, "zjj_li", "S1", dec(3))
    confirm(record, config, "hd_zhang", "S1", dec(4))
    assert record.visit("V1").closed_at == dec(4)
    calendar = calendar_for(config.calendar, dec(7))
    cmd = plan_reopen(config, calendar, actor=who(config, "hd_zhang"), item_no="S1", reason="又坏了", within=None)
    assert "当前为「已确认」" in refused(record, record.check_reopen, cmd)


# ----- clocks -----


def test_an_item_clock_counts_working_days_from_within(
    record: EnterpriseRecord, config: DistrictConfig, deadlines: TicketDeadlines
) -> None:
    items = [spec(config, "办证", within="5wd"), spec(config, "供地", within="3d"), spec(config, "招工", within="4h")]
    visit(record, visit_cmd(config, deadlines, items))
    assert record.item("S1").due_at == dec(7)  # Monday to Monday: the weekend is skipped
    assert record.item("S2").due_at == dec(3)  # natural days
    assert record.item("S3").due_at == T0 + timedelta(hours=4)
    # From a Friday, one working day is the Monday after.
    add(record, config, "V1", spec(config, "融资对接", within="1wd"), dec(4))
    assert record.item("S4").due_at == dec(7)
    assert all(i.clock.kind is ClockKind.ITEM and i.clock.round == 1 for i in record.items)


def test_an_item_clock_ends_with_the_day_of_due_on(
    record: EnterpriseRecord, config: DistrictConfig, deadlines: TicketDeadlines
) -> None:
    visit(record, visit_cmd(config, deadlines, [spec(config, "办证", due_on="2026-12-10")]))
    assert record.item("S1").due_at == dec(10, 23, 59, 59)
    assert record.item("S1").clock.started_at == T0


def test_an_item_clock_defaults_to_the_tier_limit(
    record: EnterpriseRecord, config: DistrictConfig, deadlines: TicketDeadlines
) -> None:
    assert deadlines.tier.resolve == Span(amount=15, unit=Unit.WORKING_DAYS)
    visit(record, visit_cmd(config, deadlines, [spec(config, "办证")]))
    assert record.item("S1").due_at == dec(21)  # three working weeks


def test_a_department_item_warns_then_climbs_the_ladder(
    record: EnterpriseRecord, config: DistrictConfig, deadlines: TicketDeadlines
) -> None:
    visit(record, visit_cmd(config, deadlines, [spec(config, "办证", within="5wd")]))
    record.outbox.clear()
    zjj = record.item("S1").spec.unit.assignment
    assert zjj is not None

    assert fire_next(record)[1].key == "warn0.5"
    assert fire_next(record)[1].key == "warn0.75"
    warnings = list(record.outbox)
    assert [(n.kind, n.department, n.audience, n.clock, n.due_at) for n in warnings] == [
        (NoticeKind.REMINDER, zjj, [], ClockKind.ITEM, dec(7)),
        (NoticeKind.REMINDER, zjj, [], ClockKind.ITEM, dec(7)),
    ]
    assert "已用去 50%" in warnings[0].text and "已用去 75%" in warnings[1].text
    assert record.escalations == [] and record.item("S1").escalation_level is None

    record.outbox.clear()
    _, urge = fire_next(record)
    assert (urge.at, urge.level) == (dec(7), "催办")
    assert [(n.kind, n.department, n.audience, n.level) for n in record.outbox] == [
        (NoticeKind.ESCALATION, zjj, [], "催办"),
        (NoticeKind.ESCALATION, None, ["shift_lead"], "催办"),
    ]
    _, supervise = fire_next(record)
    assert (supervise.at, supervise.level) == (dec(8), "督办")  # one working day after the due time
    assert record.item("S1").escalation_level == "督办"
    assert [(e.level, e.round, e.department, e.clock, e.due_at) for e in record.escalations] == [
        ("催办", 1, "zjj", ClockKind.ITEM, dec(7)),
        ("督办", 1, "zjj", ClockKind.ITEM, dec(7)),
    ]
    assert [a.action for a in record.actions][-4:] == ["预警", "预警", "催办", "督办"]


def test_the_warnings_come_at_half_and_three_quarters_of_the_time(
    record: EnterpriseRecord, config: DistrictConfig, deadlines: TicketDeadlines
) -> None:
    visit(record, visit_cmd(config, deadlines, [spec(config, "办证", within="5wd")]))
    found = record.next_clock_event()
    assert found is not None and found[1].at == dec(3, 21)  # half of the seven calendar days
    fire_next(record)
    found = record.next_clock_event()
    assert found is not None and found[1].at == dec(5, 15)
    assert record.item("S1").clock.fired == ["warn0.5"]


def test_later_steps_notify_as_the_ladder_says_until_none_is_left(
    record: EnterpriseRecord, config: DistrictConfig, deadlines: TicketDeadlines
) -> None:
    visit(record, visit_cmd(config, deadlines, [spec(config, "办证", within="5wd")]))
    for _ in range(4):  # two warnings, 催办, 督办
        fire_next(record)
    record.outbox.clear()

    _, report = fire_next(record)
    assert (report.at, report.level) == (dec(14), "通报")
    assert [(n.department, n.audience) for n in record.outbox] == [(None, ["shift_lead", "leadership"])]
    record.outbox.clear()
    _, leader = fire_next(record)
    assert (leader.at, leader.level) == (dec(21), "领导督办")
    assert [(n.department, n.audience) for n in record.outbox] == [(None, ["leadership"])]

    assert [e.level for e in record.escalations] == ["催办", "督办", "通报", "领导督办"]
    assert record.next_clock_event() is None


def test_an_official_item_warns_the_official(
    record: EnterpriseRecord, config: DistrictConfig, deadlines: TicketDeadlines
) -> None:
    item = spec(config, "政策申报辅导", unit="hft_wang", person=None, within="5wd")
    visit(record, visit_cmd(config, deadlines, [item]))
    record.outbox.clear()
    fire_next(record)
    fire_next(record)
    fire_next(record)  # 催办

    assert [(n.kind, n.department, n.audience, n.level) for n in record.outbox] == [
        (NoticeKind.REMINDER, None, ["official:hft_wang"], None),
        (NoticeKind.REMINDER, None, ["official:hft_wang"], None),
        (NoticeKind.ESCALATION, None, ["official:hft_wang"], "催办"),
        (NoticeKind.ESCALATION, None, ["shift_lead"], "催办"),
    ]
    assert [(e.level, e.department) for e in record.escalations] == [("催办", "hft_wang")]


def test_the_earliest_event_of_all_open_items_comes_first(
    record: EnterpriseRecord, config: DistrictConfig, deadlines: TicketDeadlines
) -> None:
    items = [spec(config, "办证"), spec(config, "供地", within="2wd")]
    visit(record, visit_cmd(config, deadlines, items))
    found = record.next_clock_event()
    assert found is not None and (found[0].item_no, found[1].key, found[1].at) == ("S2", "warn0.5", dec(1, 9))


def test_closing_stops_the_clock(record: EnterpriseRecord, config: DistrictConfig, deadlines: TicketDeadlines) -> None:
    items = [spec(config, "办证", within="5wd"), spec(config, "供地", within="2wd")]
    visit(record, visit_cmd(config, deadlines, items))
    fire_next(record)  # S2's first warning
    close(record, config, "zjj_li", "S2", dec(2, 9))  # exactly at its due time: on time

    s2 = record.item("S2")
    assert s2.clock.stopped_at == dec(2, 9) and s2.outcome is not None and s2.outcome.on_time
    found = record.next_clock_event()
    assert found is not None and found[0].item_no == "S1"

    close(record, config, "zjj_li", "S1", dec(7, 9, 1))  # a minute late
    s1 = record.item("S1")
    assert s1.outcome is not None and not s1.outcome.on_time and s1.clock.on_time is False
    assert record.actions[-1].detail.endswith("（超期）")
    assert record.next_clock_event() is None


def test_reopening_starts_round_two_with_a_fresh_clock_and_delivery(
    record: EnterpriseRecord, config: DistrictConfig, deadlines: TicketDeadlines
) -> None:
    visit(record, visit_cmd(config, deadlines, [spec(config, "办证", within="5wd")]))
    for _ in range(3):  # warnings and 催办 of round 1
        fire_next(record)
    close(record, config, "zjj_li", "S1", dec(8))
    reopen(record, config, "hd_zhang", "S1", dec(9, 10), within="3wd", reason="证照信息有误")

    item = record.item("S1")
    assert (item.status, item.round, item.escalation_level, item.outcome) == (ItemStatus.OPEN, 2, None, None)
    assert (item.clock.round, item.clock.started_at, item.due_at, item.clock.fired) == (2, dec(9, 10), dec(14, 10), [])
    assert item.reopenings[0].previous.round == 1 and item.reopenings[0].reason == "证照信息有误"
    assert record.actions[-1].action == "重新办理" and "新时限 2026-12-14 10:00" in record.actions[-1].detail

    assert [(d.round, d.idempotency_key) for d in record.deliveries] == [(1, f"{MINING}/S1#1"), (2, f"{MINING}/S1#2")]
    again = record.deliveries[-1]
    assert again.note == "企业要求重新办理：证照信息有误" and again.due_at == dec(14, 10)
    assert item.delivery is DeliveryState.SENDING

    found = record.next_clock_event()
    assert found is not None and found[1].key == "warn0.5" and found[1].at > dec(9, 10)


def test_a_reopened_item_keeps_its_own_limit_or_takes_the_tiers(
    record: EnterpriseRecord, config: DistrictConfig, deadlines: TicketDeadlines
) -> None:
    items = [spec(config, "办证", within="5wd"), spec(config, "供地", due_on="2026-12-04")]
    visit(record, visit_cmd(config, deadlines, items))
    for item_no in ("S1", "S2"):
        close(record, config, "zjj_li", item_no, dec(1))
        reopen(record, config, "hd_zhang", item_no, dec(2))

    assert record.item("S1").due_at == dec(9)  # its own 5wd, from the reopening
    # A date limit does not carry over to another round: the tier's 15wd applies.
    assert record.item("S2").due_at == dec(23)


def test_reopening_an_official_item_tells_the_official(
    record: EnterpriseRecord, config: DistrictConfig, deadlines: TicketDeadlines
) -> None:
    item = spec(config, "政策申报辅导", unit="hft_wang", person=None)
    visit(record, visit_cmd(config, deadlines, [item]))
    close(record, config, "hft_wang", "S1", dec(1))
    record.outbox.clear()
    reopen(record, config, "hd_zhang", "S1", dec(2), reason="材料不全")

    assert record.deliveries == []
    [notice] = record.outbox
    assert (notice.kind, notice.audience) == (NoticeKind.ENTERPRISE_ITEM, ["official:hft_wang"])
    assert notice.text.endswith("企业要求重新办理：材料不全")


# ----- deliveries -----


def test_a_department_item_queues_one_delivery(
    record: EnterpriseRecord, config: DistrictConfig, deadlines: TicketDeadlines
) -> None:
    visit(record, visit_cmd(config, deadlines, [spec(config, "办证", within="5wd")]))

    [delivery] = record.deliveries
    assert delivery.idempotency_key == f"{MINING}/S1#1"
    assert delivery.workflow_id == f"enterprise-{MINING}"
    assert (delivery.item_no, delivery.visit_no, delivery.round, delivery.note) == ("S1", "V1", 1, "")
    assert delivery.assignment == record.item("S1").spec.unit.assignment
    assert delivery.assignment is not None and delivery.assignment.department == "zjj"
    assert (delivery.need, delivery.person, delivery.measures, delivery.due_at) == (
        "办证",
        "王科长",
        "对接企业，限期办理",
        dec(7),
    )
    assert record.item("S1").delivery is DeliveryState.SENDING
    assert record.outbox == []


def test_an_official_item_queues_a_notice_not_a_delivery(
    record: EnterpriseRecord, config: DistrictConfig, deadlines: TicketDeadlines
) -> None:
    item = spec(config, "政策申报辅导", unit="hft_wang", person=None, within="5wd")
    visit(record, visit_cmd(config, deadlines, [item]))

    assert record.deliveries == [] and record.item("S1").delivery is DeliveryState.NONE
    [notice] = record.outbox
    assert (notice.kind, notice.department, notice.audience, notice.due_at) == (
        NoticeKind.ENTERPRISE_ITEM,
        None,
        ["official:hft_wang"],
        dec(7),
    )
    assert notice.text.startswith(f"{MINING_NAME} 服务清单事项 S1：政策申报辅导") and "对接企业" in notice.text


def test_delivered_updates_only_the_current_round(
    record: EnterpriseRecord, config: DistrictConfig, deadlines: TicketDeadlines
) -> None:
    visit(record, visit_cmd(config, deadlines, [spec(config, "办证")]))
    first: ItemDelivery = record.deliveries[0]
    record.delivered(first, "zjj/items/S1_round1.json")
    item = record.item("S1")
    assert (item.delivery, item.delivery_reference) == (DeliveryState.DELIVERED, "zjj/items/S1_round1.json")

    close(record, config, "zjj_li", "S1", dec(1))
    reopen(record, config, "hd_zhang", "S1", dec(2))
    assert record.item("S1").delivery is DeliveryState.SENDING
    record.delivered(first, "late-duplicate")  # a late answer about round 1
    assert record.item("S1").delivery is DeliveryState.SENDING

    record.delivered(record.deliveries[-1], "zjj/items/S1_round2.json")
    item = record.item("S1")
    assert (item.delivery, item.delivery_reference) == (DeliveryState.DELIVERED, "zjj/items/S1_round2.json")


def test_a_failed_delivery_tells_the_shift_lead(
    record: EnterpriseRecord, config: DistrictConfig, deadlines: TicketDeadlines
) -> None:
    visit(record, visit_cmd(config, deadlines, [spec(config, "办证")]))
    first = record.deliveries[0]
    record.delivery_failed(first, "接口超时", dec(1))

    assert record.item("S1").delivery is DeliveryState.FAILED
    [notice] = record.outbox
    assert (notice.kind, notice.department, notice.audience) == (NoticeKind.ITEM_FAILED, None, ["shift_lead"])
    assert "S1" in notice.text and ZJJ in notice.text and notice.text.endswith("接口超时")
    assert (record.actions[-1].action, record.actions[-1].actor.role) == ("派送失败", Role.SYSTEM)

    close(record, config, "zjj_li", "S1", dec(2))
    reopen(record, config, "hd_zhang", "S1", dec(3))
    record.outbox.clear()
    record.delivery_failed(first, "接口超时", dec(3, 10))  # round 1 failing again does not touch round 2
    assert record.item("S1").delivery is DeliveryState.SENDING
    assert [n.kind for n in record.outbox] == [NoticeKind.ITEM_FAILED]


def test_a_blocked_delivery_tells_the_shift_lead_once_and_again_when_it_gets_through(
    record: EnterpriseRecord, config: DistrictConfig, deadlines: TicketDeadlines
) -> None:
    visit(record, visit_cmd(config, deadlines, [spec(config, "办证")]))
    first = record.deliveries[0]
    record.delivery_blocked(first, "HTTP 503：系统维护中", dec(1, 9, 15), since=dec(1))

    item = record.item("S1")
    assert (item.delivery, item.blocked_since) == (DeliveryState.BLOCKED, dec(1))
    [alert] = record.outbox
    assert (alert.kind, alert.department, alert.audience) == (NoticeKind.DISPATCH_BLOCKED, None, ["shift_lead"])
    assert f"{MINING_NAME} 事项 S1（办证）派送受阻" in alert.text and ZJJ in alert.text
    assert "已连续 15 分钟无法接收" in alert.text and "系统继续重试" in alert.text
    assert (record.actions[-1].action, record.actions[-1].actor.role) == ("派送受阻", Role.SYSTEM)

    record.delivered(first, "ZJJ-1", dec(1, 12))
    item = record.item("S1")
    assert (item.delivery, item.delivery_reference, item.blocked_since) == (DeliveryState.DELIVERED, "ZJJ-1", None)
    assert [n.kind for n in record.outbox] == [NoticeKind.DISPATCH_BLOCKED, NoticeKind.DISPATCH_RESUMED]
    assert "受阻 3 小时后恢复送达" in record.outbox[-1].text
    assert record.actions[-1].action == "派送恢复"

    record.delivered(first, "ZJJ-1", dec(1, 12, 1))  # delivered without a block before: nothing to say
    assert len(record.outbox) == 2


# ----- runs -----


def test_runs_of_lists_the_runs_holding_an_item_in_order(
    record: EnterpriseRecord, config: DistrictConfig, deadlines: TicketDeadlines
) -> None:
    visit(record, visit_cmd(config, deadlines, [spec(config, "办证"), spec(config, "供地")]))
    record.begin_run("run-1", dec(1))  # the same run again: nothing new
    assert [r.run_id for r in record.runs] == ["run-1"]

    record.begin_run("run-2", dec(2))
    progress(record, config, "zjj_li", "S1", dec(2))
    close(record, config, "zjj_li", "S1", dec(3))

    assert record.run_id == "run-2" and [(r.run_id, r.started_at) for r in record.runs] == [
        ("run-1", T0),
        ("run-2", dec(2)),
    ]
    assert record.runs_of("S1") == ["run-1", "run-2"]
    assert record.runs_of("S2") == ["run-1"]
    assert record.item("S1").opened_in_run == "run-1"
    assert add(record, config, "V1", spec(config, "融资对接"), dec(3)) == "S3"
    assert record.item("S3").opened_in_run == "run-2" and record.runs_of("S3") == ["run-2"]


# ----- the enterprise's verdict (issue 17) -----


def test_unsatisfied_sends_the_item_back_to_its_department(
    record: EnterpriseRecord, config: DistrictConfig, deadlines: TicketDeadlines
) -> None:
    """不满意 is not a confirmation: as 未解决 does for a ticket, it sends the item back to its unit
    for a new round with a fresh time limit, and the visit is not closed (已办结) by it."""
    visit(record, visit_cmd(config, deadlines, [spec(config, "办证")]))
    close(record, config, "zjj_li", "S1", dec(1))
    first = record.item("S1").outcome
    verdict = ConfirmItem(
        actor=who(config, "hd_zhang"), item_no="S1", satisfaction=Satisfaction.UNSATISFIED, comment="办理拖延"
    )
    record.check_confirm(verdict)
    assert record.confirm(verdict, dec(2)) is True

    item = record.item("S1")
    assert (item.status, item.round, item.outcome, item.confirmation) == (ItemStatus.OPEN, 2, None, None)
    assert item.clock.round == 2 and item.clock.started_at == dec(2) and item.clock.stopped_at is None
    [back] = item.reopenings
    assert (back.verdict, back.reason, back.previous, back.by.id) == (
        Satisfaction.UNSATISFIED,
        "企业不满意：办理拖延",
        first,
        "hd_zhang",
    )
    assert record.visit("V1").closed_at is None and record.status is EnterpriseStatus.FOLLOWING
    # The department's system receives the item again, for round 2, with the enterprise's reason.
    again = record.deliveries[-1]
    assert (again.item_no, again.round, again.note) == ("S1", 2, "企业要求重新办理：企业不满意：办理拖延")
    assert [(a.action, a.detail.split("；")[0]) for a in record.actions[-2:]] == [
        ("企业确认", "不满意"),
        ("重新办理", "企业不满意：办理拖延"),
    ]
    # It can be confirmed only once it is closed again; then the visit closes.
    assert "当前为「办理中」" in refused(record, record.check_confirm, confirm_cmd(config, "hd_zhang", "S1"))
    close(record, config, "zjj_li", "S1", dec(3))
    confirm(record, config, "hd_zhang", "S1", dec(4))
    assert record.item("S1").status is ItemStatus.CONFIRMED and record.visit("V1").closed_at == dec(4)


def test_basic_satisfaction_confirms_and_the_first_rule_stays_for_old_workflows(
    record: EnterpriseRecord, config: DistrictConfig, deadlines: TicketDeadlines
) -> None:
    visit(record, visit_cmd(config, deadlines, [spec(config, "办证"), spec(config, "供地")]))
    close(record, config, "zjj_li", "S1", dec(1))
    close(record, config, "zjj_li", "S2", dec(1))
    basic = ConfirmItem(actor=who(config, "hd_zhang"), item_no="S1", satisfaction=Satisfaction.BASICALLY_SATISFIED)
    assert record.confirm(basic, dec(2)) is False
    assert record.item("S1").status is ItemStatus.CONFIRMED
    # An enterprise's workflow from before this rule replays as it ran: 不满意 confirmed the item.
    old = ConfirmItem(actor=who(config, "hd_zhang"), item_no="S2", satisfaction=Satisfaction.UNSATISFIED)
    assert record.confirm(old, dec(3), unsatisfied_sends_back=False) is False
    assert record.item("S2").confirmation is not None and record.item("S2").status is ItemStatus.CONFIRMED
    assert record.visit("V1").closed_at == dec(3)
