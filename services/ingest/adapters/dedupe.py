"""Dedupe of accepted provider messages: in-process LRU in front of a durable MongoDB record.

Marks are written behind, after the broker acknowledged, as one document per write batch
(`{ids: [...], processed_at, processed_ts}`, multikey index on `ids`, swept after `ttl_days`): on the
embedded store that is ~20x cheaper than one document per id (measured 28 vs 576 us per id). The tail
reads by the number `processed_ts`: nx-27017 answers a range on a datetime by reading every mark.
Two lookup modes (config `dedupe.mode`):

- `preload_and_tail` (default): the hot path reads only the LRU. At start-up the LRU is loaded with
  the marks of the last `preload_hours` (so a retry after a restart is caught) and every
  `tail_interval_seconds` it picks up marks written by other replicas. Measured ~2x the throughput
  of `lookup` on the embedded store. Window: two copies of one message hitting two replicas within
  one tail interval are both published - under the *same* deterministic event id, which the
  router's dedupe drops.
- `lookup`: every LRU miss is checked in MongoDB (concurrent misses share one `$in` query);
  the store being down answers 503.

A mark lost in a crash only lets a retry publish again under the same event id (dropped downstream).
"""
from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Literal, Protocol

from switchboard.common.expiry import EXPIRE_AT, Expiry
from switchboard.common.logging import get_logger

log = get_logger(__name__)
PROCESSED_TS = "processed_ts"  # processed_at as epoch seconds: the tail's indexed range


class SeenStore(Protocol):
    async def seen(self, event_ids: list[str]) -> set[str]: ...

    async def mark(self, event_ids: list[str]) -> None: ...

    async def recent(self, since: datetime, limit: int) -> list[tuple[datetime, list[str]]]: ...


class MarkStore:
    """MongoDB collection `ingest_dedupe_marks`: one document per batch of accepted event ids."""

    COLLECTION = "ingest_dedupe_marks"

    def __init__(self, db, *, ttl_days: int, clock) -> None:
        self._collection = db[self.COLLECTION]
        self._ttl = timedelta(days=ttl_days)
        self._clock = clock
        self.expiry = Expiry(self.COLLECTION)  # marks are kept ttl_days (the dedupe window), then swept

    async def ensure_indexes(self) -> None:
        await self._collection.create_index("ids")
        await self._collection.create_index("processed_at")
        await self._collection.create_index(PROCESSED_TS)

    async def seen(self, event_ids: list[str]) -> set[str]:
        wanted = set(event_ids)
        found: set[str] = set()
        async for doc in self._collection.find({"ids": {"$in": event_ids}}, {"ids": 1, "_id": 0}):
            found.update(i for i in doc["ids"] if i in wanted)
        return found

    async def mark(self, event_ids: list[str]) -> None:
        now = self._clock.now()
        await self._collection.insert_one({"ids": event_ids, "processed_at": now, PROCESSED_TS: now.timestamp(),
                                           EXPIRE_AT: now + self._ttl})

    async def recent(self, since: datetime, limit: int) -> list[tuple[datetime, list[str]]]:
        # Marks written before `processed_ts` existed are not tailed: a retry of one is published again
        # under the same event id, which the router's dedupe drops.
        cursor = self._collection.find({PROCESSED_TS: {"$gt": since.timestamp()}},
                                       {"ids": 1, "processed_at": 1, "_id": 0})
        out = []
        async for doc in cursor.sort(PROCESSED_TS, 1).limit(limit):
            out.append((doc["processed_at"], doc["ids"]))
        return out


class InFlightClaims:
    """One request at a time per event id: the first claims it, concurrent copies wait on its outcome.
    In-process only; the store's marks cover other replicas and restarts."""

    def __init__(self) -> None:
        self._in_flight: dict[str, asyncio.Future] = {}

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


class DedupeGate:
    def __init__(self, store: SeenStore, *, clock, cache_size: int = 100_000, flush_batch: int = 1000,
                 mode: Literal["preload_and_tail", "lookup"] = "preload_and_tail", preload_hours: float = 24,
                 tail_interval_seconds: float = 1.0, write_delay_seconds: float = 0.05) -> None:
        self._store = store
        self.mode = mode
        self._clock = clock
        self._preload = timedelta(hours=preload_hours)
        self._tail_interval = tail_interval_seconds
        self._watermark: datetime | None = None
        self._tailer: asyncio.Task | None = None
        self._cache: OrderedDict[str, None] = OrderedDict()
        self._cache_size = cache_size
        self._flush_batch = flush_batch
        # Gathering marks for a moment turns hundreds of tiny insert_many calls per second into a few.
        self._write_delay = write_delay_seconds
        self._lookup_waiting: list[tuple[list[str], asyncio.Future]] = []
        self._lookup_scheduled = False
        self._unwritten: list[str] = []
        self._writer: asyncio.Task | None = None
        self._claims = InFlightClaims()

    # -- lookups ---------------------------------------------------------------------------------
    async def seen(self, event_ids: list[str]) -> set[str]:
        """Ids already accepted (durably or in this process). Raises if the store cannot answer."""
        unknown = [i for i in event_ids if i not in self._cache]
        known = {i for i in event_ids if i in self._cache}
        if not unknown or self.mode != "lookup":
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

    # -- preload and tail (mode preload_and_tail) ---------------------------------------------------
    async def start(self) -> None:
        if self.mode != "preload_and_tail":
            return
        self._watermark = self._clock.now() - self._preload
        await self._catch_up()
        self._tailer = asyncio.create_task(self._tail(), name="dedupe-tail")

    async def stop(self) -> None:
        if self._tailer is not None:
            self._tailer.cancel()
            try:
                await self._tailer
            except (asyncio.CancelledError, Exception):
                pass
        await self.flush()

    async def _catch_up(self) -> int:
        """Loads marks newer than the watermark (minus a little overlap for clock skew between replicas)."""
        since = self._watermark - timedelta(seconds=5)
        n = 0
        for processed_at, ids in await self._store.recent(since, limit=max(1, self._cache_size // 100)):
            for i in ids:
                self._remember(i)
            self._watermark = max(self._watermark, processed_at)
            n += len(ids)
        return n

    async def _tail(self) -> None:
        while True:
            await asyncio.sleep(self._tail_interval)
            try:
                await self._catch_up()
            except Exception as exc:  # the store blinked: the LRU keeps working, try again next tick
                log.warning("dedupe_tail_failed", error=type(exc).__name__)

    def knows(self, event_id: str) -> bool:
        return event_id in self._cache

    # -- claims: one request at a time per id -------------------------------------------------------
    def claim(self, event_ids: Iterable[str]) -> tuple[list[str], list[asyncio.Future]]:
        """Returns (ids this request now owns, futures of ids another request is publishing)."""
        return self._claims.claim(event_ids)

    def release(self, event_ids: Iterable[str], accepted: bool) -> None:
        self._claims.release(event_ids, accepted)

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
            if len(self._unwritten) < self._flush_batch and self._write_delay:
                await asyncio.sleep(self._write_delay)
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

    def _remember(self, event_id: str) -> None:
        self._cache[event_id] = None
        self._cache.move_to_end(event_id)
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
