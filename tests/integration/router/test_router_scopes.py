"""Routing scopes on the real store: one owner per brand at a time, and a revoked owner's late writes
refused (docs/router.md "Two stages"). Two RouterStore objects stand for two routing-stage replicas."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from aiokafka import TopicPartition
from switchboard.router.adapters.journal import Fenced
from switchboard.router.adapters.store import RouterStore
from switchboard.router.domain.engine import Workspace
from switchboard.router.domain.model import Agent, QueueEntry
from switchboard.router.ownership import ScopeOwnership, partition_of


def _booking(brand: str, agent_load: int, conversation: str) -> Workspace:
    """A batch that gives agent a1 one more chat (what a routing decision writes)."""
    ws = Workspace()
    agent = Agent(id=f"{brand}/a1", brand_id=brand, agent_id="a1", capacity={"chat": 1},
                  load={"chat": agent_load}, active=[conversation] if agent_load else [])
    ws.agents = {brand: {"a1": agent}}
    ws.dirty_agents = {(brand, "a1")}
    return ws


@pytest.mark.parametrize("transactions", [False, True], ids=["journal", "transaction"])
async def test_a_revoked_owner_cannot_book_an_agent_after_the_new_owner_claimed_the_brand(
        mongo_db, namespace, transactions):
    brand = f"b-{namespace}"
    old, new = RouterStore(mongo_db, transactions=transactions), RouterStore(mongo_db, transactions=transactions)
    await old.ensure_indexes()
    await old.claim(brand)
    await old.save(_booking(brand, 0, ""), scope=brand)
    await new.claim(brand)  # the partition moved: the new owner raises the epoch and rebuilds
    await new.save(_booking(brand, 1, "c-new"), scope=brand)
    with pytest.raises(Fenced):  # the old owner wakes up and gives the agent's only slot away again
        await old.save(_booking(brand, 1, "c-old"), scope=brand)
    agent = await mongo_db["agents"].find_one({"_id": f"{brand}/a1"})
    assert agent["active"] == ["c-new"] and agent["load"] == {"chat": 1}
    scope = await mongo_db["routing_scopes"].find_one({"_id": brand})
    assert scope["epoch"] == agent["epoch"] == 2


async def test_each_agents_and_queue_write_is_fenced_even_after_the_commit_point(mongo_db, namespace):
    """The stale owner passed its commit point before the claim; its writes of brand-wide routing
    state that land after the claim are refused one by one (their filter carries the old epoch)."""
    brand = f"b-{namespace}"
    old, new = RouterStore(mongo_db), RouterStore(mongo_db)
    await old.ensure_indexes()
    await old.claim(brand)
    ws = _booking(brand, 0, "")
    entry = QueueEntry(id=f"c1-{namespace}", brand_id=brand, queue="general", priority=2, channel="chat",
                       capacity_class="chat", language="en", enqueued_at=datetime.now(UTC))
    ws.queue = {brand: {entry.id: entry}}
    ws.dirty_queue = {(brand, entry.id)}
    await old.save(ws, scope=brand)
    await new.claim(brand)
    stale = [w for stage in old._writes(_booking(brand, 1, "c-old"), None) for w in stage]
    with pytest.raises(Fenced):
        await old._apply([stale], old.epochs[brand])
    assert (await mongo_db["agents"].find_one({"_id": f"{brand}/a1"}))["active"] == []
    assert (await mongo_db["queue_entries"].find_one({"_id": f"c1-{namespace}"}))["epoch"] == 2


async def test_a_replica_claims_the_configured_brands_of_the_partitions_it_is_assigned(mongo_db, namespace):
    import asyncio

    brands = [f"{namespace}-{n}" for n in range(8)]
    store = RouterStore(mongo_db)
    ownership = ScopeOwnership(store, "routing", 6, [*brands, "*"], asyncio.Lock())
    mine = {partition_of(brands[0], 6), partition_of(brands[1], 6)}
    await ownership.on_assigned({TopicPartition("routing", p) for p in mine})
    assert ownership.owned() == {b for b in brands if partition_of(b, 6) in mine}
    await ownership.on_revoked({TopicPartition("routing", partition_of(brands[0], 6))})
    assert brands[0] not in ownership.owned()


async def test_a_fenced_replica_gives_its_batches_up_until_its_next_assignment(mongo_db, namespace):
    import asyncio

    from switchboard.common.consumer import BatchAbandoned

    brand = f"b-{namespace}"
    partition = {TopicPartition("routing", partition_of(brand, 6))}
    store = RouterStore(mongo_db)
    ownership = ScopeOwnership(store, "routing", 6, [brand], asyncio.Lock())
    await ownership.on_assigned(partition)
    first = store.epochs[brand]
    await ownership.lost(brand)  # its write was refused: someone else claimed the brand
    with pytest.raises(BatchAbandoned):  # not claimed back: that would fence the rightful owner
        await ownership.ensure(brand)
    assert brand not in ownership.owned()
    await ownership.on_assigned(partition)  # the group gave it the partition again
    assert store.epochs[brand] == first + 1


async def test_scopes_saving_side_by_side_share_each_request_and_a_fenced_one_is_refused_alone(
        mongo_uri, mongo_db, namespace):
    """The contact stage saves a batch's partitions side by side: their commit points go in one write and
    each collection's writes in one request (adapters/rounds.py), not one per partition; a partition that
    another replica claimed meanwhile is refused, and only it."""
    import asyncio
    from collections import Counter

    from pymongo import AsyncMongoClient, monitoring

    class Requests(monitoring.CommandListener):
        def __init__(self) -> None:
            self.seen: Counter = Counter()

        def started(self, event) -> None:
            self.seen[(event.command_name, str(event.command.get(event.command_name)))] += 1

        def succeeded(self, event) -> None:
            pass

        def failed(self, event) -> None:
            pass

    requests = Requests()
    client = AsyncMongoClient(mongo_uri, tz_aware=True, event_listeners=[requests])
    try:
        store = RouterStore(client[mongo_db.name], transactions=False)
        await store.ensure_indexes()
        scopes = [f"contacts/{namespace}-{n}" for n in range(4)]
        for scope in scopes:
            await store.claim(scope)
        await RouterStore(mongo_db, transactions=False).claim(scopes[3])  # another replica took partition 3
        batches = {scope: Workspace() for scope in scopes}
        for n, ws in enumerate(batches.values()):
            ws.new_messages = [{"_id": f"{namespace}-m{n}-{i}", "conversation_id": f"{namespace}-c{n}",
                                "text": "hello"} for i in range(3)]
        requests.seen.clear()
        outcomes = await asyncio.gather(*(store.save(ws, [{"_id": f"{namespace}-e{n}", "processed_at": None}], scope)
                                          for n, (scope, ws) in enumerate(batches.items())), return_exceptions=True)
    finally:
        await client.close()
    assert outcomes[:3] == [None, None, None] and isinstance(outcomes[3], Fenced)
    assert requests.seen[("update", "routing_scopes")] == 1  # four commit points, one write
    assert requests.seen[("insert", "conversation_messages")] == 1
    assert requests.seen[("insert", "processed_events")] == 1
    stored = Counter([d["conversation_id"] async for d in mongo_db["conversation_messages"].find(
        {"_id": {"$regex": f"^{namespace}-m"}})])
    assert stored == {f"{namespace}-c0": 3, f"{namespace}-c1": 3, f"{namespace}-c2": 3}  # nothing of partition 3
    heads = {d["_id"]: d.get("journal") async for d in mongo_db["routing_scopes"].find({"_id": {"$in": scopes}})}
    assert all(heads[scope] for scope in scopes[:3]) and heads[scopes[3]] is None
