"""Issue 16 over real HTTP and the real broker: the CloudEvents Webhook handshake, percent-encoded
binary headers with ?access_token=, 415 for non-JSON data, a raw MIME email and a raw UTF-8
attachment name in a signed Mailgun multipart body."""
from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path

import ingest_requests as p
from ingest_requests import post, records
from switchboard.events.v1 import inbound_pb2, orders_pb2

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "unit" / "ingest"))
from provider_payloads import MIME_REPLY_TEXT, PDF_SIZE, mime_reply  # noqa: E402

B = f"/v1/brands/{p.BRAND}"


async def test_cloudevents_webhook_options_handshake(ingest):
    for path in (f"{B}/events", f"{B}/webhooks/cloudevents"):
        granted = await ingest.client.options(path, headers={"WebHook-Request-Origin": "oms.brand.example",
                                                             "WebHook-Request-Rate": "120"})
        assert granted.status_code == 200, granted.text
        assert granted.headers["WebHook-Allowed-Origin"] == "oms.brand.example"
        assert granted.headers["WebHook-Allowed-Rate"] == "120" and "POST" in granted.headers["Allow"]
    refused = await ingest.client.options(f"{B}/events", headers={"WebHook-Request-Origin": "evil.example"})
    assert refused.status_code == 403 and "WebHook-Allowed-Origin" not in refused.headers
    assert "cloudevents_allowed_origins" in refused.json()["message"]
    unknown = await ingest.client.options("/v1/brands/nobody/events",
                                          headers={"WebHook-Request-Origin": "oms.brand.example"})
    assert unknown.status_code == 404


async def test_binary_mode_percent_encoded_headers_and_access_token(ingest, kafka_bootstrap):
    ce_id = "evt-" + uuid.uuid4().hex
    response = await ingest.client.post(f"{B}/events", params={"access_token": p.S["cloudevents_token"]},
                                        content=json.dumps({"customer": {"email": "anna@example.de"}}).encode(),
                                        headers={"Content-Type": "application/json", "ce-specversion": "1.0",
                                                 "ce-id": ce_id, "ce-source": "//oms.brand.example/orders",
                                                 "ce-type": "com.shop.order.created.v1",
                                                 "ce-subject": "B%C3%A4r%201001", "Origin": "oms.brand.example"})
    assert response.status_code == 200, response.text
    [stored] = await records(kafka_bootstrap, ingest.names.orders, min_count=1)
    order = orders_pb2.OrderEvent.FromString(stored.value)
    assert order.order_id == "Bär 1001" and order.kind == orders_pb2.ORDER_EVENT_KIND_CREATED
    assert stored.key.decode() == f"{p.BRAND}/Bär 1001"


async def test_non_json_order_data_is_415_and_nothing_is_published(ingest, kafka_bootstrap):
    response = await ingest.client.post(f"{B}/events", content=b"<order><id>1001</id></order>", headers={
        "Authorization": f"Bearer {p.S['cloudevents_token']}", "Content-Type": "application/xml",
        "ce-specversion": "1.0", "ce-id": "x-1", "ce-source": "//oms", "ce-type": "com.shop.order.created"})
    assert response.status_code == 415, response.text
    assert response.json()["error"] == "unsupported_media_type" and "application/json" in response.json()["message"]
    assert await records(kafka_bootstrap, ingest.names.orders, timeout=0.5) == []


async def test_signed_mailgun_raw_mime_and_utf8_attachment_name_are_stored(ingest, kafka_bootstrap):
    message_id = f"{uuid.uuid4().hex}@mail.example.de"
    mime = p.mailgun({"recipient": "support@brand.example", "body-mime": "PLACEHOLDER"})
    # body-mime is ASCII here (quoted-printable / base64 inside): swapping it in keeps the signature valid,
    # which covers timestamp and token only.
    mime.body = mime.body.replace(b"PLACEHOLDER", mime_reply(message_id, "reply-1@brand.example"))
    assert (await post(ingest, mime)).status_code == 200
    attachment = p.mailgun({"recipient": "support@brand.example", "from": "Anna <anna@example.de>",
                            "subject": "Rechnung", "body-plain": "Anbei die Rechnung",
                            "message-headers": json.dumps([["Message-Id", f"<{uuid.uuid4().hex}@x.de>"]])},
                           files=[("attachment-1", "facture_n°884.pdf", "application/pdf", b"%PDF-1.4")])
    assert (await post(ingest, attachment)).status_code == 200
    stored = await records(kafka_bootstrap, ingest.names.inbound, min_count=2)
    by_sender = {m.sender.value: m for m in (inbound_pb2.InboundEvent.FromString(r.value).message_received
                                             for r in stored)}  # two keys: two partitions, no order between them
    raw, named = by_sender["joerg@example.de"], by_sender["anna@example.de"]
    assert raw.text.strip() == MIME_REPLY_TEXT and raw.email.message_id == f"<{message_id}>"
    assert raw.display_name == "Jörg Müller" and raw.attachments[0].size_bytes == PDF_SIZE
    assert [a.filename for a in named.attachments] == ["facture_n°884.pdf"]
