"""In-memory timer index for the partitions this worker owns: one binary heap per partition.

Entries are (due_epoch_ms: int, timer_id: str) tuples; `_due` maps each live timer id to
its due time, so cancelled or re-armed timers are recognised (and skipped) when popped without
searching the heap. Stale entries are compacted away once they outnumber the live ones.
Only ids and due times live here; the timers themselves are stored in their conversations'
`sla_conversations` documents.
"""
from __future__ import annotations

import heapq
from collections.abc import Iterable


class TimerHeap:
    __slots__ = ("_due", "_heaps", "_stale")

    def __init__(self) -> None:
        self._heaps: dict[int, list[tuple[int, str]]] = {}
        self._due: dict[int, dict[str, int]] = {}
        self._stale: dict[int, int] = {}

    def __len__(self) -> int:
        return sum(len(d) for d in self._due.values())

    @property
    def partitions(self) -> set[int]:
        return set(self._heaps)

    def own(self, partition: int) -> None:
        self._heaps.setdefault(partition, [])
        self._due.setdefault(partition, {})
        self._stale.setdefault(partition, 0)

    def drop(self, partition: int) -> None:
        self._heaps.pop(partition, None)
        self._due.pop(partition, None)
        self._stale.pop(partition, None)

    def load(self, partition: int, entries: Iterable[tuple[int, str]]) -> None:
        """Bulk load (restart / partition assignment): one heapify instead of n pushes."""
        self.own(partition)
        due = self._due[partition]
        heap = self._heaps[partition]
        for ts, timer_id in entries:
            if timer_id in due:
                self._stale[partition] += 1
            due[timer_id] = ts
            heap.append((ts, timer_id))
        heapq.heapify(heap)

    def arm(self, partition: int, timer_id: str, ts: int) -> bool:
        """Returns False when the partition is not owned here (the timer is someone else's)."""
        due = self._due.get(partition)
        if due is None:
            return False
        if timer_id in due:
            if due[timer_id] == ts:
                return True
            self._stale[partition] += 1
        due[timer_id] = ts
        heapq.heappush(self._heaps[partition], (ts, timer_id))
        self._maybe_compact(partition)
        return True

    def cancel(self, partition: int, timer_id: str) -> None:
        due = self._due.get(partition)
        if due is not None and due.pop(timer_id, None) is not None:
            self._stale[partition] += 1
            self._maybe_compact(partition)

    def _maybe_compact(self, partition: int) -> None:
        live = len(self._due[partition])
        if self._stale[partition] > max(1024, live):
            self._heaps[partition] = [(ts, tid) for tid, ts in self._due[partition].items()]
            heapq.heapify(self._heaps[partition])
            self._stale[partition] = 0

    def _clean_head(self, partition: int) -> tuple[int, str] | None:
        heap, due = self._heaps[partition], self._due[partition]
        while heap:
            ts, tid = heap[0]
            if due.get(tid) == ts:
                return heap[0]
            heapq.heappop(heap)
            self._stale[partition] = max(0, self._stale[partition] - 1)
        return None

    def next_due(self) -> int | None:
        best = None
        for partition in self._heaps:
            head = self._clean_head(partition)
            if head is not None and (best is None or head[0] < best):
                best = head[0]
        return best

    def pop_due(self, now_ts: int, limit: int) -> list[tuple[int, str, int]]:
        """Removes and returns up to `limit` live timers due at or before now, earliest first."""
        out: list[tuple[int, str, int]] = []
        while len(out) < limit:
            best_partition, best = None, None
            for partition in self._heaps:
                head = self._clean_head(partition)
                if head is not None and head[0] <= now_ts and (best is None or head[0] < best[0]):
                    best_partition, best = partition, head
            if best is None:
                break
            heapq.heappop(self._heaps[best_partition])
            del self._due[best_partition][best[1]]
            out.append((best[0], best[1], best_partition))
        return out
