"""Helpers for the SLA integration tests: building conversation events, reading SLA output."""
from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta

from google.protobuf.timestamp_pb2 import Timestamp
from switchboard.common.testing import read_topic, wait_for
from switchboard.events.v1 import common_pb2, conversation_pb2
from switchboard.sla.bootstrap import bootstrap

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def ts(dt: datetime) -> Timestamp:
    t = Timestamp()
    t.FromDatetime(dt)
    return t


def conversation_event(cid: str, kind: str, at: datetime, *, status=common_pb2.CONVERSATION_STATUS_QUEUED,
                       channel=common_pb2.CHANNEL_EMAIL, priority=common_pb2.PRIORITY_NORMAL, assignee="agent-7",
                       queue="billing", **body) -> conversation_pb2.ConversationEvent:
    snapshot = common_pb2.ConversationSnapshot(
        conversation_id=cid, customer_id="cust-1", channel=channel, status=status, priority=priority, queue=queue,
        language="en", assignee_id=assignee, region="eu", opened_at=ts(T0),
        reply_handle=common_pb2.ContactHandle(kind=common_pb2.HANDLE_KIND_EMAIL, value="c@example.com"))
    event = conversation_pb2.ConversationEvent(brand_id="acme", conversation=snapshot, occurred_at=ts(at))
    getattr(event, kind).CopyFrom(getattr(conversation_pb2, "".join(p.title() for p in kind.split("_")))(**body))
    return event


class Bus:
    def __init__(self, producer, topics, bootstrap_servers: str) -> None:
        self.producer, self.topics, self.bootstrap = producer, topics, bootstrap_servers
        self.n = 0

    async def send(self, event: conversation_pb2.ConversationEvent) -> None:
        self.n += 1
        cid = event.conversation.conversation_id
        await self.producer.publish(self.topics.conversations, event, key=cid, event_id=f"{cid}-in-{self.n}",
                                    time=event.occurred_at.ToDatetime(tzinfo=UTC))
        await self.producer.drain()

    async def read(self, logical: str, min_count: int = 0, timeout: float = 15.0):
        return await read_topic(self.bootstrap, self.topics.of(logical), min_count, timeout)

    async def sla_events(self, cid: str | None = None, case: str | None = None, min_count: int = 0):
        async def matching():
            found = [e for e in await self.read("sla", 0, 2) if (cid is None or e.subject == cid)
                     and (case is None or e.case == case)]
            return found if len(found) >= max(min_count, 1) else None
        if min_count:
            return await wait_for(matching, timeout=20, message=f"{min_count} {case} events for {cid}")
        return [e for e in await self.read("sla", 0, 2) if (cid is None or e.subject == cid)
                and (case is None or e.case == case)]

    async def escalations(self, min_count: int = 0):
        if min_count:
            return await wait_for(lambda: self._at_least("escalations", min_count), timeout=20,
                                  message=f"{min_count} escalations")
        return await self.read("escalations", 0, 2)

    async def _at_least(self, logical: str, count: int):
        got = await self.read(logical, 0, 2)
        return got if len(got) >= count else None


async def advance_to(clock, when: datetime) -> None:
    await clock.set(when)


def seconds(n: float) -> timedelta:
    return timedelta(seconds=n)


@contextlib.asynccontextmanager
async def running_sla(settings, clock, *, http: bool = False):
    """The SLA service in this process, its partitions assigned; stopped (best effort) on the way out."""
    app = bootstrap(settings, clock=clock, http=http)
    started = []
    try:
        for component in app.service.components:
            await component.start()
            started.append(component)
        await wait_for(lambda: app.consumer.assigned, timeout=20, message="partitions assigned")
        yield app
    finally:
        for component in reversed(started):
            with contextlib.suppress(Exception):
                await component.stop()
