"""Label values for analytics metrics: enums as short lower-case words, cardinality bounded.

Labels are brand, channel, queue, priority (+ a few bounded ones such as metric, level, reason,
outcome). Brand and queue come from configuration, but a misbehaving producer could still send
thousands of distinct values; LabelGuard caps them so one bad input cannot blow up Prometheus.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from switchboard.events.v1 import common_pb2, conversation_pb2, escalation_pb2, notification_pb2, sla_pb2

OVERFLOW = "other"
UNKNOWN = "unknown"


def _enum_words(enum, prefix: str) -> dict[int, str]:
    """CHANNEL_EMAIL -> "email"; *_UNSPECIFIED -> "unknown"."""
    words = {}
    for name, number in enum.items():
        word = name.removeprefix(prefix).lower()
        words[number] = UNKNOWN if word == "unspecified" else word
    return words


CHANNELS = _enum_words(common_pb2.Channel, "CHANNEL_")
PRIORITIES = _enum_words(common_pb2.Priority, "PRIORITY_")
STATUSES = _enum_words(common_pb2.ConversationStatus, "CONVERSATION_STATUS_")
SLA_METRICS = _enum_words(sla_pb2.SlaMetric, "SLA_METRIC_")
HANDOFF_REASONS = _enum_words(conversation_pb2.HandoffReason, "HANDOFF_REASON_")
ESCALATION_REASONS = _enum_words(escalation_pb2.EscalationReason, "ESCALATION_REASON_")
NOTIFICATION_KINDS = _enum_words(notification_pb2.NotificationKind, "NOTIFICATION_KIND_")
DELIVERY_OUTCOMES = _enum_words(notification_pb2.DeliveryOutcome, "DELIVERY_OUTCOME_")

RESOLVED = common_pb2.CONVERSATION_STATUS_RESOLVED
QUEUED = common_pb2.CONVERSATION_STATUS_QUEUED
ASSIGNED = common_pb2.CONVERSATION_STATUS_ASSIGNED
# Statuses in which the customer is not waiting on the brand (SLA clocks pause there too).
NOT_OWED = frozenset(
    {common_pb2.CONVERSATION_STATUS_WAITING_ON_CUSTOMER, common_pb2.CONVERSATION_STATUS_WAITING_ON_THIRD_PARTY}
)


def enum_word(words: dict[int, str], number: int) -> str:
    # Unknown numbers come from a newer producer; keep them bounded rather than failing.
    return words.get(number, UNKNOWN)


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

    def common(self, brand_id: str, channel: int, queue: str, priority: int) -> tuple[str, str, str, str]:
        return (
            self.brands(brand_id),
            enum_word(CHANNELS, channel),
            self.queues(queue),
            enum_word(PRIORITIES, priority),
        )
