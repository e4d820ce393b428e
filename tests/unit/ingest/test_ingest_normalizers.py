"""Each adapter's normalizer on the provider's documented example shape."""
from __future__ import annotations

import json

import pytest
from ingest_unit_helpers import CTX, NOW, as_json, form
from switchboard.events.v1 import common_pb2, inbound_pb2, orders_pb2
from switchboard.ingest.adapters.providers import registry
from switchboard.ingest.adapters.providers.cloudevents import EXAMPLE as CE_EXAMPLE
from switchboard.ingest.domain import email as email_domain
from switchboard.ingest.domain.errors import InvalidField, NotFound, SignatureMismatch
from switchboard.ingest.domain.forms import parse_multipart

P = registry.PROVIDERS


def only(outcome):
    assert len(outcome.events) == 1
    return outcome.events[0]


def test_twilio_inbound_sms_with_media():
    event = only(P["twilio"].normalize(form({
        "MessageSid": "SM1", "From": "+4915112345678", "To": "+4930901820", "Body": "Hallo 👋", "NumMedia": "1",
        "MediaUrl0": "https://api.twilio.com/x/Media/ME9", "MediaContentType0": "image/png"}), CTX))
    received = event.payload.message_received
    assert received.channel == common_pb2.CHANNEL_SMS and received.text == "Hallo 👋"
    assert received.sender.kind == common_pb2.HANDLE_KIND_PHONE and received.sender.value == "+4915112345678"
    assert received.attachments[0].url.endswith("/ME9") and received.attachments[0].provider_media_id == "ME9"
    assert event.key == "acme/+4915112345678" and event.dedupe_id == "twilio:SM1"


def test_twilio_whatsapp_uses_wa_id_and_profile_name():
    received = only(P["twilio"].normalize(form({
        "MessageSid": "SM2", "From": "whatsapp:+8613800138000", "To": "whatsapp:+14155238886", "Body": "你好",
        "ProfileName": "王小明", "WaId": "8613800138000"}), CTX)).payload.message_received
    assert received.channel == common_pb2.CHANNEL_WHATSAPP
    assert received.sender.kind == common_pb2.HANDLE_KIND_WHATSAPP_ID and received.sender.value == "8613800138000"
    assert received.display_name == "王小明"


def test_twilio_status_callback_is_a_delivery_report_per_state():
    event = only(P["twilio"].normalize(form({"MessageSid": "SM3", "MessageStatus": "undelivered",
                                             "To": "+4915112345678", "From": "+4930901820", "ErrorCode": "30003"}),
                                       CTX))
    report = event.payload.delivery_status_reported
    assert report.state == inbound_pb2.DELIVERY_STATE_FAILED and report.error_code == "30003"
    assert event.dedupe_id == "twilio:SM3:undelivered"


def test_twilio_voice_status():
    event = only(P["twilio_voice"].normalize(form({
        "CallSid": "CA1", "CallStatus": "no-answer", "From": "+4915112345678", "To": "+4930901820",
        "Direction": "inbound", "Timestamp": "Mon, 05 Jan 2026 09:00:12 +0000", "SequenceNumber": "3"}), CTX))
    call = event.payload.call_status_reported
    assert call.state == inbound_pb2.CALL_STATE_NO_ANSWER and call.sequence_number == 3
    assert call.occurred_at.ToJsonString() == "2026-01-05T09:00:12Z"


def test_whatsapp_cloud_documented_example():
    event = only(P["meta_whatsapp"].normalize(as_json(P["meta_whatsapp"].example), CTX))
    received = event.payload.message_received
    assert received.sender.value == "16505551234" and received.display_name == "Sheena Nelson"
    assert received.text == "Does it ship to Berlin?" and received.sent_at.seconds == 1749416383
    assert received.recipient_address.value == "15550783881"


def test_whatsapp_image_and_interactive_reply():
    base = json.loads(json.dumps(P["meta_whatsapp"].example))
    value = base["entry"][0]["changes"][0]["value"]
    value["messages"] = [
        {"from": "1", "id": "wamid.A", "timestamp": "1767603600", "type": "image",
         "image": {"id": "MEDIA1", "mime_type": "image/jpeg", "sha256": "x", "caption": "broken 破损"}},
        {"from": "1", "id": "wamid.B", "timestamp": "1767603601", "type": "interactive",
         "interactive": {"type": "button_reply", "button_reply": {"id": "talk_to_human", "title": "Human"}}}]
    image, button = P["meta_whatsapp"].normalize(as_json(base), CTX).events
    assert image.payload.message_received.attachments[0].provider_media_id == "MEDIA1"
    assert image.payload.message_received.text == "broken 破损"
    assert button.payload.message_received.postback_payload == "talk_to_human"


def test_messenger_message_echo_postback_and_receipts():
    entry = {"id": "PAGE", "time": 1, "messaging": [
        {"sender": {"id": "PAGE"}, "recipient": {"id": "USER"}, "timestamp": 1767603600000,
         "message": {"mid": "m_echo", "is_echo": True, "app_id": 1, "text": "Thanks!"}},
        {"sender": {"id": "USER"}, "recipient": {"id": "PAGE"}, "timestamp": 1767603600000,
         "postback": {"mid": "m_pb", "title": "Talk to a human", "payload": "HUMAN"}},
        {"sender": {"id": "USER"}, "recipient": {"id": "PAGE"}, "timestamp": 1767603600000,
         "delivery": {"mids": ["m_echo"], "watermark": 1767603600000}},
        {"sender": {"id": "USER"}, "recipient": {"id": "PAGE"}, "timestamp": 1767603600000,
         "read": {"watermark": 1767603600000}},
        {"sender": {"id": "USER"}, "recipient": {"id": "PAGE"}, "timestamp": 1767603600000,
         "reaction": {"reaction": "love", "mid": "m_echo"}}]}
    # delivery = the listed mid + its watermark; receipts and reactions: test_ingest_meta_signals.py
    echo, postback, delivered, _delivered_watermark, read, reaction = P["meta_messenger"].normalize(
        as_json({"object": "page", "entry": [entry]}), CTX).events
    assert echo.payload.message_received.is_echo and echo.payload.message_received.sender.value == "USER"
    assert postback.payload.message_received.postback_payload == "HUMAN"
    assert delivered.payload.delivery_status_reported.provider_message_id == "m_echo"
    assert read.payload.delivery_status_reported.state == inbound_pb2.DELIVERY_STATE_READ
    assert {e.key for e in (echo, postback, delivered, read, reaction)} == {"acme/USER"}


def test_meta_handshake():
    ok = as_json(b"", query=[("hub.mode", "subscribe"), ("hub.verify_token", "v"), ("hub.challenge", "42")])
    assert P["meta_whatsapp"].handshake(ok, CTX).reply == "42"
    with pytest.raises(SignatureMismatch):
        P["meta_messenger"].handshake(as_json(b"", query=[("hub.mode", "subscribe"),
                                                          ("hub.verify_token", "x")]), CTX)


def test_provider_not_configured_for_brand_is_not_found():
    from dataclasses import replace
    with pytest.raises(NotFound):
        P["telegram"].verify(as_json({}), replace(CTX, secrets={}))


def test_vk_confirmation_and_message():
    confirmation = P["vk"].normalize(as_json({"type": "confirmation", "group_id": 1}), CTX)
    assert confirmation.reply == "code" and not confirmation.events
    event = only(P["vk"].normalize(as_json(P["vk"].example), CTX))
    assert event.payload.message_received.sender.value == "246813579"
    assert event.payload.message_received.text.startswith("Здравствуйте")
    assert P["vk"].normalize(as_json({"type": "message_typing_state", "object": {}}), CTX).reply == "ok"


def test_telegram_message_and_callback():
    event = only(P["telegram"].normalize(as_json(P["telegram"].example), CTX))
    received = event.payload.message_received
    assert received.sender.value == "1111111" and received.language_hint == "zh-hans"
    assert received.display_name == "李 雷" and event.dedupe_id == "telegram:1111111:1365"
    callback = only(P["telegram"].normalize(as_json({"update_id": 5, "callback_query": {
        "id": "1", "from": {"id": 7}, "message": {"message_id": 3, "chat": {"id": 7}, "date": 1}, "data": "human"}}),
        CTX))
    assert callback.payload.message_received.postback_payload == "human"


def test_shopify_orders_create():
    request = as_json(P["shopify"].example, headers={"x-shopify-topic": "orders/create",
                                                     "x-shopify-webhook-id": "wh-1"})
    event = only(P["shopify"].normalize(request, CTX))
    order = event.payload
    assert order.kind == orders_pb2.ORDER_EVENT_KIND_CREATED and order.order_id == "820982911946154508"
    assert order.total_minor_units == 40300 and order.currency == "USD" and order.order_number == "#1001"
    assert [h.value for h in order.customer_handles] == ["jon@example.com", "+16135551111"]
    assert event.key == "acme/820982911946154508" and event.dedupe_id == "shopify:wh-1"


def test_cloudevents_structured_example():
    event = only(P["cloudevents"].normalize(as_json(CE_EXAMPLE, content_type="application/cloudevents+json"), CTX))
    order = event.payload
    assert order.kind == orders_pb2.ORDER_EVENT_KIND_SHIPPED and order.tracking_number == "00340434161234567890"
    assert order.estimated_delivery.ToJsonString() == "2026-01-08T18:00:00Z" and order.total_minor_units == 5990


def test_email_auto_reply_detection():
    h = email_domain.Headers
    assert email_domain.is_auto_reply(h([("Auto-Submitted", "auto-replied")]), "Re: order")
    assert email_domain.is_auto_reply(h([("X-Autoreply", "yes")]), "")
    assert email_domain.is_auto_reply(h([]), "Automatic reply: Your order")
    assert email_domain.is_auto_reply(h([]), "自动回复: 订单")
    assert email_domain.is_auto_reply(h([]), "Автоответ: заказ")
    assert not email_domain.is_auto_reply(h([("Auto-Submitted", "no")]), "Where is my order? out of office")


def test_sendgrid_charsets_are_honoured():
    body = (b'--b\r\nContent-Disposition: form-data; name="charsets"\r\n\r\n{"text":"koi8-r"}\r\n'
            b'--b\r\nContent-Disposition: form-data; name="text"\r\n\r\n' + "привет".encode("koi8-r")
            + b"\r\n--b--\r\n")
    assert parse_multipart(body, "multipart/form-data; boundary=b").get("text") == "привет"


def test_malformed_inputs_name_the_field():
    with pytest.raises(InvalidField) as exc:
        P["twilio"].normalize(form({"MessageSid": "SM1", "From": "0151 123", "To": "+4930901820"}), CTX)
    assert exc.value.field == "From"
    with pytest.raises(InvalidField) as exc:
        P["meta_whatsapp"].normalize(as_json({"entry": [{"changes": [{"value": {"messages": [{"id": "x"}]}}]}]}), CTX)
    assert exc.value.field == "entry[0].changes[0].value.messages[0].from"
    assert NOW  # the context clock is the only time source


def test_hostile_numbers_and_unpaired_surrogates_are_4xx_not_crashes():
    from switchboard.ingest.adapters.providers.base import normalize_checked
    from switchboard.ingest.domain.errors import BadRequest
    update = {"update_id": 1, "message": {"message_id": 2, "date": 1767603600, "chat": {"id": 3},
                                          "document": {"file_id": "f", "file_size": 2**70}, "text": "ok"}}
    event = only(normalize_checked(P["telegram"], as_json(update), CTX))
    assert event.payload.message_received.attachments[0].size_bytes == 0
    surrogate = as_json(b'{"update_id": 1, "message": {"message_id": 2, "date": 1, "chat": {"id": 3}, '
                        b'"text": "\\ud800"}}')
    with pytest.raises(BadRequest):
        normalize_checked(P["telegram"], surrogate, CTX)


@pytest.mark.parametrize("name, fields", [
    ("mailgun", {"from": "a@b.co", "message-headers": '[[1, {}], ["Message-Id"], "x", ["Date", 5]]'}),
    ("sendgrid", {"from": "a@b.co", "charsets": '["utf-8"]', "text": "hi"}),
    ("sendgrid", {"from": "a@b.co", "charsets": '{"text": 5}', "text": "hi"}),
])
def test_hostile_json_inside_form_fields_is_a_4xx_or_ignored(name, fields):
    from switchboard.ingest.adapters.providers.base import normalize_checked
    from switchboard.ingest.domain.errors import IngestError
    body = b"".join(b'--b\r\nContent-Disposition: form-data; name="' + k.encode() + b'"\r\n\r\n' + v.encode()
                    + b"\r\n" for k, v in fields.items()) + b"--b--\r\n"
    from switchboard.ingest.domain.model import WebhookRequest
    request = WebhookRequest("POST", "https://x/", {}, (), body, "multipart/form-data",
                             "multipart/form-data; boundary=b")
    try:
        outcome = normalize_checked(P[name], request, CTX)
    except IngestError as exc:
        assert exc.status in (400, 422)
    else:
        assert outcome.events[0].payload.message_received.sender.value == "a@b.co"
