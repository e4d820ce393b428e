"""Decode -> domain -> adapters -> publish, for consumed conversation events and for fired timers.

Both paths run under one asyncio lock (a conversation's state is never changed by two at once) and
do their effects in the same order, which is what makes a kill -9 harmless:

  1. load states (one $in query) and compute decisions (pure tracker);
  2. publish every resulting event with a deterministic id, and wait for the broker's acks;
  3. persist timers and states (one bulk_write each);
  4. update the in-memory heap.

A crash before 3 leaves MongoDB as it was: the input is redelivered (offsets are committed after
the handler returns) or the timer is still pending, so the same decisions are made again and the
same event ids are published again; consumers drop the duplicates by id. Nothing is lost, and no
effect happens twice from a consumer's point of view.
"""
from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import UTC, datetime

import structlog
from google.protobuf.timestamp_pb2 import Timestamp
from switchboard.common.bus import EventProducer, PermanentError
from switchboard.common.clock import Clock, utc
from switchboard.common.cloudevents import Envelope, derived_id
from switchboard.common.logging import get_logger, mask_string
from switchboard.common.topics import TopicNames
from switchboard.events.v1 import (
    common_pb2,
    conversation_pb2,
    escalation_pb2,
    notification_pb2,
    orders_pb2,
    sla_pb2,
)
from switchboard.sla import metrics
from switchboard.sla.adapters.store import MongoStateStore, MongoTimerStore
from switchboard.sla.domain.calendar import CalendarError
from switchboard.sla.domain.tracker import (
    Change,
    ConversationSla,
    Decisions,
    EscalationOut,
    Facts,
    FiredTimer,
    ProactiveOut,
    SlaOut,
    TimerArm,
    Tracker,
    epoch_ms,
    from_epoch_ms,
    parse_timer_id,
)
from switchboard.sla.timerheap import TimerHeap

log = get_logger(__name__)

SOURCE = "/switchboard/sla"
_METRIC_ENUM = {
    "first_response": sla_pb2.SLA_METRIC_FIRST_RESPONSE, "next_response": sla_pb2.SLA_METRIC_NEXT_RESPONSE,
    "resolution": sla_pb2.SLA_METRIC_RESOLUTION, "phone_answer": sla_pb2.SLA_METRIC_PHONE_ANSWER,
    "agent_first_response": sla_pb2.SLA_METRIC_AGENT_FIRST_RESPONSE,
}
_REASON_ENUM = {
    "sla_breached": escalation_pb2.ESCALATION_REASON_SLA_BREACHED,
    "not_acknowledged": escalation_pb2.ESCALATION_REASON_NOT_ACKNOWLEDGED,
    "repeat_contact": escalation_pb2.ESCALATION_REASON_REPEAT_CONTACT,
    "reassigned_too_often": escalation_pb2.ESCALATION_REASON_REASSIGNED_TOO_OFTEN,
}
_STATUS_NAMES = {v: k.removeprefix("CONVERSATION_STATUS_").lower()
                 for k, v in common_pb2.ConversationStatus.items()}


def _enum_name(enum, value: int, prefix: str) -> str:
    try:
        return enum.Name(value).removeprefix(prefix).lower()
    except ValueError:
        return "unspecified"


def _ts(dt: datetime | None) -> Timestamp | None:
    if dt is None:
        return None
    t = Timestamp()
    t.FromDatetime(dt.astimezone(UTC))
    return t


def facts_of(brand_id: str, snap: common_pb2.ConversationSnapshot) -> Facts:
    priority = _enum_name(common_pb2.Priority, snap.priority, "PRIORITY_")
    return Facts(brand=brand_id, channel=_enum_name(common_pb2.Channel, snap.channel, "CHANNEL_"),
                 priority="normal" if priority == "unspecified" else priority, queue=snap.queue,
                 region=snap.region, status=_STATUS_NAMES.get(snap.status, "unspecified"),
                 assignee=snap.assignee_id)


def to_change(env: Envelope) -> Change:
    """ConversationEvent -> Change. Raises PermanentError for records that cannot be timed."""
    event: conversation_pb2.ConversationEvent = env.payload
    if not isinstance(event, conversation_pb2.ConversationEvent):
        raise PermanentError(f"expected ConversationEvent, got {type(event).__name__}")
    if not event.conversation.conversation_id:
        raise PermanentError("ConversationEvent.conversation.conversation_id is empty")
    if not event.HasField("occurred_at"):
        raise PermanentError("ConversationEvent.occurred_at is missing: SLA clocks run on event time")
    kind = event.WhichOneof("event")
    if kind is None:
        raise PermanentError("ConversationEvent carries no event (oneof `event` is empty)")
    at = event.occurred_at.ToDatetime(tzinfo=UTC)
    change = Change(event_id=env.id, kind=kind, at=at, facts=facts_of(event.brand_id or env.brand_id,
                                                                      event.conversation))
    body = getattr(event, kind)
    if kind == "customer_message_appended":
        change.auto_reply = body.auto_reply
    elif kind == "conversation_assigned":
        change.reassignment_count = body.reassignment_count
    elif kind == "escalation_acknowledged":
        change.escalation_id = body.escalation_id
    elif kind == "priority_changed":
        change.reason = body.reason
    elif kind == "call_answered" and body.HasField("answered_at"):
        change.answered_at = body.answered_at.ToDatetime(tzinfo=UTC)
    elif kind == "order_linked":
        order = body.order
        change.order_kind = _enum_name(orders_pb2.OrderEventKind, order.kind, "ORDER_EVENT_KIND_")
        change.order_id, change.order_number, change.reason = order.order_id, order.order_number, order.reason
        if order.HasField("estimated_delivery"):
            change.order_eta = order.estimated_delivery.ToDatetime(tzinfo=UTC)
    return change


class SlaEngine:
    """The SLA service's handlers: conversation batches in, fired timers in; events and timers out."""

    def __init__(self, *, tracker: Tracker, states: MongoStateStore, timers: MongoTimerStore, heap: TimerHeap,
                 producer: EventProducer, topics: TopicNames, clock: Clock, wake: asyncio.Event | None = None) -> None:
        self.tracker = tracker
        self.states = states
        self.timers = timers
        self.heap = heap
        self.producer = producer
        self.topics = topics
        self.clock = clock
        self.lock = asyncio.Lock()
        self.wake = wake or asyncio.Event()

    # --- consumed conversation events ----------------------------------------------------------
    async def handle(self, batch: list[Envelope]) -> None:
        async with self.lock:
            states = await self.states.load(self._conversation_id(env) for env in batch)
            publishes: list = []
            arms: dict[str, tuple[TimerArm | None, int]] = {}
            touched: dict[str, ConversationSla] = {}
            fresh: set[str] = set()  # conversations with nothing stored yet: their documents are inserted
            for env in batch:
                cid = self._conversation_id(env)
                state = states.get(cid)
                if state is None:
                    state = states[cid] = ConversationSla(cid, partition=env.partition or 0)
                    fresh.add(cid)
                if env.partition == state.partition and env.offset is not None and env.offset <= state.last_offset:
                    continue  # applied before a crash; its events were published then
                with structlog.contextvars.bound_contextvars(conversation_id=cid, event_id=env.id):
                    change = to_change(env)
                    try:
                        decisions = self.tracker.apply(state, change)
                    except CalendarError as exc:
                        raise PermanentError(f"SLA calendar cannot time this conversation: {exc}") from exc
                state.partition = env.partition or 0
                state.last_offset = env.offset if env.offset is not None else state.last_offset
                state.snapshot = env.payload.conversation.SerializeToString()
                touched[cid] = state
                publishes.extend(self._outputs(decisions, state, env.payload.conversation, cause=env,
                                               time=change.at))
                self._collect(arms, decisions, state.partition)
            await self._commit(publishes, arms, [], touched.values(), frozenset(fresh))

    @staticmethod
    def _conversation_id(env: Envelope) -> str:
        payload = env.payload
        cid = getattr(getattr(payload, "conversation", None), "conversation_id", "")
        if not cid:
            raise PermanentError("ConversationEvent.conversation.conversation_id is empty")
        return cid

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
        # Everything a timer needs is in its id and due time: no timer read, one state read.
        timers = []
        for due_ms, tid, _partition in entries:
            conversation_id, metric, instance, kind, level = parse_timer_id(tid)
            timers.append((conversation_id, FiredTimer(tid, kind, metric, instance, level, from_epoch_ms(due_ms))))
        states = await self.states.load(cid for cid, _ in timers)
        publishes: list = []
        arms: dict[str, tuple[TimerArm | None, int]] = {}
        fired: list[tuple[str, datetime]] = []
        touched: dict[str, ConversationSla] = {}
        for conversation_id, timer in timers:
            fired.append((timer.id, now))
            metrics.TIMER_LATENESS.labels(timer.kind).observe(max(0.0, (now - timer.due).total_seconds()))
            state = states.get(conversation_id)
            if state is None:
                metrics.TIMERS_STALE.labels(timer.kind).inc()
                continue
            with structlog.contextvars.bound_contextvars(conversation_id=conversation_id, timer_id=timer.id):
                backup = state.to_doc()
                try:
                    decisions = self.tracker.fire(state, timer, now)
                    snapshot = common_pb2.ConversationSnapshot.FromString(state.snapshot)
                    outputs = self._outputs(decisions, state, snapshot, cause=None, time=now)
                except Exception as exc:  # one broken timer must not block every other timer
                    log.error("sla_timer_failed", error=mask_string(repr(exc)))
                    metrics.TIMERS_FAILED.labels(timer.kind).inc()
                    fired[-1] = (timer.id, now, "failed")
                    states[conversation_id] = restored = ConversationSla.from_doc(backup)  # no partial change
                    if conversation_id in touched:
                        touched[conversation_id] = restored
                    continue
            (metrics.TIMERS_FIRED if decisions.emits else metrics.TIMERS_STALE).labels(timer.kind).inc()
            touched[conversation_id] = state
            publishes.extend(outputs)
            self._collect(arms, decisions, state.partition)
        await self._commit(publishes, arms, fired, touched.values())

    # --- shared effects ------------------------------------------------------------------------
    @staticmethod
    def _collect(arms: dict, decisions: Decisions, partition: int) -> None:
        # Later decisions about the same timer id win (arm then cancel = cancelled).
        for tid in decisions.cancel:
            arms[tid] = (None, partition)
        for arm in decisions.arm:
            arms[arm.id] = (arm, partition)

    async def _commit(self, publishes: list, arms: dict, fired: list, states: Iterable[ConversationSla],
                      fresh: frozenset[str] = frozenset()) -> None:
        for topic, payload, key, event_id, cause, time in publishes:
            await self.producer.publish(topic, payload, key=key, cause=cause, event_id=event_id, time=time,
                                        subject=key)
        await self.producer.drain()  # 2: the broker has every event before anything is marked done
        to_arm = [v for v in arms.values() if v[0] is not None]
        cancels = [(tid, partition) for tid, (arm, partition) in arms.items() if arm is None]
        await self.timers.write(to_arm, [tid for tid, _ in cancels], fired, fresh)  # 3
        await self.states.save(list(states), fresh)
        for tid, partition in cancels:  # 4
            self.heap.cancel(partition, tid)
        armed_any = False
        for arm, partition in to_arm:
            armed_any |= self.heap.arm(partition, arm.id, epoch_ms(arm.due))
        if armed_any:
            self.wake.set()
        metrics.OPEN_TIMERS.set(len(self.heap))

    def _outputs(self, decisions: Decisions, state: ConversationSla, snapshot: common_pb2.ConversationSnapshot,
                 *, cause: Envelope | None, time: datetime) -> list:
        out = []
        cid = state.conversation_id
        facts = state.facts
        for emit in decisions.emits:
            event_id = derived_id(*emit.id_parts)
            if isinstance(emit, SlaOut):
                msg = self._sla_event(emit, state.brand, snapshot)
                out.append((self.topics.sla, msg, cid, event_id, cause, time))
                metrics.SLA_EVENTS.labels(emit.event, emit.metric, facts.channel if facts else "",
                                          facts.priority if facts else "").inc()
                if emit.event == "breached":
                    metrics.BREACH_LATE.observe(emit.detail["late_by_ms"] / 1000)
                    log.debug("sla_breached", conversation_id=cid, metric=emit.metric, instance=emit.instance,
                             late_by_ms=emit.detail["late_by_ms"])
            elif isinstance(emit, EscalationOut):
                msg = escalation_pb2.EscalationRaised(
                    brand_id=state.brand, escalation_id=emit.escalation_id, conversation=snapshot, level=emit.level,
                    level_name=emit.level_name, reason=_REASON_ENUM[emit.reason],
                    metric=_METRIC_ENUM.get(emit.metric, sla_pb2.SLA_METRIC_UNSPECIFIED), instance=emit.instance,
                    deadline=_ts(emit.deadline), breached_at=_ts(emit.breached_at), raised_at=_ts(emit.raised_at),
                    recipients=list(emit.recipients), destinations=list(emit.destinations), detail=emit.detail,
                    target_seconds=emit.target_seconds)
                out.append((self.topics.escalations, msg, cid, event_id, cause, time))
                metrics.ESCALATIONS.labels(str(emit.level), emit.reason).inc()
                log.info("escalation_raised", conversation_id=cid, escalation_id=emit.escalation_id,
                         level=emit.level, reason=emit.reason)
            elif isinstance(emit, ProactiveOut):
                msg = notification_pb2.NotificationRequested(
                    brand_id=state.brand, intent_id=event_id,
                    kind=notification_pb2.NOTIFICATION_KIND_PROACTIVE_UPDATE, conversation=snapshot,
                    template=emit.template, language=snapshot.language, variables=emit.variables,
                    recipient=snapshot.reply_handle, channel=snapshot.channel, requested_at=_ts(emit.requested_at))
                out.append((self.topics.notifications, msg, cid, event_id, cause, time))
                metrics.PROACTIVE.labels(emit.template).inc()
        return out

    @staticmethod
    def _sla_event(emit: SlaOut, brand: str, snapshot) -> sla_pb2.SlaEvent:
        msg = sla_pb2.SlaEvent(brand_id=brand, conversation=snapshot, metric=_METRIC_ENUM[emit.metric],
                               instance=emit.instance, policy_id=emit.policy_id, deadline=_ts(emit.deadline),
                               target_seconds=emit.target_seconds, business_hours=emit.business_hours,
                               calendar_id=emit.calendar_id)
        d = emit.detail
        if emit.event == "applied":
            msg.sla_applied.started_at.CopyFrom(_ts(d["started_at"]))
        elif emit.event == "warning":
            msg.sla_warning_raised.CopyFrom(sla_pb2.SlaWarningRaised(
                fraction_elapsed=d["fraction_elapsed"], seconds_left=d["seconds_left"],
                detected_at=_ts(d["detected_at"])))
        elif emit.event == "breached":
            msg.sla_breached.CopyFrom(sla_pb2.SlaBreached(detected_at=_ts(d["detected_at"]),
                                                          late_by_ms=d["late_by_ms"]))
        elif emit.event == "fulfilled":
            msg.sla_fulfilled.CopyFrom(sla_pb2.SlaFulfilled(
                fulfilled_at=_ts(d["fulfilled_at"]), elapsed_business_seconds=d["elapsed_business_seconds"],
                elapsed_calendar_seconds=d["elapsed_calendar_seconds"], breached=d["breached"]))
        elif emit.event == "paused":
            msg.sla_paused.CopyFrom(sla_pb2.SlaPaused(
                paused_at=_ts(d["paused_at"]), remaining_seconds=d["remaining_seconds"],
                reason_status=common_pb2.ConversationStatus.Value(
                    "CONVERSATION_STATUS_" + (d["reason_status"] or "unspecified").upper())))
        elif emit.event == "resumed":
            msg.sla_resumed.CopyFrom(sla_pb2.SlaResumed(resumed_at=_ts(d["resumed_at"]),
                                                        remaining_seconds=d["remaining_seconds"]))
        elif emit.event == "reapplied":
            msg.sla_reapplied.CopyFrom(sla_pb2.SlaReapplied(previous_policy_id=d["previous_policy_id"],
                                                            previous_deadline=_ts(d["previous_deadline"]),
                                                            reason=d["reason"]))
        elif emit.event == "cancelled":
            msg.sla_cancelled.CopyFrom(sla_pb2.SlaCancelled(reason=d["reason"]))
        return msg

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
            async for doc in self.timers.pending(new):
                loaded[doc["partition"]].append((epoch_ms(utc(doc["due_at"])), doc["_id"]))
            for p, entries in loaded.items():
                self.heap.load(p, entries)
            count = sum(len(v) for v in loaded.values())
            metrics.TIMERS_LOADED.inc(count)
            metrics.OPEN_TIMERS.set(len(self.heap))
            log.info("sla_partitions_assigned", partitions=sorted(partitions), timers_loaded=count)
            self.wake.set()
            return count

    async def revoke(self, partitions: set[int]) -> None:
        async with self.lock:
            for p in partitions:
                self.heap.drop(p)
            metrics.OPEN_TIMERS.set(len(self.heap))
