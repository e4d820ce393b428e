"""Batch handler: decode -> load state ($in) -> domain engine -> bulk write -> publish."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import structlog
from switchboard.common.bus import EventProducer, PermanentError
from switchboard.common.clock import Clock, SystemClock
from switchboard.common.cloudevents import Envelope
from switchboard.common.dedupe import DedupeStore
from switchboard.common.logging import get_logger
from switchboard.common.topics import TopicNames
from switchboard.router import metrics
from switchboard.router.adapters import codec
from switchboard.router.adapters.language import LanguageDetector
from switchboard.router.adapters.store import RouterStore
from switchboard.router.domain.engine import CONVERSATIONS, Engine, Rejected, application_order
from switchboard.router.domain.inputs import MessageIn

log = get_logger(__name__)


@dataclass
class RouterHandler:
    engine: Engine
    store: RouterStore
    producer: EventProducer
    topics: TopicNames
    detector: LanguageDetector
    clock: Clock = field(default_factory=SystemClock)
    dedupe: DedupeStore | None = None

    async def __call__(self, batch: list[Envelope]) -> None:
        try:
            await self._route(batch)
        except BaseException:
            self.store.forget()  # the resident state may be half-changed: the redelivery reads it afresh
            raise

    async def _route(self, batch: list[Envelope]) -> None:
        started = time.perf_counter()
        by_id = {env.id: env for env in batch}
        inputs = [codec.decode(env, self.detector) for env in batch]
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
        # Publish and wait for the acks BEFORE writing state: if Kafka refuses, nothing is written and
        # the redelivered batch is decided again from the same state (same ids). If the write fails
        # after publishing, the redelivery re-emits the same ids, which consumers drop as duplicates.
        for effect in ws.effects:
            cause = by_id[effect.cause_id]
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
        applied = time.perf_counter()
        published = applied - deciding - decided
        # The runner's dedupe records go into the same write as the state: if the process dies after
        # it and before the offset commit, the redelivered batch is skipped instead of being applied a
        # second time on top of its own result (which would look like new customer turns). Messages
        # need none: their stored message document already marks them applied (see Engine).
        processed = self.dedupe.records(
            [env.id for env, inp in zip(batch, inputs, strict=True) if not isinstance(inp, MessageIn)],
            self.clock.now()) if self.dedupe else None
        await self.store.save(ws, processed)
        self.store.remember(ws)
        saved = time.perf_counter() - applied
        for effect in ws.effects:
            if effect.case == "conversation_assigned":
                metrics.ASSIGNMENTS.labels(effect.data["rule"]).inc()
                cause = by_id[effect.cause_id]
                metrics.ASSIGNMENT_LATENCY.observe(max(0.0, (self.clock.now() - cause.time).total_seconds()))
            elif effect.case == "conversation_handed_off":
                metrics.HANDOFFS.labels(effect.data["reason"]).inc()
        for brand, queue in ws.queue.items():
            counts = dict.fromkeys((q.name for q in self.engine.config.brand_routing(brand).queues), 0)
            for entry in queue.values():
                counts[entry.queue] = counts.get(entry.queue, 0) + 1
            for name, n in counts.items():
                metrics.QUEUE_DEPTH.labels(brand, name).set(n)
        metrics.BATCH_SECONDS.observe(time.perf_counter() - started)
        log.debug(
            "batch_routed",
            records=len(batch),
            oldest_age_s=round(max(0.0, (self.clock.now() - min(env.time for env in batch)).total_seconds()), 4),
            effects=len(ws.effects),
            load_s=round(loaded, 4),
            decide_s=round(decided, 4),
            publish_s=round(published, 4),
            save_s=round(saved, 4),
            total_s=round(time.perf_counter() - started, 4),
        )
