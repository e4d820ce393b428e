"""MongoDB collection analytics_open_conversations: the projection that backlog gauges are rebuilt from.

Each slot's open conversations lie in a few chunk documents (layout.py: `_id` "<partition>:<chunk>",
`partition`, `epoch`, `chunks`, `conversations`), so a checkpoint writes at most `chunks` documents
per slot however many conversations changed. Every write is conditional on the chunk's stored epoch
not being newer than the writer's: a revoked owner's late write finds a newer owner's chunk, its
upsert collides on `_id` (duplicate key), changes nothing and fences the slot. Because the chunk
carries the epoch, a resolved conversation is simply removed from it ($unset): no tombstones.

Enum fields are stored as words (status "queued", channel "email"; "unknown" when unset) so the
collection is readable. Ad-hoc questions by brand or status go to the router's `conversations`.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from aiokafka.partitioner import murmur2
from pymongo import DeleteMany, ReplaceOne, UpdateOne
from pymongo.errors import BulkWriteError
from switchboard.analytics.adapters.layout import (
    OPEN,
    StoredPartition,
    chunk_id,
    chunk_updates,
    from_document,
    read_partition,
    whole_chunks,
)
from switchboard.analytics.adapters.ports import LoadedSlot, SlotWrite
from switchboard.common.mongo import refused_as_duplicates

COLLECTION = "analytics_open_conversations"
DEFAULT_CHUNKS = 16


def kafka_partition(conversation_id: str, partitions: int) -> int:
    """The partition Kafka's default partitioner gives a record keyed by this conversation id."""
    return (murmur2(conversation_id.encode()) & 0x7FFFFFFF) % partitions


class MongoOpenConversationStore:
    def __init__(self, db, *, chunks: int = DEFAULT_CHUNKS) -> None:
        self._collection = db[COLLECTION]
        self.chunks = chunks

    async def ensure_indexes(self) -> None:
        # Loading one partition's chunks on assignment, and the agent tally's read of the others.
        await self._collection.create_index([("partition", 1)])

    async def stamp_partitions(self, partitions: int) -> int:
        """Documents written before analytics was partitioned have no `partition`: give them the one
        Kafka's default partitioner gave their records (idempotent; a no-op once done). Their slot's
        next owner then moves them into chunks."""
        ops = [
            UpdateOne({"_id": doc["_id"]}, {"$set": {"partition": kafka_partition(str(doc["_id"]), partitions),
                                                     "epoch": 0, "state": OPEN}})
            async for doc in self._collection.find({"partition": {"$exists": False}}, {"_id": 1})
        ]
        if ops:
            await self._collection.bulk_write(ops, ordered=False)
        return len(ops)

    @property
    def database_name(self) -> str:
        return self._collection.database.name

    async def read(self, query: dict[str, Any]) -> dict[int, StoredPartition]:
        """The documents matching `query`, decoded per partition."""
        by_partition: dict[int, list[dict[str, Any]]] = defaultdict(list)
        async for doc in self._collection.find(query, batch_size=500):
            by_partition[int(doc["partition"])].append(doc)
        return {p: read_partition(p, docs, self.chunks) for p, docs in by_partition.items()}

    async def load_partition(self, partition: int) -> LoadedSlot:
        stored = (await self.read({"partition": partition})).get(partition, StoredPartition())
        return LoadedSlot([from_document(cid, doc) for cid, doc in stored.open.items()], stored.relayout)

    def _ops(self, write: SlotWrite) -> list[UpdateOne | ReplaceOne]:
        if write.relayout:
            chunks = whole_chunks(write.partition, write.epoch,
                                  {cid: s for cid, s in write.changes.items() if s is not None}, self.chunks)
            return [ReplaceOne({"_id": cid, "epoch": {"$lte": write.epoch}}, doc, upsert=True)
                    for cid, doc in chunks.items()]
        updates = chunk_updates(write.partition, write.epoch, write.changes, self.chunks)
        return [UpdateOne({"_id": cid, "epoch": {"$lte": write.epoch}}, update, upsert=True)
                for cid, update in updates.items()]

    async def apply(self, writes: list[SlotWrite]) -> set[int]:
        """One bulk_write per checkpoint: per slot one update per changed chunk (a relayout: every chunk
        replaced), each guarded by the slot's epoch; then, for a relayout that was not refused, the
        slot's documents of other layouts deleted. Writing a state again is harmless. Returns the
        partitions whose write was refused because a newer owner had written there."""
        ops, partition_of = [], []
        for write in writes:
            for op in self._ops(write):
                ops.append(op)
                partition_of.append(write.partition)
        if not ops:
            return set()
        refused: set[int] = set()
        try:
            await self._collection.bulk_write(ops, ordered=False)
        except BulkWriteError as exc:
            refused = {partition_of[e["index"]] for e in refused_as_duplicates(exc)}
        await self._drop_other_layouts([w for w in writes if w.relayout and w.partition not in refused])
        return refused

    async def _drop_other_layouts(self, writes: list[SlotWrite]) -> None:
        """After a relayout's chunks are stored: the slot's other documents (one per conversation, or
        chunks of another count), never one a newer owner wrote."""
        if writes:
            await self._collection.bulk_write([DeleteMany({
                "partition": w.partition, "epoch": {"$lte": w.epoch},
                "_id": {"$nin": [chunk_id(w.partition, c) for c in range(self.chunks)]},
            }) for w in writes], ordered=False)

    async def assigned_outside(self, partitions: set[int]) -> list[tuple[str, str]]:
        """(brand, agent) of every assigned open conversation in partitions this replica does not own."""
        stored = await self.read({"partition": {"$nin": sorted(partitions)}})
        return [(doc.get("brand_id", ""), doc.get("assignee_id", ""))
                for partition in stored.values() for doc in partition.open.values() if doc.get("status") == "assigned"]


class MongoSlotLedger:
    """analytics_partitions: per slot the owner epoch and the offsets its stored state includes."""

    COLLECTION = "analytics_partitions"

    def __init__(self, db) -> None:
        self._collection = db[self.COLLECTION]

    async def claim(self, key: str, owner: str) -> tuple[int, dict[str, int]]:
        """Bumps the slot's epoch (fencing the previous owner) and returns it with the stored offsets."""
        doc = await self._collection.find_one_and_update(
            {"_id": key}, {"$inc": {"epoch": 1}, "$set": {"owner": owner}}, upsert=True, return_document=True
        )
        return int(doc["epoch"]), {t: int(o) for t, o in (doc.get("offsets") or {}).items()}

    async def epochs(self, keys: list[str]) -> dict[str, int]:
        return {doc["_id"]: int(doc.get("epoch", 0))
                async for doc in self._collection.find({"_id": {"$in": keys}}, {"epoch": 1})}

    async def advance(self, marks: dict[str, tuple[int, dict[str, int]]]) -> set[str]:
        """Stores each slot's new offsets if its epoch is still ours; returns the slots fenced off."""
        if not marks:
            return set()
        ops = [
            UpdateOne({"_id": key, "epoch": epoch}, {"$set": {f"offsets.{t}": o for t, o in offsets.items()}})
            for key, (epoch, offsets) in marks.items()
        ]
        result = await self._collection.bulk_write(ops, ordered=False)
        if result.matched_count == len(ops):
            return set()
        stored = await self.epochs(list(marks))
        return {key for key, (epoch, _) in marks.items() if stored.get(key, 0) != epoch}
