"""The router's three stages (docs/router.md "Three stages") in the handler tier: intake -> contact stage ->
routing stage, bootstrapped as production runs them in stage "all", on in-memory ports and a ManualClock.

bootstrap is given a routing store (role ROUTING, so its routing handler replays deltas: `split=True`) and
builds the contact store itself from that store's db, as it does from MongoDB's (`RouterStore(db,
role=CONTACT)`); only the class it builds is the in-memory one here (its transaction applied in memory, as
router_fakes.FakeRouterStore does, the UPSERT_SET write both stages use for their half of a conversation
included). Both stores share one MemoryDb and one journal with the publisher, so a test can assert the
order of steps (load -> publish -> drain -> save) of each stage: ("load", stage), ("publish", topic,
event id), ("drain",), ("save", scope), ("forget",).

`ThreeStages.read(...)` turns what a stage published into the records the next stage consumes, as the broker
delivers them: the value serialized and parsed again, the envelope the real EventProducer builds for it, the
record's key, and the partition the producer's partitioner gives that key (ownership.partition_of).
"""
from __future__ import annotations

import importlib
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from unittest import mock

import router_fakes as fakes
from aiokafka import TopicPartition
from router_handler_kit import CONFIG, ROOT, T0, consumed_record
from switchboard.common.clock import ManualClock
from switchboard.common.cloudevents import Envelope
from switchboard.common.dedupe import DedupeStore
from switchboard.common.producer import EventProducer
from switchboard.common.topics import registry
from switchboard.events.v1 import notification_pb2
from switchboard.router.adapters.store import RouterStore
from switchboard.router.adapters.store_writes import (
    CONTACT,
    ROUTING,
)
from switchboard.router.bootstrap import Router
from switchboard.router.ownership import contact_scope, partition_of
from switchboard.router.settings import RouterSettings

_bootstrap = importlib.import_module("switchboard.router.bootstrap")  # the module (its `RouterStore` name)
_seq = itertools.count(1_000_000)  # offsets and ids apart from router_handler_kit's


class MemoryRouterStore(fakes.FakeRouterStore):
    """FakeRouterStore over a given MemoryDb, in a given role (ROUTING or CONTACT), journaling its loads
    under the stage's name."""

    def __init__(self, db: fakes.MemoryDb, journal: list, *, role: str, stage: str) -> None:
        RouterStore.__init__(self, db, transactions=True, role=role)
        self.journal = journal
        self.fail_next_save: BaseException | None = None
        self.stage = stage

    async def load(self, *args, **kwargs):
        self.journal.append(("load", self.stage))
        return await RouterStore.load(self, *args, **kwargs)  # (FakeRouterStore's journals brands instead)

    async def load_routing(self, *args, **kwargs):
        self.journal.append(("load", self.stage))
        return await super().load_routing(*args, **kwargs)

    async def load_contact_due(self, *args, **kwargs):
        self.journal.append(("load", self.stage))
        return await super().load_contact_due(*args, **kwargs)


@dataclass
class ThreeStages:
    app: Router
    routing_store: MemoryRouterStore
    contact_store: MemoryRouterStore
    publisher: fakes.Publisher
    clock: ManualClock
    journal: list
    producer: EventProducer  # never started: builds envelopes the way the real one does

    @property
    def topics(self):
        return self.app.topics

    @property
    def intake(self):
        return self.app.intake_handler

    @property
    def contact(self):
        return self.app.contact_handler

    @property
    def routing(self):
        return self.app.handler

    # ------------------------------------------------------------------ records
    def consumed(self, payload, *, event_id: str = "", at: datetime = T0) -> Envelope:
        """A record as the intake stage reads it from inbound, orders or agent-commands."""
        return consumed_record(self.topics, payload, event_id, at, next(_seq), "ev3")

    def read(self, topic: str, since: int = 0) -> list[Envelope]:
        """What was published on `topic` (from position `since` of the publisher's record), as the next
        stage consumes it."""
        partitions = dict(self.topics.all_topics())[topic].partitions
        out = []
        for p in self.publisher.published[since:]:
            if p.topic != topic:
                continue
            value = type(p.payload).FromString(p.payload.SerializeToString())  # what the broker hands over
            env = self.producer.envelope(value, cause=p.cause, event_id=p.event_id, time=p.time, subject=p.subject)
            key = p.key.encode() if isinstance(p.key, str) else p.key
            out.append(replace(env, key=key, topic=topic, partition=partition_of(key.decode(), partitions),
                               offset=next(_seq)))
        return out

    def mark(self) -> int:
        """The publisher's position now (for `read`/`emitted` since then)."""
        return len(self.publisher.published)

    # ------------------------------------------------------------------ the stages, one hop each
    async def to_contacts(self, *payloads, at: datetime = T0, event_ids: Sequence[str] = ()) -> list[Envelope]:
        """Inputs through the intake (as one batch; `event_ids`: theirs, else new ones): the contacts topic's
        records, not consumed yet."""
        since = self.mark()
        ids = list(event_ids) or [""] * len(payloads)
        await self.intake([self.consumed(p, event_id=i, at=at) for p, i in zip(payloads, ids, strict=True)])
        return self.read(self.topics.contacts, since)

    async def contacted(self, records: list[Envelope]) -> list[Envelope]:
        """The contact handler on `records` (one batch): the routing topic's records it published (its
        re-keyed records, on the contacts topic, are left for `rekeyed`)."""
        since = self.mark()
        await self.contact(records)
        return self.read(self.topics.routing, since)

    def rekeyed(self, since: int) -> list[Envelope]:
        """Records the contact stage published on the contacts topic again since `since` (re-keyed)."""
        return self.read(self.topics.contacts, since)

    async def through(self, *payloads, at: datetime = T0, event_ids: Sequence[str] = ()) -> list[Envelope]:
        """Inputs through all three stages, as the broker would deliver them: the intake's batch, the contact
        stage's batch (and the batches of what it re-keyed, until none is left), then the routing stage's
        batch of every delta. Returns the routing topic's records (the deltas)."""
        records = await self.to_contacts(*payloads, at=at, event_ids=event_ids)
        deltas: list[Envelope] = []
        for _ in range(3):  # a record is re-keyed once at most (RoutingRequest.rekeyed)
            if not records:
                break
            since = self.mark()
            deltas += await self.contacted(records)
            records = self.rekeyed(since)
        assert not records, "re-keyed again and again"
        await self.routing(deltas)
        return deltas

    def left_on_routing(self, records: list[Envelope]) -> list[Envelope]:
        """The same inputs as a two-stage intake left them on the routing topic (docs/router.md: applied in
        line by the routing stage, so an upgrade needs no drain): the same RoutingRequest, keyed by brand."""
        partitions = registry()["routing"].partitions
        return [replace(r, key=r.payload.brand_id.encode(), topic=self.topics.routing,
                        partition=partition_of(r.payload.brand_id, partitions), offset=next(_seq)) for r in records]

    # ------------------------------------------------------------------ what a test reads
    def docs(self, collection: str) -> dict[str, dict]:
        return self.routing_store.docs(collection)

    def on(self, topic: str, since: int = 0) -> list[fakes.Published]:
        return [p for p in self.publisher.published[since:] if p.topic == topic]

    def emitted(self, since: int = 0) -> list[fakes.Published]:
        """Conversation events and notifications, in order."""
        return [p for p in self.publisher.published[since:]
                if p.topic in (self.topics.conversations, self.topics.notifications)]

    def cases(self, since: int = 0) -> list[str]:
        return [p.payload.WhichOneof("event") if p.topic == self.topics.conversations
                else notification_pb2.NotificationKind.Name(p.payload.kind) for p in self.emitted(since)]

    def steps(self) -> list[str]:
        """The journal as step names, repeats folded (publish x3 -> publish)."""
        names = [entry[0] for entry in self.journal]
        return [n for i, n in enumerate(names) if i == 0 or names[i - 1] != n]

    def contact_scope_of(self, key: str) -> str:
        return contact_scope(partition_of(key, registry()["contacts"].partitions))


async def start_three_stages() -> ThreeStages:
    journal: list = []
    publisher, clock = fakes.Publisher(journal), ManualClock(T0)
    db = fakes.MemoryDb()
    routing_store = MemoryRouterStore(db, journal, role=ROUTING, stage="routing")
    settings = RouterSettings(config_dir=ROOT / "config" / "demo", detect_language=False,
                              kafka={"topic_prefix": "t3.", "create_topics": False})
    assert settings.router_stage == "all"
    dedupe = DedupeStore(db, f"{settings.group_id}.routing", clock=clock)
    built: list[MemoryRouterStore] = []

    def contact_store(given_db, *, transactions, role):
        """What bootstrap builds for the contact stage, from the routing store's db."""
        assert given_db is db and role == CONTACT, (given_db, role)
        built.append(MemoryRouterStore(given_db, journal, role=role, stage="contact"))
        return built[-1]

    with mock.patch.object(_bootstrap, "RouterStore", contact_store):
        app = _bootstrap.bootstrap(settings, clock=clock, config=CONFIG, with_http=False, store=routing_store,
                                   producer=publisher, dedupe=dedupe)
    assert app.contact_store is built[0] and app.contact_handler.store is built[0]
    assert app.handler.split, "a routing store of role ROUTING: the routing stage replays deltas"
    (prepare,) = [c for c in app.service.components if getattr(c, "name", "") == "prepare"]
    await prepare.start()  # the start-up step: agents seeded from routing.yaml
    # The rebalance that gives this one replica every partition of both keyed topics (the runners' callbacks).
    await app.contact_ownership.on_assigned(
        {TopicPartition(app.topics.contacts, p) for p in range(registry()["contacts"].partitions)})
    await app.ownership.on_assigned(
        {TopicPartition(app.topics.routing, p) for p in range(registry()["routing"].partitions)})
    producer = EventProducer(settings.kafka, source="/switchboard/router", clock=clock)
    journal.clear()
    return ThreeStages(app, routing_store, built[0], publisher, clock, journal, producer)
