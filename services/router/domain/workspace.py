"""What one batch works on: the state loaded for it (Workspace), and the effects its inputs produce.

Effect ids are derived from the input's event id (Emitter), so replaying an input yields the same ids.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from .model import (
    Agent,
    ChatSession,
    Conversation,
    Customer,
    Handle,
    OrderRecord,
    QueueEntry,
    QueueStats,
)
from .waiting_line import WaitingLine

CONVERSATIONS = "conversations"
NOTIFICATIONS = "notifications"
EMITTED = "emitted"  # a recorded step that is an effect (Recording.steps)


class Rejected(ValueError):
    """The input cannot be applied (unknown reference, invalid value). The message says what to fix."""


@dataclass(slots=True)
class Effect:
    topic: str  # conversations | notifications
    case: str  # ConversationEvent oneof case, or notification kind (bot_answer, ...)
    event_id: str
    key: str
    brand_id: str
    occurred_at: datetime
    snapshot: dict
    data: dict
    cause_id: str


@dataclass(slots=True)
class Recording:
    """One input's contact side, recorded: its steps in order, and the conversations they touched so far
    (each routing step carries their contact fields as of that step)."""

    steps: list[tuple] = field(default_factory=list)
    touched: dict[str, Conversation] = field(default_factory=dict)

    def touch(self, conversations) -> None:
        self.touched.update((c.id, c) for c in conversations if c.id)


@dataclass(slots=True)
class Workspace:
    """State a batch needs, loaded up front; `dirty_*` name what to write back."""

    conversations: dict[str, Conversation] = field(default_factory=dict)
    thread_index: dict[tuple[str, str], str] = field(default_factory=dict)  # (brand, key) -> conversation id
    stored_threads: dict[tuple[str, str], str] = field(default_factory=dict)  # thread_index as loaded
    customers: dict[str, Customer] = field(default_factory=dict)
    handles: dict[tuple[str, Handle], str] = field(default_factory=dict)  # (brand, handle) -> customer id
    agents: dict[str, dict[str, Agent]] = field(default_factory=dict)  # brand -> agent id -> agent
    queue: dict[str, dict[str, QueueEntry]] = field(default_factory=dict)  # brand -> conversation id -> entry
    lines: dict[str, WaitingLine] = field(default_factory=dict)  # brand -> queue in serving order (an index)
    stats: dict[str, QueueStats] = field(default_factory=dict)  # "<brand>/<queue>"
    orders: dict[str, OrderRecord] = field(default_factory=dict)  # "<brand>/<order_id>"
    sessions: dict[str, ChatSession] = field(default_factory=dict)  # "<brand>/<session id>"
    deliveries: dict[str, dict] = field(default_factory=dict)  # "<brand>/<provider>/<id>"
    history: dict[str, list[dict]] = field(default_factory=dict)  # conversation id -> messages
    new_messages: list[dict] = field(default_factory=list)
    new_handles: list[tuple[str, Handle, str]] = field(default_factory=list)
    dirty_conversations: set[str] = field(default_factory=set)
    dirty_customers: set[str] = field(default_factory=set)
    dirty_agents: set[tuple[str, str]] = field(default_factory=set)
    dirty_queue: set[tuple[str, str]] = field(default_factory=set)
    removed_queue: set[tuple[str, str]] = field(default_factory=set)
    dirty_stats: set[str] = field(default_factory=set)
    dirty_orders: set[str] = field(default_factory=set)
    dirty_sessions: set[str] = field(default_factory=set)
    dirty_deliveries: set[str] = field(default_factory=set)
    merges: list[tuple[str, str, str]] = field(default_factory=list)  # (brand, merged, surviving)
    effects: list[Effect] = field(default_factory=list)
    persisted: set[str] = field(default_factory=set)  # ids of documents that came from the store
    stored_message_ids: set[str] = field(default_factory=set)  # messages of this batch's inputs already stored
    updated_messages: dict[str, dict] = field(default_factory=dict)  # stored messages changed (delivery state)
    # While an input's contact side runs with routing deferred (Engine(deferred_routing=True)): what it asked
    # of the routing side and what it emitted, in order (routing_ops.py); None otherwise.
    recording: Recording | None = None
    # While a recorded routing step is replayed: the contact fields of the input's conversations as they
    # stood when the step was asked for (effects the step emits show those, not the input's final ones).
    contact_views: dict[str, dict] = field(default_factory=dict)

    def customer_of(self, brand_id: str, handle: Handle) -> str | None:
        """Follows merges, so a handle of a merged profile resolves to the surviving one."""
        customer_id = self.handles.get((brand_id, handle))
        seen = 0
        while customer_id and customer_id in self.customers and self.customers[customer_id].merged_into and seen < 10:
            customer_id = self.customers[customer_id].merged_into
            seen += 1
        return customer_id


# Conversation fields the routing side decides (docs/router.md "The stage keyed by customer", field ownership);
# `status` is derived from them and the contact side's `phase` (model.derived_status).
ROUTING_FIELDS = ("people_status", "assignee_id", "previous_assignee_id", "queue", "booked_class",
                  "assignment_history", "assigned_at", "enqueued_at", "reassignment_count", "silence_warned_for",
                  "unattended_escalated_for", "queue_exit_offer", "routed_inputs")
# Snapshot fields the routing side decides; the rest of a snapshot is the contact side's.
ROUTING_SNAPSHOT_FIELDS = ("status", "queue", "assignee_id")
# The contact side's conversation fields the routing side reads (queue choice, eligibility, silence timers,
# queue-exit offers, where position messages go): with the snapshot's contact fields, what a delta must
# carry for the routing stage to decide without the contact side's state. Checked against the routing
# code by tests/unit/router/test_router_seam.py.
CONTACT_FIELDS_ROUTING_READS = frozenset({
    "id", "brand_id", "opened_at", "channel", "channels", "language", "priority", "product_line", "vip",
    "awaiting_reply_since", "reply_handle", "reply_channel", "reachable_on"})
_CARRIED_BEYOND_SNAPSHOT = ("brand_id", "channels", "product_line", "vip", "awaiting_reply_since", "reachable_on",
                            "phase")


def contact_view(conv: Conversation) -> dict:
    """The contact side's fields of the conversation as they stand now (copied): its snapshot fields (by
    snapshot key) and what else the routing side reads. What a delta step carries for the conversation."""
    view = {k: v for k, v in snapshot(conv).items() if k not in ROUTING_SNAPSHOT_FIELDS}
    view.update((name, _copied(getattr(conv, name))) for name in _CARRIED_BEYOND_SNAPSHOT)
    return view


def _copied(value):
    return list(value) if isinstance(value, list) else value


def snapshot(conv: Conversation) -> dict:
    return {
        "conversation_id": conv.id,
        "customer_id": conv.customer_id,
        "channel": conv.channel,
        "status": conv.status,
        "priority": conv.priority,
        "queue": conv.queue,
        "language": conv.language,
        "assignee_id": conv.assignee_id,
        "opened_at": conv.opened_at,
        "reopen_count": conv.reopen_count,
        "region": conv.region,
        "reply_handle": dict(conv.reply_handle),
        "email_threading": dict(conv.email_threading),
        "customer_name": conv.customer_name,
        "order_ids": list(conv.order_ids),
        "human_involved": conv.human_involved,
        "reply_channel": conv.reply_channel,
    }


class Emitter:
    """Effects of one input, with ids derived from the input id (stable under replay)."""

    def __init__(self, ws: Workspace, derive: Callable[..., str], input_id: str, brand_id: str, at: datetime):
        self.ws, self.derive, self.input_id, self.brand_id, self.at = ws, derive, input_id, brand_id, at
        self._counts: dict[tuple, int] = {}

    def _id(self, *parts: str) -> str:
        n = self._counts.get(parts, 0)
        self._counts[parts] = n + 1
        return self.derive(self.input_id, *parts) if n == 0 else self.derive(self.input_id, *parts, n)

    def event(self, conv: Conversation, case: str, **data) -> str:
        event_id = self._id(case, conv.id or conv.customer_id)
        key = conv.id or f"customer/{conv.customer_id}"  # a merge of customers without any conversation
        self._add(Effect(CONVERSATIONS, case, event_id, key, self.brand_id, self.at, snapshot(conv), data,
                         self.input_id), conv)
        return event_id

    def notify(self, conv: Conversation, kind: str, *, intent_id: str | None = None, **data) -> str:
        intent_id = intent_id or self._id("notify", kind, conv.id)
        data.setdefault("recipient", dict(conv.reply_handle))
        # Where the customer asked to be answered (queue exit: another channel they use), else where they wrote.
        data.setdefault("channel", conv.reply_channel if conv.reply_channel not in ("", "phone") else conv.channel)
        data.setdefault("language", conv.language)
        self._add(Effect(NOTIFICATIONS, kind, intent_id, conv.id, self.brand_id, self.at, snapshot(conv), data,
                         self.input_id), conv)
        return intent_id

    def _add(self, effect: Effect, conv: Conversation) -> None:
        if self.ws.recording is None:
            if (view := self.ws.contact_views.get(conv.id)) is not None:
                for key in effect.snapshot.keys() - ROUTING_SNAPSHOT_FIELDS:
                    effect.snapshot[key] = view[key]
            self.ws.effects.append(effect)
        else:  # decided by the contact side: its routing fields are filled in when replayed (routing_ops.py)
            self.ws.recording.touch((conv,))
            self.ws.recording.steps.append((EMITTED, effect, conv, contact_view(conv)))

