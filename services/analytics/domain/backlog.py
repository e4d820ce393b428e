"""Backlog gauges computed from the open-conversation projection at a given instant.

Computed at scrape time (the clock is passed in), so "at risk" and "oldest waiting" move with time
even when no event arrives, and they are right straight after a restart because the projection is
reloaded from MongoDB before the first scrape.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from . import labels as L
from .model import OpenConversation

AT_RISK_FRACTION = 0.25  # "at risk": less than a quarter of the SLA budget left


@dataclass
class BacklogSnapshot:
    """gauge name -> {label tuple -> value}; labels in catalogue order."""

    values: dict[str, dict[tuple[str, ...], float]] = field(default_factory=lambda: defaultdict(dict))


def clock_state(conversation: OpenConversation, now: datetime, at_risk_fraction: float) -> tuple[bool, bool]:
    """(at_risk, overdue) over the conversation's running (not paused) SLA clocks."""
    at_risk = overdue = False
    for clock in conversation.clocks.values():
        if clock.paused or clock.deadline is None:
            continue
        left = (clock.deadline - now).total_seconds()
        if clock.breached or left <= 0:
            overdue = True
        elif clock.target_seconds > 0 and left <= at_risk_fraction * clock.target_seconds:
            at_risk = True
    return at_risk and not overdue, overdue


def compute_backlog(
    conversations: Iterable[OpenConversation],
    now: datetime,
    labeller: L.Labeller,
    *,
    agent_capacity: int = 5,
    at_risk_fraction: float = AT_RISK_FRACTION,
) -> BacklogSnapshot:
    backlog: dict[tuple[str, ...], float] = defaultdict(float)
    queue_depth: dict[tuple[str, ...], float] = defaultdict(float)
    at_risk: dict[tuple[str, ...], float] = defaultdict(float)
    overdue: dict[tuple[str, ...], float] = defaultdict(float)
    oldest: dict[tuple[str, ...], float] = defaultdict(float)
    assigned: dict[str, int] = defaultdict(int)
    agents: dict[str, set[str]] = defaultdict(set)
    common_cache: dict[tuple, tuple[str, ...]] = {}
    for conv in conversations:
        key = (conv.brand_id, conv.channel, conv.queue, conv.priority)
        labels = common_cache.get(key)
        if labels is None:
            labels = common_cache[key] = labeller.common(*key)
        backlog[(*labels, L.word(conv.status))] += 1
        queue_depth[labels] += conv.status == L.QUEUED
        risky, late = clock_state(conv, now, at_risk_fraction)
        at_risk[labels] += risky
        overdue[labels] += late
        oldest.setdefault(labels, 0.0)
        if conv.waiting_since is not None and conv.status not in L.NOT_OWED:
            oldest[labels] = max(oldest[labels], (now - conv.waiting_since).total_seconds())
        if conv.status == L.ASSIGNED and conv.assignee_id:
            brand = labels[0]
            assigned[brand] += 1
            agents[brand].add(conv.assignee_id)
    snapshot = BacklogSnapshot()
    snapshot.values["switchboard_backlog_conversations"] = dict(backlog)
    snapshot.values["switchboard_queue_depth"] = dict(queue_depth)
    snapshot.values["switchboard_backlog_at_risk_conversations"] = dict(at_risk)
    snapshot.values["switchboard_backlog_overdue_conversations"] = dict(overdue)
    snapshot.values["switchboard_backlog_oldest_waiting_seconds"] = dict(oldest)
    for brand, count in assigned.items():
        working = len(agents[brand])
        snapshot.values["switchboard_agent_assigned_conversations"][(brand,)] = count
        snapshot.values["switchboard_agent_working_agents"][(brand,)] = working
        snapshot.values["switchboard_agent_occupancy_ratio"][(brand,)] = count / (working * max(1, agent_capacity))
    return snapshot


class SeriesMemory:
    """Keeps label sets seen earlier in this process so an emptied backlog reads 0, not "no data"."""

    def __init__(self) -> None:
        self.seen: dict[str, set[tuple[str, ...]]] = defaultdict(set)

    def fill(self, snapshot: BacklogSnapshot) -> BacklogSnapshot:
        for name, series in snapshot.values.items():
            self.seen[name].update(series)
        for name, label_sets in self.seen.items():
            series = snapshot.values[name]
            for label_set in label_sets:
                series.setdefault(label_set, 0.0)
        return snapshot


class BacklogIndex:
    """compute_backlog() maintained incrementally, so a scrape costs O(label sets x log n), not O(n).

    Each open conversation is reduced to a row: its labels and status, the instant it becomes at
    risk (earliest running clock's deadline - fraction x budget), the instant it becomes overdue
    (earliest running deadline; -inf once breached) and since when the customer waits. Per label
    set the instants sit in sorted lists, so "how many are at risk now" is two bisections:
    at risk = #(risk_from <= now) - #(overdue_from <= now), since risk_from <= overdue_from.
    """

    def __init__(self, labeller: L.Labeller, at_risk_fraction: float = AT_RISK_FRACTION) -> None:
        self._labeller = labeller
        self._fraction = at_risk_fraction
        self._rows: dict[str, _Row] = {}
        self._status: dict[tuple[str, ...], int] = defaultdict(int)
        self._queued: dict[tuple[str, ...], int] = defaultdict(int)
        self._risk: dict[tuple[str, ...], list[float]] = defaultdict(list)
        self._overdue: dict[tuple[str, ...], list[float]] = defaultdict(list)
        self._waiting: dict[tuple[str, ...], list[float]] = defaultdict(list)
        self._keys: set[tuple[str, ...]] = set()
        self._assignees: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))

    def __len__(self) -> int:
        return len(self._rows)

    def rebuild(self, conversations: Iterable[OpenConversation]) -> None:
        self.__init__(self._labeller, self._fraction)
        for conv in conversations:
            self.update(conv.conversation_id, conv)

    def update(self, conversation_id: str, conv: OpenConversation | None) -> None:
        old = self._rows.pop(conversation_id, None)
        if old is not None:
            self._apply(old, -1)
        if conv is not None:
            row = self._row(conv)
            self._rows[conversation_id] = row
            self._apply(row, +1)

    def _row(self, conv: OpenConversation) -> _Row:
        labels = self._labeller.common(conv.brand_id, conv.channel, conv.queue, conv.priority)
        risk_from = overdue_from = None
        for clock in conv.clocks.values():
            if clock.paused or clock.deadline is None:
                continue
            deadline = float("-inf") if clock.breached else clock.deadline.timestamp()
            risk = deadline - self._fraction * max(0, clock.target_seconds)
            overdue_from = deadline if overdue_from is None else min(overdue_from, deadline)
            risk_from = risk if risk_from is None else min(risk_from, risk)
        waiting = (
            conv.waiting_since.timestamp() if conv.waiting_since is not None and conv.status not in L.NOT_OWED else None
        )
        assignee = conv.assignee_id if conv.status == L.ASSIGNED and conv.assignee_id else None
        return _Row(
            labels,
            L.word(conv.status),
            conv.status == L.QUEUED,
            risk_from,
            overdue_from,
            waiting,
            assignee,
        )

    def _apply(self, row: _Row, sign: int) -> None:
        key = row.labels
        self._keys.add(key)
        self._status[(*key, row.status)] += sign
        if row.queued:
            self._queued[key] += sign
        for values, value in (
            (self._risk[key], row.risk_from),
            (self._overdue[key], row.overdue_from),
            (self._waiting[key], row.waiting_since),
        ):
            if value is None:
                continue
            if sign > 0:
                insort(values, value)
            else:
                del values[bisect_left(values, value)]
        if row.assignee is not None:
            agents = self._assignees[key[0]]
            agents[row.assignee] += sign
            if agents[row.assignee] == 0:
                del agents[row.assignee]

    def assignees(self) -> dict[str, dict[str, int]]:
        """brand label -> agent -> assigned open conversations, over the conversations held here."""
        return {brand: dict(agents) for brand, agents in self._assignees.items() if agents}

    def snapshot(
        self, now: datetime, *, agent_capacity: int = 5, assignees: dict[str, dict[str, int]] | None = None
    ) -> BacklogSnapshot:
        """`assignees` replaces this index's own agent tally (None: use it); with several replicas
        one of them reports the agent gauges over every partition, so each agent counts once."""
        t = now.timestamp()
        out = BacklogSnapshot()
        values = out.values
        values["switchboard_backlog_conversations"] = {k: float(v) for k, v in self._status.items()}
        for key in self._keys:
            values["switchboard_queue_depth"][key] = float(self._queued.get(key, 0))
            overdue = bisect_right(self._overdue.get(key, ()), t)
            values["switchboard_backlog_overdue_conversations"][key] = float(overdue)
            values["switchboard_backlog_at_risk_conversations"][key] = float(
                bisect_right(self._risk.get(key, ()), t) - overdue
            )
            waiting = self._waiting.get(key)
            values["switchboard_backlog_oldest_waiting_seconds"][key] = max(0.0, t - waiting[0]) if waiting else 0.0
        for brand, agents in (self._assignees if assignees is None else assignees).items():
            assigned = sum(agents.values())
            if not agents:
                continue
            values["switchboard_agent_assigned_conversations"][(brand,)] = float(assigned)
            values["switchboard_agent_working_agents"][(brand,)] = float(len(agents))
            values["switchboard_agent_occupancy_ratio"][(brand,)] = assigned / (len(agents) * max(1, agent_capacity))
        return out


@dataclass(slots=True, frozen=True)
class _Row:
    labels: tuple[str, ...]
    status: str
    queued: bool
    risk_from: float | None
    overdue_from: float | None
    waiting_since: float | None
    assignee: str | None
