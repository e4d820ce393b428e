"""In-memory fakes of the notifier's ports (switchboard.notifier.adapters.ports): the outbox (intake's
OutboxStore and the dispatcher's DeliveryRecords), the publisher with raw DLQ sends, the HTTP and
SMTP senders. Same semantics as the real adapters where the handler rules depend on them:
$setOnInsert, the unique once_key, claim-guarded outcome writes, revive once per replay token."""
from __future__ import annotations

import asyncio
import copy
import inspect
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage

from switchboard.common.testing.fakes import RecordingPublisher
from switchboard.notifier.adapters.ports import Added, Entry
from switchboard.notifier.adapters.store import finish_change, reschedule_change
from switchboard.notifier.domain.model import FAILED, IN_FLIGHT, PENDING, SKIPPED, HttpRequestSpec, SendOutcome


class StoreDown(ConnectionError):
    """What the fake outbox raises while `down` is set (MongoDB away)."""


@dataclass(frozen=True)
class _Op:
    guard: dict
    set: dict


@dataclass(frozen=True)
class _Insert:
    """An entry written whole if absent (send first): never overwrites a stored one."""

    doc: dict


class FakeOutbox:
    def __init__(self) -> None:
        self.docs: dict[str, Entry] = {}
        self.down = False  # every call raises StoreDown, like a store that went away
        self.writes = 0  # outcome write batches applied
        self.inserts = 0  # intake inserts applied
        self.claimed = 0  # entries claimed by the scanner (a second write after the insert)
        self.marked = 0  # entries marked reported by the reporter
        self.first_writes = 0  # entries written whole by the dispatcher (sent before they were stored)

    def _check(self) -> None:
        if self.down:
            raise StoreDown("outbox store unreachable")

    async def ensure_indexes(self) -> None:
        self._check()

    # ------------------------------------------------------------ intake (OutboxStore)
    async def add(self, entries: list[Entry]) -> Added:
        self._check()
        refused, inserted = set(), set()
        for entry in entries:
            if entry["_id"] in self.docs:
                continue  # $setOnInsert: an existing intent is left untouched
            key = entry.get("once_key")
            if key and any(d.get("once_key") == key for d in self.docs.values()):
                refused.add(entry["_id"])  # the unique, sparse once_key index refuses it
                continue
            self.docs[entry["_id"]] = copy.deepcopy(entry)
            inserted.add(entry["_id"])
        self.inserts += 1
        return Added(frozenset(inserted), frozenset(refused))

    async def stored(self, ids: list[str]) -> frozenset[str]:
        self._check()
        return frozenset(i for i in ids if i in self.docs)

    async def once_key_owners(self, keys: list[str]) -> dict[str, str]:
        self._check()
        return {d["once_key"]: d["_id"] for d in self.docs.values() if d.get("once_key") in keys}

    async def revive(self, replays: dict[str, str], now: datetime) -> int:
        self._check()
        revived = 0
        for entry_id, token in replays.items():
            doc = self.docs.get(entry_id)
            if doc is None or doc["state"] != FAILED or doc["report_due"] or doc.get("replayed_from") == token:
                continue
            doc.update(state=PENDING, due_at=now.timestamp(), attempts=0, detail="replayed from the DLQ",
                       replayed_from=token, updated_at=now.timestamp(), replays=doc.get("replays", 0) + 1)
            doc.pop("first_attempt_at", None)
            doc.pop("finished_at", None)
            revived += 1
        return revived

    async def supersede(self, newest: list[Entry], now: datetime, detail: str) -> None:
        self._check()
        for new in newest:
            for doc in self.docs.values():
                if (doc.get("supersede_key") == new["supersede_key"] and doc["state"] == PENDING
                        and doc["_id"] != new["_id"] and doc["source"]["partition"] == new["source"]["partition"]
                        and doc["source"]["offset"] < new["source"]["offset"]):
                    doc.update(state=SKIPPED, detail=detail, report_due=True, finished_at=now.timestamp(),
                               updated_at=now.timestamp())

    async def get(self, entry_id: str) -> Entry | None:
        self._check()
        doc = self.docs.get(entry_id)
        return copy.deepcopy(doc) if doc else None

    # ------------------------------------------------------------ dispatcher (DeliveryRecords)
    async def candidates(self, now: datetime, exclude_pools: list[str], exclude_ids: list[str],
                         limit: int) -> list[Entry]:
        self._check()
        t = now.timestamp()
        found = [d for d in self.docs.values() if d["pool"] not in exclude_pools and d["_id"] not in exclude_ids
                 and ((d["state"] == PENDING and d["due_at"] <= t)
                      or (d["state"] == IN_FLIGHT and d["lease_until"] <= t))]
        found.sort(key=lambda d: d.get("due_at", 0.0))
        return [{k: d.get(k) for k in ("_id", "pool", "state", "lease_until", "due_at")} for d in found[:limit]]

    async def claim(self, candidates: list[Entry], now: datetime, lease_seconds: dict[str, float],
                    token: str | None = None) -> list[Entry]:
        self._check()
        token = token or uuid.uuid4().hex
        for c in candidates:
            doc = self.docs.get(c["_id"])
            if doc is None or doc["state"] != c["state"]:
                continue
            if c["state"] == IN_FLIGHT and doc.get("lease_until") != c["lease_until"]:
                continue
            doc.update(state=IN_FLIGHT, claim=token, updated_at=now.timestamp(),
                       lease_until=now.timestamp() + lease_seconds.get(c["pool"], 60.0))
            self.claimed += 1
        return [copy.deepcopy(d) for d in self.docs.values() if d.get("claim") == token]

    async def release_claims(self, tokens: list[str], now: datetime) -> int:
        self._check()
        released = [d for d in self.docs.values() if d.get("claim") in tokens and d["state"] == IN_FLIGHT]
        for doc in released:
            doc.update(state=PENDING, updated_at=now.timestamp())
        return len(released)

    async def next_due(self, exclude_pools: list[str]) -> datetime | None:
        self._check()
        due = [d["due_at"] for d in self.docs.values() if d["state"] == PENDING and d["pool"] not in exclude_pools]
        return datetime.fromtimestamp(min(due), UTC) if due else None

    # The outcome writes: the real store's guards and fields (adapters/store.py), applied in memory.
    @staticmethod
    def finish_op(*args, whole: Entry | None = None, **kwargs) -> _Op | _Insert:
        guard, fields = finish_change(*args, **kwargs)
        return _Op(guard, fields) if whole is None else _Insert({**whole, **fields})

    @staticmethod
    def reschedule_op(*args, whole: Entry | None = None, **kwargs) -> _Op | _Insert:
        guard, fields = reschedule_change(*args, **kwargs)
        return _Op(guard, fields) if whole is None else _Insert({**whole, **fields})

    @staticmethod
    def insert_op(entry: Entry) -> _Insert:
        return _Insert(dict(entry))

    @staticmethod
    def release_op(entry_id: str, claim: str) -> _Op:
        return _Op({"_id": entry_id, "claim": claim, "state": IN_FLIGHT}, {"state": PENDING})

    async def write(self, ops: list[_Op | _Insert]) -> int | None:
        self._check()
        if not ops:
            return None
        matched = 0
        for op in ops:
            if isinstance(op, _Insert):
                if op.doc["_id"] not in self.docs:
                    self.docs[op.doc["_id"]] = copy.deepcopy(op.doc)
                    self.first_writes += 1
                    matched += 1
                continue
            doc = self.docs.get(op.guard["_id"])
            if doc is not None and all(doc.get(k) == v for k, v in op.guard.items()):
                doc.update(op.set)
                matched += 1
        self.writes += 1
        return matched

    async def claims(self, ids: list[str]) -> dict[str, str | None]:
        self._check()
        return {i: self.docs[i].get("claim") for i in ids if i in self.docs}

    async def unreported(self, limit: int) -> list[Entry]:
        self._check()
        return [copy.deepcopy(d) for d in self.docs.values() if d["report_due"]][:limit]

    async def mark_reported(self, ids: list[str]) -> None:
        self._check()
        for i in ids:
            self.docs[i]["report_due"] = False
        self.marked += len(ids)

    async def count_open(self) -> int:
        self._check()
        return sum(1 for d in self.docs.values() if d["state"] in (PENDING, IN_FLIGHT))

    async def sweep_finished(self, finished_before: datetime) -> int:
        self._check()
        gone = [i for i, d in self.docs.items()
                if d.get("finished_at") is not None and d["finished_at"] < finished_before.timestamp()
                and not d["report_due"]]
        for i in gone:
            del self.docs[i]
        return len(gone)

    def states(self) -> dict[str, str]:
        return {i: d["state"] for i, d in self.docs.items()}


@dataclass(frozen=True)
class RawRecord:
    topic: str
    value: bytes | None
    key: bytes | None
    headers: list[tuple[str, bytes]]


class Publisher(RecordingPublisher):
    """The shared recording publisher plus `send_raw` (the notifier's DLQ records). `away`: like a
    broker that does not answer: records are taken but never acknowledged, and drain waits."""

    def __init__(self) -> None:
        super().__init__()
        self.raw: list[RawRecord] = []
        self.away = False
        self._back = asyncio.Event()

    def set_away(self, away: bool) -> None:
        self.away = away
        if away:
            self._back.clear()
        else:
            self._back.set()

    def _ack(self) -> asyncio.Future:
        ack: asyncio.Future = asyncio.get_running_loop().create_future()
        if not self.away:
            ack.set_result(None)
        return ack  # left pending while away: never acknowledged

    async def publish(self, topic, payload, **kwargs) -> asyncio.Future:
        await super().publish(topic, payload, **kwargs)
        return self._ack()

    async def send_raw(self, topic: str, value: bytes | None, key: bytes | None,
                       headers: list[tuple[str, bytes]]) -> asyncio.Future:
        self.raw.append(RawRecord(topic, value, key, list(headers)))
        return self._ack()

    async def drain(self) -> None:
        if self.away:
            await self._back.wait()
        await super().drain()


class FakeHttp:
    """Records every request; answers with `answer(request)` (delivered by default; may be async, to
    hold a send open until the test lets it answer)."""

    def __init__(self) -> None:
        self.requests: list[HttpRequestSpec] = []
        self.answer = lambda request: SendOutcome.delivered("p-1")

    async def send(self, request: HttpRequestSpec, *, timeout: float, api: str, pool: str = "",
                   concurrency: int = 8) -> SendOutcome:
        self.requests.append(request)
        outcome = self.answer(request)
        return await outcome if inspect.isawaitable(outcome) else outcome


class FakeSmtp:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def send(self, message: EmailMessage, *, timeout: float) -> SendOutcome:
        self.messages.append(message)
        return SendOutcome.delivered(str(message["Message-ID"]))
