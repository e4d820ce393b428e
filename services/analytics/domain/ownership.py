"""Which part of the projection a replica owns, and which consumed records it has applied already.

Analytics scales by Kafka partition ownership. Conversation and SLA events are keyed by
conversation id and the two topics have the same partition count, so partition p of both holds
the whole story of the same conversations: together they form one *slot* ("conversations|p"),
whose projection state (open conversations, stashed SLA clocks) lives on exactly one replica.
Escalation and delivery events only move counters: each of their partitions is a slot of its own.

A slot's owner holds an *epoch* (bumped in MongoDB on every assignment) and the next offset per
topic that the slot's stored state already includes. Its in-memory state is authoritative while it
owns the slot: each batch is applied in memory, and a *checkpoint* writes what changed since the last
one (each changed conversation once, in its latest state) and then the offsets, with the counter
effects of those records counted only once the offsets are stored. A record below the stored offset
is in the stored state: the next owner skips it, and reads the records after it again. Writes carry
the epoch; a revoked owner's late checkpoint meets a newer epoch and is refused (fenced), and what
it had not checkpointed is never counted by it. Pure: no I/O.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from .model import Effect, OpenConversation

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


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """What one slot's checkpoint writes: the latest state of each conversation changed since the last
    one (None: no longer open), then the offsets that state includes; its effects count once it is stored."""

    slot: Slot
    epoch: int
    changes: dict[str, OpenConversation | None]
    offsets: dict[str, int]
    effects: list[Effect]
    relayout: bool = False  # the slot's stored layout is an older one: `changes` holds every open conversation


@dataclass(slots=True)
class SlotClaim:
    """This replica's hold on a slot: the epoch it writes with, what its state in memory includes
    (`offsets`), and what its stored state includes (`stored`)."""

    slot: Slot
    epoch: int
    offsets: dict[str, int] = field(default_factory=dict)  # logical topic -> next offset to apply
    recent_ids: OrderedDict[str, None] = field(default_factory=OrderedDict)
    stored: dict[str, int] | None = None  # the offsets of the last checkpoint (None: `offsets`)
    dirty: set[str] = field(default_factory=set)  # conversations changed since the last checkpoint
    pending: list[Effect] = field(default_factory=list)  # effects of records not checkpointed yet
    relayout: bool = False  # loaded from another stored layout: rewritten whole by the next checkpoint

    def __post_init__(self) -> None:
        if self.stored is None:
            self.stored = dict(self.offsets)

    def applied(self, logical_topic: str, offset: int | None) -> bool:
        """A record of this slot below the offset its state includes: applied here, or applied and
        counted by an earlier owner."""
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

    def changed(self, conversation_ids: Iterable[str], effects: list[Effect]) -> None:
        """A batch applied in memory: its conversations await the next checkpoint, its effects too."""
        self.dirty.update(conversation_ids)
        self.pending.extend(effects)

    def take(self, open_now: Mapping[str, OpenConversation]) -> Checkpoint | None:
        """What the next checkpoint writes (None: nothing changed since the last), handed over: a batch
        applied while it is written belongs to the one after."""
        if not self.dirty and not self.pending and self.offsets == self.stored and not self.relayout:
            return None
        ids = self.dirty | set(open_now) if self.relayout else self.dirty
        changes = {cid: open_now.get(cid) for cid in sorted(ids)}
        taken = Checkpoint(self.slot, self.epoch, changes, dict(self.offsets), self.pending, self.relayout)
        self.dirty, self.pending = set(), []
        return taken

    def stored_as(self, checkpoint: Checkpoint) -> None:
        self.stored = checkpoint.offsets
        if checkpoint.relayout:
            self.relayout = False

    def give_back(self, checkpoint: Checkpoint) -> None:
        """The checkpoint failed: its conversations and effects wait for the next one."""
        self.dirty.update(checkpoint.changes)
        self.pending[:0] = checkpoint.effects


def continues(parked: SlotClaim | None, epoch: int) -> bool:
    """A slot re-assigned to the replica that held it, with nobody in between (the epoch moved by
    exactly one): its state in memory is current and need not be reloaded from MongoDB."""
    return parked is not None and epoch == parked.epoch + 1
