"""The router's read API: conversations with their messages, customers, queues and agents, as JSON.

Read-only queries on the router's own collections, scoped by brand (an id of another brand answers
404 like an unknown one). Mounted on the router's ops app (the port of /healthz). Texts leave the
router only through here: the bus carries ids, lengths and facts.
"""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Query
from pydantic import SecretStr
from pymongo import DESCENDING
from switchboard.common.clock import Clock
from switchboard.common.readapi import ERROR_RESPONSES, NotFound, bearer_guard, install_error_handlers
from switchboard.router.adapters import message_docs
from switchboard.router.adapters import read_schema as schema
from switchboard.router.adapters import read_views as views
from switchboard.router.adapters.store import RouterStore
from switchboard.router.domain import transcript
from switchboard.router.domain.config import RouterConfig
from switchboard.router.domain.model import Agent, QueueEntry

PAST_CONVERSATIONS = 50
MERGE_HOPS = 3  # merged_into chains are short (see RouterStore._load_customers)


class RouterReads:
    """The queries behind the read API (each one indexed: see RouterStore.ensure_indexes)."""

    def __init__(self, store: RouterStore, config: RouterConfig, clock: Clock) -> None:
        self.store, self.config, self.clock = store, config, clock

    async def conversation(self, brand_id: str, conversation_id: str) -> dict[str, Any]:
        doc = await self.store.conversations.find_one({"_id": conversation_id, "brand_id": brand_id})
        if doc is None:
            raise NotFound(f"no conversation {conversation_id!r} in brand {brand_id!r}")
        stored = self.store.messages.find({"conversation_id": conversation_id, "brand_id": brand_id})
        # Bot answers stored inside the message they answer are unfolded first (adapters/message_docs.py).
        messages = sorted(message_docs.unfold([m async for m in stored]), key=transcript.timeline_key)
        order_ids = list(doc.get("order_ids") or ())
        return {
            "conversation": views.conversation_view(doc),
            "messages": [views.message_view(m) for m in messages],
            "orders": views.orders_in_order(await self._orders(brand_id, order_ids), order_ids),
        }

    async def customer(self, brand_id: str, customer_id: str) -> dict[str, Any]:
        doc = await self.store.customers.find_one({"_id": customer_id, "brand_id": brand_id})
        for _ in range(MERGE_HOPS):  # a merged profile answers with the one it was merged into
            if doc is None or not doc.get("merged_into"):
                break
            doc = await self.store.customers.find_one({"_id": doc["merged_into"], "brand_id": brand_id})
        if doc is None:
            raise NotFound(f"no customer {customer_id!r} in brand {brand_id!r}")
        order_ids = list(doc.get("order_ids") or ())
        cursor = self.store.conversations.find(
            {"customer_id": doc["_id"], "brand_id": brand_id},
            {"status": 1, "channel": 1, "opened_at": 1, "resolved_at": 1},
        )
        newest_first = cursor.sort([("opened_at", DESCENDING), ("_id", DESCENDING)]).limit(PAST_CONVERSATIONS)
        past = [c async for c in newest_first]
        return {
            "customer": views.customer_view(doc),
            "orders": views.orders_in_order(await self._orders(brand_id, order_ids), order_ids),
            "conversations": [views.past_conversation_view(c) for c in past],
        }

    async def queues(self, brand_id: str, limit: int) -> dict[str, Any]:
        entries = [QueueEntry.from_doc(d) async for d in self.store.queue.find({"brand_id": brand_id})]
        dequeued = {d["queue"]: list(d.get("dequeued_at") or ())
                    async for d in self.store.stats.find({"brand_id": brand_id})}
        cfg = self.config.brand_routing(brand_id)
        return {"queues": views.queue_views(entries, dequeued, cfg, self.clock.now(), limit)}

    async def agents(self, brand_id: str) -> dict[str, Any]:
        agents = [Agent.from_doc(d) async for d in self.store.agents.find({"brand_id": brand_id})]
        return {"agents": [views.agent_view(a) for a in sorted(agents, key=lambda a: a.agent_id)]}

    async def _orders(self, brand_id: str, order_ids: list[str]) -> list[dict]:
        if not order_ids:
            return []
        ids = [f"{brand_id}/{o}" for o in order_ids]
        return [d async for d in self.store.orders.find({"_id": {"$in": ids}, "brand_id": brand_id})]


def read_api(reads: RouterReads, token: SecretStr | None) -> APIRouter:
    api = APIRouter(prefix="/v1/brands/{brand_id}", tags=["read"], dependencies=[Depends(bearer_guard(token))],
                    responses=ERROR_RESPONSES)

    @api.get("/conversations/{conversation_id}", response_model=None,
             responses={200: {"model": schema.ConversationAnswer}},
             summary="One conversation: state, the timeline of messages and notes (oldest first), linked orders")
    async def get_conversation(brand_id: str, conversation_id: str) -> dict[str, Any]:
        return await reads.conversation(brand_id, conversation_id)

    @api.get("/customers/{customer_id}", response_model=None,
             responses={200: {"model": schema.CustomerAnswer}},
             summary="One customer: handles on every channel, orders, past conversations (newest first, 50)")
    async def get_customer(brand_id: str, customer_id: str) -> dict[str, Any]:
        return await reads.customer(brand_id, customer_id)

    @api.get("/queues", response_model=None,
             responses={200: {"model": schema.QueuesAnswer}},
             summary="Waiting conversations per queue in serving order, with position and ETA")
    async def get_queues(
        brand_id: str,
        limit: int = Query(100, ge=1, le=500, description="entries listed per queue (depth counts all)"),
    ) -> dict[str, Any]:
        return await reads.queues(brand_id, limit)

    @api.get("/agents", response_model=None,
             responses={200: {"model": schema.AgentsAnswer}},
             summary="Agents: presence, skills, load per capacity class against capacity")
    async def get_agents(brand_id: str) -> dict[str, Any]:
        return await reads.agents(brand_id)

    return api


def mount_read_api(app: FastAPI, store: RouterStore, config: RouterConfig, clock: Clock,
                   token: SecretStr | None) -> FastAPI:
    install_error_handlers(app)
    app.include_router(read_api(RouterReads(store, config, clock), token))
    return app
