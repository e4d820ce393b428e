"""Effects -> wire: the router's conversation events and notification requests as protobuf."""

from __future__ import annotations

from datetime import UTC, datetime

from google.protobuf.timestamp_pb2 import Timestamp
from switchboard.events.v1 import common_pb2, conversation_pb2, notification_pb2, orders_pb2
from switchboard.router.domain import inputs as di
from switchboard.router.domain.engine import Effect


def _value(enum, name: str, prefix: str) -> int:
    return enum.Value(prefix + name.upper()) if name else 0


def _ts(dt: datetime | None) -> Timestamp | None:
    if dt is None:
        return None
    ts = Timestamp()
    ts.FromDatetime(dt.astimezone(UTC))
    return ts


# ---------------------------------------------------------------------------- effects -> wire
_STATUS = {
    name: _value(common_pb2.ConversationStatus, name, "CONVERSATION_STATUS_")
    for name in ("bot", "queued", "assigned", "waiting_on_customer", "waiting_on_third_party", "resolved")
}


def _contact(d: dict) -> common_pb2.ContactHandle | None:
    if not d or not d.get("kind"):
        return None
    return common_pb2.ContactHandle(kind=_value(common_pb2.HandleKind, d["kind"], "HANDLE_KIND_"), value=d["value"])


def snapshot_proto(s: dict) -> common_pb2.ConversationSnapshot:
    snap = common_pb2.ConversationSnapshot(
        conversation_id=s["conversation_id"],
        customer_id=s["customer_id"],
        channel=_value(common_pb2.Channel, s["channel"], "CHANNEL_"),
        status=_STATUS.get(s["status"], 0),
        priority=s["priority"],
        queue=s["queue"],
        language=s["language"],
        assignee_id=s["assignee_id"],
        reopen_count=s["reopen_count"],
        region=s["region"],
        customer_name=s["customer_name"],
        order_ids=s["order_ids"],
        human_involved=s["human_involved"],
        reply_channel=_value(common_pb2.Channel, s.get("reply_channel", ""), "CHANNEL_"),
    )
    if s.get("opened_at"):
        snap.opened_at.CopyFrom(_ts(s["opened_at"]))
    handle = _contact(s.get("reply_handle") or {})
    if handle is not None:
        snap.reply_handle.CopyFrom(handle)
    et = s.get("email_threading") or {}
    if et.get("message_id"):
        snap.email_threading.CopyFrom(
            common_pb2.EmailThreading(
                message_id=et["message_id"],
                in_reply_to=et.get("in_reply_to", ""),
                references=et.get("references", []),
                subject=et.get("subject", ""),
            )
        )
    return snap


def _order_proto(o: di.OrderIn) -> orders_pb2.OrderEvent:
    event = orders_pb2.OrderEvent(
        brand_id=o.brand_id,
        order_id=o.order_id,
        kind=_value(orders_pb2.OrderEventKind, o.kind, "ORDER_EVENT_KIND_"),
        customer_name=o.customer_name,
        order_number=o.order_number,
        carrier=o.carrier,
        tracking_number=o.tracking_number,
        tracking_url=o.tracking_url,
        reason=o.reason,
        external_event_id=o.event_id,
    )
    event.occurred_at.CopyFrom(_ts(o.occurred_at))
    if o.estimated_delivery:
        event.estimated_delivery.CopyFrom(_ts(o.estimated_delivery))
    for h in o.handles:
        event.customer_handles.append(
            common_pb2.ContactHandle(kind=_value(common_pb2.HandleKind, h.kind, "HANDLE_KIND_"), value=h.value)
        )
    return event


def _event_body(case: str, data: dict):
    c = conversation_pb2
    if case == "conversation_handed_off":
        return c.ConversationHandedOff(
            reason=_value(c.HandoffReason, data["reason"], "HANDOFF_REASON_"), summary=data["summary"]
        )
    if case == "status_changed":
        return c.StatusChanged(
            previous=_STATUS.get(data["previous"], 0),
            current=_STATUS.get(data["current"], 0),
            reason=data.get("reason", ""),
        )
    if case == "order_linked":
        return c.OrderLinked(order=_order_proto(data["order"]))
    if case == "call_answered":
        body = c.CallAnswered(call_id=data["call_id"])
        if data.get("ringing_at"):
            body.ringing_at.CopyFrom(_ts(data["ringing_at"]))
        body.answered_at.CopyFrom(_ts(data["answered_at"]))
        return body
    message_type = {
        "conversation_opened": c.ConversationOpened,
        "customer_message_appended": c.CustomerMessageAppended,
        "bot_replied": c.BotReplied,
        "conversation_queued": c.ConversationQueued,
        "conversation_assigned": c.ConversationAssigned,
        "agent_replied": c.AgentReplied,
        "internal_note_added": c.InternalNoteAdded,
        "priority_changed": c.PriorityChanged,
        "conversation_resolved": c.ConversationResolved,
        "conversation_reopened": c.ConversationReopened,
        "queue_position_changed": c.QueuePositionChanged,
        "csat_recorded": c.CsatRecorded,
        "chat_ended": c.ChatEnded,
        "escalation_acknowledged": c.EscalationAcknowledged,
        "repeat_contact_detected": c.RepeatContactDetected,
        "customers_merged": c.CustomersMerged,
        "customer_reaction_added": c.CustomerReactionAdded,
        "provider_notice_added": c.ProviderNoticeAdded,
        "assignee_unavailable": c.AssigneeUnavailable,
    }[case]
    return message_type(**data)


def conversation_event(effect: Effect) -> conversation_pb2.ConversationEvent:
    event = conversation_pb2.ConversationEvent(brand_id=effect.brand_id, conversation=snapshot_proto(effect.snapshot))
    event.occurred_at.CopyFrom(_ts(effect.occurred_at))
    getattr(event, effect.case).CopyFrom(_event_body(effect.case, effect.data))
    return event


def notification(effect: Effect, requested_at: datetime) -> notification_pb2.NotificationRequested:
    d = effect.data
    request = notification_pb2.NotificationRequested(
        brand_id=effect.brand_id,
        intent_id=effect.event_id,
        kind=_value(notification_pb2.NotificationKind, effect.case, "NOTIFICATION_KIND_"),
        conversation=snapshot_proto(effect.snapshot),
        template=d.get("template", ""),
        language=d.get("language", ""),
        variables={k: str(v) for k, v in (d.get("variables") or {}).items()},
        text=d.get("text", ""),
        channel=_value(common_pb2.Channel, d.get("channel", ""), "CHANNEL_"),
    )
    recipient = _contact(d.get("recipient") or {})
    if recipient is not None:
        request.recipient.CopyFrom(recipient)
    if d.get("assignment"):
        request.assignment.CopyFrom(notification_pb2.AgentAssignment(**d["assignment"]))
    request.requested_at.CopyFrom(_ts(requested_at))
    if d.get("not_before"):
        request.not_before.CopyFrom(_ts(d["not_before"]))
    return request
