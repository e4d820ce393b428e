"""The notifier's codec: the wire's enums and timestamps become names and aware datetimes, and back."""
from datetime import UTC, datetime

import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from switchboard.events.v1 import common_pb2, escalation_pb2, notification_pb2, sla_pb2
from switchboard.notifier.adapters import codec
from switchboard.notifier.domain.requests import Escalation, Handle, Notification

T = datetime(2026, 5, 1, 12, 0, 30, tzinfo=UTC)


def _ts(dt: datetime) -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(dt)
    return ts


def test_a_request_decodes_to_plain_names_and_aware_times_and_keeps_its_bytes():
    req = notification_pb2.NotificationRequested(
        brand_id="acme", intent_id="i-1", kind=notification_pb2.NOTIFICATION_KIND_CSAT_SURVEY,
        channel=common_pb2.CHANNEL_WEB_FORM, not_before=_ts(T), variables={"a": "1"},
        recipient=common_pb2.ContactHandle(kind=common_pb2.HANDLE_KIND_EMAIL, value="ana@example.com"),
        conversation=common_pb2.ConversationSnapshot(
            conversation_id="c-1", priority=common_pb2.PRIORITY_HIGH, order_ids=["A-1"],
            email_threading=common_pb2.EmailThreading(message_id="<m1>", references=["<m0>"], subject="Help")))
    decoded, kept = codec.decode_request(req)
    assert isinstance(decoded, Notification) and kept == req.SerializeToString()
    assert (decoded.kind, decoded.channel, decoded.recipient) == ("csat_survey", "web_form",
                                                                 Handle("email", "ana@example.com"))
    assert decoded.not_before == T and decoded.requested_at is None  # unset stays unset
    assert decoded.conversation.priority == "high" and decoded.conversation.channel == ""
    assert decoded.conversation.email_thread.references == ("<m0>",) and decoded.variables == {"a": "1"}
    assert codec.decode_stored(codec.NOTIFICATION_MESSAGE, kept) == decoded


def test_an_escalation_inside_a_notification_is_kept_as_the_escalation_itself():
    esc = escalation_pb2.EscalationRaised(brand_id="acme", escalation_id="e-1", level=2,
                                          reason=escalation_pb2.ESCALATION_REASON_SLA_BREACHED,
                                          metric=sla_pb2.SLA_METRIC_FIRST_RESPONSE, raised_at=_ts(T))
    req = notification_pb2.NotificationRequested(kind=notification_pb2.NOTIFICATION_KIND_ESCALATION, escalation=esc)
    decoded, kept = codec.decode_request(req)
    assert decoded.kind == "escalation" and kept == esc.SerializeToString()
    stored = codec.decode_stored(codec.ESCALATION_MESSAGE, kept)
    assert isinstance(stored, Escalation)
    assert (stored.reason, stored.metric, stored.raised_at, stored.deadline) == ("sla_breached", "first_response",
                                                                                 T, None)


def test_another_message_type_is_refused():
    with pytest.raises(codec.UnsupportedMessage, match="ContactHandle"):
        codec.decode_request(common_pb2.ContactHandle())


def test_a_final_entry_encodes_to_delivery_recorded():
    entry = {"brand_id": "acme", "intent_id": "i-1", "kind": codec.kind_value("transcript"), "conversation_id": "c-1",
             "destination": "smtp", "channel": codec.channel_value("email"), "state": "skipped", "attempts": 0,
             "detail": "x" * 600, "language": "de"}
    event = codec.encode_delivery(entry, T)
    assert event.kind == notification_pb2.NOTIFICATION_KIND_TRANSCRIPT and event.channel == common_pb2.CHANNEL_EMAIL
    assert event.outcome == notification_pb2.DELIVERY_OUTCOME_SKIPPED and len(event.detail) == 500
    assert event.recorded_at.ToDatetime(tzinfo=UTC) == T and event.language == "de"
