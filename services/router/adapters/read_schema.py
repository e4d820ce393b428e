"""The read API's answers as pydantic models: the OpenAPI document's schemas (documentation only;
handlers return plain dicts shaped by read_views.py, which the integration tests pin field by field)."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Priority = Literal["low", "normal", "high", "urgent"]


class Shape(BaseModel):
    model_config = ConfigDict(extra="forbid")  # exactly these fields (the tests validate answers against them)


class Handle(Shape):
    kind: str = Field(description="email, phone, whatsapp_id, messenger_psid, vk_id, telegram_id, chat_session...")
    value: str


class Attachment(Shape):
    name: str
    content_type: str
    url: str
    size: int = Field(description="bytes, 0 when the provider did not say")


class Message(Shape):
    id: str
    author: Literal["customer", "bot", "agent"]
    agent_id: str
    internal: bool = Field(description="an internal note: never sent to the customer")
    channel: str
    text: str = Field(description="as written")
    attachments: list[Attachment]
    at: str
    auto_reply: bool
    kind: str = Field(description="message, note (internal), call")
    delivery_state: str = Field(description="our messages: the state delivery receipts reported (sent, delivered, "
                                            "read...); empty when none")


class Order(Shape):
    order_id: str
    order_number: str
    status: str = Field(description="the latest order event kind: created, paid, shipped, delayed, delivered...")
    occurred_at: str
    carrier: str
    tracking_number: str
    tracking_url: str
    estimated_delivery: str | None


class Conversation(Shape):
    id: str
    brand_id: str
    customer_id: str
    customer_name: str
    channel: str = Field(description="the channel replies go out on (the customer's latest)")
    channels: list[str]
    status: str
    priority: Priority
    queue: str
    assignee_id: str
    language: str
    opened_at: str
    updated_at: str | None
    resolved_at: str | None
    reply_handle: Handle
    reply_channel: str = Field(description="the channel to answer on: the one the customer chose when leaving a "
                                           "long queue (email, whatsapp, sms, phone for a callback), else `channel`")
    callback_number: str = Field(description="the number to call back, when the customer asked for a callback")
    order_ids: list[str]
    csat_score: int
    handoffs: list[dict[str, Any]] = Field(description="as stored: at, reason, summary")
    assignment_history: list[dict[str, Any]] = Field(
        description="as stored: at, agent_id, previous, rule, explanation, reason (agent_offline, agent_away, "
                    "agent_silent when it moved because the previous agent was gone)")
    escalations_acknowledged: list[str]
    reopen_count: int


class ConversationAnswer(Shape):
    conversation: Conversation
    messages: list[Message] = Field(description="oldest first, stable by (at, id)")
    orders: list[Order]


class Customer(Shape):
    id: str
    name: str
    vip: bool
    created_at: str
    handles: list[Handle]


class PastConversation(Shape):
    id: str
    status: str
    channel: str
    opened_at: str
    resolved_at: str | None


class CustomerAnswer(Shape):
    customer: Customer
    orders: list[Order]
    conversations: list[PastConversation] = Field(description="newest first, at most 50")


class QueueEntry(Shape):
    conversation_id: str
    position: int = Field(description="1-based, in the router's serving order")
    priority: Priority
    channel: str
    language: str
    enqueued_at: str
    eta_seconds: int


class Queue(Shape):
    queue: str
    depth: int
    oldest_enqueued_at: str | None
    entries: list[QueueEntry]


class QueuesAnswer(Shape):
    queues: list[Queue]


class Agent(Shape):
    agent_id: str
    name: str
    presence: Literal["online", "away", "offline"]
    queues: list[str]
    languages: list[str]
    capacity: dict[str, int] = Field(description="per capacity class (chat, email, phone)")
    load: dict[str, int] = Field(description="per capacity class; every class of `capacity` is listed")
    active_count: int


class AgentsAnswer(Shape):
    agents: list[Agent]
