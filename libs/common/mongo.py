"""MongoDB through PyMongo's native async client. The same code talks to MongoDB and nx-27017."""
from __future__ import annotations

from pymongo import AsyncMongoClient
from switchboard.common.settings import MongoSettings


def connect(settings: MongoSettings) -> AsyncMongoClient:
    # tz_aware: nx-27017 (and MongoDB) store UTC; without it datetimes come back naive.
    return AsyncMongoClient(settings.uri.get_secret_value(), tz_aware=True,
                            serverSelectionTimeoutMS=settings.server_selection_timeout_ms)


class MongoComponent:
    """Owns the client for a service: start() checks the server answers, stop() closes."""

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

    @property
    def ready(self) -> bool:
        return self._ready
