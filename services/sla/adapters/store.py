"""MongoDB adapters: durable timers (`sla_timers`) and per-conversation SLA state (`sla_conversations`).

Every write from one consumed batch or one fired batch of timers is a single bulk_write per
collection (unordered where order does not matter).
"""
from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime, timedelta

from pymongo import ASCENDING, DeleteOne, InsertOne, ReplaceOne, UpdateOne
from pymongo.errors import BulkWriteError
from switchboard.common.clock import utc
from switchboard.common.expiry import EXPIRE_AT, Expiry
from switchboard.sla.adapters import mapping
from switchboard.sla.adapters.ports import Fired, SlaRecord
from switchboard.sla.domain.effects import TimerArm, epoch_ms

TIMERS = "sla_timers"
CONVERSATIONS = "sla_conversations"
PENDING = "pending"
FIRED = "fired"


class MongoTimerStore:
    """One document per timer: _id (conversation|metric|instance|kind|level), partition, due_at, state."""

    def __init__(self, db, *, fired_ttl_days: int = 7) -> None:
        self.collection = db[TIMERS]
        self._ttl = timedelta(days=fired_ttl_days)
        self.expiry = Expiry(TIMERS)  # fired timers are kept fired_ttl_days for audit, then swept

    async def ensure_indexes(self) -> None:
        # Loading a partition's pending timers in due order.
        await self.collection.create_index([("partition", ASCENDING), ("state", ASCENDING), ("due_at", ASCENDING)])

    async def write(self, arms: Iterable[tuple[TimerArm, int]], cancels: Iterable[str], fired: Iterable[Fired],
                    fresh: frozenset[str] = frozenset()) -> None:
        """`fresh`: conversations first seen in this batch; their timers are inserted, not upserted."""
        ops: list = []
        for arm, partition in arms:
            # _id repeated in the replacement: nx-27017 does not copy it from the filter on upsert
            doc = {"_id": arm.id, "partition": partition, "due_at": arm.due, "state": PENDING,
                   "conversation_id": arm.conversation_id, "kind": arm.kind, "metric": arm.metric,
                   "instance": arm.instance, "level": arm.level, "reason": arm.reason}
            fresh_timer = arm.conversation_id in fresh
            ops.append(InsertOne(doc) if fresh_timer else ReplaceOne({"_id": arm.id}, doc, upsert=True))
        ops.extend(DeleteOne({"_id": tid, "state": PENDING}) for tid in cancels)
        # fired entries: (timer id, when) or (timer id, when, "failed")
        ops.extend(UpdateOne({"_id": f[0]}, {"$set": {"state": f[2] if len(f) > 2 else FIRED, "fired_at": f[1],
                                                     EXPIRE_AT: f[1] + self._ttl}})
                   for f in fired)
        await bulk_write_inserting(self.collection, ops)  # one op per timer id (callers dedupe)

    async def pending(self, partitions: Iterable[int]) -> AsyncIterator[tuple[int, int, str]]:
        cursor = self.collection.find({"partition": {"$in": list(partitions)}, "state": PENDING},
                                      {"_id": 1, "due_at": 1, "partition": 1}, batch_size=10_000)
        async for doc in cursor:
            yield doc["partition"], epoch_ms(utc(doc["due_at"])), doc["_id"]

    async def count(self, state: str = PENDING) -> int:
        return await self.collection.count_documents({"state": state})


class MongoStateStore:
    def __init__(self, db, *, resolved_retention_days: int = 90) -> None:
        self.collection = db[CONVERSATIONS]
        self._retention = timedelta(days=resolved_retention_days)
        # Resolved conversations expire after the retention; open ones have no expire_at.
        self.expiry = Expiry(CONVERSATIONS)

    async def ensure_indexes(self) -> None:
        pass  # _id only; the expire_at index is the sweeper's

    def _doc(self, record: SlaRecord) -> dict:
        doc = mapping.to_doc(record)
        state = record.state
        resolution = state.clocks.get("resolution")
        if state.facts is not None and state.facts.status == "resolved":
            doc[EXPIRE_AT] = (resolution.since if resolution else datetime.now(UTC)) + self._retention
        return doc

    async def load(self, conversation_ids: Iterable[str]) -> dict[str, SlaRecord]:
        ids = list(set(conversation_ids))
        if not ids:
            return {}
        return {d["_id"]: mapping.from_doc(d) async for d in self.collection.find({"_id": {"$in": ids}})}

    async def save(self, records: Iterable[SlaRecord], fresh: frozenset[str] = frozenset()) -> None:
        ops = [InsertOne(self._doc(r)) if r.state.conversation_id in fresh
               else ReplaceOne({"_id": r.state.conversation_id}, self._doc(r), upsert=True) for r in records]
        await bulk_write_inserting(self.collection, ops)


DUPLICATE_KEY = 11000


async def bulk_write_inserting(collection, ops: list) -> None:
    """One unordered bulk_write in which documents believed new are plain inserts (about 3x cheaper
    than upserts on nx-27017). Any insert that meets a stored document (written before a crash,
    then redelivered) is written again as a replacement, so the result is the same as upserting."""
    if not ops:
        return
    try:
        await collection.bulk_write(ops, ordered=False)
    except BulkWriteError as exc:
        errors = exc.details.get("writeErrors", [])
        if any(e.get("code") != DUPLICATE_KEY or not isinstance(ops[e["index"]], InsertOne) for e in errors):
            raise
        retry = [ops[e["index"]]._doc for e in errors]
        await collection.bulk_write([ReplaceOne({"_id": d["_id"]}, d, upsert=True) for d in retry], ordered=False)
