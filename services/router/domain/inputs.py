"""What the router reacts to, decoded from the wire into plain values (see adapters/codec.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .model import Handle


@dataclass(frozen=True, slots=True)
class Signal:
    """Not something the customer wrote but a signal about the conversation (see domain/signals.py)."""

    kind: str  # reaction | notice
    reacted_message_id: str = ""  # reaction: the provider's id of the message reacted to
    emoji: str = ""  # reaction: "" when removed
    removed: bool = False
    code: str = ""  # notice: the provider's error code, title and details
    title: str = ""
    detail: str = ""


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
    signal: Signal | None = None  # a reaction or a provider notice; None for a message


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
    # A watermark receipt (provider_message_id ""): every message sent to `recipient` on `channel`
    # at or before `watermark` reached `state` (see domain/receipts.py).
    channel: str = ""
    recipient: Handle | None = None
    watermark: datetime | None = None


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


# Agent commands: one typed value per AgentCommand oneof case (enums as lower-case names, priority a number).
@dataclass(frozen=True, slots=True)
class AssignConversation:
    conversation_id: str = ""
    assignee_id: str = ""  # "" = the agent who issued the command
    queue: str = ""


@dataclass(frozen=True, slots=True)
class ReplyToConversation:
    conversation_id: str = ""
    text: str = ""
    attachments: tuple[dict, ...] = ()
    reply_id: str = ""  # chosen by the desk: makes the reply idempotent


@dataclass(frozen=True, slots=True)
class AddInternalNote:
    conversation_id: str = ""
    text: str = ""


@dataclass(frozen=True, slots=True)
class ResolveConversation:
    conversation_id: str = ""
    resolution_code: str = ""


@dataclass(frozen=True, slots=True)
class ReopenConversation:
    conversation_id: str = ""
    reason: str = ""


@dataclass(frozen=True, slots=True)
class SetConversationStatus:
    conversation_id: str = ""
    status: str = ""
    reason: str = ""


@dataclass(frozen=True, slots=True)
class ChangePriority:
    conversation_id: str = ""
    priority: int = 0
    reason: str = ""


@dataclass(frozen=True, slots=True)
class SetAgentPresence:
    presence: str = ""


@dataclass(frozen=True, slots=True)
class MergeCustomers:
    surviving_customer_id: str = ""
    merged_customer_id: str = ""


@dataclass(frozen=True, slots=True)
class AcknowledgeEscalation:
    conversation_id: str = ""
    escalation_id: str = ""


Command = (
    AssignConversation
    | ReplyToConversation
    | AddInternalNote
    | ResolveConversation
    | ReopenConversation
    | SetConversationStatus
    | ChangePriority
    | SetAgentPresence
    | MergeCustomers
    | AcknowledgeEscalation
)

COMMAND_KINDS: dict[type, str] = {
    AssignConversation: "assign_conversation",
    ReplyToConversation: "reply_to_conversation",
    AddInternalNote: "add_internal_note",
    ResolveConversation: "resolve_conversation",
    ReopenConversation: "reopen_conversation",
    SetConversationStatus: "set_conversation_status",
    ChangePriority: "change_priority",
    SetAgentPresence: "set_agent_presence",
    MergeCustomers: "merge_customers",
    AcknowledgeEscalation: "acknowledge_escalation",
}
"""Command type -> its AgentCommand oneof case (the name in messages that say what to fix)."""


@dataclass(frozen=True, slots=True)
class CommandIn:
    """One AgentCommand: who issued it, when, and the typed command."""

    event_id: str
    brand_id: str
    agent_id: str
    at: datetime
    command: Command

    @property
    def kind(self) -> str:
        return COMMAND_KINDS[type(self.command)]

    @property
    def conversation_id(self) -> str:
        return getattr(self.command, "conversation_id", "")


@dataclass(frozen=True, slots=True)
class TickIn:
    """The router's own periodic input (router clock time): due timers of one brand fire on it."""

    event_id: str
    brand_id: str
    at: datetime


Input = MessageIn | CallIn | ChatStartIn | ChatEndIn | CsatIn | DeliveryIn | OrderIn | CommandIn | TickIn
