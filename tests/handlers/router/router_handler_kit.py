"""Helpers of the router handler tier: both stages' handlers as bootstrap builds them, on the in-memory
ports of router_fakes.py and a ManualClock: no broker, no store, no sleeps.

Records go the way the intake sends them: an input (protobuf, as ingest or the console publish it) is
consumed by the intake handler, whose forwarded RoutingRequest (on the contacts topic, keyed by customer)
becomes the routing stage's record here (the envelope the real producer builds for it), applied in line
as the routing stage applies inputs written to its topic by the two-stage layout. The three-stage path
(the contact stage's deltas) runs on the real store and broker in tests/integration/router."""
from __future__ import annotations

import itertools
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from google.protobuf.timestamp_pb2 import Timestamp
from switchboard.common.clock import ManualClock
from switchboard.common.cloudevents import Envelope, event_type
from switchboard.common.dedupe import DedupeStore
from switchboard.common.producer import EventProducer
from switchboard.common.topics import registry
from switchboard.events.v1 import agent_pb2, common_pb2, inbound_pb2, notification_pb2, orders_pb2
from switchboard.router.adapters.config_files import load_router_config
from switchboard.router.bootstrap import Router, bootstrap
from switchboard.router.ownership import partition_of
from switchboard.router.settings import RouterSettings

ROOT = Path(__file__).resolve().parents[3]
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
CONFIG = load_router_config(ROOT / "config" / "demo")  # parsed once for the whole tier; the engine never changes it


import router_fakes as fakes  # noqa: E402 - one fakes module per tier, named apart (one test run holds them all)

_seq = itertools.count(1)


def ts(dt: datetime) -> Timestamp:
    t = Timestamp()
    t.FromDatetime(dt)
    return t


def email(text: str, sender: str, *, brand: str = "acme", at: datetime = T0) -> inbound_pb2.InboundEvent:
    m = inbound_pb2.MessageReceived(channel=common_pb2.CHANNEL_EMAIL, provider="test", text=text,
                                    provider_message_id=f"pm-{next(_seq)}",
                                    sender=common_pb2.ContactHandle(kind=common_pb2.HANDLE_KIND_EMAIL, value=sender))
    m.sent_at.CopyFrom(ts(at))
    return inbound_pb2.InboundEvent(brand_id=brand, message_received=m)


def presence(agent_id: str, value: int = agent_pb2.PRESENCE_ONLINE, *, brand: str = "acme") -> agent_pb2.AgentCommand:
    return agent_pb2.AgentCommand(brand_id=brand, agent_id=agent_id,
                                  set_agent_presence=agent_pb2.SetAgentPresence(presence=value))


def order(order_id: str, customer: str, *, brand: str = "acme", at: datetime = T0) -> orders_pb2.OrderEvent:
    event = orders_pb2.OrderEvent(
        brand_id=brand, order_id=order_id, kind=orders_pb2.ORDER_EVENT_KIND_CREATED,
        customer_handles=[common_pb2.ContactHandle(kind=common_pb2.HANDLE_KIND_EMAIL, value=customer)])
    event.occurred_at.CopyFrom(ts(at))
    return event


def consumed_record(topics, payload, event_id: str, at: datetime, n: int, prefix: str) -> Envelope:
    """Input `payload` as the intake stage reads it from inbound, orders or agent-commands, at offset `n`."""
    topic = {inbound_pb2.InboundEvent: topics.inbound, orders_pb2.OrderEvent: topics.orders,
             agent_pb2.AgentCommand: topics.agent_commands}[type(payload)]
    return Envelope(payload=payload, id=event_id or f"{prefix}-{n}", type=event_type(payload),
                    source="/switchboard/ingest", time=at, brand_id=payload.brand_id,
                    key=f"{payload.brand_id}/k{n}".encode(), topic=topic, partition=0, offset=n)


@dataclass
class RouterKit:
    app: Router
    store: fakes.FakeRouterStore
    publisher: fakes.Publisher
    clock: ManualClock
    journal: list
    producer: EventProducer  # never started: builds envelopes the way the real one does

    @property
    def handler(self):
        return self.app.handler

    @property
    def topics(self):
        return self.app.topics

    def consumed(self, payload, *, event_id: str = "", at: datetime = T0) -> Envelope:
        """A record as the intake stage reads it from inbound, orders or agent-commands."""
        return consumed_record(self.topics, payload, event_id, at, next(_seq), "ev")

    async def forward(self, *records: Envelope) -> list[Envelope]:
        """The intake handler on `records`; returns what it forwarded, as the routing stage reads it."""
        before = len(self.publisher.published)
        await self.app.intake_handler(list(records))
        partitions = registry()["routing"].partitions
        forwarded = []
        for p in self.publisher.published[before:]:
            env = self.producer.envelope(p.payload, cause=p.cause, event_id=p.event_id, time=p.time, subject=p.subject)
            forwarded.append(replace(env, key=p.key.encode(), topic=self.topics.routing,
                                     partition=partition_of(p.key, partitions), offset=next(_seq)))
        return forwarded

    async def routed(self, *payloads, at: datetime = T0) -> list[Envelope]:
        """The routing batch of these inputs (through the intake), not handled yet; the journal starts afresh."""
        batch = await self.forward(*(self.consumed(p, at=at) for p in payloads))
        self.journal.clear()
        return batch

    async def route(self, *payloads, at: datetime = T0) -> list[Envelope]:
        """Routes these inputs as one batch; returns the batch (to deliver it again)."""
        batch = await self.routed(*payloads, at=at)
        await self.handler(batch)
        return batch

    def emitted(self, since: int = 0) -> list[fakes.Published]:
        """What the routing stage published (conversation events and notifications), in order."""
        return [p for p in self.publisher.published[since:]
                if p.topic in (self.topics.conversations, self.topics.notifications)]

    def cases(self, since: int = 0) -> list[str]:
        """Conversation event cases and notification kinds, in order."""
        return [p.payload.WhichOneof("event") if p.topic == self.topics.conversations
                else notification_pb2.NotificationKind.Name(p.payload.kind) for p in self.emitted(since)]

    def steps(self) -> list[str]:
        """The journal as step names, repeats of one step folded (publish x3 -> publish)."""
        names = [entry[0] for entry in self.journal]
        return [n for i, n in enumerate(names) if i == 0 or names[i - 1] != n]


async def start_router() -> RouterKit:
    journal: list = []
    store, publisher, clock = fakes.FakeRouterStore(journal), fakes.Publisher(journal), ManualClock(T0)
    settings = RouterSettings(config_dir=ROOT / "config" / "demo", detect_language=False,
                              kafka={"topic_prefix": "t.", "create_topics": False})
    dedupe = DedupeStore(store.db, f"{settings.group_id}.routing", clock=clock)
    app = bootstrap(settings, clock=clock, config=CONFIG, with_http=False, store=store, producer=publisher,
                    dedupe=dedupe)
    (prepare,) = [c for c in app.service.components if getattr(c, "name", "") == "prepare"]
    await prepare.start()  # the start-up step: agents seeded from routing.yaml
    producer = EventProducer(settings.kafka, source="/switchboard/router", clock=clock)
    journal.clear()
    return RouterKit(app, store, publisher, clock, journal, producer)
