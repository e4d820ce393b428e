"""MongoDB adapter: one `sla_conversations` document per conversation holds its SLA state, the
handler's plumbing and its pending timers (`timers`, earliest due in `next_due`).

Every write from one consumed batch or one fired batch of timers is a single unordered bulk_write:
one document per affected conversation.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime, timedelta

from pymongo import ASCENDING, InsertOne, ReplaceOne
from pymongo.errors import BulkWriteError
from switchboard.common.clock import utc
from switchboard.common.expiry import EXPIRE_AT, Expiry
from switchboard.common.logging import get_logger
from switchboard.common.mongo import refused_as_duplicates
from switchboard.sla.adapters import mapping
from switchboard.sla.adapters.ports import SlaRecord
from switchboard.sla.domain.effects import EPOCH, TimerArm, epoch_ms

log = get_logger(__name__)

CONVERSATIONS = "sla_conversations"
LEGACY_TIMERS = "sla_timers"  # one document per timer, before timers moved into the conversation's document


class MongoStateStore:
    def __init__(self, db, *, resolved_retention_days: int = 90) -> None:
        self.collection = db[CONVERSATIONS]
        self._retention = timedelta(days=resolved_retention_days)
        # Resolved conversations expire after the retention; open ones have no expire_at.
        self.expiry = Expiry(CONVERSATIONS)

    async def ensure_indexes(self) -> None:
        # A new owner of a partition loads the documents holding its pending timers (the expire_at
        # index is the sweeper's).
        await self.collection.create_index([("partition", ASCENDING), (mapping.NEXT_DUE, ASCENDING)])

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

    async def pending(self, partitions: Iterable[int]) -> AsyncIterator[tuple[int, int, str]]:
        """The pending timers of these partitions (their new owner's heap), after folding in any the
        previous layout still holds for them."""
        partitions = list(partitions)
        await self.fold_legacy_timers(partitions)
        # An aggregate, not a find: nx-27017 projects a pipeline in SQL but a find in Python after
        # decoding whole documents (measured 3x faster for 5,000 conversations).
        cursor = await self.collection.aggregate([
            # $gt a date, not $ne null: nx-27017 counts a missing field as "not null" (pre-upgrade documents)
            {"$match": {"partition": {"$in": partitions}, mapping.NEXT_DUE: {"$gt": EPOCH}}},
            {"$project": {"partition": 1, "timers": 1}}], batchSize=10_000)
        async for doc in cursor:
            for timer in doc.get("timers") or ():
                yield doc["partition"], epoch_ms(utc(timer["due_at"])), timer["id"]

    async def fold_legacy_timers(self, partitions: list[int]) -> int:
        """Upgrade from one document per timer (`sla_timers`): the pending timers of these partitions
        move into their conversations' documents and their old documents are deleted (the collection
        with them once empty). It runs whenever partitions are assigned, by their owner under the
        engine lock, so during a rolling upgrade the timers an old replica still writes are folded by
        whoever owns those partitions next, and no two replicas fold the same conversation.
        Idempotent (timers are keyed by id): a crash half-way is repaired by the next assignment. A timer
        whose conversation has no document is left out: it would fire as a no-op."""
        db = self.collection.database
        if LEGACY_TIMERS not in await db.list_collection_names():
            return 0
        legacy: dict[str, list[TimerArm]] = defaultdict(list)
        async for d in db[LEGACY_TIMERS].find({"state": "pending", "partition": {"$in": partitions}}):
            legacy[d["conversation_id"]].append(TimerArm(
                id=d["_id"], conversation_id=d["conversation_id"], kind=d["kind"], metric=d["metric"],
                instance=d["instance"], level=d["level"], due=utc(d["due_at"]), reason=d.get("reason", "")))
        records = await self.load(legacy)
        for cid, record in records.items():
            for arm in legacy[cid]:
                record.timers.setdefault(arm.id, arm)
        await self.save(records.values())
        await db[LEGACY_TIMERS].delete_many({"partition": {"$in": partitions}})
        if not await db[LEGACY_TIMERS].count_documents({}):
            await db[LEGACY_TIMERS].drop()
        folded = sum(len(legacy[cid]) for cid in records)
        if legacy:
            log.info("sla_legacy_timers_folded", timers=folded, conversations=len(records),
                     orphans=sum(len(v) for v in legacy.values()) - folded, partitions=partitions)
        return folded


async def bulk_write_inserting(collection, ops: list) -> None:
    """One unordered bulk_write in which documents believed new are plain inserts (about 3x cheaper
    than upserts on nx-27017). Any insert that meets a stored document (written before a crash,
    then redelivered) is written again as a replacement, so the result is the same as upserting."""
    if not ops:
        return
    try:
        await collection.bulk_write(ops, ordered=False)
    except BulkWriteError as exc:
        errors = refused_as_duplicates(exc)
        if any(not isinstance(ops[e["index"]], InsertOne) for e in errors):
            raise
        retry = [ops[e["index"]]._doc for e in errors]
        await collection.bulk_write([ReplaceOne({"_id": d["_id"]}, d, upsert=True) for d in retry], ordered=False)
