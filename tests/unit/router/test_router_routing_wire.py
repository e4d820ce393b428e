"""The routing topic's records: what the intake stage forwards is what the routing stage applies."""

from __future__ import annotations

from dataclasses import replace

import pytest
from router_unit_kit import T0
from switchboard.common.cloudevents import Envelope, event_type
from switchboard.common.consumer import PermanentError
from switchboard.events.v1 import agent_pb2, common_pb2, inbound_pb2
from switchboard.router.adapters import codec, routing_wire


class Detector:
    def __init__(self) -> None:
        self.calls = 0

    def detect(self, text: str) -> str:
        self.calls += 1
        return "de"


def consumed(payload) -> Envelope:
    return Envelope(payload=payload, id="evt-1", type=event_type(payload), source="/switchboard/ingest", time=T0,
                    brand_id="acme", correlation_id="corr-1", key=b"acme/ann@example.com",
                    topic="p.switchboard.inbound.v1", partition=3, offset=41)


def message(text: str = "Hallo, wo ist meine Bestellung?") -> inbound_pb2.InboundEvent:
    event = inbound_pb2.InboundEvent(brand_id="acme")
    m = event.message_received
    m.channel, m.provider, m.text = common_pb2.CHANNEL_EMAIL, "mailgun", text
    m.sender.kind, m.sender.value = common_pb2.HANDLE_KIND_EMAIL, "ann@example.com"
    return event


def forwarded(env: Envelope, request) -> Envelope:
    """The record as the routing stage consumes it (the producer's envelope keeps id, time, cause)."""
    return Envelope(payload=request, id=env.id, type=event_type(request), source="/switchboard/router",
                    time=env.time, brand_id="acme", correlation_id=env.correlation_id, causation_id=env.id,
                    topic="p.switchboard.routing.v1", partition=0, offset=7)


def test_a_message_reaches_the_routing_stage_with_its_id_time_origin_and_detected_language():
    env = consumed(message())
    detector = Detector()
    inp, request = routing_wire.wrap_input(env, detector)
    brand = inp.brand_id
    assert brand == "acme" and request.detected_language == "de" and detector.calls == 1
    inner, known = routing_wire.unwrap(forwarded(env, request))
    assert (inner.id, inner.time, inner.source, inner.correlation_id) == (env.id, T0, env.source, "corr-1")
    assert (inner.topic, inner.partition, inner.offset, inner.key) == (env.topic, 3, 41, env.key)
    assert inner.payload == env.payload
    # the routing stage decides on the same input, without running the detector again
    assert codec.decode(inner, known) == codec.decode(env, Detector())


def test_an_agent_command_keeps_its_case_and_its_event_time():
    command = agent_pb2.AgentCommand(brand_id="acme", agent_id="alice")
    command.resolve_conversation.conversation_id = "c-1"
    env = replace(consumed(command), topic="p.switchboard.agent-commands.v1")
    _, request = routing_wire.wrap_input(env, Detector())
    inner, _ = routing_wire.unwrap(forwarded(env, request))
    assert inner.type == "switchboard.events.v1.AgentCommand.resolve_conversation"
    decoded = codec.decode(inner, Detector())
    assert (decoded.kind, decoded.conversation_id, decoded.at) == ("resolve_conversation", "c-1", T0)


def test_a_record_the_router_cannot_apply_is_refused_at_intake_with_the_field_to_fix():
    bad = message()
    bad.message_received.ClearField("sender")
    with pytest.raises(PermanentError, match="MessageReceived.sender"):
        routing_wire.wrap_input(consumed(bad), Detector())
    with pytest.raises(PermanentError, match="RoutingRequest"):
        routing_wire.unwrap(consumed(message()))
