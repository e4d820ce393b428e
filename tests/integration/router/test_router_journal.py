"""RouterStore without transactions (standalone MongoDB, nx-27017): a batch is written whole or not at
all, even when the process dies by kill -9 in the middle of writing it."""

from __future__ import annotations

import asyncio
import random
import signal
import subprocess
import sys
import textwrap

from switchboard.router.adapters.store import RouterStore
from switchboard.router.domain.engine import Workspace
from switchboard.router.domain.model import Handle

# Each batch writes state (customer handles) and then its applied-markers (messages, dedupe
# records): the order a real batch uses, and the gap a crash used to fall into.
WRITER = textwrap.dedent("""
    import asyncio, sys
    from pymongo import AsyncMongoClient
    from switchboard.router.adapters.store import RouterStore
    from switchboard.router.domain.engine import Workspace
    from switchboard.router.domain.model import Handle

    async def main(uri, database, size):
        db = AsyncMongoClient(uri, tz_aware=True)[database]
        store = RouterStore(db)
        await store.ensure_indexes()
        await store.prepare()
        batch = await db["conversation_messages"].count_documents({}) // size
        while True:
            ws = Workspace()
            ws.new_handles = [("acme", Handle("email", f"b{batch}-{n}@example.com"), f"b{batch}")
                              for n in range(size)]
            ws.new_messages = [{"_id": f"b{batch}-m{n}", "conversation_id": f"b{batch}"} for n in range(size)]
            await store.save(ws, [{"_id": f"b{batch}-e{n}", "processed_at": None} for n in range(size)])
            print(batch, flush=True)
            batch += 1

    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
""")
SIZE = 300


async def batches_in(db) -> dict[str, set[str]]:
    """Which batches each kind of write reached (a batch is whole when it is in all three)."""
    async def of(collection: str, field: str) -> set[str]:
        return {str(d[field]).split("-")[0] async for d in db[collection].find({}, {field: 1})}

    return {"state": await of("customer_handles", "customer_id"),
            "messages": await of("conversation_messages", "conversation_id"),
            "dedupe": await of("processed_events", "_id")}


async def test_a_batch_cut_by_kill_9_is_finished_by_the_next_start_and_never_left_half_written(mongo_uri, mongo_db):
    rng = random.Random()
    for _ in range(3):
        writer = subprocess.Popen([sys.executable, "-c", WRITER, mongo_uri, mongo_db.name, str(SIZE)],
                                  stdout=subprocess.PIPE, text=True)
        try:
            for _ in range(2):  # some batches written in full first
                await asyncio.to_thread(writer.stdout.readline)
            await asyncio.sleep(rng.uniform(0.0, 0.3))  # then die somewhere inside one
        finally:
            writer.send_signal(signal.SIGKILL)
            writer.wait()
        store = RouterStore(mongo_db)  # what the restarted router does before it reads anything
        await store.prepare()
        written = await batches_in(mongo_db)
        assert written["state"] == written["messages"] == written["dedupe"], written
        for batch in written["messages"]:
            n = await mongo_db["conversation_messages"].count_documents({"conversation_id": batch})
            assert n == SIZE, f"batch {batch}: {n} of {SIZE} messages"


async def test_a_write_set_larger_than_one_document_is_journaled_in_parts_and_replayed_whole(mongo_db):
    store = RouterStore(mongo_db)
    await store.ensure_indexes()
    await store.prepare()
    ws = Workspace()
    text = "x" * 600_000
    ws.new_messages = [{"_id": f"m{n}", "conversation_id": "c1", "text": text} for n in range(40)]  # ~24 MB
    ws.new_handles = [("acme", Handle("email", "ana@example.com"), "cust-1")]
    await store.save(ws)
    assert await mongo_db["router_journal"].count_documents({}) >= 2
    # As if the process had died after the journal and before the messages were written:
    await mongo_db["conversation_messages"].delete_many({})
    restarted = RouterStore(mongo_db)
    await restarted.prepare()
    assert await mongo_db["conversation_messages"].count_documents({"conversation_id": "c1"}) == 40
    assert await mongo_db["customer_handles"].count_documents({"customer_id": "cust-1"}) == 1
    assert await mongo_db["router_journal"].count_documents({}) == 0  # replayed once, then gone


async def test_on_a_store_without_replica_set_the_router_writes_through_the_journal(mongo_db):
    store = RouterStore(mongo_db)
    await store.ensure_indexes()
    await store.prepare()
    assert store.transactions is False  # nx-27017 answers hello without setName, like a standalone mongod
