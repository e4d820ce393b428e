"""The delivery outbox in MongoDB (the OutboxStore and DeliveryRecords ports of adapters/ports.py):
one document per (intent id, destination).

States: pending -> in_flight -> delivered | failed | skipped (pending again after a retryable
failure, with a later due_at). The document is inserted with $setOnInsert, so a redelivered
request never resets it: this is the exactly-once record, kept `retention` after the entry
finished (then swept: the retention is the window in which a repeated intent is recognised).
`report_due` tracks whether the DeliveryRecorded event (and DLQ record) for a final state still
has to be published (False when the dispatcher published it before writing the outcome).

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
from switchboard.common.mongo import count_each, refused_as_duplicates
from switchboard.notifier.adapters.ports import Added, WriteRefused
from switchboard.notifier.domain.model import FAILED, IN_FLIGHT, PENDING, SKIPPED


def finish_change(doc_id: str, claim: str, state: str, now: datetime, attempts: int, detail: str,
                  provider_message_id: str = "", first_attempt_at: float | None = None,
                  language: str = "", reported: bool = False) -> tuple[dict[str, Any], dict[str, Any]]:
    """(guard, fields to set) of a final outcome. The state is in the guard: a write retried after
    the store applied it (reply lost) matches nothing. `reported`: its DeliveryRecorded is already out."""
    fields = {"state": state, "attempts": attempts, "detail": detail, "updated_at": now.timestamp(),
              "provider_message_id": provider_message_id, "report_due": not reported,
              "finished_at": now.timestamp()}
    if first_attempt_at is not None:
        fields["first_attempt_at"] = first_attempt_at
    if language:
        fields["language"] = language
    return {"_id": doc_id, "claim": claim, "state": IN_FLIGHT}, fields


def reschedule_change(doc_id: str, claim: str, due_at: datetime, now: datetime, attempts: int, detail: str,
                      first_attempt_at: float) -> tuple[dict[str, Any], dict[str, Any]]:
    """(guard, fields to set) of a retryable failure: pending again at `due_at`."""
    return ({"_id": doc_id, "claim": claim, "state": IN_FLIGHT},
            {"state": PENDING, "due_at": due_at.timestamp(), "attempts": attempts, "detail": detail,
             "updated_at": now.timestamp(), "first_attempt_at": first_attempt_at})


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

    async def add(self, docs: list[dict[str, Any]]) -> Added:
        """Inserts new intents (existing ids are left untouched). Returns the ids this insert created
        (the upserted ones: a redelivered intent is found, not created) and the ids refused as once_key
        duplicates (e.g. a second CSAT survey for one conversation)."""
        if not docs:
            return Added()
        ops = [UpdateOne({"_id": d["_id"]}, {"$setOnInsert": d}, upsert=True) for d in docs]
        try:
            result = await self.collection.bulk_write(ops, ordered=False)
        except BulkWriteError as exc:
            errors = refused_as_duplicates(exc)
            inserted = frozenset(u["_id"] for u in exc.details.get("upserted", []))
            refused = {docs[e["index"]]["_id"] for e in errors}
            # A duplicate _id under a concurrent upsert is a redelivery, not a refusal.
            existing = {d["_id"] async for d in self.collection.find({"_id": {"$in": list(refused)}}, {"_id": 1})}
            return Added(inserted, frozenset(refused - existing))
        return Added(frozenset(result.upserted_ids.values()))

    async def stored(self, ids: list[str]) -> frozenset[str]:
        """The ids among these that are in the outbox (one `_id $in` read)."""
        return frozenset([d["_id"] async for d in self.collection.find({"_id": {"$in": ids}}, {"_id": 1})])

    async def once_key_owners(self, keys: list[str]) -> dict[str, str]:
        """{once_key: outbox id} of the entries already holding these keys."""
        existing = await self.collection.find({"once_key": {"$in": keys}}, {"once_key": 1}).to_list(None)
        return {d["once_key"]: d["_id"] for d in existing}

    async def revive(self, replays: dict[str, str], now: datetime) -> int:
        """Puts FAILED entries back to pending for a DLQ replay: {outbox id: replay token}. Returns
        how many were revived. Only failed entries whose failure is already reported (its DLQ record is
        out) are revived, each at most once per token (one DLQ record replayed twice revives once);
        delivered, skipped, pending and in-flight entries are left alone, so a replay never
        re-sends what went out. Guarded by the `updated_at` read: in an update filter, nx-27017
        matches no document lacking the field `$ne` names, so the token check happens here."""
        if not replays:
            return 0
        found = self.collection.find({"_id": {"$in": list(replays)}, "state": FAILED, "report_due": False},
                                     {"_id": 1, "updated_at": 1, "replayed_from": 1})
        ops = []
        async for doc in found:
            token = replays[doc["_id"]]
            if doc.get("replayed_from") == token:
                continue
            ops.append(UpdateOne({"_id": doc["_id"], "state": FAILED, "updated_at": doc.get("updated_at")},
                                 {"$set": {"state": PENDING, "due_at": now.timestamp(), "attempts": 0,
                                           "detail": "replayed from the DLQ", "replayed_from": token,
                                           "updated_at": now.timestamp()},
                                  "$unset": {"first_attempt_at": "", "finished_at": ""},
                                  "$inc": {"replays": 1}}))
        if not ops:
            return 0
        return (await self.collection.bulk_write(ops, ordered=False)).modified_count

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

    async def claim(self, candidates: list[dict], now: datetime, lease_seconds: dict[str, float],
                    token: str | None = None) -> list[dict]:
        """Claims candidates atomically (per document) with a fresh token; returns the won documents."""
        if not candidates:
            return []
        token = token or uuid.uuid4().hex
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
                  language: str = "", reported: bool = False, whole: dict[str, Any] | None = None) -> UpdateOne:
        guard, fields = finish_change(doc_id, claim, state, now, attempts, detail, provider_message_id,
                                      first_attempt_at, language, reported)
        return UpdateOne(guard, {"$set": fields}) if whole is None else MongoOutbox.insert_op({**whole, **fields})

    @staticmethod
    def reschedule_op(doc_id: str, claim: str, due_at: datetime, now: datetime, attempts: int, detail: str,
                      first_attempt_at: float, whole: dict[str, Any] | None = None) -> UpdateOne:
        guard, fields = reschedule_change(doc_id, claim, due_at, now, attempts, detail, first_attempt_at)
        return UpdateOne(guard, {"$set": fields}) if whole is None else MongoOutbox.insert_op({**whole, **fields})

    @staticmethod
    def insert_op(doc: dict[str, Any]) -> UpdateOne:
        """An entry sent before it was stored (send first), written whole if absent: never overwrites a
        stored entry (that one belongs to whoever stored it; the write then changes nothing)."""
        return UpdateOne({"_id": doc["_id"]}, {"$setOnInsert": doc}, upsert=True)

    @staticmethod
    def release_op(doc_id: str, claim: str) -> UpdateOne:
        return UpdateOne({"_id": doc_id, "claim": claim, "state": IN_FLIGHT}, {"$set": {"state": PENDING}})

    async def write(self, ops: list[UpdateOne]) -> int | None:
        """One unordered bulk write; returns how many ops changed a document (None for no ops): every
        guarded update changes the state, and an insert-if-absent that found the entry changes nothing.
        WriteRefused when the store answered and refused some ops."""
        if not ops:
            return None
        try:
            result = await self.collection.bulk_write(ops, ordered=False)
            return result.modified_count + result.upserted_count
        except BulkWriteError as exc:
            raise WriteRefused(repr(exc.details.get("writeErrors", [])[:3])) from exc

    async def release_claims(self, tokens: list[str], now: datetime) -> int:
        """Back to pending: in-flight entries of claims whose result their claimer never saw (the store
        went away mid-claim), so never sent. Without this they would wait for their lease."""
        released = 0
        for token in tokens:
            result = await self.collection.update_many({"claim": token, "state": IN_FLIGHT},
                                                       {"$set": {"state": PENDING, "updated_at": now.timestamp()}})
            released += result.modified_count
        return released

    async def claims(self, ids: list[str]) -> dict[str, str | None]:
        """The current claim token of each entry."""
        return {d["_id"]: d.get("claim") async for d in self.collection.find({"_id": {"$in": ids}}, {"claim": 1})}

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
        """Entries pending or in flight, counted by the store (mongo.count_each: flat in the outbox's size
        and in the backlog's; count_documents and finds of ids read every document or every match)."""
        return await count_each(self.collection, "state", [PENDING, IN_FLIGHT])

    async def sweep_finished(self, finished_before: datetime) -> int:
        """Deletes reported final entries (delivered/failed/skipped) that finished before the given
        instant; returns how many. Unreported ones stay until their DeliveryRecorded is out."""
        result = await self.collection.delete_many({"finished_at": {"$lt": finished_before.timestamp()},
                                                    "report_due": False})
        return result.deleted_count

    async def get(self, doc_id: str) -> dict | None:
        return await self.collection.find_one({"_id": doc_id})
