"""Enterprise ids: the unified social credit code (统一社会信用代码, GB 32100-2015) or a configured id.

An id of 18 letters and digits, at least eight of them digits, is taken as a credit code: it must
have the code's shape and alphabet (no I, O, S, V, Z) and its check character must fit, so a mistyped code is refused instead of opening a second workflow for the same
enterprise. Any other id (letters, digits, '.', '_', '-') is a configured id.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, StringConstraints

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # no I, O, S, V, Z
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_CODE_SHAPE = re.compile(rf"^[{ALPHABET}]{{2}}[0-9]{{6}}[{ALPHABET}]{{10}}$")
_LOOSE_SHAPE = re.compile(r"^[0-9A-Z]{18}$")


def check_character(first17: str) -> str:
    """The 18th character of a credit code whose first 17 are given."""
    total = sum(ALPHABET.index(c) * w for c, w in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def looks_like_credit_code(value: str) -> bool:
    return bool(_CODE_SHAPE.match(value))


def _valid_id(value: str) -> str:
    upper = value.upper()
    # 18 letters and digits, mostly digits: someone meant a credit code (a configured id is rarely so).
    if _LOOSE_SHAPE.match(upper) and sum(c.isdigit() for c in upper) >= 8:
        if not looks_like_credit_code(upper):
            raise ValueError(f"统一社会信用代码 {value} 格式不符（第 3–8 位为数字，不用字母 I、O、S、V、Z）")
        if check_character(upper[:17]) != upper[17]:
            raise ValueError(f"统一社会信用代码 {value} 校验位错误（应为 {check_character(upper[:17])}）")
        return upper
    return value


EnterpriseId = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$"),
    AfterValidator(_valid_id),
]
