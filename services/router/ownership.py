"""Which routing scopes (brands) this routing-stage replica owns, and since which epoch.

The routing topic is keyed by brand, so a brand's records all land in one partition and Kafka's
group protocol gives that partition to one member at a time. Ownership follows the assignment: on
assignment the replica claims every configured brand whose partition it got (and any other brand
when its first record arrives), which raises the brand's epoch in MongoDB and rebuilds the brand's
state from the store; on revocation it drops them. A replica that finds its write refused (the brand
was claimed by another since: it is a revoked owner that has not noticed yet) gives the batch up
uncommitted and stays away from the brand until its next assignment.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from typing import TypeVar

from aiokafka import TopicPartition
from aiokafka.partitioner import DefaultPartitioner
from switchboard.common.consumer import BatchAbandoned
from switchboard.common.logging import get_logger
from switchboard.router import metrics
from switchboard.router.adapters.journal import Fenced
from switchboard.router.adapters.ports import Ownership
from switchboard.router.adapters.store import RouterStore

log = get_logger(__name__)
T = TypeVar("T")
_PARTITIONER = DefaultPartitioner()
LOST_BACKOFF_SECONDS = 0.5  # a lost scope's batch is given up; wait a little before the runner reads it again


def contact_scope(partition: int) -> str:
    """The contact stage's scope of one contacts-topic partition (its customers), fenced by its own epoch."""
    return f"contacts/{partition}"


def contact_partition(scope: str) -> int:
    return int(scope.rpartition("/")[2])


def partition_of(brand: str, partitions: int) -> int:
    """The partition the producer's default partitioner puts a record keyed by `brand` in."""
    every = list(range(partitions))
    return _PARTITIONER(brand.encode(), every, every)


async def side_by_side(works: Iterable[Awaitable[object]]) -> None:
    """The work of each scope in a batch (its own state, journal and epoch), run side by side, so a batch
    of many scopes costs the store round trips of one. Every one ends before the first failure is raised
    (the runner then replays the batch)."""
    outcomes = await asyncio.gather(*works, return_exceptions=True)
    failure = next((o for o in outcomes if isinstance(o, BaseException)), None)
    if failure is not None:
        raise failure


async def as_owner(ownership: Ownership | None, store: RouterStore, scope: str,
                   work: Callable[[], Awaitable[T]]) -> T:
    """Runs `work` as the owner of `scope` (unscoped without `ownership`). A write refused because another
    replica claimed the scope since gives the batch up (BatchAbandoned: no retry, no DLQ) and the scope
    with it; any failure drops the store's resident state, which the work may have changed half-way (the
    redelivery reads it afresh)."""
    if ownership is not None:
        await ownership.ensure(scope)  # (raises before anything is read or changed)
    try:
        return await work()
    except Fenced:
        store.forget()
        if ownership is not None:
            await ownership.lost(scope)
        raise BatchAbandoned() from None
    except BaseException:
        store.forget()
        raise


async def each_owned(ownership: Ownership | None, store: RouterStore, scopes: Iterable[str],
                     work: Callable[[str], Awaitable[int]]) -> int:
    """A tick's `work` for each of `scopes` this replica still owns, one after the other; a scope revoked
    since the ticker asked, or lost while ticking, is skipped. Returns the sum of what `work` returned."""
    total = 0
    for scope in sorted(scopes):
        if ownership is not None and scope not in ownership.owned():
            continue
        try:
            total += await as_owner(ownership, store, scope, lambda scope=scope: work(scope))
        except BatchAbandoned:
            continue
    return total


class ScopeOwnership:
    def __init__(self, store: RouterStore, topic: str, partitions: int, configured: Iterable[str],
                 lock: asyncio.Lock, partition: Callable[[str], int] | None = None, gauge=None) -> None:
        """`partition`: the partition of a scope (default: a brand's, as the producer keys it); `gauge`: the
        number of scopes owned (default: routing scopes)."""
        self._store, self._topic, self._partitions = store, topic, partitions
        self._configured = sorted(b for b in configured if b != "*")
        self._lock = lock  # the handler's: no batch or tick runs while ownership changes
        self._assigned: set[int] = set()
        self._lost: set[str] = set()
        self._partition = partition or (lambda brand: partition_of(brand, partitions))
        self._gauge = gauge or metrics.SCOPES_OWNED

    def owned(self) -> set[str]:
        return set(self._store.epochs)

    async def on_assigned(self, assigned: set[TopicPartition]) -> None:
        async with self._lock:
            self._assigned = {tp.partition for tp in assigned if tp.topic == self._topic}
            self._lost.clear()
            for brand in self._configured:
                if self._partition(brand) in self._assigned:
                    try:
                        await self._claim(brand)
                    except Exception as exc:  # claimed on its first record instead
                        log.warning("routing_scope_claim_failed", brand=brand, error=type(exc).__name__)

    async def on_revoked(self, revoked: set[TopicPartition]) -> None:
        async with self._lock:
            gone = {tp.partition for tp in revoked if tp.topic == self._topic}
            self._assigned -= gone
            brands = {b for b in self._store.epochs if self._partition(b) in gone}
            self._store.release(brands)
            metrics.forget_brands(brands)
            self._gauge.set(len(self._store.epochs))
            if brands:
                log.info("routing_scopes_released", brands=sorted(brands))

    async def ensure(self, brand: str) -> None:
        """Called under the handler's lock before a batch of `brand` is applied."""
        if brand in self._store.epochs:
            return
        if brand in self._lost:
            await asyncio.sleep(LOST_BACKOFF_SECONDS)
            raise BatchAbandoned()
        await self._claim(brand)

    async def lost(self, brand: str) -> None:
        """A write was fenced: another replica owns the brand now."""
        metrics.FENCED.inc()
        self._lost.add(brand)
        self._store.release({brand})
        metrics.forget_brands({brand})
        self._gauge.set(len(self._store.epochs))
        log.warning("routing_scope_lost", brand=brand)
        await asyncio.sleep(LOST_BACKOFF_SECONDS)

    async def _claim(self, brand: str) -> None:
        epoch = await self._store.claim(brand)
        metrics.SCOPE_CLAIMS.inc()
        self._gauge.set(len(self._store.epochs))
        log.info("routing_scope_claimed", brand=brand, epoch=epoch)
