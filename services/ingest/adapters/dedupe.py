"""Dedupe of accepted provider messages: in-process LRU in front of a durable MongoDB record.

Hot path cost: an LRU hit costs nothing; misses that arrive together share one `$in` lookup;
marks are written behind in batches (insert_many) after the broker acknowledged. A mark lost in
a crash only lets a retry publish again under the *same* event id, which downstream dedupe drops.
"""
from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Iterable
from typing import Protocol

from switchboard.common.dedupe import DedupeStore
from switchboard.common.logging import get_logger

log = get_logger(__name__)


class SeenStore(Protocol):
    async def seen(self, event_ids: list[str]) -> set[str]: ...

    async def mark(self, event_ids: list[str]) -> None: ...


class DedupeGate:
    def __init__(self, store: SeenStore | DedupeStore, *, cache_size: int = 100_000, flush_batch: int = 1000) -> None:
        self._store = store
        self._cache: OrderedDict[str, None] = OrderedDict()
        self._cache_size = cache_size
        self._flush_batch = flush_batch
        self._lookup_waiting: list[tuple[list[str], asyncio.Future]] = []
        self._lookup_scheduled = False
        self._unwritten: list[str] = []
        self._writer: asyncio.Task | None = None
        self._in_flight: dict[str, asyncio.Future] = {}

    # -- lookups ---------------------------------------------------------------------------------
    async def seen(self, event_ids: list[str]) -> set[str]:
        """Ids already accepted (durably or in this process). Raises if the store cannot answer."""
        unknown = [i for i in event_ids if i not in self._cache]
        known = {i for i in event_ids if i in self._cache}
        if not unknown:
            return known
        future = asyncio.get_running_loop().create_future()
        self._lookup_waiting.append((unknown, future))
        if not self._lookup_scheduled:
            self._lookup_scheduled = True
            asyncio.get_running_loop().create_task(self._lookup())
        return known | await future

    async def _lookup(self) -> None:
        waiting, self._lookup_waiting = self._lookup_waiting, []
        self._lookup_scheduled = False
        ids = list({i for ids, _ in waiting for i in ids})
        try:
            found = await self._store.seen(ids)
        except Exception as exc:
            for _, future in waiting:
                if not future.done():
                    future.set_exception(exc)
            return
        for i in found:
            self._remember(i)
        for ids, future in waiting:
            if not future.done():
                future.set_result({i for i in ids if i in found})

    # -- claims: one request at a time per id -------------------------------------------------------
    def claim(self, event_ids: Iterable[str]) -> tuple[list[str], list[asyncio.Future]]:
        """Returns (ids this request now owns, futures of ids another request is publishing)."""
        owned, others = [], []
        for i in event_ids:
            if i in self._in_flight:
                others.append(self._in_flight[i])
            else:
                self._in_flight[i] = asyncio.get_running_loop().create_future()
                owned.append(i)
        return owned, others

    def release(self, event_ids: Iterable[str], accepted: bool) -> None:
        for i in event_ids:
            future = self._in_flight.pop(i, None)
            if future is not None and not future.done():
                future.set_result(accepted)

    # -- marks -----------------------------------------------------------------------------------
    def mark(self, event_ids: list[str]) -> None:
        """Call only after the broker acknowledged: remembered now, written to MongoDB behind."""
        for i in event_ids:
            self._remember(i)
        self._unwritten.extend(event_ids)
        if self._writer is None or self._writer.done():
            self._writer = asyncio.ensure_future(self._write())

    async def _write(self) -> None:
        backoff = 0.05
        while self._unwritten:
            batch, self._unwritten = self._unwritten[: self._flush_batch], self._unwritten[self._flush_batch:]
            try:
                await self._store.mark(batch)
                backoff = 0.05
            except asyncio.CancelledError:
                self._unwritten[:0] = batch
                raise
            except Exception as exc:
                self._unwritten[:0] = batch
                log.warning("dedupe_write_failed_retrying", error=type(exc).__name__, pending=len(self._unwritten))
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)

    async def flush(self) -> None:
        while self._unwritten or (self._writer is not None and not self._writer.done()):
            if self._writer is None or self._writer.done():
                self._writer = asyncio.ensure_future(self._write())
            await asyncio.wait_for(asyncio.shield(self._writer), 30)

    @property
    def pending_writes(self) -> int:
        return len(self._unwritten)

    def _remember(self, event_id: str) -> None:
        self._cache[event_id] = None
        self._cache.move_to_end(event_id)
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)

    def forget_cache(self) -> None:
        """Tests: behave like a freshly started process (only the durable record remains)."""
        self._cache.clear()
