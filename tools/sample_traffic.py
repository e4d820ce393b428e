"""Sample traffic for `make run`: a few conversations over several channels, sent the way the real
providers send them (their payload shapes and signature schemes), to the brand `acme`.

- an order (CloudEvents over HTTP) for Emma, then Emma asks on the chat widget where it is: the bot
  answers from the order events;
- Li Wei asks for a human on WhatsApp ("人工服务"): handed off on that turn;
- Jonas emails (Mailgun) that his parcel arrived damaged and nobody answers: with the demo
  policies this conversation breaches its first-response SLA within a minute and escalates;
- Sofía writes by SMS (Twilio) in Spanish, Dmitri by Telegram in Russian.

Usage: sample_traffic.py [INGEST_URL]  (default http://127.0.0.1:8080)
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

import httpx
import yaml
from switchboard.common.testing.webhooks import mailgun_form, meta_whatsapp_message

REPO = Path(__file__).resolve().parent.parent
BRAND = "acme"


class Traffic:
    def __init__(self, base_url: str, secrets: dict) -> None:
        self.base = base_url.rstrip("/")
        self.secrets = secrets
        self.client = httpx.Client(timeout=10)
        self.sent: dict[str, int] = {}

    def post(self, what: str, path: str, **kwargs) -> httpx.Response:
        response = self.client.post(self.base + path, **kwargs)
        if response.status_code >= 300:
            raise RuntimeError(f"{what}: {response.status_code} {response.text[:300]}")
        self.sent[what] = self.sent.get(what, 0) + 1
        return response

    def webhook(self, provider: str) -> str:
        return f"/v1/brands/{BRAND}/webhooks/{provider}"

    def order(self, order_id: str, kind: str, email: str, name: str, **data) -> None:
        event = {"specversion": "1.0", "id": str(uuid.uuid4()), "source": "//shop.acme.example/orders",
                 "type": f"com.acme.order.{kind}", "time": now_iso(), "datacontenttype": "application/json",
                 "subject": order_id,
                 "data": {"order_id": order_id, "order_number": f"#{order_id}", "currency": "EUR", "total": "59.90",
                          "customer": {"email": email, "name": name}, **data}}
        self.post("order event (CloudEvents)", f"/v1/brands/{BRAND}/events", json=event,
                  headers={"Content-Type": "application/cloudevents+json",
                           "Authorization": f"Bearer {self.secrets['cloudevents_token']}"})

    def chat(self, name: str, email: str, texts: list[str], language: str = "en") -> str:
        session = self.post("chat session", f"/v1/brands/{BRAND}/chat/sessions",
                            json={"name": name, "email": email, "language": language,
                                  "client_session_id": uuid.uuid4().hex}).json()["session_id"]
        for text in texts:
            self.post("chat message", f"/v1/brands/{BRAND}/chat/sessions/{session}/messages",
                      json={"text": text, "client_message_id": uuid.uuid4().hex})
        return session

    def whatsapp(self, wa_id: str, name: str, text: str) -> None:
        body, headers = meta_whatsapp_message(self.secrets["meta_app_secret"], wa_id, name, text)
        self.post("whatsapp message (Meta)", self.webhook("meta_whatsapp"), content=body, headers=headers)

    def email(self, sender: str, name: str, subject: str, text: str) -> None:
        form = mailgun_form(self.secrets["mailgun_signing_key"], sender, name, subject, text)
        self.post("email (Mailgun)", self.webhook("mailgun"), data=form)

    def sms(self, phone: str, text: str) -> None:
        url = self.base + self.webhook("twilio")
        params = {"MessageSid": "SM" + uuid.uuid4().hex, "AccountSid": "ACdemo", "From": phone,
                  "To": "+15005550006", "Body": text, "NumMedia": "0", "SmsStatus": "received"}
        payload = url + "".join(k + params[k] for k in sorted(params))
        signature = base64.b64encode(hmac.new(self.secrets["twilio_auth_token"].encode(), payload.encode(),
                                              hashlib.sha1).digest()).decode()
        self.post("sms (Twilio)", self.webhook("twilio"), content=urlencode(params),
                  headers={"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature})

    def agent(self, path: str, body: dict, what: str) -> None:
        self.post(what, f"/v1/brands/{BRAND}/agent/{path}", json=body,
                  headers={"Authorization": f"Bearer {self.secrets['agent_api_keys'][0]}"})

    def telegram(self, chat_id: int, first_name: str, text: str) -> None:
        update = {"update_id": int(time.time() * 1000) % 2**31, "message": {
            "message_id": int(time.time()) % 100000, "date": int(time.time()), "text": text,
            "from": {"id": chat_id, "is_bot": False, "first_name": first_name, "language_code": "ru"},
            "chat": {"id": chat_id, "type": "private", "first_name": first_name}}}
        self.post("telegram message", self.webhook("telegram"), json=update,
                  headers={"X-Telegram-Bot-Api-Secret-Token": self.secrets["telegram_secret_token"]})


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def assigned_whatsapp_conversation(mongo_uri: str, timeout: float = 20.0) -> dict | None:
    from pymongo import MongoClient

    conversations = MongoClient(mongo_uri)["switchboard"]["conversations"]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = conversations.find_one({"brand_id": BRAND, "channel": "whatsapp", "status": "assigned"})
        if found:
            return found
        time.sleep(0.2)
    return None


def wait_for_document(mongo_uri: str | None, collection: str, query: dict, timeout: float = 20.0) -> None:
    if not mongo_uri:
        return
    from pymongo import MongoClient

    deadline = time.monotonic() + timeout
    while not MongoClient(mongo_uri)["switchboard"][collection].find_one(query) and time.monotonic() < deadline:
        time.sleep(0.2)


def send(base_url: str, config_dir: Path, mongo_uri: str | None = None) -> dict[str, int]:
    secrets = (yaml.safe_load((config_dir / "secrets.yaml").read_text()) or {})["brands"][BRAND]
    traffic = Traffic(base_url, secrets)
    # Bob and Chen start their shift; Alice stays offline, so English email waits in the queue.
    for agent_id in ("bob", "chen"):
        traffic.agent(f"agents/{agent_id}/presence", {"presence": "online"}, "agent presence")
    traffic.order("1001", "created", "emma@example.com", "Emma Schmidt")
    traffic.order("1001", "shipped", "emma@example.com", "Emma Schmidt", carrier="DHL",
                  tracking_number="JJD000390007", tracking_url="https://www.dhl.com/track?JJD000390007")
    # Orders reach the shop days before the question; here they are milliseconds apart on another
    # topic, so let the router see the shipment first.
    wait_for_document(mongo_uri, "orders", {"_id": f"{BRAND}/1001", "kind": "shipped"})
    traffic.chat("Emma Schmidt", "emma@example.com", ["Hi, where is my order #1001?"])
    traffic.whatsapp("8613800138000", "Li Wei", "人工服务")
    traffic.email("jonas@example.de", "Jonas Weber", "Parcel arrived damaged",
                  "Hello, my parcel (order 1002) arrived damaged, the box was crushed. Photos attached. Jonas")
    traffic.sms("+34600111222", "Hola, mi pedido 1003 no ha llegado todavía. ¿Pueden ayudarme?")
    traffic.telegram(555000111, "Дмитрий", "Здравствуйте! Где мой заказ 1004? 📦")
    if mongo_uri:  # Li Wei's conversation goes to a Chinese-speaking agent, who answers in time
        conversation = assigned_whatsapp_conversation(mongo_uri)
        if conversation:
            traffic.agent(f"conversations/{conversation['_id']}/reply",
                          {"agent_id": conversation["assignee_id"], "reply_id": uuid.uuid4().hex,
                           "text": "您好，我是客服陈。请问有什么可以帮您？"}, "agent reply")
    return traffic.sent


if __name__ == "__main__":
    print(json.dumps(send(sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8080", REPO / "config" / "demo"),
                     ensure_ascii=False))
