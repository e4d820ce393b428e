"""Analytics' one wire -> domain translation: the four consumed protobuf events in, plain domain
events (domain/events.py) out. Protobuf stops here; enum names and timestamps go through
`switchboard.events.convert`. Analytics produces nothing, so there is no way out."""

from __future__ import annotations

import functools
from collections.abc import Callable

from switchboard.analytics.domain.events import ConversationUpdate, Delivery, Escalation, Event, SlaUpdate, Snapshot
from switchboard.common.cloudevents import Envelope
from switchboard.common.consumer import PermanentError
from switchboard.events import convert
from switchboard.events.convert import to_datetime
from switchboard.events.v1 import common_pb2, conversation_pb2, escalation_pb2, notification_pb2, sla_pb2

# Each consumed event names up to eight values of a handful of small enums: each name is looked up once
# (this doubled the decoding rate, measured in-process).
enum_name = functools.cache(convert.enum_name)


def _channel(value: int) -> str:
    return enum_name(common_pb2.Channel, value, "CHANNEL_")


def _metric(value: int) -> str:
    return enum_name(sla_pb2.SlaMetric, value, "SLA_METRIC_")


def snapshot(snap: common_pb2.ConversationSnapshot) -> Snapshot:
    return Snapshot(
        conversation_id=snap.conversation_id,
        channel=_channel(snap.channel),
        queue=snap.queue,
        priority=enum_name(common_pb2.Priority, snap.priority, "PRIORITY_"),
        status=enum_name(common_pb2.ConversationStatus, snap.status, "CONVERSATION_STATUS_"),
        assignee_id=snap.assignee_id,
        human_involved=snap.human_involved,
        opened_at=to_datetime(snap.opened_at),
    )


def _about(event) -> dict:
    """What every conversation-scoped event carries: the brand, the snapshot and its event's name."""
    return {"brand_id": event.brand_id, "conversation": snapshot(event.conversation),
            "kind": event.WhichOneof("event") or ""}


def conversation_update(event: conversation_pb2.ConversationEvent) -> ConversationUpdate:
    return ConversationUpdate(
        **_about(event),
        occurred_at=to_datetime(event.occurred_at),
        auto_reply=event.customer_message_appended.auto_reply,
        handoff_reason=enum_name(conversation_pb2.HandoffReason, event.conversation_handed_off.reason,
                                 "HANDOFF_REASON_"),
        resolved_by=event.conversation_resolved.resolved_by,
        csat_score=event.csat_recorded.score,
        transcript_requested=event.chat_ended.transcript_requested,
    )


def sla_update(event: sla_pb2.SlaEvent) -> SlaUpdate:
    return SlaUpdate(
        **_about(event),
        metric=_metric(event.metric),
        instance=event.instance,
        deadline=to_datetime(event.deadline),
        target_seconds=event.target_seconds,
        fulfilled_late=event.sla_fulfilled.breached,
        elapsed_calendar_seconds=event.sla_fulfilled.elapsed_calendar_seconds,
    )


def escalation(event: escalation_pb2.EscalationRaised) -> Escalation:
    reason = enum_name(escalation_pb2.EscalationReason, event.reason, "ESCALATION_REASON_")
    return Escalation(event.brand_id, snapshot(event.conversation), event.level, reason, _metric(event.metric))


def delivery(event: notification_pb2.DeliveryRecorded) -> Delivery:
    return Delivery(
        brand_id=event.brand_id,
        channel=_channel(event.channel),
        kind=enum_name(notification_pb2.NotificationKind, event.kind, "NOTIFICATION_KIND_"),
        outcome=enum_name(notification_pb2.DeliveryOutcome, event.outcome, "DELIVERY_OUTCOME_"),
    )


DECODERS: dict[type, Callable[..., Event]] = {
    conversation_pb2.ConversationEvent: conversation_update,
    sla_pb2.SlaEvent: sla_update,
    escalation_pb2.EscalationRaised: escalation,
    notification_pb2.DeliveryRecorded: delivery,
}


def decode_payload(payload) -> Event:
    """One consumed protobuf message -> its domain event; TypeError for a type analytics does not read."""
    decoder = DECODERS.get(type(payload))
    if decoder is None:
        raise TypeError(f"analytics does not consume {payload.DESCRIPTOR.full_name}")
    return decoder(payload)


def decode(env: Envelope) -> Event:
    """A consumed record's domain event; a record of a type analytics does not consume is poison."""
    try:
        return decode_payload(env.payload)
    except TypeError as exc:
        raise PermanentError(f"{exc} (event {env.id} on {env.topic})") from exc
