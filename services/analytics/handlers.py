"""Consumed batch -> domain events (codec) -> per-slot projection, applied in memory -> marked for the
next checkpoint (checkpoint.py), which stores it and then counts it.

A slot's projection in memory is authoritative while this replica owns the slot, so a batch costs
no write: the conversations it changed are marked dirty and its metric effects wait, with its
offsets, for the next checkpoint. Records below the offsets a slot's state includes (applied here,
or stored by an earlier owner) and copies of applied event ids are skipped.

Records of a slot this replica does not hold (fenced off by a newer owner, revoked, or not claimed)
are not applied, so the batch is given back (BatchAbandoned) instead of returned from: the
ConsumerRunner commits the offsets of a batch its handler returned from, and the slot's owner would
never read those records (the group takes this member's commits until its rejoin completes). The
runner itself drops a batch fetched before a rebalance (consumer.py `_drop_moved`); a slot fenced
while still assigned here is what remains. The slots applied in the same batch are read again and
skipped by their offsets. After the final checkpoint (`close`) every batch is given back.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import dataclass

from switchboard.analytics.adapters.codec import decode
from switchboard.analytics.domain.events import Event
from switchboard.analytics.domain.model import BatchResult
from switchboard.analytics.domain.ownership import Slot, SlotClaim
from switchboard.analytics.domain.projection import Projection
from switchboard.analytics.ownership import SlotOwner
from switchboard.common.cloudevents import Envelope
from switchboard.common.consumer import BatchAbandoned, PermanentError
from switchboard.common.logging import get_logger

log = get_logger(__name__)

RECENT_IDS_PER_SLOT = 5_000
# Effects waiting for a checkpoint, per slot, beyond which batches wait (as transient errors) for a
# checkpoint to succeed: a store that stays away stalls the consumer instead of filling the memory.
MAX_PENDING_EFFECTS = 200_000
# A batch given back for a slot fenced off while still assigned here is read back at once until the
# rebalance reaches this member: wait a little each time rather than spin.
FENCED_BACKOFF_SECONDS = 0.2


class CheckpointBehind(TimeoutError):
    """Too much applied but not checkpointed: the ConsumerRunner retries the batch (a transient error)."""


@dataclass
class _SlotBatch:
    slot: Slot
    claim: SlotClaim
    projection: Projection
    result: BatchResult
    dirty: list[str]
    offsets: dict[str, int]
    event_ids: list[str]


class AnalyticsHandler:
    def __init__(self, owner: SlotOwner) -> None:
        self.owner = owner
        self.batches = 0
        self.skipped = 0  # records applied before by another owner, or copies of applied events
        self.fenced_backoff_seconds = FENCED_BACKOFF_SECONDS
        self.max_pending_effects = MAX_PENDING_EFFECTS
        self.closed = False  # after the final checkpoint nothing more is applied

    def close(self) -> None:
        self.closed = True

    async def handle(self, batch: list[Envelope]) -> None:
        if self.closed:
            await asyncio.sleep(self.fenced_backoff_seconds)  # the runner is about to stop
            raise BatchAbandoned()
        by_slot: dict[Slot, list[tuple[Envelope, Event]]] = defaultdict(list)
        for env in batch:
            by_slot[self.owner.slot(env.topic, env.partition or 0)].append((env, decode(env)))
        work, unapplied = [], []
        for slot, records in by_slot.items():
            claim = self.owner.held(slot)
            if claim is None:
                log.warning("analytics_records_of_unowned_slot", slot=slot.key, records=len(records))
                unapplied.append(slot)
                continue
            if len(claim.pending) > self.max_pending_effects:
                raise CheckpointBehind(f"{slot.key}: {len(claim.pending)} effects wait for a checkpoint")
            work.append(self._project(slot, claim, records))
        # Projected first, committed after: a poison record fails the batch before anything is applied.
        for w in work:
            w.projection.commit(w.result)
            w.claim.changed(w.dirty, w.result.effects)
            w.claim.remember(w.event_ids, w.offsets, RECENT_IDS_PER_SLOT)
        self.batches += 1
        if unapplied:
            await self._give_back(unapplied)

    async def _give_back(self, slots: list[Slot]) -> None:
        """Abandons the batch uncommitted: records of these slots were not applied here (module doc)."""
        log.warning("analytics_batch_given_back", slots=sorted(slot.key for slot in slots))
        # Fenced here, or assigned but not claimed (its claim failed): read back at once, so wait a little.
        if any(self.owner.fenced_here(slot) or self.owner.assigned_here(slot) for slot in slots):
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
        dirty = [
            cid
            for cid, state in result.changes.items()
            if (state != current.get(cid) if state is not None else cid in current)
        ]
        return _SlotBatch(slot, claim, projection, result, dirty, offsets, [env.id for env, _ in fresh])
