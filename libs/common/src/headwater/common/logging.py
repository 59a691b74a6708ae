"""structlog JSON logging: service name, trace id and event id on every line."""

from __future__ import annotations

import logging
import re
import sys
from typing import Any

import structlog
from opentelemetry import trace

# A log field whose name contains one of these is never written (password, raw_password, access_token, ...).
_SECRET_KEY_PARTS = (
    "password",
    "token",
    "secret",
    "authorization",
    "api_key",
    "cookie",
    "signing_key",
    "dsn",
)
# Credentials inside free text (an exception message, a repr): Bearer values, API tokens, JWTs, DSN passwords.
_SECRET_VALUES = re.compile(
    r"(?i)(bearer\s+)[^\s'\",;]+"
    r"|\bhw_[A-Za-z0-9_\-]{8,}"
    r"|\beyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+"
    r"|(://[^:/@\s]+:)[^@\s]+(@)"
)


def _add_trace_context(_: Any, __: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    span = trace.get_current_span()
    ctx = span.get_span_context()
    if ctx.is_valid:
        event_dict.setdefault("trace_id", format(ctx.trace_id, "032x"))
        event_dict.setdefault("span_id", format(ctx.span_id, "016x"))
    else:
        event_dict.setdefault("trace_id", None)
    event_dict.setdefault("event_id", None)
    return event_dict


def _redact_value(match: re.Match[str]) -> str:
    if match.group(1):
        return f"{match.group(1)}[redacted]"
    if match.group(2):
        return f"{match.group(2)}[redacted]{match.group(3)}"
    return "[redacted]"


def redact(text: str) -> str:
    """`text` with every credential it contains replaced by `[redacted]`."""
    return _SECRET_VALUES.sub(_redact_value, text)


def _redact_secrets(_: Any, __: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """Secrets never reach a log: fields named like one are blanked, credentials inside text are masked."""
    for key, value in event_dict.items():
        if not key.endswith("_id") and any(part in key.lower() for part in _SECRET_KEY_PARTS):
            event_dict[key] = "[redacted]"
        elif isinstance(value, str):
            event_dict[key] = redact(value)
    return event_dict


def configure_logging(service: str, *, level: str = "INFO", json: bool = True) -> None:
    """Route structlog and the standard library through one JSON renderer bound to `service`."""
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _add_trace_context,
        structlog.processors.format_exc_info,
        _redact_secrets,  # after the traceback is text, so credentials in exception messages are masked too
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            _bind_service(service),
            renderer,
        ],
    )
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("aiokafka", "kafka", "sqlalchemy.engine", "httpx", "asyncio"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))


def _bind_service(service: str) -> Any:
    def processor(_: Any, __: str, event_dict: dict[str, Any]) -> dict[str, Any]:
        event_dict.setdefault("service", service)
        return event_dict

    return processor


def get_logger(name: str | None = None) -> Any:
    """A structlog logger; bind `event_id` with `structlog.contextvars.bound_contextvars`."""
    return structlog.get_logger(name)
