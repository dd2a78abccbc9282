"""Tickets (工单), actors and the records a ticket keeps.

Pure pydantic models shared by workflows, activities and the CLI. No I/O here: these modules
are passed through the workflow sandbox.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    model_validator,
)

from domain.uscc import EnterpriseId

# Data read back from a workflow's history (the project's payload converter validates with this
# context) was accepted under the rules of its day. Rules added later (marked below) are not applied
# to it, so a ticket received before them replays instead of failing to decode; every new input,
# which is validated without the context, meets them.
STORED = "stored"


def _is_stored(info: ValidationInfo) -> bool:
    return isinstance(info.context, dict) and info.context.get(STORED) is True


def _no_leading_dot(number: str, info: ValidationInfo) -> str:
    # Added later: "." and ".." are folders and ".x" a hidden file in a department's inbox.
    if number.startswith(".") and not _is_stored(info):
        raise ValueError("编号不能以点开头")
    return number


# Ticket numbers become workflow ids and file names (a department's inbox), so keep them to a safe
# alphabet, never starting with a dot.
SAFE_NUMBER = r"^[A-Za-z0-9._-]+$"
TicketNo = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=64, pattern=SAFE_NUMBER),
    AfterValidator(_no_leading_dot),
]
# Control characters other than tab and line breaks (NUL, ESC, …) and lone surrogates are no text:
# they would break terminals, exports (.xlsx refuses them) and JSON. Refused in every text field.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def _printable(text: str, info: ValidationInfo) -> str:
    found = _CONTROL.search(text)
    if found:
        raise ValueError(f"control character U+{ord(found.group()):04X} at position {found.start() + 1}")
    invisible = None if _is_stored(info) else _invisible(text)  # added later: see STORED
    if invisible is not None:
        raise ValueError(f"不可见字符或文字方向控制符 U+{ord(text[invisible]):04X}（第 {invisible + 1} 个字符）")
    return text


def _invisible(text: str) -> int | None:
    """Where the first format character is (Unicode category Cf: zero-width spaces, direction
    overrides such as U+202E, the byte-order mark, …), or None. They hide text or reorder what a
    reader sees. A zero-width joiner inside an emoji sequence (👨‍👩‍👧) is no trick and stays."""
    for index, ch in enumerate(text):
        if unicodedata.category(ch) != "Cf":
            continue
        if (
            ch == "\u200d"
            and 0 < index < len(text) - 1
            and _emoji_part(text[index - 1])
            and _emoji_part(text[index + 1])
        ):
            continue
        return index
    return None


def _emoji_part(ch: str) -> bool:
    """A pictograph, or the variation selector or skin tone that ends one."""
    return unicodedata.category(ch) in ("So", "Sk") or ch == "\ufe0f"


Printable = AfterValidator(_printable)
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), Printable]
LongText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000), Printable]
# A code or name the configuration knows (a department, street, queue, enterprise), as an update names
# it: bounded like ShortText, otherwise taken as it is (recorded histories replay unchanged).
Ref = Annotated[str, StringConstraints(max_length=200), Printable]
NoteText = Annotated[str, StringConstraints(max_length=1000), Printable]


YEARS = range(2000, 2100)  # the engine's calendar and clocks work within these years


def _plausible(day: date) -> date:
    """Outside YEARS a date is a typing error (and would overflow the date arithmetic)."""
    if day.year not in YEARS:
        raise ValueError(f"{day.isoformat()} is not between the years {YEARS.start} and {YEARS.stop - 1}")
    return day


# A time or a day a person or a file gives (a ticket's receipt, a scenario line, a visit, a due date).
Instant = Annotated[AwareDatetime, AfterValidator(_plausible)]
Day = Annotated[date, AfterValidator(_plausible)]


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RequestKind(StrEnum):
    """诉求类型."""

    COMPLAINT = "投诉"
    REQUEST = "求助"
    SUGGESTION = "建议"
    QUESTION = "咨询"
    REPORT = "举报"
    PRAISE = "表扬"


class Role(StrEnum):
    """Who may act; the workflow refuses an action whose role does not fit."""

    CLERK = "clerk"  # 承办单位经办人
    SHIFT_LEAD = "shift_lead"  # 值班长
    OPERATOR = "operator"  # 中心话务/回访员
    STREET = "street"  # 镇街工作人员
    ARBITER = "arbiter"  # 裁定机关 (机构编制部门 or 司法行政部门): rules when a meeting cannot agree
    SERVICE_TEAM = "service_team"  # 红色服务团成员: visits enterprises, may be named responsible for an item
    ENTERPRISE = "enterprise"  # 企业联系人: confirms or reopens its enterprise's items
    SYSTEM = "system"  # the centre's automatic steps


ROLE_LABELS: dict[Role, str] = {
    Role.CLERK: "承办单位经办人",
    Role.SHIFT_LEAD: "值班长",
    Role.OPERATOR: "中心回访员",
    Role.STREET: "镇街工作人员",
    Role.ARBITER: "裁定机关",
    Role.SERVICE_TEAM: "红色服务团成员",
    Role.ENTERPRISE: "企业联系人",
    Role.SYSTEM: "系统",
}


# The kind of unit each role belongs to: a department's people are its clerks, a street's its staff,
# an enterprise's its contacts. The centre's roles (shift lead, operator, arbiter, the red service
# team, the system) belong to no unit.
ROLE_UNITS: dict[Role, str] = {Role.CLERK: "department", Role.STREET: "street", Role.ENTERPRISE: "enterprise"}
UNIT_LABELS: dict[str, str] = {"department": "承办单位", "street": "镇街", "enterprise": "企业"}


def unit_misfit(
    role: Role, department: str | None, street: str | None, enterprise: str | None
) -> tuple[str, str] | None:
    """Whether a role and the units it names fit: (the field at fault, why) or None. A shift lead
    "of" a department, a clerk of no department or a team member "of" an enterprise is nobody the
    configuration can hold (docs/security.md)."""
    named = {"department": department, "street": street, "enterprise": enterprise}
    own = ROLE_UNITS.get(role)
    if own is not None and not named[own]:
        return own, f"{ROLE_LABELS[role]}须属于一个{UNIT_LABELS[own]}"
    for kind, value in named.items():
        if value and kind != own:
            return kind, f"{ROLE_LABELS[role]}不属于{UNIT_LABELS[kind]}"
    return None


class Actor(Frozen):
    """Who performed an action. Bound to a person in the configuration at the edge (CLI, gateway)."""

    id: ShortText
    name: ShortText
    role: Role
    department: Ref | None = None  # for clerks
    street: Ref | None = None  # for street staff
    enterprise: Ref | None = None  # for an enterprise's contact (its id)

    @property
    def label(self) -> str:
        unit = self.department or self.street or self.enterprise or "中心"
        return f"{self.name}({unit}·{ROLE_LABELS[self.role]})"

    @property
    def misfit(self) -> str | None:
        """Why this actor's role and unit cannot go together, or None when they fit."""
        found = unit_misfit(self.role, self.department, self.street, self.enterprise)
        return found[1] if found else None


SYSTEM_ACTOR = Actor(id="system", name="系统", role=Role.SYSTEM)


# A phone number as citizens give it: a mobile (138-0000-0000), a landline with its area code
# ((0473)1234567, 0473-1234567转8001), a local landline, a 400/800 number, or +86 / another country.
_PHONE_EXTENSION = re.compile(r"(?:转|分机|ext\.?|x|#)\s*(\d{1,6})$", re.IGNORECASE)
_PHONE_NUMBERS = (
    re.compile(r"1[3-9]\d{9}"),  # mobile
    re.compile(r"0\d{9,11}"),  # area code (010, 0473 …) and number
    re.compile(r"[2-9]\d{6,7}"),  # a local landline, without its area code
    re.compile(r"[48]00\d{7}"),  # 400 / 800 service numbers
    re.compile(r"(?:\+|00)?86[1-9]\d{8,10}"),  # +86, then a mobile or an area code without its 0
    re.compile(r"(?:\+|00)[1-9]\d{6,14}"),  # another country (E.164)
)


def _phone(text: str, info: ValidationInfo) -> str:
    if _is_stored(info):  # the rules of its day were the looser pattern below: see STORED
        return text
    folded = unicodedata.normalize("NFKC", text)  # full-width digits and brackets (（０４７３）) as ASCII
    core = _PHONE_EXTENSION.sub("", folded).strip()
    digits = re.sub(r"[\s()\-]", "", core)
    if not any(number.fullmatch(digits) for number in _PHONE_NUMBERS):
        raise ValueError("不是电话号码（手机 11 位，座机须有区号或 7–8 位号码，如 0473-1234567、0473-1234567转8001）")
    return text


Phone = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=32, pattern=r"^[0-9０-９+＋()（）\-－ 转分机extEXT.#]+$"
    ),
    AfterValidator(_phone),
]


class Citizen(Frozen):
    """诉求人. Personal data: never put into search attributes."""

    name: ShortText
    phone: Phone
    address: ShortText | None = None


class Enterprise(Frozen):
    """An enterprise the red service team (红色服务团) serves. Its id names its workflow."""

    id: EnterpriseId
    name: ShortText
    street: Ref | None = None
    industry: Ref = ""


class TicketSource(StrEnum):
    HOTLINE = "12345热线"
    CITY = "市级转办"  # from the city centre (市域社会治理中心): keeps the city's number, reports back
    OPEN311 = "网上诉求"  # filed by another system through Open311 GeoReport v2 (starter/web/open311.py)


class CityAction(StrEnum):
    """What the city centre says of a ticket, as the shift lead records it."""

    RETURN = "市级退回"  # a ticket sent up: returned to the district
    REFUSE = "市级不予受理"  # a ticket sent up: refused
    REDISPATCH = "市级重派"  # a ticket it sent down, closed by the district: to be done again


class GeoPoint(Frozen):
    """Where the problem is (WGS 84), as an Open311 client gives it."""

    lat: float = Field(ge=-90, le=90)
    long: float = Field(ge=-180, le=180)


class Ticket(Frozen):
    """A citizen's request as received by the hotline (受理信息)."""

    ticket_no: TicketNo
    received_at: Instant
    kind: RequestKind = RequestKind.COMPLAINT
    category: ShortText
    street: ShortText
    community: ShortText | None = None
    urgency: ShortText = "一般"
    title: ShortText
    content: LongText
    citizen: Citizen
    source: TicketSource = TicketSource.HOTLINE
    location: GeoPoint | None = None  # additive: histories from before it replay with None
    # 市级转办: the city's own deadline for the district (办理时限); it governs the resolution clock
    # of every round instead of the tier's. Additive: histories from before it replay with None.
    city_due_at: Instant | None = None

    @model_validator(mode="after")
    def _city_deadline(self) -> Ticket:
        if self.city_due_at is not None:
            if self.source is not TicketSource.CITY:
                raise ValueError(f"city_due_at: 仅{TicketSource.CITY.value}的工单带有市级办理时限")
            if self.city_due_at <= self.received_at:
                raise ValueError("city_due_at: 市级办理时限应晚于受理时间")
        return self


class TicketStatus(StrEnum):
    """User-facing statuses; also the value of the HotlineStatus search attribute."""

    AWAITING_DISPATCH = "待派遣"  # no route: waits for the shift lead
    DISPATCHING = "派遣中"
    DISPATCH_FAILED = "派遣失败"
    AWAITING_SIGN_FOR = "待签收"
    SIGNED = "已签收"
    CONTACTED = "已联系"
    RETURN_PENDING = "退单审批中"
    MERGED = "已并单"  # a repeat of an open ticket: handled with it, answered from it
    AWAITING_CALLBACK = "待回访"
    AWAITING_VERIFICATION = "待核查"  # the callback found it unresolved or unsatisfied: the centre decides
    CLOSED = "办结"
    ANSWERED_DIRECTLY = "直接答复"
    TRANSFERRED = "已上转市级"  # sent up to the city centre: outside the district's powers

    @property
    def is_final(self) -> bool:
        return self in (TicketStatus.CLOSED, TicketStatus.ANSWERED_DIRECTLY, TicketStatus.TRANSFERRED)


class ClosureCategory(StrEnum):
    """核查结案: why the centre closed a ticket the citizen called unresolved or unsatisfied."""

    EXPLAINED = "已解释说明"  # explained to the citizen; the demand cannot be met
    UNREASONABLE = "诉求不合理"
    BEYOND_POWERS = "超出职权范围"
    HISTORICAL = "历史遗留问题"
    DUPLICATE = "重复诉求"


class Satisfaction(StrEnum):
    SATISFIED = "满意"
    BASICALLY_SATISFIED = "基本满意"
    UNSATISFIED = "不满意"


class Assignment(Frozen):
    """The department a ticket is dispatched to, with what a worker needs to reach it."""

    department: Ref
    department_name: Ref
    task_queue: Ref


class ApprovalKind(StrEnum):
    RETURN = "退单"
    EXTENSION = "延期"
    EXEMPTION = "免考核"  # the ticket leaves the department's rates and assessment (not the district's totals)
    BACKLOG = "挂账"  # long-term backlog: the resolution clock runs to a plan date
    PAUSE = "暂停计时"  # waiting for the citizen: the clocks stand still until resumed


# The letter of each kind's approval numbers (R1, E2, X3, B4, P5): one sequence per ticket.
APPROVAL_PREFIX: dict[ApprovalKind, str] = {
    ApprovalKind.RETURN: "R",
    ApprovalKind.EXTENSION: "E",
    ApprovalKind.EXEMPTION: "X",
    ApprovalKind.BACKLOG: "B",
    ApprovalKind.PAUSE: "P",
}


class ExemptionReason(StrEnum):
    """免考核: why a ticket should not count against the department."""

    UNREASONABLE = "不合理诉求"
    FORCE_MAJEURE = "不可抗力"
    NOT_OURS = "非本单位职责"
    OTHER = "其他"


class PauseReason(StrEnum):
    """暂停计时: what the department waits for."""

    MATERIALS = "补充材料"  # the citizen is to supply documents
    AWAY = "不在家"  # the citizen cannot be reached or met for now
    OTHER = "其他"


class VerifyDecision(StrEnum):
    """核查: the centre's decision on a ticket the callback found unresolved or unsatisfied."""

    REDO = "重办"
    CLOSE = "核查结案"


class ApprovalState(StrEnum):
    PENDING = "待审批"
    APPROVED = "已批准"
    REJECTED = "已驳回"
    LAPSED = "已失效"  # the ticket left the requesting department before a decision


class ExceptionApproval(Frozen):
    """异常审批: a department's request and the shift lead's decision on it."""

    id: str
    kind: ApprovalKind
    department: str
    requested_by: Actor
    requested_at: datetime
    reason: str
    extension_hours: int | None = None  # first-release requests
    extension: str | None = None  # a duration such as "3wd" or "48h"
    category: str | None = None  # 免考核: an ExemptionReason; 暂停计时: a PauseReason
    evidence: str | None = None  # 免考核: the department's evidence
    plan_date: date | None = None  # 挂账: the day the department plans to have it done
    state: ApprovalState = ApprovalState.PENDING
    decided_by: Actor | None = None
    decided_at: datetime | None = None
    decision_note: str | None = None
    reassigned_to: str | None = None


class Answer(Frozen):
    """答复 (答卷): the department's result."""

    text: LongText
    resolved: bool
    evidence: list[ShortText] = Field(default_factory=list, max_length=20)


class Callback(Frozen):
    """回访 result as the citizen tells it."""

    resolved: bool
    satisfaction: Satisfaction
    note: NoteText | None = None

    @property
    def needs_redo(self) -> bool:
        return not self.resolved or self.satisfaction is Satisfaction.UNSATISFIED


class Action(Frozen):
    """One line of the ticket's record: who did what, when."""

    at: datetime
    actor: Actor
    action: str  # Chinese label, e.g. 签收
    detail: str = ""
    department: str | None = None


class Determination(Frozen):
    """确权: who leads (主办) and who assists (协办) on a ticket, decided by a consultation meeting,
    an arbiter's ruling, or on site by the centre (现场确权)."""

    lead: Assignment
    assisting: list[Assignment] = Field(default_factory=list, max_length=10)
    source: str  # 会商确权 / 裁定 / 现场确权
    reference: str  # the meeting number, or the note of an on-site determination
    decided_by: Actor
    decided_at: datetime
    lead_within: str | None = None  # the lead's time to answer, e.g. "5wd" (else the ticket's tier)
    assist_within: str | None = None  # the assistants' time to report (else the tier's response limit)
