"""Wire mapping: every effect the engine emits encodes to the contract; commands decode with enums named."""

from __future__ import annotations

from datetime import timedelta

import pytest
from router_unit_kit import T0, agents_for, command, message, order, tick
from switchboard.common.cloudevents import Envelope
from switchboard.common.consumer import PermanentError
from switchboard.events.v1 import agent_pb2, common_pb2, conversation_pb2, inbound_pb2, notification_pb2
from switchboard.router.adapters import codec
from switchboard.router.domain.engine import Workspace
from switchboard.router.domain.inputs import (
    CallIn,
    ChatEndIn,
    ChatStartIn,
    CsatIn,
    SetAgentPresence,
    SetConversationStatus,
)
from switchboard.router.domain.model import Handle


class NoDetection:
    def detect(self, text: str) -> str:
        return ""


def envelope(payload) -> Envelope:
    return Envelope(payload=payload, id="evt-1", type="t", source="/tests", time=T0, brand_id="acme")


def test_every_effect_of_a_full_lifecycle_encodes_to_the_contract(engine, config):
    ws = Workspace()
    ws.agents["acme"] = agents_for(config, online=("alice", "chen"))
    ann = Handle("email", "ann@example.com")
    engine.apply(ws, ChatStartIn("cs", "acme", "s1", T0, customer_name="Ann", email="ann@example.com"))
    engine.apply(ws, message("how long does shipping take?", sender=Handle("chat_session", "s1"), chat_session_id="s1"))
    engine.apply(ws, order("o-1", "delayed", ann, reason="customs", at=T0 + timedelta(minutes=1)))
    engine.apply(
        ws,
        message(
            "agent please", sender=Handle("chat_session", "s1"), chat_session_id="s1", at=T0 + timedelta(minutes=2)
        ),
    )
    conv = next(iter(ws.conversations.values()))
    for kind, fields in [
        ("add_internal_note", {"text": "vip"}),
        ("reply_to_conversation", {"text": "Hi!", "reply_id": "r1"}),
        ("set_conversation_status", {"status": "waiting_on_customer"}),
        ("change_priority", {"priority": 4, "reason": "vip"}),
        ("acknowledge_escalation", {"escalation_id": "esc-1"}),
    ]:
        engine.apply(ws, command(kind, agent_id="alice", conversation_id=conv.id, **fields))
    engine.apply(ws, ChatEndIn("ce", "acme", "s1", T0 + timedelta(minutes=9)))
    engine.apply(ws, tick(T0 + timedelta(minutes=12)))  # the transcript goes out after its grace
    engine.apply(ws, command("resolve_conversation", agent_id="alice", conversation_id=conv.id))
    engine.apply(ws, CsatIn("csat", "acme", conv.id, 4, T0 + timedelta(hours=2)))
    engine.apply(ws, CallIn("call-1", "acme", "CA1", "ringing", T0, Handle("phone", "+4915100000009")))
    engine.apply(ws, CallIn("call-2", "acme", "CA1", "in_progress", T0 + timedelta(seconds=20), None, agent_id="chen"))
    cases = set()
    for effect in ws.effects:
        if effect.topic == "conversations":
            event = conversation_pb2.ConversationEvent.FromString(codec.conversation_event(effect).SerializeToString())
            assert event.WhichOneof("event") == effect.case
            assert event.conversation.conversation_id == effect.key
            assert event.occurred_at.ToDatetime().replace(tzinfo=T0.tzinfo) == effect.occurred_at
        else:
            request = codec.notification(effect, effect.occurred_at)
            assert request.intent_id == effect.event_id and request.kind != 0
        cases.add(effect.case)
    assert {
        "conversation_opened",
        "bot_replied",
        "order_linked",
        "priority_changed",
        "conversation_handed_off",
        "conversation_assigned",
        "agent_replied",
        "internal_note_added",
        "status_changed",
        "chat_ended",
        "escalation_acknowledged",
        "conversation_resolved",
        "csat_recorded",
        "call_answered",
        "transcript",
        "csat_survey",
        "agent_reply",
        "bot_answer",
    } <= cases
    survey = next(codec.notification(e, e.occurred_at) for e in ws.effects if e.case == "csat_survey")
    assert survey.kind == notification_pb2.NOTIFICATION_KIND_CSAT_SURVEY and survey.not_before.seconds > 0
    assert survey.recipient.kind == common_pb2.HANDLE_KIND_EMAIL


def test_agent_commands_decode_with_enum_names_and_priorities_as_numbers():
    cmd = agent_pb2.AgentCommand(
        brand_id="acme",
        agent_id="alice",
        set_conversation_status=agent_pb2.SetConversationStatus(
            conversation_id="c1", status=common_pb2.CONVERSATION_STATUS_WAITING_ON_THIRD_PARTY, reason="carrier"
        ),
    )
    decoded = codec.decode(envelope(cmd), NoDetection())
    assert decoded.kind == "set_conversation_status"
    assert decoded.command == SetConversationStatus(
        conversation_id="c1", status="waiting_on_third_party", reason="carrier"
    )
    prio = agent_pb2.AgentCommand(
        brand_id="acme",
        change_priority=agent_pb2.ChangePriority(conversation_id="c1", priority=common_pb2.PRIORITY_URGENT),
    )
    assert codec.decode(envelope(prio), NoDetection()).command.priority == 4
    presence = agent_pb2.AgentCommand(
        brand_id="acme", agent_id="bob", set_agent_presence=agent_pb2.SetAgentPresence(presence=agent_pb2.PRESENCE_AWAY)
    )
    assert codec.decode(envelope(presence), NoDetection()).command == SetAgentPresence(presence="away")



def test_every_agent_command_decodes_to_a_typed_command_the_engine_handles():
    from switchboard.router.domain.commands import COMMAND_HANDLERS

    for case in agent_pb2.AgentCommand.DESCRIPTOR.oneofs_by_name["command"].fields:
        cmd = agent_pb2.AgentCommand(brand_id="acme", agent_id="alice")
        getattr(cmd, case.name).SetInParent()
        decoded = codec.decode(envelope(cmd), NoDetection())
        assert decoded.kind == case.name
        assert type(decoded.command) in COMMAND_HANDLERS, case.name

@pytest.mark.parametrize(
    "payload,field",
    [
        (
            inbound_pb2.InboundEvent(
                brand_id="acme", message_received=inbound_pb2.MessageReceived(channel=common_pb2.CHANNEL_CHAT)
            ),
            "sender",
        ),
        (
            inbound_pb2.InboundEvent(
                brand_id="acme",
                message_received=inbound_pb2.MessageReceived(
                    sender=common_pb2.ContactHandle(kind=common_pb2.HANDLE_KIND_EMAIL, value="a@x.com")
                ),
            ),
            "channel",
        ),
        (inbound_pb2.InboundEvent(brand_id="acme"), "no event"),
        (agent_pb2.AgentCommand(agent_id="x"), "brand_id"),
    ],
)
def test_malformed_inputs_are_rejected_naming_the_field(payload, field):
    with pytest.raises(PermanentError, match=field):
        codec.decode(envelope(payload).__class__(payload=payload, id="e", type="t", source="/", time=T0), NoDetection())


def test_a_handoff_for_an_order_not_linked_to_the_customer_keeps_its_reason_on_the_wire(engine):
    ws = Workspace()
    engine.apply(ws, order("o-1", "shipped", Handle("email", "owner@example.com"), order_number="#1001"))
    engine.apply(ws, message("#1001", sender=Handle("telegram_id", "555000111"), channel="telegram",
                             at=T0 + timedelta(minutes=1)))
    effect = next(e for e in ws.effects if e.case == "conversation_handed_off")
    event = conversation_pb2.ConversationEvent.FromString(codec.conversation_event(effect).SerializeToString())
    assert event.conversation_handed_off.reason == conversation_pb2.HANDOFF_REASON_ORDER_NOT_LINKED
    assert "#1001" in event.conversation_handed_off.summary
