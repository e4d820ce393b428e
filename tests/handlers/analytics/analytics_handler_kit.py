"""Helpers of the analytics handler tier: replicas' handlers as bootstrap builds them, on shared
in-memory ports (fakes.py) and a ManualClock, fed consumed records directly (topic, partition and
offset set as the ConsumerRunner sets them). No broker, no store, no sleeps."""
from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path

from aiokafka import TopicPartition
from prometheus_client import CollectorRegistry
from switchboard.analytics.bootstrap import AnalyticsApp, bootstrap
from switchboard.analytics.settings import AnalyticsSettings
from switchboard.common.clock import ManualClock
from switchboard.common.cloudevents import Envelope, event_type
from switchboard.common.consumer import BatchAbandoned
from switchboard.common.testing import sample_sum

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "unit" / "analytics"))
from analytics_events import T0  # noqa: E402

PREFIX = "handlers."

import analytics_fakes as fakes  # noqa: E402, F401 - one fakes module per tier, named apart; conftest imports it from here


class Replica:
    """One analytics replica: its bootstrap-built handler, slot owner and metrics on the shared ports."""

    def __init__(self, store, ledger, **settings) -> None:
        settings = AnalyticsSettings(kafka={"topic_prefix": PREFIX}, **settings)
        self.registry = CollectorRegistry()
        self.app: AnalyticsApp = bootstrap(settings, clock=ManualClock(T0 + timedelta(hours=1)), store=store,
                                           ledger=ledger, http=False, registry=self.registry)
        self.assignment: set[TopicPartition] = set()
        self.starts: dict[TopicPartition, int] = {}  # where the assignment hook asked to read from
        self.app.owner.current = lambda: self.assignment  # the consumer's assignment, as the runner keeps it
        self.app.handler.fenced_backoff_seconds = 0  # no real sleeps in this tier

    async def deliver(self, batch: list[Envelope]) -> bool:
        """Hands a consumed batch to the handler as the ConsumerRunner does. True: the runner commits its
        offsets (the handler returned), so no owner reads it again. False: given back (BatchAbandoned),
        so the slot's owner reads it again from the committed offsets."""
        try:
            await self.handler.handle(batch)
        except BatchAbandoned:
            return False
        return True

    @property
    def handler(self):
        return self.app.handler

    def topic(self, logical: str) -> str:
        return self.app.topics.of(logical)

    async def assign(self, *partitions: int, topics: tuple[str, ...] = ("conversations", "sla")) -> None:
        """The runner's assignment hook, as bootstrap wires it; keeps what it returns in `starts`."""
        self.assignment = {TopicPartition(self.topic(t), p) for t in topics for p in partitions}
        self.starts = await self.app.consumer.on_assigned(set(self.assignment)) or {}

    async def revoke(self, *partitions: int) -> None:
        """Revokes the given partitions (all when none are given) through the runner's revoke hook."""
        revoked = {tp for tp in self.assignment if not partitions or tp.partition in partitions}
        self.assignment -= revoked
        await self.app.consumer.on_revoked(revoked)

    async def checkpoint(self) -> int:
        return await self.app.checkpointer.checkpoint()

    def start(self, logical: str, partition: int) -> int | None:
        return self.starts.get(TopicPartition(self.topic(logical), partition))

    def value(self, name: str, **labels: str) -> float:
        return sample_sum(self.registry, name, **labels)


def record(replica: Replica, payload, offset: int, partition: int, *, topic: str = "conversations",
           event_id: str | None = None) -> Envelope:
    """A consumed record of `payload` as the ConsumerRunner hands it to the handler."""
    cid = payload.conversation.conversation_id if hasattr(payload, "conversation") else ""
    kind = payload.WhichOneof("event") if "event" in payload.DESCRIPTOR.oneofs_by_name else type(payload).__name__
    return Envelope(
        payload=payload,
        id=event_id or f"ev-{cid}-{kind}-{offset}",
        type=event_type(payload),
        source="/tests",
        time=T0,
        brand_id=payload.brand_id,
        key=cid.encode(),
        topic=replica.topic(topic),
        partition=partition,
        offset=offset,
    )
