"""The one rule for the citizen's phone (domain/privacy.py, docs/security.md), as pure tests; each
surface (API, workbench, delivery) is tested in its own file."""

from __future__ import annotations

import pytest

from domain.privacy import masked_phone, phone_as_seen


@pytest.mark.parametrize(
    ("phone", "shown"),
    [
        ("13812341234", "138****1234"),
        ("+86 13812341234", "+86 138****1234"),
        ("0473-1234567", "047****67"),
        ("(0473)1234567", "(04****67"),
        ("12345", "*****"),
    ],
)
def test_every_kind_of_number_is_masked(phone: str, shown: str) -> None:
    assert masked_phone(phone) == shown
    assert phone_as_seen(phone, full=False) == shown and phone_as_seen(phone, full=True) == phone
