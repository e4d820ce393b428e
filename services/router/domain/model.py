"""The router's state, as plain Python: conversations, customers, agents, queue entries.

Enumerations are strings here (mapped to protobuf enums at the edge) so the domain stays free of
generated code and every document stored in MongoDB is readable by a person.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any

# Conversation statuses.
BOT = "bot"
QUEUED = "queued"
ASSIGNED = "assigned"
WAITING_ON_CUSTOMER = "waiting_on_customer"
WAITING_ON_THIRD_PARTY = "waiting_on_third_party"
RESOLVED = "resolved"
STATUSES = (BOT, QUEUED, ASSIGNED, WAITING_ON_CUSTOMER, WAITING_ON_THIRD_PARTY, RESOLVED)
OPEN_STATUSES = frozenset(STATUSES) - {RESOLVED}
# A conversation's phase, as the contact side decides it: with the bot, with people, resolved. While
# with people, the routing side's `people_status` says where (queued, assigned, waiting on someone).
PEOPLE = "people"


def derived_status(phase: str, people_status: str) -> str:
    """The status every reader sees, from the contact side's phase and the routing side's people status."""
    return (people_status or QUEUED) if phase == PEOPLE else phase


def split_status(status: str) -> tuple[str, str]:
    """(phase, people_status) of a status: how a conversation stored before the split is read."""
    if status in (BOT, RESOLVED):
        return status, ""
    return (PEOPLE, status) if status else ("", "")

# Priorities, lowest to highest (values match the wire enum).
LOW, NORMAL, HIGH, URGENT = 1, 2, 3, 4
PRIORITY_NAMES = {LOW: "low", NORMAL: "normal", HIGH: "high", URGENT: "urgent"}

CHANNELS = ("email", "chat", "phone", "sms", "whatsapp", "messenger", "vk", "telegram", "web_form", "marketplace")

# Agent presence.
ONLINE, AWAY, OFFLINE = "online", "away", "offline"

# Handle kinds (values of the wire enum, lower-case).
EMAIL, PHONE, WHATSAPP_ID, MESSENGER_PSID, VK_ID, TELEGRAM_ID, CHAT_SESSION, MARKETPLACE_ID = (
    "email",
    "phone",
    "whatsapp_id",
    "messenger_psid",
    "vk_id",
    "telegram_id",
    "chat_session",
    "marketplace_id",
)


def raise_priority(priority: int, levels: int = 1) -> int:
    return min(URGENT, max(priority, NORMAL) + levels)


@dataclass(frozen=True, slots=True)
class Handle:
    kind: str
    value: str

    def key(self, brand_id: str) -> str:
        return f"{brand_id}|{self.kind}|{self.value}"


@functools.cache
def _field_names(cls: type) -> frozenset[str]:
    return frozenset(f.name for f in fields(cls))


class _Doc:
    """dataclass <-> MongoDB document, `_id` being the `id` field."""

    def to_doc(self) -> dict[str, Any]:
        """A shallow view (nested lists/dicts are shared): it is encoded to BSON at once, never kept.
        dataclasses.asdict deep-copied every nested value and was a fifth of the router's CPU."""
        doc = {name: getattr(self, name) for name in _field_names(type(self))}
        doc["_id"] = doc.pop("id")
        return doc

    @classmethod
    def from_doc(cls, doc: dict[str, Any]):
        known = _field_names(cls)
        values = {k: v for k, v in doc.items() if k in known}
        values["id"] = doc["_id"]
        return cls(**values)


@dataclass(slots=True)
class Customer(_Doc):
    id: str
    brand_id: str
    created_at: datetime
    name: str = ""
    handles: list[dict] = field(default_factory=list)  # [{"kind":..., "value":...}]
    order_ids: list[str] = field(default_factory=list)
    vip: bool = False
    last_conversation_id: str = ""
    merged_into: str = ""
    merged_from: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Conversation(_Doc):
    id: str
    brand_id: str
    customer_id: str
    opened_at: datetime
    channel: str
    # What every reader sees (snapshots, queries, the (brand_id, status) index): derived from `phase`
    # (contact-owned) and `people_status` (routing-owned); written only through set_phase and
    # set_people_status (docs/router.md "The stage keyed by customer"). Given alone (stored before them), it is split.
    status: str = BOT
    phase: str = ""
    people_status: str = ""
    channels: list[str] = field(default_factory=list)
    language: str = ""
    priority: int = NORMAL
    queue: str = ""
    assignee_id: str = ""
    previous_assignee_id: str = ""
    reassignment_count: int = 0
    reopen_count: int = 0
    region: str = ""
    reply_handle: dict = field(default_factory=dict)  # {"kind":..., "value":...}
    email_threading: dict = field(default_factory=dict)
    customer_name: str = ""
    order_ids: list[str] = field(default_factory=list)
    human_involved: bool = False
    # Sent to people by the contact side (a handoff, an assignment, a reply): a reopen goes back to people,
    # not to the bot. Contact-owned, so the reopen needs no routing field (docs/router.md "The stage keyed
    # by customer").
    went_to_people: bool = False
    vip: bool = False
    product_line: str = ""
    thread_keys: list[str] = field(default_factory=list)
    updated_at: datetime | None = None
    last_customer_message_at: datetime | None = None
    resolved_at: datetime | None = None
    assigned_at: datetime | None = None
    enqueued_at: datetime | None = None  # first time it waited for a person: kept when it goes back
    # Bot memory: what was already said, how often it did not understand, recent customer turns.
    bot_answer_keys: list[str] = field(default_factory=list)
    bot_text_digests: list[str] = field(default_factory=list)
    bot_unmatched_turns: int = 0
    recent_customer_times: list[datetime] = field(default_factory=list)
    # Repeat-contact detection: customer messages since the last human reply.
    contacts_since_human_reply: int = 0
    repeat_contact_reported: bool = False
    csat_requested: bool = False
    message_count: int = 0
    attachments: list[dict] = field(default_factory=list)  # what the customer already sent
    handoffs: list[dict] = field(default_factory=list)
    chat_session_id: str = ""
    calls: dict = field(default_factory=dict)  # call_id -> {"ringing_at": ...}
    escalations_acknowledged: list[str] = field(default_factory=list)
    csat_score: int = 0
    booked_class: str = ""  # capacity class booked on the assignee
    channel_counts: dict[str, int] = field(default_factory=dict)
    reply_ids: list[str] = field(default_factory=list)  # agent replies applied (client idempotency)
    assignment_history: list[dict] = field(default_factory=list)  # who got it, when, by which rule and why
    # The routing stage's latest deltas applied here (input ids, domain/delta.py): a delta sent again is
    # recognised by the conversations it names, with no dedupe document of its own.
    routed_inputs: list[str] = field(default_factory=list)
    # Router timers (domain/timers.py): the earliest moment a tick has something to do here.
    timer_due_at: datetime | None = None
    pending_transcripts: list[dict] = field(default_factory=list)  # chats ended, transcript sent after a grace
    awaiting_reply_since: datetime | None = None  # first customer message no person has answered yet
    last_agent_reply_at: datetime | None = None
    silence_warned_for: str = ""  # "<assignee>@<since>": the assignee was warned about this silence
    unattended_escalated_for: str = ""  # "<assignee>@<reason>": the wait was escalated (nobody else could take it)
    reply_channel: str = ""  # where the agent answers when the customer chose another channel (queue exit)
    queue_exit_offer: dict = field(default_factory=dict)  # {"options": [...], "at": ..., "chosen": ...}
    # Channels the customer has a handle for that a queue exit can move them to (email, whatsapp, sms): kept by
    # the contact side, so the routing side's offer needs no customer (queue_exit.py).
    reachable_on: list[str] = field(default_factory=list)
    callback: dict = field(default_factory=dict)  # {"number": ..., "requested_at": ...}: call the customer back

    def __post_init__(self) -> None:
        if not self.phase:
            self.phase, self.people_status = split_status(self.status)
        else:  # the two halves may be written by two stages: the status is always theirs, derived
            self.status = derived_status(self.phase, self.people_status)

    def set_phase(self, phase: str) -> None:
        """The contact side's decision: with the bot, with people, resolved."""
        self.phase = phase
        self.status = derived_status(phase, self.people_status)

    def set_people_status(self, people_status: str) -> None:
        """The routing side's: queued, assigned, waiting on the customer or a third party ("" once resolved)."""
        self.people_status = people_status
        self.status = derived_status(self.phase, people_status)

    @property
    def is_open(self) -> bool:
        return self.phase != RESOLVED

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Conversation:
        conv = _Doc.from_doc.__func__(cls, doc)  # (slots dataclasses have no zero-argument super())
        if "went_to_people" not in doc:  # stored before the flag: what routing recorded tells
            conv.went_to_people = bool(doc.get("assignee_id") or doc.get("previous_assignee_id") or doc.get("handoffs"))
        for name in _conversation_times():
            value = getattr(conv, name)
            if isinstance(value, str):
                setattr(conv, name, stored_time(value))
        return conv


@functools.cache
def _conversation_times() -> tuple[str, ...]:
    return tuple(f.name for f in fields(Conversation) if str(f.type).startswith("datetime"))


def stored_time(value: datetime | str | None) -> datetime | None:
    """A stored moment. nx-27017 (the embedded store) keeps a top-level datetime written by `$set` on an
    existing document as text ("2026-01-05 09:00:00.123000", UTC): each router stage writes its half of a
    conversation that way (adapters/store_writes.py UPSERT_SET). MongoDB keeps a datetime."""
    if not isinstance(value, str):
        return value
    moment = datetime.fromisoformat(value)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


@dataclass(slots=True)
class Agent(_Doc):
    """An agent of one brand; `id` is "<brand_id>/<agent_id>"."""

    id: str
    brand_id: str
    agent_id: str
    name: str = ""
    queues: list[str] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)  # "*" = any
    channels: list[str] = field(default_factory=list)  # capacity classes: chat, email, phone
    product_lines: list[str] = field(default_factory=list)  # empty = any
    vip: bool = False
    capacity: dict[str, int] = field(default_factory=dict)  # per capacity class
    load: dict[str, int] = field(default_factory=dict)  # per capacity class
    active: list[str] = field(default_factory=list)  # conversation ids held
    presence: str = OFFLINE
    idle_since: datetime | None = None  # last assignment, or coming online
    presence_since: datetime | None = None  # when the current presence began (away / offline graces)

    def spare(self, capacity_class: str) -> int:
        return self.capacity.get(capacity_class, 0) - self.load.get(capacity_class, 0)


@dataclass(slots=True)
class QueueEntry(_Doc):
    """A conversation waiting for an agent. `id` is the conversation id."""

    id: str
    brand_id: str
    queue: str
    priority: int
    channel: str
    capacity_class: str
    language: str
    enqueued_at: datetime
    product_line: str = ""
    vip: bool = False
    preferred_agent: str = ""  # sticky: the previous assignee
    last_notified_position: int = 0
    last_notified_at: datetime | None = None  # when the customer was last told their place
    moved_from: str = ""  # back in the queue from this agent (reassignment) ...
    move_reason: str = ""  # ... for this reason: agent_offline, agent_away, agent_silent
    excluded_agent: str = ""  # never offered to this agent (the silent assignee)
    quiet: bool = False  # chose to keep their place (queue exit): told only at pickup


@dataclass(slots=True)
class QueueStats(_Doc):
    """Recent dequeue times of one queue (`id` "<brand_id>/<queue>"), for the ETA."""

    id: str
    brand_id: str
    queue: str
    dequeued_at: list[datetime] = field(default_factory=list)


@dataclass(slots=True)
class OrderRecord(_Doc):
    """Latest known facts of one order (`id` "<brand_id>/<order_id>")."""

    id: str
    brand_id: str
    order_id: str
    kind: str
    occurred_at: datetime
    customer_id: str = ""
    order_number: str = ""
    carrier: str = ""
    tracking_number: str = ""
    tracking_url: str = ""
    estimated_delivery: datetime | None = None
    reason: str = ""
    history: list[dict] = field(default_factory=list)  # [{"kind":..., "at":...}]


@dataclass(slots=True)
class ChatSession(_Doc):
    """`id` is "<brand_id>/<chat_session_id>"."""

    id: str
    brand_id: str
    chat_session_id: str
    started_at: datetime
    customer_id: str = ""
    customer_name: str = ""
    email: str = ""
    language_hint: str = ""
    transcript_opt_out: bool = False
    ended_at: datetime | None = None
