import base64
import json
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy

import pytest
from switchboard.notifier.domain.email_message import (
    build_email,
    deterministic_message_id,
    reply_subject,
    threading_headers,
)
from switchboard.notifier.domain.escalation_messages import (
    format_duration,
    signed_webhook_request,
    slack_payload,
    webhook_payload,
)
from switchboard.notifier.domain.model import EscalationView, Outcome
from switchboard.notifier.domain.providers import (
    ProviderConfigError,
    build_send_request,
    interpret_http_response,
    vk_random_id,
)
from switchboard.notifier.domain.signature import verify_signature

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def view(**kw):
    base = {"brand_id": "lumen", "brand_name": "Lumen", "escalation_id": "c-1:first_response:0:2",
            "conversation_id": "c-1", "customer_id": "cu-9", "customer_name": "Ana <b>", "channel": "chat",
            "level": 2, "level_name": "team lead", "reason": "SLA_BREACHED", "metric": "FIRST_RESPONSE",
            "target_seconds": 120, "deadline": NOW - timedelta(seconds=95),
            "breached_at": NOW - timedelta(seconds=95), "raised_at": NOW, "priority": "HIGH", "queue": "returns",
            "assignee_id": "", "recipients": ("team-lead",), "detail": "",
            "link": "https://sb.example/conversations/c-1"}
    base.update(kw)
    return EscalationView(**base)


def test_slack_payload_carries_conversation_customer_channel_sla_and_link():
    payload = slack_payload(view())
    flat = json.dumps(payload)
    assert "c-1" in flat and "Ana &lt;b&gt;" in flat and "chat" in flat
    assert "target 2m 00s" in payload["text"] and "overdue by 1m 35s" in payload["text"]
    button = payload["blocks"][-1]["elements"][0]
    assert button["url"] == "https://sb.example/conversations/c-1"
    assert payload["blocks"][0]["text"]["text"].startswith("[Lumen] Escalation L2 team lead")


def test_signed_webhook_body_is_exactly_what_was_signed():
    req = signed_webhook_request("https://crm/hook", webhook_payload(view()), ["k1"], 1772366400, "esc|crm")
    assert verify_signature(req.headers["X-Switchboard-Signature"], "k1", req.content, now_unix=1772366400)
    body = json.loads(req.content)
    assert body["sla"]["overdue_seconds"] == 95 and body["conversation"]["link"].endswith("/c-1")
    assert req.headers["Idempotency-Key"] == "esc|crm"


def test_format_duration():
    assert format_duration(7200 + 300) == "2h 05m"
    assert format_duration(59) == "59s"
    assert format_duration(-61) == "-1m 01s"


def test_twilio_form_with_basic_auth_and_idempotency_token():
    req = build_send_request(api="twilio", channel="whatsapp", base_url="http://t/", recipient="+4915112345678",
                             text="hi", idempotency_key="i-1",
                             credentials={"twilio_account_sid": "AC1", "twilio_auth_token": "tok",
                                          "twilio_from": "+100"})
    assert req.url == "http://t/2010-04-01/Accounts/AC1/Messages.json"
    assert req.form == {"To": "whatsapp:+4915112345678", "From": "whatsapp:+100", "Body": "hi"}
    assert base64.b64decode(req.headers["Authorization"].split()[1]) == b"AC1:tok"
    assert req.headers["I-Twilio-Idempotency-Token"] == "i-1"


def test_meta_whatsapp_and_messenger_shapes():
    creds = {"meta_access_token": "T", "meta_phone_number_id": "555", "meta_page_id": "77"}
    wa = build_send_request(api="meta", channel="whatsapp", base_url="http://g/v21.0", credentials=creds,
                            recipient="+4915112345678", text="hola", idempotency_key="i")
    assert wa.url == "http://g/v21.0/555/messages"
    assert wa.json["messaging_product"] == "whatsapp" and wa.json["to"] == "4915112345678"
    assert wa.json["text"]["body"] == "hola" and wa.headers["Authorization"] == "Bearer T"
    ms = build_send_request(api="meta", channel="messenger", base_url="http://g/v21.0", credentials=creds,
                            recipient="psid-1", text="hola", idempotency_key="i")
    assert ms.url == "http://g/v21.0/77/messages" and ms.json["recipient"] == {"id": "psid-1"}


def test_vk_random_id_is_deterministic_per_intent():
    req = build_send_request(api="vk", channel="vk", base_url="http://vk/method", credentials={"vk_access_token": "v"},
                             recipient="123", text="привет", idempotency_key="i-1")
    again = build_send_request(api="vk", channel="vk", base_url="http://vk/method",
                               credentials={"vk_access_token": "v"}, recipient="123", text="привет",
                               idempotency_key="i-1")
    assert req.url == "http://vk/method/messages.send"
    assert req.form["random_id"] == again.form["random_id"] == str(vk_random_id("i-1"))
    assert req.form["peer_id"] == "123" and req.form["v"]
    assert vk_random_id("i-1") != vk_random_id("i-2")


def test_telegram_send_message():
    req = build_send_request(api="telegram", channel="telegram", base_url="http://tg", recipient="42",
                             credentials={"telegram_bot_token": "123:ABC"}, text="hi", idempotency_key="i")
    assert req.url == "http://tg/bot123:ABC/sendMessage" and req.json["chat_id"] == "42"


def test_missing_credential_is_named():
    with pytest.raises(ProviderConfigError, match="telegram_bot_token"):
        build_send_request(api="telegram", channel="telegram", base_url="http://tg", recipient="42",
                           credentials={}, text="hi", idempotency_key="i")


@pytest.mark.parametrize("api,status,headers,body,outcome,provider_id,retry_after", [
    ("twilio", 201, {}, b'{"sid":"SM1"}', Outcome.DELIVERED, "SM1", None),
    ("meta", 200, {}, b'{"messages":[{"id":"wamid.1"}]}', Outcome.DELIVERED, "wamid.1", None),
    ("telegram", 200, {}, b'{"ok":true,"result":{"message_id":9}}', Outcome.DELIVERED, "9", None),
    ("telegram", 429, {}, b'{"ok":false,"error_code":429,"parameters":{"retry_after":7}}', Outcome.RETRY, "", 7),
    ("vk", 200, {}, b'{"response":55}', Outcome.DELIVERED, "55", None),
    ("vk", 200, {}, b'{"error":{"error_code":9,"error_msg":"Flood control"}}', Outcome.RETRY, "", None),
    ("vk", 200, {}, b'{"error":{"error_code":901,"error_msg":"denied"}}', Outcome.FAILED, "", None),
    ("http", 429, {"Retry-After": "12"}, b"", Outcome.RETRY, "", 12),
    ("http", 503, {}, b"down", Outcome.RETRY, "", None),
    ("http", 400, {}, b"bad", Outcome.FAILED, "", None),
])
def test_interpret_provider_answers(api, status, headers, body, outcome, provider_id, retry_after):
    result = interpret_http_response(status, headers, body, NOW, api)
    assert result.outcome is outcome
    assert result.provider_message_id == provider_id
    assert result.retry_after_seconds == retry_after


def test_email_threads_under_the_customer_message():
    msg = build_email(from_address="help@lumen.example", from_name="Lumen Support", to_address="ana@example.com",
                      subject=reply_subject("Where is my order?"), text="Hallo Ana", html="<p>Hallo Ana</p>",
                      message_id=deterministic_message_id("i-1", "lumen.example"), date=NOW, language="de",
                      in_reply_to="cust-2@mail.example", references=["<cust-1@mail.example>"])
    parsed = message_from_bytes(msg.as_bytes(), policy=policy.default)
    assert parsed["In-Reply-To"] == "<cust-2@mail.example>"
    assert parsed["References"] == "<cust-1@mail.example> <cust-2@mail.example>"
    assert parsed["Subject"] == "Re: Where is my order?"
    assert parsed["Content-Language"] == "de"
    assert parsed["Message-ID"] == deterministic_message_id("i-1", "lumen.example")
    assert parsed.get_body(("plain",)).get_content().strip() == "Hallo Ana"
    assert parsed.get_body(("html",)).get_content().strip() == "<p>Hallo Ana</p>"


def test_threading_headers_dedupe_and_trim():
    parent, refs = threading_headers("<p>", [f"<r{i}>" for i in range(30)] + ["<p>"])
    assert parent == "<p>" and refs.split()[0] == "<r0>" and refs.split()[-1] == "<p>" and len(refs.split()) == 20
    assert reply_subject("RE: x") == "RE: x" and reply_subject("") == ""


def test_email_refuses_empty_body_or_bad_address():
    with pytest.raises(ValueError, match="recipient"):
        build_email(from_address="a@b.c", from_name="", to_address="nobody", subject="s", text="t", html=None,
                    message_id="<m@x>", date=NOW, language="en")
    with pytest.raises(ValueError, match="empty"):
        build_email(from_address="a@b.c", from_name="", to_address="x@y.z", subject="s", text="  ", html=None,
                    message_id="<m@x>", date=NOW, language="en")
