from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Callable

from aiokafka import AIOKafkaConsumer, TopicPartition
from switchboard.common.cloudevents import Envelope, decode


async def wait_for(condition: Callable, timeout: float = 10.0, interval: float = 0.05, message: str = "") -> object:
    """Polls `condition` (sync or async) until it returns something truthy; fails after `timeout`."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        last = condition()
        if inspect.isawaitable(last):
            last = await last
        if last:
            return last
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s: {message or condition}; last={last!r}")
        await asyncio.sleep(interval)


async def wait_ready(client, url: str, timeout: float = 15.0) -> None:
    """Waits until `url` (a service's /readyz) answers 200. Each readiness probe is bounded by 1 s, which
    a loaded machine can miss once: a test asks until a deadline instead of trusting the first answer."""
    async def ready() -> bool:
        return (await client.get(url)).status_code == 200
    await wait_for(ready, timeout=timeout, message=f"{url} answers 200")


def sample_sum(registry, name: str, **labels: str) -> float:
    """The sum of a metric's samples whose labels include `labels` (any value for the others)."""
    return sum(sample.value for family in registry.collect() for sample in family.samples
               if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()))


async def read_raw(bootstrap: str, topic: str, min_count: int = 0, timeout: float = 10.0) -> list:
    """Every record of `topic` from the beginning (no consumer group), once at least min_count arrived."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        deadline = time.monotonic() + timeout
        partitions = None
        while not partitions:
            await consumer._client.force_metadata_update()
            partitions = consumer.partitions_for_topic(topic)
            if not partitions and time.monotonic() > deadline:
                if min_count:
                    raise AssertionError(f"topic {topic} does not exist")
                return []
            if not partitions:
                await asyncio.sleep(0.05)
        consumer.assign([TopicPartition(topic, p) for p in partitions])
        await consumer.seek_to_beginning()
        records: list = []
        while True:
            batch = await consumer.getmany(timeout_ms=200)
            for recs in batch.values():
                records.extend(recs)
            if not batch and len(records) >= min_count:
                return records
            if time.monotonic() > deadline:
                if len(records) >= min_count:
                    return records
                raise AssertionError(f"{topic}: {len(records)} records within {timeout}s, expected >= {min_count}")
    finally:
        await consumer.stop()


async def read_topic(bootstrap: str, topic: str, min_count: int = 0, timeout: float = 10.0) -> list[Envelope]:
    records = await read_raw(bootstrap, topic, min_count, timeout)
    return [decode(r.value, r.headers, key=r.key, topic=r.topic, partition=r.partition, offset=r.offset)
            for r in records]
