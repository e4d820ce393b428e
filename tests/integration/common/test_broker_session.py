"""The consumer runner never commits offsets fetched in an earlier broker session: a batch in flight
when the broker dies and comes back (empty, like the embedded broker after a restart) is not
committed into the new broker, and records written to the new broker are all handled.

Without the fence this test fails the way issue 19 describes: the old batch's commit goes out as a
group-less commit (generation -1), the empty new group accepts it, and the consumer then starts
past the new broker's first records (checked by disabling the fence: "records written to the new
broker handled" times out).
"""
from __future__ import annotations

import asyncio

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from switchboard.common import metrics, processes
from switchboard.common.admin import ensure_topics
from switchboard.common.cloudevents import Envelope
from switchboard.common.consumer import ConsumerRunner
from switchboard.common.producer import EventProducer
from switchboard.common.testing import wait_for
from switchboard.events.v1 import agent_pb2


def note(conversation_id: str) -> agent_pb2.AgentCommand:
    return agent_pb2.AgentCommand(brand_id="acme", agent_id="a-1", add_internal_note=agent_pb2.AddInternalNote(
        conversation_id=conversation_id, text="checked"))


@pytest.fixture
def own_broker(tmp_path):
    broker = processes.broker(processes.free_port(), tmp_path / "broker").start()
    yield broker
    broker.stop()


async def committed_total(bootstrap: str, group: str, topic: str) -> int:
    reader = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    await reader.start()
    try:
        total = 0
        for partition in reader.partitions_for_topic(topic) or set():
            total += await reader.committed(TopicPartition(topic, partition)) or 0
        return total
    finally:
        await reader.stop()


async def test_a_batch_in_flight_across_a_broker_restart_is_not_committed_into_the_new_broker(
        own_broker, service_settings, topics, namespace):
    settings = service_settings(kafka={"bootstrap_servers": f"127.0.0.1:{own_broker.port}"})
    await ensure_topics(settings.kafka, topics)
    producer = EventProducer(settings.kafka, source="/tests")
    await producer.start()
    for i in range(10):
        await producer.publish(topics.agent_commands, note(f"old-{i}"), key=f"old-{i}", event_id=f"old-{i}")
    await producer.drain()
    handled: list[str] = []
    entered, release = asyncio.Event(), asyncio.Event()

    async def handle(batch: list[Envelope]) -> None:
        if not release.is_set():
            entered.set()
            await release.wait()  # the broker dies and comes back while this batch is being handled
        handled.extend(env.id for env in batch)

    group = f"{namespace}-fence"
    fenced_before = metrics.COMMITS_FENCED.labels(group)._value.get()
    runner = ConsumerRunner(name="fence", kafka=settings.kafka, consumer=settings.consumer,
                            topics=[topics.agent_commands], group_id=group, handler=handle, producer=producer)
    await runner.start()
    replacement = None
    try:
        await asyncio.wait_for(entered.wait(), 20)
        # In threads: the event loop keeps running while the broker dies and comes back, as in a service.
        await asyncio.to_thread(own_broker.kill)
        replacement = await asyncio.to_thread(
            processes.broker(own_broker.port, own_broker.log_path.parent / "second").start)
        await ensure_topics(settings.kafka, topics)
        # The worst moment: the consumer has learnt that the new broker does not know its member and
        # reset its generation, so a commit now goes out as a group-less commit (generation -1),
        # which an empty group accepts.
        await wait_for(lambda: runner._consumer._coordinator.generation < 0, timeout=20)
        release.set()
        await wait_for(lambda: metrics.COMMITS_FENCED.labels(group)._value.get() > fenced_before, timeout=20,
                       message="the stale batch's commit was fenced")
        for i in range(3):
            await producer.publish(topics.agent_commands, note(f"new-{i}"), key=f"new-{i}", event_id=f"new-{i}")
        await producer.drain()
        await wait_for(lambda: {f"new-{i}" for i in range(3)} <= set(handled), timeout=30,
                       message="records written to the new broker handled")
        await wait_for(lambda: runner.assigned, timeout=20)
    finally:
        release.set()
        await runner.stop()
        await producer.stop()
    # The new broker holds 3 records; a committed total above 3 would be the old session's offsets,
    # which would make a restarted consumer skip the new broker's first records.
    try:
        assert await committed_total(f"127.0.0.1:{own_broker.port}", group, topics.agent_commands) <= 3
    finally:
        if replacement is not None:
            replacement.stop()
