"""One structlog pipeline for our loggers and the stdlib's (Temporal's SDK, uvicorn, httpx): JSON lines
(the default when stderr is not a terminal) or console lines, on stderr.

Each line carries what is known of where it came from: the workflow id, run id, workflow or activity
type and task queue (from Temporal's activity context, or the `temporal_workflow`/`temporal_activity`
extras of `workflow.logger` and `activity.logger`), and the ticket number and department that callers
bind. Personal data never reaches a line: fields named like personal data are dropped, and a mobile
or landline number or an ID card number anywhere in a value is masked.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from typing import Any, Literal

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger
from temporalio import activity

LOG_FORMAT_ENV = "HOTLINE_LOG_FORMAT"
LogFormat = Literal["json", "console"]

# Fields that hold a citizen's personal data in this project's models; never logged, whatever their value.
PERSONAL_FIELDS = frozenset(
    {"phone", "caller", "caller_name", "name", "citizen", "address", "content", "contact", "id_card", "reply"}
)
# A mainland mobile number, a landline with its area code, an ID card number: masked wherever they occur.
_PERSONAL_NUMBER = re.compile(r"(?<!\d)(?:1[3-9]\d{9}|0\d{2,3}-?\d{7,8}|\d{17}[\dXx])(?!\d)")
REDACTED = "[已隐去]"


def mask_numbers(text: str) -> str:
    return _PERSONAL_NUMBER.sub(lambda m: m.group(0)[:3] + "*" * (len(m.group(0)) - 3), text)


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        return mask_numbers(value)
    if isinstance(value, dict):
        return {k: (REDACTED if k in PERSONAL_FIELDS else _scrub(v)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(v) for v in value]
    return value


def drop_personal_data(_: WrappedLogger, __: str, event: EventDict) -> EventDict:
    """The last word before rendering: no personal field, no phone or ID number in any line."""
    for key in [k for k in event if k in PERSONAL_FIELDS]:
        event[key] = REDACTED
    for key, value in list(event.items()):
        event[key] = _scrub(value)
    return event


def add_temporal_context(_: WrappedLogger, __: str, event: EventDict) -> EventDict:
    """Workflow id, run id, types and task queue: from the SDK loggers' extras, or from the activity
    this line is logged in."""
    for extra in ("temporal_workflow", "temporal_activity"):
        found = event.pop(extra, None)
        if isinstance(found, dict):
            for key, value in found.items():
                event.setdefault(key, value)
    if "run_id" not in event and activity.in_activity():
        info = activity.info()
        event.setdefault("workflow_id", info.workflow_id)
        event.setdefault("run_id", info.workflow_run_id)
        event.setdefault("activity_type", info.activity_type)
        event.setdefault("task_queue", info.task_queue)
    return event


def _from_record_extras(_: WrappedLogger, __: str, event: EventDict) -> EventDict:
    """A stdlib record's `extra={...}` (the SDK's temporal_workflow/temporal_activity, a ticket)."""
    record: logging.LogRecord | None = event.get("_record")
    if record is not None:
        for key in ("temporal_workflow", "temporal_activity", "ticket", "department"):
            if hasattr(record, key):
                event.setdefault(key, getattr(record, key))
    return event


def default_format() -> LogFormat:
    chosen = os.environ.get(LOG_FORMAT_ENV, "").lower()
    if chosen in ("json", "console"):
        return "json" if chosen == "json" else "console"
    return "console" if sys.stderr.isatty() else "json"


def configure_logging(level: str | None = None, log_format: LogFormat | None = None) -> None:
    name = (level or os.environ.get("HOTLINE_LOG_LEVEL", "INFO")).upper()
    numeric = getattr(logging, name, logging.INFO)
    chosen = log_format or default_format()
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: Processor = (
        structlog.processors.JSONRenderer(ensure_ascii=False)
        if chosen == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    final: list[Processor] = [
        add_temporal_context,
        structlog.processors.format_exc_info,
        drop_personal_data,
        renderer,
    ]
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name, _from_record_extras],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *final],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(numeric)
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=False,
    )
