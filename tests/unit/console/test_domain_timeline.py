"""Merging router messages with activity facts into one timeline (pure)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from switchboard.console.domain.timeline import build_timeline, describe

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def message(mid: str, minutes: int, **kw) -> dict:
    return {"id": mid, "author": "customer", "channel": "email", "text": "hi", "at": T0 + timedelta(minutes=minutes),
            **kw}


def activity(aid: str, minutes: int, kind: str, timeline=True, **detail) -> dict:
    return {"_id": aid, "kind": kind, "at": T0 + timedelta(minutes=minutes), "timeline": timeline, "detail": detail}


def test_messages_and_facts_interleave_by_time_and_wake_ups_are_left_out():
    entries = build_timeline(
        [message("m2", 5, channel="whatsapp", text="我的订单？"), message("m1", 0),
         message("n1", 6, author="agent", internal=True, agent_id="alice")],
        [activity("a1", 0, "conversation_opened"), activity("a2", 3, "conversation_assigned", assignee_id="bob"),
         activity("a3", 5, "customer_message_appended", timeline=False)])
    assert [(e["type"], e["id"]) for e in entries] == [
        ("event", "a1"), ("message", "m1"), ("event", "a2"), ("message", "m2"), ("note", "n1")]
    assert entries[3]["text"] == "我的订单？" and entries[2]["summary"] == "Assigned to bob"


def test_descriptions_a_person_can_read():
    assert describe("status_changed", {"previous": "assigned", "current": "waiting_on_customer", "reason": "asked"}) \
        == "Status assigned → waiting_on_customer: asked"
    assert describe("conversation_assigned", {"assignee_id": "alice", "previous_assignee_id": "bob",
                                              "rule": "manual"}) == "Assigned to alice (was bob) · rule manual"
    assert describe("sla_breached", {"metric": "first_response"}) == "SLA breached: first response"
    assert describe("escalation_raised", {"level": 2, "level_name": "team lead", "reason": "sla_breached"}) \
        == "Escalated to level 2 team lead (sla breached)"
    assert describe("conversation_handed_off", {"reason": "requested_human"}) \
        == "Handed to a person: the customer asked for a person"
    assert describe("something_new", {}) == "Something new"


def test_facts_of_one_input_share_a_time_and_show_in_topic_order_not_id_order():
    same = [{**activity(aid, 0, kind), "seq": seq} for aid, kind, seq in
            [("f3", "conversation_assigned", 12), ("b7", "conversation_queued", 11), ("z1", "conversation_opened", 9),
             ("a0", "conversation_handed_off", 10)]]
    entries = build_timeline([message("m1", 0)], same)
    assert [e.get("kind", e["type"]) for e in entries] == [
        "conversation_opened", "conversation_handed_off", "conversation_queued", "conversation_assigned", "message"]


def test_a_whole_second_message_after_a_precise_one_stays_after_it():
    # The email came first (09:00:05.011); WhatsApp stamps whole seconds, so the later message says 09:00:05.
    email_at, whatsapp_at = T0 + timedelta(seconds=5, milliseconds=11), T0 + timedelta(seconds=5)
    messages = [{"id": "m-wa", "author": "customer", "channel": "whatsapp", "text": "还有 📦", "at": whatsapp_at},
                {"id": "m-mail", "author": "customer", "channel": "email", "text": "order 5001?", "at": email_at},
                {"id": "r1", "author": "agent", "channel": "whatsapp", "text": "today", "at": email_at
                 + timedelta(seconds=30)}]
    facts = [{"_id": "o", "kind": "conversation_opened", "at": email_at, "timeline": True, "seq": 3,
              "detail": {"first_message_id": "m-mail"}},
             {"_id": "q", "kind": "conversation_queued", "at": email_at, "timeline": True, "seq": 4, "detail": {}},
             {"_id": "w", "kind": "customer_message_appended", "at": whatsapp_at, "timeline": False, "seq": 7,
              "detail": {"message_id": "m-wa"}}]
    order = [e["id"] for e in build_timeline(messages, facts)]
    assert order == ["o", "m-mail", "q", "m-wa", "r1"]
