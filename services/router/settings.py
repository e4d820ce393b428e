"""The router's own settings (env prefix SWITCHBOARD_, nested with __)."""

from __future__ import annotations

from typing import Literal

from pydantic import SecretStr
from switchboard.common.settings import ServiceSettings, group_id_setting


class RouterSettings(ServiceSettings):
    group_id: str = group_id_setting("switchboard-router")
    # Detect the language of customer messages with lingua (offline). Off = hint or brand default only.
    detect_language: bool = True
    # How a consumed batch is written atomically. Unset: one MongoDB transaction per batch when the
    # server is a replica set or mongos, else a journal document replayed after a crash (standalone
    # MongoDB, nx-27017). true/false force either.
    mongo_transactions: bool | None = None
    # When set, the read API (/v1/brands/...) requires `Authorization: Bearer <token>`.
    read_api_token: SecretStr | None = None
    # How often the router fires its timers (transcripts after their grace, reassignments), in seconds.
    tick_interval_seconds: float = 15.0
    # Which of the router's three stages this process runs (docs/router.md "Three stages"): "intake"
    # (consumes inbound, orders and agent-commands; validates, detects the language and forwards to the
    # contacts topic, keyed by the customer), "contact" (consumes the contacts topic; one owner per
    # partition decides identity, threading, messages and the bot, and sends the routing stage deltas),
    # "routing" (consumes the routing topic; one owner per brand decides agents, queues and capacity,
    # publishes and writes), or "all" (the three, in one process).
    router_stage: Literal["all", "intake", "contact", "routing"] = "all"
