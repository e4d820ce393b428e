"""A customer reaching out (a message, a call ringing): who they are (identity) and which conversation
it belongs to (threading: open a new one, append, or reopen), then what answers it (the bot, the queue).

Steps of the Engine (engine.py); pure, no I/O.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from . import bot, identity, queue_exit, signals, threads
from .config import SUPPORTED_LANGUAGES, BrandRouting, RouterConfig
from .inputs import MessageIn
from .model import (
    BOT,
    CHAT_SESSION,
    EMAIL,
    QUEUED,
    Conversation,
    Customer,
    Handle,
)
from .workspace import Emitter, Rejected, Workspace

RECENT_TURNS_KEPT = 10


@dataclass(frozen=True, slots=True)
class Contact:
    """A customer reaching out: a message, or a phone call ringing."""

    message_id: str
    event_id: str
    brand_id: str
    channel: str
    sender: Handle
    at: datetime
    handles: tuple[Handle, ...]
    lookup_keys: tuple[str, ...]
    own_keys: tuple[str, ...]
    message: dict
    text: str = ""
    language: str = ""
    language_hint: str = ""
    display_name: str = ""
    auto_reply: bool = False
    postback: str = ""
    attachments: tuple[dict, ...] = ()
    email_threading: dict | None = None



def usable_handle(handle: Handle) -> bool:
    try:
        identity.normalize(handle.kind, handle.value)
    except identity.InvalidHandle:
        return False
    return True


class ContactSteps:
    """Identity, threading and the customer's turn (`config`, `derive` are the Engine's)."""

    config: RouterConfig
    derive: Callable[..., str]

    # ------------------------------------------------------------------ identity
    def _customer(
        self, ws: Workspace, brand: str, handles: list[Handle], at: datetime, input_id: str, name: str = ""
    ) -> Customer:
        handles = self._normalized(handles)
        expanded = identity.expand(handles)
        index = {h: cid for h in expanded if (cid := ws.customer_of(brand, h))}
        decision = identity.resolve(handles, index, self._new_customer_id(ws, brand, expanded[0], input_id))
        customer = ws.customers.get(decision.customer_id)
        if customer is None:
            customer = Customer(id=decision.customer_id, brand_id=brand, created_at=at)
            ws.customers[customer.id] = customer
        for h in decision.new_handles:
            ws.handles[(brand, h)] = customer.id
            # Handles found through the customer's seed-derived id need no index document (identity.py).
            if not identity.seeded(self.derive, brand, h, customer.id):
                ws.new_handles.append((brand, h, customer.id))
            entry = {"kind": h.kind, "value": h.value}
            if entry not in customer.handles:
                customer.handles.append(entry)
        if name and not customer.name:
            customer.name = name  # stored for display; never used to match anyone
        vip_values = self.config.brand_routing(brand).vip_customers
        if vip_values and not customer.vip and any(h["value"].lower() in vip_values for h in customer.handles):
            customer.vip = True
        if decision.created or decision.new_handles or name:
            ws.dirty_customers.add(customer.id)
        return customer

    def _new_customer_id(self, ws: Workspace, brand: str, seed: Handle, input_id: str) -> str:
        """Derived from the seed handle; if a customer holds that id but no longer the seed (it moved
        away), a new customer takes an id of its own input, and all its handles are indexed."""
        customer_id = identity.seed_id(self.derive, brand, seed)
        return customer_id if customer_id not in ws.customers else self.derive(input_id, "customer")

    @staticmethod
    def _normalized(handles: list[Handle]) -> list[Handle]:
        """Canonical handles; the first (the sender's own) must be valid, extra ones are dropped if not."""
        out = []
        for i, h in enumerate(handles):
            try:
                out.append(identity.normalize(h.kind, h.value))
            except identity.InvalidHandle as exc:
                if i == 0:
                    raise Rejected(f"sender handle is unusable: {exc}") from None
        return out

    # ------------------------------------------------------------------ customer contact
    def _message(self, ws: Workspace, inp: MessageIn) -> None:
        if inp.is_echo:
            return  # sent by the brand from the provider's own UI: not a customer turn
        message_id = self.message_id_for(inp)
        if message_id in ws.stored_message_ids:
            return  # already applied (a redelivery, or a provider retry under a new event id): change nothing
        if inp.signal is not None:
            return self._signal(ws, inp, message_id)  # a reaction or a notice: never a contact
        self._contact(ws, _message_contact(ws, inp, message_id))

    def _signal(self, ws: Workspace, inp: MessageIn, message_id: str) -> None:
        """A reaction or a provider notice: history and its own event, never a contact (domain/signals.py)."""
        conv = signals.conversation_for(ws, inp)
        if conv is not None:
            case, data = signals.record(ws, conv, inp, message_id)
            Emitter(ws, self.derive, inp.event_id, inp.brand_id, inp.sent_at).event(conv, case, **data)

    def _contact(self, ws: Workspace, c: Contact) -> Conversation:
        brand, at = c.brand_id, c.at
        routing_cfg = self.config.brand_routing(brand)
        emit = Emitter(ws, self.derive, c.event_id, brand, at)
        customer = self._customer(ws, brand, list(c.handles), at, c.event_id, c.display_name)
        sender = self._normalized([c.sender])[0]
        by_key = next(
            (
                ws.conversations.get(ws.thread_index.get((brand, k), ""))
                for k in c.lookup_keys
                if (brand, k) in ws.thread_index
            ),
            None,
        )
        latest = ws.conversations.get(customer.last_conversation_id)
        decision = threads.decide(
            by_key=by_key, latest_of_customer=latest, now=at, reopen_window=routing_cfg.reopen_window
        )
        ws.stored_message_ids.add(c.message_id)  # a copy later in this batch is a duplicate too
        reply_handle = {"kind": sender.kind, "value": sender.value}
        if decision.action == threads.OPEN:
            conv = self._open(ws, c, customer, reply_handle, routing_cfg, emit)
        else:
            conv = decision.conversation
            assert conv is not None
            if customer.last_conversation_id != conv.id and conv.customer_id == customer.id:
                customer.last_conversation_id = conv.id
                ws.dirty_customers.add(customer.id)
        ws.dirty_conversations.add(conv.id)
        _record_whereabouts(ws, conv, c, customer, reply_handle)
        if decision.action != threads.OPEN:
            self._set_language(conv, c, routing_cfg)
        _find_product_line(conv, c, routing_cfg)
        _append_message(ws, conv, c, emit)
        if decision.action == threads.REOPEN:
            self._reopen(ws, conv, emit, "customer wrote back")
        if c.auto_reply:
            return conv  # out-of-office and similar: kept, never answered, never counted
        if self._customer_turn(ws, conv, c, emit, routing_cfg):
            self.route(ws, brand, emit)
        return conv

    def _open(self, ws: Workspace, c: Contact, customer: Customer, reply_handle: dict, routing_cfg: BrandRouting,
              emit: Emitter) -> Conversation:
        conv = Conversation(
            id=_new_conversation_id(ws, c, self.derive),
            brand_id=c.brand_id,
            customer_id=customer.id,
            opened_at=c.at,
            channel=c.channel,
            customer_name=customer.name,
            vip=customer.vip,
            order_ids=list(customer.order_ids[-5:]),
            reply_handle=reply_handle,
        )
        ws.conversations[conv.id] = conv
        customer.last_conversation_id = conv.id
        ws.dirty_customers.add(customer.id)
        self._set_language(conv, c, routing_cfg)
        emit.event(conv, "conversation_opened", first_message_id=c.message_id)
        return conv

    def _customer_turn(self, ws: Workspace, conv: Conversation, c: Contact, emit: Emitter,
                       routing_cfg: BrandRouting) -> bool:
        """Who answers the customer now. False when they left the queue (nothing to route)."""
        conv.recent_customer_times = [*conv.recent_customer_times, c.at][-RECENT_TURNS_KEPT:]
        conv.awaiting_reply_since = conv.awaiting_reply_since or c.at  # silence counts from the first unanswered
        if conv.phase == BOT:
            self._bot_turn(ws, conv, c, emit)
        elif conv.people_status == QUEUED and (option := queue_exit.answer(ws, conv, c.text, emit)):
            self.keep_place_quietly(ws, conv, option, c.at)
            return False  # the customer picked a way out of the queue (domain/queue_exit.py)
        else:
            self._count_repeat_contact(conv, emit, routing_cfg)
            self.customer_replied(ws, conv, emit)
        return True

    def _set_language(self, conv: Conversation, c: Contact, routing_cfg: BrandRouting) -> None:
        detected = c.language if c.language in SUPPORTED_LANGUAGES else ""
        hint = c.language_hint.split("-")[0].lower() if c.language_hint else ""
        if not conv.language:
            conv.language = detected or (hint if hint in SUPPORTED_LANGUAGES else "") or routing_cfg.default_language
        elif detected and detected != conv.language and len(c.text.strip()) >= 20:
            conv.language = detected  # the customer switched language; short texts are too weak to tell

    def _count_repeat_contact(self, conv: Conversation, emit: Emitter, routing_cfg: BrandRouting) -> None:
        """Messages while waiting for people (not the bot) with no human reply since: chasing."""
        conv.contacts_since_human_reply += 1
        if conv.contacts_since_human_reply >= routing_cfg.repeat_contact_threshold and not conv.repeat_contact_reported:
            conv.repeat_contact_reported = True
            emit.event(conv, "repeat_contact_detected", contacts_without_resolution=conv.contacts_since_human_reply)


def _message_contact(ws: Workspace, inp: MessageIn, message_id: str) -> Contact:
    """A customer message as a contact: the handles it identifies, the thread keys it looks up and owns."""
    handles = [inp.sender, *inp.extra_handles]
    language_hint = inp.language_hint
    if inp.chat_session_id:
        handles.append(Handle(CHAT_SESSION, inp.chat_session_id))
        session = ws.sessions.get(f"{inp.brand_id}/{inp.chat_session_id}")
        if session and session.email:
            handles.append(Handle(EMAIL, session.email))
        if session and not language_hint:
            language_hint = session.language_hint  # the widget's language, given at chat start
    own_keys = []
    if inp.email_message_id:
        own_keys.append(threads.email_key(inp.email_message_id))
    if inp.chat_session_id:
        own_keys.append(threads.chat_key(inp.chat_session_id))
    lookup = threads.lookup_keys(
        email_in_reply_to=inp.email_in_reply_to,
        email_references=inp.email_references,
        chat_session_id=inp.chat_session_id,
    )
    email_threading = _email_threading(inp)
    return Contact(
        message_id=message_id,
        event_id=inp.event_id,
        brand_id=inp.brand_id,
        channel=inp.channel,
        sender=inp.sender,
        at=inp.sent_at,
        handles=tuple(handles),
        lookup_keys=tuple(lookup),
        own_keys=tuple(own_keys),
        message=_message_document(inp, email_threading),
        text=inp.text,
        language=inp.language,
        language_hint=language_hint,
        display_name=inp.display_name,
        auto_reply=inp.auto_reply,
        postback=inp.postback,
        attachments=inp.attachments,
        email_threading=email_threading,
    )


def _email_threading(inp: MessageIn) -> dict | None:
    if inp.channel != "email":
        return None
    return {
        "message_id": inp.email_message_id,
        "in_reply_to": inp.email_in_reply_to,
        "references": list(inp.email_references),
        "subject": inp.email_subject,
    }


def _message_document(inp: MessageIn, email_threading: dict | None) -> dict:
    message = {
        "author": "customer",
        "channel": inp.channel,
        "provider": inp.provider,
        "provider_message_id": inp.provider_message_id,
        "text": inp.text,
        "attachments": [dict(a) for a in inp.attachments],
        "auto_reply": inp.auto_reply,
        "chat_session_id": inp.chat_session_id,
    }
    if email_threading:
        message["email"] = email_threading
    return message


def _new_conversation_id(ws: Workspace, c: Contact, derive) -> str:
    """Named by the thread key the opening contact owns (threads.opened_by); by the input when it has
    none, and when that name is taken (the same key seen again after its conversation closed: a chat
    session used again, a Message-ID sent again; the store loads the conversations these names take)."""
    key = threads.opening_key(c.own_keys)
    named = threads.opened_by(derive, c.brand_id, key) if key else ""
    return named if named and named not in ws.conversations else derive(c.event_id, "conversation")


def _record_whereabouts(ws: Workspace, conv: Conversation, c: Contact, customer: Customer,
                        reply_handle: dict) -> None:
    """Records the message on the conversation, and where the customer is now."""
    conv.channel = c.channel
    if c.channel not in conv.channels:
        conv.channels.append(c.channel)
    conv.channel_counts[c.channel] = conv.channel_counts.get(c.channel, 0) + 1
    conv.reply_handle = reply_handle
    if conv.reply_channel != c.channel:
        conv.reply_channel = ""  # they wrote from elsewhere: answer where they are now
    if c.email_threading:
        conv.email_threading = dict(c.email_threading)
    if customer.name and not conv.customer_name:
        conv.customer_name = customer.name
    conv.vip = conv.vip or customer.vip
    if conv.customer_id == customer.id:  # (someone else replying in the thread says nothing of the customer)
        queue_exit.note_reachable(conv, customer)
    for key in c.own_keys:
        if key not in conv.thread_keys:
            conv.thread_keys.append(key)
        ws.thread_index[(c.brand_id, key)] = conv.id
    conv.message_count += 1
    conv.attachments.extend(dict(a) for a in c.attachments)
    conv.last_customer_message_at = c.at
    conv.updated_at = c.at


def _find_product_line(conv: Conversation, c: Contact, routing_cfg: BrandRouting) -> None:
    if conv.product_line:
        return
    folded = bot.fold(c.text)
    for line, words in routing_cfg.product_line_keywords.items():
        if bot.find(tuple(words), folded):
            conv.product_line = line
            break


def _append_message(ws: Workspace, conv: Conversation, c: Contact, emit: Emitter) -> None:
    doc = dict(c.message, _id=c.message_id, conversation_id=conv.id, brand_id=c.brand_id, at=c.at)
    ws.new_messages.append(doc)
    ws.history.setdefault(conv.id, []).append(doc)
    emit.event(
        conv,
        "customer_message_appended",
        message_id=c.message_id,
        provider_message_id=c.message.get("provider_message_id", ""),
        text_length=len(c.text),
        attachment_count=len(c.attachments),
        auto_reply=c.auto_reply,
    )
