"""The SLA service's one wire <-> domain translation: ConversationEvent in (-> `Change`), SlaEvent,
EscalationRaised and NotificationRequested out (<- the tracker's decisions). Protobuf stops here;
enum names and timestamps go through `switchboard.events.convert`.

The ConversationSnapshot rides along opaquely: handlers keep it (as bytes in the stored record) and
hand it back to `encode`, which copies it into every event raised for the conversation.
"""
from __future__ import annotations

from collections.abc import Callable

from google.protobuf.message import Message
from switchboard.common.cloudevents import Envelope
from switchboard.common.consumer import PermanentError
from switchboard.events.convert import enum_name, enum_value, to_datetime, to_timestamp
from switchboard.events.v1 import (
    common_pb2,
    conversation_pb2,
    escalation_pb2,
    notification_pb2,
    orders_pb2,
    sla_pb2,
)
from switchboard.sla.domain.effects import EPOCH, EscalationOut, ProactiveOut, SlaOut
from switchboard.sla.domain.state import Change, Facts

Snapshot = common_pb2.ConversationSnapshot
UNSPECIFIED = "unspecified"  # what the tracker has always seen for an unset or unknown enum value


def _name(enum, value: int, prefix: str) -> str:
    return enum_name(enum, value, prefix) or UNSPECIFIED


# --- in: ConversationEvent -> Change ---------------------------------------------------------------
def conversation_id_of(env: Envelope) -> str:
    cid = getattr(getattr(env.payload, "conversation", None), "conversation_id", "")
    if not cid:
        raise PermanentError("ConversationEvent.conversation.conversation_id is empty")
    return cid


def facts_of(brand_id: str, snap: Snapshot) -> Facts:
    priority = _name(common_pb2.Priority, snap.priority, "PRIORITY_")
    return Facts(brand=brand_id, channel=_name(common_pb2.Channel, snap.channel, "CHANNEL_"),
                 priority="normal" if priority == UNSPECIFIED else priority, queue=snap.queue,
                 region=snap.region, status=_name(common_pb2.ConversationStatus, snap.status, "CONVERSATION_STATUS_"),
                 assignee=snap.assignee_id)


def _order_linked(change: Change, body) -> None:
    order = body.order
    change.order_kind = _name(orders_pb2.OrderEventKind, order.kind, "ORDER_EVENT_KIND_")
    change.order_id, change.order_number, change.reason = order.order_id, order.order_number, order.reason
    change.order_eta = to_datetime(order.estimated_delivery)


def _assignee_unavailable(change: Change, body) -> None:
    change.agent_id, change.reason, change.escalate = body.agent_id, body.reason, body.escalate


def _escalation_acknowledged(change: Change, body) -> None:
    change.escalation_id, change.agent_id = body.escalation_id, body.agent_id


# The fields each event kind adds to its Change (the other kinds carry only the snapshot and time).
_BODY: dict[str, Callable[[Change, object], None]] = {
    "customer_message_appended": lambda change, body: setattr(change, "auto_reply", body.auto_reply),
    "conversation_assigned": lambda change, body: setattr(change, "reassignment_count", body.reassignment_count),
    "escalation_acknowledged": _escalation_acknowledged,
    "assignee_unavailable": _assignee_unavailable,
    "priority_changed": lambda change, body: setattr(change, "reason", body.reason),
    "call_answered": lambda change, body: setattr(change, "answered_at", to_datetime(body.answered_at)),
    "order_linked": _order_linked,
}


def decode(env: Envelope) -> tuple[Change, Snapshot]:
    """ConversationEvent -> (Change, its snapshot). Raises PermanentError for records that cannot be timed."""
    event: conversation_pb2.ConversationEvent = env.payload
    if not isinstance(event, conversation_pb2.ConversationEvent):
        raise PermanentError(f"expected ConversationEvent, got {type(event).__name__}")
    if not event.conversation.conversation_id:
        raise PermanentError("ConversationEvent.conversation.conversation_id is empty")
    if not event.HasField("occurred_at"):
        raise PermanentError("ConversationEvent.occurred_at is missing: SLA clocks run on event time")
    kind = event.WhichOneof("event")
    if kind is None:
        raise PermanentError("ConversationEvent carries no event (oneof `event` is empty)")
    at = to_datetime(event.occurred_at, EPOCH)
    change = Change(event_id=env.id, kind=kind, at=at,
                    facts=facts_of(event.brand_id or env.brand_id, event.conversation))
    fill = _BODY.get(kind)
    if fill is not None:
        fill(change, getattr(event, kind))
    return change, event.conversation


def snapshot_bytes(snapshot: Snapshot) -> bytes:
    return snapshot.SerializeToString()


def snapshot_from_bytes(raw: bytes) -> Snapshot:
    return Snapshot.FromString(raw)


# --- out: decisions -> SlaEvent / EscalationRaised / NotificationRequested ----------------------
def encode(emit: SlaOut | EscalationOut | ProactiveOut, brand: str, snapshot: Snapshot,
           event_id: str) -> tuple[str, Message]:
    """One emitted decision -> (logical topic, message)."""
    if isinstance(emit, SlaOut):
        return "sla", sla_event(emit, brand, snapshot)
    if isinstance(emit, EscalationOut):
        return "escalations", escalation_pb2.EscalationRaised(
            brand_id=brand, escalation_id=emit.escalation_id, conversation=snapshot, level=emit.level,
            level_name=emit.level_name,
            reason=enum_value(escalation_pb2.EscalationReason, emit.reason, "ESCALATION_REASON_"),
            metric=enum_value(sla_pb2.SlaMetric, emit.metric, "SLA_METRIC_"), instance=emit.instance,
            deadline=to_timestamp(emit.deadline), breached_at=to_timestamp(emit.breached_at),
            raised_at=to_timestamp(emit.raised_at), recipients=list(emit.recipients),
            destinations=list(emit.destinations), detail=emit.detail, target_seconds=emit.target_seconds)
    return "notifications", notification_pb2.NotificationRequested(
        brand_id=brand, intent_id=event_id, kind=notification_pb2.NOTIFICATION_KIND_PROACTIVE_UPDATE,
        conversation=snapshot, template=emit.template, language=snapshot.language, variables=emit.variables,
        recipient=snapshot.reply_handle, channel=snapshot.channel, requested_at=to_timestamp(emit.requested_at))


# SlaEvent's oneof case per decision, and how its fields come from the decision's detail.
_SLA_CASES: dict[str, tuple[str, Callable[[dict], Message]]] = {
    "applied": ("sla_applied", lambda d: sla_pb2.SlaApplied(started_at=to_timestamp(d["started_at"]))),
    "warning": ("sla_warning_raised", lambda d: sla_pb2.SlaWarningRaised(
        fraction_elapsed=d["fraction_elapsed"], seconds_left=d["seconds_left"],
        detected_at=to_timestamp(d["detected_at"]))),
    "breached": ("sla_breached", lambda d: sla_pb2.SlaBreached(
        detected_at=to_timestamp(d["detected_at"]), late_by_ms=d["late_by_ms"])),
    "fulfilled": ("sla_fulfilled", lambda d: sla_pb2.SlaFulfilled(
        fulfilled_at=to_timestamp(d["fulfilled_at"]), elapsed_business_seconds=d["elapsed_business_seconds"],
        elapsed_calendar_seconds=d["elapsed_calendar_seconds"], breached=d["breached"])),
    "paused": ("sla_paused", lambda d: sla_pb2.SlaPaused(
        paused_at=to_timestamp(d["paused_at"]), remaining_seconds=d["remaining_seconds"],
        reason_status=enum_value(common_pb2.ConversationStatus, d["reason_status"], "CONVERSATION_STATUS_"))),
    "resumed": ("sla_resumed", lambda d: sla_pb2.SlaResumed(
        resumed_at=to_timestamp(d["resumed_at"]), remaining_seconds=d["remaining_seconds"])),
    "reapplied": ("sla_reapplied", lambda d: sla_pb2.SlaReapplied(
        previous_policy_id=d["previous_policy_id"], previous_deadline=to_timestamp(d["previous_deadline"]),
        reason=d["reason"])),
    "cancelled": ("sla_cancelled", lambda d: sla_pb2.SlaCancelled(reason=d["reason"])),
}


def sla_event(emit: SlaOut, brand: str, snapshot: Snapshot) -> sla_pb2.SlaEvent:
    msg = sla_pb2.SlaEvent(brand_id=brand, conversation=snapshot,
                           metric=enum_value(sla_pb2.SlaMetric, emit.metric, "SLA_METRIC_"),
                           instance=emit.instance, policy_id=emit.policy_id, deadline=to_timestamp(emit.deadline),
                           target_seconds=emit.target_seconds, business_hours=emit.business_hours,
                           calendar_id=emit.calendar_id)
    if emit.event in _SLA_CASES:
        case, build = _SLA_CASES[emit.event]
        getattr(msg, case).CopyFrom(build(emit.detail))
    return msg
