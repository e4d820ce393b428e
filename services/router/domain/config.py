"""Router configuration per brand (parsed from versioned YAML documents; reading files is the adapter's job).

routing.yaml: queues (match rules + skills), agents bootstrap, channel capacity classes, windows.
bot.yaml: human-request / angry / urgent keywords, intents, FAQ facts, answer templates per language.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from .model import CHANNELS

SUPPORTED_LANGUAGES = ("en", "es", "fr", "de", "it", "pt", "ru", "ja", "ko", "zh")

DEFAULT_CAPACITY_CLASSES = {
    "chat": "chat",
    "whatsapp": "chat",
    "messenger": "chat",
    "telegram": "chat",
    "vk": "chat",
    "sms": "chat",
    "email": "email",
    "web_form": "email",
    "marketplace": "email",
    "phone": "phone",
}
# Synchronous channels first at equal priority: a person is waiting on the other end.
DEFAULT_CLASS_RANK = {"phone": 0, "chat": 0, "email": 1}


class ConfigError(ValueError):
    """A config document that cannot be used; the message names the file and field to fix."""


def parse_duration(value: Any, where: str) -> timedelta:
    """`90`, `"90s"`, `"15m"`, `"2h"`, `"7d"` -> timedelta."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return timedelta(seconds=float(value))
    if isinstance(value, str) and value:
        units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
        unit = value[-1]
        try:
            if unit in units:
                return timedelta(seconds=float(value[:-1]) * units[unit])
            return timedelta(seconds=float(value))
        except ValueError:
            pass
    raise ConfigError(f"{where}: {value!r} is not a duration (use seconds or 30s / 15m / 2h / 7d)")


@dataclass(frozen=True, slots=True)
class QueueConfig:
    name: str
    languages: tuple[str, ...] = ()  # match rules; empty = any
    channels: tuple[str, ...] = ()
    product_lines: tuple[str, ...] = ()
    vip: bool | None = None

    def matches(self, *, language: str, channel: str, product_line: str, vip: bool) -> bool:
        return (
            (not self.languages or language in self.languages)
            and (not self.channels or channel in self.channels)
            and (not self.product_lines or product_line in self.product_lines)
            and (self.vip is None or self.vip == vip)
        )


@dataclass(frozen=True, slots=True)
class AgentConfig:
    agent_id: str
    name: str
    queues: tuple[str, ...]
    languages: tuple[str, ...]
    channels: tuple[str, ...]
    product_lines: tuple[str, ...]
    vip: bool
    capacity: dict[str, int]
    presence: str


@dataclass(frozen=True, slots=True)
class BrandRouting:
    brand_id: str
    queues: tuple[QueueConfig, ...]
    agents: tuple[AgentConfig, ...]
    capacity_classes: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_CAPACITY_CLASSES))
    class_rank: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_CLASS_RANK))
    reopen_window: timedelta = timedelta(days=7)
    position_step: int = 1  # superseded by the bounded position messages (domain/position_updates.py)
    position_update_min_interval: timedelta = timedelta(minutes=2)
    position_update_top: int = 3
    eta_window: timedelta = timedelta(minutes=30)
    eta_default_per_position: timedelta = timedelta(minutes=3)
    repeat_contact_threshold: int = 3
    csat_delay: timedelta = timedelta(hours=1)
    transcript_grace: timedelta = timedelta(minutes=2)  # agent replies this long after a chat's end still count
    default_language: str = "en"
    vip_customers: tuple[str, ...] = ()  # handle values (emails / phones) of VIP customers
    product_line_keywords: dict[str, tuple[str, ...]] = field(default_factory=dict)
    reassignment: Any = None  # ReassignConfig (domain/reassign_config.py); None = the defaults
    queue_exit: Any = None  # QueueExitConfig (domain/queue_exit.py); None = the defaults

    def capacity_class(self, channel: str) -> str:
        return self.capacity_classes.get(channel, "email")

    def choose_queue(self, *, language: str, channel: str, product_line: str, vip: bool) -> str:
        for queue in self.queues:
            if queue.matches(language=language, channel=channel, product_line=product_line, vip=vip):
                return queue.name
        return self.queues[-1].name


@dataclass(frozen=True, slots=True)
class Intent:
    name: str
    keywords: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class BrandBot:
    brand_id: str
    enabled_channels: frozenset[str]
    human_keywords: tuple[str, ...]
    angry_keywords: tuple[str, ...]
    urgent_keywords: tuple[str, ...]
    intents: tuple[Intent, ...]
    repeat_window: timedelta = timedelta(minutes=2)
    repeat_count: int = 3
    faq: dict[str, Any] = field(default_factory=dict)  # return_days, shipping_days_min/max, return_url ...
    templates: dict[str, dict[str, str]] = field(default_factory=dict)  # language -> key -> text


@dataclass(frozen=True, slots=True)
class RouterConfig:
    routing: dict[str, BrandRouting]
    bot: dict[str, BrandBot]

    def brand_routing(self, brand_id: str) -> BrandRouting:
        return self.routing.get(brand_id) or self.routing["*"]

    def brand_bot(self, brand_id: str) -> BrandBot:
        return self.bot.get(brand_id) or self.bot["*"]


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: expected a list of strings")
    return tuple(value)


def _merge(base: dict, override: dict) -> dict:
    out = dict(base)
    for key, value in override.items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def _brands(doc: dict, file: str) -> dict[str, dict]:
    """`defaults` applies to every brand; `brands.<id>` overrides it; "*" is the fallback brand."""
    if not isinstance(doc, dict) or doc.get("version") != 1:
        raise ConfigError(f"{file}: the document must start with `version: 1`")
    defaults = doc.get("defaults") or {}
    brands = doc.get("brands") or {}
    if not isinstance(brands, dict) or not isinstance(defaults, dict):
        raise ConfigError(f"{file}: `defaults` and `brands` must be mappings")
    out = {"*": defaults}
    for brand_id, raw in brands.items():
        out[str(brand_id)] = _merge(defaults, raw or {})
    return out


def parse_routing(doc: dict, file: str = "routing.yaml") -> dict[str, BrandRouting]:
    return {brand_id: _brand_routing(brand_id, raw, f"{file}: brands.{brand_id}")
            for brand_id, raw in _brands(doc, file).items()}


def _brand_routing(brand_id: str, raw: dict, where: str) -> BrandRouting:
    from . import queue_exit, reassign_config  # they build on this module's parse_duration

    queues = _queues(raw, where)
    agents = _agents(raw, where, {q.name for q in queues})
    classes = dict(DEFAULT_CAPACITY_CLASSES)
    classes.update(raw.get("capacity_classes") or {})
    rank = dict(DEFAULT_CLASS_RANK)
    rank.update(raw.get("class_rank") or {})
    windows = raw.get("windows") or {}
    return BrandRouting(
        brand_id=brand_id,
        queues=tuple(queues),
        agents=tuple(agents),
        capacity_classes=classes,
        class_rank=rank,
        reopen_window=parse_duration(windows.get("reopen", "7d"), f"{where}.windows.reopen"),
        position_step=int(raw.get("queue_position_step", 1)),
        position_update_min_interval=parse_duration(
            raw.get("position_update_min_interval", "2m"), f"{where}.position_update_min_interval"
        ),
        position_update_top=int(raw.get("position_update_top", 3)),
        eta_window=parse_duration(windows.get("eta", "30m"), f"{where}.windows.eta"),
        eta_default_per_position=parse_duration(
            windows.get("eta_default_per_position", "3m"), f"{where}.windows.eta_default_per_position"
        ),
        repeat_contact_threshold=int(raw.get("repeat_contact_threshold", 3)),
        csat_delay=parse_duration(windows.get("csat_delay", "1h"), f"{where}.windows.csat_delay"),
        transcript_grace=parse_duration(windows.get("transcript_grace", "2m"), f"{where}.windows.transcript_grace"),
        default_language=str(raw.get("default_language", "en")),
        vip_customers=tuple(v.lower() for v in _strings(raw.get("vip_customers"), f"{where}.vip_customers")),
        product_line_keywords={k: tuple(v) for k, v in (raw.get("product_lines") or {}).items()},
        reassignment=reassign_config.parse(raw.get("reassignment"), f"{where}.reassignment"),
        queue_exit=queue_exit.parse(raw.get("queue_exit"), f"{where}.queue_exit"),
    )


def _queues(raw: dict, where: str) -> list[QueueConfig]:
    queues = []
    for i, q in enumerate(raw.get("queues") or []):
        if not isinstance(q, dict) or not q.get("name"):
            raise ConfigError(f"{where}.queues[{i}]: every queue needs a `name`")
        match = q.get("match") or {}
        for ch in _strings(match.get("channels"), f"{where}.queues[{i}].match.channels"):
            if ch not in CHANNELS:
                raise ConfigError(f"{where}.queues[{i}].match.channels: unknown channel {ch!r}")
        queues.append(
            QueueConfig(
                name=str(q["name"]),
                languages=_strings(match.get("languages"), f"{where}.queues[{i}].match.languages"),
                channels=_strings(match.get("channels"), f"{where}.queues[{i}].match.channels"),
                product_lines=_strings(match.get("product_lines"), f"{where}.queues[{i}].match.product_lines"),
                vip=match.get("vip"),
            )
        )
    if not queues:
        raise ConfigError(f"{where}.queues: at least one queue is required (the last one is the fallback)")
    return queues


def _agents(raw: dict, where: str, queue_names: set[str]) -> list[AgentConfig]:
    default_capacity = raw.get("default_capacity") or {"chat": 3, "email": 10, "phone": 1}
    agents = []
    for i, a in enumerate(raw.get("agents") or []):
        if not isinstance(a, dict) or not a.get("id"):
            raise ConfigError(f"{where}.agents[{i}]: every agent needs an `id`")
        agent_queues = _strings(a.get("queues"), f"{where}.agents[{i}].queues") or tuple(queue_names)
        unknown = set(agent_queues) - queue_names
        if unknown:
            raise ConfigError(f"{where}.agents[{i}].queues: unknown queue(s) {sorted(unknown)}")
        capacity = {str(k): int(v) for k, v in (a.get("capacity") or default_capacity).items()}
        presence = a.get("presence", "offline")
        if presence not in ("online", "away", "offline"):
            raise ConfigError(f"{where}.agents[{i}].presence: use online, away or offline")
        agents.append(
            AgentConfig(
                agent_id=str(a["id"]),
                name=str(a.get("name", a["id"])),
                queues=agent_queues,
                languages=_strings(a.get("languages"), f"{where}.agents[{i}].languages") or ("*",),
                channels=_strings(a.get("channels"), f"{where}.agents[{i}].channels") or tuple(capacity),
                product_lines=_strings(a.get("product_lines"), f"{where}.agents[{i}].product_lines"),
                vip=bool(a.get("vip", False)),
                capacity=capacity,
                presence=presence,
            )
        )
    return agents


def parse_bot(doc: dict, templates: dict[str, dict[str, str]], file: str = "bot.yaml") -> dict[str, BrandBot]:
    result = {}
    for brand_id, raw in _brands(doc, file).items():
        where = f"{file}: brands.{brand_id}"
        intents = tuple(
            Intent(name=str(name), keywords=_strings(words, f"{where}.intents.{name}"))
            for name, words in (raw.get("intents") or {}).items()
        )
        keywords = raw.get("keywords") or {}
        repeat = raw.get("repeated_messages") or {}
        own_templates = {lang: dict(texts) for lang, texts in templates.items()}
        for lang, texts in (raw.get("templates") or {}).items():
            own_templates.setdefault(lang, {}).update(texts)
        if "en" not in own_templates:
            raise ConfigError(f"{where}.templates: English templates are required (the fallback)")
        result[brand_id] = BrandBot(
            brand_id=brand_id,
            enabled_channels=frozenset(
                _strings(raw.get("channels"), f"{where}.channels") or tuple(c for c in CHANNELS if c != "phone")
            ),
            human_keywords=_strings(keywords.get("human"), f"{where}.keywords.human"),
            angry_keywords=_strings(keywords.get("angry"), f"{where}.keywords.angry"),
            urgent_keywords=_strings(keywords.get("urgent"), f"{where}.keywords.urgent"),
            intents=intents,
            repeat_window=parse_duration(repeat.get("window", "2m"), f"{where}.repeated_messages.window"),
            repeat_count=int(repeat.get("count", 3)),
            faq=dict(raw.get("faq") or {}),
            templates=own_templates,
        )
    return result
