"""Helpers of the SLA handler tier: the SLA handlers as bootstrap builds them, with in-memory ports
(sla_fakes.py and the shared recording publisher) and a ManualClock: no broker, no store, no sleeps."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from google.protobuf.timestamp_pb2 import Timestamp
from switchboard.common.clock import ManualClock
from switchboard.common.cloudevents import Envelope, event_type
from switchboard.common.testing.fakes import RecordingPublisher
from switchboard.events.v1 import common_pb2, conversation_pb2
from switchboard.sla.bootstrap import SlaApp, bootstrap
from switchboard.sla.domain.effects import from_epoch_ms
from switchboard.sla.settings import SlaSettings

ROOT = Path(__file__).resolve().parents[3]
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
PARTITION = 0


import sla_fakes as fakes  # noqa: E402 - one fakes module per tier, named apart (one test run holds them all)


def ts(dt: datetime) -> Timestamp:
    t = Timestamp()
    t.FromDatetime(dt)
    return t


def conversation_event(cid: str, kind: str, at: datetime | None, *, status=common_pb2.CONVERSATION_STATUS_QUEUED,
                       channel=common_pb2.CHANNEL_EMAIL, **body) -> conversation_pb2.ConversationEvent:
    snapshot = common_pb2.ConversationSnapshot(
        conversation_id=cid, channel=channel, status=status, priority=common_pb2.PRIORITY_NORMAL, queue="billing",
        language="en", assignee_id="agent-7",
        reply_handle=common_pb2.ContactHandle(kind=common_pb2.HANDLE_KIND_EMAIL, value="c@example.com"))
    event = conversation_pb2.ConversationEvent(brand_id="acme", conversation=snapshot)
    if at is not None:
        event.occurred_at.CopyFrom(ts(at))
    if kind:
        message = getattr(conversation_pb2, "".join(p.title() for p in kind.split("_")))
        getattr(event, kind).CopyFrom(message(**body))
    return event


@dataclass
class Sla:
    app: SlaApp
    clock: ManualClock
    publisher: RecordingPublisher
    states: object
    journal: list
    offsets: dict = field(default_factory=dict)

    @property
    def engine(self):
        return self.app.engine

    def envelope(self, payload, *, partition: int = PARTITION, offset: int | None = None,
                 event_id: str = "") -> Envelope:
        if offset is None:
            offset = self.offsets[partition] = self.offsets.get(partition, -1) + 1
        return Envelope(payload=payload, id=event_id or f"in-{partition}-{offset}", type=event_type(payload),
                        source="/test", time=T0, brand_id="acme", topic=self.app.topics.conversations,
                        partition=partition, offset=offset)

    async def send(self, cid: str, kind: str, at: datetime, **kw) -> Envelope:
        env = self.envelope(conversation_event(cid, kind, at, **kw))
        await self.engine.handle([env])
        return env

    async def run_until(self, when: datetime) -> None:
        """Fires every timer due up to `when`, in due order, at its due time (as the scheduler would,
        without sleeping)."""
        while (due := self.engine.heap.next_due()) is not None and from_epoch_ms(due) <= when:
            await self.clock.set(max(self.clock.now(), from_epoch_ms(due)))
            await self.engine.fire_due(1000)
        await self.clock.set(max(self.clock.now(), when))

    def sla_events(self, cid: str | None = None, case: str | None = None) -> list:
        return [p.payload for p in self.publisher.on(self.app.topics.sla)
                if (cid is None or p.key == cid) and (case is None or p.payload.WhichOneof("event") == case)]

    def escalations(self) -> list:
        return [p.payload for p in self.publisher.on(self.app.topics.escalations)]


async def start_sla() -> Sla:
    journal: list = []
    publisher = RecordingPublisher(journal)
    states = fakes.FakeStateStore(journal)
    clock = ManualClock(T0)
    settings = SlaSettings(config_dir=ROOT / "config" / "demo")
    app = bootstrap(settings, clock=clock, states=states, publisher=publisher, http=False)
    await app.engine.assign({PARTITION})  # this worker owns partition 0 (what the consumer's assignment does)
    return Sla(app, clock, publisher, states, journal)
