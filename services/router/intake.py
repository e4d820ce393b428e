"""The router's intake stage: inbound, orders and agent-commands in (keyed by customer or
conversation, as many replicas as those topics have partitions), the routing topic out (keyed by
brand). It writes nothing to MongoDB: a redelivered record is forwarded again under its own event id,
and the routing stage recognises it (docs/router.md "Two stages")."""

from __future__ import annotations

from dataclasses import dataclass

from switchboard.common.cloudevents import Envelope
from switchboard.common.topics import TopicNames
from switchboard.router import metrics
from switchboard.router.adapters import routing_wire
from switchboard.router.adapters.language import LanguageDetector
from switchboard.router.adapters.ports import Publisher


@dataclass
class IntakeHandler:
    producer: Publisher
    topics: TopicNames
    detector: LanguageDetector

    async def __call__(self, batch: list[Envelope]) -> None:
        # Decode everything first: a bad record fails the batch before anything is forwarded, and the
        # runner replays it record by record, sending only that one to the DLQ.
        wrapped = [routing_wire.wrap(env, self.detector) for env in batch]
        for env, (brand, request) in zip(batch, wrapped, strict=True):
            await self.producer.publish(self.topics.routing, request, key=brand, cause=env, event_id=env.id,
                                        time=env.time, subject=env.subject, brand_id=brand)
        await self.producer.drain()
        metrics.FORWARDED.inc(len(batch))
