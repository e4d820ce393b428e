"""The analytics projection: events in, metric effects and open-conversation changes out.

Pure: no I/O, no clock, no wire types (the codec hands it domain events). A batch is applied to an
overlay (copies of the touched conversations) so the caller can persist the changes first and only
then commit them to memory and to the metrics; a failed write and a retried batch therefore never
count anything twice.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable
from datetime import datetime

from . import labels as L
from .catalogue import SLA_HISTOGRAMS
from .events import ConversationUpdate, Delivery, Escalation, Event, SlaUpdate, Snapshot
from .model import BatchResult, Effect, Inc, Observe, OpenConversation, SlaClock
from .overlay import Overlay

__all__ = ["BatchResult", "Effect", "Inc", "Observe", "OpenConversation", "Projection", "SlaClock"]

CUSTOMER_FACING = frozenset(
    {"bot_answer", "agent_reply", "transcript", "csat_survey", "proactive_update", "queue_position"}
)
Labels = tuple[str, ...]


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
        self.orphan_clocks: OrderedDict[str, dict[str, SlaClock]] = OrderedDict()
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
        overlay = Overlay(self)
        effects: list[Effect] = []
        for event in events:
            if isinstance(event, ConversationUpdate):
                self._conversation(overlay, event, effects)
            elif isinstance(event, SlaUpdate):
                self._sla(overlay, event, effects)
            elif isinstance(event, Escalation):
                self._escalation(event, effects)
            elif isinstance(event, Delivery):
                self._delivery(event, effects)
            else:
                raise TypeError(f"analytics cannot project {type(event).__name__}")
        return BatchResult(overlay.changes, effects, overlay.orphans, overlay.resolved)

    def _labels(self, brand_id: str, snapshot: Snapshot) -> Labels:
        return self.labeller.common(brand_id, snapshot.channel, snapshot.queue, snapshot.priority)

    def _conversation(self, overlay: Overlay, event: ConversationUpdate, effects: list[Effect]) -> None:
        snap = event.conversation
        conversation_id = snap.conversation_id
        if not conversation_id:
            raise ValueError("ConversationEvent without conversation.conversation_id")
        at = event.occurred_at
        labels = self._labels(event.brand_id, snap)
        before = overlay.get(conversation_id)
        stale = event.kind != "conversation_reopened" and snap.status != L.RESOLVED
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
        state.opened_at = state.opened_at or snap.opened_at or at
        _on_conversation_event(state, event, labels, at, effects)
        _follow_status(state, at)
        if state.status == L.RESOLVED:
            overlay.resolve(conversation_id)
        else:
            overlay.put(state)

    def _sla(self, overlay: Overlay, event: SlaUpdate, effects: list[Effect]) -> None:
        _count_sla(event, self._labels(event.brand_id, event.conversation), effects)
        conversation_id = event.conversation.conversation_id
        if not conversation_id or overlay.was_resolved(conversation_id):
            return
        ending = event.kind in ("sla_fulfilled", "sla_cancelled")
        if ending and not overlay.knows(conversation_id):
            return  # nothing to stop: never open here, or resolved long ago
        _track_clock(overlay.clocks_for_update(conversation_id), event, ending)

    def _escalation(self, event: Escalation, effects: list[Effect]) -> None:
        labels = self._labels(event.brand_id, event.conversation)
        level = str(event.level) if 0 < event.level <= 9 else "other"
        effects.append(
            Inc("switchboard_escalations_total", (*labels, level, L.word(event.reason), L.word(event.metric)))
        )

    def _delivery(self, event: Delivery, effects: list[Effect]) -> None:
        kind, outcome = L.word(event.kind), L.word(event.outcome)
        base = (self.labeller.brands(event.brand_id), L.word(event.channel), kind)
        effects.append(Inc("switchboard_delivery_outcomes_total", (*base, outcome)))
        if outcome == "delivered" and kind in CUSTOMER_FACING:
            effects.append(Inc("switchboard_customer_messages_sent_total", base))


def _on_conversation_event(
    state: OpenConversation, event: ConversationUpdate, labels: Labels, at: datetime | None, effects: list[Effect]
) -> None:
    """What one kind of conversation event counts, and how it moves the customer's wait."""
    kind = event.kind
    if kind == "conversation_opened":
        effects.append(Inc("switchboard_conversation_opened_total", labels))
        state.waiting_since = state.waiting_since or at
    elif kind == "customer_message_appended":
        effects.append(Inc("switchboard_conversation_messages_total", (*labels, "customer")))
        if not event.auto_reply:
            state.waiting_since = state.waiting_since or at
    elif kind == "bot_replied":
        effects.append(Inc("switchboard_conversation_messages_total", (*labels, "bot")))
        if event.conversation.status == L.BOT:
            state.waiting_since = None
    elif kind == "conversation_handed_off":
        effects.append(Inc("switchboard_bot_handoffs_total", (*labels, L.word(event.handoff_reason))))
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
        human = state.human_involved or state.handed_off or event.resolved_by != "bot"
        effects.append(Inc("switchboard_conversation_resolved_total", (*labels, "human" if human else "bot")))
        if not human:
            effects.append(Inc("switchboard_bot_contained_total", labels))
    elif kind == "conversation_reopened":
        effects.append(Inc("switchboard_conversation_reopened_total", labels))
        state.waiting_since = state.waiting_since or at
    elif kind == "csat_recorded":
        score = event.csat_score
        effects.append(
            Inc("switchboard_csat_responses_total", (*labels, str(score) if 1 <= score <= 5 else "out_of_range"))
        )
    elif kind == "chat_ended":
        requested = "true" if event.transcript_requested else "false"
        effects.append(Inc("switchboard_conversation_chats_ended_total", (*labels, requested)))
    elif kind == "repeat_contact_detected":
        effects.append(Inc("switchboard_repeat_contacts_total", labels))
    elif kind == "escalation_acknowledged":
        effects.append(Inc("switchboard_escalations_acknowledged_total", labels))


def _follow_status(state: OpenConversation, at: datetime | None) -> None:
    # Queue membership follows the status: entering QUEUED starts the wait, leaving ends it.
    if state.status == L.QUEUED:
        state.queued_since = state.queued_since or at
    else:
        state.queued_since = None
    if state.status in L.NOT_OWED:
        state.waiting_since = None


def _count_sla(event: SlaUpdate, labels: Labels, effects: list[Effect]) -> None:
    metric_word = L.word(event.metric)
    kind = event.kind
    if kind == "sla_warning_raised":
        effects.append(Inc("switchboard_sla_events_total", (*labels, metric_word, "warning")))
    elif kind == "sla_breached":
        effects.append(Inc("switchboard_sla_events_total", (*labels, metric_word, "breached")))
    elif kind == "sla_fulfilled":
        outcome = "fulfilled_late" if event.fulfilled_late else "fulfilled"
        effects.append(Inc("switchboard_sla_events_total", (*labels, metric_word, outcome)))
        histogram = SLA_HISTOGRAMS.get(metric_word)
        if histogram is not None:
            effects.append(Observe(histogram, labels, float(max(0, event.elapsed_calendar_seconds))))


def _track_clock(clocks: dict[str, SlaClock], event: SlaUpdate, ending: bool) -> None:
    """Keeps the conversation's clock of the event's metric: the newest instance wins."""
    current = clocks.get(event.metric)
    if current is not None and current.instance > event.instance:
        return  # an older clock's late event
    kind = event.kind
    if ending:
        if current is not None and current.instance == event.instance:
            del clocks[event.metric]
        return
    if current is None or current.instance < event.instance:
        clocks[event.metric] = SlaClock(
            event.metric,
            event.instance,
            event.deadline,
            event.target_seconds,
            paused=kind == "sla_paused",
            breached=kind == "sla_breached",
        )
        return
    current.deadline = event.deadline or current.deadline
    current.target_seconds = event.target_seconds or current.target_seconds
    if kind in ("sla_applied", "sla_reapplied"):
        current.paused, current.breached = False, False
    elif kind == "sla_resumed":
        current.paused = False
    elif kind == "sla_paused":
        current.paused = True
    elif kind == "sla_breached":
        current.breached = True


def _from_snapshot(brand_id: str, snap: Snapshot) -> OpenConversation:
    return OpenConversation(
        conversation_id=snap.conversation_id,
        brand_id=brand_id,
        channel=snap.channel,
        queue=snap.queue,
        priority=snap.priority,
        status=snap.status,
        opened_at=snap.opened_at,
        assignee_id=snap.assignee_id,
        human_involved=snap.human_involved,
    )
