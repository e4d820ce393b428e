"""Conversation workflow on in-memory state: threading across channels, routing with capacity,
queue positions, orders, CSAT, transcripts, delivery states, idempotent ids."""

from __future__ import annotations

import copy
from datetime import timedelta

import pytest
from router_unit_kit import T0, agents_for, cases, command, message, order, tick
from switchboard.router.domain.engine import Rejected, Workspace, application_order
from switchboard.router.domain.inputs import ChatEndIn, ChatStartIn, CsatIn, DeliveryIn, MessageIn
from switchboard.router.domain.model import ASSIGNED, HIGH, QUEUED, RESOLVED, Conversation, Handle

ANN_EMAIL = Handle("email", "ann@example.com")
ANN_WA = Handle("whatsapp_id", "4915112345678")


def only_conversation(ws):
    (conv,) = ws.conversations.values()
    return conv


def test_email_then_whatsapp_from_the_same_customer_is_one_profile_and_one_conversation(engine, ws):
    engine.apply(ws, order("o-1", "created", ANN_EMAIL, Handle("phone", "+49 151 12345678"), order_number="#1"))
    engine.apply(ws, message("Where is my order?", channel="email", sender=ANN_EMAIL, email_message_id="<m1@x>"))
    engine.apply(ws, message("hello, any news?", channel="whatsapp", sender=ANN_WA, at=T0 + timedelta(hours=1)))
    assert len(ws.customers) == 1
    conv = only_conversation(ws)
    assert conv.channels == ["email", "whatsapp"] and conv.message_count == 2
    assert conv.reply_handle == {"kind": "whatsapp_id", "value": "4915112345678"}
    assert conv.order_ids == ["o-1"]


def test_display_names_never_join_two_customers(engine, ws):
    engine.apply(ws, message("hi", sender=Handle("email", "a@x.com"), display_name="Ann Lee"))
    engine.apply(ws, message("hi", sender=Handle("email", "b@x.com"), display_name="Ann Lee"))
    assert len(ws.customers) == 2 and len(ws.conversations) == 2


def test_three_agents_two_queues_assign_by_skill_and_capacity_hold_when_full_then_serve_the_oldest_highest(
    engine, config
):
    ws = Workspace()
    ws.agents["acme"] = agents_for(config, online=("alice", "bob", "chen"))
    zh = [Handle("email", f"zh{i}@x.cn") for i in range(4)]
    en = [Handle("email", f"en{i}@x.com") for i in range(4)]
    for i, h in enumerate(zh):
        engine.apply(ws, message("人工服务，我的订单在哪里", sender=h, language="zh", at=T0 + timedelta(seconds=i)))
    for i, h in enumerate(en):
        engine.apply(ws, message("I need a human please", sender=h, at=T0 + timedelta(seconds=10 + i)))
    by_customer = {c.reply_handle["value"]: c for c in ws.conversations.values()}
    assignee = {v: c.assignee_id for v, c in by_customer.items()}
    # zh queue: bob (chat 1) and chen (chat 1); general: alice (chat 2) and bob (already full).
    assert {assignee["zh0@x.cn"], assignee["zh1@x.cn"]} == {"bob", "chen"}
    assert assignee["zh2@x.cn"] == assignee["zh3@x.cn"] == ""
    assert assignee["en0@x.com"] == assignee["en1@x.com"] == "alice"
    assert by_customer["en2@x.com"].status == QUEUED and by_customer["en3@x.com"].status == QUEUED
    # A later urgent conversation jumps the general queue; capacity frees when alice resolves.
    engine.apply(
        ws, message("agent, this is urgent", sender=Handle("email", "late@x.com"), at=T0 + timedelta(minutes=5))
    )
    late = next(c for c in ws.conversations.values() if c.reply_handle["value"] == "late@x.com")
    assert late.status == QUEUED and late.priority == HIGH
    engine.apply(
        ws,
        command(
            "resolve_conversation",
            agent_id="alice",
            conversation_id=by_customer["en0@x.com"].id,
            at=T0 + timedelta(minutes=6),
        ),
    )
    assert late.assignee_id == "alice" and late.status == ASSIGNED
    engine.apply(
        ws,
        command(
            "resolve_conversation",
            agent_id="alice",
            conversation_id=by_customer["en1@x.com"].id,
            at=T0 + timedelta(minutes=7),
        ),
    )
    assert by_customer["en2@x.com"].assignee_id == "alice"  # oldest of the remaining normal ones
    assert by_customer["en3@x.com"].status == QUEUED
    assigned = [e for e in ws.effects if e.case == "conversation_assigned"]
    assert all(e.data["rule"] and e.data["explanation"] for e in assigned)


def test_queue_position_messages_go_out_on_entry_and_decrease_as_the_queue_drains(engine, config):
    ws = Workspace()
    ws.agents["acme"] = agents_for(config, online=())
    customers = [Handle("email", f"c{i}@x.com") for i in range(4)]
    for i, h in enumerate(customers):
        engine.apply(ws, message("human please", sender=h, at=T0 + timedelta(seconds=i)))
    last = customers[-1].value

    def positions() -> list[int]:
        return [
            int(e.data["variables"]["position"])
            for e in ws.effects
            if e.case == "queue_position" and e.data["recipient"]["value"] == last
        ]

    assert positions() == [4]
    engine.apply(ws, command("set_agent_presence", agent_id="alice", presence="online", at=T0 + timedelta(minutes=1)))
    assert positions() == [4, 2]  # alice took two at once
    first = next(c for c in ws.conversations.values() if c.assignee_id == "alice")
    engine.apply(
        ws, command("resolve_conversation", agent_id="alice", conversation_id=first.id, at=T0 + timedelta(minutes=2))
    )
    assert positions() == [4, 2, 1]
    notice = [e for e in ws.effects if e.case == "queue_position"][-1]
    assert notice.data["template"] == "queue_position" and int(notice.data["variables"]["eta_seconds"]) > 0
    assert "queue_position_changed" in cases(ws)


def test_a_quiet_customer_keeps_their_place_and_a_new_message_does_not_requeue_them(engine, config):
    ws = Workspace()
    ws.agents["acme"] = agents_for(config)
    a, b = Handle("email", "a@x.com"), Handle("email", "b@x.com")
    engine.apply(ws, message("agent", sender=a))
    engine.apply(ws, message("agent", sender=b, at=T0 + timedelta(seconds=5)))
    engine.apply(ws, message("still there?", sender=a, at=T0 + timedelta(minutes=30)))
    entry_a = next(e for e in ws.queue["acme"].values() if ws.conversations[e.id].reply_handle["value"] == "a@x.com")
    assert entry_a.enqueued_at == T0 and entry_a.last_notified_position == 1


def test_replaying_an_input_on_the_same_state_yields_the_same_event_ids(engine, ws):
    engine.apply(ws, message("where is my order", event_id="in-x"))
    first = [(e.event_id, e.case) for e in ws.effects]
    fresh = Workspace(agents=copy.deepcopy(ws.agents))
    engine.apply(fresh, message("where is my order", event_id="in-x"))
    assert [(e.event_id, e.case) for e in fresh.effects] == first
    assert len({e.event_id for e in ws.effects}) == len(ws.effects)


def test_a_delayed_order_links_to_the_open_conversation_and_raises_priority(engine, ws):
    engine.apply(ws, message("hi there", sender=ANN_EMAIL))
    engine.apply(ws, order("o-2", "delayed", ANN_EMAIL, reason="customs", at=T0 + timedelta(minutes=1)))
    conv = only_conversation(ws)
    assert conv.order_ids == ["o-2"] and conv.priority == HIGH
    linked = [e for e in ws.effects if e.case in ("order_linked", "priority_changed")]
    assert [e.case for e in linked] == ["order_linked", "priority_changed"]
    assert linked[1].data["reason"] == "order delayed" and linked[1].occurred_at == T0 + timedelta(minutes=1)


def test_agent_reply_is_sent_with_its_text_and_marks_human_involvement(engine, config):
    ws = Workspace()
    ws.agents["acme"] = agents_for(config, online=("alice",))
    engine.apply(ws, message("human", sender=ANN_EMAIL))
    conv = only_conversation(ws)
    reply = command(
        "reply_to_conversation", agent_id="alice", conversation_id=conv.id, text="Hi Ann, on it.", reply_id="r-1"
    )
    engine.apply(ws, reply)
    engine.apply(
        ws,
        command(
            "reply_to_conversation", agent_id="alice", conversation_id=conv.id, text="Hi Ann, on it.", reply_id="r-1"
        ),
    )  # double submit from the desk
    notes = [e for e in ws.effects if e.case == "agent_reply"]
    assert len(notes) == 1 and notes[0].data["text"] == "Hi Ann, on it."
    assert conv.human_involved and notes[0].snapshot["human_involved"]


def test_repeat_contact_is_detected_after_n_customer_messages_without_a_human_reply(engine, config):
    ws = Workspace()
    ws.agents["acme"] = agents_for(config)
    engine.apply(ws, message("agent", sender=ANN_EMAIL))
    for i in range(1, 4):
        engine.apply(ws, message(f"any update {i}?", sender=ANN_EMAIL, at=T0 + timedelta(hours=i)))
    detected = [e for e in ws.effects if e.case == "repeat_contact_detected"]
    assert len(detected) == 1 and detected[0].data["contacts_without_resolution"] == 3


def test_resolution_requests_one_csat_survey_delayed_and_reopen_does_not_ask_again(engine, config):
    ws = Workspace()
    ws.agents["acme"] = agents_for(config, online=("alice",))
    engine.apply(ws, message("human", sender=ANN_EMAIL))
    conv = only_conversation(ws)
    engine.apply(ws, command("resolve_conversation", agent_id="alice", conversation_id=conv.id))
    engine.apply(ws, message("one more thing", sender=ANN_EMAIL, at=T0 + timedelta(minutes=10)))
    assert conv.reopen_count == 1 and conv.status == ASSIGNED and conv.assignee_id == "alice"
    assert (
        next(e for e in ws.effects if e.case == "conversation_assigned" and e.occurred_at > T0).data["rule"] == "sticky"
    )
    engine.apply(
        ws, command("resolve_conversation", agent_id="alice", conversation_id=conv.id, at=T0 + timedelta(minutes=20))
    )
    surveys = [e for e in ws.effects if e.case == "csat_survey"]
    assert len(surveys) == 1 and surveys[0].data["not_before"] == T0 + timedelta(minutes=30)
    engine.apply(ws, CsatIn("csat-1", "acme", conv.id, 5, T0 + timedelta(hours=1)))
    assert cases(ws)[-1] == "csat_recorded" and conv.status == RESOLVED


def test_a_customer_who_waited_for_a_person_goes_back_to_people_on_reopen_not_to_the_bot(engine, config):
    """Handed off, resolved by the desk while still queued (nobody online), then the customer writes back:
    they asked for a person once, so they wait for one again instead of starting over with the bot."""
    ws = Workspace()
    ws.agents["acme"] = agents_for(config)
    engine.apply(ws, message("human please", sender=ANN_EMAIL))
    conv = only_conversation(ws)
    assert conv.status == QUEUED and not conv.assignee_id
    engine.apply(ws, command("resolve_conversation", conversation_id=conv.id, at=T0 + timedelta(minutes=1)))
    ws.effects.clear()
    engine.apply(ws, message("where is my refund?", sender=ANN_EMAIL, at=T0 + timedelta(minutes=10)))
    assert conv.reopen_count == 1 and conv.status == QUEUED
    assert "bot_replied" not in cases(ws)


def test_a_conversation_stored_before_the_people_flag_reads_it_from_what_routing_recorded():
    stored = {"_id": "c1", "brand_id": "acme", "customer_id": "k1", "opened_at": T0, "channel": "email"}
    assert not Conversation.from_doc(stored).went_to_people
    assert Conversation.from_doc({**stored, "previous_assignee_id": "alice"}).went_to_people
    assert Conversation.from_doc({**stored, "handoffs": [{"reason": "requested_human"}]}).went_to_people
    assert not Conversation.from_doc({**stored, "assignee_id": "alice", "went_to_people": False}).went_to_people


def test_a_resolved_conversation_far_outside_the_reopen_window_is_not_reopened(engine, config):
    ws = Workspace()
    ws.agents["acme"] = agents_for(config, online=("alice",))
    engine.apply(ws, message("human", sender=ANN_EMAIL))
    conv = only_conversation(ws)
    engine.apply(ws, command("resolve_conversation", agent_id="alice", conversation_id=conv.id))
    engine.apply(ws, message("new problem", sender=ANN_EMAIL, at=T0 + timedelta(days=2)))
    assert len(ws.conversations) == 2 and conv.reopen_count == 0


@pytest.mark.parametrize(
    "opt_out,email,expected", [(False, "ann@example.com", True), (True, "ann@example.com", False), (False, "", False)]
)
def test_chat_transcript_goes_to_a_known_email_unless_the_customer_opted_out(engine, ws, opt_out, email, expected):
    engine.apply(
        ws, ChatStartIn("cs-1", "acme", "sess-1", T0, customer_name="Ann", email=email, transcript_opt_out=opt_out)
    )
    engine.apply(
        ws,
        message(
            "how long does shipping take",
            sender=Handle("chat_session", "sess-1"),
            chat_session_id="sess-1",
            at=T0 + timedelta(seconds=5),
        ),
    )
    engine.apply(ws, ChatEndIn("ce-1", "acme", "sess-1", T0 + timedelta(minutes=3), "customer"))
    engine.apply(ws, tick(T0 + timedelta(minutes=5)))  # after the 2-minute grace
    ended = next(e for e in ws.effects if e.case == "chat_ended")
    assert ended.data["transcript_requested"] is expected
    transcripts = [e for e in ws.effects if e.case == "transcript"]
    assert len(transcripts) == int(expected)
    if expected:
        text = transcripts[0].data["text"]
        assert "Customer: how long does shipping take" in text and "Bot: Delivery usually takes" in text
        assert transcripts[0].data["recipient"] == {"kind": "email", "value": "ann@example.com"}


def test_an_agent_reply_consumed_after_the_chat_end_in_the_same_batch_is_in_the_transcript(engine, config):
    ws = Workspace()
    ws.agents["acme"] = agents_for(config, online=("alice",))
    engine.apply(ws, ChatStartIn("cs-1", "acme", "sess-1", T0, customer_name="Ann", email="ann@example.com"))
    engine.apply(ws, message("human please, the parcel is broken", sender=Handle("chat_session", "sess-1"),
                             chat_session_id="sess-1", at=T0 + timedelta(seconds=5)))
    conv = only_conversation(ws)
    # As consumed: the inbound topic's partition came first, the agent-commands topic's after it.
    batch = [
        ChatEndIn("ce-1", "acme", "sess-1", T0 + timedelta(minutes=3), "customer"),
        command("reply_to_conversation", agent_id="alice", conversation_id=conv.id,
                text="A replacement is on its way.", reply_id="r-1", at=T0 + timedelta(minutes=2)),
    ]
    for position in application_order(batch):
        engine.apply(ws, batch[position])
    engine.apply(ws, tick(T0 + timedelta(minutes=5)))
    transcript = next(e for e in ws.effects if e.case == "transcript").data["text"]
    assert "Customer: human please" in transcript
    assert "Agent (alice): A replacement is on its way." in transcript


def test_a_batch_is_applied_as_consumed_except_that_chat_ends_go_last():
    batch = [ChatEndIn("ce-1", "acme", "s-1", T0, "customer"), message("a"),
             ChatEndIn("ce-2", "acme", "s-2", T0, "agent"), message("b"),
             command("resolve_conversation", agent_id="alice", conversation_id="c")]
    assert application_order(batch) == [1, 3, 4, 0, 2]


def test_delivery_states_never_regress(engine, ws):
    for state in ("sent", "read", "delivered", "failed"):
        engine.apply(ws, DeliveryIn(f"d-{state}", "acme", "twilio", "SM1", state, T0))
    assert ws.deliveries["acme/twilio/SM1"]["state"] == "read"


def test_commands_on_unknown_conversations_or_agents_are_rejected_with_a_reason(engine, ws):
    with pytest.raises(Rejected, match="not a conversation of brand"):
        engine.apply(ws, command("resolve_conversation", conversation_id="nope"))
    with pytest.raises(Rejected, match="not an agent"):
        engine.apply(ws, command("set_agent_presence", agent_id="ghost", presence="online"))
    engine.apply(ws, message("hi"))
    conv = only_conversation(ws)
    with pytest.raises(Rejected, match="status must be one of"):
        engine.apply(ws, command("set_conversation_status", conversation_id=conv.id, status="resolved"))
    with pytest.raises(Rejected, match="assignee_id 'mallory' is not an agent of 'acme'"):
        engine.apply(ws, command("assign_conversation", agent_id="alice", conversation_id=conv.id,
                                 assignee_id="mallory"))


def test_merge_moves_handles_and_conversations_to_the_surviving_profile(engine, ws):
    engine.apply(ws, message("hi", sender=Handle("email", "a@x.com")))
    engine.apply(ws, message("hi", sender=Handle("telegram_id", "777")))
    survivor, merged = sorted(ws.customers.values(), key=lambda c: c.handles[0]["kind"])
    engine.apply(
        ws,
        command("merge_customers", agent_id="alice", surviving_customer_id=survivor.id, merged_customer_id=merged.id),
    )
    assert merged.merged_into == survivor.id
    assert ws.customer_of("acme", Handle("telegram_id", "777")) == survivor.id
    assert all(c.customer_id == survivor.id for c in ws.conversations.values())
    assert cases(ws)[-1] == "customers_merged"


def test_an_input_whose_message_is_already_stored_changes_nothing(engine, ws):
    first = message("where is my order", event_id="in-dup")
    engine.apply(ws, first)
    conv = only_conversation(ws)
    count, effects = conv.message_count, len(ws.effects)
    ws.stored_message_ids.add(engine.message_id_for(first))  # what the store reports on a redelivery
    engine.apply(ws, first)
    assert (conv.message_count, len(ws.effects)) == (count, effects)


def test_a_provider_retry_accepted_under_a_new_event_id_is_the_same_message(engine, ws):
    original = message("where is my order", event_id="in-a")
    engine.apply(ws, original)
    effects = len(ws.effects)
    retry = message("where is my order", event_id="in-b")
    engine.apply(
        ws,
        MessageIn(
            **{
                **{f: getattr(retry, f) for f in retry.__dataclass_fields__},
                "provider_message_id": original.provider_message_id,
            }
        ),
    )
    assert only_conversation(ws).message_count == 1 and len(ws.effects) == effects


def test_a_redelivered_delayed_order_does_not_raise_priority_twice(engine, ws):
    engine.apply(ws, message("hi there", sender=ANN_EMAIL))
    delayed = order("o-3", "delayed", ANN_EMAIL, reason="strike", at=T0 + timedelta(minutes=1))
    engine.apply(ws, delayed)
    engine.apply(ws, delayed)
    assert only_conversation(ws).priority == HIGH
    assert cases(ws).count("priority_changed") == 1


def test_a_vip_customer_waits_in_the_vip_queue_for_a_vip_cleared_agent(engine, config):
    ws = Workspace()
    ws.agents["acme"] = agents_for(config, online=("bob",))
    engine.apply(ws, message("agent please", sender=Handle("email", "VIP@example.com")))
    conv = only_conversation(ws)
    assert (conv.vip, conv.queue, conv.status) == (True, "vip", QUEUED)  # bob is online but not VIP-cleared
    engine.apply(ws, command("set_agent_presence", agent_id="alice", presence="online", at=T0 + timedelta(minutes=1)))
    assert conv.assignee_id == "alice"
    assert conv.assignment_history[-1]["rule"] == "only_eligible"


def test_an_order_with_an_unusable_handle_is_kept_and_linked_by_the_usable_ones(engine, ws):
    engine.apply(ws, order("o-5", "created", Handle("email", "not-an-address"), ANN_EMAIL, order_number="#5"))
    assert ws.orders["acme/o-5"].customer_id and ws.customer_of("acme", ANN_EMAIL) == ws.orders["acme/o-5"].customer_id
