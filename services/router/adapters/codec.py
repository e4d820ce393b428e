"""Wire <-> domain: protobuf inputs become plain domain inputs; effects become protobuf events."""

from __future__ import annotations

from datetime import UTC, datetime

from google.protobuf.timestamp_pb2 import Timestamp
from switchboard.common.bus import PermanentError
from switchboard.common.cloudevents import Envelope
from switchboard.events.v1 import (
    agent_pb2,
    common_pb2,
    conversation_pb2,
    inbound_pb2,
    notification_pb2,
    orders_pb2,
)
from switchboard.router.domain import inputs as di
from switchboard.router.domain.engine import Effect
from switchboard.router.domain.model import Handle

from .language import LanguageDetector


def _name(enum, value: int, prefix: str) -> str:
    """CHANNEL_EMAIL -> email; unknown numbers -> ""."""
    try:
        name = enum.Name(value)
    except ValueError:
        return ""
    return "" if name.endswith("_UNSPECIFIED") else name.removeprefix(prefix).lower()


def _value(enum, name: str, prefix: str) -> int:
    return enum.Value(prefix + name.upper()) if name else 0


def channel_name(value: int) -> str:
    return _name(common_pb2.Channel, value, "CHANNEL_")


def _handle(h: common_pb2.ContactHandle) -> Handle | None:
    kind = _name(common_pb2.HandleKind, h.kind, "HANDLE_KIND_")
    return Handle(kind, h.value) if kind and h.value else None


def _time(ts: Timestamp, fallback: datetime) -> datetime:
    if ts.seconds == 0 and ts.nanos == 0:
        return fallback
    return ts.ToDatetime(tzinfo=UTC)


def _ts(dt: datetime | None) -> Timestamp | None:
    if dt is None:
        return None
    ts = Timestamp()
    ts.FromDatetime(dt.astimezone(UTC))
    return ts


def _attachments(items) -> tuple[dict, ...]:
    return tuple(
        {
            "url": a.url,
            "content_type": a.content_type,
            "size_bytes": a.size_bytes,
            "filename": a.filename,
            "provider_media_id": a.provider_media_id,
        }
        for a in items
    )


def decode(env: Envelope, detector: LanguageDetector) -> di.Input:
    """Raises PermanentError (-> DLQ) with a message naming the field to fix."""
    payload = env.payload
    brand = getattr(payload, "brand_id", "") or env.brand_id
    if not brand:
        raise PermanentError(f"{payload.DESCRIPTOR.name}.brand_id is required")
    if isinstance(payload, inbound_pb2.InboundEvent):
        return _inbound(env, payload, brand, detector)
    if isinstance(payload, orders_pb2.OrderEvent):
        if not payload.order_id:
            raise PermanentError("OrderEvent.order_id is required")
        kind = _name(orders_pb2.OrderEventKind, payload.kind, "ORDER_EVENT_KIND_")
        if not kind:
            raise PermanentError("OrderEvent.kind is required")
        est = payload.estimated_delivery
        return di.OrderIn(
            event_id=env.id,
            brand_id=brand,
            order_id=payload.order_id,
            kind=kind,
            occurred_at=_time(payload.occurred_at, env.time),
            handles=tuple(h for h in map(_handle, payload.customer_handles) if h),
            customer_name=payload.customer_name,
            order_number=payload.order_number,
            carrier=payload.carrier,
            tracking_number=payload.tracking_number,
            tracking_url=payload.tracking_url,
            estimated_delivery=est.ToDatetime(tzinfo=UTC) if est.seconds else None,
            reason=payload.reason,
        )
    if isinstance(payload, agent_pb2.AgentCommand):
        return _command(env, payload, brand)
    raise PermanentError(f"the router does not consume {payload.DESCRIPTOR.full_name}")


def _inbound(env: Envelope, event: inbound_pb2.InboundEvent, brand: str, detector: LanguageDetector) -> di.Input:
    case = event.WhichOneof("event")
    if case == "message_received":
        m = event.message_received
        channel = channel_name(m.channel)
        sender = _handle(m.sender)
        if not channel:
            raise PermanentError("MessageReceived.channel is required")
        if sender is None:
            raise PermanentError("MessageReceived.sender (kind and value) is required")
        return di.MessageIn(
            event_id=env.id,
            brand_id=brand,
            channel=channel,
            provider=m.provider,
            provider_message_id=m.provider_message_id,
            sender=sender,
            sent_at=_time(m.sent_at, env.time),
            text=m.text,
            display_name=m.display_name,
            language=detector.detect(m.text) if m.text else "",
            language_hint=m.language_hint,
            attachments=_attachments(m.attachments),
            email_message_id=m.email.message_id,
            email_in_reply_to=m.email.in_reply_to,
            email_references=tuple(m.email.references),
            email_subject=m.email.subject,
            auto_reply=m.auto_reply,
            chat_session_id=m.chat_session_id,
            extra_handles=tuple(h for h in map(_handle, m.extra_handles) if h),
            is_echo=m.is_echo,
            postback=m.postback_payload,
        )
    if case == "call_status_reported":
        c = event.call_status_reported
        if not c.call_id:
            raise PermanentError("CallStatusReported.call_id is required")
        state = _name(inbound_pb2.CallState, c.state, "CALL_STATE_")
        if not state:
            raise PermanentError("CallStatusReported.state is required")
        return di.CallIn(
            event_id=env.id,
            brand_id=brand,
            call_id=c.call_id,
            state=state,
            occurred_at=_time(c.occurred_at, env.time),
            caller=_handle(c.caller),
            agent_id=c.agent_id,
        )
    if case == "chat_session_started":
        s = event.chat_session_started
        if not s.chat_session_id:
            raise PermanentError("ChatSessionStarted.chat_session_id is required")
        return di.ChatStartIn(
            event_id=env.id,
            brand_id=brand,
            chat_session_id=s.chat_session_id,
            started_at=_time(s.started_at, env.time),
            customer_name=s.customer_name,
            email=s.email,
            language_hint=s.language_hint,
            transcript_opt_out=s.transcript_opt_out,
        )
    if case == "chat_session_ended":
        s = event.chat_session_ended
        if not s.chat_session_id:
            raise PermanentError("ChatSessionEnded.chat_session_id is required")
        return di.ChatEndIn(
            event_id=env.id,
            brand_id=brand,
            chat_session_id=s.chat_session_id,
            ended_at=_time(s.ended_at, env.time),
            ended_by=s.ended_by,
        )
    if case == "csat_answered":
        a = event.csat_answered
        return di.CsatIn(
            event_id=env.id,
            brand_id=brand,
            conversation_id=a.conversation_id,
            score=a.score,
            answered_at=_time(a.answered_at, env.time),
        )
    if case == "delivery_status_reported":
        d = event.delivery_status_reported
        state = _name(inbound_pb2.DeliveryState, d.state, "DELIVERY_STATE_")
        if not d.provider_message_id or not state:
            raise PermanentError("DeliveryStatusReported.provider_message_id and state are required")
        return di.DeliveryIn(
            event_id=env.id,
            brand_id=brand,
            provider=d.provider,
            provider_message_id=d.provider_message_id,
            state=state,
            occurred_at=_time(d.occurred_at, env.time),
            error_code=d.error_code,
        )
    raise PermanentError("InboundEvent has no event set")


def _command(env: Envelope, cmd: agent_pb2.AgentCommand, brand: str) -> di.CommandIn:
    kind = cmd.WhichOneof("command")
    if kind is None:
        raise PermanentError("AgentCommand has no command set")
    body = getattr(cmd, kind)
    fields: dict = {}
    for descriptor, value in body.ListFields():
        if descriptor.enum_type is not None:
            if descriptor.enum_type.name == "Priority":
                fields[descriptor.name] = int(value)
            else:
                enum_name = descriptor.enum_type.values_by_number[value].name
                prefix = {"ConversationStatus": "CONVERSATION_STATUS_", "Presence": "PRESENCE_"}.get(
                    descriptor.enum_type.name, ""
                )
                fields[descriptor.name] = enum_name.removeprefix(prefix).lower()
        elif descriptor.name == "attachments":
            fields[descriptor.name] = list(_attachments(value))
        else:
            fields[descriptor.name] = value
    return di.CommandIn(event_id=env.id, brand_id=brand, agent_id=cmd.agent_id, kind=kind, at=env.time, fields=fields)


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
    request.requested_at.CopyFrom(_ts(requested_at))
    if d.get("not_before"):
        request.not_before.CopyFrom(_ts(d["not_before"]))
    return request
