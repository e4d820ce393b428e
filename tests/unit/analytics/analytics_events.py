"""Builders for the input events analytics consumes (shared by unit, integration and e2e tests)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from google.protobuf.timestamp_pb2 import Timestamp
from switchboard.events.v1 import common_pb2, conversation_pb2, escalation_pb2, notification_pb2, sla_pb2

T0 = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)  # Black Friday, 09:00 UTC


def stamp(when: datetime) -> Timestamp:
    out = Timestamp()
    out.FromDatetime(when)
    return out


def snapshot(
    conversation_id: str,
    *,
    status=common_pb2.CONVERSATION_STATUS_QUEUED,
    channel=common_pb2.CHANNEL_EMAIL,
    queue="general",
    priority=common_pb2.PRIORITY_NORMAL,
    assignee_id="",
    human_involved=False,
    opened_at: datetime = T0,
) -> common_pb2.ConversationSnapshot:
    return common_pb2.ConversationSnapshot(
        conversation_id=conversation_id,
        customer_id="cust-" + conversation_id,
        channel=channel,
        status=status,
        priority=priority,
        queue=queue,
        assignee_id=assignee_id,
        human_involved=human_involved,
        opened_at=stamp(opened_at),
    )


def conversation(
    kind: str, conversation_id: str, at: datetime, *, brand="acme", body=None, **snapshot_fields
) -> conversation_pb2.ConversationEvent:
    event = conversation_pb2.ConversationEvent(
        brand_id=brand, conversation=snapshot(conversation_id, **snapshot_fields), occurred_at=stamp(at)
    )
    getattr(event, kind).CopyFrom(body if body is not None else type(getattr(event, kind))())
    return event


def sla(
    kind: str,
    conversation_id: str,
    *,
    metric=sla_pb2.SLA_METRIC_FIRST_RESPONSE,
    instance=1,
    deadline: datetime | None = None,
    target_seconds=9000,
    brand="acme",
    body=None,
    **snapshot_fields,
) -> sla_pb2.SlaEvent:
    event = sla_pb2.SlaEvent(
        brand_id=brand,
        conversation=snapshot(conversation_id, **snapshot_fields),
        metric=metric,
        instance=instance,
        policy_id="default",
        target_seconds=target_seconds,
    )
    if deadline is not None:
        event.deadline.CopyFrom(stamp(deadline))
    getattr(event, kind).CopyFrom(body if body is not None else type(getattr(event, kind))())
    return event


def fulfilled(conversation_id: str, elapsed: int, *, breached=False, **kw) -> sla_pb2.SlaEvent:
    return sla(
        "sla_fulfilled",
        conversation_id,
        body=sla_pb2.SlaFulfilled(
            elapsed_calendar_seconds=elapsed, elapsed_business_seconds=elapsed, breached=breached
        ),
        **kw,
    )


def escalation(
    conversation_id: str, level=1, reason=escalation_pb2.ESCALATION_REASON_SLA_BREACHED, brand="acme", **snapshot_fields
) -> escalation_pb2.EscalationRaised:
    return escalation_pb2.EscalationRaised(
        brand_id=brand,
        escalation_id=f"{conversation_id}:1:1:{level}",
        conversation=snapshot(conversation_id, **snapshot_fields),
        level=level,
        reason=reason,
        metric=sla_pb2.SLA_METRIC_FIRST_RESPONSE,
        instance=1,
    )


def delivery(
    conversation_id: str,
    kind=notification_pb2.NOTIFICATION_KIND_TRANSCRIPT,
    outcome=notification_pb2.DELIVERY_OUTCOME_DELIVERED,
    channel=common_pb2.CHANNEL_CHAT,
    brand="acme",
) -> notification_pb2.DeliveryRecorded:
    return notification_pb2.DeliveryRecorded(
        brand_id=brand,
        intent_id="intent-" + conversation_id,
        kind=kind,
        conversation_id=conversation_id,
        destination="smtp",
        channel=channel,
        outcome=outcome,
        attempts=1,
    )


__all__ = ["T0", "timedelta", "conversation", "sla", "fulfilled", "escalation", "delivery", "snapshot", "stamp"]


def decoded(events) -> list:
    """The wire events as the analytics projection receives them: through the service's codec."""
    from switchboard.analytics.adapters.codec import decode_payload

    return [decode_payload(event) for event in events]
