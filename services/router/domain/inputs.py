"""What the router reacts to, decoded from the wire into plain values (see adapters/codec.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from .model import Handle


@dataclass(frozen=True, slots=True)
class MessageIn:
    event_id: str
    brand_id: str
    channel: str
    provider: str
    provider_message_id: str
    sender: Handle
    sent_at: datetime
    text: str = ""
    display_name: str = ""
    language: str = ""  # detected (adapter) or "" when unknown
    language_hint: str = ""
    attachments: tuple[dict, ...] = ()
    email_message_id: str = ""
    email_in_reply_to: str = ""
    email_references: tuple[str, ...] = ()
    email_subject: str = ""
    auto_reply: bool = False
    chat_session_id: str = ""
    extra_handles: tuple[Handle, ...] = ()
    is_echo: bool = False
    postback: str = ""


@dataclass(frozen=True, slots=True)
class CallIn:
    event_id: str
    brand_id: str
    call_id: str
    state: str  # queued, ringing, in_progress, completed, ...
    occurred_at: datetime
    caller: Handle | None
    agent_id: str = ""


@dataclass(frozen=True, slots=True)
class ChatStartIn:
    event_id: str
    brand_id: str
    chat_session_id: str
    started_at: datetime
    customer_name: str = ""
    email: str = ""
    language_hint: str = ""
    transcript_opt_out: bool = False


@dataclass(frozen=True, slots=True)
class ChatEndIn:
    event_id: str
    brand_id: str
    chat_session_id: str
    ended_at: datetime
    ended_by: str = ""


@dataclass(frozen=True, slots=True)
class CsatIn:
    event_id: str
    brand_id: str
    conversation_id: str
    score: int
    answered_at: datetime


@dataclass(frozen=True, slots=True)
class DeliveryIn:
    event_id: str
    brand_id: str
    provider: str
    provider_message_id: str
    state: str  # queued, sent, delivered, read, failed
    occurred_at: datetime
    error_code: str = ""


@dataclass(frozen=True, slots=True)
class OrderIn:
    event_id: str
    brand_id: str
    order_id: str
    kind: str
    occurred_at: datetime
    handles: tuple[Handle, ...] = ()
    customer_name: str = ""
    order_number: str = ""
    carrier: str = ""
    tracking_number: str = ""
    tracking_url: str = ""
    estimated_delivery: datetime | None = None
    reason: str = ""


@dataclass(frozen=True, slots=True)
class CommandIn:
    """One AgentCommand. `kind` is the oneof case; `fields` its values (enums as lower-case names)."""

    event_id: str
    brand_id: str
    agent_id: str
    kind: str
    at: datetime
    fields: dict = field(default_factory=dict)

    @property
    def conversation_id(self) -> str:
        return self.fields.get("conversation_id", "")


Input = MessageIn | CallIn | ChatStartIn | ChatEndIn | CsatIn | DeliveryIn | OrderIn | CommandIn
