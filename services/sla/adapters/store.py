"""MongoDB adapters: durable timers (`sla_timers`) and per-conversation SLA state (`sla_conversations`).

Every write from one consumed batch or one fired batch of timers is a single bulk_write per
collection (unordered where order does not matter).
"""
from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime, timedelta
from typing import Protocol

from pymongo import ASCENDING, DeleteOne, ReplaceOne, UpdateOne
from switchboard.sla.domain.tracker import ConversationSla, TimerArm

TIMERS = "sla_timers"
CONVERSATIONS = "sla_conversations"
PENDING = "pending"
FIRED = "fired"


class TimerStore(Protocol):
    async def write(self, arms: Iterable[tuple[TimerArm, int]], cancels: Iterable[str],
                    fired: Iterable[tuple[str, datetime]]) -> None: ...

    def pending(self, partitions: Iterable[int]) -> AsyncIterator[dict]: ...

    async def get(self, ids: list[str]) -> dict[str, dict]: ...


class MongoTimerStore:
    """One document per timer: _id (conversation|metric|instance|kind|level), partition, due_at, state."""

    def __init__(self, db, *, fired_ttl_days: int = 7) -> None:
        self.collection = db[TIMERS]
        self._ttl = fired_ttl_days * 86400

    async def ensure_indexes(self) -> None:
        # Loading a partition's pending timers in due order; fired timers expire after a week.
        await self.collection.create_index([("partition", ASCENDING), ("state", ASCENDING), ("due_at", ASCENDING)])
        await self.collection.create_index("fired_at", expireAfterSeconds=self._ttl)

    async def write(self, arms, cancels, fired) -> None:
        ops: list = []
        for arm, partition in arms:
            # _id repeated in the replacement: nx-27017 does not copy it from the filter on upsert
            ops.append(ReplaceOne({"_id": arm.id}, {
                "_id": arm.id, "partition": partition, "due_at": arm.due, "state": PENDING,
                "conversation_id": arm.conversation_id, "kind": arm.kind, "metric": arm.metric,
                "instance": arm.instance, "level": arm.level,
                "reason": arm.reason}, upsert=True))
        ops.extend(DeleteOne({"_id": tid, "state": PENDING}) for tid in cancels)
        # fired entries: (timer id, when) or (timer id, when, "failed")
        ops.extend(UpdateOne({"_id": f[0]}, {"$set": {"state": f[2] if len(f) > 2 else FIRED, "fired_at": f[1]}})
                   for f in fired)
        if ops:
            await self.collection.bulk_write(ops, ordered=False)  # one op per timer id (callers dedupe)

    async def pending(self, partitions):
        cursor = self.collection.find({"partition": {"$in": list(partitions)}, "state": PENDING},
                                      {"_id": 1, "due_at": 1, "partition": 1}, batch_size=10_000)
        async for doc in cursor:
            yield doc

    async def get(self, ids: list[str]) -> dict[str, dict]:
        return {d["_id"]: d async for d in self.collection.find({"_id": {"$in": ids}})}

    async def count(self, state: str = PENDING) -> int:
        return await self.collection.count_documents({"state": state})


class MongoStateStore:
    def __init__(self, db, *, resolved_retention_days: int = 90) -> None:
        self.collection = db[CONVERSATIONS]
        self._retention = timedelta(days=resolved_retention_days)

    async def ensure_indexes(self) -> None:
        # Resolved conversations expire after the retention; open ones have no expire_at.
        await self.collection.create_index("expire_at", expireAfterSeconds=0)

    def _doc(self, state: ConversationSla) -> dict:
        doc = state.to_doc()
        resolution = state.clocks.get("resolution")
        if state.facts is not None and state.facts.status == "resolved":
            doc["expire_at"] = (resolution.since if resolution else datetime.now(UTC)) + self._retention
        return doc

    async def load(self, conversation_ids: Iterable[str]) -> dict[str, ConversationSla]:
        ids = list(set(conversation_ids))
        if not ids:
            return {}
        return {d["_id"]: ConversationSla.from_doc(d) async for d in self.collection.find({"_id": {"$in": ids}})}

    async def save(self, states: Iterable[ConversationSla]) -> None:
        ops = [ReplaceOne({"_id": s.conversation_id}, self._doc(s), upsert=True) for s in states]
        if ops:
            await self.collection.bulk_write(ops, ordered=False)
