"""Durable publish: returns only when the broker acknowledged every record (acks=all)."""
from __future__ import annotations

import asyncio

from aiokafka.errors import KafkaError
from switchboard.common.producer import EventProducer
from switchboard.common.topics import TopicNames
from switchboard.ingest.adapters.ports import BrokerUnavailable
from switchboard.ingest.domain.model import Outgoing

__all__ = ["BrokerUnavailable", "DurablePublisher"]


class DurablePublisher:
    def __init__(self, producer: EventProducer, names: TopicNames, *, timeout_seconds: float) -> None:
        self._producer = producer
        self._names = names
        self._timeout = timeout_seconds

    async def publish(self, brand_id: str, events: list[Outgoing], event_ids: list[str]) -> None:
        if not events:
            return
        try:
            async with asyncio.timeout(self._timeout):  # no extra task per request, unlike wait_for
                await self._send_all(brand_id, events, event_ids)
        except (KafkaError, TimeoutError, OSError, RuntimeError) as exc:
            raise BrokerUnavailable(type(exc).__name__) from exc

    async def _send_all(self, brand_id: str, events: list[Outgoing], event_ids: list[str]) -> None:
        if len(events) == 1:  # the common case: no gather future
            event = events[0]
            await (await self._producer.publish(
                self._names.of(event.stream), event.payload, key=event.key, event_id=event_ids[0], time=event.time,
                subject=event.subject, brand_id=brand_id))
            return
        futures = []
        for event, event_id in zip(events, event_ids, strict=True):
            futures.append(await self._producer.publish(
                self._names.of(event.stream), event.payload, key=event.key, event_id=event_id, time=event.time,
                subject=event.subject, brand_id=brand_id))
        await asyncio.gather(*futures)
