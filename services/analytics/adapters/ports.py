"""What the analytics handlers depend on: small Protocols for the open-conversation store and the
slot ledger. MongoDB implementations in store.py; in-memory fakes in tests/handlers/analytics."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from switchboard.analytics.domain.model import OpenConversation


@dataclass(frozen=True, slots=True)
class SlotWrite:
    """One slot's share of a consumed batch: conversation id -> new state (None = no longer open)."""

    partition: int
    epoch: int
    changes: dict[str, OpenConversation | None]
    # The slot was loaded from documents of another layout: `changes` holds every open conversation,
    # and the slot is rewritten whole (its documents of the other layout removed).
    relayout: bool = False


@dataclass(frozen=True, slots=True)
class LoadedSlot:
    """A slot's stored open conversations; `relayout`: some are stored in another layout (older or
    another chunk count), so the next checkpoint rewrites the slot."""

    conversations: list[OpenConversation]
    relayout: bool = False


class OpenConversationStore(Protocol):
    """The open conversations of every slot, stored per slot under its writer's epoch."""

    async def ensure_indexes(self) -> None: ...

    async def stamp_partitions(self, partitions: int) -> int:
        """Gives documents of an unpartitioned version their partition; returns how many."""

    async def load_partition(self, partition: int) -> LoadedSlot: ...

    async def apply(self, writes: list[SlotWrite]) -> set[int]:
        """Writes every slot's changes guarded by its epoch; returns the partitions whose write was
        refused because a newer owner had written there."""

    async def assigned_outside(self, partitions: set[int]) -> list[tuple[str, str]]:
        """(brand, agent) of every assigned open conversation outside `partitions`."""


class SlotLedger(Protocol):
    """Per slot: the owner epoch and the next offset per topic its stored state includes."""

    async def claim(self, key: str, owner: str) -> tuple[int, dict[str, int]]:
        """Bumps the slot's epoch (fencing the previous owner); returns it and the stored offsets."""

    async def epochs(self, keys: list[str]) -> dict[str, int]:
        """The current epoch of each slot (a checkpoint of a slot whose epoch moved writes nothing)."""

    async def advance(self, marks: dict[str, tuple[int, dict[str, int]]]) -> set[str]:
        """Stores each slot's offsets if its epoch is still the writer's; returns the slots fenced off."""
