"""The district configuration: the bundled sample validates, and every mistake is reported as one
line naming the file and the key ("<file>: <key path>: <message>")."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import TypeAdapter, ValidationError

from activities.runtime.settings import CONFIG_ENV, ConfigError, bundled_config_path, load_config
from domain.calendar import Duration, Span
from domain.config import CalendarSettings, DistrictConfig, FileInboxAdapter, describe_validation_error
from domain.models import RequestKind
from tests.support.district import raw_config


@pytest.fixture(autouse=True)
def _no_config_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """load_config() without a flag must read the bundled file, whatever the caller's environment says."""
    monkeypatch.delenv(CONFIG_ENV, raising=False)


def span(text: str) -> Span:
    """A duration as the configuration writes it."""
    return TypeAdapter(Duration).validate_python(text)


def config_error(raw: dict[str, Any], source: str = "district.yaml") -> str:
    """The one-line description of why `raw` is not a valid configuration."""
    with pytest.raises(ValidationError) as info:
        DistrictConfig.model_validate(raw)
    return describe_validation_error(source, info.value)


# --- the bundled sample ----------------------------------------------------------------------


def test_bundled_config_validates() -> None:
    config = load_config()

    assert config.district == "海勃湾区"
    assert len(config.categories) >= 10
    assert len(config.departments) >= 10
    assert {d.code for d in config.departments} >= {"zjj", "cgj", "bhjd", "xhjd", "qlsz", "rsj"}
    assert all(isinstance(d.adapter, FileInboxAdapter) for d in config.departments)
    assert config.department("cgj").task_queue == "hotline-dept-cgj"  # the default queue name


def test_bundled_config_has_the_districts_streets_and_communities() -> None:
    config = load_config()
    streets = {s.name: s.communities for s in config.streets}

    assert set(streets) == {"千里山镇", "滨河街道", "新华街道"}
    assert "镇北社区" in streets["滨河街道"] and "中河园社区" in streets["滨河街道"]
    assert "新城社区" in streets["新华街道"]
    assert "王元地村" in streets["千里山镇"]


def test_bundled_config_people_and_urgencies() -> None:
    config = load_config()

    assert config.person("zhangli").role.value == "shift_lead"
    assert config.person("cgj_sun").department == "cgj"
    assert [u.name for u in config.urgencies] == ["紧急", "加急", "一般", "复杂"]
    assert config.urgency("紧急").description == "危及生命财产安全"
    with pytest.raises(KeyError):
        config.urgency("特急")


def test_every_person_acts_as_themselves_with_their_unit() -> None:
    """Person.actor() is the one way from a configured person to the actor on a command."""
    for person in load_config().people:
        actor = person.actor()
        assert actor.model_dump() == person.model_dump()  # id, name, role and the unit they belong to
        assert actor.misfit is None, person.id


def test_bundled_config_deadline_policy() -> None:
    config = load_config()
    policy = config.deadlines

    assert [t.name for t in policy.tiers] == ["紧急", "水电气暖", "加急", "咨询", "复杂", "一般"]
    assert policy.tier_for("紧急", "市容环卫", RequestKind.COMPLAINT).resolve == span("2h")
    general = policy.tiers[-1]
    assert (general.sign_for, general.contact, general.resolve) == (span("2h"), span("1wd"), span("7d"))
    assert policy.warnings == [0.5, 0.75]
    assert [(s.level, str(s.after), s.notify) for s in policy.ladder] == [
        ("催办", "0m", ["department", "shift_lead"]),
        ("督办", "1wd", ["department", "shift_lead"]),
        ("通报", "5wd", ["shift_lead", "leadership"]),
        ("领导督办", "10wd", ["leadership"]),
    ]
    assert policy.return_window == span("2wd")
    assert policy.extension.max_count == 1 and policy.extension.max == span("10wd")
    assert config.center.notifications.folder == "var/center"
    assert config.calendar == CalendarSettings()  # no local holidays: the package's calendar as it is


def test_load_config_reads_the_path_given(tmp_path: Path) -> None:
    path = tmp_path / "copy.yaml"
    raw = raw_config()
    raw["district"] = "乌达区"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")

    assert load_config(path).district == "乌达区"
    assert load_config(str(path)).district == "乌达区"


def test_load_config_follows_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "env.yaml"
    raw = raw_config()
    raw["district"] = "海南区"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    monkeypatch.setenv(CONFIG_ENV, str(path))

    assert load_config().district == "海南区"


# --- cross references name the key -----------------------------------------------------------


def test_duplicate_department_code_names_the_key() -> None:
    raw = raw_config()
    raw["departments"].append({"code": "cgj", "name": "另一个城管局", "adapter": {"type": "file_inbox", "folder": "x"}})
    index = len(raw["departments"]) - 1

    assert config_error(raw) == f"district.yaml: departments.{index}: duplicate 'cgj'"


def test_catalogue_line_with_unknown_department_names_the_key() -> None:
    raw = raw_config()
    raw["catalogue"][3]["department"] = "nope"

    assert config_error(raw) == "district.yaml: catalogue.3.department: unknown 'nope'"


def test_catalogue_line_with_unknown_category_names_the_key() -> None:
    raw = raw_config()
    raw["catalogue"].append({"category": "外星人", "department": "cgj"})
    index = len(raw["catalogue"]) - 1

    assert config_error(raw) == f"district.yaml: catalogue.{index}.category: unknown '外星人'"


def test_catalogue_line_with_unknown_street_names_the_key() -> None:
    raw = raw_config()
    raw["catalogue"][1]["street"] = "海北街道"

    assert config_error(raw) == "district.yaml: catalogue.1.street: unknown '海北街道'"


def test_simulated_adapter_actor_must_be_a_clerk_of_that_department() -> None:
    raw = raw_config()
    codes = [d["code"] for d in raw["departments"]]
    index = codes.index("cgj")
    raw["departments"][index]["adapter"] = {"type": "simulated", "actor": "zjj_li"}  # 住建局's clerk

    message = config_error(raw)

    assert message == f"district.yaml: departments.{index}.adapter.actor: 'zjj_li' is not a clerk of cgj"


def test_simulated_adapter_actor_must_have_the_clerk_role() -> None:
    raw = raw_config()
    index = [d["code"] for d in raw["departments"]].index("cgj")
    raw["departments"][index]["adapter"] = {"type": "simulated", "actor": "zhangli"}
    lead = next(p for p in raw["people"] if p["id"] == "zhangli")
    lead["department"] = "cgj"  # a shift lead who happens to name cgj is still no clerk

    assert config_error(raw) == f"district.yaml: departments.{index}.adapter.actor: 'zhangli' is not a clerk of cgj"


def test_simulated_adapter_with_its_own_clerk_is_accepted() -> None:
    raw = raw_config()
    index = [d["code"] for d in raw["departments"]].index("cgj")
    raw["departments"][index]["adapter"] = {"type": "simulated", "actor": "cgj_sun"}

    assert DistrictConfig.model_validate(raw).department("cgj").adapter.type == "simulated"


def test_webhook_without_secret_names_the_key() -> None:
    raw = raw_config()
    raw["departments"][1]["adapter"] = {"type": "webhook", "url": "https://cgj.example/hotline"}

    message = config_error(raw)

    assert message.startswith("district.yaml: departments.1.adapter.webhook: ")
    assert message.endswith("webhook adapter needs secret or secret_env")


def test_clerk_of_unknown_department_names_the_key() -> None:
    raw = raw_config()
    raw["people"].append({"id": "ghost", "name": "无名", "role": "clerk", "department": "xyz"})
    index = len(raw["people"]) - 1

    assert config_error(raw) == f"district.yaml: people.{index}.department: unknown 'xyz'"


def test_field_errors_name_the_nested_key() -> None:
    raw = raw_config()
    raw["deadlines"]["extension"]["max_count"] = -1

    message = config_error(raw)

    assert message.startswith("district.yaml: deadlines.extension.max_count: ")
    assert "greater than or equal to 0" in message


@pytest.mark.parametrize(
    ("section", "field", "value"),
    [
        (("urgencies", 0), "resolve_hours", 2),
        (("urgencies", 0), "sign_for_hours", 0.5),
        (("center",), "return_window_hours", 48),
        (("center",), "max_extensions", 1),
        (("center",), "max_extension_hours", 240),
    ],
)
def test_fields_of_the_hour_based_policy_are_refused_by_name(
    section: tuple[str | int, ...], field: str, value: float
) -> None:
    """A configuration written for the first release fails loudly instead of being silently ignored."""
    raw = raw_config()
    target: Any = raw
    for part in section:
        target = target[part]
    target[field] = value
    key = ".".join(str(part) for part in (*section, field))

    assert config_error(raw) == f"district.yaml: {key}: Extra inputs are not permitted"


def test_bad_duration_names_the_key() -> None:
    raw = raw_config()
    raw["deadlines"]["tiers"][0]["resolve"] = "5 weeks"

    assert config_error(raw) == (
        "district.yaml: deadlines.tiers.0.resolve: '5 weeks' is not a duration like 30m, 2h, 7d or 5wd (working days)"
    )


def test_tier_with_unknown_category_names_the_key() -> None:
    raw = raw_config()
    raw["deadlines"]["tiers"][1]["match"]["category"] = ["外星人"]

    assert config_error(raw) == "district.yaml: deadlines.tiers.1.match.category: unknown '外星人'"


def test_ladder_step_with_unknown_audience_names_the_key() -> None:
    raw = raw_config()
    raw["deadlines"]["ladder"][2]["notify"] = ["mayor"]

    assert config_error(raw).startswith("district.yaml: deadlines.ladder.2.notify.0: ")


def test_invalid_calendar_date_names_the_key() -> None:
    raw = raw_config()
    raw["calendar"]["holidays"] = ["2027-01-01", "2027-02-30"]

    assert config_error(raw).startswith("district.yaml: calendar.holidays.1: ")


# --- reading the file ------------------------------------------------------------------------


def test_load_config_on_broken_yaml_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("district: 海勃湾区\ncenter: {name: [unclosed\n", encoding="utf-8")

    with pytest.raises(ConfigError) as info:
        load_config(path)

    message = str(info.value)
    assert message.startswith(f"{path}:")
    assert "not valid YAML" in message


def test_load_config_on_missing_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "missing.yaml"

    with pytest.raises(ConfigError) as info:
        load_config(path)

    assert str(info.value).startswith(f"{path}: cannot read")


@pytest.mark.parametrize("text", ["- a\n- b\n", "just text\n", ""])
def test_load_config_on_wrong_top_level_names_the_file(tmp_path: Path, text: str) -> None:
    path = tmp_path / "list.yaml"
    path.write_text(text, encoding="utf-8")

    with pytest.raises(ConfigError) as info:
        load_config(path)

    assert str(info.value) == f"{path}: expected a mapping at the top level"


def test_load_config_on_invalid_config_names_the_file_and_key(tmp_path: Path) -> None:
    raw = raw_config()
    raw["catalogue"][0]["department"] = "nope"
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")

    with pytest.raises(ConfigError) as info:
        load_config(path)

    assert str(info.value) == f"{path}: catalogue.0.department: unknown 'nope'"


def test_bundled_config_path_exists() -> None:
    assert bundled_config_path().is_file()


# --- the calendar override file --------------------------------------------------------------


def write_config(folder: Path, calendar: dict[str, Any]) -> Path:
    raw = raw_config()
    raw["calendar"] = calendar
    path = folder / "district.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


def test_calendar_override_file_is_merged_relative_to_the_config_file(tmp_path: Path) -> None:
    (tmp_path / "local").mkdir()
    (tmp_path / "local" / "2027.yaml").write_text(
        "holidays: [2027-01-01, 2026-06-01]\nworkdays: [2027-02-20]\ncomplete_years: [2027]\n"
        "names: {'2026-06-01': 区庆}\n",
        encoding="utf-8",
    )
    path = write_config(
        tmp_path,
        {"override_file": "local/2027.yaml", "holidays": ["2026-06-01", "2026-07-01"], "complete_years": [2027]},
    )

    settings = load_config(path).calendar

    assert settings.override_file == str((tmp_path / "local" / "2027.yaml").resolve())
    assert settings.holidays == [date(2026, 6, 1), date(2026, 7, 1), date(2027, 1, 1)]  # merged, no duplicates
    assert settings.workdays == [date(2027, 2, 20)]
    assert settings.complete_years == [2027]
    assert settings.names == {"2026-06-01": "区庆"}


def test_missing_calendar_override_file_names_the_key(tmp_path: Path) -> None:
    path = write_config(tmp_path, {"override_file": "nowhere.yaml"})

    with pytest.raises(ConfigError) as info:
        load_config(path)

    assert str(info.value).startswith(f"{path}: calendar.override_file: cannot read {tmp_path / 'nowhere.yaml'}")


def test_invalid_calendar_override_file_names_that_file_and_key(tmp_path: Path) -> None:
    (tmp_path / "extra.yaml").write_text("holidays: [someday]\n", encoding="utf-8")
    path = write_config(tmp_path, {"override_file": "extra.yaml"})

    with pytest.raises(ConfigError) as info:
        load_config(path)

    assert str(info.value).startswith(f"{(tmp_path / 'extra.yaml').resolve()}: holidays.0: ")
