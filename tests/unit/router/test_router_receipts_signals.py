"""Watermark receipts, reactions and notices, call and delivery states that never regress (issue 16:
items 1, 6 and 9), on in-memory state and through the wire codec."""

from __future__ import annotations

from datetime import timedelta

import pytest
from router_unit_kit import T0, agents_for, cases, command, message
from switchboard.common.cloudevents import Envelope
from switchboard.common.consumer import PermanentError
from switchboard.events.v1 import common_pb2, conversation_pb2, inbound_pb2
from switchboard.router.adapters import codec
from switchboard.router.domain import receipts
from switchboard.router.domain.engine import Workspace
from switchboard.router.domain.inputs import CallIn, DeliveryIn, Signal
from switchboard.router.domain.model import RESOLVED, Handle

PSID = Handle("messenger_psid", "6783451234567890")


class NoDetection:
    def detect(self, text: str) -> str:
        return ""


def messenger(text: str, at=T0, **kw):
    return message(text, channel="messenger", sender=PSID, at=at, **kw)


def watermark(state: str, at, event_id: str = "wm-1", recipient: Handle = PSID) -> DeliveryIn:
    return DeliveryIn(event_id, "acme", "meta_messenger", "", state, at, channel="messenger",
                      recipient=recipient, watermark=at)


def reaction(at, *, emoji="👍", event_id="re-1", sender=PSID) -> object:
    return message("", channel="messenger", sender=sender, at=at, event_id=event_id,
                   signal=Signal("reaction", reacted_message_id="m_ours", emoji=emoji, removed=not emoji))


def ours(ws: Workspace) -> list[dict]:
    return [m for msgs in ws.history.values() for m in msgs if m["author"] in ("bot", "agent")]


def envelope(payload) -> Envelope:
    return Envelope(payload=payload, id="evt-1", type="t", source="/tests", time=T0, brand_id="acme")


# ---------------------------------------------------------------------------------- item 1: watermarks
def test_a_read_watermark_marks_every_message_we_sent_up_to_it_as_read(engine, ws):
    engine.apply(ws, messenger("how long does shipping take?"))                       # bot answers at T0
    engine.apply(ws, messenger("and do you ship to Berlin?", at=T0 + timedelta(minutes=5)))  # bot again
    first, second = sorted(ours(ws), key=lambda m: m["at"])
    engine.apply(ws, watermark("read", T0 + timedelta(minutes=1)))
    assert first["delivery_state"] == "read" and "delivery_state" not in second
    assert ws.updated_messages == {first["_id"]: first}
    engine.apply(ws, watermark("read", T0 + timedelta(minutes=6), event_id="wm-2"))
    assert second["delivery_state"] == "read"


def test_a_delivery_watermark_never_takes_back_a_read(engine, ws):
    engine.apply(ws, messenger("how long does shipping take?"))
    (answer,) = ours(ws)
    engine.apply(ws, watermark("read", T0 + timedelta(minutes=1)))
    engine.apply(ws, watermark("delivered", T0 + timedelta(minutes=2), event_id="wm-late"))
    assert answer["delivery_state"] == "read"


def test_a_watermark_touches_only_our_messages_on_its_channel():
    history = [
        {"_id": "c", "author": "customer", "channel": "messenger", "at": T0},
        {"_id": "n", "author": "agent", "internal": True, "at": T0},
        {"_id": "e", "author": "agent", "channel": "email", "at": T0},
        {"_id": "m", "author": "agent", "channel": "messenger", "at": T0},
        {"_id": "later", "author": "bot", "channel": "messenger", "at": T0 + timedelta(seconds=1)},
    ]
    changed = receipts.covered_by_watermark(history, channel="messenger", state="delivered", watermark=T0)
    assert [d["_id"] for d in changed] == ["m"]


def test_a_watermark_for_someone_we_never_wrote_to_changes_nothing(engine, ws):
    engine.apply(ws, watermark("read", T0, recipient=Handle("messenger_psid", "999")))
    assert not ws.updated_messages and not ws.dirty_deliveries and not ws.effects


def test_a_watermark_only_receipt_decodes_instead_of_going_to_the_dlq():
    report = inbound_pb2.DeliveryStatusReported(
        channel=common_pb2.CHANNEL_MESSENGER, provider="meta_messenger", state=inbound_pb2.DELIVERY_STATE_READ,
        recipient=common_pb2.ContactHandle(kind=common_pb2.HANDLE_KIND_MESSENGER_PSID, value=PSID.value))
    report.watermark.FromDatetime(T0)
    decoded = codec.decode(envelope(inbound_pb2.InboundEvent(brand_id="acme", delivery_status_reported=report)),
                           NoDetection())
    assert isinstance(decoded, DeliveryIn)
    assert (decoded.watermark, decoded.recipient, decoded.channel) == (T0, PSID, "messenger")


def test_a_receipt_with_neither_an_id_nor_a_watermark_is_rejected_with_the_reason():
    report = inbound_pb2.DeliveryStatusReported(provider="x", state=inbound_pb2.DELIVERY_STATE_READ)
    with pytest.raises(PermanentError, match="watermark"):
        codec.decode(envelope(inbound_pb2.InboundEvent(brand_id="acme", delivery_status_reported=report)),
                     NoDetection())


# ---------------------------------------------------------------------------------- item 6: signals
def test_a_reaction_is_kept_in_the_history_and_is_no_contact(engine, config):
    ws = Workspace()
    ws.agents["acme"] = agents_for(config, online=("alice",))
    engine.apply(ws, messenger("agent please"))  # handed off, assigned to alice
    conv = next(iter(ws.conversations.values()))
    engine.apply(ws, command("reply_to_conversation", agent_id="alice", conversation_id=conv.id, text="Hi!",
                             reply_id="r1", at=T0 + timedelta(minutes=1)))
    before = (conv.message_count, conv.contacts_since_human_reply, list(conv.recent_customer_times),
              conv.last_customer_message_at, conv.status, conv.channel)
    effects = len(ws.effects)
    for n in range(4):  # more than repeat_contact_threshold
        engine.apply(ws, reaction(T0 + timedelta(minutes=2 + n), event_id=f"re-{n}", emoji="" if n == 3 else "👍"))
    new = [e.case for e in ws.effects[effects:]]
    assert new == ["customer_reaction_added"] * 4
    assert (conv.message_count, conv.contacts_since_human_reply, list(conv.recent_customer_times),
            conv.last_customer_message_at, conv.status, conv.channel) == before
    stored = [m for m in ws.history[conv.id] if m.get("kind") == "reaction"]
    assert [m["emoji"] for m in stored] == ["👍", "👍", "👍", ""] and stored[-1]["removed"]
    assert all(m["text"] == "" and m["reacted_provider_message_id"] == "m_ours" for m in stored)


def test_a_reaction_while_the_bot_has_the_conversation_gets_no_bot_turn(engine, ws):
    engine.apply(ws, messenger("how long does shipping take?"))
    effects = len(ws.effects)
    engine.apply(ws, reaction(T0 + timedelta(minutes=1)))
    assert [e.case for e in ws.effects[effects:]] == ["customer_reaction_added"]


def test_a_reaction_never_reopens_a_resolved_conversation(engine, ws):
    engine.apply(ws, messenger("how long does shipping take?"))
    conv = next(iter(ws.conversations.values()))
    engine.apply(ws, command("resolve_conversation", agent_id="alice", conversation_id=conv.id))
    engine.apply(ws, reaction(T0 + timedelta(minutes=1)))
    assert conv.status == RESOLVED and conv.reopen_count == 0 and len(ws.conversations) == 1
    assert ws.effects[-1].case == "customer_reaction_added" and ws.effects[-1].snapshot["status"] == RESOLVED


def test_a_reaction_from_someone_without_a_conversation_opens_none(engine, ws):
    engine.apply(ws, reaction(T0, sender=Handle("messenger_psid", "111")))
    assert not ws.conversations and not ws.effects and not ws.new_messages


def test_a_provider_notice_is_stored_for_the_agent_and_is_no_contact(engine, ws):
    engine.apply(ws, message("hi, where is my order?", channel="whatsapp", sender=Handle("whatsapp_id", "16505551234")))
    conv = next(iter(ws.conversations.values()))
    count, effects = conv.message_count, len(ws.effects)
    notice = message("", channel="whatsapp", sender=Handle("whatsapp_id", "16505551234"), event_id="n-1",
                     at=T0 + timedelta(minutes=1),
                     signal=Signal("notice", code="131051", title="Message type unknown", detail="edit"))
    engine.apply(ws, notice)
    assert [e.case for e in ws.effects[effects:]] == ["provider_notice_added"] and conv.message_count == count
    assert ws.history[conv.id][-1]["notice"] == {"code": "131051", "title": "Message type unknown", "detail": "edit"}
    ws.stored_message_ids.add(engine.message_id_for(notice))
    engine.apply(ws, notice)  # redelivered: already stored
    assert len(ws.effects) == effects + 1


def test_reactions_and_notices_encode_to_their_own_conversation_events(engine, ws):
    engine.apply(ws, messenger("how long does shipping take?"))
    engine.apply(ws, reaction(T0 + timedelta(minutes=1), emoji=""))
    event = codec.conversation_event(ws.effects[-1])
    assert event.WhichOneof("event") == "customer_reaction_added"
    assert event.customer_reaction_added.removed and event.customer_reaction_added.reacted_provider_message_id
    wire = inbound_pb2.MessageReceived(channel=common_pb2.CHANNEL_WHATSAPP, provider="meta_whatsapp",
                                       provider_message_id="wamid.U",
                                       sender=common_pb2.ContactHandle(kind=common_pb2.HANDLE_KIND_WHATSAPP_ID,
                                                                       value="16505551234"),
                                       notice=inbound_pb2.ProviderNotice(code="131051"))
    decoded = codec.decode(envelope(inbound_pb2.InboundEvent(brand_id="acme", message_received=wire)), NoDetection())
    assert decoded.signal == Signal("notice", code="131051")
    assert conversation_pb2.ProviderNoticeAdded(message_id="m", code="131051").code == "131051"


# ---------------------------------------------------------------------------------- item 9: states
def test_a_late_in_progress_after_completed_keeps_the_call_completed(engine, config):
    ws = Workspace()
    ws.agents["acme"] = agents_for(config, online=("chen",))
    caller = Handle("phone", "+4915100000009")
    engine.apply(ws, CallIn("c-1", "acme", "CA1", "ringing", T0, caller))
    engine.apply(ws, CallIn("c-2", "acme", "CA1", "completed", T0 + timedelta(minutes=3), caller))
    engine.apply(ws, CallIn("c-3", "acme", "CA1", "in_progress", T0 + timedelta(seconds=20), caller, agent_id="chen"))
    call = next(iter(ws.conversations.values())).calls["CA1"]
    assert call["state"] == "completed" and call["ended_at"] == T0 + timedelta(minutes=3)
    assert call["answered_at"] == T0 + timedelta(seconds=20)  # the fact is kept: the phone_answer clock stops
    assert cases(ws).count("call_answered") == 1


def test_a_second_end_of_a_call_changes_nothing(engine, ws):
    caller = Handle("phone", "+4915100000009")
    engine.apply(ws, CallIn("c-1", "acme", "CA1", "ringing", T0, caller))
    engine.apply(ws, CallIn("c-2", "acme", "CA1", "completed", T0 + timedelta(minutes=3), caller))
    engine.apply(ws, CallIn("c-3", "acme", "CA1", "failed", T0 + timedelta(minutes=4), caller))
    call = next(iter(ws.conversations.values())).calls["CA1"]
    assert (call["state"], call["ended_at"]) == ("completed", T0 + timedelta(minutes=3))


def test_a_late_sent_never_hides_a_failure_and_delivery_beats_it(engine, ws):
    for state in ("queued", "failed", "sent"):
        engine.apply(ws, DeliveryIn(f"d-{state}", "acme", "twilio", "SM2", state, T0))
    assert ws.deliveries["acme/twilio/SM2"]["state"] == "failed"
    engine.apply(ws, DeliveryIn("d-delivered", "acme", "twilio", "SM2", "delivered", T0))
    assert ws.deliveries["acme/twilio/SM2"]["state"] == "delivered"


@pytest.mark.parametrize(("current", "reported", "advances"), [
    ("", "queued", True), ("ringing", "queued", False), ("in_progress", "ringing", False),
    ("completed", "in_progress", False), ("in_progress", "busy", True), ("busy", "completed", False)])
def test_call_state_order(current, reported, advances):
    assert receipts.call_advances(current, reported) is advances
