"""The router's own settings (env prefix SWITCHBOARD_, nested with __)."""

from __future__ import annotations

from switchboard.common.settings import ServiceSettings


class RouterSettings(ServiceSettings):
    consumer_group: str = "switchboard-router"
    # Detect the language of customer messages with lingua (offline). Off = hint or brand default only.
    detect_language: bool = True
    # One MongoDB transaction per consumed batch (needs a replica set; nx-27017 supports it). Off:
    # batched writes with the applied-markers written last.
    mongo_transactions: bool = True
