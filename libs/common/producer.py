"""EventProducer: the one Kafka producer every service uses (acks=all, batched, idempotence a setting)."""
from __future__ import annotations

import asyncio
from datetime import datetime

from aiokafka import AIOKafkaProducer
from google.protobuf.message import Message
from switchboard.common import metrics
from switchboard.common.clock import Clock, SystemClock
from switchboard.common.cloudevents import Envelope, event_type, new_id
from switchboard.common.health import broker_reachable
from switchboard.common.settings import KafkaSettings, connection_options


class EventProducer:
    """acks=all, batched (linger), idempotence a setting. publish() enqueues and returns the ack future."""

    def __init__(self, kafka: KafkaSettings, *, source: str, clock: Clock | None = None) -> None:
        self._kafka = kafka
        self.source = source
        self._clock = clock or SystemClock()
        self._producer: AIOKafkaProducer | None = None
        self._pending: set[asyncio.Future] = set()

    async def start(self) -> None:
        self._producer = AIOKafkaProducer(
            **connection_options(self._kafka), acks="all", linger_ms=self._kafka.linger_ms,
            max_batch_size=self._kafka.max_batch_bytes, enable_idempotence=self._kafka.idempotent_producer,
        )
        await self._producer.start()

    async def stop(self) -> None:
        if self._producer is not None:
            try:
                await self.drain()
            finally:
                await self._producer.stop()
                self._producer = None

    @property
    def ready(self) -> bool:
        return self._producer is not None

    async def probe(self) -> bool:
        """Readiness: the broker answers a metadata request on this producer's connections."""
        return self._producer is not None and await broker_reachable(self._producer.client)

    def envelope(self, payload: Message, *, cause: Envelope | None = None, event_id: str | None = None,
                 time: datetime | None = None, subject: str | None = None, brand_id: str | None = None) -> Envelope:
        return Envelope(
            payload=payload, id=event_id or new_id(), type=event_type(payload), source=self.source,
            time=time or self._clock.now(), brand_id=brand_id or getattr(payload, "brand_id", "") or
            (cause.brand_id if cause else ""), subject=subject,
            correlation_id=(cause.correlation_id or cause.id) if cause else None,
            causation_id=cause.id if cause else None,
        )

    async def publish(self, topic: str, payload: Message, *, key: str | bytes | None, cause: Envelope | None = None,
                      event_id: str | None = None, time: datetime | None = None, subject: str | None = None,
                      brand_id: str | None = None) -> asyncio.Future:
        env = self.envelope(payload, cause=cause, event_id=event_id, time=time, subject=subject, brand_id=brand_id)
        return await self.send_raw(topic, payload.SerializeToString(), key, env.headers())

    async def send_raw(self, topic: str, value: bytes | None, key: str | bytes | None,
                       headers: list[tuple[str, bytes]]) -> asyncio.Future:
        if self._producer is None:
            raise RuntimeError("EventProducer.start() was not called")
        key_bytes = key.encode() if isinstance(key, str) else key
        future = await self._producer.send(topic, value=value, key=key_bytes, headers=headers)
        self._pending.add(future)
        future.add_done_callback(lambda f, t=topic: self._settled(f, t))
        return future

    def _settled(self, future: asyncio.Future, topic: str) -> None:
        self._pending.discard(future)
        if future.cancelled() or future.exception() is not None:
            metrics.PRODUCE_ERRORS.labels(topic).inc()
        else:
            metrics.RECORDS_PRODUCED.labels(topic).inc()

    async def drain(self) -> None:
        """Waits until every record sent so far is acknowledged; raises if any was not."""
        while self._pending:
            await asyncio.gather(*list(self._pending))
