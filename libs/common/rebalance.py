"""The consumer runner's side of a group rebalance (aiokafka calls it from its coordinator).

The `on_assigned` hook may return {TopicPartition: offset}: where the service's own state of each
partition ends (a service that stores its progress beside its state and checkpoints it less often
than the group commits). A partition whose committed offset is beyond that (or cannot be read) is
read again from there; one committed at or before it starts at its committed offset as usual.
`Rewinds.caught_up` says when the records read again have been handled.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from aiokafka import ConsumerRebalanceListener, TopicPartition
from switchboard.common import metrics
from switchboard.common.logging import get_logger, mask_string

if TYPE_CHECKING:
    from switchboard.common.consumer import ConsumerRunner

log = get_logger(__name__)


class Rewinds:
    """Partitions the assignment hook had read again from before their committed offset."""

    def __init__(self) -> None:
        self.starts: dict[TopicPartition, int] = {}  # where the hook asked the current assignment to start
        self.marks: dict[TopicPartition, int] = {}  # the committed offset each is being read up to again

    @property
    def caught_up(self) -> bool:
        return not self.marks

    def start(self, tp: TopicPartition, offset: int) -> int:
        """Where to read `tp` from when seeking back to `offset`: never past the hook's start, which a
        batch fetched before the hook's seek, or the group's committed offset, may be beyond."""
        return min(offset, self.starts.get(tp, offset))

    def handled(self, next_offsets: dict[TopicPartition, int]) -> None:
        """A batch was handled: a partition read up to its mark is caught up, and from then on it is
        sought back to its commits again, not to the hook's start."""
        for tp, offset in next_offsets.items():
            if offset >= self.marks.get(tp, offset):
                self.marks.pop(tp, None)
                self.starts.pop(tp, None)

    def forget(self, tps: set[TopicPartition]) -> None:
        for tp in tps:
            self.starts.pop(tp, None)
            self.marks.pop(tp, None)


class RebalanceListener(ConsumerRebalanceListener):
    """aiokafka's rebalance callbacks for a ConsumerRunner: its assigned set, its hooks, its counters."""

    def __init__(self, runner: ConsumerRunner) -> None:
        self._runner = runner

    async def on_partitions_revoked(self, revoked) -> None:
        # Let the batch in flight finish and commit before the partitions move.
        async with self._runner._processing:
            self._runner.revocations += 1  # a batch fetched before this is stale (see _run)
            self._runner.assigning = True  # and none is handled until the assignment hook is done
            self._runner.assigned -= set(revoked)
            self._runner.rewinds.forget(set(revoked))
            metrics.ASSIGNED_PARTITIONS.labels(self._runner.group_id).set(len(self._runner.assigned))
            if self._runner.on_revoked and revoked:
                await self._runner.on_revoked(set(revoked))

    async def on_partitions_assigned(self, assigned) -> None:
        runner = self._runner
        runner.assigned = set(assigned)
        metrics.ASSIGNED_PARTITIONS.labels(runner.group_id).set(len(assigned))
        try:
            if runner.on_assigned and assigned:
                await self._start_at(await runner.on_assigned(set(assigned)) or {})
        finally:
            runner.assigning = False
        runner.assignments += 1  # after the hook: a state-owning service is ready from here on

    async def _start_at(self, starts: dict[TopicPartition, int]) -> None:
        consumer, rewinds = self._runner._consumer, self._runner.rewinds
        for tp, offset in starts.items():
            if tp not in self._runner.assigned:
                continue
            try:
                committed = await consumer.committed(tp)
            except Exception as exc:  # unknown: the service's start is the safe one
                log.warning("committed_offset_unknown", tp=str(tp), error=mask_string(repr(exc)))
                committed = None
                consumer.seek(tp, offset)
                rewinds.starts[tp] = offset
            if committed is not None and committed > offset:
                consumer.seek(tp, offset)
                rewinds.starts[tp], rewinds.marks[tp] = offset, committed
                log.info("partition_read_again", consumer=self._runner.name, tp=str(tp), start=offset,
                         committed=committed)
