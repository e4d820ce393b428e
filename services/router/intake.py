"""The router's intake stage: inbound, orders and agent-commands in (as many replicas as those topics
have partitions), the contacts topic out, keyed by the customer each input resolves to (read from the
store: adapters/contact_keys.py), so one contact-stage replica at a time decides a customer's contacts.
It writes nothing to MongoDB: a redelivered record is forwarded again under its own event id, and the
contact stage recognises it (docs/router.md "Three stages")."""

from __future__ import annotations

from dataclasses import dataclass

from switchboard.common.cloudevents import Envelope
from switchboard.common.topics import TopicNames
from switchboard.router import metrics
from switchboard.router.adapters import routing_wire
from switchboard.router.adapters.language import LanguageDetector
from switchboard.router.adapters.ports import Keys, Publisher


@dataclass
class IntakeHandler:
    producer: Publisher
    topics: TopicNames
    detector: LanguageDetector
    keys: Keys

    async def __call__(self, batch: list[Envelope]) -> None:
        # Decode everything first: a bad record fails the batch before anything is forwarded, and the
        # runner replays it record by record, sending only that one to the DLQ.
        wrapped = [routing_wire.wrap_input(env, self.detector) for env in batch]
        keys = await self.keys.keys([inp for inp, _ in wrapped])
        for env, (inp, request), key in zip(batch, wrapped, keys, strict=True):
            await self.producer.publish(self.topics.contacts, request, key=key, cause=env, event_id=env.id,
                                        time=env.time, subject=env.subject, brand_id=inp.brand_id)
        await self.producer.drain()
        metrics.FORWARDED.inc(len(batch))
