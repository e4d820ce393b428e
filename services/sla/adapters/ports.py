"""What the SLA handlers depend on: small Protocols (the state store, the timer store, the publisher)
and the stored record. MongoDB implementations in store.py; in-memory fakes in tests/handlers/sla."""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from switchboard.common.cloudevents import Envelope
from switchboard.sla.domain.effects import TimerArm
from switchboard.sla.domain.state import ConversationSla

# A fired timer as written back: (timer id, fired at) or (timer id, fired at, "failed").
Fired = tuple[str, datetime] | tuple[str, datetime, str]


@dataclass(slots=True)
class SlaRecord:
    """One conversation's SLA state as stored, with the handler's plumbing beside it (one document
    holds everything): the Kafka partition of its records (whoever owns that partition owns the
    conversation's timers), the offset of the last applied record (a redelivered one is skipped) and
    the latest ConversationSnapshot, serialized, for the events its timers raise."""

    state: ConversationSla
    partition: int = 0
    last_offset: int = -1
    snapshot: bytes = b""


class StateStore(Protocol):
    async def load(self, conversation_ids: Iterable[str]) -> dict[str, SlaRecord]: ...

    async def save(self, records: Iterable[SlaRecord], fresh: frozenset[str] = frozenset()) -> None:
        """`fresh`: conversations first seen in this batch (inserted, not replaced)."""


class TimerStore(Protocol):
    async def write(self, arms: Iterable[tuple[TimerArm, int]], cancels: Iterable[str], fired: Iterable[Fired],
                    fresh: frozenset[str] = frozenset()) -> None:
        """Arms (timer, partition), cancels pending timers by id, marks fired ones; one write."""

    def pending(self, partitions: Iterable[int]) -> AsyncIterator[tuple[int, int, str]]:
        """The pending timers of these partitions as (partition, due epoch ms, timer id)."""


class Publisher(Protocol):
    async def publish(self, topic: str, payload: Any, *, key: str, cause: Envelope | None = None,
                      event_id: str | None = None, time: datetime | None = None,
                      subject: str | None = None) -> asyncio.Future: ...

    async def drain(self) -> None:
        """Returns once the broker acknowledged every record published so far (raises if one failed)."""
