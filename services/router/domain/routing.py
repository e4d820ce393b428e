"""Routing: who takes a waiting conversation, in which order waiting conversations are served,
and where each one stands in its queue (position and ETA). Every choice says which rule made it.

Rules, in order:
- eligible = online, member of the conversation's queue, speaks its language, works its channel
  class with spare capacity there, covers its product line, VIP-cleared for VIP customers;
- sticky: the previous assignee, when eligible;
- otherwise the eligible agent with the most spare capacity on that channel class;
  a tie goes to the agent idle longest.
Waiting order: priority (high first), then synchronous channels (chat, phone) before email,
then age (oldest first).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from .model import ONLINE, Agent, QueueEntry

STICKY = "sticky"
MOST_SPARE_CAPACITY = "most_spare_capacity"
LONGEST_IDLE = "longest_idle"
ONLY_ELIGIBLE = "only_eligible"
MANUAL = "manual"
AGENT_REPLIED = "agent_replied"

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Choice:
    agent_id: str
    rule: str
    explanation: str


def ineligibility(agent: Agent, entry: QueueEntry) -> str | None:
    """Why `agent` cannot take `entry` now, or None when they can."""
    if agent.presence != ONLINE:
        return f"presence {agent.presence}"
    if agent.agent_id == entry.excluded_agent:
        return "left it unanswered (reassigned for silence)"
    if entry.queue not in agent.queues:
        return f"not in queue {entry.queue}"
    if "*" not in agent.languages and entry.language and entry.language not in agent.languages:
        return f"does not speak {entry.language}"
    if entry.capacity_class not in agent.channels:
        return f"does not work {entry.capacity_class}"
    if agent.spare(entry.capacity_class) <= 0:
        return f"no spare {entry.capacity_class} capacity"
    if entry.product_line and agent.product_lines and entry.product_line not in agent.product_lines:
        return f"does not cover {entry.product_line}"
    if entry.vip and not agent.vip:
        return "not VIP-cleared"
    return None


def _idle_key(agent: Agent) -> datetime:
    return agent.idle_since or _EPOCH


def choose_agent(entry: QueueEntry, agents: Iterable[Agent]) -> Choice | None:
    eligible = [a for a in agents if ineligibility(a, entry) is None]
    if not eligible:
        return None
    cls = entry.capacity_class
    if entry.preferred_agent:
        for agent in eligible:
            if agent.agent_id == entry.preferred_agent:
                return Choice(
                    agent.agent_id,
                    STICKY,
                    f"previous agent {agent.agent_id} is online with {agent.spare(cls)} spare {cls} slot(s)",
                )
    if len(eligible) == 1:
        only = eligible[0]
        return Choice(
            only.agent_id,
            ONLY_ELIGIBLE,
            f"{only.agent_id} is the only eligible agent in queue {entry.queue} "
            f"({only.spare(cls)} spare {cls} slot(s))",
        )
    ranked = sorted(eligible, key=lambda a: (-a.spare(cls), _idle_key(a), a.agent_id))
    best, runner_up = ranked[0], ranked[1]
    if best.spare(cls) > runner_up.spare(cls):
        return Choice(
            best.agent_id,
            MOST_SPARE_CAPACITY,
            f"{best.agent_id} has the most spare {cls} capacity ({best.spare(cls)} of "
            f"{best.capacity.get(cls, 0)}) among {len(eligible)} eligible agents in queue {entry.queue}",
        )
    return Choice(
        best.agent_id,
        LONGEST_IDLE,
        f"{len([a for a in eligible if a.spare(cls) == best.spare(cls)])} agents tie at {best.spare(cls)} "
        f"spare {cls} slot(s); {best.agent_id} has been idle longest",
    )


def waiting_order_key(entry: QueueEntry, class_rank: dict[str, int]) -> tuple:
    return (-entry.priority, class_rank.get(entry.capacity_class, 1), entry.enqueued_at, entry.id)


def waiting_order(entries: Iterable[QueueEntry], class_rank: dict[str, int]) -> list[QueueEntry]:
    return sorted(entries, key=lambda e: waiting_order_key(e, class_rank))


def take(agent: Agent, entry: QueueEntry, conversation_id: str, now: datetime) -> None:
    """Books the conversation on the agent (capacity and idle clock)."""
    agent.load[entry.capacity_class] = agent.load.get(entry.capacity_class, 0) + 1
    if conversation_id not in agent.active:
        agent.active.append(conversation_id)
    agent.idle_since = now


def release(agent: Agent, capacity_class: str, conversation_id: str) -> None:
    if conversation_id in agent.active:
        agent.active.remove(conversation_id)
        agent.load[capacity_class] = max(0, agent.load.get(capacity_class, 0) - 1)


def drain(
    entries: Iterable[QueueEntry], agents: list[Agent], class_rank: dict[str, int], now: datetime,
    ordered: bool = False,
) -> list[tuple[QueueEntry, Choice]]:
    """Serves waiting conversations in waiting order while anyone eligible has capacity.
    A conversation nobody can take does not block the ones behind it (they may need other skills).
    Runs for every input that queues a conversation: with every agent busy it returns before
    looking at the queue, so a long queue does not make each arrival cost O(queue)."""
    assigned: list[tuple[QueueEntry, Choice]] = []
    free = _classes_with_spare(agents)
    if not free:
        return assigned
    # `ordered`: already in waiting order (domain/waiting_line.py), read only as far as needed.
    for entry in entries if ordered else waiting_order(entries, class_rank):
        if entry.capacity_class not in free:
            continue
        choice = choose_agent(entry, agents)
        if choice is None:
            continue
        agent = next(a for a in agents if a.agent_id == choice.agent_id)
        take(agent, entry, entry.id, now)
        assigned.append((entry, choice))
        if agent.spare(entry.capacity_class) <= 0:
            free = _classes_with_spare(agents)
            if not free:
                break
    return assigned


def _classes_with_spare(agents: Iterable[Agent]) -> set[str]:
    """Capacity classes in which some online agent has a free slot: nobody else can be assigned."""
    return {cls for a in agents if a.presence == ONLINE for cls in a.channels if a.spare(cls) > 0}


def positions(entries: Iterable[QueueEntry], class_rank: dict[str, int]) -> dict[str, tuple[str, int]]:
    """conversation id -> (queue, 1-based position in that queue's waiting order)."""
    per_queue: dict[str, int] = {}
    out = {}
    for entry in waiting_order(entries, class_rank):
        per_queue[entry.queue] = per_queue.get(entry.queue, 0) + 1
        out[entry.id] = (entry.queue, per_queue[entry.queue])
    return out


def eta_seconds(
    position: int,
    recent_dequeues: Iterable[datetime],
    now: datetime,
    window: timedelta,
    default_per_position: timedelta,
) -> int:
    """ETA from the queue's recent handling rate: position / (conversations taken per second over the
    window). With fewer than two recent dequeues there is no rate yet: use the configured default."""
    recent = sorted(t for t in recent_dequeues if now - window <= t <= now)
    if len(recent) < 2:
        return int(position * default_per_position.total_seconds())
    span = max((now - recent[0]).total_seconds(), 1.0)
    per_second = len(recent) / span
    return int(math.ceil(position / per_second))


def should_notify(last_notified: int, position: int, step: int) -> bool:
    """Tell the customer on entering the queue (nothing notified yet), whenever the position has moved
    by at least `step` since the last message (forward or, after a priority change, back), and at
    every move once they are within the first `step` places (the wait is nearly over)."""
    step = max(1, step)
    if last_notified == 0:
        return True
    if position == last_notified:
        return False
    return abs(last_notified - position) >= step or position <= step
