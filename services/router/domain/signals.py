"""Reactions and provider notices: kept in the conversation's history, never a customer contact.

A reaction (an emoji on a message, or taking it back) and a provider notice ("the customer sent a
message type the provider cannot carry") are not something the customer wrote to us. They join the
customer's latest conversation, open or resolved, so agents see them, and emit their own
conversation event (`customer_reaction_added`, `provider_notice_added`). They never open or reopen a
conversation, never change its channel, reply address or counters, never reach the bot and never
count as a repeat contact; SLA and analytics ignore their events, so no clock starts or moves.
With no conversation to join (a customer we never heard from), there is nothing to attach them to.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import identity
from .inputs import MessageIn
from .model import Conversation, Handle

if TYPE_CHECKING:
    from .engine import Workspace

REACTION, NOTICE = "reaction", "notice"


def latest_conversation(ws: Workspace, brand_id: str, handle: Handle) -> Conversation | None:
    """The latest conversation of the customer owning `handle` (loaded by the store), or None."""
    try:
        handle = identity.normalize(handle.kind, handle.value)
    except identity.InvalidHandle:
        return None
    customer = ws.customers.get(ws.customer_of(brand_id, handle) or "")
    return ws.conversations.get(customer.last_conversation_id) if customer else None


def conversation_for(ws: Workspace, inp: MessageIn) -> Conversation | None:
    return latest_conversation(ws, inp.brand_id, inp.sender)


def record(ws: Workspace, conv: Conversation, inp: MessageIn, message_id: str) -> tuple[str, dict]:
    """Stores the history entry; returns the conversation event (case, fields) to emit."""
    signal = inp.signal
    assert signal is not None
    doc = {
        "_id": message_id,
        "conversation_id": conv.id,
        "brand_id": conv.brand_id,
        "author": "customer",
        "kind": signal.kind,
        "channel": inp.channel,
        "provider": inp.provider,
        "provider_message_id": inp.provider_message_id,
        "text": "",  # not a message: transcripts and the bot never read it as one
        "at": inp.sent_at,
    }
    if signal.kind == REACTION:
        doc.update(reacted_provider_message_id=signal.reacted_message_id, emoji=signal.emoji, removed=signal.removed)
        event = ("customer_reaction_added",
                 {"message_id": message_id, "reacted_provider_message_id": signal.reacted_message_id,
                  "removed": signal.removed})
    else:
        doc.update(notice={"code": signal.code, "title": signal.title, "detail": signal.detail})
        event = ("provider_notice_added", {"message_id": message_id, "code": signal.code})
    ws.stored_message_ids.add(message_id)
    ws.new_messages.append(doc)
    ws.history.setdefault(conv.id, []).append(doc)
    return event
