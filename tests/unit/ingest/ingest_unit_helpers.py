from __future__ import annotations

import json
from datetime import UTC, datetime
from urllib.parse import urlencode

from switchboard.ingest.adapters.providers.base import AdapterContext
from switchboard.ingest.domain.model import WebhookRequest

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
SECRETS = {"twilio_auth_token": "12345", "meta_app_secret": "s", "meta_verify_token": "v",
           "mailgun_signing_key": "k", "sendgrid_webhook_secret": "sg", "vk_secret": "vk",
           "vk_confirmation_code": "code", "telegram_secret_token": "tg", "shopify_webhook_secret": "sh",
           "cloudevents_token": "ce"}
CTX = AdapterContext(brand_id="acme", secrets=SECRETS, now=NOW)


def form(params: dict, url: str = "https://in.example/v1/brands/acme/webhooks/twilio", headers=None) -> WebhookRequest:
    return WebhookRequest("POST", url, {"content-type": "application/x-www-form-urlencoded", **(headers or {})}, (),
                          urlencode(params).encode(), "application/x-www-form-urlencoded",
                          "application/x-www-form-urlencoded")


def as_json(body, headers=None, content_type: str = "application/json", query=()) -> WebhookRequest:
    raw = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
    return WebhookRequest("POST", "https://in.example/hook", {"content-type": content_type, **(headers or {})},
                          tuple(query), raw, content_type, content_type)
