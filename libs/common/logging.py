"""JSON logs through structlog, with ids bound per event and personal data masked.

Bind ids around a unit of work with `structlog.contextvars.bound_contextvars(conversation_id=...,
event_id=..., correlation_id=...)`; every log line inside carries them.
"""
from __future__ import annotations

import logging
import re
import sys
from typing import Any

import structlog

# Values under these keys are personal data or secrets: never logged, whatever their shape.
SENSITIVE_KEYS = frozenset({
    "text", "body", "message_text", "html", "subject", "email", "phone", "address", "recipient",
    "sender", "from_", "to", "name", "customer_name", "display_name", "password", "secret", "token",
    "api_key", "authorization", "signature", "uri", "url_with_token",
})
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# Not ISO dates/times ("2026-11-23T04:24:40Z"): those are the one long digit run logs need.
_PHONE = re.compile(r"(?<![\w-])(?!\d{4}-\d{2}-\d{2})\+?\d[\d ()-]{7,}\d")
NEVER_MASKED = frozenset({"event", "timestamp", "level", "service"})


def mask_email(value: str) -> str:
    local, _, domain = value.partition("@")
    return f"{local[:1]}***@{domain}" if domain else "***"


def mask_string(value: str) -> str:
    """Masks emails and phone numbers found inside free text (error messages, reprs)."""
    value = _EMAIL.sub(lambda m: mask_email(m.group(0)), value)
    return _PHONE.sub(lambda m: m.group(0)[:3] + "***" + m.group(0)[-2:], value)


def _mask(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return f"***({len(value)} chars)"
    return "***"


def mask_personal_data(_logger: Any, _method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    for key, value in event_dict.items():
        if key in SENSITIVE_KEYS:
            event_dict[key] = _mask(value)
        elif isinstance(value, str) and key not in NEVER_MASKED:
            event_dict[key] = mask_string(value)
    event_dict["event"] = mask_string(str(event_dict.get("event", "")))
    return event_dict


def configure_logging(service: str, level: str = "INFO") -> None:
    logging.basicConfig(format="%(message)s", stream=sys.stdout, level=level, force=True)
    for noisy in ("aiokafka", "pymongo", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.stdlib.ExtraAdder(),
            structlog.processors.format_exc_info,
            mask_personal_data,
            structlog.processors.JSONRenderer(ensure_ascii=False),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=structlog.PrintLoggerFactory(),
        cache_logger_on_first_use=True,
    )
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(service=service)


def get_logger(name: str | None = None) -> structlog.stdlib.BoundLogger:
    return structlog.get_logger(name)
