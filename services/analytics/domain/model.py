"""The projection's state and outputs, as plain data: open conversations with their SLA clocks,
metric effects, and the result of applying one batch. Pure: no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime


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
    metric: str  # "first_response", "resolution" ... ("" = unknown to this version)
    instance: int
    deadline: datetime | None
    target_seconds: int
    paused: bool = False
    breached: bool = False


@dataclass(slots=True)
class OpenConversation:
    conversation_id: str
    brand_id: str
    channel: str
    queue: str
    priority: str
    status: str
    opened_at: datetime | None = None
    waiting_since: datetime | None = None  # oldest customer message not yet answered
    queued_since: datetime | None = None
    assignee_id: str = ""
    human_involved: bool = False
    handed_off: bool = False
    clocks: dict[str, SlaClock] = field(default_factory=dict)  # by metric

    def copy(self) -> OpenConversation:
        return replace(self, clocks={m: replace(c) for m, c in self.clocks.items()})


@dataclass
class BatchResult:
    changes: dict[str, OpenConversation | None]  # conversation_id -> new state, None = no longer open
    effects: list[Effect]
    orphan_clocks: dict[str, dict[str, SlaClock]]  # SLA clocks for conversations not (yet) known
    resolved_ids: list[str]
