"""A titled table of display strings: what every list and report is made of before it is written
as Markdown, HTML, .xlsx or CSV."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, model_validator


class Table(BaseModel):
    """A titled table of display strings; every row has one cell per column."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    title: str
    columns: list[str]
    rows: list[list[str]]

    @model_validator(mode="after")
    def _rectangular(self) -> Table:
        for i, row in enumerate(self.rows):
            if len(row) != len(self.columns):
                raise ValueError(f"rows.{i}: {len(row)} cells for {len(self.columns)} columns")
        return self
