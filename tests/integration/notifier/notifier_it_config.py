"""The notifier's configuration and secrets for integration tests: every destination and customer
channel pointed at one local HTTP receiver and SMTP server."""
from __future__ import annotations

from switchboard.common.config import Secrets
from switchboard.notifier.config import NotifierConfig


def notifier_config(receiver_url: str, smtp_port: int, **overrides) -> NotifierConfig:
    base = {
        "public_base_url": "https://sb.test",
        "console_base_url": "https://console.sb.test",
        "brands": {"acme": {"name": "ACME Store", "from_address": "help@acme.example"}},
        "destinations": [
            {"id": "ops-slack", "type": "slack", "url_secret": "slack_ops_url", "concurrency": 2, "timeout_seconds": 2},
            {"id": "crm", "type": "webhook", "url": f"{receiver_url}/crm", "signing_secret": "crm_key",
             "concurrency": 2, "timeout_seconds": 2},
            {"id": "managers", "type": "email", "address": "managers@acme.example"},
        ],
        "escalation_routing": {"default": {1: ["ops-slack"], 2: ["ops-slack", "crm"],
                                           3: ["ops-slack", "crm", "managers"]}},
        "customer_channels": {
            "sms": {"api": "twilio", "base_url": f"{receiver_url}/twilio"},
            "whatsapp": {"api": "meta", "base_url": f"{receiver_url}/meta/v21.0"},
            "vk": {"api": "vk", "base_url": f"{receiver_url}/vk/method"},
            "telegram": {"api": "telegram", "base_url": f"{receiver_url}/telegram", "concurrency": 2,
                         "timeout_seconds": 2},
            "chat": {"api": "webhook", "base_url": f"{receiver_url}/chat"},
        },
        "smtp": {"host": "127.0.0.1", "port": smtp_port, "starttls": False, "username_secret": None,
                 "password_secret": None, "from_address": "support@sb.test", "message_id_domain": "sb.test"},
        "retry": {"max_attempts": 8, "base_backoff_seconds": 0.02, "max_backoff_seconds": 0.1, "total_seconds": 20},
        "scheduler": {"poll_seconds": 0.2, "lease_seconds": 2},
    }
    base.update(overrides)
    return NotifierConfig.model_validate(base)


def notifier_secrets(receiver_url: str) -> Secrets:
    return Secrets({"global": {"slack_ops_url": f"{receiver_url}/slack/ops", "crm_key": "crm-s3cret"},
                    "brands": {"acme": {"twilio_account_sid": "AC1", "twilio_auth_token": "tw", "twilio_from": "+100",
                                        "meta_access_token": "mt", "meta_phone_number_id": "555",
                                        "vk_access_token": "vk", "telegram_bot_token": "1:tg"}}})
