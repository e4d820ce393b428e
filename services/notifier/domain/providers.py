"""Send-message requests for customer messaging providers, and how to read their answers.

API shapes: twilio (Messages.json form, SMS and WhatsApp), meta (Graph API: WhatsApp Cloud
and Messenger), vk (messages.send), telegram (Bot API sendMessage), webhook (our own JSON
shape, used by the web chat widget or any relay). The base URL is configuration, so the same
code talks to the real provider or to a local receiver.
"""
from __future__ import annotations

import base64
import hashlib
import json
from datetime import datetime

from switchboard.notifier.domain.model import HttpRequestSpec, SendOutcome
from switchboard.notifier.domain.retry import is_retryable_status, parse_retry_after

API_SHAPES = ("twilio", "meta", "vk", "telegram", "webhook")
VK_API_VERSION = "5.199"
# VK answers HTTP 200 with an error object; these codes mean "later", not "never".
VK_RETRYABLE_ERRORS = frozenset({1, 6, 9, 10})


class ProviderConfigError(ValueError):
    """A provider endpoint lacks a credential or setting it needs (names which one)."""


def _need(credentials: dict[str, str], name: str, api: str) -> str:
    value = credentials.get(name)
    if not value:
        raise ProviderConfigError(f"{api} provider needs secret '{name}'")
    return value


def vk_random_id(idempotency_key: str) -> int:
    """VK de-duplicates messages.send by random_id (int32): derive it from the intent."""
    return int.from_bytes(hashlib.sha256(idempotency_key.encode()).digest()[:4], "big") & 0x7FFFFFFF


def _twilio(base: str, channel: str, credentials: dict[str, str], recipient: str, text: str,
            key: str) -> HttpRequestSpec:
    sid = _need(credentials, "twilio_account_sid", "twilio")
    token = _need(credentials, "twilio_auth_token", "twilio")
    sender = _need(credentials, "twilio_from", "twilio")
    to = recipient
    if channel == "whatsapp":
        to = recipient if recipient.startswith("whatsapp:") else f"whatsapp:+{recipient.lstrip('+')}"
        sender = sender if sender.startswith("whatsapp:") else f"whatsapp:{sender}"
    basic = base64.b64encode(f"{sid}:{token}".encode()).decode()
    return HttpRequestSpec(
        "POST", f"{base}/2010-04-01/Accounts/{sid}/Messages.json",
        {"Authorization": f"Basic {basic}", "I-Twilio-Idempotency-Token": key, "Idempotency-Key": key},
        form={"To": to, "From": sender, "Body": text},
    )


def _meta(base: str, channel: str, credentials: dict[str, str], recipient: str, text: str,
          key: str) -> HttpRequestSpec:
    token = _need(credentials, "meta_access_token", "meta")
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": key}
    if channel == "whatsapp":
        phone_id = _need(credentials, "meta_phone_number_id", "meta")
        body = {"messaging_product": "whatsapp", "recipient_type": "individual",
                "to": recipient.lstrip("+"), "type": "text",
                "text": {"preview_url": False, "body": text},
                "biz_opaque_callback_data": key}
        return HttpRequestSpec("POST", f"{base}/{phone_id}/messages", headers, json=body)
    page_id = credentials.get("meta_page_id") or "me"
    body = {"recipient": {"id": recipient}, "messaging_type": "RESPONSE",
            "message": {"text": text, "metadata": key}}
    return HttpRequestSpec("POST", f"{base}/{page_id}/messages", headers, json=body)


def _vk(base: str, channel: str, credentials: dict[str, str], recipient: str, text: str,
        key: str) -> HttpRequestSpec:
    token = _need(credentials, "vk_access_token", "vk")
    form = {"peer_id": recipient, "random_id": str(vk_random_id(key)),
            "message": text, "access_token": token, "v": VK_API_VERSION}
    return HttpRequestSpec("POST", f"{base}/messages.send", {"Idempotency-Key": key}, form=form)


def _telegram(base: str, channel: str, credentials: dict[str, str], recipient: str, text: str,
              key: str) -> HttpRequestSpec:
    token = _need(credentials, "telegram_bot_token", "telegram")
    return HttpRequestSpec(
        "POST", f"{base}/bot{token}/sendMessage", {"Idempotency-Key": key},
        json={"chat_id": recipient, "text": text, "disable_web_page_preview": True},
    )


def _webhook(base: str, channel: str, credentials: dict[str, str], recipient: str, text: str,
             key: str) -> HttpRequestSpec:
    headers = {"Idempotency-Key": key}
    token = credentials.get("webhook_token")
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return HttpRequestSpec("POST", f"{base}/messages", headers,
                           json={"channel": channel, "to": recipient, "text": text, "idempotency_key": key})


REQUEST_BUILDERS = {"twilio": _twilio, "meta": _meta, "vk": _vk, "telegram": _telegram, "webhook": _webhook}


def build_send_request(
    *,
    api: str,
    channel: str,
    base_url: str,
    credentials: dict[str, str],
    recipient: str,
    text: str,
    idempotency_key: str,
) -> HttpRequestSpec:
    """The provider request that sends `text` to `recipient` on `channel`."""
    if not recipient:
        raise ProviderConfigError("recipient handle is empty")
    build = REQUEST_BUILDERS.get(api)
    if build is None:
        raise ProviderConfigError(f"unknown provider api '{api}' (expected one of {', '.join(API_SHAPES)})")
    return build(base_url.rstrip("/"), channel, credentials, recipient, text, idempotency_key)


def _json(body: bytes) -> dict:
    try:
        value = json.loads(body or b"{}")
    except (ValueError, UnicodeDecodeError):
        return {}
    return value if isinstance(value, dict) else {}


def interpret_http_response(
    status: int, headers: dict[str, str], body: bytes, now: datetime, api: str = "http"
) -> SendOutcome:
    """Classify an HTTP answer: delivered (2xx), retry (5xx/408/429, with Retry-After) or failed."""
    lower = {k.lower(): v for k, v in headers.items()}
    if 200 <= status < 300:
        return _interpret_success(api, _json(body) if api != "http" else {}, body)
    retry_after = parse_retry_after(lower.get("retry-after"), now)
    if api == "telegram" and status == 429 and retry_after is None:
        params = _json(body).get("parameters") or {}
        if isinstance(params.get("retry_after"), (int, float)):
            retry_after = float(params["retry_after"])
    snippet = body[:200].decode("utf-8", "replace") if body else ""
    detail = f"http {status}" + (f": {snippet}" if snippet else "")
    if is_retryable_status(status):
        return SendOutcome.retry(detail, retry_after)
    return SendOutcome.failed(detail)


def _interpret_success(api: str, data: dict, body: bytes) -> SendOutcome:
    if api == "twilio":
        return SendOutcome.delivered(str(data.get("sid", "")))
    if api == "meta":
        messages = data.get("messages")
        if isinstance(messages, list) and messages and isinstance(messages[0], dict):
            return SendOutcome.delivered(str(messages[0].get("id", "")))
        return SendOutcome.delivered(str(data.get("message_id", "")))
    if api == "vk":
        error = data.get("error")
        if isinstance(error, dict):
            code = error.get("error_code")
            detail = f"vk error {code}: {error.get('error_msg', '')}"
            return SendOutcome.retry(detail) if code in VK_RETRYABLE_ERRORS else SendOutcome.failed(detail)
        return SendOutcome.delivered(str(data.get("response", "")))
    if api == "telegram":
        if data.get("ok") is False:
            return SendOutcome.failed(f"telegram error {data.get('error_code')}: {data.get('description', '')}")
        result = data.get("result") or {}
        return SendOutcome.delivered(str(result.get("message_id", "")) if isinstance(result, dict) else "")
    if api == "webhook":
        return SendOutcome.delivered(str(data.get("id", "")))
    return SendOutcome.delivered()
