"""A crash between checkpoints, on the real Tansu broker and nx-27017: the next owner reads again from
the last checkpoint what the group had already committed, so its gauges equal the truth as soon as
it is ready, and every record is counted exactly once over both processes.

The first analytics service runs in this event loop with a checkpoint interval no test outlasts: it
checkpoints once (called by the test), applies and commits more, and is then stopped the way a
kill -9 stops it as far as the state is concerned: its consumer stops (no revoke hook, no final
checkpoint), its timer is cancelled. The second one starts on the same group and store.
"""

from __future__ import annotations

import asyncio
import sys
from datetime import timedelta
from pathlib import Path

from prometheus_client import CollectorRegistry

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "unit" / "analytics"))
from analytics_events import T0, conversation  # noqa: E402
from switchboard.analytics.bootstrap import AnalyticsApp, bootstrap  # noqa: E402
from switchboard.analytics.settings import AnalyticsSettings  # noqa: E402
from switchboard.common.clock import ManualClock  # noqa: E402
from switchboard.common.testing import sample_sum, wait_for  # noqa: E402
from switchboard.events.v1 import common_pb2  # noqa: E402

Q, A, RES = (
    common_pb2.CONVERSATION_STATUS_QUEUED,
    common_pb2.CONVERSATION_STATUS_ASSIGNED,
    common_pb2.CONVERSATION_STATUS_RESOLVED,
)
OPENED = "switchboard_conversation_opened_total"


def build(settings: AnalyticsSettings) -> tuple[AnalyticsApp, CollectorRegistry]:
    registry = CollectorRegistry()
    app = bootstrap(settings, clock=ManualClock(T0 + timedelta(hours=1)), http=False, registry=registry)
    return app, registry


def backlog(registry: CollectorRegistry) -> dict[str, float]:
    return {status: sample_sum(registry, "switchboard_backlog_conversations", status=status)
            for status in ("queued", "assigned")}


async def publish(producer, topics, events) -> None:
    for event in events:
        await producer.publish(topics.conversations, event, key=event.conversation.conversation_id)
    await producer.drain()


async def committed_total(app: AnalyticsApp) -> int:
    consumer = app.consumer._consumer  # the group's commits, as the next member will find them
    total = 0
    for tp in app.consumer.assigned:
        if tp.topic == app.topics.conversations:
            total += (await consumer.committed(tp)) or 0
    return total


async def crash(app: AnalyticsApp) -> None:
    """Everything a kill -9 ends, without what a graceful stop adds: no revocation, no final checkpoint."""
    app.checkpointer.task.cancel()
    await app.consumer.stop()  # leaves the group; aiokafka calls no revoke hook on close
    for component in reversed(app.service.components):
        if component not in (app.consumer, app.checkpointer):
            await component.stop()


PART_TWO = [
    *(conversation("conversation_opened", f"c{i}", T0, status=Q) for i in range(40, 80)),
    *(conversation("conversation_resolved", f"c{i}", T0 + timedelta(minutes=5), status=RES) for i in range(20)),
    *(conversation("conversation_assigned", f"c{i}", T0 + timedelta(minutes=1), status=A, assignee_id="ann")
      for i in range(40, 60)),
]
TRUTH = {"queued": 40, "assigned": 20}  # c20-c39 and c60-c79 queued, c40-c59 assigned


async def first_replica_crashes_after_one_checkpoint(settings, producer, topics, mongo_db) -> float:
    """Part one applied and checkpointed, part two applied and committed but not checkpointed, then the
    crash. Returns what the first replica counted."""
    first, registry = build(settings)
    try:
        for component in first.service.components:
            await component.start()
        await wait_for(lambda: first.owner.ready, timeout=30, message="first replica assigned")
        await publish(producer, topics, [conversation("conversation_opened", f"c{i}", T0, status=Q)
                                         for i in range(40)])
        await wait_for(lambda: backlog(registry)["queued"] == 40, timeout=30, message="part one applied")
        assert await first.checkpointer.checkpoint() > 0
        stored = await mongo_db["analytics_partitions"].find({"_id": {"$regex": "^conversations"}}).to_list(None)
        assert sum(doc.get("offsets", {}).get("conversations", 0) for doc in stored) == 40
        await publish(producer, topics, PART_TWO)
        await wait_for(lambda: backlog(registry) == TRUTH, timeout=30, message="part two applied")

        async def all_committed() -> bool:
            return await committed_total(first) == 40 + len(PART_TWO)

        await wait_for(all_committed, timeout=30, interval=0.1, message="the group committed all of it")
        counted = sample_sum(registry, OPENED)
        assert counted == 40  # part two was applied, not checkpointed, so not counted
        return counted
    finally:
        await crash(first)


async def test_after_a_crash_between_checkpoints_the_next_owner_reads_from_the_checkpoint_and_counts_once(
        service_settings, producer, topics, mongo_db, stored_open):
    counted_by_first = await first_replica_crashes_after_one_checkpoint(
        service_settings(AnalyticsSettings, checkpoint_seconds=3600), producer, topics, mongo_db)
    second, registry = build(service_settings(AnalyticsSettings, checkpoint_seconds=0.2))
    task = asyncio.create_task(second.service.run())
    try:
        await wait_for(lambda: all(second.service.readiness().values()) or task.done(), timeout=60)
        assert not task.done(), "the second replica stopped during start-up"
        # Ready means loaded and caught up with the group's commits: exact at once, with no further event.
        assert backlog(registry) == TRUTH, "the records after the checkpoint were not read again"
        await second.checkpointer.checkpoint()
        assert counted_by_first + sample_sum(registry, OPENED) == 80, "a record was lost or counted twice"
        assert sample_sum(registry, "switchboard_conversation_resolved_total") == 20
        assert len(await stored_open()) == 60
    finally:
        second.service.request_stop()
        assert await asyncio.wait_for(task, 30) == 0
