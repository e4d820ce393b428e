"""Copy-on-write view of a projection for one batch: the batch changes copies, so the caller can
persist them before committing them to memory. Pure: no I/O."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import replace
from typing import Protocol

from .model import OpenConversation, SlaClock


class Committed(Protocol):
    """What the overlay reads of the projection underneath it."""

    open: dict[str, OpenConversation]
    orphan_clocks: OrderedDict[str, dict[str, SlaClock]]
    recently_resolved: OrderedDict[str, None]


class Overlay:
    def __init__(self, projection: Committed):
        self.projection = projection
        self.changes: dict[str, OpenConversation | None] = {}
        self.orphans: dict[str, dict[str, SlaClock]] = {}
        self.resolved: list[str] = []

    def get(self, conversation_id: str) -> OpenConversation | None:
        if conversation_id in self.changes:
            return self.changes[conversation_id]
        return self.projection.open.get(conversation_id)

    def put(self, state: OpenConversation) -> None:
        self.changes[state.conversation_id] = state

    def resolve(self, conversation_id: str) -> None:
        self.changes[conversation_id] = None
        self.orphans.pop(conversation_id, None)
        self.resolved.append(conversation_id)

    def was_resolved(self, conversation_id: str) -> bool:
        if conversation_id in self.changes:
            return self.changes[conversation_id] is None
        return conversation_id in self.projection.recently_resolved

    def knows(self, conversation_id: str) -> bool:
        """Open, or holding stashed clocks."""
        return (
            self.get(conversation_id) is not None
            or conversation_id in self.orphans
            or conversation_id in self.projection.orphan_clocks
        )

    def take_orphans(self, conversation_id: str) -> dict[str, SlaClock]:
        if conversation_id in self.orphans:
            return self.orphans.pop(conversation_id)
        stashed = self.projection.orphan_clocks.get(conversation_id)
        return {m: replace(c) for m, c in stashed.items()} if stashed else {}

    def clocks_for_update(self, conversation_id: str) -> dict[str, SlaClock]:
        """The clocks dict of a (copied) open conversation, or of an orphan entry."""
        state = self.get(conversation_id)
        if state is not None:
            if conversation_id not in self.changes:
                state = state.copy()
                self.changes[conversation_id] = state
            return state.clocks
        if conversation_id not in self.orphans:
            stashed = self.projection.orphan_clocks.get(conversation_id) or {}
            self.orphans[conversation_id] = {m: replace(c) for m, c in stashed.items()}
        return self.orphans[conversation_id]
