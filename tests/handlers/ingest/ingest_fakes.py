"""In-memory fakes of ingest's ports (services/ingest/adapters/ports.py), for the handler tier.

They share one `journal` so a test can assert the order of effects (publish before mark)."""
from __future__ import annotations

import asyncio
from collections.abc import Iterable

from switchboard.ingest.adapters.dedupe import InFlightClaims
from switchboard.ingest.adapters.ports import BrokerUnavailable
from switchboard.ingest.domain.model import Outgoing


class FakePublisher:
    """Records what was published; `fail_with` makes the next publishes fail like a broker timeout."""

    def __init__(self, journal: list) -> None:
        self.journal = journal
        self.published: list[tuple[str, str, Outgoing]] = []   # (brand, event id, event)
        self.fail_with: Exception | None = None

    async def publish(self, brand_id: str, events: list[Outgoing], event_ids: list[str]) -> None:
        if not events:
            return
        if self.fail_with is not None:
            raise self.fail_with
        for event, event_id in zip(events, event_ids, strict=True):
            self.published.append((brand_id, event_id, event))
        self.journal.append(("publish", list(event_ids)))

    def timing_out(self) -> None:
        self.fail_with = BrokerUnavailable("TimeoutError")


class FakeDedupe:
    """The dedupe port: marked ids, and one request at a time per id (like adapters/dedupe.DedupeGate)."""

    def __init__(self, journal: list) -> None:
        self.journal = journal
        self.marked: set[str] = set()
        self._claims = InFlightClaims()

    def claim(self, event_ids: Iterable[str]) -> tuple[list[str], list[asyncio.Future]]:
        return self._claims.claim(event_ids)  # the real in-process claims: the fake stands in for the store

    def release(self, event_ids: Iterable[str], accepted: bool) -> None:
        self._claims.release(event_ids, accepted)

    async def seen(self, event_ids: list[str]) -> set[str]:
        return {i for i in event_ids if i in self.marked}

    def mark(self, event_ids: list[str]) -> None:
        self.marked.update(event_ids)
        self.journal.append(("mark", list(event_ids)))


class FakeConversationBrands:
    def __init__(self, brands: dict[str, str] | None = None) -> None:
        self.brands = dict(brands or {})

    async def brand_of(self, conversation_id: str) -> str | None:
        return self.brands.get(conversation_id)
