"""Backlog gauges computed from the open-conversation projection at a given instant.

Computed at scrape time (the clock is passed in), so "at risk" and "oldest waiting" move with time
even when no event arrives, and they are right straight after a restart because the projection is
reloaded from MongoDB before the first scrape.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Iterable

from . import labels as L
from .projection import OpenConversation

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
        elif clock.target_seconds > 0 and left < at_risk_fraction * clock.target_seconds:
            at_risk = True
    return at_risk and not overdue, overdue


def compute_backlog(conversations: Iterable[OpenConversation], now: datetime, labeller: L.Labeller, *,
                    agent_capacity: int = 5, at_risk_fraction: float = AT_RISK_FRACTION) -> BacklogSnapshot:
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
        backlog[(*labels, L.enum_word(L.STATUSES, conv.status))] += 1
        if conv.status == L.QUEUED:
            queue_depth[labels] += 1
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
