"""The ports ingest's handlers depend on; bootstrap passes the real adapters, handler tests fakes
(tests/handlers/ingest/fakes.py)."""
from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Protocol

from switchboard.ingest.domain.model import Outgoing


class BrokerUnavailable(Exception):
    """The broker did not acknowledge in time: answer 503 + Retry-After, the provider retries."""


class Publisher(Protocol):
    async def publish(self, brand_id: str, events: list[Outgoing], event_ids: list[str]) -> None:
        """Returns once the broker acknowledged every event; raises BrokerUnavailable otherwise."""


class Dedupe(Protocol):
    """Which event ids were already accepted, and one request at a time per id (adapters/dedupe.py)."""

    def claim(self, event_ids: Iterable[str]) -> tuple[list[str], list[asyncio.Future]]: ...

    def release(self, event_ids: Iterable[str], accepted: bool) -> None: ...

    async def seen(self, event_ids: list[str]) -> set[str]: ...

    def mark(self, event_ids: list[str]) -> None:
        """Only after the broker acknowledged."""


class ConversationBrandLookup(Protocol):
    async def brand_of(self, conversation_id: str) -> str | None:
        """The brand a conversation belongs to, None if unknown; raises BrokerUnavailable (503) if the
        store does not answer."""
