"""The delivery outbox in MongoDB: one document per (intent id, destination).

States: pending -> in_flight -> delivered | failed | skipped (pending again after a retryable
failure, with a later due_at). The document is inserted with $setOnInsert, so a redelivered
request never resets it: this is the exactly-once record, kept `retention` after the entry
finished (then swept: the retention is the window in which a repeated intent is recognised).
`report_due` tracks whether the DeliveryRecorded event (and DLQ record) for a final state still
has to be published.

Every query here is an equality and/or range on indexed fields (no `$or`, no count_documents):
nx-27017, the embedded and test store, answers those in SQL and decodes every document in Python
for anything else, which made the dispatcher's scans cost O(outbox).

Times are stored as UNIX seconds (floats): nx-27017 stores datetimes written through $set as
strings, which would break the due-time comparisons; numbers compare the same everywhere.
"""
from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from pymongo import ASCENDING, UpdateMany, UpdateOne
from pymongo.errors import BulkWriteError

DUPLICATE_KEY = 11000
PENDING, IN_FLIGHT, DELIVERED, FAILED, SKIPPED = "pending", "in_flight", "delivered", "failed", "skipped"
FINAL_STATES = (DELIVERED, FAILED, SKIPPED)


def outbox_id(intent_id: str, destination: str) -> str:
    return f"{intent_id}|{destination}"


class MongoOutbox:
    def __init__(self, db, collection: str = "notifier_outbox") -> None:
        self.collection = db[collection]

    async def ensure_indexes(self) -> None:
        # due work: the scheduler's scan; unreported finals: the reporter's scan.
        await self.collection.create_index([("state", ASCENDING), ("due_at", ASCENDING)])
        await self.collection.create_index([("state", ASCENDING), ("lease_until", ASCENDING)])
        await self.collection.create_index([("report_due", ASCENDING)])
        await self.collection.create_index([("claim", ASCENDING)])
        await self.collection.create_index([("conversation_id", ASCENDING)])
        await self.collection.create_index([("supersede_key", ASCENDING), ("state", ASCENDING)])
        # CSAT once per conversation: a second survey for the same conversation cannot be inserted.
        await self.collection.create_index([("once_key", ASCENDING)], unique=True, sparse=True)
        # the retention sweep (no TTL index: nx-27017 runs a full purge scan on every read of one).
        await self.collection.create_index([("finished_at", ASCENDING)])

    async def add(self, docs: list[dict[str, Any]]) -> set[str]:
        """Inserts new intents (existing ids are left untouched). Returns ids refused as once_key
        duplicates (e.g. a second CSAT survey for one conversation)."""
        if not docs:
            return set()
        ops = [UpdateOne({"_id": d["_id"]}, {"$setOnInsert": d}, upsert=True) for d in docs]
        try:
            await self.collection.bulk_write(ops, ordered=False)
        except BulkWriteError as exc:
            errors = exc.details.get("writeErrors", [])
            if any(e.get("code") != DUPLICATE_KEY for e in errors):
                raise
            refused = {docs[e["index"]]["_id"] for e in errors}
            # A duplicate _id under a concurrent upsert is a redelivery, not a refusal.
            existing = {d["_id"] async for d in self.collection.find({"_id": {"$in": list(refused)}}, {"_id": 1})}
            return refused - existing
        return set()

    async def supersede(self, newest: list[dict[str, Any]], now: datetime, detail: str) -> None:
        """Skips still-pending entries older (lower offset, same partition) than each given entry
        with the same supersede_key. Offsets, not arrival, decide: a redelivered old request
        never skips a newer one."""
        ops = [UpdateMany({"supersede_key": d["supersede_key"], "state": PENDING, "_id": {"$ne": d["_id"]},
                           "source.partition": d["source"]["partition"],
                           "source.offset": {"$lt": d["source"]["offset"]}},
                          {"$set": {"state": SKIPPED, "detail": detail, "report_due": True,
                                    "finished_at": now.timestamp(), "updated_at": now.timestamp()}})
               for d in newest]
        await self.collection.bulk_write(ops, ordered=False)

    async def candidates(self, now: datetime, exclude_pools: list[str], exclude_ids: list[str],
                         limit: int) -> list[dict]:
        """Due pending work plus in-flight work whose lease expired (its owner died), earliest due
        first, at most `limit`. Two indexed queries, (state, due_at) and (state, lease_until),
        merged here: one `$or` of the two is a full scan on nx-27017."""
        t = now.timestamp()
        extra: dict[str, Any] = {}
        if exclude_pools:
            extra["pool"] = {"$nin": exclude_pools}
        if exclude_ids:
            extra["_id"] = {"$nin": exclude_ids}
        fields = {"_id": 1, "pool": 1, "state": 1, "lease_until": 1, "due_at": 1}
        due = self.collection.find({"state": PENDING, "due_at": {"$lte": t}, **extra}, fields).sort(
            "due_at", ASCENDING).limit(limit)
        expired = self.collection.find({"state": IN_FLIGHT, "lease_until": {"$lte": t}, **extra}, fields).sort(
            "lease_until", ASCENDING).limit(limit)
        found = [d async for d in due] + [d async for d in expired]
        found.sort(key=lambda d: d.get("due_at", 0.0))
        return found[:limit]

    async def claim(self, candidates: list[dict], now: datetime, lease_seconds: dict[str, float]) -> list[dict]:
        """Claims candidates atomically (per document) with a fresh token; returns the won documents."""
        if not candidates:
            return []
        token = uuid.uuid4().hex
        ops = []
        for c in candidates:
            guard: dict[str, Any] = {"_id": c["_id"], "state": c["state"]}
            if c["state"] == IN_FLIGHT:
                guard["lease_until"] = c["lease_until"]
            lease_until = now.timestamp() + lease_seconds.get(c["pool"], 60.0)
            ops.append(UpdateOne(guard, {"$set": {"state": IN_FLIGHT, "claim": token, "lease_until": lease_until,
                                                  "updated_at": now.timestamp()}}))
        await self.collection.bulk_write(ops, ordered=False)
        return [d async for d in self.collection.find({"claim": token})]

    @staticmethod
    def finish_op(doc_id: str, claim: str, state: str, now: datetime, attempts: int, detail: str,
                  provider_message_id: str = "", first_attempt_at: float | None = None,
                  language: str = "") -> UpdateOne:
        update = {"state": state, "attempts": attempts, "detail": detail, "updated_at": now.timestamp(),
                  "provider_message_id": provider_message_id, "report_due": True, "finished_at": now.timestamp()}
        if first_attempt_at is not None:
            update["first_attempt_at"] = first_attempt_at
        if language:
            update["language"] = language
        return UpdateOne({"_id": doc_id, "claim": claim}, {"$set": update})

    @staticmethod
    def reschedule_op(doc_id: str, claim: str, due_at: datetime, now: datetime, attempts: int, detail: str,
                      first_attempt_at: float) -> UpdateOne:
        return UpdateOne({"_id": doc_id, "claim": claim},
                         {"$set": {"state": PENDING, "due_at": due_at.timestamp(), "attempts": attempts,
                                   "detail": detail, "updated_at": now.timestamp(),
                                   "first_attempt_at": first_attempt_at}})

    async def write(self, ops: list[UpdateOne]) -> None:
        if ops:
            await self.collection.bulk_write(ops, ordered=False)

    async def next_due(self, exclude_pools: list[str]) -> datetime | None:
        query: dict[str, Any] = {"state": PENDING}
        if exclude_pools:
            query["pool"] = {"$nin": exclude_pools}
        doc = await self.collection.find_one(query, {"due_at": 1}, sort=[("due_at", ASCENDING)])
        return datetime.fromtimestamp(doc["due_at"], UTC) if doc else None

    async def unreported(self, limit: int) -> list[dict]:
        cursor = self.collection.find({"report_due": True}).limit(limit)
        return [d async for d in cursor]

    async def mark_reported(self, ids: list[str]) -> None:
        if ids:
            await self.collection.update_many({"_id": {"$in": ids}}, {"$set": {"report_due": False}})

    async def count_open(self) -> int:
        """Entries pending or in flight. Ids counted here: count_documents decodes every document of
        the collection on nx-27017 (seconds on a big outbox), an indexed find of ids does not."""
        cursor = self.collection.find({"state": {"$in": [PENDING, IN_FLIGHT]}}, {"_id": 1}, batch_size=10_000)
        return len(await cursor.to_list(None))

    async def sweep_finished(self, finished_before: datetime) -> int:
        """Deletes reported final entries (delivered/failed/skipped) that finished before the given
        instant; returns how many. Unreported ones stay until their DeliveryRecorded is out."""
        result = await self.collection.delete_many({"finished_at": {"$lt": finished_before.timestamp()},
                                                    "report_due": False})
        return result.deleted_count

    async def get(self, doc_id: str) -> dict | None:
        return await self.collection.find_one({"_id": doc_id})
