"""Which part of the projection a replica owns, and which consumed records it has applied already.

Analytics scales by Kafka partition ownership. Conversation and SLA events are keyed by
conversation id and the two topics have the same partition count, so partition p of both holds
the whole story of the same conversations: together they form one *slot* ("conversations|p"),
whose projection state (open conversations, stashed SLA clocks) lives on exactly one replica.
Escalation and delivery events only move counters: each of their partitions is a slot of its own.

A slot's owner holds an *epoch* (bumped in MongoDB on every assignment) and the next offset per
topic that the slot's stored state already includes. A record below that offset was applied, and
counted, by an earlier owner whose offset commit did not land: it is skipped, so a rebalance never
counts anything twice. Writes carry the epoch; a revoked owner's late write meets a newer epoch and
is refused (fenced). Pure: no I/O.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field

# Co-partitioned topics whose events build the per-conversation projection state.
STATE_TOPICS = ("conversations", "sla")
STATE_GROUP = "conversations"


@dataclass(frozen=True, slots=True, order=True)
class Slot:
    group: str  # "conversations" (state: conversations + sla topics), "escalations", "deliveries"
    partition: int

    @property
    def key(self) -> str:
        return f"{self.group}|{self.partition}"

    @property
    def holds_state(self) -> bool:
        return self.group == STATE_GROUP

    @staticmethod
    def parse(key: str) -> Slot:
        group, _, partition = key.rpartition("|")
        return Slot(group, int(partition))


def slot_of(logical_topic: str, partition: int) -> Slot:
    return Slot(STATE_GROUP if logical_topic in STATE_TOPICS else logical_topic, partition)


@dataclass(slots=True)
class SlotClaim:
    """This replica's hold on a slot: the epoch it writes with and what the stored state includes."""

    slot: Slot
    epoch: int
    offsets: dict[str, int] = field(default_factory=dict)  # logical topic -> next offset to apply
    recent_ids: OrderedDict[str, None] = field(default_factory=OrderedDict)

    def applied(self, logical_topic: str, offset: int | None) -> bool:
        """A record of this slot below the stored offset: applied and counted by an earlier owner."""
        return offset is not None and offset < self.offsets.get(logical_topic, 0)

    def seen(self, event_id: str) -> bool:
        """The same event id already applied while this replica held the slot (a producer that
        re-published after its own crash keeps ids, and the copy lands on the same partition)."""
        return event_id in self.recent_ids

    def advanced(self, offsets: dict[str, int]) -> dict[str, int]:
        """The offsets after a batch: never backwards (a replayed batch keeps the higher mark)."""
        merged = dict(self.offsets)
        for topic, offset in offsets.items():
            merged[topic] = max(offset, merged.get(topic, 0))
        return merged

    def remember(self, event_ids: list[str], offsets: dict[str, int], limit: int) -> None:
        self.offsets = self.advanced(offsets)
        for event_id in event_ids:
            self.recent_ids[event_id] = None
            self.recent_ids.move_to_end(event_id)
        while len(self.recent_ids) > limit:
            self.recent_ids.popitem(last=False)


def continues(parked: SlotClaim | None, epoch: int) -> bool:
    """A slot re-assigned to the replica that held it, with nobody in between (the epoch moved by
    exactly one): its state in memory is current and need not be reloaded from MongoDB."""
    return parked is not None and epoch == parked.epoch + 1
