"""Decode -> domain -> adapters -> publish, for consumed conversation events and for fired timers.

Both paths run under one asyncio lock (a conversation's state is never changed by two at once) and
do their effects in the same order, which is what makes a kill -9 harmless:

  1. load records (one $in query) and compute decisions (pure tracker);
  2. publish every resulting event with a deterministic id, and wait for the broker's acks;
  3. persist one document per affected conversation, its pending timers inside (one bulk_write);
  4. update the in-memory heap.

A crash before 3 leaves MongoDB as it was: the input is redelivered (offsets are committed after
the handler returns) or the timer is still pending, so the same decisions are made again and the
same event ids are published again; consumers drop the duplicates by id. Nothing is lost, and no
effect happens twice from a consumer's point of view.

The handlers depend on ports (adapters/ports.py): a state store and a publisher.
"""
from __future__ import annotations

import asyncio
import copy
from dataclasses import dataclass, field
from datetime import datetime

import structlog
from switchboard.common.clock import Clock
from switchboard.common.cloudevents import Envelope, derived_id
from switchboard.common.consumer import PermanentError
from switchboard.common.logging import get_logger, mask_string
from switchboard.common.topics import TopicNames
from switchboard.sla import metrics
from switchboard.sla.adapters import codec
from switchboard.sla.adapters.ports import Publisher, SlaRecord, StateStore
from switchboard.sla.domain import history
from switchboard.sla.domain.calendar import CalendarError
from switchboard.sla.domain.effects import (
    Decisions,
    EscalationOut,
    FiredTimer,
    ProactiveOut,
    SlaOut,
    TimerArm,
    epoch_ms,
    from_epoch_ms,
    parse_timer_id,
)
from switchboard.sla.domain.state import ConversationSla
from switchboard.sla.domain.tracker import Tracker
from switchboard.sla.timerheap import TimerHeap

log = get_logger(__name__)

SOURCE = "/switchboard/sla"
# (topic, message, key, event id, cause, time) of one event to publish
Publish = tuple[str, object, str, str, Envelope | None, datetime]


@dataclass
class Effects:
    """What one consumed batch or one round of fired timers must publish and write."""

    publishes: list[Publish] = field(default_factory=list)
    # the heap's changes: timer id -> (arm | None = cancel, partition)
    arms: dict[str, tuple[TimerArm | None, int]] = field(default_factory=dict)
    touched: dict[str, SlaRecord] = field(default_factory=dict)
    fresh: set[str] = field(default_factory=set)  # conversations with nothing stored yet: inserted, not replaced

    def collect(self, decisions: Decisions, record: SlaRecord) -> None:
        """The decisions' timers go into the record (stored with it) and into the heap's changes.
        Later decisions about the same timer id win (arm then cancel = cancelled)."""
        for tid in decisions.cancel:
            record.timers.pop(tid, None)
            self.arms[tid] = (None, record.partition)
        for arm in decisions.arm:
            record.timers[arm.id] = arm
            self.arms[arm.id] = (arm, record.partition)


def count_emitted(emit: SlaOut | EscalationOut | ProactiveOut, state: ConversationSla) -> None:
    """The service's own per-event metrics (and logs) for one emitted decision."""
    brand, facts, cid = metrics.brand(state.brand), state.facts, state.conversation_id
    if isinstance(emit, SlaOut):
        metrics.CLOCK_EVENTS.labels(emit.event, emit.metric, facts.channel if facts else "",
                                    facts.priority if facts else "", brand).inc()
        if emit.event == "breached":
            metrics.BREACH_LATE.observe(emit.detail["late_by_ms"] / 1000)
            log.debug("sla_breached", conversation_id=cid, metric=emit.metric, instance=emit.instance,
                      late_by_ms=emit.detail["late_by_ms"])
    elif isinstance(emit, EscalationOut):
        metrics.ESCALATIONS.labels(str(emit.level), emit.reason, brand).inc()
        log.info("escalation_raised", conversation_id=cid, escalation_id=emit.escalation_id,
                 level=emit.level, reason=emit.reason)
    elif isinstance(emit, ProactiveOut):
        metrics.PROACTIVE.labels(emit.template, brand).inc()


class SlaEngine:
    """The SLA service's handlers: conversation batches in, fired timers in; events and timers out."""

    def __init__(self, *, tracker: Tracker, states: StateStore, heap: TimerHeap,
                 publisher: Publisher, topics: TopicNames, clock: Clock, wake: asyncio.Event | None = None) -> None:
        self.tracker = tracker
        self.states = states
        self.heap = heap
        self.publisher = publisher
        self.topics = topics
        self.clock = clock
        self.lock = asyncio.Lock()
        self.wake = wake or asyncio.Event()

    # --- consumed conversation events ----------------------------------------------------------
    async def handle(self, batch: list[Envelope]) -> None:
        async with self.lock:
            records = await self.states.load(codec.conversation_id_of(env) for env in batch)
            effects = Effects()
            for env in batch:
                self._apply(env, records, effects)
            await self._commit(effects)

    def _apply(self, env: Envelope, records: dict[str, SlaRecord], effects: Effects) -> None:
        cid = codec.conversation_id_of(env)
        record = records.get(cid)
        if record is None:
            record = records[cid] = SlaRecord(ConversationSla(cid), partition=env.partition or 0)
            effects.fresh.add(cid)
        if env.partition == record.partition and env.offset is not None and env.offset <= record.last_offset:
            return  # applied before a crash; its events were published then
        with structlog.contextvars.bound_contextvars(conversation_id=cid, event_id=env.id):
            change, snapshot = codec.decode(env)
            try:
                decisions = self.tracker.apply(record.state, change)
                history.record(record.state, decisions, change)
            except CalendarError as exc:
                raise PermanentError(f"SLA calendar cannot time this conversation: {exc}") from exc
        record.partition = env.partition or 0
        record.last_offset = env.offset if env.offset is not None else record.last_offset
        record.snapshot = codec.snapshot_bytes(snapshot)
        effects.touched[cid] = record
        effects.publishes.extend(self._outputs(decisions, record.state, snapshot, cause=env, time=change.at))
        effects.collect(decisions, record)

    # --- fired timers --------------------------------------------------------------------------
    async def fire_due(self, limit: int) -> int:
        """Fires every timer due now (up to `limit`); returns how many came due."""
        async with self.lock:
            now = self.clock.now()
            entries = self.heap.pop_due(epoch_ms(now), limit)
            if not entries:
                return 0
            try:
                await self._fire(entries, now)
            except BaseException:
                for due_ms, tid, partition in entries:  # not fired: keep them for the next round
                    self.heap.arm(partition, tid, due_ms)
                raise
            metrics.OPEN_TIMERS.set(len(self.heap))
            return len(entries)

    async def _fire(self, entries: list[tuple[int, str, int]], now: datetime) -> None:
        # Everything a timer needs is in its id and due time, and the conversation's document holds
        # its timers: one read, one write.
        timers = []
        for due_ms, tid, _partition in entries:
            conversation_id, metric, instance, kind, level = parse_timer_id(tid)
            timers.append((conversation_id, FiredTimer(tid, kind, metric, instance, level, from_epoch_ms(due_ms))))
        records = await self.states.load(cid for cid, _ in timers)
        effects = Effects()
        for conversation_id, timer in timers:
            metrics.TIMER_LATENESS.labels(timer.kind).observe(max(0.0, (now - timer.due).total_seconds()))
            record = records.get(conversation_id)
            if record is None:  # its document expired: nothing to decide, nothing to write
                metrics.TIMERS_STALE.labels(timer.kind, metrics.brand(None)).inc()
                continue
            record.timers.pop(timer.id, None)  # fired (or failed): no longer pending, whatever it decides
            effects.touched[conversation_id] = record
            self._fire_one(record, timer, now, effects)
        await self._commit(effects)

    def _fire_one(self, record: SlaRecord, timer: FiredTimer, now: datetime, effects: Effects) -> None:
        state = record.state
        brand = metrics.brand(state.brand)
        with structlog.contextvars.bound_contextvars(conversation_id=state.conversation_id, timer_id=timer.id):
            backup = copy.deepcopy(state)
            try:
                decisions = self.tracker.fire(state, timer, now)
                history.record(state, decisions)
                snapshot = codec.snapshot_from_bytes(record.snapshot)
                outputs = self._outputs(decisions, state, snapshot, cause=None, time=now)
            except Exception as exc:  # one broken timer must not block every other timer
                log.error("sla_timer_failed", error=mask_string(repr(exc)))
                metrics.TIMERS_FAILED.labels(timer.kind, brand).inc()
                record.timer_failed(timer.id, now)
                record.state = backup  # no partial change
                return
        (metrics.TIMERS_FIRED if decisions.emits else metrics.TIMERS_STALE).labels(timer.kind, brand).inc()
        effects.publishes.extend(outputs)
        effects.collect(decisions, record)

    # --- shared effects ------------------------------------------------------------------------
    async def _commit(self, effects: Effects) -> None:
        for topic, payload, key, event_id, cause, time in effects.publishes:
            await self.publisher.publish(topic, payload, key=key, cause=cause, event_id=event_id, time=time,
                                         subject=key)
        await self.publisher.drain()  # 2: the broker has every event before anything is marked done
        await self.states.save(list(effects.touched.values()), frozenset(effects.fresh))  # 3
        to_arm = [v for v in effects.arms.values() if v[0] is not None]
        cancels = [(tid, partition) for tid, (arm, partition) in effects.arms.items() if arm is None]
        for tid, partition in cancels:  # 4
            self.heap.cancel(partition, tid)
        armed_any = False
        for arm, partition in to_arm:
            armed_any |= self.heap.arm(partition, arm.id, epoch_ms(arm.due))
        if armed_any:
            self.wake.set()
        metrics.OPEN_TIMERS.set(len(self.heap))

    def _outputs(self, decisions: Decisions, state: ConversationSla, snapshot: codec.Snapshot,
                 *, cause: Envelope | None, time: datetime) -> list[Publish]:
        out: list[Publish] = []
        for emit in decisions.emits:
            event_id = derived_id(*emit.id_parts)
            logical, message = codec.encode(emit, state.brand, snapshot, event_id)
            out.append((self.topics.of(logical), message, state.conversation_id, event_id, cause, time))
            count_emitted(emit, state)
        return out

    # --- partition ownership -------------------------------------------------------------------
    async def assign(self, partitions: set[int]) -> int:
        """Loads the pending timers of newly owned partitions; drops the ones no longer owned."""
        async with self.lock:
            for gone in self.heap.partitions - partitions:
                self.heap.drop(gone)
            new = partitions - self.heap.partitions
            if not new:
                return 0
            for p in new:
                self.heap.own(p)
            loaded: dict[int, list[tuple[int, str]]] = {p: [] for p in new}
            async for partition, due_ms, tid in self.states.pending(new):
                loaded[partition].append((due_ms, tid))
            for p, entries in loaded.items():
                self.heap.load(p, entries)
            total = sum(len(v) for v in loaded.values())
            metrics.TIMERS_LOADED.inc(total)
            metrics.OPEN_TIMERS.set(len(self.heap))
            log.info("sla_partitions_assigned", partitions=sorted(partitions), timers_loaded=total)
            self.wake.set()
            return total

    async def revoke(self, partitions: set[int]) -> None:
        async with self.lock:
            for p in partitions:
                self.heap.drop(p)
            metrics.OPEN_TIMERS.set(len(self.heap))
