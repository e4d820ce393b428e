"""What the SLA handlers depend on: small Protocols (the state store and the publisher) and the
stored record. MongoDB implementation in store.py; in-memory fakes in tests/handlers/sla."""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from switchboard.common.cloudevents import Envelope
from switchboard.sla.domain.effects import TimerArm
from switchboard.sla.domain.state import ConversationSla

FAILED_TIMERS_KEPT = 10  # the most recent failed timers kept on the record, for whoever investigates


@dataclass(slots=True)
class SlaRecord:
    """One conversation's SLA state as stored, with the handler's plumbing beside it (one document
    holds everything): the Kafka partition of its records (whoever owns that partition owns the
    conversation's timers), the offset of the last applied record (a redelivered one is skipped),
    the latest ConversationSnapshot, serialized, for the events its timers raise, its pending
    timers by id, and the last few timers whose firing failed ({"id", "failed_at"})."""

    state: ConversationSla
    partition: int = 0
    last_offset: int = -1
    snapshot: bytes = b""
    timers: dict[str, TimerArm] = field(default_factory=dict)
    failed_timers: list[dict] = field(default_factory=list)

    def timer_failed(self, timer_id: str, at: datetime) -> None:
        self.failed_timers = [*self.failed_timers, {"id": timer_id, "failed_at": at}][-FAILED_TIMERS_KEPT:]


class StateStore(Protocol):
    async def load(self, conversation_ids: Iterable[str]) -> dict[str, SlaRecord]: ...

    async def save(self, records: Iterable[SlaRecord], fresh: frozenset[str] = frozenset()) -> None:
        """One write of one document per record, its pending timers inside. `fresh`: conversations
        first seen in this batch (inserted, not replaced)."""

    def pending(self, partitions: Iterable[int]) -> AsyncIterator[tuple[int, int, str]]:
        """The pending timers of these partitions as (partition, due epoch ms, timer id)."""


class Publisher(Protocol):
    async def publish(self, topic: str, payload: Any, *, key: str, cause: Envelope | None = None,
                      event_id: str | None = None, time: datetime | None = None,
                      subject: str | None = None) -> asyncio.Future: ...

    async def drain(self) -> None:
        """Returns once the broker acknowledged every record published so far (raises if one failed)."""
