"""What the tracker decides and the adapters carry out (pure): events to emit (each with the parts of
a deterministic id), timers to arm (upsert by deterministic timer id) and timers to cancel. Plus the
id and time arithmetic those decisions share."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ONE_MS = timedelta(milliseconds=1)
# MongoDB keeps datetimes to the millisecond: a timer read back may differ from the state's
# deadline by under 2 ms. Re-applied deadlines move by whole seconds, so 10 ms tells them apart.
SAME_TIME = timedelta(milliseconds=10)


@dataclass(slots=True)
class TimerArm:
    id: str
    conversation_id: str
    kind: str        # warn | breach | escalate | proactive
    metric: str
    instance: int
    level: int
    due: datetime
    reason: str = ""

    def __post_init__(self) -> None:
        # Whole milliseconds: what MongoDB keeps, so a timer reloaded after a crash has the very
        # same due time (and therefore the same event ids) as before it.
        self.due = self.due.replace(microsecond=self.due.microsecond - self.due.microsecond % 1000)


@dataclass(slots=True)
class FiredTimer:
    """What the scheduler hands back to `fire` (a subset of the stored timer)."""

    id: str
    kind: str
    metric: str
    instance: int
    level: int
    due: datetime
    reason: str = ""


@dataclass(slots=True)
class SlaOut:
    event: str       # applied | warning | breached | fulfilled | paused | resumed | reapplied | cancelled
    metric: str
    instance: int
    policy_id: str
    deadline: datetime | None
    target_seconds: int
    business_hours: bool
    calendar_id: str
    detail: dict[str, Any]
    id_parts: tuple


@dataclass(slots=True)
class EscalationOut:
    escalation_id: str
    level: int
    level_name: str
    reason: str      # sla_breached | not_acknowledged | repeat_contact | reassigned_too_often | assignee_unavailable
    metric: str      # "" for repeat contact / reassignment escalations
    instance: int
    deadline: datetime | None
    breached_at: datetime | None
    raised_at: datetime
    recipients: tuple[str, ...]
    destinations: tuple[str, ...]
    detail: str
    target_seconds: int
    id_parts: tuple


@dataclass(slots=True)
class ProactiveOut:
    template: str
    variables: dict[str, str]
    requested_at: datetime
    id_parts: tuple


@dataclass(slots=True)
class Decisions:
    emits: list[SlaOut | EscalationOut | ProactiveOut] = field(default_factory=list)
    arm: list[TimerArm] = field(default_factory=list)
    cancel: list[str] = field(default_factory=list)

    def extend(self, other: Decisions) -> None:
        self.emits.extend(other.emits)
        self.arm.extend(other.arm)
        self.cancel.extend(other.cancel)


def timer_id(conversation_id: str, metric: str, instance: int, kind: str, level: int = 0) -> str:
    return f"{conversation_id}|{metric}|{instance}|{kind}|{level}"


def parse_timer_id(tid: str) -> tuple[str, str, int, str, int]:
    """conversation|metric|instance|kind|level -> its parts (the conversation id may contain '|')."""
    conversation_id, metric, instance, kind, level = tid.rsplit("|", 4)
    return conversation_id, metric, int(instance), kind, int(level)


def escalation_id(conversation_id: str, metric: str, instance: int, level: int) -> str:
    return f"{conversation_id}:{metric}:{instance}:{level}"


def epoch_ms(moment: datetime) -> int:
    """Exact integer milliseconds since the epoch (no float rounding)."""
    return (moment - EPOCH) // ONE_MS


def from_epoch_ms(ms: int) -> datetime:
    return EPOCH + timedelta(milliseconds=ms)


def micros(delta: timedelta) -> int:
    """Exact integer microseconds of a timedelta."""
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds


def whole_seconds(us: int) -> int:
    """Microseconds -> whole seconds, truncated toward zero."""
    return int(us // 1_000_000) if us >= 0 else -int((-us) // 1_000_000)
