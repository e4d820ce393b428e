"""OpenConversation <-> the MongoDB document of collection analytics_open_conversations.

Enum fields are stored as words (status "queued", channel "email") so the collection is readable
and can be compared directly with the router's `conversations` collection.
"""

from __future__ import annotations

from typing import Any

from . import labels as L
from .projection import OpenConversation, SlaClock

_CHANNEL_NUMBERS = {word: number for number, word in L.CHANNELS.items()}
_PRIORITY_NUMBERS = {word: number for number, word in L.PRIORITIES.items()}
_STATUS_NUMBERS = {word: number for number, word in L.STATUSES.items()}
_METRIC_NUMBERS = {word: number for number, word in L.SLA_METRICS.items()}


def to_document(conv: OpenConversation) -> dict[str, Any]:
    running = [c.deadline for c in conv.clocks.values() if not c.paused and c.deadline is not None]
    return {
        "_id": conv.conversation_id,
        "brand_id": conv.brand_id,
        "channel": L.enum_word(L.CHANNELS, conv.channel),
        "queue": conv.queue,
        "priority": L.enum_word(L.PRIORITIES, conv.priority),
        "status": L.enum_word(L.STATUSES, conv.status),
        "opened_at": conv.opened_at,
        "waiting_since": conv.waiting_since,
        "queued_since": conv.queued_since,
        "assignee_id": conv.assignee_id,
        "human_involved": conv.human_involved,
        "handed_off": conv.handed_off,
        "sla_next_deadline": min(running) if running else None,
        "sla": [
            {
                "metric": L.enum_word(L.SLA_METRICS, c.metric),
                "instance": c.instance,
                "deadline": c.deadline,
                "target_seconds": c.target_seconds,
                "paused": c.paused,
                "breached": c.breached,
            }
            for c in conv.clocks.values()
        ],
    }


def from_document(doc: dict[str, Any]) -> OpenConversation:
    clocks = {}
    for item in doc.get("sla") or ():
        metric = _METRIC_NUMBERS.get(item.get("metric"), 0)
        clocks[metric] = SlaClock(
            metric=metric,
            instance=int(item.get("instance", 1)),
            deadline=item.get("deadline"),
            target_seconds=int(item.get("target_seconds", 0)),
            paused=bool(item.get("paused")),
            breached=bool(item.get("breached")),
        )
    return OpenConversation(
        conversation_id=str(doc["_id"]),
        brand_id=doc.get("brand_id", ""),
        channel=_CHANNEL_NUMBERS.get(doc.get("channel"), 0),
        queue=doc.get("queue", ""),
        priority=_PRIORITY_NUMBERS.get(doc.get("priority"), 0),
        status=_STATUS_NUMBERS.get(doc.get("status"), 0),
        opened_at=doc.get("opened_at"),
        waiting_since=doc.get("waiting_since"),
        queued_since=doc.get("queued_since"),
        assignee_id=doc.get("assignee_id", ""),
        human_involved=bool(doc.get("human_involved")),
        handed_off=bool(doc.get("handed_off")),
        clocks=clocks,
    )
