"""The per-brand agent gauges (assigned conversations, working agents, occupancy) across replicas.

An agent's conversations are spread over every partition, so per-replica "distinct agents" would
count an agent once per replica that holds one of their conversations, and no sum can undo that.
One replica therefore reports these gauges: the owner of conversations partition 0. It tallies its
own slots from memory (exact, immediate) and the other partitions from analytics_open_conversations,
refreshed every few seconds (the other owners write there before they commit). A replica that owns
every partition, as a single replica does, never reads the store for this.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict

from switchboard.analytics.adapters.ports import OpenConversationStore
from switchboard.analytics.domain.labels import Labeller
from switchboard.analytics.domain.ownership import STATE_GROUP, Slot
from switchboard.analytics.ownership import SlotOwner
from switchboard.common.consumer import TRANSIENT_ERRORS
from switchboard.common.logging import get_logger, mask_string

log = get_logger(__name__)
REPORTER_SLOT = Slot(STATE_GROUP, 0)


class AgentTally:
    name = "agent-tally"

    def __init__(self, owner: SlotOwner, store: OpenConversationStore, labeller: Labeller, *, partitions: int,
                 interval_seconds: float) -> None:
        self._owner = owner
        self._store = store
        self._labeller = labeller
        self._all = set(range(partitions))
        self._interval = interval_seconds
        self._elsewhere: dict[str, dict[str, int]] = {}
        self._elsewhere_for: set[int] | None = None  # the owned partitions the tally was read for
        self._task: asyncio.Task | None = None
        self.ready = False

    @property
    def reports(self) -> bool:
        return REPORTER_SLOT in self._owner.claims

    def assignees(self, own: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
        owned = self._owner.state_partitions
        if owned == self._all or self._elsewhere_for != owned:
            return own  # everything is here, or the store tally is of another assignment
        merged: dict[str, dict[str, int]] = defaultdict(dict)
        for source in (own, self._elsewhere):
            for brand, agents in source.items():
                for agent, count in agents.items():
                    merged[brand][agent] = merged[brand].get(agent, 0) + count
        return dict(merged)

    async def refresh(self) -> None:
        owned = self._owner.state_partitions
        if not self.reports or owned == self._all:
            self._elsewhere, self._elsewhere_for = {}, None
            return
        tally: dict[str, dict[str, int]] = defaultdict(dict)
        for brand_id, agent in await self._store.assigned_outside(owned):
            if agent:
                brand = self._labeller.brands(brand_id)
                tally[brand][agent] = tally[brand].get(agent, 0) + 1
        if owned == self._owner.state_partitions:  # not re-assigned while reading
            self._elsewhere, self._elsewhere_for = dict(tally), owned

    async def _run(self) -> None:
        while True:
            try:
                await self.refresh()
            except TRANSIENT_ERRORS as exc:
                log.warning("agent_tally_failed", error=mask_string(repr(exc)))
            await asyncio.sleep(self._interval)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self.name)
        self.ready = True

    async def stop(self) -> None:
        self.ready = False
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
