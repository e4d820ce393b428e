"""The analytics projection: events in, metric effects and open-conversation changes out.

Pure: no I/O, no clock. A batch is applied to an overlay (copies of the touched conversations) so
the caller can persist the changes first and only then commit them to memory and to the metrics;
a failed write and a retried batch therefore never count anything twice.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from switchboard.events.v1 import common_pb2, conversation_pb2, escalation_pb2, notification_pb2, sla_pb2

from . import labels as L
from .catalogue import SLA_HISTOGRAMS

Event = (
    conversation_pb2.ConversationEvent
    | sla_pb2.SlaEvent
    | escalation_pb2.EscalationRaised
    | notification_pb2.DeliveryRecorded
)

CUSTOMER_FACING = frozenset(
    {"bot_answer", "agent_reply", "transcript", "csat_survey", "proactive_update", "queue_position"}
)


@dataclass(frozen=True, slots=True)
class Inc:
    metric: str
    labels: tuple[str, ...]
    amount: float = 1.0


@dataclass(frozen=True, slots=True)
class Observe:
    metric: str
    labels: tuple[str, ...]
    value: float


Effect = Inc | Observe


@dataclass(slots=True)
class SlaClock:
    metric: int
    instance: int
    deadline: datetime | None
    target_seconds: int
    paused: bool = False
    breached: bool = False


@dataclass(slots=True)
class OpenConversation:
    conversation_id: str
    brand_id: str
    channel: int
    queue: str
    priority: int
    status: int
    opened_at: datetime | None = None
    waiting_since: datetime | None = None  # oldest customer message not yet answered
    queued_since: datetime | None = None
    assignee_id: str = ""
    human_involved: bool = False
    handed_off: bool = False
    clocks: dict[int, SlaClock] = field(default_factory=dict)

    def copy(self) -> OpenConversation:
        return replace(self, clocks={m: replace(c) for m, c in self.clocks.items()})


@dataclass
class BatchResult:
    changes: dict[str, OpenConversation | None]  # conversation_id -> new state, None = no longer open
    effects: list[Effect]
    orphan_clocks: dict[str, dict[int, SlaClock]]  # SLA clocks for conversations not (yet) known
    resolved_ids: list[str]


def ts(timestamp) -> datetime | None:
    """protobuf Timestamp -> aware UTC datetime; unset -> None."""
    if timestamp is None or (timestamp.seconds == 0 and timestamp.nanos == 0):
        return None
    return datetime.fromtimestamp(timestamp.seconds + timestamp.nanos / 1e9, tz=UTC)


class Projection:
    """Open conversations (in memory, mirrored to MongoDB by the caller) plus metric effects."""

    def __init__(
        self,
        labeller: L.Labeller | None = None,
        *,
        max_orphans: int = 50_000,
        max_recently_resolved: int = 100_000,
        on_change: Callable[[str, OpenConversation | None], None] | None = None,
    ):
        self.labeller = labeller or L.Labeller()
        # Told about every committed change (the backlog index keeps its aggregates with it).
        self.on_change = on_change
        self.open: dict[str, OpenConversation] = {}
        # SLA events travel on another topic than conversation events, so one may overtake the other:
        # clocks for conversations not yet seen wait here; clocks for just-resolved ones are ignored.
        self.orphan_clocks: OrderedDict[str, dict[int, SlaClock]] = OrderedDict()
        self.recently_resolved: OrderedDict[str, None] = OrderedDict()
        self.max_orphans = max_orphans
        self.max_recently_resolved = max_recently_resolved

    # -- loading and committing -------------------------------------------------------------
    def load(self, conversations: Iterable[OpenConversation]) -> None:
        self.open = {c.conversation_id: c for c in conversations}
        if self.on_change is not None:
            for conversation_id, state in self.open.items():
                self.on_change(conversation_id, state)

    def commit(self, result: BatchResult) -> None:
        for conversation_id, state in result.changes.items():
            if state is None:
                self.open.pop(conversation_id, None)
            else:
                self.open[conversation_id] = state
                self.orphan_clocks.pop(conversation_id, None)
            if self.on_change is not None:
                self.on_change(conversation_id, state)
        for conversation_id in result.resolved_ids:
            self.orphan_clocks.pop(conversation_id, None)
            self.recently_resolved[conversation_id] = None
            self.recently_resolved.move_to_end(conversation_id)
        while len(self.recently_resolved) > self.max_recently_resolved:
            self.recently_resolved.popitem(last=False)
        for conversation_id, clocks in result.orphan_clocks.items():
            if conversation_id in result.changes:
                continue  # already attached within the batch
            self.orphan_clocks[conversation_id] = clocks
            self.orphan_clocks.move_to_end(conversation_id)
        while len(self.orphan_clocks) > self.max_orphans:
            self.orphan_clocks.popitem(last=False)

    # -- applying ----------------------------------------------------------------------------
    def apply_batch(self, events: Iterable[Event]) -> BatchResult:
        overlay = _Overlay(self)
        effects: list[Effect] = []
        for event in events:
            if isinstance(event, conversation_pb2.ConversationEvent):
                self._conversation(overlay, event, effects)
            elif isinstance(event, sla_pb2.SlaEvent):
                self._sla(overlay, event, effects)
            elif isinstance(event, escalation_pb2.EscalationRaised):
                self._escalation(event, effects)
            elif isinstance(event, notification_pb2.DeliveryRecorded):
                self._delivery(event, effects)
            else:
                raise TypeError(f"analytics cannot project {type(event).__name__}")
        return BatchResult(overlay.changes, effects, overlay.orphans, overlay.resolved)

    def _labels(self, brand_id: str, snapshot: common_pb2.ConversationSnapshot) -> tuple[str, ...]:
        return self.labeller.common(brand_id, snapshot.channel, snapshot.queue, snapshot.priority)

    def _conversation(
        self, overlay: _Overlay, event: conversation_pb2.ConversationEvent, effects: list[Effect]
    ) -> None:
        snap = event.conversation
        conversation_id = snap.conversation_id
        if not conversation_id:
            raise ValueError("ConversationEvent without conversation.conversation_id")
        at = ts(event.occurred_at)
        labels = self._labels(event.brand_id, snap)
        kind = event.WhichOneof("event")
        before = overlay.get(conversation_id)
        stale = kind != "conversation_reopened" and snap.status != common_pb2.CONVERSATION_STATUS_RESOLVED
        if before is None and stale and overlay.was_resolved(conversation_id):
            return  # a redelivered or late event of a conversation resolved here: it must not reopen it
        state = before.copy() if before is not None else _from_snapshot(event.brand_id, snap)
        if before is None:
            state.clocks = overlay.take_orphans(conversation_id)
        # Labels and status always follow the latest snapshot (it is the state after the change).
        state.brand_id = event.brand_id
        state.channel, state.queue, state.priority = snap.channel, snap.queue, snap.priority
        state.status, state.assignee_id = snap.status, snap.assignee_id
        state.human_involved = state.human_involved or snap.human_involved
        state.opened_at = state.opened_at or ts(snap.opened_at) or at

        if kind == "conversation_opened":
            effects.append(Inc("switchboard_conversation_opened_total", labels))
            state.waiting_since = state.waiting_since or at
        elif kind == "customer_message_appended":
            effects.append(Inc("switchboard_conversation_messages_total", (*labels, "customer")))
            if not event.customer_message_appended.auto_reply:
                state.waiting_since = state.waiting_since or at
        elif kind == "bot_replied":
            effects.append(Inc("switchboard_conversation_messages_total", (*labels, "bot")))
            if snap.status == common_pb2.CONVERSATION_STATUS_BOT:
                state.waiting_since = None
        elif kind == "conversation_handed_off":
            reason = L.enum_word(L.HANDOFF_REASONS, event.conversation_handed_off.reason)
            effects.append(Inc("switchboard_bot_handoffs_total", (*labels, reason)))
            state.handed_off = True
            state.waiting_since = state.waiting_since or at  # now waiting for a human
        elif kind == "conversation_assigned":
            if state.queued_since is not None and at is not None:
                wait = max(0.0, (at - state.queued_since).total_seconds())
                effects.append(Observe("switchboard_assignment_wait_seconds", labels, wait))
        elif kind == "agent_replied":
            effects.append(Inc("switchboard_conversation_messages_total", (*labels, "agent")))
            state.waiting_since = None
            state.human_involved = True
        elif kind == "conversation_resolved":
            human = state.human_involved or state.handed_off or event.conversation_resolved.resolved_by != "bot"
            effects.append(Inc("switchboard_conversation_resolved_total", (*labels, "human" if human else "bot")))
            if not human:
                effects.append(Inc("switchboard_bot_contained_total", labels))
        elif kind == "conversation_reopened":
            effects.append(Inc("switchboard_conversation_reopened_total", labels))
            state.waiting_since = state.waiting_since or at
        elif kind == "csat_recorded":
            score = event.csat_recorded.score
            effects.append(
                Inc("switchboard_csat_responses_total", (*labels, str(score) if 1 <= score <= 5 else "out_of_range"))
            )
        elif kind == "chat_ended":
            requested = "true" if event.chat_ended.transcript_requested else "false"
            effects.append(Inc("switchboard_conversation_chats_ended_total", (*labels, requested)))
        elif kind == "repeat_contact_detected":
            effects.append(Inc("switchboard_repeat_contacts_total", labels))
        elif kind == "escalation_acknowledged":
            effects.append(Inc("switchboard_escalations_acknowledged_total", labels))

        # Queue membership follows the status: entering QUEUED starts the wait, leaving ends it.
        if state.status == L.QUEUED:
            state.queued_since = state.queued_since or at
        else:
            state.queued_since = None
        if state.status in L.NOT_OWED:
            state.waiting_since = None

        if state.status == L.RESOLVED:
            overlay.resolve(conversation_id)
        else:
            overlay.put(state)

    def _sla(self, overlay: _Overlay, event: sla_pb2.SlaEvent, effects: list[Effect]) -> None:
        snap = event.conversation
        labels = self._labels(event.brand_id, snap)
        metric_word = L.enum_word(L.SLA_METRICS, event.metric)
        kind = event.WhichOneof("event")
        if kind == "sla_warning_raised":
            effects.append(Inc("switchboard_sla_events_total", (*labels, metric_word, "warning")))
        elif kind == "sla_breached":
            effects.append(Inc("switchboard_sla_events_total", (*labels, metric_word, "breached")))
        elif kind == "sla_fulfilled":
            done = event.sla_fulfilled
            outcome = "fulfilled_late" if done.breached else "fulfilled"
            effects.append(Inc("switchboard_sla_events_total", (*labels, metric_word, outcome)))
            histogram = SLA_HISTOGRAMS.get(metric_word)
            if histogram is not None:
                effects.append(Observe(histogram, labels, float(max(0, done.elapsed_calendar_seconds))))

        conversation_id = snap.conversation_id
        if not conversation_id or overlay.was_resolved(conversation_id):
            return
        ending = kind in ("sla_fulfilled", "sla_cancelled")
        if ending and not overlay.knows(conversation_id):
            return  # nothing to stop: never open here, or resolved long ago
        clocks = overlay.clocks_for_update(conversation_id)
        current = clocks.get(event.metric)
        if current is not None and current.instance > event.instance:
            return  # an older clock's late event
        deadline = ts(event.deadline)
        if ending:
            if current is not None and current.instance == event.instance:
                del clocks[event.metric]
            return
        if current is None or current.instance < event.instance:
            clocks[event.metric] = SlaClock(
                event.metric,
                event.instance,
                deadline,
                event.target_seconds,
                paused=kind == "sla_paused",
                breached=kind == "sla_breached",
            )
            return
        current.deadline = deadline or current.deadline
        current.target_seconds = event.target_seconds or current.target_seconds
        if kind in ("sla_applied", "sla_reapplied"):
            current.paused, current.breached = False, False
        elif kind == "sla_resumed":
            current.paused = False
        elif kind == "sla_paused":
            current.paused = True
        elif kind == "sla_breached":
            current.breached = True

    def _escalation(self, event: escalation_pb2.EscalationRaised, effects: list[Effect]) -> None:
        labels = self._labels(event.brand_id, event.conversation)
        level = str(event.level) if 0 < event.level <= 9 else "other"
        effects.append(
            Inc(
                "switchboard_escalations_total",
                (
                    *labels,
                    level,
                    L.enum_word(L.ESCALATION_REASONS, event.reason),
                    L.enum_word(L.SLA_METRICS, event.metric),
                ),
            )
        )

    def _delivery(self, event: notification_pb2.DeliveryRecorded, effects: list[Effect]) -> None:
        kind = L.enum_word(L.NOTIFICATION_KINDS, event.kind)
        outcome = L.enum_word(L.DELIVERY_OUTCOMES, event.outcome)
        base = (self.labeller.brands(event.brand_id), L.enum_word(L.CHANNELS, event.channel), kind)
        effects.append(Inc("switchboard_delivery_outcomes_total", (*base, outcome)))
        if outcome == "delivered" and kind in CUSTOMER_FACING:
            effects.append(Inc("switchboard_customer_messages_sent_total", base))


def _from_snapshot(brand_id: str, snap: common_pb2.ConversationSnapshot) -> OpenConversation:
    return OpenConversation(
        conversation_id=snap.conversation_id,
        brand_id=brand_id,
        channel=snap.channel,
        queue=snap.queue,
        priority=snap.priority,
        status=snap.status,
        opened_at=ts(snap.opened_at),
        assignee_id=snap.assignee_id,
        human_involved=snap.human_involved,
    )


class _Overlay:
    """Copy-on-write view of the projection for one batch."""

    def __init__(self, projection: Projection):
        self.projection = projection
        self.changes: dict[str, OpenConversation | None] = {}
        self.orphans: dict[str, dict[int, SlaClock]] = {}
        self.resolved: list[str] = []

    def get(self, conversation_id: str) -> OpenConversation | None:
        if conversation_id in self.changes:
            return self.changes[conversation_id]
        return self.projection.open.get(conversation_id)

    def put(self, state: OpenConversation) -> None:
        self.changes[state.conversation_id] = state

    def resolve(self, conversation_id: str) -> None:
        self.changes[conversation_id] = None
        self.orphans.pop(conversation_id, None)
        self.resolved.append(conversation_id)

    def was_resolved(self, conversation_id: str) -> bool:
        if conversation_id in self.changes:
            return self.changes[conversation_id] is None
        return conversation_id in self.projection.recently_resolved

    def knows(self, conversation_id: str) -> bool:
        """Open, or holding stashed clocks."""
        return (
            self.get(conversation_id) is not None
            or conversation_id in self.orphans
            or conversation_id in self.projection.orphan_clocks
        )

    def take_orphans(self, conversation_id: str) -> dict[int, SlaClock]:
        if conversation_id in self.orphans:
            return self.orphans.pop(conversation_id)
        stashed = self.projection.orphan_clocks.get(conversation_id)
        return {m: replace(c) for m, c in stashed.items()} if stashed else {}

    def clocks_for_update(self, conversation_id: str) -> dict[int, SlaClock]:
        """The clocks dict of a (copied) open conversation, or of an orphan entry."""
        state = self.get(conversation_id)
        if state is not None:
            if conversation_id not in self.changes:
                state = state.copy()
                self.changes[conversation_id] = state
            return state.clocks
        if conversation_id not in self.orphans:
            stashed = self.projection.orphan_clocks.get(conversation_id) or {}
            self.orphans[conversation_id] = {m: replace(c) for m, c in stashed.items()}
        return self.orphans[conversation_id]
