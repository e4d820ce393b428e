"""Our own JSON APIs (chat widget, web form, agent desk, CSAT links) -> domain events. Pure.

Input arrives already validated field-by-field by the HTTP layer's models; these functions
only decide ids, keys and dedupe ids. Ids are deterministic in the client-chosen idempotency
keys, so a retried call maps onto the same event id. adapters/codec.py puts them on the wire.
"""
from __future__ import annotations

import uuid
from datetime import datetime

from .agent import AgentCommand, Command, case_name
from .contacts import email_address
from .events import (
    Attachment,
    ChatSessionEnded,
    ChatSessionStarted,
    CsatAnswered,
    EmailThreading,
    Handle,
    Inbound,
    MessageReceived,
)
from .model import Outgoing

_SESSION_NS = uuid.UUID("0c5f1f8e-2f7b-4d7e-8a39-1f0e6b1c2d3e")


def chat_session_id(brand_id: str, client_session_id: str | None) -> str:
    """A retried "start session" with the same client_session_id gets the same session id."""
    if client_session_id:
        return "cs_" + uuid.uuid5(_SESSION_NS, f"{brand_id}\x1f{client_session_id}").hex
    return "cs_" + uuid.uuid4().hex


def _inbound(brand_id: str, key: str, event, dedupe_id: str, now: datetime) -> Outgoing:
    return Outgoing(stream="inbound", key=f"{brand_id}/{key}", payload=Inbound(brand_id, event),
                    dedupe_id=dedupe_id, time=now)


def chat_started(brand_id: str, session_id: str, *, name: str, email: str, language: str, page_url: str,
                 transcript_opt_out: bool, now: datetime) -> Outgoing:
    address, _ = email_address(email, "email")
    started = ChatSessionStarted(chat_session_id=session_id, customer_name=name, email=address,
                                 language_hint=language, page_url=page_url, transcript_opt_out=transcript_opt_out,
                                 started_at=now)
    return _inbound(brand_id, session_id, started, f"chat:{session_id}:started", now)


def chat_message(brand_id: str, session_id: str, *, client_message_id: str, text: str, language: str,
                 attachments: list[Attachment], now: datetime) -> Outgoing:
    received = MessageReceived(
        channel="chat", provider="chat", provider_message_id=f"{session_id}:{client_message_id}",
        sender=Handle("chat_session", session_id), text=text, language_hint=language,
        attachments=list(attachments), chat_session_id=session_id, sent_at=now)
    return _inbound(brand_id, session_id, received, f"chat:{session_id}:{client_message_id}", now)


def chat_ended(brand_id: str, session_id: str, *, ended_by: str, now: datetime) -> Outgoing:
    ended = ChatSessionEnded(chat_session_id=session_id, ended_by=ended_by, ended_at=now)
    return _inbound(brand_id, session_id, ended, f"chat:{session_id}:ended", now)


def web_form(brand_id: str, *, submission_id: str, name: str, email: str, subject: str, message: str,
             language: str, page_url: str, now: datetime) -> Outgoing:
    address, _ = email_address(email, "email")
    received = MessageReceived(
        channel="web_form", provider="web_form", provider_message_id=submission_id,
        sender=Handle("email", address), display_name=name, text=message, language_hint=language,
        email=EmailThreading(subject=subject), sent_at=now)
    return _inbound(brand_id, address, received, f"web_form:{submission_id}", now)


def csat_answered(brand_id: str, intent_id: str, *, score: int, comment: str, conversation_id: str,
                  now: datetime) -> Outgoing:
    answer = CsatAnswered(conversation_id=conversation_id, score=score, comment=comment,
                          survey_intent_id=intent_id, answered_at=now)
    # One event per (survey, score): a customer who changes their mind is heard, a double click is not.
    return _inbound(brand_id, conversation_id or intent_id, answer, f"csat:{intent_id}:{score}", now)


def agent_command(brand_id: str, agent_id: str, command: Command, *, idempotency_key: str | None,
                  now: datetime) -> Outgoing:
    """One AgentCommand, keyed by its conversation (or agent/<id> for presence)."""
    conversation_id = getattr(command, "conversation_id", None)
    key = conversation_id or f"agent/{agent_id}"
    case = case_name(command)
    dedupe = f"agent:{key}:{case}:{idempotency_key}" if idempotency_key else f"agent:{key}:{case}:{uuid.uuid4()}"
    return Outgoing(stream="agent_commands", key=key, payload=AgentCommand(brand_id, agent_id, command),
                    dedupe_id=dedupe, time=now, subject=conversation_id)
