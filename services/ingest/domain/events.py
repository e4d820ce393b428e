"""What ingest publishes, as plain data: the domain's side of adapters/codec.py, which turns these into
protobuf at the edge. Enum-like fields are lower-case names ("email", "waiting_on_customer")."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Handle:
    kind: str    # email, phone, whatsapp_id, messenger_psid, vk_id, telegram_id, chat_session, marketplace_id
    value: str


@dataclass(frozen=True, slots=True)
class Attachment:
    """A reference (name, type, size, provider URL or media id); never the bytes."""

    url: str = ""
    content_type: str = ""
    size_bytes: int = 0
    filename: str = ""
    provider_media_id: str = ""


@dataclass(frozen=True, slots=True)
class EmailThreading:
    message_id: str = ""
    in_reply_to: str = ""
    references: tuple[str, ...] = ()
    subject: str = ""


@dataclass(slots=True)
class MessageReceived:
    channel: str
    provider: str
    provider_message_id: str
    sender: Handle
    sent_at: datetime
    text: str = ""
    display_name: str = ""
    language_hint: str = ""
    attachments: list[Attachment] = field(default_factory=list)
    chat_session_id: str = ""
    email: EmailThreading | None = None
    auto_reply: bool = False
    recipient_address: Handle | None = None


@dataclass(frozen=True, slots=True)
class ChatSessionStarted:
    chat_session_id: str
    customer_name: str
    email: str
    language_hint: str
    page_url: str
    transcript_opt_out: bool
    started_at: datetime


@dataclass(frozen=True, slots=True)
class ChatSessionEnded:
    chat_session_id: str
    ended_by: str   # customer, agent, timeout
    ended_at: datetime


@dataclass(frozen=True, slots=True)
class CsatAnswered:
    conversation_id: str
    score: int
    comment: str
    survey_intent_id: str
    answered_at: datetime


@dataclass(frozen=True, slots=True)
class Inbound:
    """One event of the inbound stream (InboundEvent on the wire)."""

    brand_id: str
    event: MessageReceived | ChatSessionStarted | ChatSessionEnded | CsatAnswered


@dataclass(slots=True)
class Order:
    brand_id: str
    order_id: str
    kind: str     # created, paid, shipped, delayed, delivered, cancelled, refunded
    occurred_at: datetime
    source: str
    external_event_id: str
    order_number: str = ""
    carrier: str = ""
    tracking_number: str = ""
    tracking_url: str = ""
    reason: str = ""
    customer_handles: list[Handle] = field(default_factory=list)
    customer_name: str = ""
    currency: str = ""
    total_minor_units: int = 0
    estimated_delivery: datetime | None = None
