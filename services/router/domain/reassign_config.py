"""Reassignment settings per brand and queue (routing.yaml `reassignment`), with the issue's defaults.

    reassignment:
      enabled: true
      offline_grace: 2m            # an agent back online within this keeps their conversations
      after_away: {chat: 5m, phone: 5m, messaging: 30m, email: off}
      after_silence: {chat: 30m, phone: 270s, messaging: 30m, email: 75m}
      silence_warning_at: 0.5      # the assignee is warned at this fraction of after_silence
      queues:                      # per-queue overrides, same keys
        vip: {after_away: {chat: 2m}}

Kinds: chat (web chat), phone, messaging (SMS, WhatsApp, Messenger, VK, Telegram, marketplace),
email (email, web form). `after_silence` defaults to half the default first/next response targets of
config/default/sla.yaml (chat and messaging 1 h, email 2 h 30 min, phone answer 9 min).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from .config import ConfigError, parse_duration

KINDS = ("chat", "phone", "messaging", "email")
KIND_OF_CHANNEL = {"chat": "chat", "phone": "phone", "email": "email", "web_form": "email"}  # else messaging

DEFAULT_AWAY = {"chat": timedelta(minutes=5), "phone": timedelta(minutes=5), "messaging": timedelta(minutes=30),
                "email": None}
DEFAULT_SILENCE = {"chat": timedelta(minutes=30), "phone": timedelta(minutes=4, seconds=30),
                   "messaging": timedelta(minutes=30), "email": timedelta(hours=1, minutes=15)}


def kind_of(channel: str) -> str:
    return KIND_OF_CHANNEL.get(channel, "messaging")


@dataclass(frozen=True, slots=True)
class ReassignPolicy:
    """What applies to one conversation (its brand, queue and channel kind)."""

    enabled: bool = True
    offline_grace: timedelta = timedelta(minutes=2)
    after_away: timedelta | None = timedelta(minutes=5)  # None = never for being away
    after_silence: timedelta | None = timedelta(minutes=30)  # None = never for silence
    silence_warning_at: float = 0.5


@dataclass(frozen=True, slots=True)
class ReassignConfig:
    raw: dict = field(default_factory=dict)  # the brand's block; queues.<name> merged over it
    where: str = "routing.yaml: reassignment"

    def policy(self, queue: str, channel: str) -> ReassignPolicy:
        block = dict(self.raw)
        override = (self.raw.get("queues") or {}).get(queue) or {}
        for key, value in override.items():
            block[key] = {**block.get(key, {}), **value} if isinstance(value, dict) else value
        return _policy(block, kind_of(channel), self.where)


def _maybe_duration(value: Any, where: str) -> timedelta | None:
    if value in (None, False, "off", 0, "0"):
        return None
    return parse_duration(value, where)


def _policy(block: dict, kind: str, where: str) -> ReassignPolicy:
    away = (block.get("after_away") or {})
    silence = (block.get("after_silence") or {})
    warning = float(block.get("silence_warning_at", 0.5))
    if not 0 < warning < 1:
        raise ConfigError(f"{where}.silence_warning_at: use a fraction between 0 and 1, got {warning}")
    return ReassignPolicy(
        enabled=bool(block.get("enabled", True)),
        offline_grace=parse_duration(block.get("offline_grace", "2m"), f"{where}.offline_grace"),
        after_away=_maybe_duration(away[kind], f"{where}.after_away.{kind}") if kind in away else DEFAULT_AWAY[kind],
        after_silence=(_maybe_duration(silence[kind], f"{where}.after_silence.{kind}") if kind in silence
                       else DEFAULT_SILENCE[kind]),
        silence_warning_at=warning,
    )


def parse(raw: Any, where: str) -> ReassignConfig:
    """Validates the block once at start-up (every queue, every kind) so a typo stops the service."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a mapping")
    for key in ("after_away", "after_silence"):
        unknown = set(raw.get(key) or {}) - set(KINDS)
        if unknown:
            raise ConfigError(f"{where}.{key}: unknown kind(s) {sorted(unknown)}; use {list(KINDS)}")
    config = ReassignConfig(raw=raw, where=where)
    for queue in [None, *(raw.get("queues") or {})]:
        for channel in ("chat", "phone", "whatsapp", "email"):
            config.policy(queue or "", channel)
    return config
