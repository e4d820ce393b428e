"""Agent desk commands, typed and imperative: one dataclass per AgentCommand case (adapters/codec.py
maps each to its protobuf message; field names are the wire's). Enum-like fields are lower-case names."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from .events import Attachment


@dataclass(frozen=True, slots=True)
class AssignConversation:
    conversation_id: str
    assignee_id: str
    queue: str = ""


@dataclass(frozen=True, slots=True)
class ReplyToConversation:
    conversation_id: str
    text: str
    reply_id: str
    attachments: tuple[Attachment, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class AddInternalNote:
    conversation_id: str
    text: str


@dataclass(frozen=True, slots=True)
class ResolveConversation:
    conversation_id: str
    resolution_code: str = ""


@dataclass(frozen=True, slots=True)
class ReopenConversation:
    conversation_id: str
    reason: str = ""


@dataclass(frozen=True, slots=True)
class SetConversationStatus:
    conversation_id: str
    status: str   # waiting_on_customer, waiting_on_third_party, assigned
    reason: str = ""


@dataclass(frozen=True, slots=True)
class ChangePriority:
    conversation_id: str
    priority: str  # low, normal, high, urgent
    reason: str = ""


@dataclass(frozen=True, slots=True)
class AcknowledgeEscalation:
    conversation_id: str
    escalation_id: str


@dataclass(frozen=True, slots=True)
class SetAgentPresence:
    presence: str  # online, away, offline


Command = (AssignConversation | ReplyToConversation | AddInternalNote | ResolveConversation | ReopenConversation
           | SetConversationStatus | ChangePriority | AcknowledgeEscalation | SetAgentPresence)


@dataclass(frozen=True, slots=True)
class AgentCommand:
    brand_id: str
    agent_id: str
    command: Command

    @property
    def conversation_id(self) -> str | None:
        return getattr(self.command, "conversation_id", None)


def case_name(command: Command) -> str:
    """The AgentCommand oneof case: AssignConversation -> "assign_conversation"."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", type(command).__name__).lower()
