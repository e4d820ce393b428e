"""Our own JSON APIs (chat widget, web form, agent desk, CSAT links) -> proto events. Pure.

Input arrives already validated field-by-field by the HTTP layer's models; these functions
only decide ids, keys and the proto shape. Ids are deterministic in the client-chosen
idempotency keys, so a retried call maps onto the same event id.
"""
from __future__ import annotations

import uuid
from datetime import datetime

from switchboard.events.v1 import agent_pb2, common_pb2, inbound_pb2

from .contacts import HK, email_address, handle
from .model import Outgoing

_SESSION_NS = uuid.UUID("0c5f1f8e-2f7b-4d7e-8a39-1f0e6b1c2d3e")

STATUS = {
    "waiting_on_customer": common_pb2.CONVERSATION_STATUS_WAITING_ON_CUSTOMER,
    "waiting_on_third_party": common_pb2.CONVERSATION_STATUS_WAITING_ON_THIRD_PARTY,
    "assigned": common_pb2.CONVERSATION_STATUS_ASSIGNED,
}
PRIORITY = {"low": common_pb2.PRIORITY_LOW, "normal": common_pb2.PRIORITY_NORMAL,
            "high": common_pb2.PRIORITY_HIGH, "urgent": common_pb2.PRIORITY_URGENT}
PRESENCE = {"online": agent_pb2.PRESENCE_ONLINE, "away": agent_pb2.PRESENCE_AWAY,
            "offline": agent_pb2.PRESENCE_OFFLINE}


def chat_session_id(brand_id: str, client_session_id: str | None) -> str:
    """A retried "start session" with the same client_session_id gets the same session id."""
    if client_session_id:
        return "cs_" + uuid.uuid5(_SESSION_NS, f"{brand_id}\x1f{client_session_id}").hex
    return "cs_" + uuid.uuid4().hex


def chat_started(brand_id: str, session_id: str, *, name: str, email: str, language: str, page_url: str,
                 transcript_opt_out: bool, now: datetime) -> Outgoing:
    address, _ = email_address(email, "email")
    started = inbound_pb2.ChatSessionStarted(
        chat_session_id=session_id, customer_name=name, email=address, language_hint=language,
        page_url=page_url, transcript_opt_out=transcript_opt_out)
    started.started_at.FromDatetime(now)
    return Outgoing(stream="inbound", key=f"{brand_id}/{session_id}",
                    payload=inbound_pb2.InboundEvent(brand_id=brand_id, chat_session_started=started),
                    dedupe_id=f"chat:{session_id}:started", time=now)


def attachment(url: str, content_type: str = "", filename: str = "", size_bytes: int = 0) -> common_pb2.AttachmentRef:
    return common_pb2.AttachmentRef(url=url, content_type=content_type, filename=filename, size_bytes=size_bytes)


def chat_message(brand_id: str, session_id: str, *, client_message_id: str, text: str, language: str,
                 attachments: list[common_pb2.AttachmentRef], now: datetime) -> Outgoing:
    received = inbound_pb2.MessageReceived(
        channel=common_pb2.CHANNEL_CHAT, provider="chat", provider_message_id=f"{session_id}:{client_message_id}",
        sender=handle(HK.HANDLE_KIND_CHAT_SESSION, session_id), text=text, language_hint=language,
        attachments=attachments, chat_session_id=session_id)
    received.sent_at.FromDatetime(now)
    return Outgoing(stream="inbound", key=f"{brand_id}/{session_id}",
                    payload=inbound_pb2.InboundEvent(brand_id=brand_id, message_received=received),
                    dedupe_id=f"chat:{session_id}:{client_message_id}", time=now)


def chat_ended(brand_id: str, session_id: str, *, ended_by: str, now: datetime) -> Outgoing:
    ended = inbound_pb2.ChatSessionEnded(chat_session_id=session_id, ended_by=ended_by)
    ended.ended_at.FromDatetime(now)
    return Outgoing(stream="inbound", key=f"{brand_id}/{session_id}",
                    payload=inbound_pb2.InboundEvent(brand_id=brand_id, chat_session_ended=ended),
                    dedupe_id=f"chat:{session_id}:ended", time=now)


def web_form(brand_id: str, *, submission_id: str, name: str, email: str, subject: str, message: str,
             language: str, page_url: str, now: datetime) -> Outgoing:
    address, _ = email_address(email, "email")
    received = inbound_pb2.MessageReceived(
        channel=common_pb2.CHANNEL_WEB_FORM, provider="web_form", provider_message_id=submission_id,
        sender=handle(HK.HANDLE_KIND_EMAIL, address), display_name=name, text=message, language_hint=language,
        email=common_pb2.EmailThreading(subject=subject))
    received.sent_at.FromDatetime(now)
    return Outgoing(stream="inbound", key=f"{brand_id}/{address}",
                    payload=inbound_pb2.InboundEvent(brand_id=brand_id, message_received=received),
                    dedupe_id=f"web_form:{submission_id}", time=now)


def csat_answered(brand_id: str, intent_id: str, *, score: int, comment: str, conversation_id: str,
                  now: datetime) -> Outgoing:
    answer = inbound_pb2.CsatAnswered(conversation_id=conversation_id, score=score, comment=comment,
                                      survey_intent_id=intent_id)
    answer.answered_at.FromDatetime(now)
    # One event per (survey, score): a customer who changes their mind is heard, a double click is not.
    return Outgoing(stream="inbound", key=f"{brand_id}/{conversation_id or intent_id}",
                    payload=inbound_pb2.InboundEvent(brand_id=brand_id, csat_answered=answer),
                    dedupe_id=f"csat:{intent_id}:{score}", time=now)


def agent_command(brand_id: str, agent_id: str, *, conversation_id: str | None, field: str,
                  command: object, idempotency_key: str | None, now: datetime) -> Outgoing:
    """One AgentCommand; `field` names the oneof case. Keyed by conversation (or agent/<id> for presence)."""
    message = agent_pb2.AgentCommand(brand_id=brand_id, agent_id=agent_id, **{field: command})
    key = conversation_id or f"agent/{agent_id}"
    dedupe = f"agent:{key}:{field}:{idempotency_key}" if idempotency_key else f"agent:{key}:{field}:{uuid.uuid4()}"
    return Outgoing(stream="agent_commands", key=key, payload=message, dedupe_id=dedupe, time=now,
                    subject=conversation_id)
