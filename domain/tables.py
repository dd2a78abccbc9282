"""A titled table of display strings: what every list and report is made of before it is written
as Markdown, HTML, .xlsx or CSV."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, model_validator

# How a spreadsheet shows each kind of number a table writes (Excel number formats).
INTEGER = "0"
SIGNED = "+0;-0;0"
DECIMAL = "0.00"
PERCENT = "0.00%"
POINTS = '+0.00" 个百分点";-0.00" 个百分点";0.00" 个百分点"'

_INTEGER = re.compile(r"[+-]?\d+")
_NUMBER = re.compile(r"([+-]?\d+(?:\.\d+)?)(%| 个百分点)?")


class Table(BaseModel):
    """A titled table of display strings; every row has one cell per column."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    title: str
    columns: list[str]
    rows: list[list[str]]
    # The columns whose cells are numbers as written ("12", "87.50%", "80.00", "+2.50 个百分点"): a
    # spreadsheet gets them as numbers with their format; any other cell in them ("—") stays text.
    numeric: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _rectangular(self) -> Table:
        for i, row in enumerate(self.rows):
            if len(row) != len(self.columns):
                raise ValueError(f"rows.{i}: {len(row)} cells for {len(self.columns)} columns")
        for column in self.numeric:
            if column not in self.columns:
                raise ValueError(f"numeric: no column '{column}'")
        return self


def cell_number(text: str) -> tuple[int | float, str] | None:
    """A cell written as a number, as (value, Excel number format): "12" → (12, "0"), "+8" → (8,
    "+0;-0;0"), "80.00" → (80.0, "0.00"), "87.50%" → (0.875, "0.00%"), "+2.50 个百分点" → (2.5, …
    个百分点); None for anything else ("—", a name)."""
    text = text.strip()
    if _INTEGER.fullmatch(text):
        return int(text), SIGNED if text[0] in "+-" else INTEGER
    match = _NUMBER.fullmatch(text)
    if match is None:
        return None
    value, unit = float(match.group(1)), match.group(2)
    if unit == "%":
        return round(value / 100, 10), PERCENT
    if unit:
        return value, POINTS
    return value, DECIMAL
