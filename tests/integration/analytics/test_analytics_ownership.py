"""Slot ownership against the real nx-27017: a rebalance never counts twice, a revoked owner's late
checkpoint is refused, and the gauges of the replicas add up to the stored state.

Two replicas' handlers run in this process on one MongoDB store and are fed consumed records
directly (topic, partition, offset set as the ConsumerRunner sets them), with checkpoints and
rebalance hooks called as the service calls them, so the interleavings a rebalance allows (the old
owner's commit not landing, the old owner checkpointing after the new owner claimed) are produced
exactly instead of hoped for.
"""

from __future__ import annotations

import contextlib
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from aiokafka import TopicPartition
from prometheus_client import CollectorRegistry

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "unit" / "analytics"))
from analytics_events import T0, conversation  # noqa: E402
from switchboard.analytics.adapters.metrics import AnalyticsMetrics  # noqa: E402
from switchboard.analytics.adapters.store import (  # noqa: E402
    MongoOpenConversationStore,
    MongoSlotLedger,
    kafka_partition,
)
from switchboard.analytics.agents import AgentTally  # noqa: E402
from switchboard.analytics.bootstrap import CONSUMED  # noqa: E402
from switchboard.analytics.checkpoint import Checkpointer  # noqa: E402
from switchboard.analytics.domain.backlog import BacklogIndex  # noqa: E402
from switchboard.analytics.domain.labels import Labeller  # noqa: E402
from switchboard.analytics.domain.partitions import PartitionedProjection  # noqa: E402
from switchboard.analytics.handlers import AnalyticsHandler  # noqa: E402
from switchboard.analytics.ownership import SlotOwner  # noqa: E402
from switchboard.common.clock import ManualClock  # noqa: E402
from switchboard.common.cloudevents import Envelope, event_type  # noqa: E402
from switchboard.common.consumer import BatchAbandoned  # noqa: E402
from switchboard.common.testing import sample_sum  # noqa: E402
from switchboard.common.topics import TopicNames  # noqa: E402
from switchboard.events.v1 import common_pb2  # noqa: E402

Q, A, RES = (
    common_pb2.CONVERSATION_STATUS_QUEUED,
    common_pb2.CONVERSATION_STATUS_ASSIGNED,
    common_pb2.CONVERSATION_STATUS_RESOLVED,
)
TOPICS = TopicNames("own.")
PARTITION = 3


class Replica:
    """One analytics replica's handler, ownership and metrics (no consumer: records are handed in)."""

    def __init__(self, db, name: str, *, chunks: int = 16) -> None:
        labeller = self.labeller = Labeller()
        self.index = BacklogIndex(labeller)
        self.store = MongoOpenConversationStore(db, chunks=chunks)
        self.owner = SlotOwner(
            PartitionedProjection(labeller, on_change=self.index.update),
            self.store,
            MongoSlotLedger(db),
            TOPICS,
            owner_id=name,
            consumed=CONSUMED,
        )
        self.registry = CollectorRegistry()
        self.metrics = AnalyticsMetrics(self.index, ManualClock(T0 + timedelta(hours=1)), registry=self.registry)
        self.handler = AnalyticsHandler(self.owner)
        self.handler.fenced_backoff_seconds = 0  # records are handed in: no runner to read a batch back
        self.checkpointer = Checkpointer(self.owner, self.handler, self.store, MongoSlotLedger(db), self.metrics,
                                         interval_seconds=3600)  # checkpoints are called by the tests
        self.assignment: set[TopicPartition] = set()
        self.owner.current = lambda: self.assignment

    async def assign(self, *partitions: int) -> dict[TopicPartition, int]:
        """The assignment hook; returns where it asks the consumer to read each partition from."""
        self.assignment = {TopicPartition(TOPICS.of(t), p) for t in ("conversations", "sla") for p in partitions}
        return await self.owner.on_assigned(set(self.assignment))

    async def revoke(self) -> None:
        """The revoke hook: checkpoints, then parks."""
        revoked, self.assignment = set(self.assignment), set()
        await self.checkpointer.on_revoked(revoked)

    async def checkpoint(self) -> int:
        return await self.checkpointer.checkpoint()

    def value(self, name: str, **labels: str) -> float:
        return sample_sum(self.registry, name, **labels)


def record(payload, offset: int, partition: int = PARTITION) -> Envelope:
    cid = payload.conversation.conversation_id
    return Envelope(
        payload=payload,
        id=f"ev-{cid}-{payload.WhichOneof('event')}",
        type=event_type(payload),
        source="/tests",
        time=T0,
        brand_id=payload.brand_id,
        key=cid.encode(),
        topic=TOPICS.conversations,
        partition=partition,
        offset=offset,
    )


def conversations_of_partition(count: int, partition: int = PARTITION) -> list[str]:
    out, n = [], 0
    while len(out) < count:
        cid = f"conv-{n}"
        if kafka_partition(cid, 12) == partition:
            out.append(cid)
        n += 1
    return out


def stream(ids: list[str]) -> list[Envelope]:
    """Every conversation opened (queued); every other one then assigned; every third resolved."""
    events = []
    for i, cid in enumerate(ids):
        events.append(conversation("conversation_opened", cid, T0, status=Q))
        if i % 2 == 0:
            events.append(conversation("conversation_assigned", cid, T0 + timedelta(minutes=1), status=A,
                                       assignee_id=f"agent-{i % 3}"))
        if i % 3 == 0:
            events.append(conversation("conversation_resolved", cid, T0 + timedelta(minutes=5), status=RES))
    return [record(e, offset) for offset, e in enumerate(events)]


@contextlib.asynccontextmanager
async def running(*made: Replica):
    """The replicas with their store's indexes made and their metrics started."""
    await made[0].store.ensure_indexes()
    for r in made:
        await r.metrics.start()
    try:
        yield list(made)
    finally:
        for r in made:
            await r.metrics.stop()


@pytest.fixture
async def replicas(mongo_db):
    async with running(Replica(mongo_db, "replica-a"), Replica(mongo_db, "replica-b")) as made:
        yield made


async def test_a_batch_redelivered_to_the_next_owner_is_neither_counted_nor_applied_twice(replicas, stored_open):
    a, b = replicas
    ids = conversations_of_partition(30)
    records = stream(ids)
    await a.assign(PARTITION)
    await a.handler.handle(records)
    await a.checkpoint()
    open_now = 30 - 10
    assert a.value("switchboard_conversation_opened_total") == 30
    assert a.value("switchboard_backlog_conversations") == open_now
    # A's offset commit did not land (it lost the group meanwhile): B is given the partition and
    # receives the same records again.
    await a.revoke()
    await b.assign(PARTITION)
    assert b.value("switchboard_backlog_conversations") == open_now  # loaded from the store on assignment
    await b.handler.handle(records)
    await b.checkpoint()
    assert b.value("switchboard_conversation_opened_total") == 0, "B counted what A had counted"
    assert b.value("switchboard_backlog_conversations") == open_now
    assert a.value("switchboard_backlog_conversations") == 0  # A reports nothing of a slot it lost
    assert b.handler.skipped == len(records)
    # Later records are B's to count, once.
    later = [record(conversation("conversation_opened", cid, T0, status=Q), len(records) + i)
             for i, cid in enumerate(conversations_of_partition(35)[30:])]
    await b.handler.handle(later)
    await b.checkpoint()
    assert b.value("switchboard_conversation_opened_total") == 5
    assert len(await stored_open(PARTITION)) == open_now + 5


async def test_a_revoked_owners_late_checkpoint_is_refused_and_counts_nothing(replicas, stored_open):
    a, b = replicas
    ids = conversations_of_partition(12)
    first = [record(conversation("conversation_opened", cid, T0, status=Q), i) for i, cid in enumerate(ids)]
    await a.assign(PARTITION)
    await a.handler.handle(first[:6])
    await a.checkpoint()
    # B claims the slot while A, not knowing yet, is still working (a zombie: no revocation seen).
    starts = await b.assign(PARTITION)
    assert starts[TopicPartition(TOPICS.conversations, PARTITION)] == 6  # B reads on from A's checkpoint
    await b.handler.handle(first)  # B's consumer may start earlier (A's commit was refused): skipped
    resolve = [record(conversation("conversation_resolved", ids[0], T0 + timedelta(minutes=3), status=RES), 13)]
    await b.handler.handle(resolve)
    await b.checkpoint()
    # A's late batch: records B already applied, plus one that would reopen the conversation B resolved.
    stale = record(
        conversation("conversation_assigned", ids[0], T0 + timedelta(minutes=2), status=A, assignee_id="agent-9"), 12
    )
    await a.handler.handle([*first[6:], stale])  # applied in A's memory only
    assert await a.checkpoint() == 0, "A's checkpoint was not refused"
    assert a.value("switchboard_conversation_opened_total") == 6, "the fenced checkpoint moved A's counters"
    assert a.value("switchboard_backlog_conversations") == 0, "A still reports a slot it was fenced from"
    assert b.value("switchboard_conversation_opened_total") == 6
    assert b.value("switchboard_backlog_conversations") == 11
    assert set(await stored_open(PARTITION)) == set(ids[1:]), "A's late write brought back a conversation B resolved"
    # A takes no slot back on its own: its next batch of that partition in the same assignment is given back.
    with pytest.raises(BatchAbandoned):
        await a.handler.handle([record(conversation("conversation_opened", "late", T0, status=Q), 13)])
    assert a.value("switchboard_conversation_opened_total") == 6


async def test_two_owners_gauges_add_up_and_a_handed_back_slot_keeps_its_memory(replicas, mongo_db):
    a, b = replicas
    per_partition = {p: conversations_of_partition(8, p) for p in (0, 1)}
    await a.assign(0)
    await b.assign(1)
    for p, ids in per_partition.items():
        replica = a if p == 0 else b
        await replica.handler.handle([
            record(conversation("conversation_assigned", cid, T0, status=A, assignee_id="agent-1"), i, partition=p)
            for i, cid in enumerate(ids)
        ])
    total = a.value("switchboard_backlog_conversations") + b.value("switchboard_backlog_conversations")
    assert (a.value("switchboard_backlog_conversations"), total) == (8, 16)
    # Revoked and re-assigned with nobody in between: kept in memory (no reload), still exact.
    await a.revoke()
    assert a.value("switchboard_backlog_conversations") == 0
    loads = a.owner.loads
    await a.assign(0)
    assert a.owner.loads == loads, "reloaded from the store although nobody held the slot in between"
    assert a.value("switchboard_backlog_conversations") == 8
    # Given to B in between: B's epoch intervened, so A's memory may be stale and is reloaded.
    await a.revoke()
    await b.assign(0, 1)
    assert b.value("switchboard_backlog_conversations") == 16
    await b.revoke()
    await a.assign(0)
    assert a.owner.loads == loads + 1
    assert a.value("switchboard_backlog_conversations") == 8


async def test_an_agent_working_on_both_replicas_partitions_counts_once(replicas):
    a, b = replicas
    for replica in (a, b):
        replica.tally = AgentTally(replica.owner, replica.store, replica.labeller, partitions=12, interval_seconds=1)
        replica.metrics.backlog.agents = replica.tally
    await a.assign(0)
    await b.assign(*range(1, 12))
    agents = {0: ("ann", "bob"), 1: ("ann", "cid"), 2: ("ann",)}  # ann holds conversations on both replicas
    for p, names in agents.items():
        replica = a if p == 0 else b
        await replica.handler.handle([
            record(conversation("conversation_assigned", cid, T0, status=A, assignee_id=name), i, partition=p)
            for i, (cid, name) in enumerate(zip(conversations_of_partition(len(names), p), names, strict=True))
        ])
    for replica in (a, b):
        await replica.checkpoint()  # the tally reads the other replica's partitions from the store
    for replica in (a, b):
        await replica.tally.refresh()
    # a owns partition 0, so it reports the agent gauges over every partition; b reports none
    assert a.value("switchboard_agent_working_agents") == 3  # ann, bob, cid: not ann twice
    assert a.value("switchboard_agent_assigned_conversations") == 5
    assert a.value("switchboard_agent_occupancy_ratio") == 5 / (3 * 5)
    assert not [s for f in b.registry.collect() for s in f.samples if s.name.startswith("switchboard_agent_")]
