"""The routing stage's batch handler: unwrap -> per brand: load state ($in) -> domain engine -> publish
-> bulk write. Each brand is applied and saved on its own, under the epoch this replica claimed for
it (ownership.py), so a revoked owner's late write is refused and never half-mixed with another's."""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

import structlog
from switchboard.common.clock import Clock, SystemClock
from switchboard.common.cloudevents import Envelope, derived_id
from switchboard.common.consumer import PermanentError
from switchboard.common.logging import get_logger
from switchboard.common.topics import TopicNames
from switchboard.router import metrics
from switchboard.router.adapters import codec, delta_wire, routing_wire
from switchboard.router.adapters.ports import Dedupe, DeltaState, Ownership, Publisher
from switchboard.router.domain import delta as deltas
from switchboard.router.domain import reassignment, timers
from switchboard.router.domain.engine import CONVERSATIONS, Engine, Rejected, Workspace, application_order
from switchboard.router.domain.inputs import MessageIn, TickIn
from switchboard.router.ownership import as_owner, each_owned, side_by_side

log = get_logger(__name__)
T = TypeVar("T")


@dataclass
class RouterHandler:
    engine: Engine
    store: DeltaState
    producer: Publisher
    topics: TopicNames
    clock: Clock = field(default_factory=SystemClock)
    dedupe: Dedupe | None = None
    ownership: Ownership | None = None  # None: unscoped (a single writer, as in benches of the engine)
    group: str = ""  # the routing stage's consumer group (named on what it dead-letters)
    # True: a contact stage decides the contact side (its deltas arrive here); this stage's tick and timers
    # are the routing side's only (silence, reassignment), the contact stage fires chat transcripts.
    split: bool = False
    # Consumed batches and ticks change the same state: one at a time (the scope owner is its single writer).
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def __call__(self, batch: list[Envelope]) -> None:
        unwrapped = [routing_wire.unwrap(env) for env in batch]
        by_brand: dict[str, list[tuple[Envelope, object]]] = defaultdict(list)
        for env, detector in unwrapped:
            by_brand[env.brand_id].append((env, detector))
        try:
            async with self.lock:  # brands are separate scopes, decided and saved side by side
                await side_by_side(as_owner(self.ownership, self.store, brand, lambda items=items: self._runs(items))
                                   for brand, items in sorted(by_brand.items()))
        except PermanentError as exc:
            if len(batch) != 1:
                raise  # the runner replays the batch record by record
            # The input goes to the DLQ of the topic it came from, as if the intake had rejected it.
            await routing_wire.dead_letter(self.producer, unwrapped[0][0], self.group, str(exc))
            await self.producer.drain()

    async def tick(self, brands: set[str]) -> int:
        """The router's timers (domain/timers.py) at router-clock time, through the same path as a batch:
        load what is due, apply one TickIn per owned brand, publish, save. Returns the number of effects."""
        async with self.lock:
            now = self.clock.now()

            async def fire(brand: str) -> int:
                tick = TickIn(event_id=derived_id("tick", brand, now.isoformat()), brand_id=brand, at=now)
                ws = await self.store.load([tick])
                if self.split:  # the contact stage fires the transcripts
                    reassignment.tick(self.engine, ws, tick)
                else:
                    self.engine.apply(ws, tick)
                await self._commit(ws, {}, now, processed=None, scope=brand if self.ownership is not None else None)
                return len(ws.effects)

            return await each_owned(self.ownership, self.store, brands, fire)

    async def _runs(self, items: list[tuple[Envelope, object]]) -> None:
        """A brand's records in order: runs of deltas (from the contact stage) and of inputs (applied in
        line: records written to the routing topic before the contact stage existed)."""
        start = 0
        for end in range(1, len(items) + 1):
            if end == len(items) or routing_wire.is_delta(items[end][0]) != routing_wire.is_delta(items[start][0]):
                run = items[start:end]
                await (self._replay(run) if routing_wire.is_delta(run[0][0]) else self._route(run))
                start = end

    async def _replay(self, items: list[tuple[Envelope, object]]) -> None:
        """Replays the contact stage's deltas (domain/delta.py) on the routing state, then publishes every
        effect with its routing fields and writes the routing half of each conversation."""
        started = time.perf_counter()
        batch = list({env.id: env for env, _ in items}.values())  # a delta sent twice (contact stage redelivery)
        try:
            decoded = [delta_wire.decode(env.payload) for env in batch]
        except ValueError as exc:
            raise PermanentError(f"routing delta: {exc}") from None
        ws = await self.store.load_routing({d.brand_id for d in decoded},
                                           set().union(*(d.conversation_ids() for d in decoded)))
        for env, delta in zip(batch, decoded, strict=True):
            if deltas.applied(ws, delta):
                continue
            with structlog.contextvars.bound_contextvars(event_id=env.id, correlation_id=env.correlation_id or env.id):
                try:
                    carried = deltas.replay(self.engine, ws, delta)
                except Rejected as exc:
                    raise PermanentError(str(exc)) from None
            # Their status is derived from the phase the delta carried, and they list it now (deltas.applied):
            # written even where the step changed nothing else (a waiting conversation whose priority rose).
            ws.dirty_conversations.update(c for c in carried if c in ws.conversations)
        # No dedupe record: a delta is recognised by the conversations its routing steps name (deltas.applied),
        # and one naming none changes nothing when it comes again.
        await self._commit(ws, {env.id: env for env in batch}, min(env.time for env in batch), None,
                           scope=batch[0].brand_id if self.ownership is not None else None)
        metrics.BATCH_SECONDS.observe(time.perf_counter() - started)
        log.debug("deltas_replayed", records=len(batch), effects=len(ws.effects),
                  total_s=round(time.perf_counter() - started, 4))

    async def _route(self, items: list[tuple[Envelope, object]]) -> None:
        started = time.perf_counter()
        batch = [env for env, _ in items]
        by_id = {env.id: env for env in batch}
        inputs = [codec.decode(env, detector) for env, detector in items]
        loaded = time.perf_counter()
        message_ids = [self.engine.message_id_for(i) for i in inputs if isinstance(i, MessageIn)]
        ws = await self.store.load(inputs, message_ids)
        loaded = time.perf_counter() - loaded
        deciding = time.perf_counter()
        for position in application_order(inputs):
            env, inp = batch[position], inputs[position]
            with structlog.contextvars.bound_contextvars(event_id=env.id, correlation_id=env.correlation_id or env.id):
                try:
                    self.engine.apply(ws, inp)
                except Rejected as exc:
                    # Nothing is written for this batch; the runner replays it record by record and
                    # sends just this one to the DLQ.
                    raise PermanentError(str(exc)) from None
        decided = time.perf_counter() - deciding
        # The runner's dedupe records go into the same write as the state: if the process dies after
        # it and before the offset commit, the redelivered batch is skipped instead of being applied a
        # second time on top of its own result (which would look like new customer turns). Messages
        # need none: their stored message document already marks them applied (see Engine).
        processed = self.dedupe.records(
            [env.id for env, inp in zip(batch, inputs, strict=True) if not isinstance(inp, MessageIn)],
            self.clock.now()) if self.dedupe else None
        applied = time.perf_counter()
        await self._commit(ws, by_id, min(env.time for env in batch), processed,
                           scope=batch[0].brand_id if self.ownership is not None else None, whole=True)
        committed = time.perf_counter() - applied
        metrics.BATCH_SECONDS.observe(time.perf_counter() - started)
        log.debug(
            "batch_routed",
            records=len(batch),
            oldest_age_s=round(max(0.0, (self.clock.now() - min(env.time for env in batch)).total_seconds()), 4),
            effects=len(ws.effects),
            load_s=round(loaded, 4),
            decide_s=round(decided, 4),
            commit_s=round(committed, 4),  # publish, then save
            total_s=round(time.perf_counter() - started, 4),
        )

    async def _commit(self, ws: Workspace, by_id: dict[str, Envelope], oldest: datetime,
                      processed: list[dict] | None, scope: str | None, whole: bool = False) -> None:
        """`whole`: the inputs were applied in line (both sides decided here): whole conversation images."""
        timers.refresh_due(ws, self.engine, transcripts=not self.split)  # split: the contact stage sends them
        # Publish and wait for the acks BEFORE writing state: if Kafka refuses, nothing is written and
        # the redelivered batch is decided again from the same state (same ids). If the write fails
        # after publishing, the redelivery re-emits the same ids, which consumers drop as duplicates.
        for effect in ws.effects:
            cause = by_id.get(effect.cause_id)  # None for a timer's effects (ids of what fired)
            if effect.topic == CONVERSATIONS:
                await self.producer.publish(
                    self.topics.conversations,
                    codec.conversation_event(effect),
                    key=effect.key,
                    cause=cause,
                    event_id=effect.event_id,
                    time=effect.occurred_at,
                    subject=effect.key,
                )
                metrics.EVENTS.labels(effect.case).inc()
            else:
                await self.producer.publish(
                    self.topics.notifications,
                    codec.notification(effect, effect.occurred_at),
                    key=effect.key,
                    cause=cause,
                    event_id=effect.event_id,
                    time=effect.occurred_at,
                    subject=effect.key,
                )
                metrics.NOTIFICATIONS.labels(effect.case).inc()
        await self.producer.drain()
        await self.store.save(ws, processed, scope, whole=whole)
        self.store.remember(ws)
        for effect in ws.effects:
            if effect.case == "conversation_assigned":
                metrics.ASSIGNMENTS.labels(effect.data["rule"]).inc()
                cause = by_id.get(effect.cause_id)
                since = cause.time if cause is not None else oldest
                metrics.ASSIGNMENT_LATENCY.observe(max(0.0, (self.clock.now() - since).total_seconds()))
            elif effect.case == "conversation_handed_off":
                metrics.HANDOFFS.labels(effect.data["reason"]).inc()
        for brand, queue in ws.queue.items():
            counts = dict.fromkeys((q.name for q in self.engine.config.brand_routing(brand).queues), 0)
            for entry in queue.values():
                counts[entry.queue] = counts.get(entry.queue, 0) + 1
            for name, n in counts.items():
                metrics.QUEUE_DEPTH.labels(brand, name).set(n)
