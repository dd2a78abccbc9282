"""Who may read a payload (受众): a department, by the payload's type, or the centre alone.

The data converter (activities/runtime/codec.py) asks `audience_of` for every value it converts: a payload
meant for one department (its deliveries, its notices, its enterprise items) is sealed so that only
that department's key and the centre's open it; everything else stays the centre's. The audience is
read from the value's own type and fields here, never chosen by workflow code.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from domain.delivery import CENTER, Delivery, ItemDelivery, Notice

# The type, and the field inside it that names the department it is meant for (each reader is
# called only with a value of its key's type, which a dict's typing cannot say: hence Any).
AUDIENCE_FIELDS: dict[type, Callable[[Any], str]] = {
    Delivery: lambda value: value.assignment.department,
    ItemDelivery: lambda value: value.assignment.department,
    Notice: lambda value: value.department,
}


def audience_of(value: object) -> str | None:
    """The department a value is meant for, or None: the centre's alone."""
    read = AUDIENCE_FIELDS.get(type(value))
    if read is None:
        return None
    department = read(value)
    return None if department == CENTER else department
