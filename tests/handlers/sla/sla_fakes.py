"""In-memory fake of the SLA service's store port (services/sla/adapters/ports.py) for the handler
tier. It shares one `journal` with the recording publisher, so a test can assert the order of
effects (publish -> drain -> states). Records are kept as documents (the real mapping, pending
timers inside), so what a handler changes after saving never leaks into what is "stored"."""
from __future__ import annotations

import copy
from collections.abc import Iterable

from switchboard.sla.adapters import mapping
from switchboard.sla.adapters.ports import SlaRecord
from switchboard.sla.domain.effects import TimerArm, epoch_ms


class FakeStateStore:
    def __init__(self, journal: list) -> None:
        self.journal = journal
        self.docs: dict[str, dict] = {}

    async def load(self, conversation_ids: Iterable[str]) -> dict[str, SlaRecord]:
        return {cid: self.get(cid) for cid in set(conversation_ids) if cid in self.docs}

    async def save(self, records: Iterable[SlaRecord], fresh: frozenset[str] = frozenset()) -> None:
        records = list(records)
        for record in records:
            self.docs[record.state.conversation_id] = mapping.to_doc(record)
        self.journal.append(("states", sorted(r.state.conversation_id for r in records)))

    async def pending(self, partitions: Iterable[int]):
        wanted = set(partitions)
        for doc in list(self.docs.values()):
            if doc["partition"] in wanted:
                for tid, arm in mapping.timers_from_doc(doc["_id"], doc["timers"]).items():
                    yield doc["partition"], epoch_ms(arm.due), tid

    def get(self, conversation_id: str) -> SlaRecord | None:
        doc = self.docs.get(conversation_id)
        return None if doc is None else mapping.from_doc(copy.deepcopy(doc))  # shares no list with the store

    def pending_timers(self) -> dict[str, TimerArm]:
        """Every stored pending timer, by id."""
        return {tid: arm for doc in self.docs.values()
                for tid, arm in mapping.timers_from_doc(doc["_id"], doc["timers"]).items()}

    def failed_timer_ids(self, conversation_id: str) -> list[str]:
        return [f["id"] for f in self.docs[conversation_id]["failed_timers"]]
