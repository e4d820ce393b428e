"""States that only move forward: the delivery of a message we sent, and a phone call.

Providers send status callbacks out of order and more than once, so every state has a rank and a
report is applied only when it ranks above what is recorded. A late or repeated report changes
nothing. The facts a late report brings (when a call was answered) are still kept; only the state
never goes back.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING

from . import signals
from .inputs import DeliveryIn
from .model import Conversation

if TYPE_CHECKING:
    from .engine import Workspace

# A failure ranks above "sent" (the send attempt is over) and below "delivered": proof that the
# message arrived beats a failure report, and no late "sent" hides a failure.
DELIVERY_RANK = {"queued": 1, "sent": 2, "failed": 3, "delivered": 4, "read": 5}
# Every end of a call ranks alike: the first one reported wins, a second one changes nothing.
CALL_RANK = {"queued": 1, "ringing": 2, "in_progress": 3,
             "completed": 4, "no_answer": 4, "busy": 4, "failed": 4, "canceled": 4}
OUTBOUND_AUTHORS = frozenset({"bot", "agent"})


def delivery_advances(current: str, reported: str) -> bool:
    """True when `reported` moves a message's delivery state forward from `current` ("" = none yet)."""
    return DELIVERY_RANK.get(reported, 0) > DELIVERY_RANK.get(current, 0)


def call_advances(current: str, reported: str) -> bool:
    """True when `reported` moves a call's state forward: queued < ringing < in_progress < its end."""
    return CALL_RANK.get(reported, 0) > CALL_RANK.get(current, 0)


def later_call_state(current: str, reported: str) -> str:
    return reported if call_advances(current, reported) else current


def covered_by_watermark(messages: Iterable[dict], *, channel: str, state: str, watermark: datetime) -> list[dict]:
    """Applies a watermark receipt ("every message sent up to this time reached `state`") to a
    conversation's history: our messages to the customer (bot answers, agent replies; never internal
    notes) on `channel`, sent at or before the watermark, take `state` unless they already have a later
    one. Returns the documents changed."""
    changed = []
    for doc in messages:
        if doc.get("author") not in OUTBOUND_AUTHORS or doc.get("internal"):
            continue
        if (channel and doc.get("channel") != channel) or doc["at"] > watermark:
            continue
        if delivery_advances(doc.get("delivery_state", ""), state):
            doc["delivery_state"] = state
            doc["delivery_watermark"] = watermark
            changed.append(doc)
    return changed


def watermark_conversation(ws: Workspace, inp: DeliveryIn) -> Conversation | None:
    """The conversation a watermark receipt is about: the recipient's latest one (what we last wrote
    to them). None when the recipient is unknown: nothing we sent them is stored here."""
    return signals.latest_conversation(ws, inp.brand_id, inp.recipient) if inp.recipient else None


def apply_watermark(ws: Workspace, inp: DeliveryIn) -> list[dict]:
    conv = watermark_conversation(ws, inp)
    if conv is None or inp.watermark is None:
        return []
    return covered_by_watermark(ws.history.get(conv.id, []), channel=inp.channel, state=inp.state,
                                watermark=inp.watermark)


def apply_delivery(ws: Workspace, inp: DeliveryIn) -> None:
    """Records a delivery state reported for one of our messages (never regresses), or applies a watermark."""
    if inp.watermark is not None:
        for doc in apply_watermark(ws, inp):
            ws.updated_messages[doc["_id"]] = doc
        return
    key = f"{inp.brand_id}/{inp.provider}/{inp.provider_message_id}"
    doc = ws.deliveries.get(key)
    if doc is None:
        doc = ws.deliveries[key] = {
            "_id": key,
            "brand_id": inp.brand_id,
            "provider": inp.provider,
            "provider_message_id": inp.provider_message_id,
            "state": "",
            "updated_at": inp.occurred_at,
        }
    if not delivery_advances(doc["state"], inp.state):
        return  # never regress: queued < sent < failed < delivered < read
    doc["state"] = inp.state
    doc["updated_at"] = inp.occurred_at
    if inp.error_code:
        doc["error_code"] = inp.error_code
    ws.dirty_deliveries.add(key)
