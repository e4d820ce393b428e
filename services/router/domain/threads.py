"""Threading: which conversation an inbound contact belongs to.

1. An explicit thread key (email Message-ID in In-Reply-To/References, chat session, call id)
   names the conversation.
2. Otherwise the customer's latest conversation, on any channel: one customer problem is one
   conversation, whichever channel the customer uses next.
A resolved conversation reopens when the customer writes back inside the reopen window;
later, a new conversation opens.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from .model import Conversation

APPEND, REOPEN, OPEN = "append", "reopen", "open"


EMAIL = "email:"


def email_key(message_id: str) -> str:
    return EMAIL + message_id.strip().strip("<>").lower()


def opened_by(derive, brand_id: str, key: str) -> str:
    """The id of the conversation a contact opens, named by the thread key it brings (an email's
    Message-ID, a chat session, a call): later contacts with that key find it by this id, so the
    opening key needs no `conversation_threads` document."""
    return derive("conversation", brand_id, key)


def opening_key(own_keys) -> str:
    """The key a new conversation is named by: the first the opening contact owns ("" when none)."""
    return next(iter(own_keys), "")


def chat_key(session_id: str) -> str:
    return "chat:" + session_id


def call_key(call_id: str) -> str:
    return "call:" + call_id


def lookup_keys(
    *,
    email_in_reply_to: str = "",
    email_references: list[str] | tuple = (),
    chat_session_id: str = "",
    call_id: str = "",
) -> list[str]:
    """Keys that point at an existing conversation, most specific first."""
    keys = []
    if call_id:
        keys.append(call_key(call_id))
    if chat_session_id:
        keys.append(chat_key(chat_session_id))
    if email_in_reply_to:
        keys.append(email_key(email_in_reply_to))
    keys.extend(email_key(r) for r in reversed(list(email_references)) if r)
    return keys


@dataclass(frozen=True, slots=True)
class ThreadDecision:
    action: str  # append | reopen | open
    conversation: Conversation | None  # None when action is open
    matched_by: str  # thread_key | customer | none


def decide(
    *, by_key: Conversation | None, latest_of_customer: Conversation | None, now: datetime, reopen_window: timedelta
) -> ThreadDecision:
    for candidate, how in ((by_key, "thread_key"), (latest_of_customer, "customer")):
        if candidate is None:
            continue
        if candidate.is_open:
            return ThreadDecision(APPEND, candidate, how)
        if candidate.resolved_at is not None and now - candidate.resolved_at <= reopen_window:
            return ThreadDecision(REOPEN, candidate, how)
        # Resolved long ago: a thread key still names it, but the problem is a new one.
        return ThreadDecision(OPEN, None, how)
    return ThreadDecision(OPEN, None, "none")
