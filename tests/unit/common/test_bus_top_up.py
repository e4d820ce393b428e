"""The consumer's top-up: records that arrived while the previous batch was handled join this batch."""
from __future__ import annotations

from types import SimpleNamespace

from aiokafka import TopicPartition
from switchboard.common.consumer import ConsumerRunner
from switchboard.common.settings import ConsumerSettings, KafkaSettings

P0, P1 = TopicPartition("t", 0), TopicPartition("t", 1)


def record(tp: TopicPartition, offset: int) -> SimpleNamespace:
    return SimpleNamespace(topic=tp.topic, partition=tp.partition, offset=offset)


class FetchedLater:
    """Stands in for the Kafka client: hands out what its fetcher got after the first take."""

    def __init__(self, later: dict) -> None:
        self.later = later
        self.asked: list[tuple[int, int]] = []

    async def getmany(self, timeout_ms: int, max_records: int) -> dict:
        self.asked.append((timeout_ms, max_records))
        return self.later


def runner(**consumer) -> ConsumerRunner:
    return ConsumerRunner(name="t", kafka=KafkaSettings(), consumer=ConsumerSettings(**consumer), topics=["t"],
                          group_id="g", handler=None, producer=None)  # type: ignore[arg-type]


async def test_records_fetched_after_the_take_join_the_batch_in_offset_order():
    r = runner(top_up_ms=5, max_batch_records=10)
    r._consumer = FetchedLater({P0: [record(P0, 3), record(P0, 4)], P1: [record(P1, 7)]})
    batch = {P0: [record(P0, 1), record(P0, 2)]}
    await r._top_up(batch)
    assert [x.offset for x in batch[P0]] == [1, 2, 3, 4]
    assert [x.offset for x in batch[P1]] == [7]
    assert r._consumer.asked == [(5, 8)]  # waits top_up_ms at most, for no more than the batch has room for


async def test_a_full_batch_is_not_topped_up():
    r = runner(top_up_ms=5, max_batch_records=2)
    r._consumer = FetchedLater({P0: [record(P0, 3)]})
    batch = {P0: [record(P0, 1), record(P0, 2)]}
    await r._top_up(batch)
    assert [x.offset for x in batch[P0]] == [1, 2]
    assert r._consumer.asked == []
