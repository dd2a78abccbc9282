"""The district's configuration as data: departments, streets, categories, urgencies, the dispatch
catalogue (派单目录), the knowledge base (知识库) and the people who may act.

Validated with pydantic; cross references (a catalogue line naming an unknown department, …) are
errors that name the key. Reading the file is the caller's job (see activities/runtime/settings.py).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from domain.calendar import Duration, Span, Unit
from domain.deadlines import DeadlinePolicy, Tier
from domain.metrics import MetricsPolicy
from domain.models import Actor, Role, unit_misfit
from domain.uscc import EnterpriseId

Code = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[a-z0-9_]+$")]


class Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class WebhookAdapter(Strict):
    """POST each delivery to the department's system, signed with HMAC-SHA256."""

    type: Literal["webhook"]
    url: Annotated[str, Field(pattern=r"^https?://")]
    secret: str | None = None
    secret_env: str | None = None  # name of an environment variable holding the secret
    timeout_s: float = Field(default=10.0, gt=0, le=120)

    @model_validator(mode="after")
    def _one_secret(self) -> WebhookAdapter:
        if not self.secret and not self.secret_env:
            raise ValueError("webhook adapter needs secret or secret_env")
        return self


class FileInboxAdapter(Strict):
    """Write each delivery as a JSON file into the department's folder."""

    type: Literal["file_inbox"]
    folder: str


class SimulatedAdapter(Strict):
    """Acts back on the ticket after delays, as a named clerk would (demo and tests)."""

    type: Literal["simulated"]
    actor: str  # person id of the clerk who acts
    sign_delay_s: float = Field(default=1.0, ge=0)
    contact_delay_s: float = Field(default=1.0, ge=0)
    answer_delay_s: float = Field(default=2.0, ge=0)
    # Fractions of tickets (chosen by a stable hash of ticket number and round) that take a detour.
    return_rate: float = Field(default=0.0, ge=0, le=1)
    extension_rate: float = Field(default=0.0, ge=0, le=1)
    unresolved_rate: float = Field(default=0.0, ge=0, le=1)
    # Tickets this clerk never touches, to show the warnings and the escalation ladder.
    never_answer: list[str] = Field(default_factory=list)


AdapterSettings = Annotated[WebhookAdapter | FileInboxAdapter | SimulatedAdapter, Field(discriminator="type")]


class Department(Strict):
    """承办单位."""

    code: Code
    name: str
    task_queue: str = ""
    adapter: AdapterSettings
    # The key its system signs HTTP API callbacks with (docs/api.md); without one, a webhook
    # adapter's secret is used, and a department with neither cannot use the API.
    callback_secret: str | None = None
    callback_secret_env: str | None = None  # name of an environment variable holding it

    @model_validator(mode="after")
    def _default_queue(self) -> Department:
        if not self.task_queue:
            object.__setattr__(self, "task_queue", f"hotline-dept-{self.code}")
        return self


class Street(Strict):
    """镇街 with its communities (社区/村)."""

    name: str
    communities: list[str] = Field(default_factory=list)


class Category(Strict):
    name: str
    description: str = ""


class Urgency(Strict):
    """An urgency level (紧急, 加急, 一般, 复杂); its time limits come from the deadline policy's tiers."""

    name: str
    description: str = ""


class CalendarSettings(Strict):
    """Local additions to the statutory calendar, and years it does not know yet.

    `override_file` (YAML with the same keys, relative to the configuration file) is read as well.
    A year listed in `complete_years` is taken as fully described by these lists (e.g. the next
    year once the State Council has published it, before the package knows it).
    """

    override_file: str | None = None
    holidays: list[date] = Field(default_factory=list)
    workdays: list[date] = Field(default_factory=list)
    complete_years: list[int] = Field(default_factory=list)
    names: dict[str, str] = Field(default_factory=dict)


class WhistleKind(Strict):
    """A kind of whistle (吹哨) and its limits: 报到 (report in) and 答卷 (answer)."""

    name: str
    report_in: Duration
    answer: Duration
    description: str = ""

    def tier(self) -> Tier:
        return Tier(name=f"{self.name}哨", sign_for=self.report_in, contact=self.report_in, resolve=self.answer)


def _default_whistle_kinds() -> list[WhistleKind]:
    # Nanjing 鼓楼 and Beijing 平谷 practice; the 24-hour contact of a work-advance whistle is part of 报到.
    return [
        WhistleKind(name="紧急", report_in="30m", answer="1wd", description="30 分钟内到场报到"),
        WhistleKind(name="推进", report_in="1h", answer="3wd", description="1 小时内报到，3 个工作日内答卷"),
        WhistleKind(name="难题", report_in="1wd", answer="5wd", description="5 个工作日内答卷"),
    ]


class CityLink(Strict):
    """The city centre (市域社会治理中心): where tickets are sent up and results reported back."""

    adapter: AdapterSettings = FileInboxAdapter(type="file_inbox", folder="var/city")
    # How long a ticket sent up waits for the city to return it or refuse it (市级退回 / 不予受理,
    # recorded by the shift lead) before it ends there (None: it ends when the city has it).
    reply_within: Duration | None = None


class CenterNotifications(Strict):
    """Where notices for the shift lead and district leaders go (催办/督办/通报 …)."""

    folder: str = "var/center"


class JointResponse(Strict):
    """紧急诉求联动处置: an urgent ticket of this category goes to the lead (by the catalogue) and to
    these departments at once, which assist it (协办)."""

    category: str
    urgency: str = "紧急"
    departments: list[str] = Field(min_length=1)


class CatalogueEntry(Strict):
    """派单目录: a category, optionally refined by street, goes to a department."""

    category: str
    street: str | None = None
    department: str


class KnowledgeEntry(Strict):
    """知识库: a 咨询 whose text contains every keyword is answered at intake."""

    id: str
    keywords: list[str] = Field(min_length=1)
    category: str | None = None
    answer: str


class Person(Strict):
    id: Code
    name: str
    role: Role
    department: str | None = None
    street: str | None = None
    enterprise: EnterpriseId | None = None  # for an enterprise's contact (企业联系人)

    def actor(self) -> Actor:
        """This person as the actor of an action (every command carries one)."""
        return Actor(
            id=self.id,
            name=self.name,
            role=self.role,
            department=self.department,
            street=self.street,
            enterprise=self.enterprise,
        )


class CallbackPolicy(Strict):
    """What follows an unresolved or 不满意 callback (fixed into each ticket at intake).

    By default the ticket waits for the centre's 核查 (待核查): 重办 or 核查结案. `auto_redo` keeps the
    earlier behaviour (every such callback redoes at once); `max_redo` caps the redo rounds, after
    which only 核查结案 or a consultation meeting is offered."""

    auto_redo: bool = False
    max_redo: int = Field(default=2, ge=0, le=10)


class SimulatedSurvey(CallbackPolicy):
    """A simulated callback survey: the citizen's answer arrives after a delay."""

    type: Literal["simulated"]
    actor: str
    delay_s: float = Field(default=1.0, ge=0)
    unresolved_rate: float = Field(default=0.0, ge=0, le=1)
    unsatisfied_rate: float = Field(default=0.0, ge=0, le=1)
    # Tickets whose citizen calls the first answer unresolved, whatever the rates (the demo's 核查).
    always_unresolved: list[str] = Field(default_factory=list)


class ManualSurvey(CallbackPolicy):
    """Callbacks are made by operators, who record them with `hotline center callback`."""

    type: Literal["manual"] = "manual"


class Center(Strict):
    """区域社会治理中心."""

    name: str
    task_queue: str = "hotline-center"
    callback: Annotated[SimulatedSurvey | ManualSurvey, Field(discriminator="type")] = ManualSurvey()
    notifications: CenterNotifications = CenterNotifications()
    # 疑难工单会商: a ticket returned or redone this many times is a 问题工单 and goes to a meeting.
    problem_threshold: int = Field(default=3, ge=1)
    attendance_window: Duration = Span(amount=1, unit=Unit.WORKING_DAYS)
    arbiter: str = "机构编制部门"  # or 司法行政部门: rules when a meeting cannot agree
    # 并单: a ticket of the same category at the same (normalised) address, received within this
    # window while the first is open, is merged into it instead of being dispatched again.
    merge_window: Duration = Span(amount=7, unit=Unit.DAYS)
    # 派遣受阻: a delivery to a department's system still failing this long after dispatch is reported
    # to the shift lead, and retried on (fixed into each ticket at intake).
    delivery_alert_after: Duration = Span(amount=15, unit=Unit.MINUTES)
    # 暂停计时: a pause the department does not end itself ends (the clocks resume) after this long.
    pause_limit: Duration = Span(amount=10, unit=Unit.WORKING_DAYS)
    city: CityLink = CityLink()
    # The centre's HTTP API key (docs/api.md): the hotline platform's intake, and reading every ticket.
    # Without one, intake through the API is refused.
    api_secret: str | None = None
    api_secret_env: str | None = None  # name of an environment variable holding it


class EnterpriseEntry(Strict):
    """An enterprise the red service team serves; its id is the credit code or a configured id."""

    id: EnterpriseId
    name: str
    street: str | None = None
    industry: str = ""


def _default_item_categories() -> list[str]:
    return ["转型升级", "生产经营", "融资贷款", "用工招聘", "党的建设", "政策咨询", "其他"]


class RedService(Strict):
    """红色服务团: the enterprises it serves and what its service-list items may be about.

    Each item's time limit is agreed at the visit; when none is given, the deadline policy's
    `enterprise_item` tier gives it, and its reminders and escalation ladder are the policy's.
    """

    team: str = "红色服务团"
    categories: list[str] = Field(default_factory=_default_item_categories, min_length=1)
    enterprises: list[EnterpriseEntry] = Field(default_factory=list)
    # An enterprise's workflow continues as new once its history has this many events.
    history_limit: int = Field(default=2000, ge=50, le=40000)


HourMinute = Annotated[str, Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")]


class ReportSchedule(Strict):
    """When the Schedules start each report (China time): 日报 daily, 周报 on Mondays, 月报 on the 1st."""

    daily: HourMinute = "08:00"
    weekly: HourMinute = "08:30"
    monthly: HourMinute = "09:00"


class ReportRecipient(Strict):
    """Who receives the reports: a folder the files are dropped into, or a webhook (signed JSON)."""

    name: str
    adapter: AdapterSettings


ReportFormat = Literal["png", "md", "html", "xlsx", "docx", "pdf", "csv"]  # pdf: where LibreOffice is installed


def _default_formats() -> list[ReportFormat]:
    return ["md", "html", "xlsx", "docx", "pdf", "csv"]


class ReportSettings(Strict):
    """日报预警, 周报督办, 月报分析: where the files go, to whom, when, and how figures are counted."""

    folder: str = "var/reports"
    # 办结台账: keep each past day's closed tickets in `folder`/ledger, so a month lists from
    # visibility only what is still open (activities/reports/ledger.py); off: every report lists it all.
    ledger: bool = True
    formats: list[ReportFormat] = Field(default_factory=_default_formats, min_length=1)
    recipients: list[ReportRecipient] = Field(default_factory=list)
    schedule: ReportSchedule = ReportSchedule()
    metrics: MetricsPolicy = MetricsPolicy()
    # 累计 (截至目前): counted from this day; None: from 1 January of the report's year.
    cumulative_since: date | None = None


class Open311Client(Strict):
    """A system that files requests through Open311, with its API key's argon2 hash (never the key:
    `hotline web open311-key` makes a key and its hash)."""

    name: str = Field(min_length=1, max_length=64)
    api_key_hash: str = Field(pattern=r"^\$argon2")


class Open311Service(Strict):
    """An Open311 service: its service_code and the category (类别) it files under."""

    code: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,32}$")
    category: str
    description: str = ""


class Open311Settings(Strict):
    """Open311 GeoReport v2 (/open311/v2/…): the jurisdiction, the clients and the services offered.
    No services listed: every category, coded by its position ("001", "002", …)."""

    jurisdiction_id: str = Field(min_length=1, max_length=64)
    clients: list[Open311Client] = Field(default_factory=list)
    services: list[Open311Service] = Field(default_factory=list)


class DistrictConfig(Strict):
    district: str
    center: Center
    departments: list[Department] = Field(min_length=1)
    streets: list[Street] = Field(min_length=1)
    categories: list[Category] = Field(min_length=1)
    urgencies: list[Urgency] = Field(min_length=1)
    catalogue: list[CatalogueEntry] = Field(default_factory=list)
    knowledge_base: list[KnowledgeEntry] = Field(default_factory=list)
    people: list[Person] = Field(default_factory=list)
    deadlines: DeadlinePolicy
    calendar: CalendarSettings = CalendarSettings()
    whistle_kinds: list[WhistleKind] = Field(default_factory=_default_whistle_kinds, min_length=1)
    joint_response: list[JointResponse] = Field(default_factory=list)
    red_service: RedService = RedService()
    reports: ReportSettings = ReportSettings()
    open311: Open311Settings | None = None  # None: no Open311 endpoint

    @model_validator(mode="after")
    def _open311_services(self) -> DistrictConfig:
        if self.open311 is not None:
            categories = {c.name for c in self.categories}
            _unique("open311.services", [s.code for s in self.open311.services])
            _unique("open311.clients", [c.name for c in self.open311.clients])
            for i, service in enumerate(self.open311.services):
                _known(f"open311.services.{i}.category", service.category, categories)
        return self

    @model_validator(mode="after")
    def _cross_references(self) -> DistrictConfig:
        _unique("departments", [d.code for d in self.departments])
        if "center" in {d.code for d in self.departments}:
            raise ValueError("departments: the code 'center' is reserved (it names the centre's API key)")
        _unique("streets", [s.name for s in self.streets])
        _unique("categories", [c.name for c in self.categories])
        _unique("urgencies", [u.name for u in self.urgencies])
        _unique("people", [p.id for p in self.people])
        _unique("knowledge_base", [k.id for k in self.knowledge_base])
        departments = {d.code for d in self.departments}
        streets = {s.name for s in self.streets}
        categories = {c.name for c in self.categories}
        people = {p.id: p for p in self.people}
        for i, line in enumerate(self.catalogue):
            _known(f"catalogue.{i}.category", line.category, categories)
            _known(f"catalogue.{i}.department", line.department, departments)
            if line.street is not None:
                _known(f"catalogue.{i}.street", line.street, streets)
        for i, entry in enumerate(self.knowledge_base):
            if entry.category is not None:
                _known(f"knowledge_base.{i}.category", entry.category, categories)
        for i, person in enumerate(self.people):
            if person.role is Role.CLERK:
                _known(f"people.{i}.department", person.department or "", departments)
            if person.role is Role.STREET:
                _known(f"people.{i}.street", person.street or "", streets)
            if person.role is Role.ENTERPRISE and not person.enterprise:
                raise ValueError(f"people.{i}.enterprise: an enterprise contact names the enterprise's id")
        for i, dept in enumerate(self.departments):
            if isinstance(dept.adapter, SimulatedAdapter):
                who = people.get(dept.adapter.actor)
                if who is None or who.role is not Role.CLERK or who.department != dept.code:
                    raise ValueError(
                        f"departments.{i}.adapter.actor: '{dept.adapter.actor}' is not a clerk of {dept.code}"
                    )
        urgencies = {u.name for u in self.urgencies}
        for i, rule in enumerate(self.joint_response):
            _known(f"joint_response.{i}.category", rule.category, categories)
            _known(f"joint_response.{i}.urgency", rule.urgency, urgencies)
            for code in rule.departments:
                _known(f"joint_response.{i}.departments", code, departments)
        for i, tier in enumerate(self.deadlines.tiers):
            for name in tier.match.urgency:
                _known(f"deadlines.tiers.{i}.match.urgency", name, urgencies)
            for name in tier.match.category:
                _known(f"deadlines.tiers.{i}.match.category", name, categories)
        _unique("red_service.categories", self.red_service.categories)
        _unique("red_service.enterprises", [e.id for e in self.red_service.enterprises])
        for i, enterprise in enumerate(self.red_service.enterprises):
            if enterprise.street is not None:
                _known(f"red_service.enterprises.{i}.street", enterprise.street, streets)
        if isinstance(self.center.callback, SimulatedSurvey):
            _known("center.callback.actor", self.center.callback.actor, set(people))
        for i, person in enumerate(self.people):
            # The workflows refuse an actor whose role and unit do not fit (docs/security.md).
            misfit = unit_misfit(person.role, person.department, person.street, person.enterprise)
            if misfit:
                raise ValueError(f"people.{i}.{misfit[0]}: {misfit[1]}")
        return self

    # Look-ups used by the CLI, workers and intake.
    def department(self, code: str) -> Department:
        for dept in self.departments:
            if dept.code == code:
                return dept
        raise KeyError(code)

    def person(self, person_id: str) -> Person:
        for person in self.people:
            if person.id == person_id:
                return person
        raise KeyError(person_id)

    def whistle_kind(self, name: str) -> WhistleKind:
        for kind in self.whistle_kinds:
            if kind.name == name:
                return kind
        raise KeyError(name)

    def enterprise(self, enterprise_id: str) -> EnterpriseEntry:
        for enterprise in self.red_service.enterprises:
            if enterprise.id == enterprise_id:
                return enterprise
        raise KeyError(enterprise_id)

    def urgency(self, name: str) -> Urgency:
        for urgency in self.urgencies:
            if urgency.name == name:
                return urgency
        raise KeyError(name)


class CenterAddress(Strict):
    """Where a department's worker reaches the centre: the Temporal frontend (in practice the
    district's access proxy) and the district's namespace."""

    address: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.\-\[\]:]+:[0-9]{1,5}$")]
    namespace: str = "default"


class DepartmentSite(Strict):
    """单位配置: all a department's own worker needs (its code, queue, adapter, people and the
    centre's address), and nothing else of the district. The district file stays the centre's;
    `DistrictConfig.department_site` cuts one out of it."""

    district: str
    center: CenterAddress
    department: Department
    people: list[Person] = Field(default_factory=list)  # its own clerks only

    @model_validator(mode="after")
    def _own_people(self) -> DepartmentSite:
        _unique("people", [p.id for p in self.people])
        for i, person in enumerate(self.people):
            if person.role is not Role.CLERK or person.department != self.department.code:
                raise ValueError(f"people.{i}: '{person.id}' is not a clerk of {self.department.code}")
        adapter = self.department.adapter
        if isinstance(adapter, SimulatedAdapter) and adapter.actor not in {p.id for p in self.people}:
            raise ValueError(f"department.adapter.actor: '{adapter.actor}' is not a clerk of {self.department.code}")
        return self

    def person(self, person_id: str) -> Person:
        for person in self.people:
            if person.id == person_id:
                return person
        raise KeyError(person_id)


def department_site(config: DistrictConfig, code: str, center: CenterAddress) -> DepartmentSite:
    """The department's own part of the district's configuration (KeyError: no such department)."""
    department = config.department(code)
    people = [p for p in config.people if p.role is Role.CLERK and p.department == code]
    return DepartmentSite(district=config.district, center=center, department=department, people=people)


def _unique(key: str, names: list[str]) -> None:
    seen: set[str] = set()
    for i, name in enumerate(names):
        if name in seen:
            raise ValueError(f"{key}.{i}: duplicate '{name}'")
        seen.add(name)


def _known(key: str, value: str, known: set[str]) -> None:
    if value not in known:
        raise ValueError(f"{key}: unknown '{value}'")


def describe_validation_error(source: str, error: ValidationError) -> str:
    """One line naming the source and the key of the first problem."""
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"])
    message = first["msg"].removeprefix("Value error, ")
    return f"{source}: {where}: {message}" if where else f"{source}: {message}"
