"""A way out of a long queue: choices offered past a position or ETA, recognised in the customer's
reply in any of en, zh, ru, es, applied without losing the place (pure)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from router_unit_kit import T0, agents_for, command, message, order
from switchboard.events.v1 import common_pb2
from switchboard.router.adapters import codec
from switchboard.router.domain import queue_exit
from switchboard.router.domain.engine import Engine, Workspace
from switchboard.router.domain.inputs import CallIn, ChatStartIn
from switchboard.router.domain.model import QUEUED, Handle

OFFER = ["keep", "switch:email", "callback"]


@pytest.mark.parametrize("reply, expected", [
    ("1", "keep"), ("２", "switch:email"), (" 3. ", "callback"), ("4", None),
    ("I'll keep my place and wait", "keep"), ("please call me back", "callback"), ("email is fine", "switch:email"),
    ("我愿意等待", "keep"), ("请回电给我", "callback"), ("用邮件吧", "switch:email"),
    ("Я подожду", "keep"), ("Перезвоните мне, пожалуйста", "callback"), ("лучше по почте", "switch:email"),
    ("Prefiero esperar", "keep"), ("Llámenme por favor", "callback"), ("por correo, gracias", "switch:email"),
    ("email or call me", None),  # two choices named: not a choice
    ("where is my parcel?", None),
])
def test_the_choice_is_recognised_in_english_chinese_russian_and_spanish(reply, expected):
    assert queue_exit.recognise(reply, OFFER) == expected


def test_the_offer_is_written_in_the_customers_language():
    assert "回电" in queue_exit.render_offer(OFFER, "zh") and "перезвоним" in queue_exit.render_offer(OFFER, "ru")
    assert "correo electrónico" in queue_exit.render_offer(OFFER, "es")
    assert queue_exit.render_offer(OFFER, "de").startswith("Reply with a number")  # English fallback


def _long_queue(engine: Engine, config, subject) -> Workspace:
    """Ten chats wait (nobody online); then the subject arrives at place 11 (ETA 11 min)."""
    ws = Workspace()
    ws.agents["acme"] = agents_for(config)
    for i in range(10):
        engine.apply(ws, message("human please", sender=Handle("chat_session", f"f{i}"), at=T0 + timedelta(seconds=i)))
    ws.effects.clear()
    subject(ws)
    return ws


def _notices(ws: Workspace, who: str) -> list:
    return [e for e in ws.effects if e.topic == "notifications" and e.data["recipient"].get("value") == who]


def _chat_customer_at_place_eleven(engine: Engine, config, session: str, name: str, email: str):
    """A chat customer who gave their email at the start asks for a person behind ten others."""
    def subject(ws):
        engine.apply(ws, ChatStartIn(f"start-{session}", "acme", session, T0, customer_name=name, email=email))
        engine.apply(ws, message("human please", sender=Handle("chat_session", session), chat_session_id=session,
                                 at=T0 + timedelta(minutes=1)))

    ws = _long_queue(engine, config, subject)
    return ws, next(c for c in ws.conversations.values() if c.reply_handle["value"] == session)


def test_past_place_ten_the_customer_can_move_to_email_and_keeps_their_place(engine, config):
    ws, conv = _chat_customer_at_place_eleven(engine, config, "sess-x", "Ann", "ann@example.com")
    (offer,) = _notices(ws, "sess-x")
    assert offer.data["template"] == queue_exit.TEMPLATE and offer.data["variables"]["position"] == "11"
    assert "2 - continue by email" in offer.data["variables"]["choices"]
    enqueued_at = ws.queue["acme"][conv.id].enqueued_at
    engine.apply(ws, message("2", sender=Handle("chat_session", "sess-x"), chat_session_id="sess-x",
                             at=T0 + timedelta(minutes=2)))
    (confirmed,) = [e for e in _notices(ws, "sess-x") if e.data["template"] == queue_exit.CONFIRMED]
    assert confirmed.data["channel"] == "chat" and "by email" in confirmed.data["variables"]["confirmation"]
    assert conv.status == QUEUED and ws.queue["acme"][conv.id].enqueued_at == enqueued_at
    assert (conv.reply_channel, conv.reply_handle) == ("email", {"kind": "email", "value": "ann@example.com"})
    assert conv.contacts_since_human_reply == 0  # a choice is not a chase
    ws.effects.clear()
    engine.apply(ws, command("set_agent_presence", agent_id="alice", presence="online", at=T0 + timedelta(minutes=3)))
    engine.apply(ws, command("set_agent_presence", agent_id="bob", presence="online", at=T0 + timedelta(minutes=3)))
    for i in range(10):  # the ten ahead are served
        first = next((c for c in ws.conversations.values() if c.status == "assigned"), None)
        engine.apply(ws, command("resolve_conversation", agent_id=first.assignee_id, conversation_id=first.id,
                                 at=T0 + timedelta(minutes=4, seconds=i)))
    assert _notices(ws, "sess-x") == []  # quiet while waiting: not even places 3, 2, 1 are told
    pickup = _notices(ws, "ann@example.com")
    assert [(e.data["template"], e.data["channel"]) for e in pickup] == [("queue_picked_up", "email")]
    engine.apply(ws, command("reply_to_conversation", agent_id=conv.assignee_id, conversation_id=conv.id,
                             text="Hello Ann", reply_id="r1", at=T0 + timedelta(minutes=6)))
    reply = next(e for e in ws.effects if e.case == "agent_reply")
    assert (reply.data["channel"], reply.data["recipient"]["value"]) == ("email", "ann@example.com")
    snapshot = codec.snapshot_proto(reply.snapshot)
    assert snapshot.reply_channel == common_pb2.CHANNEL_EMAIL  # the agent sees where to answer


def test_a_caller_can_ask_for_a_callback_which_stays_a_queued_phone_task(engine, config):
    caller = Handle("phone", "+4915112345678")

    def subject(ws):
        engine.apply(ws, CallIn("call-1", "acme", "CA1", "ringing", T0 + timedelta(minutes=1), caller))

    ws = _long_queue(engine, config, subject)
    conv = next(c for c in ws.conversations.values() if c.channel == "phone")
    (offer,) = _notices(ws, "+4915112345678")
    assert "we call you back" in offer.data["variables"]["choices"]
    engine.apply(ws, message("call me back please", channel="phone", sender=caller, at=T0 + timedelta(minutes=2)))
    assert conv.status == QUEUED and conv.channel == "phone" and conv.reply_channel == "phone"
    assert conv.callback["number"] == "+4915112345678"


def test_an_ordinary_message_while_an_offer_waits_is_just_a_message(engine, config):
    def subject(ws):
        engine.apply(ws, message("human please", sender=Handle("chat_session", "s-y"), at=T0 + timedelta(minutes=1)))

    ws = _long_queue(engine, config, subject)
    conv = next(c for c in ws.conversations.values() if c.reply_handle["value"] == "s-y")
    engine.apply(ws, message("still nothing??", sender=Handle("chat_session", "s-y"), at=T0 + timedelta(minutes=2)))
    assert conv.queue_exit_offer["options"] == ["keep"] and "chosen" not in conv.queue_exit_offer
    assert conv.contacts_since_human_reply == 1
    engine.apply(ws, message("1", sender=Handle("chat_session", "s-y"), at=T0 + timedelta(minutes=3)))
    assert conv.queue_exit_offer["chosen"] == "keep" and ws.queue["acme"][conv.id].quiet


def test_an_offer_belongs_to_one_wait_an_old_one_is_not_answered_by_a_later_message(engine, config):
    """Offered at place 11 and never answered; picked up, resolved, and the customer writes back "2": that
    is a message of the reopened wait, not a choice from an offer made in the earlier one."""
    ws, conv = _chat_customer_at_place_eleven(engine, config, "sess-z", "Zoe", "zoe@example.com")
    assert queue_exit.pending(conv) == ["keep", "switch:email"]
    for agent in ("alice", "bob"):
        engine.apply(ws, command("set_agent_presence", agent_id=agent, presence="online", at=T0 + timedelta(minutes=3)))
    for i in range(11):  # served in order until Zoe is picked up
        if conv.status == "assigned":
            break
        first = next(c for c in ws.conversations.values() if c.status == "assigned")
        engine.apply(ws, command("resolve_conversation", agent_id=first.assignee_id, conversation_id=first.id,
                                 at=T0 + timedelta(minutes=4, seconds=i)))
    assert conv.status == "assigned" and queue_exit.pending(conv) == []  # the wait ended: the offer with it
    engine.apply(ws, command("resolve_conversation", agent_id=conv.assignee_id, conversation_id=conv.id,
                             at=T0 + timedelta(minutes=6)))
    ws.effects.clear()
    engine.apply(ws, message("2", sender=Handle("chat_session", "sess-z"), chat_session_id="sess-z",
                             at=T0 + timedelta(minutes=7)))
    assert conv.reopen_count == 1 and conv.status == "assigned"  # reopened, and back with a person at once
    assert [e for e in _notices(ws, "sess-z") if e.data["template"] == queue_exit.CONFIRMED] == []
    assert conv.reply_channel == "" and conv.contacts_since_human_reply == 1  # an ordinary message


def test_a_way_out_by_email_appears_once_the_shop_tells_us_the_customers_email(engine, config):
    """The routing side offers what the contact side recorded of the customer (reachable_on), not the
    customer itself: an order event that brings their email makes email one of the choices."""
    wa = Handle("whatsapp_id", "4915112345678")
    ws = _long_queue(engine, config, lambda ws: engine.apply(
        ws, message("human please", channel="whatsapp", sender=wa, at=T0 + timedelta(minutes=1))))
    conv = next(c for c in ws.conversations.values() if c.reply_handle["value"] == wa.value)
    assert conv.status == QUEUED and "switch:email" not in queue_exit.options(conv)
    engine.apply(ws, order("o-9", "created", wa, Handle("email", "wa.customer@example.com"),
                           at=T0 + timedelta(minutes=2)))
    assert "switch:email" in queue_exit.options(conv)


def test_an_offer_made_in_another_customers_input_is_saved_with_the_conversation(engine, config):
    """The offer is made when the customer's position message is due, often in someone else's input (here
    urgent customers going ahead push them to place 20). It must be written with their conversation, or a
    restart forgets it and their answer "1" is read as an ordinary message."""
    ws = Workspace()
    ws.agents["acme"] = agents_for(config)
    for i in range(10):  # nobody online; the tenth is the subject, at place 10 (ETA 10 min: no offer yet)
        engine.apply(ws, message("human please", sender=Handle("chat_session", f"w{i}"), at=T0 + timedelta(seconds=i)))
    conv = next(c for c in ws.conversations.values() if c.reply_handle["value"] == "w9")
    assert ws.queue["acme"][conv.id].last_notified_position == 10 and not conv.queue_exit_offer
    for i in range(10):  # urgent customers go ahead of them, over three minutes
        ws.dirty_conversations.clear()
        engine.apply(ws, message("human please, this is urgent", sender=Handle("chat_session", f"u{i}"),
                                 at=T0 + timedelta(minutes=1, seconds=12 * i)))
    assert ws.queue["acme"][conv.id].last_notified_position == 20 and queue_exit.pending(conv) == ["keep"]
    assert conv.id in ws.dirty_conversations  # offered in u9's input: saved with it
