"""The ports the notifier's handlers and dispatcher depend on. MongoDB, Kafka, httpx and aiosmtplib
implement them in production (adapters/store.py, switchboard.common.producer, adapters/senders.py);
tests/handlers/notifier/fakes.py implements them in memory.

An outbox entry is a dict: the document of adapters/store.py (`_id = "<intent>|<destination>"`,
state, due_at, attempts, claim, lease_until, report_due, the request bytes, the source record).
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from typing import Any, Protocol

from switchboard.notifier.domain.model import HttpRequestSpec, SendOutcome

Entry = dict[str, Any]


class WriteRefused(Exception):
    """The store answered and refused some outcome writes: writing them again cannot help."""


@dataclass(frozen=True, slots=True)
class Added:
    """What one intake insert did: the ids it created (not those it found already stored), and the
    ids refused as once_key duplicates."""

    inserted: frozenset[str] = frozenset()
    refused: frozenset[str] = frozenset()


@dataclass(slots=True)
class Reservation:
    """Entries the local dispatcher will send if the intake's insert creates them: {id: the entry as
    inserted, already claimed (in_flight, claim token, lease_until)}."""

    token: str = ""
    claimed: dict[str, Entry] = field(default_factory=dict)


@dataclass(slots=True)
class Sending:
    """Entries the local dispatcher sends before they are stored (send first): intake does not insert
    them; `settle` returns once each one is stored. `entries` is the dispatcher's own bookkeeping."""

    ids: frozenset[str] = frozenset()
    entries: list[Any] = field(default_factory=list)
    waiting: list[Entry] = field(default_factory=list)  # no pool room yet: admitted as room frees up


class OutboxStore(Protocol):
    """Intake's side of the outbox: new intents, DLQ replays, superseded queue positions."""

    async def add(self, entries: list[Entry]) -> Added:
        """Inserts new intents; existing ids are left untouched. Returns the ids created and the ids
        refused as once_key duplicates."""

    async def stored(self, ids: list[str]) -> frozenset[str]:
        """The ids among these that are in the outbox."""

    async def once_key_owners(self, keys: list[str]) -> dict[str, str]:
        """{once_key: outbox id} of the entries already holding these keys."""

    async def revive(self, replays: dict[str, str], now: datetime) -> int:
        """Failed, reported entries back to pending, once per replay token; returns how many."""

    async def supersede(self, newest: list[Entry], now: datetime, detail: str) -> None:
        """Skips pending entries older than each given one with the same supersede_key."""

    async def get(self, entry_id: str) -> Entry | None: ...


class DeliveryRecords(Protocol):
    """The dispatcher's and reporter's side: claims, outcome writes, reports, housekeeping."""

    async def candidates(self, now: datetime, exclude_pools: list[str], exclude_ids: list[str],
                         limit: int) -> list[Entry]: ...

    async def claim(self, candidates: list[Entry], now: datetime, lease_seconds: dict[str, float],
                    token: str | None = None) -> list[Entry]: ...

    async def release_claims(self, tokens: list[str], now: datetime) -> int: ...

    async def next_due(self, exclude_pools: list[str]) -> datetime | None: ...

    def finish_op(self, entry_id: str, claim: str, state: str, now: datetime, attempts: int, detail: str,
                  provider_message_id: str = "", first_attempt_at: float | None = None,
                  language: str = "", reported: bool = False, whole: Entry | None = None) -> object:
        """An outcome write (final state), guarded by the claim, for `write`. `reported`: its
        DeliveryRecorded is already out (report_due False), else the reporter publishes it. `whole`: the
        entry is not stored yet (sent first): written whole in this state, if absent (`insert_op`)."""

    def reschedule_op(self, entry_id: str, claim: str, due_at: datetime, now: datetime, attempts: int,
                      detail: str, first_attempt_at: float, whole: Entry | None = None) -> object:
        """An outcome write (back to pending, later), guarded by the claim, for `write`; `whole` as above."""

    def insert_op(self, entry: Entry) -> object:
        """The entry written whole if absent, for `write`: never overwrites a stored entry."""

    def release_op(self, entry_id: str, claim: str) -> object:
        """A queued, never-sent claim back to pending (at shutdown)."""

    async def write(self, ops: list[object]) -> int | None:
        """Applies the ops in one batch; returns how many changed a document (None for no ops): an
        insert_op that found the entry stored counts none. Raises WriteRefused when the store refused
        some of them."""

    async def claims(self, ids: list[str]) -> dict[str, str | None]: ...

    async def unreported(self, limit: int) -> list[Entry]: ...

    async def mark_reported(self, ids: list[str]) -> None: ...

    async def count_open(self) -> int: ...

    async def sweep_finished(self, finished_before: datetime) -> int: ...


class Outbox(OutboxStore, DeliveryRecords, Protocol):
    """Both sides, as one store implements them; plus its start-up step."""

    async def ensure_indexes(self) -> None: ...


class LocalDispatch(Protocol):
    """The local dispatcher as intake sees it: new due entries are sent before they are stored (send
    first: one write, in their final state) or inserted already claimed for it (one write instead of
    insert + claim) and handed straight to its queues."""

    def reserve(self, entries: list[Entry], now: datetime) -> Reservation:
        """Claims (in memory) the entries its pools have room for; nothing if it is not running."""

    def hand_over(self, reservation: Reservation, inserted: frozenset[str] | None) -> None:
        """After the insert: queues the reserved entries it created; `None` = the insert failed."""

    def send_first(self, entries: list[Entry], now: datetime) -> Sending:
        """Claims (in memory) and starts sending entries not stored yet that fit its pools; the
        returned ids (these, and ones of them it is already sending) are not for intake to insert."""

    async def settle(self, sending: Sending) -> list[Entry]:
        """Returns once every entry sent is stored: in its outcome's state if that came within
        `send_first_seconds`, else claimed (its outcome updates it later). Returns the waiting entries
        no pool had room for within `send_first_seconds`: neither sent nor stored, intake's to insert."""


class Publisher(Protocol):
    """The Kafka producer as the notifier uses it (switchboard.common.producer.EventProducer)."""

    async def publish(self, topic: str, payload, *, key: str | None = None, event_id: str | None = None,
                      subject: str | None = None, brand_id: str | None = None) -> asyncio.Future: ...

    async def send_raw(self, topic: str, value: bytes | None, key: bytes | None,
                       headers: list[tuple[str, bytes]]) -> asyncio.Future: ...

    async def drain(self) -> None: ...


class HttpPort(Protocol):
    async def send(self, request: HttpRequestSpec, *, timeout: float, api: str, pool: str = "",
                   concurrency: int = 8) -> SendOutcome: ...


class SmtpPort(Protocol):
    async def send(self, message: EmailMessage, *, timeout: float) -> SendOutcome: ...
