"""The projection split by slot: one Projection per owned slot, sharing labels and the backlog index.

State per slot makes ownership changes exact: revoking a slot removes precisely its conversations
from this replica's gauges, assigning one adds what its stored state holds, and stashed SLA clocks
or recently resolved ids never leak from one slot to another. Pure: no I/O.
"""

from __future__ import annotations

from collections import ChainMap
from collections.abc import Callable, Iterable

from .labels import Labeller
from .ownership import Slot
from .projection import OpenConversation, Projection

Listener = Callable[[str, OpenConversation | None], None]


class PartitionedProjection:
    def __init__(self, labeller: Labeller, on_change: Listener, *, max_orphans: int = 10_000,
                 max_recently_resolved: int = 20_000) -> None:
        self.labeller = labeller
        self._on_change = on_change
        self._bounds = {"max_orphans": max_orphans, "max_recently_resolved": max_recently_resolved}
        self.slots: dict[Slot, Projection] = {}
        # Escalation and delivery events only produce counter effects: no state to own.
        self.stateless = Projection(labeller)

    def for_slot(self, slot: Slot) -> Projection:
        return self.slots[slot] if slot.holds_state else self.stateless

    def install(self, slot: Slot, conversations: Iterable[OpenConversation]) -> Projection:
        """A freshly assigned slot, its open conversations loaded from the store."""
        self.remove(slot)
        projection = Projection(self.labeller, on_change=self._on_change, **self._bounds)
        projection.load(conversations)
        self.slots[slot] = projection
        return projection

    def adopt(self, slot: Slot, projection: Projection) -> None:
        """A slot given back to this replica with its in-memory state still current."""
        self.remove(slot)
        self.slots[slot] = projection
        for conversation_id, state in projection.open.items():
            self._on_change(conversation_id, state)

    def remove(self, slot: Slot) -> Projection | None:
        """Drops the slot's contribution to this replica's gauges; returns its state (for parking)."""
        projection = self.slots.pop(slot, None)
        if projection is not None:
            for conversation_id in projection.open:
                self._on_change(conversation_id, None)
        return projection

    @property
    def open(self) -> ChainMap[str, OpenConversation]:
        """Every open conversation of the owned slots (a read-only view)."""
        return ChainMap(*(p.open for p in self.slots.values()))
