"""The chunked projection store against the real nx-27017: a checkpoint writes at most K documents per
slot whatever changed, a revoked owner's late write changes nothing, a resolved conversation is gone
after a reload, and documents of the one-per-conversation layout move into chunks on first ownership.

Documents written are what the server says it wrote (switchboard.common.mongo_writes, the figure of
the pipeline benchmark), through a client made by `connect`, as the service makes it.
"""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "unit" / "analytics"))
from analytics_events import T0, conversation  # noqa: E402
from switchboard.analytics.adapters.layout import chunk_of, encode_key  # noqa: E402
from switchboard.analytics.adapters.ports import SlotWrite  # noqa: E402
from switchboard.analytics.adapters.store import COLLECTION, MongoOpenConversationStore  # noqa: E402
from switchboard.common.mongo import connect  # noqa: E402
from switchboard.common.mongo_writes import DOCUMENTS_WRITTEN  # noqa: E402
from switchboard.common.settings import MongoSettings  # noqa: E402
from test_analytics_ownership import (  # noqa: E402
    PARTITION,
    RES,
    Q,
    Replica,
    conversations_of_partition,
    record,
    running,
)

K = 16
BACKLOG = "switchboard_backlog_conversations"


def written() -> float:
    return DOCUMENTS_WRITTEN.labels(COLLECTION)._value.get()


@pytest.fixture
async def db(mongo_uri, namespace):
    client = connect(MongoSettings(uri=mongo_uri, database=namespace))
    yield client[namespace]
    await client.close()


@pytest.fixture
async def pair(db):
    async with running(Replica(db, "replica-a"), Replica(db, "replica-b")) as made:
        yield made


def opened(ids, first_offset=0):
    return [record(conversation("conversation_opened", cid, T0, status=Q), first_offset + i)
            for i, cid in enumerate(ids)]


async def checkpointed_open(replica, ids: list[str]) -> None:
    """The replica owns PARTITION, has seen `ids` opened and has checkpointed them."""
    await replica.assign(PARTITION)
    await replica.handler.handle(opened(ids))
    await replica.checkpoint()


async def raw(db) -> dict:
    return {doc["_id"]: doc async for doc in db[COLLECTION].find({"partition": PARTITION})}


async def test_a_checkpoint_of_100_changed_conversations_in_one_slot_writes_at_most_k_documents(pair, stored_open):
    a, _ = pair
    ids = conversations_of_partition(100)
    await a.assign(PARTITION)
    await a.handler.handle(opened(ids))
    before = written()
    assert await a.checkpoint() == 1
    assert 0 < written() - before <= K, f"{written() - before} documents for one slot's checkpoint"
    assert set(await stored_open(PARTITION)) == set(ids)
    # All 100 changed again (a third resolved): still at most one document per chunk.
    await a.handler.handle([
        record(conversation("conversation_resolved" if i % 3 == 0 else "conversation_assigned", cid,
                            T0 + timedelta(minutes=1), status=RES if i % 3 == 0 else Q, assignee_id="agent-1"),
               100 + i)
        for i, cid in enumerate(ids)
    ])
    before = written()
    await a.checkpoint()
    assert written() - before <= K
    assert set(await stored_open(PARTITION)) == {cid for i, cid in enumerate(ids) if i % 3}


async def test_a_revoked_owners_late_write_changes_no_document(pair, db):
    a, b = pair
    ids = conversations_of_partition(100)
    assert {chunk_of(cid, K) for cid in ids} == set(range(K))  # A's memory touches every chunk
    await checkpointed_open(a, ids)
    stale_epoch = a.owner.claims[min(a.owner.claims)].epoch
    await b.assign(PARTITION)  # B claims: A is a zombie from here on
    await b.handler.handle([  # B resolves half and assigns the rest: B writes every chunk
        record(conversation("conversation_resolved" if i % 2 else "conversation_assigned", cid, T0,
                            status=RES if i % 2 else Q, assignee_id="agent-2"), 100 + i)
        for i, cid in enumerate(ids)])
    await b.checkpoint()
    stored = await raw(db)
    # A's late checkpoint, as if it had read the ledger before B's claim: every chunk of it is refused.
    store = MongoOpenConversationStore(db)
    revived = {cid: a.owner.projection.open[cid] for cid in ids}
    assert await store.apply([SlotWrite(PARTITION, stale_epoch, revived)]) == {PARTITION}
    assert await store.apply([SlotWrite(PARTITION, stale_epoch, revived, relayout=True)]) == {PARTITION}
    assert await raw(db) == stored, "a stale write changed the store"


async def test_a_resolved_conversation_is_gone_from_the_store_and_the_gauges_after_a_reload(pair, db, stored_open):
    a, b = pair
    ids = conversations_of_partition(10)
    await checkpointed_open(a, ids)
    await a.handler.handle([record(conversation("conversation_resolved", cid, T0, status=RES), 10 + i)
                            for i, cid in enumerate(ids[:3])])
    await a.revoke()  # checkpoints
    await b.assign(PARTITION)  # reloads from the store
    assert b.value(BACKLOG) == 7
    assert set(await stored_open(PARTITION)) == set(ids[3:])
    docs = await raw(db)
    assert all(doc["_id"].startswith(f"{PARTITION}:") for doc in docs.values()), "no tombstones, only chunks"
    assert not {encode_key(cid) for cid in ids[:3]} & {key for doc in docs.values() for key in doc["conversations"]}


def old_document(cid: str, partition: int, *, state: str = "open", status: str = "queued", **extra) -> dict:
    """One conversation as the layout before chunks stored it."""
    return {"_id": cid, "partition": partition, "epoch": 1, "state": state, "brand_id": "acme", "channel": "email",
            "queue": "general", "priority": "normal", "status": status, "opened_at": T0, "waiting_since": T0,
            "queued_since": T0, "assignee_id": "agent-7" if status == "assigned" else "", "human_involved": False,
            "handed_off": False, "sla_next_deadline": None, "sla": [], **extra}


async def test_documents_of_the_old_layout_move_into_chunks_at_the_first_checkpoint(pair, db, stored_open):
    a, b = pair
    ids = [*conversations_of_partition(30), "dotted.id", "$dollar"]
    docs = [old_document(cid, PARTITION, status="assigned" if i % 2 else "queued") for i, cid in enumerate(ids)]
    docs.append(old_document("long-gone", PARTITION, state="resolved", expire_at=T0))  # an old tombstone
    docs.append(old_document("elsewhere", PARTITION + 1))
    await db[COLLECTION].insert_many(docs)
    # The agent tally of another replica reads the old layout before anyone migrated it.
    assert len(await a.store.assigned_outside({PARTITION + 1})) == 16
    await a.assign(PARTITION)
    assert a.value(BACKLOG) == len(ids)  # loaded from the old layout
    await a.checkpoint()
    stored = await raw(db)
    assert sorted(stored) == sorted(f"{PARTITION}:{c}" for c in range(K)), "old documents left, or chunks missing"
    assert set(await stored_open(PARTITION)) == set(ids)
    assert await db[COLLECTION].count_documents({"_id": "elsewhere"}) == 1  # another slot's: its owner moves it
    await a.revoke()
    await b.assign(PARTITION)
    assert b.value(BACKLOG) == len(ids)
    assert b.owner.claims[min(b.owner.claims)].relayout is False  # already in chunks: nothing to rewrite


async def test_changing_the_chunk_count_rewrites_each_slot_once(pair, db, stored_open):
    a, _ = pair
    ids = conversations_of_partition(40)
    await checkpointed_open(a, ids)
    await a.revoke()
    fewer = Replica(db, "replica-c", chunks=4)
    await fewer.metrics.start()
    try:
        await fewer.assign(PARTITION)
        assert fewer.value(BACKLOG) == 40
        await fewer.checkpoint()
        assert sorted(await raw(db)) == [f"{PARTITION}:{c}" for c in range(4)]
        assert set(await stored_open(PARTITION)) == set(ids)
    finally:
        await fewer.metrics.stop()
