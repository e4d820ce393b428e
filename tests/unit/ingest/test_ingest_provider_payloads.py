"""Issue 16, ingest items 2, 3, 4, 5, 7, 8: the adapters on the providers' documented payloads."""
from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta

import pytest
from ingest_unit_helpers import CTX, as_json, form
from provider_payloads import (
    MIME_REPLY_TEXT,
    PDF_SIZE,
    mime_html_only,
    mime_reply,
    multipart,
    twilio_whatsapp_location,
    vk_group_chat_message,
)
from switchboard.events.v1 import orders_pb2
from switchboard.ingest.adapters.providers import registry
from switchboard.ingest.adapters.providers.base import normalize_checked
from switchboard.ingest.adapters.providers.cloudevents import handshake_headers
from switchboard.ingest.domain import ecdsa_p256
from switchboard.ingest.domain.contacts import email_address
from switchboard.ingest.domain.errors import (
    BadRequest,
    IngestError,
    InvalidField,
    NotFound,
    SignatureMismatch,
    Unauthenticated,
    UnsupportedMediaType,
)
from switchboard.ingest.domain.model import WebhookRequest

P = registry.PROVIDERS


def only(outcome):
    assert len(outcome.events) == 1
    return outcome.events[0]


def multipart_request(fields, files=(), query=(), headers=None, boundary=None) -> WebhookRequest:
    body, content_type = multipart(fields, files, boundary)
    return WebhookRequest("POST", "https://in.example/hook", {"content-type": content_type, **(headers or {})},
                          tuple(query), body, "multipart/form-data", content_type)


# ---- item 2: VK group chats ------------------------------------------------------------------------

def test_vk_two_group_chats_with_the_same_cmid_are_two_messages():
    first = only(P["vk"].normalize(as_json(vk_group_chat_message(peer_id=2000000001, cmid=15, text="a")), CTX))
    second = only(P["vk"].normalize(as_json(vk_group_chat_message(peer_id=2000000002, cmid=15, text="b")), CTX))
    assert first.dedupe_id == "vk:192837465:2000000001:c15"
    assert second.dedupe_id == "vk:192837465:2000000002:c15"
    assert {first.payload.message_received.provider_message_id, second.payload.message_received.provider_message_id} \
        == {"192837465:2000000001:c15", "192837465:2000000002:c15"}
    # VK's retry of the same chat message (a new event_id) is still the same message.
    again = only(P["vk"].normalize(as_json(vk_group_chat_message(peer_id=2000000001, cmid=15, text="a")), CTX))
    assert again.dedupe_id == first.dedupe_id


def test_vk_dialog_message_keeps_its_id_and_a_chat_message_needs_a_cmid():
    dialog = only(P["vk"].normalize(as_json(P["vk"].example), CTX))
    assert dialog.dedupe_id == "vk:192837465:4512"  # unchanged: ids stored before the fix still dedupe
    payload = vk_group_chat_message(peer_id=2000000001, cmid=15, text="a")
    del payload["object"]["message"]["conversation_message_id"]
    with pytest.raises(InvalidField) as exc:
        P["vk"].normalize(as_json(payload), CTX)
    assert exc.value.field == "object.message.conversation_message_id"


# ---- item 3: raw MIME email ------------------------------------------------------------------------

def mailgun_mime_fields(raw: bytes) -> list:
    # Mailgun route forward("https://.../mime"): the parsed summary fields plus the whole message.
    return [("recipient", "support@brand.example"), ("sender", "joerg@example.de"),
            ("from", "=?ISO-8859-1?Q?J=F6rg_M=FCller?= <Joerg@Example.de>"),
            ("subject", "Re: Bestellung #1001 – Rücksendung"), ("body-mime", raw),
            ("timestamp", "1767603600"), ("token", "t" * 50), ("signature", "s")]


def test_mailgun_body_mime_keeps_text_attachments_threading_and_display_name():
    raw = mime_reply("CAF=reply-7@mail.example.de", "reply-1@brand.example")
    event = only(P["mailgun"].normalize(multipart_request(mailgun_mime_fields(raw)), CTX))
    received = event.payload.message_received
    assert received.text.strip() == MIME_REPLY_TEXT  # from the text/plain part, Latin-1 quoted-printable
    assert received.display_name == "Jörg Müller" and received.sender.value == "joerg@example.de"
    assert received.email.message_id == "<CAF=reply-7@mail.example.de>"
    assert received.email.in_reply_to == "<reply-1@brand.example>"
    assert list(received.email.references) == ["<order-1001@brand.example>", "<reply-1@brand.example>"]
    assert received.email.subject == "Re: Bestellung #1001 – Rücksendung"
    [pdf] = received.attachments
    assert (pdf.filename, pdf.content_type, pdf.size_bytes) == ("facture_n°884.pdf", "application/pdf", PDF_SIZE)
    assert received.sent_at.ToJsonString() == "2026-01-05T08:00:00Z"
    assert event.dedupe_id == "mailgun:<CAF=reply-7@mail.example.de>"


def test_mailgun_body_mime_alone_reads_sender_and_subject_from_the_message():
    raw = mime_reply("m-2@mail.example.de", "reply-1@brand.example")
    fields = [f for f in mailgun_mime_fields(raw) if f[0] not in ("from", "sender", "subject")]
    received = only(P["mailgun"].normalize(multipart_request(fields), CTX)).payload.message_received
    assert received.sender.value == "joerg@example.de" and received.display_name == "Jörg Müller"
    assert received.email.subject == "Re: Bestellung #1001 – Rücksendung"


def sendgrid_raw_fields(raw: bytes) -> list:
    # Inbound Parse with "POST the raw, full MIME message": `email` instead of headers/text/html/attachments.
    return [("dkim", "{@example.ru : pass}"), ("email", raw), ("to", "support@brand.example"),
            ("from", "=?UTF-8?B?0JjQstCw0L0g0J/QtdGC0YDQvtCy?= <ivan@example.ru>"),
            ("sender_ip", "209.85.214.45"), ("spam_report", ""),
            ("envelope", '{"to":["support@brand.example"],"from":"ivan@example.ru"}'),
            ("subject", "Заказ 1001"), ("spam_score", "0.1"),
            ("charsets", '{"to":"UTF-8","from":"UTF-8","subject":"UTF-8"}'), ("SPF", "pass")]


def test_sendgrid_raw_html_only_email_keeps_text_and_message_id():
    raw = mime_html_only("CAH=ivan-1@mail.example.ru", "reply-9@brand.example", "Где мой заказ?<br>Спасибо")
    event = only(P["sendgrid"].normalize(multipart_request(sendgrid_raw_fields(raw)), CTX))
    received = event.payload.message_received
    assert received.text == "Где мой заказ?\nСпасибо\n\n— Иван"  # HTML to text; <style> dropped
    assert received.email.message_id == "<CAH=ivan-1@mail.example.ru>"
    assert received.email.in_reply_to == "<reply-9@brand.example>"
    assert received.display_name == "Иван Петров" and received.email.subject == "Заказ 1001"
    assert event.dedupe_id == "sendgrid:<CAH=ivan-1@mail.example.ru>"
    # The same message re-posted with a changed body (another spam score, another boundary) is the same event.
    other = sendgrid_raw_fields(raw)
    other[8] = ("spam_score", "2.5")
    assert only(P["sendgrid"].normalize(multipart_request(other), CTX)).dedupe_id == event.dedupe_id


def test_raw_email_with_8bit_latin1_body_is_decoded_by_its_charset():
    raw = (b"From: anna@example.de\r\nTo: support@brand.example\r\nSubject: Frage\r\nMessage-ID: <8bit@x.de>\r\n"
           b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=iso-8859-1\r\n"
           b"Content-Transfer-Encoding: 8bit\r\n\r\nGr\xfc\xdfe aus K\xf6ln\r\n")
    received = only(P["sendgrid"].normalize(multipart_request(sendgrid_raw_fields(raw)), CTX)).payload
    assert received.message_received.text.strip() == "Grüße aus Köln"


def test_parsed_mode_html_only_falls_back_to_html_text():
    fields = [("headers", "Message-ID: <h@x.ru>\nFrom: ivan@example.ru\n"), ("from", "ivan@example.ru"),
              ("to", "support@brand.example"), ("subject", "Q"),
              ("html", "<p>Hello&nbsp;there</p><p>Second &amp; last</p>")]
    received = only(P["sendgrid"].normalize(multipart_request(fields), CTX)).payload.message_received
    assert received.text == "Hello there\n\nSecond & last"


def test_raw_email_without_message_id_dedupes_on_the_message_not_the_request():
    raw = (b"From: anna@example.de\r\nTo: support@brand.example\r\nSubject: Frage\r\n"
           b"Content-Type: text/plain; charset=utf-8\r\n\r\nWo ist meine Bestellung?\r\n")
    first = only(P["sendgrid"].normalize(multipart_request(sendgrid_raw_fields(raw), boundary="one"), CTX))
    retry = only(P["sendgrid"].normalize(multipart_request(sendgrid_raw_fields(raw), boundary="two"), CTX))
    assert first.dedupe_id == retry.dedupe_id and first.dedupe_id.startswith("sendgrid:<sha256-")


def test_mangled_raw_emails_are_parsed_or_refused_never_a_crash():
    import random
    rng = random.Random(16)
    seeds = [mime_reply("a@b", "c@d"), mime_html_only("a@b", "c@d", "x")]
    junk = [b"\r\n", b"=?", b"?=", b"boundary=", b"--", b"\x00", b"charset=x-unknown", b"=?utf-8?b?@@?=", b"\xff\xfe",
            b"Content-Transfer-Encoding: base64\r\n"]
    outcomes = set()
    for _ in range(400):
        raw = bytearray(rng.choice(seeds))
        for _ in range(rng.randint(1, 12)):
            at = rng.randrange(len(raw))
            if rng.random() < 0.5:
                raw[at] = rng.randrange(256)
            else:
                raw[at:at] = rng.choice(junk)
        try:
            normalize_checked(P["sendgrid"], multipart_request(sendgrid_raw_fields(bytes(raw))), CTX)
            outcomes.add(200)
        except IngestError as exc:
            outcomes.add(exc.status)
    assert outcomes <= {200, 400, 422} and 200 in outcomes


@pytest.mark.parametrize("raw", [b"", b"   \r\n"])
def test_empty_raw_email_is_a_400_naming_the_field(raw):
    with pytest.raises(BadRequest) as exc:
        P["sendgrid"].normalize(multipart_request(sendgrid_raw_fields(raw)), CTX)
    assert exc.value.field == "email"


# ---- item 4: non-ASCII attachment names, RFC 2047 display names ------------------------------------

def test_raw_utf8_attachment_filename_in_a_multipart_body_is_kept():
    fields = [("from", "Anna <anna@example.de>"), ("recipient", "support@brand.example"), ("subject", "Rechnung"),
              ("body-plain", "Anbei"), ("Message-Id", "<f1@example.de>")]
    request = multipart_request(fields, files=[("attachment-1", "facture_n°884.pdf", "application/pdf", b"%PDF-1.4"),
                                               ("attachment-2", "发票.png", "image/png", b"\x89PNG")])
    received = only(P["mailgun"].normalize(request, CTX)).payload.message_received
    assert [a.filename for a in received.attachments] == ["facture_n°884.pdf", "发票.png"]
    assert [a.size_bytes for a in received.attachments] == [8, 4]


@pytest.mark.parametrize("raw, name", [
    ("=?ISO-8859-1?Q?J=F6rg?= <jorg@example.de>", "Jörg"),
    ('"=?UTF-8?B?0JjQstCw0L0=?=" <ivan@example.ru>', "Иван"),
    ("=?utf-8?q?Zo=C3=AB_?= =?utf-8?q?Smith?= <zoe@example.com>", "Zoë Smith"),
    ("=?unknown-8?Q?x?= <x@example.com>", "=?unknown-8?Q?x?="),  # undecodable: kept, never a 5xx
    ("Plain Name <p@example.com>", "Plain Name"),
])
def test_every_email_address_reader_decodes_rfc2047_display_names(raw, name):
    assert email_address(raw, "from")[1] == name


def test_sendgrid_parsed_from_field_with_encoded_name():
    fields = [("headers", "Message-ID: <j@x.de>\n"), ("from", "=?ISO-8859-1?Q?J=F6rg?= <jorg@example.de>"),
              ("to", "support@brand.example"), ("subject", "Q"), ("text", "hi")]
    assert only(P["sendgrid"].normalize(multipart_request(fields), CTX)).payload.message_received.display_name \
        == "Jörg"


# ---- item 5: Twilio WhatsApp location --------------------------------------------------------------

def test_twilio_whatsapp_location_is_the_same_text_as_meta_whatsapp():
    received = only(P["twilio"].normalize(form(twilio_whatsapp_location("SMloc1")), CTX)).payload.message_received
    assert received.text == "Packstation 123, Alexanderplatz 1, 10178 Berlin (52.520008, 13.404954)"
    meta = json.loads(json.dumps(P["meta_whatsapp"].example))
    meta["entry"][0]["changes"][0]["value"]["messages"] = [{
        "from": "16505551234", "id": "wamid.LOC", "timestamp": "1767603600", "type": "location",
        "location": {"latitude": 52.520008, "longitude": 13.404954, "name": "Packstation 123",
                     "address": "Alexanderplatz 1, 10178 Berlin"}}]
    assert only(P["meta_whatsapp"].normalize(as_json(meta), CTX)).payload.message_received.text == received.text


def test_twilio_location_pin_without_a_name_is_its_coordinates():
    params = {k: v for k, v in twilio_whatsapp_location("SMloc2").items() if k not in ("Address", "Label")}
    assert only(P["twilio"].normalize(form(params), CTX)).payload.message_received.text == "52.520008, 13.404954"


# ---- item 7: CloudEvents ---------------------------------------------------------------------------

CE_DATA = {"order_id": "1001", "customer": {"email": "anna@example.de"}}


def binary_request(headers: dict, body: bytes = json.dumps(CE_DATA).encode(), content_type="application/json",
                   query=()) -> WebhookRequest:
    base = {"ce-specversion": "1.0", "ce-id": "evt-1", "ce-source": "//oms.brand.example/orders",
            "ce-type": "com.shop.order.created", "authorization": "Bearer ce"}
    return as_json(body, headers={**base, **headers}, content_type=content_type, query=query)


def test_binary_mode_header_values_are_percent_decoded():
    request = binary_request({"ce-source": "//oms.brand.example/orders%20eu", "ce-id": "evt%2F%C3%A91",
                              "ce-subject": "B%C3%A4r%201001", "ce-time": "2026-01-05T09%3A00%3A00Z"},
                             body=json.dumps({"customer": {"email": "anna@example.de"}}).encode())
    event = only(P["cloudevents"].normalize(request, CTX))
    assert event.payload.order_id == "Bär 1001"  # from ce-subject
    assert event.dedupe_id == "cloudevents://oms.brand.example/orders eu:evt/é1"
    assert event.payload.occurred_at.ToJsonString() == "2026-01-05T09:00:00Z"


def test_binary_mode_header_that_is_not_percent_encoded_utf8_is_a_400():
    with pytest.raises(BadRequest) as exc:
        P["cloudevents"].normalize(binary_request({"ce-subject": "bad%C3%28"}), CTX)
    assert exc.value.field == "ce-subject"


def test_access_token_query_parameter_authenticates_like_a_bearer_header():
    request = binary_request({"authorization": ""}, query=[("access_token", "ce")])
    request = replace(request, headers={k: v for k, v in request.headers.items() if k != "authorization"})
    P["cloudevents"].verify(request, CTX)
    with pytest.raises(SignatureMismatch):
        P["cloudevents"].verify(replace(request, query=(("access_token", "nope"),)), CTX)
    with pytest.raises(Unauthenticated):
        P["cloudevents"].verify(replace(request, query=()), CTX)


@pytest.mark.parametrize("ce_type, kind", [
    ("com.shop.order.created.v1", orders_pb2.ORDER_EVENT_KIND_CREATED),
    ("com.shop.orders.shipped.v2", orders_pb2.ORDER_EVENT_KIND_SHIPPED),
    ("order.refunded.v1.1", orders_pb2.ORDER_EVENT_KIND_REFUNDED)])
def test_type_with_a_trailing_version_segment_is_accepted(ce_type, kind):
    assert only(P["cloudevents"].normalize(binary_request({"ce-type": ce_type}), CTX)).payload.kind == kind


def test_non_json_data_is_a_415_naming_the_supported_types():
    xml = b"<order><id>1001</id></order>"
    with pytest.raises(UnsupportedMediaType) as exc:
        P["cloudevents"].normalize(binary_request({}, body=xml, content_type="application/xml"), CTX)
    assert exc.value.status == 415 and "application/json" in exc.value.message
    structured = {"specversion": "1.0", "id": "e", "source": "//s", "type": "order.created",
                  "datacontenttype": "text/plain", "data": "order 1001 created"}
    with pytest.raises(UnsupportedMediaType):
        P["cloudevents"].normalize(as_json(structured, content_type="application/cloudevents+json"), CTX)
    with pytest.raises(UnsupportedMediaType) as exc:
        P["cloudevents"].normalize(as_json([structured], content_type="application/cloudevents-batch+json"), CTX)
    assert exc.value.field == "[0].datacontenttype"
    # No ce-* headers and a non-JSON body: also 415, not a 400 about the missing headers.
    with pytest.raises(UnsupportedMediaType):
        P["cloudevents"].normalize(as_json(xml, content_type="text/xml"), CTX)


def handshake_request(headers: dict) -> WebhookRequest:
    return WebhookRequest("OPTIONS", "https://in.example/v1/brands/acme/events", headers, (), b"")


def test_webhook_handshake_answers_allowed_origins_only():
    ctx = replace(CTX, secrets={**CTX.secrets, "cloudevents_allowed_origins": ["oms.brand.example"]})
    assert handshake_headers(handshake_request({"webhook-request-origin": "OMS.brand.example",
                                                "webhook-request-rate": "120"}), ctx) == {
        "WebHook-Allowed-Origin": "OMS.brand.example", "WebHook-Allowed-Rate": "120", "Allow": "POST, OPTIONS"}
    assert "WebHook-Allowed-Rate" not in handshake_headers(
        handshake_request({"webhook-request-origin": "oms.brand.example"}), ctx)
    with pytest.raises(SignatureMismatch):
        handshake_headers(handshake_request({"webhook-request-origin": "evil.example"}), ctx)
    with pytest.raises(SignatureMismatch):  # no allowed origins configured: nobody is granted
        handshake_headers(handshake_request({"webhook-request-origin": "oms.brand.example"}), CTX)
    with pytest.raises(BadRequest):
        handshake_headers(handshake_request({}), ctx)
    with pytest.raises(BadRequest):
        handshake_headers(handshake_request({"webhook-request-origin": "oms.brand.example",
                                             "webhook-request-rate": "fast"}), ctx)
    anyone = replace(CTX, secrets={**CTX.secrets, "cloudevents_allowed_origins": "*"})
    assert handshake_headers(handshake_request({"webhook-request-origin": "x.example"}), anyone)[
        "WebHook-Allowed-Origin"] == "x.example"
    with pytest.raises(NotFound):
        handshake_headers(handshake_request({"webhook-request-origin": "x.example"}), replace(CTX, secrets={}))


# ---- item 8: SendGrid Inbound Parse security policy signature --------------------------------------

# Generated once with OpenSSL (`openssl ecparam -name prime256v1 -genkey`, `openssl dgst -sha256 -sign`):
# an independent signer. Signed payload = timestamp + raw body, as SendGrid documents.
SG_PUBLIC_KEY = ("MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEmPP8y2O4qPFli0wbN4QU9d8fE4KbU9VyOJmJ39CIX7QJN2+8kmmIaAGZ2Nq2MmRP"
                 "l7t2MMXXvlO+f6ZLssUYZQ==")
SG_TIMESTAMP = "1767603600"  # = CTX.now
SG_BODY = b'--xYzZY\r\nContent-Disposition: form-data; name="from"\r\n\r\nAnna <anna@example.de>\r\n--xYzZY--\r\n'
SG_SIGNATURE = "MEQCIC8WYIdY/g3/WzGCoZg1upTXpr8aU382yqUq7irA1h68AiAaQqrEJmP/YImggWRpvhTl2qcKDO/qMj2xL1/3aby2AQ=="


def signed_sendgrid(body: bytes = SG_BODY, signature: str | None = SG_SIGNATURE, timestamp: str | None = SG_TIMESTAMP,
                    query=()) -> WebhookRequest:
    headers = {"content-type": "multipart/form-data; boundary=xYzZY"}
    if signature is not None:
        headers["x-twilio-email-event-webhook-signature"] = signature
    if timestamp is not None:
        headers["x-twilio-email-event-webhook-timestamp"] = timestamp
    return WebhookRequest("POST", "https://in.example/hook", headers, tuple(query), body, "multipart/form-data",
                          headers["content-type"])


SIGNED_ONLY = replace(CTX, secrets={"sendgrid_verification_key": SG_PUBLIC_KEY})


def test_sendgrid_signed_request_is_accepted_with_only_the_public_key_configured():
    P["sendgrid"].verify(signed_sendgrid(), SIGNED_ONLY)
    assert ecdsa_p256.verify(SG_TIMESTAMP.encode() + SG_BODY, SG_SIGNATURE, ecdsa_p256.public_key(SG_PUBLIC_KEY))


@pytest.mark.parametrize("request_, error", [
    (signed_sendgrid(body=SG_BODY.replace(b"Anna", b"Mallory")), SignatureMismatch),
    (signed_sendgrid(timestamp="1767603601"), SignatureMismatch),
    (signed_sendgrid(signature="MEQCIC8WYIdY"), SignatureMismatch),
    (signed_sendgrid(signature=None), Unauthenticated),
    (signed_sendgrid(timestamp=None), Unauthenticated),
])
def test_sendgrid_tampered_or_unsigned_request_is_rejected(request_, error):
    with pytest.raises(error):
        P["sendgrid"].verify(request_, SIGNED_ONLY)


def test_sendgrid_signature_older_than_sendgrids_retry_period_is_rejected():
    P["sendgrid"].verify(signed_sendgrid(), replace(SIGNED_ONLY, now=CTX.now + timedelta(days=2, hours=23)))
    with pytest.raises(SignatureMismatch) as exc:
        P["sendgrid"].verify(signed_sendgrid(), replace(SIGNED_ONLY, now=CTX.now + timedelta(days=3, seconds=1)))
    assert exc.value.field == "X-Twilio-Email-Event-Webhook-Timestamp"


def test_sendgrid_with_key_and_token_configured_needs_both():
    both = replace(CTX, secrets={"sendgrid_verification_key": SG_PUBLIC_KEY, "sendgrid_webhook_secret": "sg"})
    P["sendgrid"].verify(signed_sendgrid(query=[("token", "sg")]), both)
    with pytest.raises(Unauthenticated):
        P["sendgrid"].verify(signed_sendgrid(), both)
    with pytest.raises(NotFound):
        P["sendgrid"].verify(signed_sendgrid(), replace(CTX, secrets={}))
    with pytest.raises(SignatureMismatch):  # a key that is not a P-256 key is reported as such
        P["sendgrid"].verify(signed_sendgrid(), replace(CTX, secrets={"sendgrid_verification_key": "AAAA"}))


# ---- docs/ingest.md "Errors": which unreadable body is a 400 and which a 422 ------------------------

@pytest.mark.parametrize("name, request_, status, field", [
    ("meta_whatsapp", as_json(b"{not json"), 422, "body"),
    ("vk", as_json(b"[1, 2]"), 422, "body"),
    ("telegram", as_json(b"{not json"), 422, "body"),
    ("shopify", as_json(b"{not json", headers={"x-shopify-topic": "orders/create"}), 422, "body"),
    ("cloudevents", as_json(b"{not json", content_type="application/cloudevents+json"), 400, "body"),
    ("cloudevents", as_json(b"{not json", headers={"ce-specversion": "1.0"}), 400, "data"),
    ("twilio", WebhookRequest("POST", "https://x/", {}, (), b"Body=\xff", "application/x-www-form-urlencoded",
                              "application/x-www-form-urlencoded"), 400, "body"),
    ("mailgun", WebhookRequest("POST", "https://x/", {}, (), b"x", "multipart/form-data", "multipart/form-data"),
     400, "Content-Type"),
    ("sendgrid", as_json(b"{}"), 400, "Content-Type"),
])
def test_unreadable_bodies_get_the_documented_status(name, request_, status, field):
    with pytest.raises(IngestError) as exc:
        normalize_checked(P[name], request_, CTX)
    assert (exc.value.status, exc.value.field) == (status, field)
