"""MongoDB collection analytics_open_conversations: the projection that backlog gauges are rebuilt from."""

from __future__ import annotations

from typing import Protocol

from pymongo import DeleteOne, ReplaceOne
from switchboard.analytics.domain.documents import from_document, to_document
from switchboard.analytics.domain.projection import OpenConversation

COLLECTION = "analytics_open_conversations"


class OpenConversationStore(Protocol):
    async def ensure_indexes(self) -> None: ...

    @property
    def database_name(self) -> str:
        return self._collection.database.name

    async def load_all(self) -> list[OpenConversation]: ...

    async def apply(self, changes: dict[str, OpenConversation | None]) -> None: ...


class MongoOpenConversationStore:
    def __init__(self, db) -> None:
        self._collection = db[COLLECTION]

    async def ensure_indexes(self) -> None:
        # For operators' ad-hoc questions ("oldest waiting of brand X", "what breaches next").
        await self._collection.create_index([("brand_id", 1), ("status", 1)])
        await self._collection.create_index([("waiting_since", 1)], sparse=True)
        await self._collection.create_index([("sla_next_deadline", 1)], sparse=True)

    @property
    def database_name(self) -> str:
        return self._collection.database.name

    async def load_all(self) -> list[OpenConversation]:
        return [from_document(doc) async for doc in self._collection.find({}, batch_size=5000)]

    async def apply(self, changes: dict[str, OpenConversation | None]) -> None:
        """One bulk_write per consumed batch; replace/delete by id, so a replayed batch is harmless."""
        if not changes:
            return
        ops = [
            DeleteOne({"_id": cid}) if state is None else ReplaceOne({"_id": cid}, to_document(state), upsert=True)
            for cid, state in changes.items()
        ]
        await self._collection.bulk_write(ops, ordered=False)
