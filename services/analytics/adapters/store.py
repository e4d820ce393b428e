"""MongoDB collection analytics_open_conversations: the projection that backlog gauges are rebuilt from.

Every document carries the Kafka `partition` of its conversation (whoever owns that partition owns
the document) and the `epoch` of the owner that wrote it. Writes are conditional on the stored
epoch not being newer than the writer's: a revoked owner's late write finds a newer owner's
document, its upsert collides on `_id` (duplicate key) and changes nothing. That is why a resolved
conversation leaves a tombstone (`state: resolved`, swept after a day) instead of being deleted:
a deleted document could not refuse a stale owner's write that would bring it back.

Enum fields are stored as words (status "queued", channel "email"; "unknown" when unset) so the
collection is readable and can be compared directly with the router's `conversations` collection.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from aiokafka.partitioner import murmur2
from pymongo import ReplaceOne, UpdateOne
from pymongo.errors import BulkWriteError
from switchboard.analytics.adapters.ports import SlotWrite
from switchboard.analytics.domain.labels import UNKNOWN, word
from switchboard.analytics.domain.model import OpenConversation, SlaClock
from switchboard.common.clock import Clock, SystemClock
from switchboard.common.expiry import EXPIRE_AT, Expiry

COLLECTION = "analytics_open_conversations"
DUPLICATE_KEY = 11000
OPEN, RESOLVED = "open", "resolved"
# Longer than any revoked owner can go on writing (a session timeout, a stuck batch).
TOMBSTONE_KEPT = timedelta(days=1)
TOMBSTONES = Expiry(COLLECTION)  # resolved conversations' tombstones, swept once expired


def to_document(conv: OpenConversation) -> dict[str, Any]:
    running = [c.deadline for c in conv.clocks.values() if not c.paused and c.deadline is not None]
    return {
        "_id": conv.conversation_id,
        "brand_id": conv.brand_id,
        "channel": word(conv.channel),
        "queue": conv.queue,
        "priority": word(conv.priority),
        "status": word(conv.status),
        "opened_at": conv.opened_at,
        "waiting_since": conv.waiting_since,
        "queued_since": conv.queued_since,
        "assignee_id": conv.assignee_id,
        "human_involved": conv.human_involved,
        "handed_off": conv.handed_off,
        "sla_next_deadline": min(running) if running else None,
        "sla": [
            {"metric": word(c.metric), "instance": c.instance, "deadline": c.deadline,
             "target_seconds": c.target_seconds, "paused": c.paused, "breached": c.breached}
            for c in conv.clocks.values()
        ],
    }


def _stored_word(value: Any) -> str:
    """A stored enum word back to the domain's: "unknown" (or missing) is unset."""
    return "" if value in (None, UNKNOWN) else str(value)


def from_document(doc: dict[str, Any]) -> OpenConversation:
    clocks = {}
    for item in doc.get("sla") or ():
        metric = _stored_word(item.get("metric"))
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
        channel=_stored_word(doc.get("channel")),
        queue=doc.get("queue", ""),
        priority=_stored_word(doc.get("priority")),
        status=_stored_word(doc.get("status")),
        opened_at=doc.get("opened_at"),
        waiting_since=doc.get("waiting_since"),
        queued_since=doc.get("queued_since"),
        assignee_id=doc.get("assignee_id", ""),
        human_involved=bool(doc.get("human_involved")),
        handed_off=bool(doc.get("handed_off")),
        clocks=clocks,
    )


def kafka_partition(conversation_id: str, partitions: int) -> int:
    """The partition Kafka's default partitioner gives a record keyed by this conversation id."""
    return (murmur2(conversation_id.encode()) & 0x7FFFFFFF) % partitions


class MongoOpenConversationStore:
    def __init__(self, db, clock: Clock | None = None) -> None:
        self._collection = db[COLLECTION]
        self._clock = clock or SystemClock()
        self.expiry = TOMBSTONES

    async def ensure_indexes(self) -> None:
        # Loading one partition's open conversations on assignment.
        await self._collection.create_index([("partition", 1), ("state", 1)])
        # For operators' ad-hoc questions ("oldest waiting of brand X", "what breaches next").
        await self._collection.create_index([("brand_id", 1), ("status", 1)])
        await self._collection.create_index([("waiting_since", 1)], sparse=True)
        await self._collection.create_index([("sla_next_deadline", 1)], sparse=True)

    async def stamp_partitions(self, partitions: int) -> int:
        """Documents written before analytics was partitioned have no `partition`: give them the one
        Kafka's default partitioner gave their records (idempotent; a no-op once done)."""
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

    async def load_partition(self, partition: int) -> list[OpenConversation]:
        return [from_document(doc) async for doc in self._collection.find({"partition": partition, "state": OPEN},
                                                                          batch_size=5000)]

    async def apply(self, writes: list[SlotWrite]) -> set[int]:
        """One bulk_write per checkpoint; replace by id, so writing a state again is harmless.
        Returns the partitions whose write was refused because a newer owner had written there."""
        ops, partition_of = [], []
        for write in writes:
            for cid, state in write.changes.items():
                guard = {"_id": cid, "epoch": {"$lte": write.epoch}}
                mark = {"partition": write.partition, "epoch": write.epoch}
                if state is None:
                    doc = {"_id": cid, **mark, "state": RESOLVED, EXPIRE_AT: self._clock.now() + TOMBSTONE_KEPT}
                else:
                    doc = {**to_document(state), **mark, "state": OPEN}
                ops.append(ReplaceOne(guard, doc, upsert=True))
                partition_of.append(write.partition)
        if not ops:
            return set()
        try:
            await self._collection.bulk_write(ops, ordered=False)
        except BulkWriteError as exc:
            errors = exc.details.get("writeErrors", [])
            if any(e.get("code") != DUPLICATE_KEY for e in errors):
                raise
            return {partition_of[e["index"]] for e in errors}
        return set()

    async def assigned_outside(self, partitions: set[int]) -> list[tuple[str, str]]:
        """(brand, agent) of every assigned open conversation in partitions this replica does not own."""
        cursor = self._collection.find(
            {"partition": {"$nin": sorted(partitions)}, "status": "assigned"},
            {"brand_id": 1, "assignee_id": 1},
            batch_size=5000,
        )
        return [(doc.get("brand_id", ""), doc.get("assignee_id", "")) async for doc in cursor]


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
