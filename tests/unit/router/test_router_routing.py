"""Routing choice, waiting order, positions and ETA (pure)."""

from __future__ import annotations

from datetime import timedelta

from router_unit_kit import T0
from switchboard.router.domain import routing
from switchboard.router.domain.model import HIGH, NORMAL, URGENT, Agent, QueueEntry


def agent(
    agent_id,
    *,
    spare_chat=3,
    capacity=3,
    idle_min=0,
    presence="online",
    languages=("en",),
    queues=("q",),
    vip=False,
    channels=("chat", "email"),
) -> Agent:
    return Agent(
        id=f"acme/{agent_id}",
        brand_id="acme",
        agent_id=agent_id,
        queues=list(queues),
        languages=list(languages),
        channels=list(channels),
        vip=vip,
        capacity={"chat": capacity, "email": 10},
        load={"chat": capacity - spare_chat},
        presence=presence,
        idle_since=T0 - timedelta(minutes=idle_min),
    )


def entry(cid, *, priority=NORMAL, cls="chat", age_min=0, language="en", vip=False, preferred="") -> QueueEntry:
    return QueueEntry(
        id=cid,
        brand_id="acme",
        queue="q",
        priority=priority,
        channel=cls,
        capacity_class=cls,
        language=language,
        enqueued_at=T0 - timedelta(minutes=age_min),
        vip=vip,
        preferred_agent=preferred,
    )


def test_the_agent_with_most_spare_capacity_gets_the_conversation_and_the_rule_says_so():
    choice = routing.choose_agent(entry("c"), [agent("a", spare_chat=1), agent("b", spare_chat=2)])
    assert (choice.agent_id, choice.rule) == ("b", routing.MOST_SPARE_CAPACITY)
    assert "most spare chat capacity" in choice.explanation


def test_a_tie_on_spare_capacity_goes_to_the_agent_idle_longest():
    choice = routing.choose_agent(entry("c"), [agent("a", idle_min=5), agent("b", idle_min=30)])
    assert (choice.agent_id, choice.rule) == ("b", routing.LONGEST_IDLE)


def test_sticky_to_the_previous_agent_when_online_with_capacity_otherwise_normal_rules():
    agents = [agent("a", spare_chat=1), agent("b", spare_chat=3)]
    assert routing.choose_agent(entry("c", preferred="a"), agents).rule == routing.STICKY
    agents[0].presence = "away"
    assert routing.choose_agent(entry("c", preferred="a"), agents).agent_id == "b"


def test_agents_without_the_skill_presence_or_capacity_are_not_eligible():
    a = agent("a", languages=("de",))
    assert routing.ineligibility(a, entry("c")) == "does not speak en"
    assert routing.ineligibility(agent("b", presence="offline"), entry("c")) == "presence offline"
    assert routing.ineligibility(agent("c", spare_chat=0), entry("c")) == "no spare chat capacity"
    assert routing.ineligibility(agent("d"), entry("c", vip=True)) == "not VIP-cleared"
    assert routing.ineligibility(agent("e", channels=("email",)), entry("c")) == "does not work chat"
    assert routing.choose_agent(entry("c"), [a]) is None


def test_waiting_order_is_priority_then_chat_and_phone_before_email_then_age():
    entries = [
        entry("old-email", cls="email", age_min=30),
        entry("new-chat", age_min=1),
        entry("urgent-email", cls="email", priority=URGENT),
        entry("old-chat", age_min=10),
        entry("phone", cls="phone", age_min=5),
    ]
    order = [e.id for e in routing.waiting_order(entries, {"chat": 0, "phone": 0, "email": 1})]
    assert order == ["urgent-email", "old-chat", "phone", "new-chat", "old-email"]


def test_drain_serves_in_waiting_order_and_skips_what_nobody_can_take():
    agents = [agent("a", spare_chat=1, languages=("en",))]
    entries = [
        entry("zh", language="zh", age_min=60),
        entry("young"),
        entry("old", age_min=5),
        entry("high", priority=HIGH),
    ]
    assigned = routing.drain(entries, agents, {"chat": 0, "email": 1}, T0)
    assert [(e.id, c.agent_id) for e, c in assigned] == [("high", "a")]
    assert agents[0].load["chat"] == 3 and "high" in agents[0].active


def test_a_full_channel_class_does_not_hold_up_another_class_with_free_slots():
    agents = [agent("a", spare_chat=1), agent("b", spare_chat=0, channels=("chat",))]
    entries = [entry("chat-1", age_min=9), entry("chat-2", age_min=8), entry("mail-1", cls="email", age_min=1)]
    assigned = routing.drain(entries, agents, {"chat": 0, "email": 1}, T0)
    assert [(e.id, c.agent_id) for e, c in assigned] == [("chat-1", "a"), ("mail-1", "a")]


def test_with_every_agent_at_capacity_nobody_is_assigned():
    agents = [agent("a", spare_chat=0, channels=("chat",)), agent("b", spare_chat=2, presence="away")]
    assert routing.drain([entry(f"c{i}", age_min=i) for i in range(50)], agents, {"chat": 0}, T0) == []


def test_positions_are_per_queue_and_follow_the_waiting_order():
    entries = [entry("b", age_min=1), entry("a", age_min=2), entry("c", priority=HIGH)]
    assert routing.positions(entries, {"chat": 0}) == {"c": ("q", 1), "a": ("q", 2), "b": ("q", 3)}


def test_eta_uses_the_recent_handling_rate_and_falls_back_to_the_default():
    now = T0
    assert routing.eta_seconds(3, [], now, timedelta(minutes=30), timedelta(minutes=2)) == 360
    recent = [now - timedelta(minutes=m) for m in (10, 8, 6, 4, 2)]  # 5 taken in 10 minutes = 1 per 2 minutes
    assert routing.eta_seconds(3, recent, now, timedelta(minutes=30), timedelta(minutes=9)) == 360
    old = [now - timedelta(hours=2), now - timedelta(hours=3)]
    assert routing.eta_seconds(1, old, now, timedelta(minutes=30), timedelta(seconds=45)) == 45


def test_customers_hear_about_their_position_on_entry_and_on_each_step():
    assert routing.should_notify(0, 7, 3)
    assert not routing.should_notify(7, 5, 3)
    assert routing.should_notify(7, 4, 3)
    assert routing.should_notify(4, 3, 3) and not routing.should_notify(3, 3, 3)  # near the front: every move
