from datetime import UTC, datetime

import pytest
from switchboard.common.cloudevents import Envelope, EnvelopeError, decode, derived_id, event_type
from switchboard.events.v1 import conversation_pb2, sla_pb2


def assigned() -> conversation_pb2.ConversationEvent:
    event = conversation_pb2.ConversationEvent(brand_id="acme")
    event.conversation.conversation_id = "c-1"
    event.conversation_assigned.assignee_id = "agent-7"
    return event


def test_an_envelope_round_trips_through_kafka_headers_and_value():
    sent = Envelope(payload=assigned(), id="e-1", type=event_type(assigned()), source="/router",
                    time=datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC), brand_id="acme", subject="c-1",
                    correlation_id="corr", causation_id="cause")
    got = decode(sent.payload.SerializeToString(), sent.headers(), key=b"c-1")
    assert got.payload == sent.payload
    assert (got.id, got.type, got.source, got.time, got.brand_id, got.subject, got.correlation_id,
            got.causation_id) == ("e-1", "switchboard.events.v1.ConversationEvent.conversation_assigned", "/router",
                                  sent.time, "acme", "c-1", "corr", "cause")
    assert got.case == "conversation_assigned"


def test_types_name_the_oneof_case_so_consumers_can_filter_without_decoding():
    breached = sla_pb2.SlaEvent(sla_breached=sla_pb2.SlaBreached(late_by_ms=12))
    assert event_type(breached) == "switchboard.events.v1.SlaEvent.sla_breached"
    assert event_type(sla_pb2.SlaBreached()) == "switchboard.events.v1.SlaBreached"


@pytest.mark.parametrize("drop,expected", [
    ("ce_specversion", "ce_specversion must be 1.0"),
    ("ce_id", "missing header ce_id"),
    ("ce_dataschema", "missing header ce_dataschema"),
    ("content-type", "content-type must be application/protobuf"),
])
def test_records_without_required_attributes_are_rejected_with_the_reason(drop, expected):
    env = Envelope(payload=assigned(), id="e", type="t", source="/s", time=datetime.now(UTC))
    headers = [h for h in env.headers() if h[0] != drop]
    with pytest.raises(EnvelopeError, match=expected):
        decode(env.payload.SerializeToString(), headers)


def test_unknown_message_types_and_garbage_values_are_rejected():
    env = Envelope(payload=assigned(), id="e", type="t", source="/s", time=datetime.now(UTC))
    headers = [(k, b"switchboard.events.v1.Nope" if k == "ce_dataschema" else v) for k, v in env.headers()]
    with pytest.raises(EnvelopeError, match="unknown message type"):
        decode(b"", headers)
    with pytest.raises(EnvelopeError, match="not a valid"):
        decode(b"\xff\xff\xff", env.headers())


def test_derived_ids_are_deterministic_and_distinct_per_cause_and_purpose():
    assert derived_id("in-1", "opened") == derived_id("in-1", "opened")
    assert len({derived_id("in-1", "opened"), derived_id("in-1", "queued"), derived_id("in-2", "opened")}) == 3
