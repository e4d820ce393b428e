"""The consumer runner's side of a group rebalance (aiokafka calls it from its coordinator)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from aiokafka import ConsumerRebalanceListener
from switchboard.common import metrics

if TYPE_CHECKING:
    from switchboard.common.consumer import ConsumerRunner


class RebalanceListener(ConsumerRebalanceListener):
    """aiokafka's rebalance callbacks for a ConsumerRunner: its assigned set, its hooks, its counters."""

    def __init__(self, runner: ConsumerRunner) -> None:
        self._runner = runner

    async def on_partitions_revoked(self, revoked) -> None:
        # Let the batch in flight finish and commit before the partitions move.
        async with self._runner._processing:
            self._runner.revocations += 1  # a batch fetched before this is stale (see _run)
            self._runner.assigned -= set(revoked)
            metrics.ASSIGNED_PARTITIONS.labels(self._runner.group_id).set(len(self._runner.assigned))
            if self._runner.on_revoked and revoked:
                await self._runner.on_revoked(set(revoked))

    async def on_partitions_assigned(self, assigned) -> None:
        self._runner.assigned = set(assigned)
        metrics.ASSIGNED_PARTITIONS.labels(self._runner.group_id).set(len(assigned))
        if self._runner.on_assigned and assigned:
            await self._runner.on_assigned(set(assigned))
        self._runner.assignments += 1  # after the hook: a state-owning service is ready from here on
