"""What analytics consumes, as plain data: the codec (adapters/codec.py) turns the wire events into
these. Enum values are lower-case words ("email", "first_response"; "" = unset or unknown to this
version), instants are aware UTC datetimes (None = unset). Pure: no protobuf."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The conversation as it is after the change (ConversationSnapshot)."""

    conversation_id: str
    channel: str = ""
    queue: str = ""
    priority: str = ""
    status: str = ""
    assignee_id: str = ""
    human_involved: bool = False
    opened_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ConversationUpdate:
    """A ConversationEvent; `kind` is the name of its event ("conversation_opened"; "" = none set).
    Only the body fields analytics reads are carried."""

    brand_id: str
    conversation: Snapshot
    kind: str
    occurred_at: datetime | None = None
    auto_reply: bool = False  # customer_message_appended
    handoff_reason: str = ""  # conversation_handed_off
    resolved_by: str = ""  # conversation_resolved
    csat_score: int = 0  # csat_recorded
    transcript_requested: bool = False  # chat_ended


@dataclass(frozen=True, slots=True)
class SlaUpdate:
    """An SlaEvent about one clock (metric + instance) of a conversation."""

    brand_id: str
    conversation: Snapshot
    kind: str
    metric: str
    instance: int
    deadline: datetime | None = None
    target_seconds: int = 0
    fulfilled_late: bool = False  # sla_fulfilled after a breach
    elapsed_calendar_seconds: int = 0  # sla_fulfilled


@dataclass(frozen=True, slots=True)
class Escalation:
    brand_id: str
    conversation: Snapshot
    level: int
    reason: str
    metric: str


@dataclass(frozen=True, slots=True)
class Delivery:
    """A notifier delivery outcome (no conversation labels beyond brand and channel)."""

    brand_id: str
    channel: str
    kind: str
    outcome: str


Event = ConversationUpdate | SlaUpdate | Escalation | Delivery
