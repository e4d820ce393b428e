"""A way out of a long queue that keeps the customer's place.

Past `queue_exit.after_position` (default 10) or `after_eta` (default 10 min), the position message
offers numbered choices in the conversation's language (once per wait):
  keep          keep your place, quietly; one message when an agent picks it up;
  switch:<ch>   continue on a channel the customer already uses (email, WhatsApp, SMS, ...): the
                agent answers there (`Conversation.reply_channel` + reply handle), place kept;
  callback      (phone) a call back at the number they called from: the conversation stays a
                queued phone task (its phone-answer SLA clock keeps running) with reply_channel phone.
The customer's reply is recognised by its number or by keywords (en, zh, ru, es built in; others
fall back to numbers and English words). The entry keeps its `enqueued_at`: nothing is re-queued.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from .bot import find, fold
from .model import EMAIL, PHONE, WHATSAPP_ID, Conversation, Customer

if TYPE_CHECKING:  # pragma: no cover
    from .engine import Workspace


class Notifier(Protocol):
    def notify(self, conv: Conversation, kind: str, *, intent_id: str | None = None, **data) -> str: ...

KEEP, CALLBACK, SWITCH = "keep", "callback", "switch"
TEMPLATE = "queue_position_choices"  # the position message with the choices (notifier templates)
CONFIRMED = "queue_exit_confirmed"

# Channels a customer can be moved to, and the handle kind that reaches them there.
SWITCHABLE = {"email": EMAIL, "whatsapp": WHATSAPP_ID, "sms": PHONE}
CHANNEL_NAMES = {
    "en": {"email": "email", "whatsapp": "WhatsApp", "sms": "SMS"},
    "zh": {"email": "电子邮件", "whatsapp": "WhatsApp", "sms": "短信"},
    "ru": {"email": "электронной почте", "whatsapp": "WhatsApp", "sms": "SMS"},
    "es": {"email": "correo electrónico", "whatsapp": "WhatsApp", "sms": "SMS"},
}
OFFER_TEXT = {
    "en": {KEEP: "{n} - keep your place; we message you when an agent picks it up",
           SWITCH: "{n} - continue by {channel}; an agent answers you there, you keep your place",
           CALLBACK: "{n} - we call you back at the number you called from",
           "lead": "Reply with a number:"},
    "zh": {KEEP: "{n} - 保留您的位置；客服接手时我们会通知您",
           SWITCH: "{n} - 改用{channel}继续；客服将在那里回复您，位置保留",
           CALLBACK: "{n} - 我们会回电到您拨打的号码",
           "lead": "请回复数字："},
    "ru": {KEEP: "{n} - сохранить место в очереди; мы напишем, когда оператор возьмёт запрос",
           SWITCH: "{n} - продолжить по {channel}; оператор ответит там, место сохранится",
           CALLBACK: "{n} - мы перезвоним на номер, с которого вы звонили",
           "lead": "Ответьте цифрой:"},
    "es": {KEEP: "{n} - conservar tu lugar; te avisamos cuando un agente lo atienda",
           SWITCH: "{n} - continuar por {channel}; un agente te responde allí y conservas tu lugar",
           CALLBACK: "{n} - te devolvemos la llamada al número desde el que llamaste",
           "lead": "Responde con un número:"},
}
CONFIRM_TEXT = {
    "en": {KEEP: "Done: you keep your place. We will message you when an agent picks it up.",
           SWITCH: "Done: an agent will answer you by {channel}. You keep your place.",
           CALLBACK: "Done: we will call you back at the number you called from. You keep your place."},
    "zh": {KEEP: "好的：您的位置已保留。客服接手时我们会通知您。",
           SWITCH: "好的：客服将通过{channel}回复您。您的位置已保留。",
           CALLBACK: "好的：我们会回电到您拨打的号码。您的位置已保留。"},
    "ru": {KEEP: "Готово: место в очереди сохранено. Мы напишем, когда оператор возьмёт запрос.",
           SWITCH: "Готово: оператор ответит вам по {channel}. Место в очереди сохранено.",
           CALLBACK: "Готово: мы перезвоним на номер, с которого вы звонили. Место сохранено."},
    "es": {KEEP: "Listo: conservas tu lugar. Te avisaremos cuando un agente lo atienda.",
           SWITCH: "Listo: un agente te responderá por {channel}. Conservas tu lugar.",
           CALLBACK: "Listo: te devolveremos la llamada al número desde el que llamaste. Conservas tu lugar."},
}
# Words that name a choice, every language at once (a Spanish speaker may answer "email").
KEYWORDS = {
    KEEP: ("keep", "wait", "stay", "保留", "等待", "继续等", "ждать", "подожд", "сохран", "остав", "esperar",
           "espero", "mantener", "conservar"),
    CALLBACK: ("call me", "callback", "call back", "回电", "回拨", "打给我", "перезвон", "позвон", "llamada",
               "llámenme", "llamame", "llámame", "devolver"),
    "email": ("email", "e-mail", "mail", "邮件", "邮箱", "почт", "correo"),
    "whatsapp": ("whatsapp", "ватсап", "вотсап"),
    "sms": ("sms", "text me", "短信", "смс", "mensaje de texto"),
}
_DIGIT = re.compile(r"^\s*([1-9])\s*[.)!]?\s*$")


@dataclass(frozen=True, slots=True)
class QueueExitConfig:
    enabled: bool = True
    after_position: int = 10
    after_eta: timedelta = timedelta(minutes=10)


def parse(raw, where: str) -> QueueExitConfig:
    from .config import ConfigError, parse_duration

    raw = raw or {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a mapping (enabled, after_position, after_eta)")
    return QueueExitConfig(enabled=bool(raw.get("enabled", True)), after_position=int(raw.get("after_position", 10)),
                           after_eta=parse_duration(raw.get("after_eta", "10m"), f"{where}.after_eta"))


def offer(cfg: QueueExitConfig | None, conv: Conversation, position: int, eta_seconds: int, at: datetime) -> str:
    """The choices text to add to this position message (and remembers the offer), or ""."""
    if not due(cfg or QueueExitConfig(), conv, position, eta_seconds):
        return ""
    opts = options(conv)
    conv.queue_exit_offer = {"options": opts, "at": at}
    return render_offer(opts, conv.language)


def pending(conv: Conversation) -> list[str]:
    """The options offered and not chosen yet."""
    offered = conv.queue_exit_offer
    return list(offered.get("options", [])) if offered and not offered.get("chosen") else []


def options(conv: Conversation) -> list[str]:
    """The choices this customer has: keep, channels they already use (other than this one), callback."""
    out = [KEEP]
    for channel in SWITCHABLE:
        if channel != conv.channel and (channel in conv.reachable_on or channel in conv.channels):
            out.append(f"{SWITCH}:{channel}")
    if conv.channel == "phone" and conv.reply_handle.get("kind") == PHONE:
        out.append(CALLBACK)
    return out


def due(cfg: QueueExitConfig, conv: Conversation, position: int, eta_seconds: int) -> bool:
    """Offer once per wait, past the position or the ETA, when there is a real choice."""
    if not cfg.enabled or conv.queue_exit_offer or conv.reply_channel:
        return False
    return position > cfg.after_position or eta_seconds > cfg.after_eta.total_seconds()


def note_reachable(conv: Conversation, customer: Customer | None) -> bool:
    """The contact side's record of where the customer can be moved to (their handles); True if it changed."""
    kinds = {h["kind"] for h in (customer.handles if customer else [])}
    reachable = [channel for channel, kind in SWITCHABLE.items() if kind in kinds]
    if reachable == conv.reachable_on:
        return False
    conv.reachable_on = reachable
    return True


def wait_ended(conv: Conversation) -> None:
    """The wait the offer was made in is over (picked up, or resolved): a later wait may offer again, and
    no later message is read as an answer to it. What a choice changed (reply channel, callback) stays."""
    conv.queue_exit_offer = {}


def _texts(table: dict, language: str) -> dict:
    return table.get(language) or table["en"]


def render_offer(opts: list[str], language: str) -> str:
    texts, names = _texts(OFFER_TEXT, language), _texts(CHANNEL_NAMES, language)
    lines = [texts["lead"]]
    for n, option in enumerate(opts, 1):
        kind, _, channel = option.partition(":")
        lines.append(texts[kind].format(n=n, channel=names.get(channel, channel)))
    return "\n".join(lines)


def confirmation(option: str, language: str) -> str:
    kind, _, channel = option.partition(":")
    return _texts(CONFIRM_TEXT, language)[kind].format(channel=_texts(CHANNEL_NAMES, language).get(channel, channel))


def recognise(text: str, offered: list[str]) -> str | None:
    """The offered option the reply names: its number, or keywords of exactly one offered option."""
    folded = fold(text)
    digit = _DIGIT.match(folded)
    if digit:
        n = int(digit.group(1))
        return offered[n - 1] if n <= len(offered) else None
    named = set()
    for option in offered:
        kind, _, channel = option.partition(":")
        if find(KEYWORDS[channel or kind], folded):
            named.add(option)
    return named.pop() if len(named) == 1 else None


def choose(conv: Conversation, customer: Customer | None, option: str, at: datetime) -> None:
    """Applies the choice to where the customer is answered. Every choice keeps the place: the routing side
    records the choice on its offer, keeps the queue entry (and its enqueued_at) and stops telling positions
    (RoutingOps.keep_place_quietly)."""
    kind, _, channel = option.partition(":")
    if kind == SWITCH:
        wanted = SWITCHABLE[channel]
        handle = next((h for h in (customer.handles if customer else []) if h["kind"] == wanted), None)
        if handle is not None:
            conv.reply_channel, conv.reply_handle = channel, dict(handle)
    elif kind == CALLBACK:
        conv.reply_channel = "phone"
        conv.callback = {"number": conv.reply_handle.get("value", ""), "requested_at": at}


def answer(ws: Workspace, conv: Conversation, text: str, emit: Notifier) -> str | None:
    """A queued customer's message that picks an offered option: confirm it (where they wrote), apply it
    and return it. None when the message is not a choice (it is then an ordinary message). The caller asks
    the routing side to keep the place quietly."""
    option = recognise(text, pending(conv)) if pending(conv) else None
    if option is None:
        return None
    emit.notify(conv, "queue_position", template=CONFIRMED,
                variables={"confirmation": confirmation(option, conv.language), "choice": option})
    choose(conv, ws.customers.get(conv.customer_id), option, emit.at)
    ws.dirty_conversations.add(conv.id)
    return option
