"""Store requests made at the same time go as one (adapters/rounds.py): each caller still gets exactly its
own answer or its own failure. In-memory collections that count the requests they serve."""

from __future__ import annotations

import asyncio

import pytest
from pymongo import InsertOne, UpdateOne
from pymongo.errors import BulkWriteError
from switchboard.router.adapters.rounds import BulkWrites, IdReads


class Found:
    def __init__(self, docs: list[dict]) -> None:
        self._docs = iter(docs)

    def __aiter__(self):
        return self

    async def __anext__(self) -> dict:
        await asyncio.sleep(0)  # a real cursor answers later
        try:
            return next(self._docs)
        except StopIteration:
            raise StopAsyncIteration from None


class Collection:
    """Documents by _id; counts requests; a bulk write refuses an insert of a stored _id (code 11000)."""

    def __init__(self, name: str, docs: dict[str, dict] | None = None, down: bool = False) -> None:
        self.name, self.docs, self.down = name, dict(docs or {}), down
        self.finds: list[list[str]] = []
        self.bulks: list[int] = []

    def find(self, query: dict, projection: dict | None = None) -> Found:
        ids = query["_id"]["$in"]
        self.finds.append(ids)
        docs = [self.docs[i] for i in ids if i in self.docs]
        return Found([{k: v for k, v in d.items() if k == "_id" or not projection or k in projection} for d in docs])

    async def bulk_write(self, ops: list, ordered: bool = True) -> None:
        assert ordered is False
        await asyncio.sleep(0)
        if self.down:
            raise ConnectionError("store away")
        self.bulks.append(len(ops))
        errors = []
        for index, op in enumerate(ops):
            if isinstance(op, InsertOne):
                doc = op._doc
                if doc["_id"] in self.docs:
                    errors.append({"index": index, "code": 11000, "errmsg": f"duplicate {doc['_id']}"})
                else:
                    self.docs[doc["_id"]] = doc
            else:
                self.docs.setdefault(op._filter["_id"], {"_id": op._filter["_id"]}).update(op._doc["$set"])
        if errors:
            raise BulkWriteError({"writeErrors": errors, "writeConcernErrors": [], "nInserted": len(ops) - len(errors)})


async def test_reads_made_at_the_same_time_are_one_request_and_each_caller_gets_its_own_documents():
    stored = Collection("customers", {f"c{i}": {"_id": f"c{i}", "name": f"n{i}"} for i in range(6)})
    reads = IdReads()
    first, second, third = await asyncio.gather(reads.find(stored, ["c0", "c1"]),
                                                reads.find(stored, ["c2", "c9"]),
                                                reads.find(stored, ["c1", "c5"]))
    assert [d["_id"] for d in first] == ["c0", "c1"]
    assert [d["_id"] for d in second] == ["c2"]  # c9 is not stored
    assert sorted(d["_id"] for d in third) == ["c1", "c5"]
    assert stored.finds == [["c0", "c1", "c2", "c5", "c9"]]


async def test_reads_with_another_projection_or_collection_or_later_are_their_own_requests():
    customers = Collection("customers", {"c0": {"_id": "c0", "name": "n"}})
    handles = Collection("customer_handles", {"h0": {"_id": "h0", "customer_id": "c0"}})
    reads = IdReads()
    whole, ids_only, handle = await asyncio.gather(reads.find(customers, ["c0"]),
                                                   reads.find(customers, ["c0"], {"_id": 1}),
                                                   reads.find(handles, ["h0"]))
    assert whole == [{"_id": "c0", "name": "n"}] and ids_only == [{"_id": "c0"}]
    assert handle == [{"_id": "h0", "customer_id": "c0"}]
    assert await reads.find(customers, ["c0"]) == whole
    assert len(customers.finds) == 3 and len(handles.finds) == 1
    assert await reads.find(customers, []) == [] and len(customers.finds) == 3  # nothing asked: no request
    assert await reads.query(customers, {"_id": {"$in": []}}) == [] and len(customers.finds) == 3
    assert await reads.query(customers, {"_id": {"$in": ["c0"]}}, {"_id": 1}) == ids_only


async def test_writes_made_at_the_same_time_are_one_bulk_write_and_a_refused_op_fails_only_its_caller():
    messages = Collection("conversation_messages", {"m1": {"_id": "m1"}})
    writes = BulkWrites()
    ok, refused, also_ok = await asyncio.gather(
        writes.write(messages, [InsertOne({"_id": "m2"}), UpdateOne({"_id": "m3"}, {"$set": {"read": True}})]),
        writes.write(messages, [InsertOne({"_id": "m4"}), InsertOne({"_id": "m1"})]),
        writes.write(messages, [InsertOne({"_id": "m5"})]),
        return_exceptions=True)
    assert ok is None and also_ok is None
    assert isinstance(refused, BulkWriteError)
    assert [(e["index"], e["code"]) for e in refused.details["writeErrors"]] == [(1, 11000)]  # its own 2nd op
    assert messages.bulks == [5]
    assert set(messages.docs) == {"m1", "m2", "m3", "m4", "m5"}


async def test_a_request_that_fails_fails_every_caller_of_its_round():
    away = Collection("customers", down=True)
    writes = BulkWrites()
    outcomes = await asyncio.gather(writes.write(away, [InsertOne({"_id": "a"})]),
                                    writes.write(away, [InsertOne({"_id": "b"})]), return_exceptions=True)
    assert all(isinstance(o, ConnectionError) for o in outcomes)


async def test_a_cancelled_first_caller_does_not_leave_the_others_waiting():
    messages = Collection("conversation_messages")
    writes = BulkWrites()
    first = asyncio.create_task(writes.write(messages, [InsertOne({"_id": "a"})]))
    await asyncio.sleep(0)  # the round is open
    second = asyncio.create_task(writes.write(messages, [InsertOne({"_id": "b"})]))
    await asyncio.sleep(0)
    first.cancel()
    with pytest.raises(ConnectionError):
        async with asyncio.timeout(1):
            await second
    await writes.write(messages, [InsertOne({"_id": "c"})])  # the next round opens as usual
    assert "c" in messages.docs
