"""Which brand a conversation belongs to, so an agent command for another brand's conversation is
refused at the door (404) instead of being accepted and dead-lettered by the router.

A read-only lookup of `brand_id` by `_id` in the router's `conversations` collection (the same
database; ingest never writes it). A conversation never changes brand, so found answers are cached.
A miss is read again a few times over ~1 s before it answers "none": the router publishes a
conversation's events just before it writes its state, so a desk that learned the id from the bus
can ask a moment before the document exists. Another brand's conversation answers at once.
"""
from __future__ import annotations

import asyncio
from collections import OrderedDict

from pymongo.errors import PyMongoError
from switchboard.ingest.adapters.ports import BrokerUnavailable


class LookupUnavailable(BrokerUnavailable):
    """The store did not answer the lookup: 503 + Retry-After, nothing published."""


class ConversationBrands:
    COLLECTION = "conversations"  # owned by the router
    MISS_RETRY_DELAYS = (0.1, 0.2, 0.3, 0.4)

    def __init__(self, db, *, cache_size: int = 50_000) -> None:
        self._collection = db[self.COLLECTION]
        self._cache: OrderedDict[str, str] = OrderedDict()
        self._cache_size = cache_size

    async def brand_of(self, conversation_id: str) -> str | None:
        brand = self._cache.get(conversation_id)
        if brand is not None:
            self._cache.move_to_end(conversation_id)
            return brand
        doc = await self._read(conversation_id)
        for delay in self.MISS_RETRY_DELAYS:
            if doc is not None:
                break
            await asyncio.sleep(delay)
            doc = await self._read(conversation_id)
        if doc is None or not doc.get("brand_id"):
            return None
        self._cache[conversation_id] = doc["brand_id"]
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return doc["brand_id"]

    async def _read(self, conversation_id: str) -> dict | None:
        try:
            return await self._collection.find_one({"_id": conversation_id}, {"brand_id": 1})
        except PyMongoError as exc:
            raise LookupUnavailable(f"conversation lookup: {type(exc).__name__}") from exc
