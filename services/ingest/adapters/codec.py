"""The one wire <-> domain translation of ingest: domain events (domain/events.py, domain/agent.py) ->
protobuf messages, at the edge. Provider adapters that build protobuf themselves use `handle` and `HK`
from here. Enum and timestamp conversion: switchboard.events.convert."""
from __future__ import annotations

from dataclasses import fields as dataclass_fields
from dataclasses import replace
from functools import singledispatch

from google.protobuf.message import Message
from switchboard.events.convert import enum_value, to_timestamp
from switchboard.events.v1 import agent_pb2, common_pb2, inbound_pb2, orders_pb2
from switchboard.ingest.domain import agent
from switchboard.ingest.domain.events import (
    Attachment,
    ChatSessionEnded,
    ChatSessionStarted,
    CsatAnswered,
    Handle,
    Inbound,
    MessageReceived,
    Order,
)
from switchboard.ingest.domain.model import Outgoing

HK = common_pb2.HandleKind


def handle(kind: int, value: str) -> common_pb2.ContactHandle:
    return common_pb2.ContactHandle(kind=kind, value=value)


def contact_handle(h: Handle) -> common_pb2.ContactHandle:
    return handle(enum_value(common_pb2.HandleKind, h.kind, "HANDLE_KIND_"), h.value)


def attachment_ref(a: Attachment) -> common_pb2.AttachmentRef:
    return common_pb2.AttachmentRef(url=a.url, content_type=a.content_type, size_bytes=a.size_bytes,
                                    filename=a.filename, provider_media_id=a.provider_media_id)


def wire(event: Outgoing) -> Outgoing:
    """The same event with its payload encoded (a payload that already is protobuf passes through)."""
    return event if isinstance(event.payload, Message) else replace(event, payload=encode(event.payload))


@singledispatch
def encode(payload) -> Message:
    raise TypeError(f"no wire form for {type(payload).__name__}")


@encode.register
def _order(order: Order) -> orders_pb2.OrderEvent:
    return orders_pb2.OrderEvent(
        brand_id=order.brand_id, order_id=order.order_id,
        kind=enum_value(orders_pb2.OrderEventKind, order.kind, "ORDER_EVENT_KIND_"),
        occurred_at=to_timestamp(order.occurred_at), source=order.source,
        customer_handles=[contact_handle(h) for h in order.customer_handles], customer_name=order.customer_name,
        order_number=order.order_number, currency=order.currency, total_minor_units=order.total_minor_units,
        carrier=order.carrier, tracking_number=order.tracking_number, tracking_url=order.tracking_url,
        estimated_delivery=to_timestamp(order.estimated_delivery), reason=order.reason,
        external_event_id=order.external_event_id)


@encode.register
def _inbound(inbound: Inbound) -> inbound_pb2.InboundEvent:
    case, message = _inbound_case(inbound.event)
    return inbound_pb2.InboundEvent(brand_id=inbound.brand_id, **{case: message})


def _inbound_case(event) -> tuple[str, Message]:
    if isinstance(event, MessageReceived):
        return "message_received", message_received(event)
    if isinstance(event, ChatSessionStarted):
        return "chat_session_started", inbound_pb2.ChatSessionStarted(
            chat_session_id=event.chat_session_id, customer_name=event.customer_name, email=event.email,
            started_at=to_timestamp(event.started_at), language_hint=event.language_hint,
            page_url=event.page_url, transcript_opt_out=event.transcript_opt_out)
    if isinstance(event, ChatSessionEnded):
        return "chat_session_ended", inbound_pb2.ChatSessionEnded(
            chat_session_id=event.chat_session_id, ended_at=to_timestamp(event.ended_at), ended_by=event.ended_by)
    if isinstance(event, CsatAnswered):
        return "csat_answered", inbound_pb2.CsatAnswered(
            conversation_id=event.conversation_id, score=event.score, comment=event.comment,
            answered_at=to_timestamp(event.answered_at), survey_intent_id=event.survey_intent_id)
    raise TypeError(f"no inbound case for {type(event).__name__}")


def message_received(m: MessageReceived) -> inbound_pb2.MessageReceived:
    received = inbound_pb2.MessageReceived(
        channel=enum_value(common_pb2.Channel, m.channel, "CHANNEL_"), provider=m.provider,
        provider_message_id=m.provider_message_id, sender=contact_handle(m.sender), display_name=m.display_name,
        sent_at=to_timestamp(m.sent_at), text=m.text, language_hint=m.language_hint,
        attachments=[attachment_ref(a) for a in m.attachments], chat_session_id=m.chat_session_id,
        auto_reply=m.auto_reply)
    if m.email is not None:
        received.email.CopyFrom(common_pb2.EmailThreading(
            message_id=m.email.message_id, in_reply_to=m.email.in_reply_to, references=m.email.references,
            subject=m.email.subject))
    if m.recipient_address is not None:
        received.recipient_address.CopyFrom(contact_handle(m.recipient_address))
    return received


# Enum-valued command fields: (field, enum, wire prefix).
_COMMAND_ENUMS = {"status": (common_pb2.ConversationStatus, "CONVERSATION_STATUS_"),
                  "priority": (common_pb2.Priority, "PRIORITY_"), "presence": (agent_pb2.Presence, "PRESENCE_")}


@encode.register
def _agent_command(command: agent.AgentCommand) -> agent_pb2.AgentCommand:
    case = agent.case_name(command.command)
    fields = {}
    for field in dataclass_fields(command.command):
        name, value = field.name, getattr(command.command, field.name)
        if name in _COMMAND_ENUMS:
            enum, prefix = _COMMAND_ENUMS[name]
            value = enum_value(enum, value, prefix)
        elif name == "attachments":
            value = [attachment_ref(a) for a in value]
        fields[name] = value
    message = getattr(agent_pb2, type(command.command).__name__)(**fields)
    return agent_pb2.AgentCommand(brand_id=command.brand_id, agent_id=command.agent_id, **{case: message})
