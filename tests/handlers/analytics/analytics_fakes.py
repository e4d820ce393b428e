"""In-memory fakes of the analytics ports (switchboard.analytics.adapters.ports), with the fencing
the MongoDB adapters have: a write guarded by an epoch is refused where a newer owner wrote, and
offsets are stored only while the writer's epoch is the slot's. No store, no broker."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from switchboard.analytics.adapters.ports import LoadedSlot, SlotWrite
from switchboard.analytics.domain.model import OpenConversation


@dataclass
class StoredConversation:
    partition: int
    epoch: int
    conversation: OpenConversation | None  # None: resolved (the real store removes it from its chunk,
    # whose epoch still refuses a stale write: kept here per conversation to the same effect)


class MemoryOpenConversationStore:
    """analytics_open_conversations in a dict. `fail_next_apply`: the next apply raises it (a store
    that timed out), without writing anything. `written`: conversation documents written, per id."""

    def __init__(self) -> None:
        self.documents: dict[str, StoredConversation] = {}
        self.fail_next_apply: BaseException | None = None
        self.applied_batches = 0
        self.written: Counter[str] = Counter()

    async def ensure_indexes(self) -> None:
        pass

    async def stamp_partitions(self, partitions: int) -> int:
        return 0

    async def load_partition(self, partition: int) -> LoadedSlot:
        return LoadedSlot([doc.conversation.copy() for doc in self.documents.values()
                           if doc.partition == partition and doc.conversation is not None])

    async def apply(self, writes: list[SlotWrite]) -> set[int]:
        if self.fail_next_apply is not None:
            error, self.fail_next_apply = self.fail_next_apply, None
            raise error
        refused: set[int] = set()
        for write in writes:
            for cid, state in write.changes.items():
                stored = self.documents.get(cid)
                if stored is not None and stored.epoch > write.epoch:
                    refused.add(write.partition)  # the guarded upsert collides on _id: nothing written
                    continue
                kept = state.copy() if state is not None else None
                self.documents[cid] = StoredConversation(write.partition, write.epoch, kept)
                self.written[cid] += 1
        self.applied_batches += 1
        return refused

    async def assigned_outside(self, partitions: set[int]) -> list[tuple[str, str]]:
        return [(doc.conversation.brand_id, doc.conversation.assignee_id) for doc in self.documents.values()
                if doc.partition not in partitions and doc.conversation is not None
                and doc.conversation.status == "assigned"]

    def open_ids(self, partition: int) -> set[str]:
        return {cid for cid, doc in self.documents.items() if doc.partition == partition and doc.conversation}


@dataclass
class LedgerEntry:
    epoch: int = 0
    owner: str = ""
    offsets: dict[str, int] = field(default_factory=dict)


class MemorySlotLedger:
    """analytics_partitions in a dict: claim bumps the epoch, advance stores offsets only for the
    epoch that is still the slot's."""

    def __init__(self) -> None:
        self.slots: dict[str, LedgerEntry] = {}
        self.advanced = 0  # offsets documents written

    async def epochs(self, keys: list[str]) -> dict[str, int]:
        return {key: self.slots[key].epoch for key in keys if key in self.slots}

    async def claim(self, key: str, owner: str) -> tuple[int, dict[str, int]]:
        entry = self.slots.setdefault(key, LedgerEntry())
        entry.epoch += 1
        entry.owner = owner
        return entry.epoch, dict(entry.offsets)

    async def advance(self, marks: dict[str, tuple[int, dict[str, int]]]) -> set[str]:
        fenced = set()
        for key, (epoch, offsets) in marks.items():
            entry = self.slots.get(key)
            if entry is None or entry.epoch != epoch:
                fenced.add(key)
                continue
            entry.offsets.update(offsets)
            self.advanced += 1
        return fenced
