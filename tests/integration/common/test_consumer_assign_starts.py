"""The runner's assignment hook may say where a partition's own state ends (rebalance.py), on the real
broker: a partition the group committed beyond that is read again from there, before any of its later
records is handled; one committed at or before it is not sought forward; `rewinds.caught_up` tells
when the records read again have been handled."""
from __future__ import annotations

import asyncio

from aiokafka import TopicPartition
from switchboard.common.cloudevents import Envelope
from switchboard.common.consumer import ConsumerRunner
from switchboard.common.testing import wait_for
from switchboard.events.v1 import agent_pb2


def note(i: int) -> agent_pb2.AgentCommand:
    return agent_pb2.AgentCommand(brand_id="acme", agent_id="a-1", add_internal_note=agent_pb2.AddInternalNote(
        conversation_id="c-1", text=f"note {i}"))


class Member:
    """A runner in the test's group that records what it handles (and, optionally, where its hook starts)."""

    def __init__(self, settings, topics, group, producer, start: int | None = None) -> None:
        self.handled: list[int] = []
        self.caught_up_when_handling: list[bool] = []
        self.start = start
        self.hooked = asyncio.Event()
        self.runner = ConsumerRunner(name=group, kafka=settings.kafka, consumer=settings.consumer,
                                     topics=[topics.agent_commands], group_id=group, handler=self.handle,
                                     producer=producer, on_assigned=self.on_assigned)

    async def handle(self, batch: list[Envelope]) -> None:
        self.caught_up_when_handling.append(self.runner.rewinds.caught_up)
        self.handled.extend(env.offset for env in batch)

    async def on_assigned(self, tps: set[TopicPartition]) -> dict[TopicPartition, int] | None:
        if self.start is None:
            return None
        # Give the fetcher time to fetch from the committed offsets meanwhile: nothing of that may be handled.
        await asyncio.sleep(0.3)
        self.hooked.set()
        return {tp: self.start for tp in tps}


async def first_member_consumes(settings, topics, group, producer, records: int) -> None:
    for i in range(records):
        await producer.publish(topics.agent_commands, note(i), key="c-1", event_id=f"n-{i}")
    await producer.drain()
    first = Member(settings, topics, group, producer)
    await first.runner.start()
    try:
        await wait_for(lambda: len(first.handled) == records, timeout=30, message="first member consumed")
    finally:
        await first.runner.stop()  # it committed everything it handled


async def second_member(service_settings, topics, namespace, producer, *, committed: int, more: int,
                        start: int) -> Member:
    """A first member of the group handles and commits `committed` records; `more` are published after
    them; returns a second member, started, whose assignment hook says its state ends at `start`."""
    settings = service_settings()
    group = f"{namespace}-g"
    await first_member_consumes(settings, topics, group, producer, records=committed)
    for i in range(committed, committed + more):  # fetchable from the committed offset while the hook runs
        await producer.publish(topics.agent_commands, note(i), key="c-1", event_id=f"n-{i}")
    await producer.drain()
    second = Member(settings, topics, group, producer, start=start)
    await second.runner.start()
    return second


async def test_a_partition_committed_beyond_the_hooks_start_is_read_again_from_there(
        service_settings, producer, topics, namespace):
    second = await second_member(service_settings, topics, namespace, producer, committed=6, more=2, start=2)
    try:
        await wait_for(lambda: len(second.handled) >= 6, timeout=30, message="read again from the hook's start")
        await wait_for(lambda: second.runner.rewinds.caught_up, timeout=10, message="caught up")
    finally:
        await second.runner.stop()
    assert second.handled == [2, 3, 4, 5, 6, 7], "records were skipped, repeated or handled out of order"
    assert second.caught_up_when_handling[0] is False  # still reading what the group had committed
    assert second.hooked.is_set()


async def test_a_start_at_or_past_the_committed_offset_does_not_skip_forward(
        service_settings, producer, topics, namespace):
    second = await second_member(service_settings, topics, namespace, producer, committed=3, more=2, start=10)
    try:
        await wait_for(lambda: len(second.handled) >= 2, timeout=30, message="read on from the commits")
    finally:
        await second.runner.stop()
    assert second.handled == [3, 4]
    assert second.runner.rewinds.caught_up and all(second.caught_up_when_handling)
