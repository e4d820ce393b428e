"""Bot triage by rules and templates. It answers a few FAQ intents and never traps anyone:

- an explicit request for a human, in any supported language, hands off on that turn;
- angry or urgent words, or several messages within a short window, hand off with raised priority;
- an answer (by key and by text) is never sent twice in a conversation: asking again hands off;
- the second turn the bot does not understand hands off;
- an order the customer names by number is answered only if it is linked to them: naming one that
  is not hands off, so an order's status never reaches someone who merely knows its number.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache

from .config import BrandBot
from .model import Conversation

# Handoff reasons (names of the wire enum without prefix).
REQUESTED_HUMAN = "requested_human"
UNMATCHED_TWICE = "unmatched_twice"
ANGRY_OR_URGENT = "angry_or_urgent"
REPEATED_MESSAGES = "repeated_messages"
NO_BOT_FOR_CHANNEL = "no_bot_for_channel"
AGENT_TOOK_OVER = "agent_took_over"
ANSWERS_EXHAUSTED = "answers_exhausted"
ORDER_NOT_LINKED = "order_not_linked"

CLARIFY = "clarify"


def fold(text: str) -> str:
    """Case- and width-insensitive form for keyword matching (NFKC folds full-width letters)."""
    return unicodedata.normalize("NFKC", text).casefold()


def _is_cjk(ch: str) -> bool:
    return ord(ch) >= 0x2E80


@lru_cache(maxsize=256)
def _pattern(keywords: tuple[str, ...]) -> re.Pattern[str] | None:
    """One regex per keyword list. Latin/Cyrillic keywords must start at a word boundary (so "agent"
    matches "agents" but "human" does not match "inhuman"); CJK keywords match anywhere."""
    parts = []
    for kw in sorted({fold(k) for k in keywords if k.strip()}, key=len, reverse=True):
        escaped = re.escape(kw)
        parts.append(escaped if _is_cjk(kw[0]) else r"(?<!\w)" + escaped)
    return re.compile("|".join(parts)) if parts else None


def find(keywords: tuple[str, ...], folded_text: str) -> str | None:
    pattern = _pattern(keywords)
    if pattern is None:
        return None
    match = pattern.search(folded_text)
    return match.group(0) if match else None


# An order number as customers type it: "#1001", "1001", "SO-1001". Three digits at least, so that
# "2 items" or "size 42" are never taken for one.
_ORDER_TOKEN = re.compile(r"(?<![\w#])#?\s?([^\W_]*\d[\w-]*)")
_HASHED_REFERENCE = re.compile(r"#\s?([^\W_]*\d[\w-]*)")
_BARE_REFERENCE = re.compile(r"#?\s?[^\W_]{0,6}-?\d{3,}[^\W_]{0,4}")


def _order_like(token: str) -> bool:
    return sum(ch.isdigit() for ch in token) >= 3


def order_key(number: str) -> str:
    """The form order numbers are compared in: case-folded, without "#", spaces and dashes."""
    return re.sub(r"[\s#-]", "", fold(number))


def _mentioned_keys(folded_text: str) -> set[str]:
    return {order_key(m.group(1)) for m in _ORDER_TOKEN.finditer(folded_text) if _order_like(m.group(1))}


def _unlinked_reference(folded_text: str) -> str:
    """An order number the customer clearly means ("#1001" anywhere, or a reply that is only a
    number), else "". A year or an amount inside a sentence is not one."""
    hashed = _HASHED_REFERENCE.search(folded_text)
    if hashed and _order_like(hashed.group(1)):
        return "#" + hashed.group(1)
    bare = folded_text.strip().rstrip("?.!")
    return bare if _BARE_REFERENCE.fullmatch(bare) else ""


@dataclass(frozen=True, slots=True)
class OrderFacts:
    order_id: str
    order_number: str
    kind: str  # created, shipped, delayed, ...
    carrier: str = ""
    tracking_url: str = ""
    estimated_delivery: str = ""  # ISO date or ""
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Answer:
    answer_key: str
    template_key: str
    language: str
    variables: dict[str, str]
    text: str
    text_digest: str


@dataclass(frozen=True, slots=True)
class Handoff:
    reason: str
    raise_priority: bool
    matched: str = ""  # the keyword or rule that fired (for the explanation)
    named_order: str = ""  # an order number the customer gave that is not linked to them


@dataclass(frozen=True, slots=True)
class BotTurn:
    text: str
    language: str
    channel: str
    at: datetime
    orders: tuple[OrderFacts, ...] = ()
    postback: str = ""
    recent_customer_times: tuple[datetime, ...] = field(default_factory=tuple)  # this turn included


def render(config: BrandBot, language: str, template_key: str, variables: dict[str, str]) -> tuple[str, str]:
    """(language used, text): the customer's language, English when a template is missing."""
    for lang in (language, "en"):
        template = config.templates.get(lang, {}).get(template_key)
        if template is not None:
            return lang, template.format_map(_Defaulting(variables))
    raise KeyError(f"bot template {template_key!r} missing in English")


class _Defaulting(dict):
    def __missing__(self, key: str) -> str:
        return ""


def digest(text: str) -> str:
    return hashlib.sha1(fold(" ".join(text.split())).encode()).hexdigest()[:16]


def _answer(
    config: BrandBot,
    conversation: Conversation,
    answer_key: str,
    template_key: str,
    language: str,
    variables: dict[str, str],
) -> Answer | None:
    lang, text = render(config, language, template_key, variables)
    d = digest(text)
    if answer_key in conversation.bot_answer_keys or d in conversation.bot_text_digests:
        return None
    return Answer(answer_key, template_key, lang, variables, text, d)


def _intent_answer(config: BrandBot, conversation: Conversation, intent: str, turn: BotTurn) -> Answer | None:
    faq = config.faq
    if intent == "order_status":
        if not turn.orders:
            return _answer(config, conversation, "order_status", "order_status_unknown", turn.language, {})
        return _order_answer(config, conversation, turn.orders[-1], turn.language)
    if intent == "shipping_time":
        variables = {
            "min_days": str(faq.get("shipping_days_min", 5)),
            "max_days": str(faq.get("shipping_days_max", 12)),
        }
        return _answer(config, conversation, "shipping_time", "shipping_time", turn.language, variables)
    if intent == "return_policy":
        variables = {"return_days": str(faq.get("return_days", 30)), "return_url": str(faq.get("return_url", ""))}
        return _answer(config, conversation, "return_policy", "return_policy", turn.language, variables)
    return _answer(config, conversation, intent, intent, turn.language, {})


def _order_answer(config: BrandBot, conversation: Conversation, order: OrderFacts, language: str) -> Answer | None:
    variables = {
        "order_number": order.order_number or order.order_id,
        "status": order.kind,
        "carrier": order.carrier,
        "tracking_url": order.tracking_url,
        "estimated_delivery": order.estimated_delivery,
        "reason": order.reason,
    }
    template = {
        "delayed": "order_status_delayed",
        "shipped": "order_status_shipped",
        "delivered": "order_status_delivered",
    }.get(order.kind, "order_status")
    if template == "order_status_shipped" and not order.estimated_delivery:
        template = "order_status_shipped_no_eta"  # never "(expected )" with nothing after it
    # Keyed by order and state: a later state of the same order is news, the same one is not.
    return _answer(config, conversation, f"order_status:{order.order_id}:{order.kind}", template, language, variables)


def _named_order(turn: BotTurn, folded_text: str) -> OrderFacts | None:
    """The customer's own order they named by number or id (the latest of them if several)."""
    keys = _mentioned_keys(folded_text)
    if not keys:
        return None
    named = [o for o in turn.orders if keys & {order_key(o.order_number), order_key(o.order_id)} - {""}]
    return named[-1] if named else None


def decide(config: BrandBot, conversation: Conversation, turn: BotTurn) -> Answer | Handoff:
    """The bot's move for one customer turn in a conversation that is with the bot."""
    if turn.channel not in config.enabled_channels:
        return Handoff(NO_BOT_FOR_CHANNEL, raise_priority=False, matched=turn.channel)
    text = fold(turn.text + " " + turn.postback)
    angry = find(config.angry_keywords, text) or find(config.urgent_keywords, text)
    human = find(config.human_keywords, text)
    if human:
        return Handoff(REQUESTED_HUMAN, raise_priority=bool(angry), matched=human)
    if angry:
        return Handoff(ANGRY_OR_URGENT, raise_priority=True, matched=angry)
    window_start = turn.at - config.repeat_window
    recent = sum(1 for t in turn.recent_customer_times if t >= window_start)
    if recent >= config.repeat_count:
        return Handoff(REPEATED_MESSAGES, raise_priority=True, matched=f"{recent} messages")
    named = _named_order(turn, text)
    if named is not None:
        answer = _order_answer(config, conversation, named, turn.language)
        return answer or Handoff(ANSWERS_EXHAUSTED, raise_priority=False, matched=named.order_number or named.order_id)
    matched_intents = [i.name for i in config.intents if find(i.keywords, text)]
    unlinked = _unlinked_reference(text)
    if unlinked and (not matched_intents or "order_status" in matched_intents):
        # Not one of theirs (or not known yet): a person checks who is asking before anything is said.
        return Handoff(ORDER_NOT_LINKED, raise_priority=False, matched=unlinked, named_order=unlinked)
    if matched_intents:
        for intent in matched_intents:
            answer = _intent_answer(config, conversation, intent, turn)
            if answer is not None:
                return answer
        # Asked again what was already answered: the answer did not help; a person will.
        return Handoff(ANSWERS_EXHAUSTED, raise_priority=False, matched=matched_intents[0])
    if conversation.bot_unmatched_turns >= 1:
        return Handoff(UNMATCHED_TWICE, raise_priority=False, matched="second unmatched turn")
    answer = _answer(config, conversation, CLARIFY, CLARIFY, turn.language, {})
    return answer if answer is not None else Handoff(UNMATCHED_TWICE, raise_priority=False)


def handoff_summary(
    conversation: Conversation,
    *,
    reason: str,
    orders: list[OrderFacts],
    channel_history: list[dict],
    customer_name: str,
    named_order: str = "",
) -> dict:
    """What the agent sees first: who, where they wrote, their orders, what the bot already said and
    what the customer already sent (attachments), so nobody asks for the same photo again.
    Stored in MongoDB; the bus carries only the text-free `as_text` form."""
    return {
        "reason": reason,
        "customer": {
            "customer_id": conversation.customer_id,
            "name": customer_name,
            "vip": conversation.vip,
            "language": conversation.language,
        },
        "channels": channel_history,
        "orders": [
            {
                "order_id": o.order_id,
                "order_number": o.order_number,
                "status": o.kind,
                "carrier": o.carrier,
                "tracking_url": o.tracking_url,
                "reason": o.reason,
            }
            for o in orders
        ],
        "named_order": named_order,  # an order number the customer gave that is not linked to them
        "bot_said": list(conversation.bot_answer_keys),
        "customer_sent": {
            "messages": conversation.message_count,
            "attachments": [dict(a) for a in conversation.attachments],
        },
    }


def summary_text(summary: dict) -> str:
    """One-line form of the summary without any message text (safe for the bus)."""
    cust = summary["customer"]
    channels = ", ".join(f"{c['channel']} x{c['messages']}" for c in summary["channels"]) or "none"
    orders = ", ".join(f"{o['order_number'] or o['order_id']} ({o['status']})" for o in summary["orders"]) or "none"
    said = ", ".join(summary["bot_said"]) or "nothing"
    attachments = summary["customer_sent"]["attachments"]
    sent = f"{summary['customer_sent']['messages']} message(s)"
    if attachments:
        sent += "; attachments: " + ", ".join(a.get("filename") or a.get("content_type", "file") for a in attachments)
    vip = " VIP" if cust["vip"] else ""
    if summary.get("named_order"):
        orders += f"; customer named {summary['named_order']}, not linked to them: verify before sharing it"
    return (
        f"Handoff ({summary['reason']}). Customer {cust['customer_id']}{vip}, language {cust['language'] or '?'}. "
        f"Channels: {channels}. Orders: {orders}. Bot already said: {said}. Customer already sent: {sent}."
    )
