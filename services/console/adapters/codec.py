"""Protobuf events from the bus -> the console's plain domain facts."""
from __future__ import annotations

from datetime import datetime

from google.protobuf.message import Message
from switchboard.common.cloudevents import Envelope
from switchboard.console.domain.projection import ConversationFact, EscalationFact, Fact, SlaEventFact, Snapshot
from switchboard.console.domain.sla import SlaFact
from switchboard.events.convert import enum_name, to_datetime
from switchboard.events.v1 import common_pb2, conversation_pb2, escalation_pb2, orders_pb2, sla_pb2

SLA_KINDS = {"sla_applied": "applied", "sla_warning_raised": "warning", "sla_breached": "breached",
             "sla_fulfilled": "fulfilled", "sla_paused": "paused", "sla_resumed": "resumed",
             "sla_reapplied": "reapplied", "sla_cancelled": "cancelled"}


class UnsupportedEvent(ValueError):
    pass


def _time(ts) -> datetime | None:
    return to_datetime(ts)


def snapshot(s: common_pb2.ConversationSnapshot) -> Snapshot:
    return Snapshot(
        conversation_id=s.conversation_id, customer_id=s.customer_id, customer_name=s.customer_name,
        channel=enum_name(common_pb2.Channel, s.channel, "CHANNEL_"),
        status=enum_name(common_pb2.ConversationStatus, s.status, "CONVERSATION_STATUS_"),
        priority=enum_name(common_pb2.Priority, s.priority, "PRIORITY_") or "normal",
        queue=s.queue, language=s.language, assignee_id=s.assignee_id, opened_at=_time(s.opened_at),
        reopen_count=s.reopen_count, handle_kind=enum_name(common_pb2.HandleKind, s.reply_handle.kind, "HANDLE_KIND_"),
        handle_value=s.reply_handle.value, order_ids=tuple(s.order_ids),
        reply_channel=enum_name(common_pb2.Channel, s.reply_channel, "CHANNEL_"),
    )


def _detail(kind: str, body: Message) -> dict:
    """Plain fields of the event body; enums as lower-case names, no message texts (none on the bus)."""
    if kind == "status_changed":
        name = lambda v: enum_name(common_pb2.ConversationStatus, v, "CONVERSATION_STATUS_")  # noqa: E731
        return {"previous": name(body.previous), "current": name(body.current), "reason": body.reason}
    if kind == "priority_changed":
        name = lambda v: enum_name(common_pb2.Priority, v, "PRIORITY_")  # noqa: E731
        return {"previous": name(body.previous), "current": name(body.current), "reason": body.reason}
    if kind == "conversation_handed_off":
        return {"reason": enum_name(conversation_pb2.HandoffReason, body.reason, "HANDOFF_REASON_"),
                "summary": body.summary}
    if kind == "order_linked":
        order = body.order
        return {"order_id": order.order_id, "order_number": order.order_number,
                "order_status": enum_name(orders_pb2.OrderEventKind, order.kind, "ORDER_EVENT_KIND_")}
    if kind == "call_answered":
        return {"call_id": body.call_id}
    if kind == "customer_message_appended":
        return {"message_id": body.message_id, "auto_reply": body.auto_reply,
                "attachment_count": body.attachment_count}
    detail = {}
    for descriptor, value in body.ListFields():
        if descriptor.type in (descriptor.TYPE_STRING, descriptor.TYPE_INT32, descriptor.TYPE_INT64,
                               descriptor.TYPE_BOOL):
            detail[descriptor.name] = value
    return detail


def conversation_fact(env: Envelope, event: conversation_pb2.ConversationEvent) -> ConversationFact:
    kind = event.WhichOneof("event") or "unknown"
    body = getattr(event, kind) if kind != "unknown" else None
    return ConversationFact(
        event_id=env.id, brand_id=event.brand_id or env.brand_id, kind=kind,
        occurred_at=_time(event.occurred_at) or env.time, snapshot=snapshot(event.conversation),
        partition=-1 if env.partition is None else env.partition, offset=-1 if env.offset is None else env.offset,
        detail=_assigned(_detail(kind, body), event) if kind == "conversation_assigned" else
        (_detail(kind, body) if body is not None else {}),
    )


def _assigned(detail: dict, event: conversation_pb2.ConversationEvent) -> dict:
    detail.setdefault("assignee_id", event.conversation.assignee_id)
    detail.setdefault("previous_assignee_id", "")
    return detail


def sla_fact(env: Envelope, event: sla_pb2.SlaEvent) -> SlaEventFact:
    case = event.WhichOneof("event") or ""
    body = getattr(event, case) if case else None
    at = remaining = None
    if case == "sla_breached":
        at = _time(body.detected_at)
    elif case == "sla_warning_raised":
        at = _time(body.detected_at)
    elif case == "sla_paused":
        at, remaining = _time(body.paused_at), body.remaining_seconds
    elif case == "sla_resumed":
        at, remaining = _time(body.resumed_at), body.remaining_seconds
    elif case == "sla_applied":
        at = _time(body.started_at)
    elif case == "sla_fulfilled":
        at = _time(body.fulfilled_at)
    at = at or env.time
    metric = enum_name(sla_pb2.SlaMetric, event.metric, "SLA_METRIC_")
    clock = SlaFact(kind=SLA_KINDS.get(case, "unknown"), metric=metric,
                    instance=event.instance, policy_id=event.policy_id, deadline=_time(event.deadline),
                    target_seconds=event.target_seconds, at=at, remaining_seconds=remaining)
    return SlaEventFact(event_id=env.id, brand_id=event.brand_id or env.brand_id, snapshot=snapshot(event.conversation),
                        clock=clock, at=at)


def escalation_fact(env: Envelope, event: escalation_pb2.EscalationRaised) -> EscalationFact:
    return EscalationFact(
        event_id=env.id, brand_id=event.brand_id or env.brand_id, snapshot=snapshot(event.conversation),
        escalation_id=event.escalation_id, level=event.level, level_name=event.level_name,
        reason=enum_name(escalation_pb2.EscalationReason, event.reason, "ESCALATION_REASON_"),
        metric=enum_name(sla_pb2.SlaMetric, event.metric, "SLA_METRIC_"),
        raised_at=_time(event.raised_at) or env.time, detail=event.detail,
    )


def to_fact(env: Envelope) -> Fact:
    payload = env.payload
    if isinstance(payload, conversation_pb2.ConversationEvent):
        return conversation_fact(env, payload)
    if isinstance(payload, sla_pb2.SlaEvent):
        return sla_fact(env, payload)
    if isinstance(payload, escalation_pb2.EscalationRaised):
        return escalation_fact(env, payload)
    raise UnsupportedEvent(f"console does not consume {payload.DESCRIPTOR.full_name} (event {env.id} on {env.topic})")
