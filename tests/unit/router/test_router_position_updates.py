"""Bounded queue-position messages: entry, the first three places, pickup, one per interval otherwise,
and a bounded number of messages per queue change however long the queue (pure)."""

from __future__ import annotations

import random
from datetime import timedelta

from router_unit_kit import T0, agents_for, command, message
from switchboard.router.domain import position_updates, routing
from switchboard.router.domain.engine import Workspace
from switchboard.router.domain.model import Handle, QueueEntry
from switchboard.router.domain.waiting_line import WaitingLine

TWO_MIN = timedelta(minutes=2)


def test_checkpoints_are_the_first_places_then_a_ladder():
    assert list(position_updates.checkpoints(2, 3)) == [1, 2]
    assert list(position_updates.checkpoints(120, 3)) == [1, 2, 3, 5, 10, 20, 50, 100]
    assert len(list(position_updates.checkpoints(1_000_000, 3))) == 3 + 17  # 5, 10, 20 per decade up to a million


def test_a_customer_is_told_on_entry_near_the_front_and_otherwise_once_per_interval():
    due = position_updates.due
    assert due(0, None, 40, T0, top=3, min_interval=TWO_MIN)  # entering the queue
    assert not due(20, T0, 20, T0 + timedelta(hours=1), top=3, min_interval=TWO_MIN)  # no move, no message
    assert not due(50, T0, 20, T0 + timedelta(seconds=119), top=3, min_interval=TWO_MIN)  # too soon
    assert due(50, T0, 20, T0 + TWO_MIN, top=3, min_interval=TWO_MIN)
    assert due(3, T0, 2, T0 + timedelta(seconds=1), top=3, min_interval=TWO_MIN)  # top 3: every move
    assert due(5, T0, 3, T0 + timedelta(seconds=1), top=3, min_interval=TWO_MIN)


def _entry(i: int, *, priority: int = 2, cls: str = "email", queue: str = "general") -> QueueEntry:
    return QueueEntry(id=f"c{i:04d}", brand_id="acme", queue=queue, priority=priority, channel=cls,
                      capacity_class=cls, language="en", enqueued_at=T0 + timedelta(seconds=i))


def test_the_waiting_line_gives_the_same_positions_as_a_full_sort_as_the_queue_changes():
    rank = {"chat": 0, "email": 1}
    rng = random.Random(7)
    entries: dict[str, QueueEntry] = {}
    line = WaitingLine(rank)
    for i in range(300):
        e = _entry(i, priority=rng.choice([1, 2, 3]), cls=rng.choice(["chat", "email"]),
                   queue=rng.choice(["general", "zh"]))
        entries[e.id] = e
        if i % 7 == 0 and len(entries) > 1:
            entries.pop(rng.choice(sorted(entries)))
        if i % 11 == 0 and entries:
            moved = entries[rng.choice(sorted(entries))]
            moved.priority = 4
            line.replace(moved)
        line.sync(entries)
    expected = routing.positions(entries.values(), rank)
    assert {c: line.position(c) for c in entries} == expected
    for queue, length in line.queues().items():
        assert [line.position(line.at(queue, p))[1] for p in (1, length)] == [1, length]
        assert line.at(queue, length + 1) is None


def _queue_positions(ws: Workspace) -> list:
    return [e for e in ws.effects if e.case == "queue_position"]


def test_a_long_queue_costs_a_bounded_number_of_messages_per_arrival(engine, config):
    """2,000 email customers wait (nobody online); 300 chat arrivals each jump ahead of all of them."""
    ws = Workspace()
    ws.agents["acme"] = agents_for(config)
    for i in range(2000):
        engine.apply(ws, message("human please", channel="email", sender=Handle("email", f"e{i}@x.com"),
                                 at=T0 + timedelta(milliseconds=i)))
    assert len(_queue_positions(ws)) == 2000  # each told once on entry
    ws.effects.clear()
    for i in range(300):
        before = len(ws.effects)
        engine.apply(ws, message("human please", channel="chat", sender=Handle("chat_session", f"s{i}"),
                                 at=T0 + timedelta(minutes=5, seconds=i)))
        told = [e for e in ws.effects[before:] if e.case == "queue_position"]
        assert 1 <= len(told) <= 1 + len(list(position_updates.checkpoints(2300, 3)))
    per_customer: dict[str, int] = {}
    for e in _queue_positions(ws):
        per_customer[e.data["recipient"]["value"]] = per_customer.get(e.data["recipient"]["value"], 0) + 1
    # 300 s of arrivals: an email customer beyond the first places hears at most once per 2 minutes.
    assert max(n for who, n in per_customer.items() if "@" in who) <= 3


def test_at_pickup_a_customer_who_was_told_a_place_hears_it_is_their_turn(engine, config):
    ws = Workspace()
    ws.agents["acme"] = agents_for(config)
    for i in range(3):
        engine.apply(ws, message("human please", sender=Handle("chat_session", f"s{i}"), at=T0 + timedelta(seconds=i)))
    ws.effects.clear()
    engine.apply(ws, command("set_agent_presence", agent_id="alice", presence="online", at=T0 + timedelta(minutes=1)))
    picked = [e for e in _queue_positions(ws) if e.data["template"] == position_updates.PICKED_UP]
    assert sorted(e.data["recipient"]["value"] for e in picked) == ["s0", "s1"]  # alice has two chat slots
    moved = [e for e in _queue_positions(ws) if e.data["template"] == position_updates.POSITION]
    assert [(e.data["recipient"]["value"], e.data["variables"]["position"]) for e in moved] == [("s2", "1")]


def test_a_customer_assigned_at_once_gets_no_queue_message(engine, config):
    ws = Workspace()
    ws.agents["acme"] = agents_for(config, online=("alice",))
    engine.apply(ws, message("human please", sender=Handle("chat_session", "s1")))
    assert _queue_positions(ws) == []
