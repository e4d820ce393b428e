"""Idempotency by event id: one MongoDB document per processed event, looked up per batch."""
from __future__ import annotations

from datetime import datetime, timedelta

from switchboard.common.expiry import EXPIRE_AT, Expiry
from switchboard.common.mongo import insert_new


class DedupeStore:
    COLLECTION = "processed_events"

    def __init__(self, db, group: str, *, ttl_days: int = 7, clock=None) -> None:
        self._collection = db[self.COLLECTION]
        self._prefix = f"{group}|"
        self._ttl = timedelta(days=ttl_days)
        self._clock = clock
        # Records are kept ttl_days (the window in which a redelivery is recognised), then swept.
        self.expiry = Expiry(self.COLLECTION)

    async def ensure_indexes(self) -> None:
        await self._collection.create_index(EXPIRE_AT)

    async def seen(self, event_ids: list[str]) -> set[str]:
        cursor = self._collection.find({"_id": {"$in": [self._prefix + i for i in event_ids]}}, {"_id": 1})
        n = len(self._prefix)
        return {doc["_id"][n:] async for doc in cursor}

    def records(self, event_ids: list[str], at: datetime) -> list[dict]:
        """The documents mark() writes, for a handler that writes them in its own transaction together
        with its state: then a crash between that commit and the offset commit replays nothing."""
        expire_at = at + self._ttl
        return [{"_id": self._prefix + i, "processed_at": at, EXPIRE_AT: expire_at} for i in event_ids]

    async def mark(self, event_ids: list[str], at: datetime | None = None) -> None:
        from datetime import UTC
        at = at or (self._clock.now() if self._clock else datetime.now(UTC))
        await insert_new(self._collection, self.records(event_ids, at))
