"""Checkpoints: the owned slots' in-memory state written to MongoDB, then counted.

Per owned slot, a checkpoint writes the conversations changed since the last one, each once in its
latest state (a resolved one removed), into the few chunk documents that hold them, guarded by the
slot's epoch; then the offsets that state includes, if the epoch is still ours; and only then counts
the effects of those records. It runs every `checkpoint_seconds`, for the revoked slots before the
partitions move (the runner's revoke callback, which waits for the batch in flight), and once more
at shutdown before the consumer leaves its group. So a graceful rebalance or restart hands over
state that includes every counted record, and the next owner counts nothing twice. After a kill -9
the next owner reads the records since the last checkpoint again (the assignment hook seeks back to
the stored offsets): the dead process had not counted them. A refused checkpoint (a newer owner
holds the slot) fences the slot here and its effects are dropped: their records are the new owner's
to count.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable

from aiokafka import TopicPartition
from switchboard.analytics.adapters.metrics import AnalyticsMetrics
from switchboard.analytics.adapters.ports import OpenConversationStore, SlotLedger, SlotWrite
from switchboard.analytics.domain.ownership import Checkpoint, Slot, SlotClaim
from switchboard.analytics.handlers import AnalyticsHandler
from switchboard.analytics.ownership import SlotOwner
from switchboard.common.consumer import TRANSIENT_ERRORS
from switchboard.common.logging import get_logger, mask_string

log = get_logger(__name__)


class Checkpointer:
    """Service component (listed after the consumer, so stopped before it): periodic checkpoints, the
    revoke hook, and the final checkpoint."""

    name = "checkpoint"

    def __init__(self, owner: SlotOwner, handler: AnalyticsHandler, store: OpenConversationStore,
                 ledger: SlotLedger, metrics: AnalyticsMetrics, *, interval_seconds: float) -> None:
        self._owner = owner
        self._handler = handler
        self._store = store
        self._ledger = ledger
        self._metrics = metrics
        self._interval = interval_seconds
        self._writing = asyncio.Lock()  # one checkpoint at a time: a later one must not land first
        self.task: asyncio.Task | None = None
        self.checkpoints = 0  # slots checkpointed (stored and counted)
        self.conversations = 0  # conversations written (or removed) by them

    @property
    def ready(self) -> bool:
        return self.task is not None and not self.task.done()

    async def start(self) -> None:
        self.task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        """Shutdown: no batch is applied from here on, and everything applied is stored and counted
        while the partitions are still this replica's (the consumer leaves its group after this)."""
        self._handler.close()
        self._owner.closing = True
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
        try:
            await self.checkpoint()
        except TRANSIENT_ERRORS as exc:  # the next owner reads those records again and counts them
            log.warning("analytics_final_checkpoint_failed", error=mask_string(repr(exc)))

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self.checkpoint()
            except Exception as exc:  # the store may be away for a moment: all of it waits for the next
                log.warning("analytics_checkpoint_failed", error=mask_string(repr(exc)))

    async def on_revoked(self, tps: set[TopicPartition]) -> None:
        """The runner's revoke hook: checkpoint the revoked slots, then park them."""
        try:
            await self.checkpoint(self._owner.slots_of(tps))
        except Exception as exc:  # parked uncounted: whoever owns them next counts those records
            log.warning("analytics_revocation_checkpoint_failed", error=mask_string(repr(exc)))
        await self._owner.on_revoked(tps)

    async def checkpoint(self, slots: Iterable[Slot] | None = None) -> int:
        """Checkpoints the given owned slots (all when None); returns how many were stored."""
        async with self._writing:
            wanted = None if slots is None else set(slots)
            taken: list[tuple[SlotClaim, Checkpoint]] = []
            for slot, claim in list(self._owner.claims.items()):
                if wanted is None or slot in wanted:
                    checkpoint = claim.take(self._owner.open_of(slot))
                    if checkpoint is not None:
                        taken.append((claim, checkpoint))
            if not taken:
                return 0
            try:
                fenced = await self._write([checkpoint for _, checkpoint in taken])
            except BaseException:
                for claim, checkpoint in taken:
                    claim.give_back(checkpoint)
                raise
            for claim, checkpoint in taken:
                if checkpoint.slot.key in fenced:
                    self._owner.fence(checkpoint.slot, checkpoint.epoch)
                    continue
                claim.stored_as(checkpoint)
                self._metrics.apply(checkpoint.effects)
                self.checkpoints += 1
                self.conversations += len(checkpoint.changes)
            return len(taken) - len(fenced)

    async def _write(self, checkpoints: list[Checkpoint]) -> set[str]:
        """Of the slots whose epoch is still ours, the documents (each guarded by the epoch), then the
        offsets of those none of whose documents was refused (if their epoch is still ours); returns the
        keys of the slots fenced off. The epochs are read first so that a revoked owner's checkpoint
        writes nothing; the guarded writes still refuse one that loses the race with a claim."""
        epochs = await self._ledger.epochs([c.slot.key for c in checkpoints])
        moved = {c.slot.key for c in checkpoints if epochs.get(c.slot.key) != c.epoch}
        live = [c for c in checkpoints if c.slot.key not in moved]
        refused = await self._store.apply([SlotWrite(c.slot.partition, c.epoch, c.changes, c.relayout)
                                           for c in live if c.changes or c.relayout])
        fenced = moved | {c.slot.key for c in live if c.slot.holds_state and c.slot.partition in refused}
        marks = {c.slot.key: (c.epoch, c.offsets) for c in live if c.slot.key not in fenced}
        return fenced | await self._ledger.advance(marks)
