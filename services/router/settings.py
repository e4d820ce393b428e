"""The router's own settings (env prefix SWITCHBOARD_, nested with __)."""

from __future__ import annotations

from switchboard.common.settings import ServiceSettings


class RouterSettings(ServiceSettings):
    consumer_group: str = "switchboard-router"
    # Detect the language of customer messages with lingua (offline). Off = hint or brand default only.
    detect_language: bool = True
    # How a consumed batch is written atomically. Unset: one MongoDB transaction per batch when the
    # server is a replica set or mongos, else a journal document replayed after a crash (standalone
    # MongoDB, nx-27017). true/false force either.
    mongo_transactions: bool | None = None
