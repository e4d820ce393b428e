"""Plain values the notifier's domain works with (no protobuf, no I/O)."""
from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime


class Outcome(enum.StrEnum):
    DELIVERED = "delivered"
    RETRY = "retry"      # transient: 5xx, 429, timeout, connection error
    FAILED = "failed"    # permanent: the request itself is wrong (4xx), never worth repeating
    SKIPPED = "skipped"  # nothing to send (no address, opted out, survey already sent)


@dataclass(frozen=True, slots=True)
class SendOutcome:
    """What one attempt at one destination produced."""

    outcome: Outcome
    detail: str = ""
    provider_message_id: str = ""
    retry_after_seconds: float | None = None

    @classmethod
    def delivered(cls, provider_message_id: str = "", detail: str = "ok") -> SendOutcome:
        return cls(Outcome.DELIVERED, detail, provider_message_id)

    @classmethod
    def retry(cls, detail: str, retry_after_seconds: float | None = None) -> SendOutcome:
        return cls(Outcome.RETRY, detail, retry_after_seconds=retry_after_seconds)

    @classmethod
    def failed(cls, detail: str) -> SendOutcome:
        return cls(Outcome.FAILED, detail)


@dataclass(frozen=True, slots=True)
class HttpRequestSpec:
    """An HTTP request to make, built purely; the HTTP adapter only executes it."""

    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    json: object | None = None
    form: dict[str, str] | None = None
    content: bytes | None = None


@dataclass(frozen=True, slots=True)
class EscalationView:
    """Everything a person needs to act on an escalation, already in display form."""

    brand_id: str
    brand_name: str
    escalation_id: str
    conversation_id: str
    customer_id: str
    customer_name: str
    channel: str
    level: int
    level_name: str
    reason: str
    metric: str
    target_seconds: int
    deadline: datetime | None
    breached_at: datetime | None
    raised_at: datetime | None
    priority: str
    queue: str
    assignee_id: str
    recipients: tuple[str, ...]
    detail: str
    link: str


# Outbox entry states: pending -> in_flight -> delivered | failed | skipped (pending again, later,
# after a retryable failure).
PENDING, IN_FLIGHT, DELIVERED, FAILED, SKIPPED = "pending", "in_flight", "delivered", "failed", "skipped"
FINAL_STATES = (DELIVERED, FAILED, SKIPPED)


def outbox_id(intent_id: str, destination: str) -> str:
    """The exactly-once key: one entry per intent and destination."""
    return f"{intent_id}|{destination}"
