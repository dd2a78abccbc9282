"""The city's reply window, configured."""

from __future__ import annotations

from domain.calendar import Span
from domain.config import DistrictConfig


def with_reply_window(config: DistrictConfig, span: Span) -> DistrictConfig:
    city = config.center.city.model_copy(update={"reply_within": span})
    return config.model_copy(update={"center": config.center.model_copy(update={"city": city})})
