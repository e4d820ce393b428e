"""In-memory fakes of the SLA service's store ports (services/sla/adapters/ports.py) for the handler
tier. They share one `journal` with the recording publisher, so a test can assert the order of
effects (publish -> drain -> timers -> states). Records are kept as documents (the real mapping), so
what a handler changes after saving never leaks into what is "stored"."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from switchboard.sla.adapters import mapping
from switchboard.sla.adapters.ports import Fired, SlaRecord
from switchboard.sla.domain.effects import TimerArm, epoch_ms


class FakeStateStore:
    def __init__(self, journal: list) -> None:
        self.journal = journal
        self.docs: dict[str, dict] = {}

    async def load(self, conversation_ids: Iterable[str]) -> dict[str, SlaRecord]:
        return {cid: mapping.from_doc(self.docs[cid]) for cid in set(conversation_ids) if cid in self.docs}

    async def save(self, records: Iterable[SlaRecord], fresh: frozenset[str] = frozenset()) -> None:
        records = list(records)
        for record in records:
            self.docs[record.state.conversation_id] = mapping.to_doc(record)
        self.journal.append(("states", sorted(r.state.conversation_id for r in records)))

    def get(self, conversation_id: str) -> SlaRecord | None:
        doc = self.docs.get(conversation_id)
        return None if doc is None else mapping.from_doc(doc)


@dataclass
class StoredTimer:
    arm: TimerArm
    partition: int
    state: str = "pending"   # pending | fired | failed
    fired_at: datetime | None = None


class FakeTimerStore:
    def __init__(self, journal: list) -> None:
        self.journal = journal
        self.timers: dict[str, StoredTimer] = {}
        self.writes = 0

    async def write(self, arms: Iterable[tuple[TimerArm, int]], cancels: Iterable[str], fired: Iterable[Fired],
                    fresh: frozenset[str] = frozenset()) -> None:
        arms, cancels, fired = list(arms), list(cancels), list(fired)
        for arm, partition in arms:
            self.timers[arm.id] = StoredTimer(arm, partition)
        for tid in cancels:
            if tid in self.timers and self.timers[tid].state == "pending":
                del self.timers[tid]
        for entry in fired:
            if entry[0] in self.timers:
                timer = self.timers[entry[0]]
                timer.state, timer.fired_at = (entry[2] if len(entry) > 2 else "fired"), entry[1]
        self.writes += 1
        self.journal.append(("timers", sorted(a.id for a, _ in arms), sorted(cancels), sorted(f[0] for f in fired)))

    async def pending(self, partitions: Iterable[int]):
        wanted = set(partitions)
        for tid, timer in list(self.timers.items()):
            if timer.state == "pending" and timer.partition in wanted:
                yield timer.partition, epoch_ms(timer.arm.due), tid

    def in_state(self, state: str) -> dict[str, StoredTimer]:
        return {tid: t for tid, t in self.timers.items() if t.state == state}
