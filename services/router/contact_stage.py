"""The router's contact stage: the contacts topic in, keyed by customer (as many owners as it has
partitions); each input's contact side decided (identity, threading, messages, the bot: Engine.record) and
written; what it asks of the routing side sent on, in order, as a delta (domain/delta.py) on the routing
topic keyed by brand. It publishes nothing else: the routing stage replays the delta, fills in its routing
fields and publishes every conversation event and notification (docs/router.md "Three stages").

A partition's customers are one scope, claimed with an epoch (ownership.py) that fences a revoked owner's
commit point. Deltas are published before the state is written, as the routing stage publishes before it
writes: a redelivered input is decided again from the same state, so its delta has the same id and steps,
and the routing stage drops the copy (its dedupe record of the input id).
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

import structlog
from switchboard.common.clock import Clock, SystemClock
from switchboard.common.cloudevents import Envelope, derived_id
from switchboard.common.consumer import BatchAbandoned, PermanentError
from switchboard.common.logging import get_logger
from switchboard.common.topics import TopicNames
from switchboard.router import metrics
from switchboard.router.adapters import codec, routing_wire
from switchboard.router.adapters.journal import Fenced
from switchboard.router.adapters.ports import ContactState, Dedupe, Ownership, Publisher
from switchboard.router.domain import delta as deltas
from switchboard.router.domain.engine import Engine, Rejected, application_order
from switchboard.router.domain.inputs import MessageIn, TickIn
from switchboard.router.ownership import contact_partition, contact_scope, partition_of

log = get_logger(__name__)
T = TypeVar("T")


@dataclass
class ContactHandler:
    engine: Engine  # deferred_routing=True: records each input's contact side
    store: ContactState
    producer: Publisher
    topics: TopicNames
    partitions: int  # of the contacts topic: a customer's partition is its scope
    clock: Clock = field(default_factory=SystemClock)
    dedupe: Dedupe | None = None
    ownership: Ownership | None = None
    group: str = ""
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def __call__(self, batch: list[Envelope]) -> None:
        by_scope: dict[str, list[tuple[Envelope, object]]] = defaultdict(list)
        unwrapped = []
        for env in batch:
            inner, detector = routing_wire.unwrap(env)
            unwrapped.append(inner)
            by_scope[contact_scope(env.partition or 0)].append((inner, detector))
        try:
            async with self.lock:
                outcomes = await asyncio.gather(
                    *(self._scoped(scope, lambda scope=scope, items=items: self._decide(scope, items))
                      for scope, items in sorted(by_scope.items())),
                    return_exceptions=True)
                failure = next((o for o in outcomes if isinstance(o, BaseException)), None)
                if failure is not None:
                    raise failure
        except PermanentError as exc:
            if len(batch) != 1:
                raise  # the runner replays the batch record by record
            await routing_wire.dead_letter(self.producer, unwrapped[0], self.group, str(exc))
            await self.producer.drain()

    async def tick(self, scopes: set[str]) -> int:
        """Chat transcripts due for the owned customers, sent on as deltas like any input's. Returns the
        number of steps sent."""
        sent = 0
        async with self.lock:
            now = self.clock.now()
            for scope in sorted(scopes):
                if self.ownership is not None and scope not in self.ownership.owned():
                    continue

                async def fire(scope: str = scope) -> int:
                    mine = contact_partition(scope)
                    ws = await self.store.load_contact_due(
                        now, lambda customer: partition_of(customer, self.partitions) == mine)
                    out = []
                    for brand in sorted({c.brand_id for c in ws.conversations.values()}):
                        tick = TickIn(event_id=derived_id("tick", scope, brand, now.isoformat()), brand_id=brand,
                                      at=now)
                        if steps := self.engine.record(ws, tick):
                            out.append((None, deltas.from_recording(tick.event_id, brand, steps)))
                    await self._send(out, now)
                    await self.store.save(ws, None, scope if self.ownership is not None else None)
                    return sum(len(d.steps) for _, d in out)

                try:
                    sent += await self._scoped(scope, fire)
                except BatchAbandoned:
                    continue
        return sent

    async def _scoped(self, scope: str, work: Callable[[], Awaitable[T]]) -> T:
        try:
            if self.ownership is not None:
                await self.ownership.ensure(scope)
            return await work()
        except Fenced:
            if self.ownership is not None:
                await self.ownership.lost(scope)
            raise BatchAbandoned() from None

    async def _decide(self, scope: str, items: list[tuple[Envelope, object]]) -> None:
        batch = [env for env, _ in items]
        inputs = [codec.decode(env, detector) for env, detector in items]
        message_ids = [self.engine.message_id_for(i) for i in inputs if isinstance(i, MessageIn)]
        ws = await self.store.load(inputs, message_ids)
        out: list[tuple[Envelope | None, deltas.Delta]] = []
        for position in application_order(inputs):
            env, inp = batch[position], inputs[position]
            with structlog.contextvars.bound_contextvars(event_id=env.id, correlation_id=env.correlation_id or env.id):
                try:
                    steps = self.engine.record(ws, inp)
                except Rejected as exc:
                    raise PermanentError(str(exc)) from None
            if steps:
                out.append((env, deltas.from_recording(env.id, inp.brand_id, steps)))
        # Messages need no dedupe record: their stored document marks them applied (as in the routing stage).
        processed = self.dedupe.records(
            [env.id for env, inp in zip(batch, inputs, strict=True) if not isinstance(inp, MessageIn)],
            self.clock.now()) if self.dedupe else None
        await self._send(out, min(env.time for env in batch))
        await self.store.save(ws, processed, scope if self.ownership is not None else None)
        log.debug("batch_contacted", records=len(batch), deltas=len(out))

    async def _send(self, out: list[tuple[Envelope | None, deltas.Delta]], at: datetime) -> None:
        """Every delta on the routing topic, keyed by brand, under its input's id; acknowledged before the
        state is written."""
        for cause, delta in out:
            request = routing_wire.delta_request(delta)
            await self.producer.publish(self.topics.routing, request, key=delta.brand_id, cause=cause,
                                        event_id=delta.input_id, time=cause.time if cause else at,
                                        subject=cause.subject if cause else None, brand_id=delta.brand_id)
        await self.producer.drain()
        metrics.DELTAS.inc(len(out))
