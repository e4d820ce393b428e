"""Slot ownership of one analytics replica: claim on assignment, park on revocation, fence on refusal.

On assignment every slot's epoch is bumped in MongoDB (analytics_partitions), which fences whoever
held it before, and its open conversations are loaded from analytics_open_conversations (its chunk documents) (faust or
Kafka changelogs are not trusted for this: they recover wrongly on the embedded broker). A slot
handed back to the replica that parked it, with nobody in between, keeps its memory instead.
The assignment hook returns where each partition's state ends, so the consumer reads again what
the group committed past the last checkpoint (a crashed owner's records since its last checkpoint).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Mapping

from aiokafka import TopicPartition
from switchboard.analytics.adapters.ports import OpenConversationStore, SlotLedger
from switchboard.analytics.domain.model import OpenConversation
from switchboard.analytics.domain.ownership import Slot, SlotClaim, continues, slot_of
from switchboard.analytics.domain.partitions import PartitionedProjection
from switchboard.analytics.domain.projection import Projection
from switchboard.common.consumer import TRANSIENT_ERRORS
from switchboard.common.logging import get_logger, mask_string
from switchboard.common.topics import TopicNames

log = get_logger(__name__)
CLAIM_RETRY_SECONDS = 0.1  # first wait before claiming again while the store is away (doubling, <= 5 s)


class SlotOwner:
    def __init__(self, projection: PartitionedProjection, store: OpenConversationStore, ledger: SlotLedger,
                 topics: TopicNames, *, owner_id: str, consumed: Iterable[str]) -> None:
        self.projection = projection
        self._store = store
        self._ledger = ledger
        self._owner_id = owner_id
        self._logical = {topics.of(t): t for t in consumed}
        self.claims: dict[Slot, SlotClaim] = {}
        self._parked: dict[Slot, tuple[SlotClaim, Projection | None]] = {}
        # The consumer's current assignment (bootstrap wires it): updated before the assignment hook
        # runs, and the fetcher may hand out records of new partitions while the hook still claims.
        self.current: Callable[[], set[TopicPartition]] = lambda: set()
        # Refused within an assignment (the assignment object it happened in): not ours until the next.
        self._fenced: dict[Slot, object] = {}
        self.last_load: dict[str, float] = {}
        self.loads = 0  # slots loaded from the store (not kept in memory across a rebalance)
        self._claiming = asyncio.Lock()  # figures of the latest slot load (seconds, conversations)
        self.closing = False  # shutting down: a claim failing meanwhile is not retried
        self.claim_retry_seconds = CLAIM_RETRY_SECONDS

    # -- as a service component: ready once the first assignment was loaded (maybe an empty one) ---
    name = "ownership"
    assignments: Callable[[], int] = staticmethod(lambda: 1)  # bootstrap: the consumer's count

    caught_up: Callable[[], bool] = staticmethod(lambda: True)  # bootstrap: the consumer's rewinds

    @property
    def ready(self) -> bool:
        """The first assignment loaded, and what the group had committed past its checkpoints read again."""
        return self.assignments() > 0 and self.caught_up()

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass

    def logical(self, topic: str) -> str:
        return self._logical[topic]

    def slot(self, topic: str, partition: int) -> Slot:
        return slot_of(self._logical[topic], partition)

    def slots_of(self, tps: Iterable[TopicPartition]) -> set[Slot]:
        return {self.slot(tp.topic, tp.partition) for tp in tps if tp.topic in self._logical}

    async def on_assigned(self, tps: set[TopicPartition]) -> dict[TopicPartition, int]:
        """Claims the assigned slots; returns where each partition's state ends, for the consumer to
        read from there when the group committed further (the runner handles no batch meanwhile)."""
        assigned = self.slots_of(tps)
        for slot in sorted(assigned):
            await self._claim_retrying(slot)
        for slot in set(self._parked) - assigned:  # went elsewhere: that memory is stale from now on
            del self._parked[slot]
        starts = {}
        for tp in tps:
            claim = self.claims.get(self.slot(tp.topic, tp.partition)) if tp.topic in self._logical else None
            if claim is not None:
                starts[tp] = claim.offsets.get(self._logical[tp.topic], 0)
        return starts

    async def _claim_retrying(self, slot: Slot) -> None:
        """A slot is claimed in the assignment hook, so that its consumer can be sought back before any
        record of it is handled: a store that is away is waited for (the batches wait too)."""
        attempt = 0
        while not self.closing:
            try:
                await self.ensure(slot)
                return
            except TRANSIENT_ERRORS as exc:
                attempt += 1
                log.warning("analytics_slot_claim_retrying", slot=slot.key, attempt=attempt,
                            error=mask_string(repr(exc)))
                await asyncio.sleep(min(self.claim_retry_seconds * 2 ** (attempt - 1), 5.0))

    async def on_revoked(self, tps: set[TopicPartition]) -> None:
        for slot in self.slots_of(tps):
            self.park(slot)

    def park(self, slot: Slot) -> None:
        """Stops reporting the slot, but keeps its state in case the next assignment gives it back."""
        claim = self.claims.pop(slot, None)
        projection = self.projection.remove(slot)
        if claim is not None:
            self._parked[slot] = (claim, projection)

    def fence(self, slot: Slot, epoch: int) -> None:
        """A newer owner wrote this slot: drop it entirely until the next assignment."""
        claim = self.claims.get(slot)
        if claim is not None and claim.epoch != epoch:
            return  # re-claimed by this replica since: that claim is current
        self.claims.pop(slot, None)
        self._parked.pop(slot, None)
        self.projection.remove(slot)
        self._fenced[slot] = self.current()
        log.warning("analytics_slot_fenced", slot=slot.key)

    def assigned_here(self, slot: Slot) -> bool:
        return slot in self.slots_of(self.current())

    def fenced_here(self, slot: Slot) -> bool:
        """Fenced off within the current assignment: the consumer still fetches it until the rebalance."""
        return self._fenced.get(slot) is self.current()

    def held(self, slot: Slot) -> SlotClaim | None:
        """This replica's claim on the slot of a consumed record; None for one not (or no longer) ours."""
        return self.claims.get(slot)

    def open_of(self, slot: Slot) -> Mapping[str, OpenConversation]:
        projection = self.projection.slots.get(slot) if slot.holds_state else None
        return projection.open if projection is not None else {}

    async def ensure(self, slot: Slot) -> SlotClaim | None:
        """This replica's claim on an assigned slot, claiming it if it has none; None for a slot that
        is not (or no longer) ours."""
        async with self._claiming:  # one claim per slot at a time: a second would fence the first
            claim = self.claims.get(slot)
            if claim is not None:
                return claim
            assignment = self.current()
            if self._fenced.get(slot) is assignment or slot not in self.slots_of(assignment):
                return None
            return await self._claim(slot)

    async def _claim(self, slot: Slot) -> SlotClaim:
        started = time.perf_counter()
        epoch, offsets = await self._ledger.claim(slot.key, self._owner_id)
        parked_claim, parked_projection = self._parked.pop(slot, (None, None))
        claim = SlotClaim(slot, epoch, offsets)
        loaded = None
        if continues(parked_claim, epoch) and (parked_projection is not None or not slot.holds_state):
            # Nobody else held it: its memory, and what it applied but did not checkpoint yet, are current.
            claim = parked_claim
            claim.epoch, claim.stored = epoch, offsets
            if parked_projection is not None:
                self.projection.adopt(slot, parked_projection)
        elif slot.holds_state:
            stored = await self._store.load_partition(slot.partition)
            self.projection.install(slot, stored.conversations)
            claim.relayout = stored.relayout
            loaded = len(stored.conversations)
        self.claims[slot] = claim
        seconds = time.perf_counter() - started
        if loaded is not None:
            self.loads += 1
            self.last_load = {"seconds": seconds, "conversations": loaded}
        log.info("analytics_slot_claimed", slot=slot.key, epoch=epoch, reloaded=loaded is not None,
                 open_conversations=loaded, seconds=round(seconds, 4))
        return claim

    @property
    def state_partitions(self) -> set[int]:
        return {slot.partition for slot in self.claims if slot.holds_state}
