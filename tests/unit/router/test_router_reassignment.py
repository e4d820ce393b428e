"""Reassignment on the router's tick: offline / away / silent assignees, graces, escalation when nobody
else can take it, reasons, sticky preference, the customer never told about the move (pure)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from router_unit_kit import ROUTING, T0, agents_for, command, derive, message, tick
from switchboard.events.v1 import conversation_pb2
from switchboard.router.adapters import codec
from switchboard.router.domain import reassign_config, timers
from switchboard.router.domain.config import ConfigError, RouterConfig, parse_routing
from switchboard.router.domain.engine import Engine, Workspace
from switchboard.router.domain.model import ASSIGNED, HIGH, Handle

MIN = timedelta(minutes=1)


def _online(engine: Engine, ws: Workspace, agent: str, at) -> None:
    engine.apply(ws, command("set_agent_presence", agent_id=agent, presence="online", at=at))


def _presence(engine: Engine, ws: Workspace, agent: str, presence: str, at) -> None:
    engine.apply(ws, command("set_agent_presence", agent_id=agent, presence=presence, at=at))


def _waiting_chats(engine: Engine, config, n: int = 3, *, channel: str = "chat") -> Workspace:
    """Alice (room for n) gets n customers who wait for her reply; bob is online with room for n more."""
    ws = Workspace()
    ws.agents["acme"] = agents_for(config)
    for name in ("alice", "bob"):
        ws.agents["acme"][name].capacity = {"chat": n, "email": n}
    _online(engine, ws, "alice", T0)
    for i in range(n):
        sender = Handle("chat_session", f"s{i}") if channel == "chat" else Handle("email", f"c{i}@x.com")
        engine.apply(ws, message("human please", sender=sender, channel=channel, at=T0 + timedelta(seconds=i)))
    assert all(c.assignee_id == "alice" for c in ws.conversations.values())
    _online(engine, ws, "bob", T0 + MIN)
    ws.effects.clear()
    return ws


def _customer_notices(ws: Workspace) -> list:
    return [e for e in ws.effects if e.topic == "notifications" and e.case != "agent_assigned"]


def test_an_offline_agents_waiting_chats_go_to_another_agent_after_the_grace(engine, config):
    ws = _waiting_chats(engine, config)
    before = {c.id: (c.enqueued_at, c.priority) for c in ws.conversations.values()}
    _presence(engine, ws, "alice", "offline", T0 + 2 * MIN)
    engine.apply(ws, tick(T0 + 3 * MIN))  # within the 2-minute grace: nothing moves
    assert all(c.assignee_id == "alice" for c in ws.conversations.values())
    engine.apply(ws, tick(T0 + 4 * MIN))
    assert all(c.assignee_id == "bob" and c.status == ASSIGNED for c in ws.conversations.values())
    assert {c.id: (c.enqueued_at, c.priority) for c in ws.conversations.values()} == before
    assigned = [e for e in ws.effects if e.case == "conversation_assigned"]
    assert [(e.data["previous_assignee_id"], e.data["reason"], e.data["reassignment_count"]) for e in assigned] == [
        ("alice", "agent_offline", 1)] * 3
    queued = [e for e in ws.effects if e.case == "conversation_queued"]
    assert {e.data["reason"] for e in queued} == {"agent_offline"}
    assert _customer_notices(ws) == []  # the customer never hears "you were moved"
    assert ws.agents["acme"]["alice"].active == [] and len(ws.agents["acme"]["bob"].active) == 3


def test_an_agent_back_online_within_the_grace_keeps_their_conversations(engine, config):
    ws = _waiting_chats(engine, config)
    _presence(engine, ws, "alice", "offline", T0 + 2 * MIN)
    _presence(engine, ws, "alice", "online", T0 + 3 * MIN)
    engine.apply(ws, tick(T0 + 10 * MIN))
    assert all(c.assignee_id == "alice" for c in ws.conversations.values())
    assert [e for e in ws.effects if e.case in ("conversation_assigned", "assignee_unavailable")] == []


def test_with_nobody_else_eligible_it_stays_assigned_and_the_wait_is_escalated_once(engine, config):
    ws = _waiting_chats(engine, config, n=1)
    _presence(engine, ws, "bob", "offline", T0 + 2 * MIN)
    _presence(engine, ws, "alice", "offline", T0 + 2 * MIN)
    engine.apply(ws, tick(T0 + 5 * MIN))
    engine.apply(ws, tick(T0 + 6 * MIN))
    (conv,) = ws.conversations.values()
    assert conv.assignee_id == "alice" and conv.status == ASSIGNED
    (escalated,) = [e for e in ws.effects if e.case == "assignee_unavailable"]
    assert escalated.data["escalate"] is True and escalated.data["reason"] == "agent_offline"
    assert escalated.data["agent_id"] == "alice"
    _online(engine, ws, "bob", T0 + 7 * MIN)  # someone can take it now: the next tick moves it
    engine.apply(ws, tick(T0 + 8 * MIN))
    assert conv.assignee_id == "bob"


def test_away_counts_after_five_minutes_on_chat_and_never_on_email(engine, config):
    chat = _waiting_chats(engine, config, n=1)
    _presence(engine, chat, "alice", "away", T0 + 2 * MIN)
    engine.apply(chat, tick(T0 + 6 * MIN))
    assert next(iter(chat.conversations.values())).assignee_id == "alice"
    engine.apply(chat, tick(T0 + 7 * MIN))
    (moved,) = [e for e in chat.effects if e.case == "conversation_assigned"]
    assert moved.data["reason"] == "agent_away" and moved.data["assignee_id"] == "bob"

    email = _waiting_chats(engine, config, n=1, channel="email")
    _presence(engine, email, "alice", "away", T0 + 2 * MIN)
    engine.apply(email, tick(T0 + timedelta(hours=1)))  # silence on email: 1 h 15 min, away: off
    assert next(iter(email.conversations.values())).assignee_id == "alice"


def test_a_silent_assignee_is_warned_then_the_conversation_is_offered_to_someone_else(engine, config):
    ws = _waiting_chats(engine, config, n=1)
    (conv,) = ws.conversations.values()
    since = conv.assigned_at
    engine.apply(ws, tick(since + 14 * MIN))
    assert [e for e in ws.effects if e.case == "assignee_unavailable"] == []
    engine.apply(ws, tick(since + 15 * MIN))  # half of the 30-minute chat silence
    engine.apply(ws, tick(since + 16 * MIN))
    (warned,) = [e for e in ws.effects if e.case == "assignee_unavailable"]
    assert warned.data["escalate"] is False and warned.data["reason"] == "agent_silent"
    (reminder,) = [e for e in ws.effects if e.case == "agent_assigned"]
    who = reminder.data["assignment"]
    assert (who["agent_id"], who["rule"]) == ("alice", "silence_warning")
    engine.apply(ws, tick(since + 30 * MIN))
    assert conv.assignee_id == "bob"  # alice is online with room, but never gets it back for silence
    (moved,) = [e for e in ws.effects if e.case == "conversation_assigned"]
    assert moved.data["reason"] == "agent_silent" and moved.data["previous_assignee_id"] == "alice"


def test_a_reply_ends_the_wait_so_nothing_moves(engine, config):
    ws = _waiting_chats(engine, config, n=1)
    (conv,) = ws.conversations.values()
    engine.apply(ws, command("reply_to_conversation", agent_id="alice", conversation_id=conv.id, text="On it",
                             reply_id="r1", at=T0 + 2 * MIN))
    _presence(engine, ws, "alice", "offline", T0 + 3 * MIN)
    engine.apply(ws, tick(T0 + 2 * 60 * MIN))
    assert conv.assignee_id == "alice" and [e for e in ws.effects if e.case == "conversation_queued"] == []
    timers.refresh_due(ws, engine)
    assert conv.timer_due_at is None


def test_an_agent_who_handled_the_customer_before_is_preferred(engine, config):
    ws = _waiting_chats(engine, config, n=1)
    (conv,) = ws.conversations.values()
    ws.agents["acme"]["chen"].presence = "offline"
    engine.apply(ws, command("assign_conversation", agent_id="bob", conversation_id=conv.id, assignee_id="bob",
                             at=T0 + 2 * MIN))
    engine.apply(ws, command("assign_conversation", agent_id="alice", conversation_id=conv.id, assignee_id="alice",
                             at=T0 + 3 * MIN))
    _presence(engine, ws, "alice", "offline", T0 + 4 * MIN)
    engine.apply(ws, tick(T0 + 7 * MIN))
    (moved,) = [e for e in ws.effects if e.case == "conversation_assigned" and e.data["reason"]]
    assert moved.data["assignee_id"] == "bob" and moved.data["rule"] == "sticky"


def test_priority_and_enqueued_at_survive_the_move(engine, config):
    ws = _waiting_chats(engine, config, n=1)
    (conv,) = ws.conversations.values()
    engine.apply(ws, command("change_priority", agent_id="alice", conversation_id=conv.id, priority=HIGH))
    original = conv.enqueued_at
    _presence(engine, ws, "alice", "offline", T0 + 2 * MIN)
    engine.apply(ws, tick(T0 + 5 * MIN))
    assert (conv.assignee_id, conv.priority, conv.enqueued_at) == ("bob", HIGH, original)


def test_per_queue_settings_and_switching_it_off(config, templates):
    doc = {**ROUTING, "brands": {"acme": {**ROUTING["brands"]["acme"], "reassignment": {
        "offline_grace": "10m", "queues": {"vip": {"enabled": False, "after_away": {"chat": "1m"}}}}}}}
    routing = parse_routing(doc)["acme"].reassignment
    general, vip = routing.policy("general", "chat"), routing.policy("vip", "whatsapp")
    assert (general.enabled, general.offline_grace, general.after_away) == (True, 10 * MIN, 5 * MIN)
    assert (vip.enabled, vip.after_away, vip.after_silence) == (False, 30 * MIN, 30 * MIN)  # whatsapp: messaging
    assert routing.policy("general", "email").after_away is None
    switched_off = reassign_config.parse({"enabled": False}, "x")
    off = {b: replace(r, reassignment=switched_off) for b, r in config.routing.items()}
    engine = Engine(RouterConfig(routing=off, bot=config.bot), derive)
    ws = _waiting_chats(engine, config, n=1)
    _presence(engine, ws, "alice", "offline", T0 + 2 * MIN)
    engine.apply(ws, tick(T0 + timedelta(hours=3)))
    assert next(iter(ws.conversations.values())).assignee_id == "alice"


def test_a_typo_in_the_reassignment_block_stops_the_service_with_the_key_to_fix():
    typo = {"after_away": {"voice": "5m"}}
    doc = {**ROUTING, "brands": {"acme": {**ROUTING["brands"]["acme"], "reassignment": typo}}}
    with pytest.raises(ConfigError, match="after_away: unknown kind"):
        parse_routing(doc)


def test_moves_and_escalations_encode_to_the_contract(engine, config):
    ws = _waiting_chats(engine, config, n=2)
    ws.agents["acme"]["bob"].capacity = {"chat": 1, "email": 1}
    _presence(engine, ws, "alice", "offline", T0 + 2 * MIN)
    engine.apply(ws, tick(T0 + 5 * MIN))  # bob takes one; nobody can take the other
    events = [conversation_pb2.ConversationEvent.FromString(codec.conversation_event(e).SerializeToString())
              for e in ws.effects if e.topic == "conversations"]
    moved = [e.conversation_assigned for e in events if e.WhichOneof("event") == "conversation_assigned"]
    assert [(m.assignee_id, m.previous_assignee_id, m.reason) for m in moved] == [("bob", "alice", "agent_offline")]
    queued = [e.conversation_queued for e in events if e.WhichOneof("event") == "conversation_queued"]
    assert [(q.reason, q.position) for q in queued] == [("agent_offline", 1)]
    (unavailable,) = [e.assignee_unavailable for e in events if e.WhichOneof("event") == "assignee_unavailable"]
    assert (unavailable.agent_id, unavailable.reason, unavailable.escalate) == ("alice", "agent_offline", True)
    for effect in ws.effects:  # the agent's notice too
        if effect.topic == "notifications":
            assert codec.notification(effect, effect.occurred_at).intent_id == effect.event_id
