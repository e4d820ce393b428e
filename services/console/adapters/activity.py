"""console_activity: one document per consumed event (`_id` = event id), read by timelines and tailed
by each replica for live updates (one indexed query every ~250 ms, not one per browser)."""
from __future__ import annotations

from switchboard.common.expiry import Expiry
from switchboard.common.mongo import insert_new
from switchboard.console.domain.projection import PLACING_KINDS

ACTIVITY = "console_activity"


class ActivityStore:
    def __init__(self, db) -> None:
        self.collection = db[ACTIVITY]
        # Non-timeline facts (message wake-ups, queue moves, SLA bookkeeping) carry expire_at.
        self.expiry = Expiry(ACTIVITY)

    async def ensure_indexes(self) -> None:
        await self.collection.create_index([("conversation_id", 1)])  # keeps the equality sargable on nx-27017
        await self.collection.create_index([("conversation_id", 1), ("timeline", 1), ("at", 1)])
        await self.collection.create_index([("recorded_ms", 1)])

    async def insert(self, docs: list[dict]) -> None:
        """Idempotent: a redelivered event's document already exists and is left as it is."""
        if not docs:
            return
        await insert_new(self.collection, docs)

    async def timeline(self, conversation_id: str, limit: int = 2000) -> list[dict]:
        """Timeline facts and the customer-message facts that place messages in it, oldest first."""
        docs = await self.collection.find({"conversation_id": conversation_id}) \
            .sort([("at", 1), ("seq", 1), ("_id", 1)]).limit(limit).to_list()
        return [d for d in docs if d.get("timeline") or d.get("kind") in PLACING_KINDS]

    async def recorded_since(self, since_ms: int, limit: int = 1000) -> list[dict]:
        """Activity recorded after `since_ms` (epoch milliseconds), oldest first."""
        projection = {"brand_id": 1, "conversation_id": 1, "kind": 1, "at": 1, "recorded_ms": 1}
        return await self.collection.find({"recorded_ms": {"$gt": since_ms}}, projection) \
            .sort([("recorded_ms", 1)]).limit(limit).to_list()
