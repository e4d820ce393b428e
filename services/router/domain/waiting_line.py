"""A brand's waiting conversations kept in serving order, so a position is a lookup, not a sort.

`routing.positions` sorts the whole queue; with 2,000 waiting customers that is a few
milliseconds on every arrival. The line keeps one sorted list per queue name and follows the
brand's queue dict: `sync` adds and drops entries by comparing id sets (a C-speed set compare when
nothing changed), and an entry whose serving key changed (priority) is re-placed by `replace`.
"""

from __future__ import annotations

import heapq
from bisect import bisect_left, insort
from collections.abc import Iterator, Mapping

from .model import QueueEntry
from .routing import waiting_order_key


class WaitingLine:
    def __init__(self, class_rank: Mapping[str, int]) -> None:
        self._rank = dict(class_rank)
        self._keys: dict[str, tuple] = {}  # conversation id -> its serving key
        self._queue_of: dict[str, str] = {}  # conversation id -> queue name
        self._lines: dict[str, list[tuple]] = {}  # queue name -> serving keys, in serving order
        self._fresh: set[str] = set()  # added and never told their place

    def __len__(self) -> int:
        return len(self._keys)

    def sync(self, entries: Mapping[str, QueueEntry]) -> None:
        """Brings the line in step with the brand's queue (entries added or removed since)."""
        if entries.keys() == self._keys.keys():
            return
        for gone in self._keys.keys() - entries.keys():
            self._remove(gone)
        for new in entries.keys() - self._keys.keys():
            self._add(entries[new])

    def discard(self, conversation_id: str) -> None:
        """Takes a dequeued entry out at once (it may come back in the same batch with another key)."""
        self._remove(conversation_id)

    def replace(self, entry: QueueEntry) -> None:
        """Re-places an entry whose priority (or queue) changed."""
        self._remove(entry.id)
        self._add(entry)

    def position(self, conversation_id: str) -> tuple[str, int]:
        """(queue, 1-based position) of a waiting conversation."""
        key = self._keys[conversation_id]
        queue = self._queue_of[conversation_id]
        return queue, bisect_left(self._lines[queue], key) + 1

    def at(self, queue: str, position: int) -> str | None:
        """The conversation id at a 1-based position of a queue, or None past its end."""
        line = self._lines.get(queue, [])
        return line[position - 1][-1] if 0 < position <= len(line) else None

    def in_order(self, entries: Mapping[str, QueueEntry]) -> Iterator[QueueEntry]:
        """Every waiting entry in serving order (all queues merged), lazily."""
        for key in heapq.merge(*self._lines.values()):
            yield entries[key[-1]]

    def take_fresh(self) -> set[str | None]:
        """Entries added since the last call that were never told their place."""
        fresh, self._fresh = {c for c in self._fresh if c in self._keys}, set()
        return fresh

    def queues(self) -> dict[str, int]:
        """queue name -> number waiting."""
        return {name: len(line) for name, line in self._lines.items() if line}

    def _add(self, entry: QueueEntry) -> None:
        key = waiting_order_key(entry, self._rank)
        self._keys[entry.id] = key
        self._queue_of[entry.id] = entry.queue
        insort(self._lines.setdefault(entry.queue, []), key)
        if not entry.last_notified_position:
            self._fresh.add(entry.id)

    def _remove(self, conversation_id: str) -> None:
        key = self._keys.pop(conversation_id, None)
        if key is None:
            return
        line = self._lines[self._queue_of.pop(conversation_id)]
        del line[bisect_left(line, key)]


def line_for(lines: dict[str, WaitingLine], brand: str, entries: Mapping[str, QueueEntry],
             class_rank: Mapping[str, int]) -> WaitingLine:
    """The brand's line, created on first use and synced with its queue."""
    line = lines.get(brand)
    if line is None:
        line = lines[brand] = WaitingLine(class_rank)
    line.sync(entries)
    return line
