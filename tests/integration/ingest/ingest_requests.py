"""Documented provider request shapes, signed the way each provider documents it.

The signers here are written out from the providers' documentation, independently of the
service's own signature code, so a wrong scheme in the service cannot hide behind a shared bug.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from dataclasses import dataclass, field
from urllib.parse import urlencode

from switchboard.common.testing.helpers import read_raw

BRAND = "acme"
SECRETS = {
    "brands": {
        BRAND: {
            "twilio_auth_token": "twilio-token-123", "meta_app_secret": "meta-secret-456",
            "meta_verify_token": "meta-verify-789", "mailgun_signing_key": "key-mailgun-abc",
            "sendgrid_webhook_secret": "sendgrid-secret-def", "vk_secret": "vk-secret-ghi",
            "vk_confirmation_code": "a1b2c3d4", "telegram_secret_token": "tg-secret-jkl",
            "shopify_webhook_secret": "shopify-secret-mno", "cloudevents_token": "ce-token-pqr",
            "cloudevents_allowed_origins": ["oms.brand.example"],
            "agent_api_keys": ["agent-key-1", "agent-key-2"],
        },
        "globex": {"twilio_auth_token": "other"},
    },
}
S = SECRETS["brands"][BRAND]


@dataclass
class Req:
    path: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    query: str = ""


def multipart(fields: list[tuple[str, str]], files: list[tuple[str, str, str, bytes]] = ()) -> tuple[bytes, str]:
    boundary = "----switchboard" + uuid.uuid4().hex
    out = []
    for name, value in fields:
        out.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n'
                   f'Content-Type: text/plain; charset=utf-8\r\n\r\n'.encode() + value.encode() + b"\r\n")
    for name, filename, ctype, data in files:
        out.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                   f"Content-Type: {ctype}\r\n\r\n".encode() + data + b"\r\n")
    out.append(f"--{boundary}--\r\n".encode())
    return b"".join(out), f"multipart/form-data; boundary={boundary}"


def twilio(base_url: str, provider: str, params: dict[str, str]) -> Req:
    path = f"/v1/brands/{BRAND}/webhooks/{provider}"
    # Twilio docs: full URL, then each POST parameter sorted alphabetically, name immediately followed by value.
    data = base_url + path + "".join(k + params[k] for k in sorted(params))
    sig = base64.b64encode(hmac.new(S["twilio_auth_token"].encode(), data.encode(), hashlib.sha1).digest()).decode()
    return Req(path, urlencode(params).encode(), {"Content-Type": "application/x-www-form-urlencoded",
                                                  "X-Twilio-Signature": sig})


def meta(provider: str, payload: dict) -> Req:
    body = json.dumps(payload, ensure_ascii=False).encode()
    sig = "sha256=" + hmac.new(S["meta_app_secret"].encode(), body, hashlib.sha256).hexdigest()
    return Req(f"/v1/brands/{BRAND}/webhooks/{provider}", body,
               {"Content-Type": "application/json", "X-Hub-Signature-256": sig})


def mailgun(fields: dict[str, str], files=()) -> Req:
    ts, token = str(int(time.time())), uuid.uuid4().hex + uuid.uuid4().hex[:18]
    sig = hmac.new(S["mailgun_signing_key"].encode(), (ts + token).encode(), hashlib.sha256).hexdigest()
    body, ctype = multipart([*fields.items(), ("timestamp", ts), ("token", token), ("signature", sig)], files)
    return Req(f"/v1/brands/{BRAND}/webhooks/mailgun", body, {"Content-Type": ctype})


def sendgrid(fields: dict[str, str], files=(), secret: str = S["sendgrid_webhook_secret"]) -> Req:
    body, ctype = multipart(list(fields.items()), files)
    return Req(f"/v1/brands/{BRAND}/webhooks/sendgrid", body, {"Content-Type": ctype}, query=f"token={secret}")


def vk(payload: dict) -> Req:
    return Req(f"/v1/brands/{BRAND}/webhooks/vk", json.dumps({**payload, "secret": S["vk_secret"]},
                                                               ensure_ascii=False).encode(),
               {"Content-Type": "application/json"})


def telegram(update: dict) -> Req:
    return Req(f"/v1/brands/{BRAND}/webhooks/telegram", json.dumps(update, ensure_ascii=False).encode(),
               {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": S["telegram_secret_token"]})


def shopify(topic: str, payload: dict, webhook_id: str) -> Req:
    body = json.dumps(payload, ensure_ascii=False).encode()
    sig = base64.b64encode(hmac.new(S["shopify_webhook_secret"].encode(), body, hashlib.sha256).digest()).decode()
    return Req(f"/v1/brands/{BRAND}/webhooks/shopify", body, {
        "Content-Type": "application/json", "X-Shopify-Hmac-Sha256": sig, "X-Shopify-Topic": topic,
        "X-Shopify-Webhook-Id": webhook_id, "X-Shopify-Shop-Domain": "acme.myshopify.com",
        "X-Shopify-Triggered-At": "2026-01-05T09:00:00.123456789Z"[:26] + "Z", "X-Shopify-API-Version": "2025-10"})


def cloudevent(event: dict, token: str = S["cloudevents_token"]) -> Req:
    return Req(f"/v1/brands/{BRAND}/events", json.dumps(event, ensure_ascii=False).encode(),
               {"Content-Type": "application/cloudevents+json", "Authorization": f"Bearer {token}"})


# ---- documented payload shapes, parameterised by text and message id ---------------------------

def twilio_sms(base_url: str, text: str, sid: str) -> Req:
    return twilio(base_url, "twilio", {
        "MessageSid": sid, "SmsSid": sid, "SmsMessageSid": sid, "AccountSid": "AC" + "0" * 32,
        "MessagingServiceSid": "MG" + "1" * 32, "From": "+4915112345678", "To": "+4930901820", "Body": text,
        "NumMedia": "1", "MediaUrl0": f"https://api.twilio.com/2010-04-01/Accounts/AC/Messages/{sid}/Media/ME1",
        "MediaContentType0": "image/jpeg", "NumSegments": "1", "FromCountry": "DE", "ApiVersion": "2010-04-01"})


def twilio_whatsapp(base_url: str, text: str, sid: str) -> Req:
    return twilio(base_url, "twilio", {
        "MessageSid": sid, "SmsSid": sid, "AccountSid": "AC" + "0" * 32, "From": "whatsapp:+8613800138000",
        "To": "whatsapp:+14155238886", "Body": text, "NumMedia": "0", "ProfileName": "王小明",
        "WaId": "8613800138000", "ApiVersion": "2010-04-01"})


def twilio_voice(base_url: str, status: str, sid: str, seq: int = 1) -> Req:
    return twilio(base_url, "twilio_voice", {
        "CallSid": sid, "AccountSid": "AC" + "0" * 32, "From": "+4915112345678", "To": "+4930901820",
        "Direction": "inbound", "CallStatus": status, "Timestamp": "Mon, 05 Jan 2026 09:00:12 +0000",
        "SequenceNumber": str(seq), "CallbackSource": "call-progress-events", "ApiVersion": "2010-04-01"})


def whatsapp_cloud(text: str, wamid: str) -> Req:
    return meta("meta_whatsapp", {"object": "whatsapp_business_account", "entry": [{
        "id": "102290129340398", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
            "contacts": [{"profile": {"name": "Sheena Nelson"}, "wa_id": "16505551234"}],
            "messages": [{"from": "16505551234", "id": wamid, "timestamp": "1767603600", "type": "text",
                          "text": {"body": text}}]}}]}]})


def whatsapp_status(wamid: str, status: str, ts: str) -> Req:
    return meta("meta_whatsapp", {"object": "whatsapp_business_account", "entry": [{
        "id": "102290129340398", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
            "statuses": [{"id": wamid, "status": status, "timestamp": ts, "recipient_id": "16505551234",
                          "conversation": {"id": "CONVERSATION_ID", "origin": {"type": "service"}},
                          "pricing": {"billable": True, "pricing_model": "CBP", "category": "service"}}]}}]}]})


def messenger(text: str, mid: str) -> Req:
    return meta("meta_messenger", {"object": "page", "entry": [{"id": "109934567890123", "time": 1767603600000,
        "messaging": [{"sender": {"id": "6783451234567890"}, "recipient": {"id": "109934567890123"},
                       "timestamp": 1767603600000, "message": {"mid": mid, "text": text}}]}]})


def email_headers_json(message_id: str) -> str:
    return json.dumps([["Message-Id", message_id], ["In-Reply-To", "<reply-1@brand.example>"],
                       ["References", "<order-1001@brand.example> <reply-1@brand.example>"],
                       ["Date", "Mon, 05 Jan 2026 09:00:00 +0100"], ["Content-Language", "ru"]])


def mailgun_inbound(text: str, message_id: str, subject: str = "Re: Заказ #1001", extra=None) -> Req:
    return mailgun({"recipient": "support@brand.example", "sender": "anna@example.de",
                    "from": "Anna Schmidt <Anna@Example.de>", "subject": subject, "body-plain": text,
                    "stripped-text": text[:100], "attachment-count": "1",
                    "message-headers": email_headers_json(message_id),
                    **(extra or {})},
                   files=[("attachment-1", "invoice.pdf", "application/pdf", b"%PDF-1.4 not really" * 50)])


def sendgrid_inbound(text: str, message_id: str, subject: str = "Заказ 1001 🙏") -> Req:
    headers = (f"Message-ID: {message_id}\nDate: Mon, 05 Jan 2026 09:00:00 +0300\nFrom: Ivan <ivan@example.ru>\n"
               "To: support@brand.example\nIn-Reply-To: <reply-9@brand.example>\n"
               "References: <reply-9@brand.example>\nSubject: =?UTF-8?B?0JfQsNC60LDQtyAxMDAx?=\n")
    return sendgrid({"headers": headers, "dkim": "{@example.ru : pass}", "to": "support@brand.example",
                     "from": "Ivan <ivan@example.ru>", "subject": subject, "text": text,
                     "envelope": '{"to":["support@brand.example"],"from":"ivan@example.ru"}',
                     "charsets": '{"to":"UTF-8","subject":"UTF-8","from":"UTF-8","text":"UTF-8"}',
                     "SPF": "pass", "spam_score": "0.1", "attachments": "0"})


def vk_message(text: str, message_id: int) -> Req:
    return vk({"type": "message_new", "group_id": 192837465, "event_id": uuid.uuid4().hex, "v": "5.199",
               "object": {"message": {"id": message_id, "date": 1767603600, "from_id": 246813579,
                                      "peer_id": 246813579, "out": 0, "text": text, "conversation_message_id": 7,
                                      "attachments": [{"type": "photo", "photo": {"id": 1, "owner_id": 246813579,
                                          "sizes": [{"type": "x", "url": "https://sun9.userapi.com/x.jpg"}]}}]},
                          "client_info": {"lang_id": 0}}})


def telegram_message(text: str, message_id: int) -> Req:
    return telegram({"update_id": 900000000 + message_id, "message": {
        "message_id": message_id, "date": 1767603600,
        "from": {"id": 1111111, "is_bot": False, "first_name": "李", "last_name": "雷", "language_code": "zh-hans"},
        "chat": {"id": 1111111, "first_name": "李", "type": "private"}, "text": text}})


def shopify_order(name: str, webhook_id: str, order_id: int = 820982911946154508, topic: str = "orders/create") -> Req:
    return shopify(topic, {
        "id": order_id, "admin_graphql_api_id": f"gid://shopify/Order/{order_id}", "name": "#1001",
        "order_number": 1001, "email": "jon@example.com", "phone": None, "currency": "EUR", "total_price": "403.50",
        "financial_status": "paid", "created_at": "2026-01-05T09:00:00-05:00",
        "updated_at": "2026-01-05T09:00:00-05:00", "cancel_reason": None,
        "customer": {"id": 115310627314723954, "email": "john@example.com", "first_name": name,
                     "last_name": "Smith", "phone": "+16135551111"},
        "line_items": [{"id": 1, "title": "Teapot 茶壶", "quantity": 1, "price": "403.50"}]}, webhook_id)


def order_cloudevent(name: str, ce_id: str, kind: str = "shipped") -> dict:
    return {"specversion": "1.0", "id": ce_id, "source": "//oms.brand.example/orders",
            "type": f"com.brand.order.{kind}", "time": "2026-01-05T09:00:00Z", "subject": "1001",
            "datacontenttype": "application/json",
            "data": {"order_id": "1001", "order_number": "#1001",
                     "customer": {"email": "anna@example.de", "phone": "+4915112345678", "name": name},
                     "currency": "EUR", "total": "59.90", "carrier": "DHL", "tracking_number": "00340434161234567890",
                     "reason": name, "estimated_delivery": "2026-01-08T18:00:00Z"}}


# ---- talking to the service under test ----------------------------------------------------------

async def post(svc, req):
    url = req.path + (f"?{req.query}" if req.query else "")
    return await svc.client.post(url, content=req.body, headers=req.headers)


async def records(kafka_bootstrap: str, topic: str, min_count: int = 0, timeout: float = 3.0) -> list:
    return await read_raw(kafka_bootstrap, topic, min_count, timeout)
