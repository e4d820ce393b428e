"""The notifier's one wire <-> domain translation: protobuf in and out at the edge.

In: `NotificationRequested` / `EscalationRaised` (from Kafka, and the serialized request kept in the
outbox) -> plain dataclasses of `domain.requests`. Out: `DeliveryRecorded`. The outbox keeps the
wire's enum numbers (kind, channel, recipient kind) and the request bytes as they arrived, so the
conversions between names and numbers live here too.
"""
from __future__ import annotations

from datetime import datetime

from switchboard.events.convert import enum_name, enum_value, to_datetime, to_timestamp
from switchboard.events.v1 import common_pb2, escalation_pb2, notification_pb2, sla_pb2
from switchboard.notifier.domain.requests import (
    Assignment,
    Conversation,
    EmailThread,
    Escalation,
    Handle,
    Notification,
)

ESCALATION_MESSAGE = "escalation"      # outbox message_type: the bytes are an EscalationRaised
NOTIFICATION_MESSAGE = "notification"  # customer messages: a NotificationRequested
ASSIGNMENT_MESSAGE = "assignment"      # assignment notices: a NotificationRequested
OUTCOMES = {"delivered": notification_pb2.DELIVERY_OUTCOME_DELIVERED,
            "failed": notification_pb2.DELIVERY_OUTCOME_FAILED,
            "skipped": notification_pb2.DELIVERY_OUTCOME_SKIPPED}


class UnsupportedMessage(ValueError):
    """A record the notifier does not handle (another message type on its topics)."""


def kind_name(value: int) -> str:
    return enum_name(notification_pb2.NotificationKind, value, "NOTIFICATION_KIND_")


def kind_value(name: str) -> int:
    return enum_value(notification_pb2.NotificationKind, name, "NOTIFICATION_KIND_")


def channel_name(value: int) -> str:
    return enum_name(common_pb2.Channel, value, "CHANNEL_")


def channel_value(name: str) -> int:
    return enum_value(common_pb2.Channel, name, "CHANNEL_")


def handle_kind_value(name: str) -> int:
    return enum_value(common_pb2.HandleKind, name, "HANDLE_KIND_")


def _handle(handle: common_pb2.ContactHandle) -> Handle:
    return Handle(enum_name(common_pb2.HandleKind, handle.kind, "HANDLE_KIND_"), handle.value)


def _conversation(conv: common_pb2.ConversationSnapshot) -> Conversation:
    thread = conv.email_threading
    return Conversation(
        conversation_id=conv.conversation_id, customer_id=conv.customer_id, customer_name=conv.customer_name,
        channel=channel_name(conv.channel), priority=enum_name(common_pb2.Priority, conv.priority, "PRIORITY_"),
        queue=conv.queue, language=conv.language, assignee_id=conv.assignee_id,
        reply_handle=_handle(conv.reply_handle),
        email_thread=EmailThread(thread.message_id, tuple(thread.references), thread.subject),
        order_ids=tuple(conv.order_ids))


def _escalation(esc: escalation_pb2.EscalationRaised) -> Escalation:
    return Escalation(
        escalation_id=esc.escalation_id, brand_id=esc.brand_id, level=esc.level, level_name=esc.level_name,
        reason=enum_name(escalation_pb2.EscalationReason, esc.reason, "ESCALATION_REASON_"),
        metric=enum_name(sla_pb2.SlaMetric, esc.metric, "SLA_METRIC_"), target_seconds=esc.target_seconds,
        deadline=to_datetime(esc.deadline), breached_at=to_datetime(esc.breached_at),
        raised_at=to_datetime(esc.raised_at), recipients=tuple(esc.recipients),
        destinations=tuple(esc.destinations), detail=esc.detail, conversation=_conversation(esc.conversation))


def _notification(req: notification_pb2.NotificationRequested) -> Notification:
    who = req.assignment
    return Notification(
        intent_id=req.intent_id, brand_id=req.brand_id, kind=kind_name(req.kind), template=req.template,
        text=req.text, language=req.language, variables=dict(req.variables), recipient=_handle(req.recipient),
        channel=channel_name(req.channel), requested_at=to_datetime(req.requested_at),
        not_before=to_datetime(req.not_before), conversation=_conversation(req.conversation),
        assignment=Assignment(who.agent_id, who.agent_name, who.rule, who.explanation, who.previous_agent_id),
        escalation=_escalation(req.escalation) if req.HasField("escalation") else None)


def decode_request(payload) -> tuple[Notification | Escalation, bytes]:
    """A consumed record's payload -> (the request, the bytes the outbox keeps to send it later).
    An escalation carried inside a NotificationRequested is kept as its own EscalationRaised."""
    if isinstance(payload, escalation_pb2.EscalationRaised):
        return _escalation(payload), payload.SerializeToString()
    if isinstance(payload, notification_pb2.NotificationRequested):
        notification = _notification(payload)
        if notification.kind == "escalation" and payload.HasField("escalation"):
            return notification, payload.escalation.SerializeToString()
        return notification, payload.SerializeToString()
    raise UnsupportedMessage(f"notifier does not handle {payload.DESCRIPTOR.full_name}")


def decode_stored(message_type: str, data: bytes) -> Notification | Escalation:
    """The request kept in an outbox entry, for composing its message."""
    if message_type == ESCALATION_MESSAGE:
        return _escalation(escalation_pb2.EscalationRaised.FromString(data))
    return _notification(notification_pb2.NotificationRequested.FromString(data))


def source_value(payload) -> bytes:
    """The consumed record's value as it was, kept for the DLQ."""
    return payload.SerializeToString()


def encode_delivery(entry: dict, recorded_at: datetime) -> notification_pb2.DeliveryRecorded:
    """DeliveryRecorded for a final outbox entry (kind and channel are stored as wire numbers)."""
    event = notification_pb2.DeliveryRecorded(
        brand_id=entry["brand_id"], intent_id=entry["intent_id"], kind=entry["kind"],
        conversation_id=entry["conversation_id"], destination=entry["destination"], channel=entry["channel"],
        outcome=OUTCOMES[entry["state"]], attempts=entry.get("attempts", 0),
        detail=(entry.get("detail") or "")[:500], provider_message_id=entry.get("provider_message_id") or "",
        language=entry.get("language") or "")
    event.recorded_at.CopyFrom(to_timestamp(recorded_at))
    return event
