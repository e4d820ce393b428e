"""What the SLA keeps per conversation (pure): the facts it times by, one `SlaClock` per metric,
counters and the escalation history. The handler's plumbing (Kafka partition, offset, the latest
snapshot) is not here: the adapters keep it beside the state (adapters/ports.py `SlaRecord`)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any


@dataclass(slots=True)
class Facts:
    """What the SLA needs from the ConversationSnapshot (after the change)."""

    brand: str
    channel: str        # email, chat, phone ... (lower-case, without the CHANNEL_ prefix)
    priority: str       # low, normal, high, urgent
    queue: str = ""
    region: str = ""
    status: str = ""    # bot, queued, assigned, waiting_on_customer, waiting_on_third_party, resolved
    assignee: str = ""


@dataclass(slots=True)
class Change:
    """One conversation event, normalised from ConversationEvent by the codec."""

    event_id: str
    kind: str            # the oneof case: conversation_opened, customer_message_appended, ...
    at: datetime         # occurred_at: event time
    facts: Facts
    auto_reply: bool = False
    reassignment_count: int = 0
    escalation_id: str = ""
    order_kind: str = ""          # created, shipped, delayed ...
    order_id: str = ""
    order_number: str = ""
    order_eta: datetime | None = None
    answered_at: datetime | None = None
    reason: str = ""
    agent_id: str = ""            # who acknowledged an escalation; the unavailable assignee
    escalate: bool = False        # assignee_unavailable: nobody else can take the conversation


@dataclass(slots=True)
class SlaClock:
    """One instance of one SLA metric's clock (named apart from switchboard.common.clock.Clock, the time source)."""

    metric: str
    instance: int
    policy_id: str
    calendar_id: str
    business_hours: bool
    target_us: int
    started_at: datetime
    state: str                  # running | paused | fulfilled | cancelled
    since: datetime             # running: budget measured at; paused: paused at; stopped: stopped at
    remaining_us: int           # budget left at `since`; negative once past the deadline
    deadline: datetime | None   # running clocks only
    breached: bool = False
    breached_at: datetime | None = None
    warned_fraction: float = 0.0
    warn_levels: int = 0        # warning timers armed (for cancelling)
    escalated_level: int = 0
    acknowledged: bool = False
    warnings: list = field(default_factory=list)  # [{"fraction", "at"}] raised on this instance (history)

    @property
    def active(self) -> bool:
        return self.state in ("running", "paused")

    @property
    def target(self) -> timedelta:
        return timedelta(microseconds=self.target_us)

    @property
    def remaining(self) -> timedelta:
        return timedelta(microseconds=self.remaining_us)


@dataclass(slots=True)
class ConversationSla:
    conversation_id: str
    brand: str = ""
    facts: Facts | None = None
    clocks: dict[str, SlaClock] = field(default_factory=dict)
    instances: dict[str, int] = field(default_factory=dict)   # metric -> last instance number
    episode: int = 1                   # +1 on each reopen
    human_replied: bool = False        # in this episode
    first_response_episode: int = 0    # the episode whose first-response clock was started
    awaiting_since: datetime | None = None   # oldest unanswered customer message (after last human reply)
    contacts: int = 0                  # customer contacts without resolution
    repeat_escalated: bool = False
    reassign_escalated: bool = False
    proactive_n: int = 0
    proactive_due: datetime | None = None
    # escalations raised, and who acknowledged them (history.py; read by the read API)
    escalations: list[dict[str, Any]] = field(default_factory=list)

    def is_active(self, metric: str) -> bool:
        clock = self.clocks.get(metric)
        return clock is not None and clock.active
