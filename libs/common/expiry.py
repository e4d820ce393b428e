"""Expiry of old documents by a periodic sweep, instead of MongoDB TTL indexes.

Why: nx-27017 (the embedded and test store) purges a TTL-indexed collection with full scans on
every read of it, which made each batch's lookups cost O(collection) - a third of the store's time
in the pipeline benchmark. Documents carry the instant they expire (`expire_at`, as a MongoDB TTL
index with expireAfterSeconds=0 would read it); each owning service deletes its expired documents
every `SWITCHBOARD_MONGO__SWEEP_INTERVAL_SECONDS` through an ordinary index. Same result on MongoDB,
at most one interval later than a TTL monitor (which itself runs once a minute).
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass

from pymongo import ASCENDING
from switchboard.common.clock import Clock, SystemClock
from switchboard.common.logging import get_logger
from switchboard.common.service import Task

log = get_logger(__name__)

EXPIRE_AT = "expire_at"


@dataclass(frozen=True)
class Expiry:
    """Documents of `collection` whose `field` (an instant) is in the past are deleted."""

    collection: str
    field: str = EXPIRE_AT


class Sweeper(Task):
    """Service component: an index on each expiry field, then a sweep every `interval` seconds."""

    def __init__(self, db, rules: list[Expiry], *, interval: float, clock: Clock | None = None) -> None:
        super().__init__("expiry", self._loop)
        self._db = db
        self.rules = list(dict.fromkeys(rules))
        self._interval = interval
        self._clock = clock or SystemClock()

    async def ensure_indexes(self) -> None:
        for rule in self.rules:
            await self._db[rule.collection].create_index([(rule.field, ASCENDING)])

    async def sweep_once(self) -> dict[str, int]:
        """Deletes what has expired; returns how many documents per collection."""
        now = self._clock.now()
        deleted = {}
        for rule in self.rules:
            result = await self._db[rule.collection].delete_many({rule.field: {"$lt": now}})
            deleted[rule.collection] = result.deleted_count
        return deleted

    async def _loop(self) -> None:
        while True:
            try:
                deleted = await self.sweep_once()
                if any(deleted.values()):
                    log.info("expired_documents_deleted", **deleted)
            except Exception as exc:  # the store may be away for a moment: try again next round
                log.warning("expiry_sweep_failed", error=type(exc).__name__)
            await asyncio.sleep(self._interval)

    async def start(self) -> None:
        await self.ensure_indexes()
        await super().start()
