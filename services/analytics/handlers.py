"""Consumed batch -> domain events (codec) -> per-slot projection -> store writes (fenced) -> commit
to memory -> metrics.

The order matters: the projection change is persisted before it is committed in memory and before
any counter moves, so a failed write (retried by the ConsumerRunner) never counts anything twice,
and the gauges rebuilt on assignment match what was counted. Then the slot's offsets are stored
with its epoch: a record below them is never applied (or counted) again by a later owner, and a
write refused because a newer owner holds the slot counts nothing here.

Records of a slot this replica does not hold (fenced off by a newer owner, or revoked) are not
applied, so the batch is given back (BatchAbandoned) instead of returned from: the ConsumerRunner
commits the offsets of a batch its handler returned from, and the slot's owner would never read
those records (the group takes this member's commits until its rejoin completes). The runner itself
drops a batch fetched before a revocation (consumer.py `_drop_moved`); a slot fenced while still
assigned here is what remains. The slots applied in the same batch are re-read and skipped by their
stored offsets.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import dataclass

from switchboard.analytics.adapters.codec import decode
from switchboard.analytics.adapters.metrics import AnalyticsMetrics
from switchboard.analytics.adapters.ports import OpenConversationStore, SlotLedger, SlotWrite
from switchboard.analytics.domain.events import Event
from switchboard.analytics.domain.model import BatchResult, OpenConversation
from switchboard.analytics.domain.ownership import Slot, SlotClaim
from switchboard.analytics.domain.projection import Projection
from switchboard.analytics.ownership import SlotOwner
from switchboard.common.cloudevents import Envelope
from switchboard.common.consumer import BatchAbandoned, PermanentError
from switchboard.common.logging import get_logger

log = get_logger(__name__)

RECENT_IDS_PER_SLOT = 5_000
# A batch given back for a slot fenced off while still assigned here is read back at once until the
# rebalance reaches this member: wait a little each time rather than spin.
FENCED_BACKOFF_SECONDS = 0.2


@dataclass
class _SlotBatch:
    slot: Slot
    claim: SlotClaim
    projection: Projection
    result: BatchResult
    writes: dict[str, OpenConversation | None]
    offsets: dict[str, int]
    event_ids: list[str]


class AnalyticsHandler:
    def __init__(self, owner: SlotOwner, store: OpenConversationStore, ledger: SlotLedger,
                 metrics: AnalyticsMetrics) -> None:
        self.owner = owner
        self.store = store
        self.ledger = ledger
        self.metrics = metrics
        self.batches = 0
        self.skipped = 0  # records applied before by another owner, or copies of applied events
        self.fenced_backoff_seconds = FENCED_BACKOFF_SECONDS

    async def handle(self, batch: list[Envelope]) -> None:
        by_slot: dict[Slot, list[tuple[Envelope, Event]]] = defaultdict(list)
        for env in batch:
            by_slot[self.owner.slot(env.topic, env.partition or 0)].append((env, decode(env)))
        work, unapplied = [], []
        for slot, records in by_slot.items():
            claim = await self.owner.ensure(slot)
            if claim is None:
                log.warning("analytics_records_of_unowned_slot", slot=slot.key, records=len(records))
                unapplied.append(slot)
                continue
            work.append(self._project(slot, claim, records))
        refused = await self.store.apply(
            [SlotWrite(w.slot.partition, w.claim.epoch, w.writes) for w in work if w.writes]
        )
        marks = {
            w.slot.key: (w.claim.epoch, w.claim.advanced(w.offsets))
            for w in work
            if not (w.slot.holds_state and w.slot.partition in refused)
        }
        fenced = await self.ledger.advance(marks)
        for w in work:
            if w.slot.key in fenced or w.slot.key not in marks:
                self.owner.fence(w.slot, w.claim.epoch)
                unapplied.append(w.slot)
                continue
            w.projection.commit(w.result)
            self.metrics.apply(w.result.effects)
            w.claim.remember(w.event_ids, w.offsets, RECENT_IDS_PER_SLOT)
        self.batches += 1
        if unapplied:
            await self._give_back(unapplied)

    async def _give_back(self, slots: list[Slot]) -> None:
        """Abandons the batch uncommitted: records of these slots were not applied here (module doc)."""
        log.warning("analytics_batch_given_back", slots=sorted(slot.key for slot in slots))
        if any(self.owner.fenced_here(slot) for slot in slots):
            await asyncio.sleep(self.fenced_backoff_seconds)
        raise BatchAbandoned()

    def _project(self, slot: Slot, claim: SlotClaim, records: list[tuple[Envelope, Event]]) -> _SlotBatch:
        offsets: dict[str, int] = {}
        fresh: list[tuple[Envelope, Event]] = []
        ids: set[str] = set()
        for env, event in records:
            topic = self.owner.logical(env.topic)
            if env.offset is not None:
                offsets[topic] = max(offsets.get(topic, 0), env.offset + 1)
            if claim.applied(topic, env.offset) or claim.seen(env.id) or env.id in ids:
                self.skipped += 1
                continue
            ids.add(env.id)
            fresh.append((env, event))
        projection = self.owner.projection.for_slot(slot)
        try:
            result = projection.apply_batch(event for _, event in fresh)
        except (ValueError, TypeError) as exc:
            # One bad event fails the batch; the runner then replays it record by record and only the
            # bad one reaches the DLQ.
            raise PermanentError(str(exc)) from exc
        # Events that changed nothing the projection keeps (warnings, messages mid-wait ...) cost no write.
        current = projection.open
        writes = {
            cid: state
            for cid, state in result.changes.items()
            if (state != current.get(cid) if state is not None else cid in current)
        }
        return _SlotBatch(slot, claim, projection, result, writes, offsets, [env.id for env, _ in fresh])
