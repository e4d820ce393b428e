"""Slot ownership of one analytics replica: claim on assignment, park on revocation, fence on refusal.

On assignment every slot's epoch is bumped in MongoDB (analytics_partitions), which fences whoever
held it before, and its open conversations are loaded from analytics_open_conversations (faust or
Kafka changelogs are not trusted for this: they recover wrongly on the embedded broker). A slot
handed back to the replica that parked it, with nobody in between, keeps its memory instead.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable

from aiokafka import TopicPartition
from switchboard.analytics.adapters.ports import OpenConversationStore, SlotLedger
from switchboard.analytics.domain.ownership import Slot, SlotClaim, continues, slot_of
from switchboard.analytics.domain.partitions import PartitionedProjection
from switchboard.analytics.domain.projection import Projection
from switchboard.common.consumer import TRANSIENT_ERRORS
from switchboard.common.logging import get_logger, mask_string
from switchboard.common.topics import TopicNames

log = get_logger(__name__)


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

    # -- as a service component: ready once the first assignment was loaded (maybe an empty one) ---
    name = "ownership"
    assignments: Callable[[], int] = staticmethod(lambda: 1)  # bootstrap: the consumer's count

    @property
    def ready(self) -> bool:
        return self.assignments() > 0

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass

    def logical(self, topic: str) -> str:
        return self._logical[topic]

    def slot(self, topic: str, partition: int) -> Slot:
        return slot_of(self._logical[topic], partition)

    def _slots(self, tps: Iterable[TopicPartition]) -> set[Slot]:
        return {self.slot(tp.topic, tp.partition) for tp in tps if tp.topic in self._logical}

    async def on_assigned(self, tps: set[TopicPartition]) -> None:
        assigned = self._slots(tps)
        for slot in sorted(assigned):
            try:
                await self.ensure(slot)  # a batch may have claimed it meanwhile: the fetcher does not wait
            except TRANSIENT_ERRORS as exc:  # claimed on its first batch instead
                log.warning("analytics_slot_claim_deferred", slot=slot.key, error=mask_string(repr(exc)))
        for slot in set(self._parked) - assigned:  # went elsewhere: that memory is stale from now on
            del self._parked[slot]

    async def on_revoked(self, tps: set[TopicPartition]) -> None:
        for slot in self._slots(tps):
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

    def fenced_here(self, slot: Slot) -> bool:
        """Fenced off within the current assignment: the consumer still fetches it until the rebalance."""
        return self._fenced.get(slot) is self.current()

    async def ensure(self, slot: Slot) -> SlotClaim | None:
        """This replica's claim on the slot of a consumed record, claiming it if the assignment hook
        could not; None for a slot that is not (or no longer) ours."""
        async with self._claiming:  # one claim per slot at a time: a second would fence the first
            claim = self.claims.get(slot)
            if claim is not None:
                return claim
            assignment = self.current()
            if self._fenced.get(slot) is assignment or slot not in self._slots(assignment):
                return None
            return await self._claim(slot)

    async def _claim(self, slot: Slot) -> SlotClaim:
        started = time.perf_counter()
        epoch, offsets = await self._ledger.claim(slot.key, self._owner_id)
        parked_claim, parked_projection = self._parked.pop(slot, (None, None))
        claim = SlotClaim(slot, epoch, offsets)
        loaded = None
        if continues(parked_claim, epoch) and (parked_projection is not None or not slot.holds_state):
            claim.recent_ids = parked_claim.recent_ids
            if parked_projection is not None:
                self.projection.adopt(slot, parked_projection)
        elif slot.holds_state:
            conversations = await self._store.load_partition(slot.partition)
            self.projection.install(slot, conversations)
            loaded = len(conversations)
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
