"""Label values for analytics metrics: enum words as the codec gives them, cardinality bounded.

Labels are brand, channel, queue, priority (+ a few bounded ones such as metric, level, reason,
outcome). Brand and queue come from configuration, but a misbehaving producer could still send
thousands of distinct values; LabelGuard caps them so one bad input cannot blow up Prometheus.
"""

from __future__ import annotations

from dataclasses import dataclass, field

OVERFLOW = "other"
UNKNOWN = "unknown"

# Conversation statuses, as the codec names them (and the router stores them).
BOT, QUEUED, ASSIGNED, RESOLVED = "bot", "queued", "assigned", "resolved"
# Statuses in which the customer is not waiting on the brand (SLA clocks pause there too).
NOT_OWED = frozenset({"waiting_on_customer", "waiting_on_third_party"})


def word(value: str) -> str:
    """The label of an enum word: unset, or a value from a newer producer the codec does not know,
    reads "unknown" (bounded, rather than failing)."""
    return value or UNKNOWN


@dataclass
class LabelGuard:
    """Accepts at most `limit` distinct values of one label; later newcomers become "other"."""

    limit: int
    seen: set[str] = field(default_factory=set)

    def __call__(self, value: str) -> str:
        value = value or UNKNOWN
        if value in self.seen:
            return value
        if len(self.seen) >= self.limit:
            return OVERFLOW
        self.seen.add(value)
        return value


@dataclass
class Labeller:
    """Turns snapshot fields into the bounded common label tuple (brand, channel, queue, priority)."""

    brands: LabelGuard = field(default_factory=lambda: LabelGuard(200))
    queues: LabelGuard = field(default_factory=lambda: LabelGuard(100))

    def common(self, brand_id: str, channel: str, queue: str, priority: str) -> tuple[str, str, str, str]:
        return (self.brands(brand_id), word(channel), self.queues(queue), word(priority))
