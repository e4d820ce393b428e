"""Wire <-> domain: protobuf inputs become plain domain inputs; effects become protobuf events."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp
from switchboard.common.cloudevents import Envelope
from switchboard.common.consumer import PermanentError
from switchboard.events.v1 import (
    agent_pb2,
    common_pb2,
    inbound_pb2,
    orders_pb2,
)
from switchboard.router.domain import inputs as di
from switchboard.router.domain.model import Handle

from .encode import _ts, _value, conversation_event, notification, snapshot_proto  # noqa: F401 (the wire API)
from .language import LanguageDetector


def _name(enum, value: int, prefix: str) -> str:
    """CHANNEL_EMAIL -> email; unknown numbers -> ""."""
    try:
        name = enum.Name(value)
    except ValueError:
        return ""
    return "" if name.endswith("_UNSPECIFIED") else name.removeprefix(prefix).lower()


def channel_name(value: int) -> str:
    return _name(common_pb2.Channel, value, "CHANNEL_")


def _handle(h: common_pb2.ContactHandle) -> Handle | None:
    kind = _name(common_pb2.HandleKind, h.kind, "HANDLE_KIND_")
    return Handle(kind, h.value) if kind and h.value else None


def _time(ts: Timestamp, fallback: datetime) -> datetime:
    if ts.seconds == 0 and ts.nanos == 0:
        return fallback
    return ts.ToDatetime(tzinfo=UTC)


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
    decode_case = _INBOUND.get(case or "")
    if decode_case is None:
        raise PermanentError("InboundEvent has no event set")
    return decode_case(env, getattr(event, case), brand, detector)


def _message(env: Envelope, m: inbound_pb2.MessageReceived, brand: str, detector: LanguageDetector) -> di.MessageIn:
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
        signal=_signal(m),
    )


def _call(env: Envelope, c: inbound_pb2.CallStatusReported, brand: str, _detector: LanguageDetector) -> di.CallIn:
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


def _chat_started(
    env: Envelope, s: inbound_pb2.ChatSessionStarted, brand: str, _detector: LanguageDetector
) -> di.ChatStartIn:
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


def _chat_ended(
    env: Envelope, s: inbound_pb2.ChatSessionEnded, brand: str, _detector: LanguageDetector
) -> di.ChatEndIn:
    if not s.chat_session_id:
        raise PermanentError("ChatSessionEnded.chat_session_id is required")
    return di.ChatEndIn(
        event_id=env.id,
        brand_id=brand,
        chat_session_id=s.chat_session_id,
        ended_at=_time(s.ended_at, env.time),
        ended_by=s.ended_by,
    )


def _csat(env: Envelope, a: inbound_pb2.CsatAnswered, brand: str, _detector: LanguageDetector) -> di.CsatIn:
    return di.CsatIn(
        event_id=env.id,
        brand_id=brand,
        conversation_id=a.conversation_id,
        score=a.score,
        answered_at=_time(a.answered_at, env.time),
    )


def _signal(m: inbound_pb2.MessageReceived) -> di.Signal | None:
    case = m.WhichOneof("signal")
    if case == "reaction":
        r = m.reaction
        if not r.reacted_provider_message_id:
            raise PermanentError("MessageReceived.reaction.reacted_provider_message_id is required")
        return di.Signal("reaction", reacted_message_id=r.reacted_provider_message_id, emoji=r.emoji,
                         removed=r.removed or not r.emoji)
    if case == "notice":
        n = m.notice
        return di.Signal("notice", code=n.code, title=n.title, detail=n.detail)
    return None


def _delivery(
    env: Envelope, d: inbound_pb2.DeliveryStatusReported, brand: str, _detector: LanguageDetector
) -> di.DeliveryIn:
    state = _name(inbound_pb2.DeliveryState, d.state, "DELIVERY_STATE_")
    watermark = d.watermark.ToDatetime(tzinfo=UTC) if d.HasField("watermark") else None
    recipient = _handle(d.recipient)
    if not state:
        raise PermanentError("DeliveryStatusReported.state is required")
    if not d.provider_message_id and (watermark is None or recipient is None):
        raise PermanentError(
            "DeliveryStatusReported needs provider_message_id, or a watermark and the recipient it covers"
        )
    return di.DeliveryIn(
        event_id=env.id,
        brand_id=brand,
        provider=d.provider,
        provider_message_id=d.provider_message_id,
        state=state,
        occurred_at=_time(d.occurred_at, env.time),
        error_code=d.error_code,
        channel=channel_name(d.channel),
        recipient=recipient,
        watermark=None if d.provider_message_id else watermark,
    )


_INBOUND: dict[str, Callable[[Envelope, Any, str, LanguageDetector], di.Input]] = {
    "message_received": _message,
    "call_status_reported": _call,
    "chat_session_started": _chat_started,
    "chat_session_ended": _chat_ended,
    "csat_answered": _csat,
    "delivery_status_reported": _delivery,
}
"""InboundEvent oneof case -> its decoder (the language detector is for message texts only)."""


def _status(value: int) -> str:
    return _name(common_pb2.ConversationStatus, value, "CONVERSATION_STATUS_")


_COMMANDS: dict[str, Callable[[Any], di.Command]] = {
    "assign_conversation": lambda c: di.AssignConversation(c.conversation_id, c.assignee_id, c.queue),
    "reply_to_conversation": lambda c: di.ReplyToConversation(
        c.conversation_id, c.text, _attachments(c.attachments), c.reply_id
    ),
    "add_internal_note": lambda c: di.AddInternalNote(c.conversation_id, c.text),
    "resolve_conversation": lambda c: di.ResolveConversation(c.conversation_id, c.resolution_code),
    "reopen_conversation": lambda c: di.ReopenConversation(c.conversation_id, c.reason),
    "set_conversation_status": lambda c: di.SetConversationStatus(c.conversation_id, _status(c.status), c.reason),
    "change_priority": lambda c: di.ChangePriority(c.conversation_id, int(c.priority), c.reason),
    "set_agent_presence": lambda c: di.SetAgentPresence(_name(agent_pb2.Presence, c.presence, "PRESENCE_")),
    "merge_customers": lambda c: di.MergeCustomers(c.surviving_customer_id, c.merged_customer_id),
    "acknowledge_escalation": lambda c: di.AcknowledgeEscalation(c.conversation_id, c.escalation_id),
}
"""AgentCommand oneof case -> the typed domain command (enums as lower-case names, priority a number)."""


def _command(env: Envelope, cmd: agent_pb2.AgentCommand, brand: str) -> di.CommandIn:
    kind = cmd.WhichOneof("command")
    if kind is None:
        raise PermanentError("AgentCommand has no command set")
    decode_command = _COMMANDS.get(kind)
    if decode_command is None:
        raise PermanentError(f"the router does not handle AgentCommand.{kind}")
    command = decode_command(getattr(cmd, kind))
    return di.CommandIn(event_id=env.id, brand_id=brand, agent_id=cmd.agent_id, at=env.time, command=command)
