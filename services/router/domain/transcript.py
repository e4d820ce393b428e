"""Chat transcripts: what is in them, and when they are sent.

An agent's last reply often lands just after the customer closed the chat (it was being typed),
and it comes on another topic, so in another batch. The transcript is therefore sent a short
grace (`windows.transcript_grace`, default 2 min) after the chat's end, on the router's tick, from
the stored history: it holds everything up to the end plus every agent reply up to end + grace,
whichever batch brought it. With a grace of 0 it is sent at the close. Its intent id derives from
the conversation and chat session, so a repeated tick asks for the same message: it is sent once.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Protocol

from .model import EMAIL, Conversation

LABELS = {"customer": "Customer", "bot": "Bot", "agent": "Agent"}


class Notifier(Protocol):
    def notify(self, conv: Conversation, kind: str, *, intent_id: str | None = None, **data) -> str: ...


def timeline_key(message: dict) -> tuple:
    """Oldest first; a bot answer (which carries its question's time) right after the message it
    answers, whatever their ids; then by id, so the order is stable."""
    answers = message.get("answers")
    return message["at"], answers or message["_id"], 1 if answers else 0, message["_id"]


def render(history: Iterable[dict], *, since: datetime | None, ended_at: datetime | None = None,
           grace: timedelta = timedelta(0)) -> str:
    """The transcript text: messages from `since`; after `ended_at`, only agent replies within the grace."""
    lines = []
    for m in sorted(history, key=timeline_key):
        if m.get("internal") or m.get("author") not in LABELS or not m.get("text"):
            continue
        if since is not None and m["at"] < since:
            continue
        if ended_at is not None and m["at"] > ended_at and (m["author"] != "agent" or m["at"] > ended_at + grace):
            continue
        who = LABELS[m["author"]] + (f" ({m['agent_id']})" if m.get("agent_id") else "")
        lines.append(f"[{m['at'].strftime('%Y-%m-%d %H:%M')} UTC] {who}: {m['text']}")
    return "\n".join(lines)


def schedule(conv: Conversation, *, chat_session_id: str, email: str, since: datetime | None, ended_at: datetime,
             grace: timedelta) -> None:
    """Remembers a transcript to send once the grace has passed (a chat ended twice: the first end wins)."""
    if any(p["chat_session_id"] == chat_session_id for p in conv.pending_transcripts):
        return
    conv.pending_transcripts.append({"chat_session_id": chat_session_id, "email": email, "since": since,
                                     "ended_at": ended_at, "due_at": ended_at + grace})


def next_due(conv: Conversation) -> datetime | None:
    return min((p["due_at"] for p in conv.pending_transcripts), default=None)


def send(emit: Notifier, conv: Conversation, *, intent_id: str, chat_session_id: str, email: str, text: str) -> str:
    return emit.notify(
        conv,
        "transcript",
        intent_id=intent_id,
        template="chat_transcript",
        text=text,
        variables={"transcript": text, "chat_session_id": chat_session_id},
        recipient={"kind": EMAIL, "value": email},
        channel="email",
    )


def send_due(emit: Notifier, conv: Conversation, history: Iterable[dict], now: datetime, *, grace: timedelta,
             intent_id_of) -> int:
    """Sends every transcript whose grace has passed; returns how many. `intent_id_of(session)` -> stable id."""
    due = [p for p in conv.pending_transcripts if p["due_at"] <= now]
    if not due:
        return 0
    history = list(history)
    for pending in due:
        text = render(history, since=pending["since"], ended_at=pending["ended_at"], grace=grace)
        send(emit, conv, intent_id=intent_id_of(pending["chat_session_id"]),
             chat_session_id=pending["chat_session_id"], email=pending["email"], text=text)
    conv.pending_transcripts = [p for p in conv.pending_transcripts if p["due_at"] > now]
    return len(due)
