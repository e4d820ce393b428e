"""What the notifier is asked to do, as plain values (the codec builds them from the wire).

Enums are lower-case names ("telegram", "csat_survey", "email"); "" when unset. Times are aware UTC
datetimes or None.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Handle:
    """Where to reach someone: kind ("email", "telegram_id", ...) and the address itself."""

    kind: str = ""
    value: str = ""


@dataclass(frozen=True, slots=True)
class EmailThread:
    """The customer's last email, so a reply threads under it."""

    message_id: str = ""
    references: tuple[str, ...] = ()
    subject: str = ""


@dataclass(frozen=True, slots=True)
class Conversation:
    conversation_id: str = ""
    customer_id: str = ""
    customer_name: str = ""
    channel: str = ""
    priority: str = ""
    queue: str = ""
    language: str = ""
    assignee_id: str = ""
    reply_handle: Handle = Handle()
    email_thread: EmailThread = EmailThread()
    order_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Assignment:
    agent_id: str = ""
    agent_name: str = ""
    rule: str = ""
    explanation: str = ""
    previous_agent_id: str = ""


@dataclass(frozen=True, slots=True)
class Escalation:
    """An SLA escalation to tell people about."""

    escalation_id: str = ""
    brand_id: str = ""
    level: int = 0
    level_name: str = ""
    reason: str = ""
    metric: str = ""
    target_seconds: int = 0
    deadline: datetime | None = None
    breached_at: datetime | None = None
    raised_at: datetime | None = None
    recipients: tuple[str, ...] = ()
    destinations: tuple[str, ...] = ()
    detail: str = ""
    conversation: Conversation = Conversation()


@dataclass(frozen=True, slots=True)
class Notification:
    """A request to tell someone something; `intent_id` makes it exactly-once."""

    intent_id: str = ""
    brand_id: str = ""
    kind: str = ""
    template: str = ""
    text: str = ""
    language: str = ""
    variables: dict[str, str] = field(default_factory=dict)
    recipient: Handle = Handle()
    channel: str = ""
    requested_at: datetime | None = None
    not_before: datetime | None = None
    conversation: Conversation = Conversation()
    assignment: Assignment = Assignment()
    escalation: Escalation | None = None  # kind "escalation": the escalation it carries
