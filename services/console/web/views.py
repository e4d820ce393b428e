"""The data behind each API answer and page, assembled from the projection and the owners' read APIs.

A read API that does not answer does not take the page down: what the console has is shown, and
`warnings` says what is missing.
"""
from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping

from switchboard.console import metrics
from switchboard.console.adapters.peers import PeerUnavailable, parse_time
from switchboard.console.adapters.store import next_cursor_row
from switchboard.console.domain.filters import Cursor, FilterError, encode_cursor, parse_list_query
from switchboard.console.domain.handoff import handoff_card
from switchboard.console.domain.projection import from_ms
from switchboard.console.domain.timeline import build_timeline
from switchboard.console.web.context import ConsoleError, Viewer, WebDeps, not_found, row_out


async def _guard(call, warnings: list[str], default=None):
    try:
        return await call
    except PeerUnavailable as exc:
        warnings.append(str(exc))
        return default


async def list_conversations(deps: WebDeps, viewer: Viewer, params: Mapping[str, str]) -> dict:
    try:
        query = parse_list_query(params, viewer_brands=viewer.brands, viewer_agent_id=viewer.agent_id)
    except FilterError as exc:
        raise ConsoleError(422, "invalid_parameter", exc.message) from None
    started = time.perf_counter()
    rows = await deps.store.list(query)
    metrics.LIST_SECONDS.observe(time.perf_counter() - started)
    page, last = next_cursor_row(rows, query.limit)
    now = deps.clock.now()
    return {"items": [row_out(doc, now) for doc in page],
            "next_cursor": encode_cursor(Cursor(*last), query.digest()) if last else None}


async def owned_row(deps: WebDeps, viewer: Viewer, conversation_id: str) -> dict:
    row = await deps.store.get(conversation_id, viewer.brands)
    if row is None:
        raise not_found(f"conversation {conversation_id}")
    return row


def _projected_clocks(row: dict) -> list[dict]:
    return [{**clock, "time_left_seconds": None, "warnings": [{"fraction": None, "at": None}] if clock.get("warned")
             else []} for clock in (row.get("sla_clocks") or {}).values()]


async def conversation_view(deps: WebDeps, viewer: Viewer, conversation_id: str) -> dict:
    row = await owned_row(deps, viewer, conversation_id)
    brand = row["brand_id"]
    warnings: list[str] = []
    routed, clocks, activities = await asyncio.gather(
        _guard(deps.router.conversation(brand, conversation_id), warnings),
        _guard(deps.sla.clocks(brand, conversation_id), warnings),
        deps.activity.timeline(conversation_id),
    )
    routed = routed or {}
    conversation = routed.get("conversation") or {}
    sla = clocks or {"clocks": _projected_clocks(row), "escalations": []}
    for clock in sla.get("clocks") or []:
        clock["deadline"] = parse_time(clock.get("deadline"))
    row_view = row_out(row, deps.clock.now())
    handoffs = conversation.get("handoffs") or []
    return {
        "row": row_view,
        "conversation": conversation,
        "timeline": build_timeline(routed.get("messages") or [], activities),
        "orders": routed.get("orders") or [],
        "handoffs": handoffs,
        "handoff_cards": [{**card, "at": parse_time(card["at"])} for card in map(handoff_card, handoffs)],
        "reply_to": reply_target(row_view, conversation),
        "assignment_history": conversation.get("assignment_history") or [],
        "csat_score": conversation.get("csat_score") or None,
        "sla": sla,
        "warnings": warnings,
    }


def reply_target(row: dict, conversation: dict) -> dict:
    """Where an agent's reply goes: the router's reply channel (the customer's chosen one, else the
    latest), its handle, and the number to call back when the customer asked for a callback. The
    router's answer when it gave one, else the projection's (the latest snapshot)."""
    handle = conversation.get("reply_handle") or row.get("handle") or {}
    return {"channel": conversation.get("reply_channel") or row.get("reply_channel") or row.get("channel") or "",
            "handle": handle.get("value", ""), "callback_number": conversation.get("callback_number") or ""}


async def viewer_presence(deps: WebDeps, viewer: Viewer) -> str:
    """The viewer's presence as the router has it: one value when all their brands agree, "mixed"
    when they differ, "" when unknown (the router did not answer, or does not know the agent)."""
    seen = set()
    for brand in viewer.brands:
        agents = await _guard(deps.router.agents(brand), [], default=[]) or []
        seen |= {a.get("presence", "") for a in agents if a.get("agent_id") == viewer.agent_id}
    seen.discard("")
    return seen.pop() if len(seen) == 1 else ("mixed" if seen else "")


async def customer_view(deps: WebDeps, viewer: Viewer, customer_id: str, brand: str | None) -> dict:
    if brand is not None and brand not in viewer.brands:
        raise not_found(f"customer {customer_id}")
    brand = brand or await deps.store.customer_brand(customer_id, viewer.brands)
    if brand is None:
        raise not_found(f"customer {customer_id}")
    warnings: list[str] = []
    data = await _guard(deps.router.customer(brand, customer_id), warnings, default=False)
    if data is None:
        raise not_found(f"customer {customer_id}")
    data = data or {"customer": {"id": customer_id, "handles": []}, "orders": [], "conversations": []}
    return {**data, "brand_id": brand, "warnings": warnings}


def queue_summary(queue: dict, now) -> dict:
    oldest = parse_time(queue.get("oldest_enqueued_at"))
    entries = queue.get("entries") or []
    return {"queue": queue.get("queue", ""), "depth": queue.get("depth", len(entries)),
            "oldest_wait_seconds": int((now - oldest).total_seconds()) if oldest else None,
            "eta_seconds": max((e.get("eta_seconds") or 0 for e in entries), default=None),
            "entries": entries}


def _brands(viewer: Viewer, brand: str | None) -> tuple[str, ...]:
    if brand is None:
        return viewer.brands
    if brand not in viewer.brands:
        raise ConsoleError(422, "invalid_parameter",
                           f"brand must be one of your brands ({', '.join(viewer.brands)}); got {brand!r}")
    return (brand,)


async def queues_view(deps: WebDeps, viewer: Viewer, brand: str | None, limit: int = 100) -> dict:
    warnings: list[str] = []
    now = deps.clock.now()
    out = []
    for b in _brands(viewer, brand):
        for queue in await _guard(deps.router.queues(b, limit), warnings, default=[]):
            out.append({"brand_id": b, **queue_summary(queue, now)})
    return {"queues": out, "warnings": warnings}


async def agents_view(deps: WebDeps, viewer: Viewer, brand: str | None) -> dict:
    warnings: list[str] = []
    out = []
    for b in _brands(viewer, brand):
        out.extend({"brand_id": b, **agent} for agent in await _guard(deps.router.agents(b), warnings, default=[]))
    return {"agents": out, "warnings": warnings}


async def board_view(deps: WebDeps, viewer: Viewer, brand: str | None) -> dict:
    brands = _brands(viewer, brand)
    queues, agents = await asyncio.gather(queues_view(deps, viewer, brand, 20), agents_view(deps, viewer, brand))
    now = deps.clock.now()
    at_risk = [row_out(r, now) for r in await deps.store.in_sla_state(brands, "at_risk")]
    breached = [row_out(r, now) for r in await deps.store.in_sla_state(brands, "breached")]
    escalations = await deps.store.unacknowledged(brands)
    names = await deps.store.customer_names([e.get("conversation_id", "") for e in escalations])
    return {
        "queues": [{k: v for k, v in q.items() if k != "entries"} for q in queues["queues"]],
        "agents": agents["agents"],
        "at_risk": at_risk,
        "breached": breached,
        "escalations": [{"escalation_id": e["_id"], **{k: v for k, v in e.items() if k != "_id"},
                         "raised_at": from_ms(e.get("raised_ms")),
                         "customer_name": names.get(e.get("conversation_id", ""), ""),
                         "url": f"/conversations/{e.get('conversation_id', '')}"} for e in escalations],
        "warnings": sorted(set(queues["warnings"] + agents["warnings"])),
    }
