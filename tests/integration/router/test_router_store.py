"""RouterStore on the real store (nx-27017): one transaction per batch, plain inserts for new
documents, and what happens when a document the batch believed new is already stored."""

from __future__ import annotations

import pytest
from switchboard.router.adapters.store import RouterStore
from switchboard.router.domain.engine import Workspace


def _batch(namespace: str, message_ids: list[str]) -> Workspace:
    ws = Workspace()
    ws.new_messages = [{"_id": m, "conversation_id": f"{namespace}-c1", "text": f"text of {m}"} for m in message_ids]
    return ws


@pytest.mark.parametrize("transactions", [True, False], ids=["one-transaction", "markers-last"])
async def test_a_document_already_stored_is_kept_and_the_rest_of_the_batch_is_written(mongo_db, namespace,
                                                                                      transactions):
    store = RouterStore(mongo_db, transactions=transactions)
    await store.ensure_indexes()
    await store.save(_batch(namespace, [f"{namespace}-m1"]), [{"_id": f"{namespace}-e1", "processed_at": None}])
    # A redelivered batch that overlaps what is stored (the process died between save and commit).
    second = _batch(namespace, [f"{namespace}-m1", f"{namespace}-m2"])
    second.new_messages[0]["text"] = "changed"
    await store.save(second, [{"_id": f"{namespace}-e1", "processed_at": None},
                              {"_id": f"{namespace}-e2", "processed_at": None}])
    stored = {d["_id"]: d["text"] async for d in mongo_db["conversation_messages"].find(
        {"conversation_id": f"{namespace}-c1"})}
    assert stored == {f"{namespace}-m1": f"text of {namespace}-m1", f"{namespace}-m2": f"text of {namespace}-m2"}
    markers = await mongo_db["processed_events"].count_documents({"_id": {"$in": [f"{namespace}-e1",
                                                                                  f"{namespace}-e2"]}})
    assert markers == 2


async def test_a_store_without_a_thread_index_gets_one_built_from_its_conversations(tmp_path):
    """Conversations written before `conversation_threads` existed keep threading: the index is
    built once at start-up, the newest conversation owning a key shared by several."""
    from datetime import UTC, datetime

    from pymongo import AsyncMongoClient
    from switchboard.common import processes

    mongo = processes.mongo(processes.free_port(), "memory", tmp_path).start()  # an empty store of its own
    client = AsyncMongoClient(processes.mongo_uri(mongo.port), tz_aware=True)
    try:
        db = client["legacy"]
        await db["conversations"].insert_many([
            {"_id": "old", "brand_id": "acme", "opened_at": datetime(2026, 1, 1, tzinfo=UTC),
             "thread_keys": ["chat:s1", "email:a@x"]},
            {"_id": "new", "brand_id": "acme", "opened_at": datetime(2026, 2, 1, tzinfo=UTC),
             "thread_keys": ["chat:s1"]},
        ])
        store = RouterStore(db)
        assert await store.index_threads() == 2
        mapping = {d["key"]: d["conversation_id"] async for d in db["conversation_threads"].find({})}
        assert mapping == {"chat:s1": "new", "email:a@x": "old"}
        assert await store.index_threads() == 0  # once
    finally:
        await client.close()
        mongo.stop()


async def test_the_first_batch_on_an_empty_store_commits_even_when_its_fast_path_is_rolled_back(tmp_path, namespace):
    """On an empty store, a batch whose plain inserts meet a stored document is rolled back and
    written again with upserts; the retry must not fail on collections the rolled-back attempt
    created (nx-27017 keeps those as existing and answers "no such table")."""
    from pymongo import AsyncMongoClient
    from switchboard.common import processes

    mongo = processes.mongo(processes.free_port(), "memory", tmp_path).start()  # an empty store of its own
    client = AsyncMongoClient(processes.mongo_uri(mongo.port), tz_aware=True)
    try:
        db = client["fresh"]
        store = RouterStore(db, transactions=True)
        await store.ensure_indexes()
        await store.save(_batch(namespace, ["m1"]))
        retry = _batch(namespace, ["m1", "m2"])  # m1 is stored: the fast path is rolled back
        retry.thread_index[("acme", "chat:s1")] = f"{namespace}-c1"  # a collection nothing wrote yet
        await store.save(retry)
        threads = [d async for d in db["conversation_threads"].find({})]
        assert [(d["key"], d["conversation_id"]) for d in threads] == [("chat:s1", f"{namespace}-c1")]
        assert await db["conversation_messages"].count_documents({}) == 2
    finally:
        await client.close()
        mongo.stop()


async def test_a_chat_message_batch_loads_the_handle_of_its_sessions_pre_chat_email(mongo_db, namespace):
    """The engine presents a chat message with its session's pre-chat email as well; the load must
    know that handle is stored, or the batch would try to insert it again."""
    from datetime import UTC, datetime

    from switchboard.router.domain.inputs import MessageIn
    from switchboard.router.domain.model import Handle

    brand, at = f"acme-{namespace}", datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    store = RouterStore(mongo_db)
    await store.ensure_indexes()
    await mongo_db["chat_sessions"].insert_one({"_id": f"{brand}/s1", "brand_id": brand, "chat_session_id": "s1",
                                                "started_at": at, "customer_id": "cust-1", "email": "ana@example.com"})
    await mongo_db["customer_handles"].insert_many([
        {"_id": f"{brand}|chat_session|s1", "brand_id": brand, "kind": "chat_session", "value": "s1",
         "customer_id": "cust-1"},
        {"_id": f"{brand}|email|ana@example.com", "brand_id": brand, "kind": "email", "value": "ana@example.com",
         "customer_id": "cust-1"},
    ])
    message = MessageIn(event_id="e1", brand_id=brand, channel="chat", provider="widget", provider_message_id="m1",
                        sender=Handle("chat_session", "s1"), sent_at=at, text="hello", chat_session_id="s1")
    ws = await store.load([message])
    assert ws.handles[(brand, Handle("email", "ana@example.com"))] == "cust-1"
