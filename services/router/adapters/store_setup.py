"""Start-up work of the router's store: collections and indexes, the thread index, agents from
routing.yaml. RouterStore (store.py) inherits these."""

from __future__ import annotations

import asyncio

from pymongo import ASCENDING, DESCENDING, ReplaceOne, UpdateOne
from pymongo.errors import CollectionInvalid
from switchboard.common.dedupe import DedupeStore
from switchboard.router.adapters.store_writes import CONTACT_DUE_TS, TIMER_DUE_TS, _thread_doc, thread_id
from switchboard.router.domain.config import RouterConfig
from switchboard.router.domain.model import stored_time


class StoreSetup:
    """The start-up half of RouterStore (attributes set by RouterStore.__init__)."""

    async def ensure_indexes(self) -> None:
        # Every collection exists before the first transaction: nx-27017 remembers a collection first
        # created inside a transaction that was then rolled back, and fails every later write to it.
        existing = set(await self.db.list_collection_names())
        for collection in (self.customers, self.handles, self.conversations, self.messages, self.agents,
                           self.queue, self.stats, self.orders, self.sessions, self.deliveries, self.threads,
                           self.journal, self.db[DedupeStore.COLLECTION]):
            if collection.name not in existing:
                try:
                    await self.db.create_collection(collection.name)
                except CollectionInvalid:
                    pass  # created meanwhile by another replica
        await asyncio.gather(
            self.handles.create_index(
                [("brand_id", ASCENDING), ("kind", ASCENDING), ("value", ASCENDING)], unique=True
            ),
            self.handles.create_index("customer_id"),
            self.conversations.create_index("customer_id"),
            # the read API's past conversations of a customer, newest first
            self.conversations.create_index([("customer_id", ASCENDING), ("opened_at", DESCENDING)]),
            self.conversations.create_index([("brand_id", ASCENDING), ("status", ASCENDING)]),
            self.conversations.create_index(TIMER_DUE_TS),  # the router's tick: what is due
            self.conversations.create_index(CONTACT_DUE_TS),  # the contact stage's tick: transcripts due
            self.messages.create_index([("conversation_id", ASCENDING), ("at", ASCENDING)]),
            # nx-27017 uses a compound index for neither an equality on its first field alone nor `$in`:
            # the messages of given conversations are read by equality on this one (mongo.find_each).
            self.messages.create_index("conversation_id"),
            self.agents.create_index("brand_id"),
            self.queue.create_index("brand_id"),
            self.stats.create_index("brand_id"),
            self.orders.create_index("customer_id"),
        )

    async def stamp_due_times(self, brand: str) -> int:
        """Gives `timer_due_ts` to the brand's conversations whose timer was stored without it (written
        before the field existed, or by an older replica during a rolling upgrade). Runs when the
        brand's routing scope is claimed, before its first tick; a no-op once every writer is new."""
        ops = [UpdateOne({"_id": d["_id"]}, {"$set": {TIMER_DUE_TS: stored_time(d["timer_due_at"]).timestamp()}})
               async for d in self.conversations.find(
                   {"brand_id": brand, "timer_due_at": {"$ne": None}, TIMER_DUE_TS: None},
                   {"timer_due_at": 1})
               if d.get("timer_due_at")]  # (nx-27017 counts a missing field as not None)
        if ops:
            await self.conversations.bulk_write(ops, ordered=False)
        return len(ops)

    async def index_threads(self) -> int:
        """Builds `conversation_threads` from the conversations' thread keys when it is empty but
        conversations exist (a store written before the collection existed). Newest conversation wins."""
        if await self.threads.find_one({}, {"_id": 1}) or not await self.conversations.find_one({}, {"_id": 1}):
            return 0
        latest: dict[tuple[str, str], tuple] = {}
        async for doc in self.conversations.find({}, {"brand_id": 1, "thread_keys": 1, "opened_at": 1}):
            for key in doc.get("thread_keys") or ():
                candidate = (str(doc.get("opened_at") or ""), doc["_id"])
                latest[(doc["brand_id"], key)] = max(latest.get((doc["brand_id"], key), candidate), candidate)
        ops = [ReplaceOne({"_id": thread_id(*k)}, _thread_doc(k, v[1]), upsert=True) for k, v in latest.items()]
        for start in range(0, len(ops), 1000):
            await self.threads.bulk_write(ops[start:start + 1000], ordered=False)
        return len(ops)

    async def bootstrap_agents(self, config: RouterConfig) -> int:
        """Skills and capacity come from routing.yaml (the source of truth); presence, load and held
        conversations are runtime state and survive restarts."""
        ops = []
        for brand_id, brand in config.routing.items():
            if brand_id == "*":
                continue
            for a in brand.agents:
                ops.append(
                    UpdateOne(
                        {"_id": f"{brand_id}/{a.agent_id}"},
                        {
                            "$set": {
                                "brand_id": brand_id,
                                "agent_id": a.agent_id,
                                "name": a.name,
                                "queues": list(a.queues),
                                "languages": list(a.languages),
                                "channels": list(a.channels),
                                "product_lines": list(a.product_lines),
                                "vip": a.vip,
                                "capacity": dict(a.capacity),
                            },
                            "$setOnInsert": {"presence": a.presence, "load": {}, "active": [], "idle_since": None,
                                             "epoch": 0},
                        },
                        upsert=True,
                    )
                )
        if ops:
            await self.agents.bulk_write(ops, ordered=False)
        return len(ops)
