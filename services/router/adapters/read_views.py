"""Stored router documents -> the read API's JSON shapes (pure: no I/O, no clock reads).

Queue positions and ETAs come from the routing domain itself (`routing.positions`,
`routing.eta_seconds`), so the read API shows exactly what the router tells waiting customers.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from switchboard.common.readapi import iso, plain
from switchboard.router.domain import routing
from switchboard.router.domain.config import BrandRouting
from switchboard.router.domain.model import (
    PRIORITY_NAMES,
    Agent,
    Conversation,
    Customer,
    OrderRecord,
    QueueEntry,
    stored_time,
)

NOTE, MESSAGE = "note", "message"


def priority_name(priority: int) -> str:
    return PRIORITY_NAMES.get(priority, "normal")


def handle_view(handle: Mapping[str, Any] | None) -> dict[str, str]:
    handle = handle or {}
    return {"kind": str(handle.get("kind", "")), "value": str(handle.get("value", ""))}


def conversation_view(doc: Mapping[str, Any]) -> dict[str, Any]:
    conv = Conversation.from_doc(dict(doc))
    return {
        "id": conv.id,
        "brand_id": conv.brand_id,
        "customer_id": conv.customer_id,
        "customer_name": conv.customer_name,
        "channel": conv.channel,
        "channels": list(conv.channels) or [conv.channel],
        "status": conv.status,
        "priority": priority_name(conv.priority),
        "queue": conv.queue,
        "assignee_id": conv.assignee_id,
        "language": conv.language,
        "opened_at": iso(conv.opened_at),
        "updated_at": iso(conv.updated_at),
        "resolved_at": iso(conv.resolved_at),
        "reply_handle": handle_view(conv.reply_handle),
        "reply_channel": conv.reply_channel or conv.channel,
        "callback_number": str(conv.callback.get("number", "")),
        "order_ids": list(conv.order_ids),
        "csat_score": conv.csat_score,
        "handoffs": plain(conv.handoffs),
        "assignment_history": plain(conv.assignment_history),
        "escalations_acknowledged": list(conv.escalations_acknowledged),
        "reopen_count": conv.reopen_count,
    }


def attachment_view(stored: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "name": stored.get("filename", ""),
        "content_type": stored.get("content_type", ""),
        "url": stored.get("url", ""),
        "size": int(stored.get("size_bytes") or 0),
    }


def message_view(doc: Mapping[str, Any]) -> dict[str, Any]:
    internal = bool(doc.get("internal"))
    return {
        "id": doc["_id"],
        "author": doc.get("author", "customer"),
        "agent_id": doc.get("agent_id", ""),
        "internal": internal,
        "channel": doc.get("channel", ""),
        "text": doc.get("text", ""),
        "attachments": [attachment_view(a) for a in doc.get("attachments") or ()],
        "at": iso(doc.get("at")),
        "auto_reply": bool(doc.get("auto_reply")),
        # stored only for calls ("call"); notes and messages are told apart by `internal`
        "kind": doc.get("kind") or (NOTE if internal else MESSAGE),
        "delivery_state": doc.get("delivery_state", ""),
    }


def order_view(doc: Mapping[str, Any]) -> dict[str, Any]:
    order = OrderRecord.from_doc(dict(doc))
    return {
        "order_id": order.order_id,
        "order_number": order.order_number,
        "status": order.kind,
        "occurred_at": iso(order.occurred_at),
        "carrier": order.carrier,
        "tracking_number": order.tracking_number,
        "tracking_url": order.tracking_url,
        "estimated_delivery": iso(order.estimated_delivery),
    }


def orders_in_order(docs: Iterable[Mapping[str, Any]], order_ids: list[str]) -> list[dict[str, Any]]:
    """Orders in the order the conversation or customer lists them (the order they became known)."""
    by_id = {d["order_id"]: order_view(d) for d in docs}
    return [by_id[o] for o in order_ids if o in by_id]


def customer_view(doc: Mapping[str, Any]) -> dict[str, Any]:
    customer = Customer.from_doc(dict(doc))
    return {
        "id": customer.id,
        "name": customer.name,
        "vip": customer.vip,
        "created_at": iso(customer.created_at),
        "handles": [handle_view(h) for h in customer.handles],
    }


def past_conversation_view(doc: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": doc["_id"],
        "status": doc.get("status", ""),
        "channel": doc.get("channel", ""),
        "opened_at": iso(doc.get("opened_at")),
        "resolved_at": iso(stored_time(doc.get("resolved_at"))),
    }


def queue_views(
    entries: Iterable[QueueEntry],
    dequeued_at: Mapping[str, list[datetime]],
    cfg: BrandRouting,
    now: datetime,
    limit: int,
) -> list[dict[str, Any]]:
    """Every configured queue (then any other queue holding entries), entries in serving order.
    `dequeued_at`: queue name -> its recent dequeue times (queue_stats), the ETA's handling rate."""
    entries = list(entries)
    standing = routing.positions(entries, cfg.class_rank)
    waiting: dict[str, list[QueueEntry]] = {q.name: [] for q in cfg.queues}
    for entry in sorted(entries, key=lambda e: standing[e.id][1]):
        waiting.setdefault(entry.queue, []).append(entry)
    views = []
    for name, queued in waiting.items():
        recent = dequeued_at.get(name, [])
        rows = []
        for entry in queued[:limit]:
            position = standing[entry.id][1]
            eta = routing.eta_seconds(position, recent, now, cfg.eta_window, cfg.eta_default_per_position)
            rows.append(queue_entry_view(entry, position, eta))
        views.append({
            "queue": name,
            "depth": len(queued),
            "oldest_enqueued_at": iso(min(e.enqueued_at for e in queued)) if queued else None,
            "entries": rows,
        })
    return views


def queue_entry_view(entry: QueueEntry, position: int, eta_seconds: int) -> dict[str, Any]:
    return {
        "conversation_id": entry.id,
        "position": position,
        "priority": priority_name(entry.priority),
        "channel": entry.channel,
        "language": entry.language,
        "enqueued_at": iso(entry.enqueued_at),
        "eta_seconds": eta_seconds,
    }


def agent_view(agent: Agent) -> dict[str, Any]:
    # every capacity class shows a load, 0 when nothing is booked there
    load = {cls: agent.load.get(cls, 0) for cls in agent.capacity} | dict(agent.load)
    return {
        "agent_id": agent.agent_id,
        "name": agent.name,
        "presence": agent.presence,
        "queues": list(agent.queues),
        "languages": list(agent.languages),
        "capacity": dict(agent.capacity),
        "load": load,
        "active_count": len(agent.active),
    }
