"""MongoDB through PyMongo's native async client. The same code talks to MongoDB and nx-27017."""
from __future__ import annotations

from pymongo import AsyncMongoClient
from switchboard.common.mongo_writes import WRITES
from switchboard.common.settings import MongoSettings


def connect(settings: MongoSettings) -> AsyncMongoClient:
    # tz_aware: nx-27017 (and MongoDB) store UTC; without it datetimes come back naive.
    return AsyncMongoClient(settings.uri.get_secret_value(), tz_aware=True,
                            serverSelectionTimeoutMS=settings.server_selection_timeout_ms,
                            event_listeners=[WRITES])  # documents written per collection (mongo_writes.py)


class MongoComponent:
    """Owns the client for a service: start() checks the server answers, probe() checks it still does
    (readiness), stop() closes."""

    def __init__(self, settings: MongoSettings) -> None:
        self.client = connect(settings)
        self.db = self.client[settings.database]
        self._ready = False

    async def start(self) -> None:
        await self.client.admin.command("ping")
        self._ready = True

    async def stop(self) -> None:
        self._ready = False
        await self.client.close()

    async def probe(self) -> bool:
        """The store answers a ping now (the caller bounds the wait: see health.bounded)."""
        await self.client.admin.command("ping")
        return True

    @property
    def ready(self) -> bool:
        return self._ready
