"""Who sees the citizen's phone number (诉求人电话): one rule for every surface that shows it — the
HTTP API, the workbench pages and the delivery to a department's system (docs/security.md).

In full: the centre (its API key; its shift leads and operators, who dispatch and call back) and the
lead department (主办), whose clerks must contact the citizen. Masked (138****1234): an assisting
department (协办, which reports to the lead and does not call the citizen), a department that held
the ticket before, a street, the arbiter, a leader.
"""

from __future__ import annotations

from domain.audit import mask_phone
from domain.delivery import Delivery
from domain.ticket_record import TicketRecord

LEAD_ROLE = "主办"  # Delivery.role of the lead department


def sees_phone(record: TicketRecord, *, centre: bool = False, department: str | None = None) -> bool:
    """Whether the centre (`centre`), or a department's clerks (`department`: its code), see the full number."""
    if centre:
        return True
    return department is not None and record.assignment is not None and record.assignment.department == department


def masked_phone(phone: str) -> str:
    """138****1234 for a mobile number; any other keeps its first three and last two characters."""
    masked = mask_phone(phone)
    if masked != phone:
        return masked
    text = phone.strip()
    return "*" * len(text) if len(text) <= 5 else f"{text[:3]}****{text[-2:]}"


def phone_as_seen(phone: str, full: bool) -> str:
    return phone if full else masked_phone(phone)


def delivery_as_sent(delivery: Delivery) -> Delivery:
    """The delivery as its department receives it: the lead's in full, an assisting one's with the
    phone masked (a copy: the workflow's own record keeps the number)."""
    if delivery.role == LEAD_ROLE:
        return delivery
    citizen = delivery.ticket.citizen
    ticket = delivery.ticket.model_copy(
        update={"citizen": citizen.model_copy(update={"phone": masked_phone(citizen.phone)})}
    )
    return delivery.model_copy(update={"ticket": ticket})
