"""The project's payload converter: pydantic, reading history back under the rules of its day.

A ticket received before a rule was added (a stricter phone, no invisible characters, no leading
dot in a number) is in running workflows' histories. Replaying them decodes those payloads again,
so the rules added later must not refuse them: this converter validates what it reads with the
`STORED` context, which `domain.models` checks. New input (the CLI, the gateway, imports) is
validated without it and meets every rule.
"""

from __future__ import annotations

import functools
from typing import Any

from pydantic import TypeAdapter
from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import PydanticJSONPlainPayloadConverter
from temporalio.converter import (
    CompositePayloadConverter,
    DataConverter,
    DefaultPayloadConverter,
    JSONPlainPayloadConverter,
)

from domain.models import STORED

_adapter = functools.lru_cache(maxsize=1024)(TypeAdapter)


class StoredJSONPayloadConverter(PydanticJSONPlainPayloadConverter):
    def from_payload(self, payload: Payload, type_hint: type | None = None) -> Any:
        hint: Any = Any if type_hint is None else type_hint
        try:
            adapter = _adapter(hint)
        except TypeError:  # an unhashable hint: not cached
            adapter = TypeAdapter(hint)
        return adapter.validate_json(payload.data, context={STORED: True})


class PayloadConverter(CompositePayloadConverter):
    """Temporal's default converters, JSON replaced by `StoredJSONPayloadConverter`."""

    def __init__(self) -> None:
        json = StoredJSONPayloadConverter()
        super().__init__(
            *(
                json if isinstance(c, JSONPlainPayloadConverter) else c
                for c in DefaultPayloadConverter.default_encoding_payload_converters
            )
        )


data_converter = DataConverter(payload_converter_class=PayloadConverter)
