"""The router's decisions applied to in-memory state: one input in, state changes and effects out.

The handler loads everything a batch needs into a Workspace (batched $in lookups), applies every
input in order with `Engine.apply`, then writes the dirty documents in bulk and publishes the
effects. Nothing here does I/O or reads a clock: time comes from the inputs (event time).
Effect ids are derived from the input's event id, so replaying an input yields the same ids.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from . import bot, identity, routing, threads
from .config import SUPPORTED_LANGUAGES, BrandRouting, RouterConfig
from .inputs import (
    CallIn,
    ChatEndIn,
    ChatStartIn,
    CommandIn,
    CsatIn,
    DeliveryIn,
    Input,
    MessageIn,
    OrderIn,
)
from .model import (
    ASSIGNED,
    BOT,
    CHAT_SESSION,
    EMAIL,
    OFFLINE,
    ONLINE,
    QUEUED,
    RESOLVED,
    URGENT,
    WAITING_ON_CUSTOMER,
    WAITING_ON_THIRD_PARTY,
    Agent,
    ChatSession,
    Conversation,
    Customer,
    Handle,
    OrderRecord,
    QueueEntry,
    QueueStats,
    raise_priority,
)

CONVERSATIONS = "conversations"
NOTIFICATIONS = "notifications"

DELIVERY_RANK = {"queued": 1, "sent": 2, "delivered": 3, "read": 4}
AGENT_SETTABLE = {WAITING_ON_CUSTOMER, WAITING_ON_THIRD_PARTY, ASSIGNED}
RECENT_TURNS_KEPT = 10
REPLY_IDS_KEPT = 200
DEQUEUES_KEPT = 50
ASSIGNMENTS_KEPT = 20


class Rejected(ValueError):
    """The input cannot be applied (unknown reference, invalid value). The message says what to fix."""


@dataclass(slots=True)
class Effect:
    topic: str  # conversations | notifications
    case: str  # ConversationEvent oneof case, or notification kind (bot_answer, ...)
    event_id: str
    key: str
    brand_id: str
    occurred_at: datetime
    snapshot: dict
    data: dict
    cause_id: str


@dataclass(slots=True)
class Workspace:
    """State a batch needs, loaded up front; `dirty_*` name what to write back."""

    conversations: dict[str, Conversation] = field(default_factory=dict)
    thread_index: dict[tuple[str, str], str] = field(default_factory=dict)  # (brand, key) -> conversation id
    stored_threads: dict[tuple[str, str], str] = field(default_factory=dict)  # thread_index as loaded
    customers: dict[str, Customer] = field(default_factory=dict)
    handles: dict[tuple[str, Handle], str] = field(default_factory=dict)  # (brand, handle) -> customer id
    agents: dict[str, dict[str, Agent]] = field(default_factory=dict)  # brand -> agent id -> agent
    queue: dict[str, dict[str, QueueEntry]] = field(default_factory=dict)  # brand -> conversation id -> entry
    stats: dict[str, QueueStats] = field(default_factory=dict)  # "<brand>/<queue>"
    orders: dict[str, OrderRecord] = field(default_factory=dict)  # "<brand>/<order_id>"
    sessions: dict[str, ChatSession] = field(default_factory=dict)  # "<brand>/<session id>"
    deliveries: dict[str, dict] = field(default_factory=dict)  # "<brand>/<provider>/<id>"
    history: dict[str, list[dict]] = field(default_factory=dict)  # conversation id -> messages
    new_messages: list[dict] = field(default_factory=list)
    new_handles: list[tuple[str, Handle, str]] = field(default_factory=list)
    dirty_conversations: set[str] = field(default_factory=set)
    dirty_customers: set[str] = field(default_factory=set)
    dirty_agents: set[tuple[str, str]] = field(default_factory=set)
    dirty_queue: set[tuple[str, str]] = field(default_factory=set)
    removed_queue: set[tuple[str, str]] = field(default_factory=set)
    dirty_stats: set[str] = field(default_factory=set)
    dirty_orders: set[str] = field(default_factory=set)
    dirty_sessions: set[str] = field(default_factory=set)
    dirty_deliveries: set[str] = field(default_factory=set)
    merges: list[tuple[str, str, str]] = field(default_factory=list)  # (brand, merged, surviving)
    effects: list[Effect] = field(default_factory=list)
    persisted: set[str] = field(default_factory=set)  # ids of documents that came from the store
    stored_message_ids: set[str] = field(default_factory=set)  # messages of this batch's inputs already stored

    def customer_of(self, brand_id: str, handle: Handle) -> str | None:
        """Follows merges, so a handle of a merged profile resolves to the surviving one."""
        customer_id = self.handles.get((brand_id, handle))
        seen = 0
        while customer_id and customer_id in self.customers and self.customers[customer_id].merged_into and seen < 10:
            customer_id = self.customers[customer_id].merged_into
            seen += 1
        return customer_id


def snapshot(conv: Conversation) -> dict:
    return {
        "conversation_id": conv.id,
        "customer_id": conv.customer_id,
        "channel": conv.channel,
        "status": conv.status,
        "priority": conv.priority,
        "queue": conv.queue,
        "language": conv.language,
        "assignee_id": conv.assignee_id,
        "opened_at": conv.opened_at,
        "reopen_count": conv.reopen_count,
        "region": conv.region,
        "reply_handle": dict(conv.reply_handle),
        "email_threading": dict(conv.email_threading),
        "customer_name": conv.customer_name,
        "order_ids": list(conv.order_ids),
        "human_involved": conv.human_involved,
    }


class _Emitter:
    """Effects of one input, with ids derived from the input id (stable under replay)."""

    def __init__(self, ws: Workspace, derive: Callable[..., str], input_id: str, brand_id: str, at: datetime):
        self.ws, self.derive, self.input_id, self.brand_id, self.at = ws, derive, input_id, brand_id, at
        self._counts: dict[tuple, int] = {}

    def _id(self, *parts: str) -> str:
        n = self._counts.get(parts, 0)
        self._counts[parts] = n + 1
        return self.derive(self.input_id, *parts) if n == 0 else self.derive(self.input_id, *parts, n)

    def event(self, conv: Conversation, case: str, **data) -> str:
        event_id = self._id(case, conv.id or conv.customer_id)
        key = conv.id or f"customer/{conv.customer_id}"  # a merge of customers without any conversation
        self.ws.effects.append(
            Effect(CONVERSATIONS, case, event_id, key, self.brand_id, self.at, snapshot(conv), data, self.input_id)
        )
        return event_id

    def notify(self, conv: Conversation, kind: str, *, intent_id: str | None = None, **data) -> str:
        intent_id = intent_id or self._id("notify", kind, conv.id)
        data.setdefault("recipient", dict(conv.reply_handle))
        data.setdefault("channel", conv.channel)
        data.setdefault("language", conv.language)
        self.ws.effects.append(
            Effect(NOTIFICATIONS, kind, intent_id, conv.id, self.brand_id, self.at, snapshot(conv), data, self.input_id)
        )
        return intent_id


@dataclass(frozen=True, slots=True)
class _Contact:
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


def application_order(inputs: Sequence[Input]) -> list[int]:
    """Positions of a batch's inputs in the order to apply them: as consumed, chat ends last.
    Customer events and agent commands come on different topics, so in one batch an agent's reply
    can sit after the customer's closing of the chat it answered; the transcript must include it."""
    return sorted(range(len(inputs)), key=lambda i: isinstance(inputs[i], ChatEndIn))


def _usable(handle: Handle) -> bool:
    try:
        identity.normalize(handle.kind, handle.value)
    except identity.InvalidHandle:
        return False
    return True


class Engine:
    def __init__(self, config: RouterConfig, derive: Callable[..., str]) -> None:
        self.config = config
        self.derive = derive

    def message_id(self, input_event_id: str) -> str:
        """Id of the message a customer contact stores; its presence in the store marks the input applied."""
        return self.derive(input_event_id, "message")

    def message_id_for(self, inp: MessageIn) -> str:
        """The provider's own message id names the message when there is one, so a provider retry that
        ingest accepted as a new event (new event id) is still recognised as the same message."""
        if inp.provider_message_id:
            return self.derive("message", inp.brand_id, inp.channel, inp.provider, inp.provider_message_id)
        return self.message_id(inp.event_id)

    # ------------------------------------------------------------------ dispatch
    def apply(self, ws: Workspace, inp: Input) -> None:
        """Applies one input. Raises Rejected before changing anything the input cannot apply to."""
        if isinstance(inp, MessageIn):
            self._message(ws, inp)
        elif isinstance(inp, OrderIn):
            self._order(ws, inp)
        elif isinstance(inp, CommandIn):
            self._command(ws, inp)
        elif isinstance(inp, CallIn):
            self._call(ws, inp)
        elif isinstance(inp, ChatStartIn):
            self._chat_started(ws, inp)
        elif isinstance(inp, ChatEndIn):
            self._chat_ended(ws, inp)
        elif isinstance(inp, CsatIn):
            self._csat(ws, inp)
        elif isinstance(inp, DeliveryIn):
            self._delivery(ws, inp)
        else:  # pragma: no cover - the codec only produces the types above
            raise Rejected(f"unsupported input {type(inp).__name__}")

    # ------------------------------------------------------------------ identity
    def _customer(
        self, ws: Workspace, brand: str, handles: list[Handle], at: datetime, input_id: str, name: str = ""
    ) -> Customer:
        handles = self._normalized(handles)
        expanded = identity.expand(handles)
        index = {h: cid for h in expanded if (cid := ws.customer_of(brand, h))}
        decision = identity.resolve(handles, index, self.derive(input_id, "customer"))
        customer = ws.customers.get(decision.customer_id)
        if customer is None:
            customer = Customer(id=decision.customer_id, brand_id=brand, created_at=at)
            ws.customers[customer.id] = customer
        for h in decision.new_handles:
            ws.handles[(brand, h)] = customer.id
            ws.new_handles.append((brand, h, customer.id))
            customer.handles.append({"kind": h.kind, "value": h.value})
        if name and not customer.name:
            customer.name = name  # stored for display; never used to match anyone
        vip_values = self.config.brand_routing(brand).vip_customers
        if vip_values and not customer.vip and any(h["value"].lower() in vip_values for h in customer.handles):
            customer.vip = True
        if decision.created or decision.new_handles or name:
            ws.dirty_customers.add(customer.id)
        return customer

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
        email_threading = None
        if inp.channel == "email":
            email_threading = {
                "message_id": inp.email_message_id,
                "in_reply_to": inp.email_in_reply_to,
                "references": list(inp.email_references),
                "subject": inp.email_subject,
            }
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
        self._contact(
            ws,
            _Contact(
                message_id=message_id,
                event_id=inp.event_id,
                brand_id=inp.brand_id,
                channel=inp.channel,
                sender=inp.sender,
                at=inp.sent_at,
                handles=tuple(handles),
                lookup_keys=tuple(lookup),
                own_keys=tuple(own_keys),
                message=message,
                text=inp.text,
                language=inp.language,
                language_hint=language_hint,
                display_name=inp.display_name,
                auto_reply=inp.auto_reply,
                postback=inp.postback,
                attachments=inp.attachments,
                email_threading=email_threading,
            ),
        )

    def _contact(self, ws: Workspace, c: _Contact) -> Conversation:
        brand, at = c.brand_id, c.at
        routing_cfg = self.config.brand_routing(brand)
        emit = _Emitter(ws, self.derive, c.event_id, brand, at)
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
        message_id = c.message_id
        ws.stored_message_ids.add(message_id)  # a copy later in this batch is a duplicate too
        reply_handle = {"kind": sender.kind, "value": sender.value}
        if decision.action == threads.OPEN:
            conv = Conversation(
                id=self.derive(c.event_id, "conversation"),
                brand_id=brand,
                customer_id=customer.id,
                opened_at=at,
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
            emit.event(conv, "conversation_opened", first_message_id=message_id)
        else:
            conv = decision.conversation
            assert conv is not None
            if customer.last_conversation_id != conv.id and conv.customer_id == customer.id:
                customer.last_conversation_id = conv.id
                ws.dirty_customers.add(customer.id)
        ws.dirty_conversations.add(conv.id)
        # Record the message and where the customer is now.
        conv.channel = c.channel
        if c.channel not in conv.channels:
            conv.channels.append(c.channel)
        conv.channel_counts[c.channel] = conv.channel_counts.get(c.channel, 0) + 1
        conv.reply_handle = reply_handle
        if c.email_threading:
            conv.email_threading = dict(c.email_threading)
        if customer.name and not conv.customer_name:
            conv.customer_name = customer.name
        conv.vip = conv.vip or customer.vip
        for key in c.own_keys:
            if key not in conv.thread_keys:
                conv.thread_keys.append(key)
            ws.thread_index[(brand, key)] = conv.id
        conv.message_count += 1
        conv.attachments.extend(dict(a) for a in c.attachments)
        conv.last_customer_message_at = at
        conv.updated_at = at
        if decision.action != threads.OPEN:
            self._set_language(conv, c, routing_cfg)
        if not conv.product_line:
            folded = bot.fold(c.text)
            for line, words in routing_cfg.product_line_keywords.items():
                if bot.find(tuple(words), folded):
                    conv.product_line = line
                    break
        doc = dict(c.message, _id=message_id, conversation_id=conv.id, brand_id=brand, at=at)
        ws.new_messages.append(doc)
        ws.history.setdefault(conv.id, []).append(doc)
        emit.event(
            conv,
            "customer_message_appended",
            message_id=message_id,
            provider_message_id=c.message.get("provider_message_id", ""),
            text_length=len(c.text),
            attachment_count=len(c.attachments),
            auto_reply=c.auto_reply,
        )
        if decision.action == threads.REOPEN:
            self._reopen(ws, conv, emit, "customer wrote back")
        if c.auto_reply:
            return conv  # out-of-office and similar: kept, never answered, never counted
        conv.recent_customer_times = [*conv.recent_customer_times, at][-RECENT_TURNS_KEPT:]
        if conv.status == BOT:
            self._bot_turn(ws, conv, c, emit)
        else:
            self._count_repeat_contact(conv, emit, routing_cfg)
            if conv.status == WAITING_ON_CUSTOMER:
                previous = conv.status
                if conv.assignee_id:
                    conv.status = ASSIGNED
                    emit.event(conv, "status_changed", previous=previous, current=ASSIGNED, reason="customer replied")
                else:
                    self._enqueue(ws, conv, emit)
        self._route(ws, brand, emit)
        return conv

    def _set_language(self, conv: Conversation, c: _Contact, routing_cfg: BrandRouting) -> None:
        detected = c.language if c.language in SUPPORTED_LANGUAGES else ""
        hint = c.language_hint.split("-")[0].lower() if c.language_hint else ""
        if not conv.language:
            conv.language = detected or (hint if hint in SUPPORTED_LANGUAGES else "") or routing_cfg.default_language
        elif detected and detected != conv.language and len(c.text.strip()) >= 20:
            conv.language = detected  # the customer switched language; short texts are too weak to tell

    def _count_repeat_contact(self, conv: Conversation, emit: _Emitter, routing_cfg: BrandRouting) -> None:
        """Messages while waiting for people (not the bot) with no human reply since: chasing."""
        conv.contacts_since_human_reply += 1
        if conv.contacts_since_human_reply >= routing_cfg.repeat_contact_threshold and not conv.repeat_contact_reported:
            conv.repeat_contact_reported = True
            emit.event(conv, "repeat_contact_detected", contacts_without_resolution=conv.contacts_since_human_reply)

    # ------------------------------------------------------------------ bot
    def _order_facts(self, ws: Workspace, conv: Conversation) -> list[bot.OrderFacts]:
        facts = []
        for order_id in conv.order_ids:
            rec = ws.orders.get(f"{conv.brand_id}/{order_id}")
            if rec is not None:
                eta = rec.estimated_delivery.date().isoformat() if rec.estimated_delivery else ""
                facts.append(
                    bot.OrderFacts(
                        rec.order_id, rec.order_number, rec.kind, rec.carrier, rec.tracking_url, eta, rec.reason
                    )
                )
        return facts

    def _bot_turn(self, ws: Workspace, conv: Conversation, c: _Contact, emit: _Emitter) -> None:
        config = self.config.brand_bot(conv.brand_id)
        turn = bot.BotTurn(
            text=c.text,
            language=conv.language or "en",
            channel=c.channel,
            at=c.at,
            orders=tuple(self._order_facts(ws, conv)),
            postback=c.postback,
            recent_customer_times=tuple(conv.recent_customer_times),
        )
        outcome = bot.decide(config, conv, turn)
        if isinstance(outcome, bot.Handoff):
            self._handoff(ws, conv, emit, outcome.reason, outcome.raise_priority, named_order=outcome.named_order)
            return
        conv.bot_answer_keys.append(outcome.answer_key)
        conv.bot_text_digests.append(outcome.text_digest)
        if outcome.answer_key == bot.CLARIFY:
            conv.bot_unmatched_turns += 1
        intent_id = self.derive(c.event_id, "bot_answer")
        emit.event(conv, "bot_replied", answer_key=outcome.answer_key, intent_id=intent_id)
        emit.notify(
            conv,
            "bot_answer",
            intent_id=intent_id,
            template="",
            language=outcome.language,
            variables=dict(outcome.variables, answer_key=outcome.answer_key),
            text=outcome.text,
        )
        doc = {
            "_id": self.derive(c.event_id, "bot_message"),
            "conversation_id": conv.id,
            "brand_id": conv.brand_id,
            "author": "bot",
            "channel": conv.channel,
            "text": outcome.text,
            "answer_key": outcome.answer_key,
            "intent_id": intent_id,
            "at": c.at,
        }
        ws.new_messages.append(doc)
        ws.history.setdefault(conv.id, []).append(doc)

    def _handoff(self, ws: Workspace, conv: Conversation, emit: _Emitter, reason: str, raise_prio: bool,
                 named_order: str = "") -> None:
        if raise_prio and conv.priority < URGENT:
            previous = conv.priority
            conv.priority = raise_priority(previous)
            emit.event(conv, "priority_changed", previous=previous, current=conv.priority, reason=f"bot: {reason}")
        customer = ws.customers.get(conv.customer_id)
        summary = bot.handoff_summary(
            conv,
            reason=reason,
            orders=self._order_facts(ws, conv),
            channel_history=[{"channel": ch, "messages": n} for ch, n in conv.channel_counts.items()],
            customer_name=customer.name if customer else conv.customer_name,
            named_order=named_order,
        )
        conv.handoffs.append({"at": emit.at, "reason": reason, "summary": summary})
        emit.event(conv, "conversation_handed_off", reason=reason, summary=bot.summary_text(summary))
        self._enqueue(ws, conv, emit)

    # ------------------------------------------------------------------ queue and routing
    def _enqueue(self, ws: Workspace, conv: Conversation, emit: _Emitter) -> None:
        cfg = self.config.brand_routing(conv.brand_id)
        conv.queue = cfg.choose_queue(
            language=conv.language, channel=conv.channel, product_line=conv.product_line, vip=conv.vip
        )
        conv.status = QUEUED
        conv.updated_at = emit.at
        queue = ws.queue.setdefault(conv.brand_id, {})
        entry = queue.get(conv.id)
        if entry is None:
            entry = QueueEntry(
                id=conv.id,
                brand_id=conv.brand_id,
                queue=conv.queue,
                priority=conv.priority,
                channel=conv.channel,
                capacity_class=cfg.capacity_class(conv.channel),
                language=conv.language,
                enqueued_at=emit.at,
                product_line=conv.product_line,
                vip=conv.vip,
                preferred_agent=conv.assignee_id or conv.previous_assignee_id,
            )
            queue[conv.id] = entry
        ws.removed_queue.discard((conv.brand_id, conv.id))
        ws.dirty_queue.add((conv.brand_id, conv.id))
        ws.dirty_conversations.add(conv.id)
        position = routing.positions(queue.values(), cfg.class_rank)[conv.id][1]
        eta = self._eta(ws, cfg, conv.brand_id, conv.queue, position, emit.at)
        emit.event(conv, "conversation_queued", queue=conv.queue, position=position, eta_seconds=eta)

    def _eta(self, ws: Workspace, cfg: BrandRouting, brand: str, queue: str, position: int, at: datetime) -> int:
        stats = ws.stats.get(f"{brand}/{queue}")
        return routing.eta_seconds(
            position, stats.dequeued_at if stats else [], at, cfg.eta_window, cfg.eta_default_per_position
        )

    def _stats(self, ws: Workspace, brand: str, queue: str) -> QueueStats:
        key = f"{brand}/{queue}"
        stats = ws.stats.get(key)
        if stats is None:
            stats = ws.stats[key] = QueueStats(id=key, brand_id=brand, queue=queue)
        return stats

    def _dequeue(self, ws: Workspace, conv: Conversation) -> None:
        entry = ws.queue.get(conv.brand_id, {}).pop(conv.id, None)
        if entry is not None:
            ws.removed_queue.add((conv.brand_id, conv.id))
            ws.dirty_queue.discard((conv.brand_id, conv.id))

    def _route(self, ws: Workspace, brand: str, emit: _Emitter) -> None:
        """Assigns whatever can be assigned now, then tells waiting customers where they stand."""
        queue = ws.queue.get(brand)
        if not queue:
            return
        cfg = self.config.brand_routing(brand)
        agents = list(ws.agents.get(brand, {}).values())
        for entry, choice in routing.drain(list(queue.values()), agents, cfg.class_rank, emit.at):
            conv = ws.conversations[entry.id]
            self._dequeue(ws, conv)
            stats = self._stats(ws, brand, entry.queue)
            stats.dequeued_at = [*stats.dequeued_at, emit.at][-DEQUEUES_KEPT:]
            ws.dirty_stats.add(stats.id)
            ws.dirty_agents.add((brand, choice.agent_id))
            self._assigned(ws, conv, choice, entry.capacity_class, emit)
        positions = routing.positions(queue.values(), cfg.class_rank)
        for conv_id, (queue_name, position) in positions.items():
            entry = queue[conv_id]
            if not routing.should_notify(entry.last_notified_position, position, cfg.position_step):
                continue
            first = entry.last_notified_position == 0
            entry.last_notified_position = position
            ws.dirty_queue.add((brand, conv_id))
            conv = ws.conversations[conv_id]
            eta = self._eta(ws, cfg, brand, queue_name, position, emit.at)
            if not first:
                emit.event(conv, "queue_position_changed", queue=queue_name, position=position, eta_seconds=eta)
            emit.notify(
                conv,
                "queue_position",
                template="queue_position",
                variables={
                    "queue": queue_name,
                    "position": str(position),
                    "eta_seconds": str(eta),
                    "eta_minutes": str(max(1, -(-eta // 60))),
                },
            )

    def _assigned(
        self, ws: Workspace, conv: Conversation, choice: routing.Choice, capacity_class: str, emit: _Emitter
    ) -> None:
        """Records an assignment whose capacity was already booked on the new agent."""
        previous = conv.assignee_id
        if previous and previous != choice.agent_id:
            self._release(ws, conv)
            conv.reassignment_count += 1
        if previous:
            conv.previous_assignee_id = previous
        conv.assignee_id = choice.agent_id
        conv.booked_class = capacity_class
        conv.status = ASSIGNED
        conv.assigned_at = emit.at
        conv.updated_at = emit.at
        ws.dirty_conversations.add(conv.id)
        conv.assignment_history = [
            *conv.assignment_history,
            {
                "at": emit.at,
                "agent_id": choice.agent_id,
                "previous": previous,
                "rule": choice.rule,
                "explanation": choice.explanation,
            },
        ][-ASSIGNMENTS_KEPT:]
        emit.event(
            conv,
            "conversation_assigned",
            assignee_id=choice.agent_id,
            previous_assignee_id=previous,
            rule=choice.rule,
            explanation=choice.explanation,
            reassignment_count=conv.reassignment_count,
        )

    def _release(self, ws: Workspace, conv: Conversation) -> None:
        agent = ws.agents.get(conv.brand_id, {}).get(conv.assignee_id)
        if agent is not None and conv.booked_class:
            routing.release(agent, conv.booked_class, conv.id)
            ws.dirty_agents.add((conv.brand_id, agent.agent_id))
        conv.booked_class = ""

    def _assign_directly(
        self, ws: Workspace, conv: Conversation, agent_id: str, rule: str, explanation: str, emit: _Emitter
    ) -> None:
        """Manual or implicit assignment (an agent replied, answered the call): books capacity even
        beyond the limit, because the agent chose to take it."""
        if conv.assignee_id == agent_id and conv.status not in (BOT, QUEUED):
            return
        self._dequeue(ws, conv)
        cfg = self.config.brand_routing(conv.brand_id)
        capacity_class = cfg.capacity_class(conv.channel)
        if conv.assignee_id and conv.assignee_id != agent_id:
            self._release(ws, conv)
        agent = ws.agents.get(conv.brand_id, {}).get(agent_id)
        booked = ""
        if agent is not None and conv.id not in agent.active:
            routing.take(
                agent,
                QueueEntry(
                    id=conv.id,
                    brand_id=conv.brand_id,
                    queue=conv.queue,
                    priority=0,
                    channel=conv.channel,
                    capacity_class=capacity_class,
                    language="",
                    enqueued_at=emit.at,
                ),
                conv.id,
                emit.at,
            )
            ws.dirty_agents.add((conv.brand_id, agent_id))
            booked = capacity_class
        elif agent is not None:
            booked = conv.booked_class or capacity_class
        self._assigned(ws, conv, routing.Choice(agent_id, rule, explanation), booked, emit)

    # ------------------------------------------------------------------ lifecycle
    def _reopen(self, ws: Workspace, conv: Conversation, emit: _Emitter, reason: str) -> None:
        conv.reopen_count += 1
        conv.resolved_at = None
        conv.bot_unmatched_turns = 0
        conv.contacts_since_human_reply = 0
        conv.repeat_contact_reported = False
        # A person already knows this case: back to them (sticky), not to the bot.
        had_human = conv.human_involved or conv.assignee_id or conv.previous_assignee_id
        conv.status = QUEUED if had_human else BOT
        emit.event(conv, "conversation_reopened", reason=reason)
        if had_human:
            if conv.assignee_id:
                conv.previous_assignee_id = conv.assignee_id
                conv.assignee_id = ""
            self._enqueue(ws, conv, emit)

    def _resolve(self, ws: Workspace, conv: Conversation, emit: _Emitter, by: str, code: str) -> None:
        self._dequeue(ws, conv)
        self._release(ws, conv)
        conv.status = RESOLVED
        conv.resolved_at = emit.at
        conv.updated_at = emit.at
        ws.dirty_conversations.add(conv.id)
        emit.event(conv, "conversation_resolved", resolved_by=by, resolution_code=code)
        if not conv.csat_requested:
            conv.csat_requested = True
            cfg = self.config.brand_routing(conv.brand_id)
            recipient, channel = self._preferred_address(ws, conv)
            emit.notify(
                conv,
                "csat_survey",
                intent_id=self.derive("csat", conv.brand_id, conv.id),
                template="csat_survey",
                variables={"conversation_id": conv.id},
                recipient=recipient,
                channel=channel,
                not_before=emit.at + cfg.csat_delay,
            )

    def _preferred_address(self, ws: Workspace, conv: Conversation) -> tuple[dict, str]:
        """Email when we know one (surveys and transcripts outlive a chat window), else the reply handle."""
        customer = ws.customers.get(conv.customer_id)
        for h in customer.handles if customer else []:
            if h["kind"] == EMAIL:
                return dict(h), "email"
        return dict(conv.reply_handle), conv.channel

    # ------------------------------------------------------------------ orders
    def _order(self, ws: Workspace, inp: OrderIn) -> None:
        brand = inp.brand_id
        key = f"{brand}/{inp.order_id}"
        record = ws.orders.get(key)
        if record is not None and any(h.get("event_id") == inp.event_id for h in record.history):
            return  # already applied: a second priority raise for the same delay would be wrong
        customer = None
        # An order's handles are the shop's data: unusable ones are dropped, never a reason to lose the order.
        usable = [h for h in inp.handles if _usable(h)]
        if usable:
            customer = self._customer(ws, brand, usable, inp.occurred_at, inp.event_id, inp.customer_name)
        elif record is not None and record.customer_id:
            customer = ws.customers.get(record.customer_id)
        if record is None:
            record = OrderRecord(
                id=key, brand_id=brand, order_id=inp.order_id, kind=inp.kind, occurred_at=inp.occurred_at
            )
            ws.orders[key] = record
        if inp.occurred_at >= record.occurred_at or not record.history:
            record.kind = inp.kind  # the latest fact wins; an older one arriving late only joins the history
            record.occurred_at = inp.occurred_at
            for name in ("order_number", "carrier", "tracking_number", "tracking_url", "reason"):
                value = getattr(inp, name)
                if value:
                    setattr(record, name, value)
            if inp.estimated_delivery:
                record.estimated_delivery = inp.estimated_delivery
        if not any(h.get("event_id") == inp.event_id for h in record.history):
            record.history.append({"kind": inp.kind, "at": inp.occurred_at, "event_id": inp.event_id})
        if customer is not None:
            record.customer_id = customer.id
            if inp.order_id not in customer.order_ids:
                customer.order_ids.append(inp.order_id)
                ws.dirty_customers.add(customer.id)
        ws.dirty_orders.add(key)
        conv = ws.conversations.get(customer.last_conversation_id) if customer else None
        if conv is None or not conv.is_open:
            return
        emit = _Emitter(ws, self.derive, inp.event_id, brand, inp.occurred_at)
        if inp.order_id not in conv.order_ids:
            conv.order_ids.append(inp.order_id)
        ws.dirty_conversations.add(conv.id)
        emit.event(conv, "order_linked", order=inp)
        if inp.kind == "delayed" and conv.priority < URGENT:
            previous = conv.priority
            conv.priority = raise_priority(previous)
            self._reprioritize(ws, conv)
            emit.event(conv, "priority_changed", previous=previous, current=conv.priority, reason="order delayed")
            self._route(ws, brand, emit)

    def _reprioritize(self, ws: Workspace, conv: Conversation) -> None:
        entry = ws.queue.get(conv.brand_id, {}).get(conv.id)
        if entry is not None:
            entry.priority = conv.priority
            ws.dirty_queue.add((conv.brand_id, conv.id))

    # ------------------------------------------------------------------ calls, chats, CSAT, delivery
    def _call(self, ws: Workspace, inp: CallIn) -> None:
        key = threads.call_key(inp.call_id)
        conv_id = ws.thread_index.get((inp.brand_id, key))
        if inp.state in ("queued", "ringing") or (inp.state == "in_progress" and conv_id is None):
            if conv_id is None:
                if inp.caller is None:
                    raise Rejected("CallStatusReported.caller is required to open a phone conversation")
                conv = self._contact(
                    ws,
                    _Contact(
                        message_id=self.message_id(inp.event_id),
                        event_id=inp.event_id,
                        brand_id=inp.brand_id,
                        channel="phone",
                        sender=inp.caller,
                        at=inp.occurred_at,
                        handles=(inp.caller,),
                        lookup_keys=(key,),
                        own_keys=(key,),
                        message={
                            "author": "customer",
                            "channel": "phone",
                            "kind": "call",
                            "call_id": inp.call_id,
                            "provider_message_id": inp.call_id,
                            "text": "",
                        },
                    ),
                )
                conv.calls[inp.call_id] = {"ringing_at": inp.occurred_at, "state": inp.state}
                conv_id = conv.id
            if inp.state != "in_progress":
                return
        if conv_id is None or conv_id not in ws.conversations:
            return  # a late status of a call we never saw ring: nothing to attach it to
        conv = ws.conversations[conv_id]
        call = conv.calls.setdefault(inp.call_id, {})
        ws.dirty_conversations.add(conv.id)
        if inp.state == "in_progress":
            if call.get("answered_at"):
                return
            call.update(state="in_progress", answered_at=inp.occurred_at)
            emit = _Emitter(ws, self.derive, inp.event_id, inp.brand_id, inp.occurred_at)
            emit.event(
                conv,
                "call_answered",
                call_id=inp.call_id,
                ringing_at=call.get("ringing_at"),
                answered_at=inp.occurred_at,
            )
            if inp.agent_id and inp.agent_id in ws.agents.get(inp.brand_id, {}) and conv.status != RESOLVED:
                self._assign_directly(
                    ws, conv, inp.agent_id, "answered_call", f"{inp.agent_id} answered the call", emit
                )
                self._route(ws, inp.brand_id, emit)
        else:
            call["state"] = inp.state
            call["ended_at"] = inp.occurred_at

    def _chat_started(self, ws: Workspace, inp: ChatStartIn) -> None:
        handles = [Handle(CHAT_SESSION, inp.chat_session_id)]
        email = ""
        if inp.email:
            try:
                email = identity.normalize(EMAIL, inp.email).value
                handles.append(Handle(EMAIL, email))
            except identity.InvalidHandle:
                email = ""  # a typo in a pre-chat form must not block the chat
        customer = self._customer(ws, inp.brand_id, handles, inp.started_at, inp.event_id, inp.customer_name)
        key = f"{inp.brand_id}/{inp.chat_session_id}"
        ws.sessions[key] = ChatSession(
            id=key,
            brand_id=inp.brand_id,
            chat_session_id=inp.chat_session_id,
            started_at=inp.started_at,
            customer_id=customer.id,
            customer_name=inp.customer_name,
            email=email,
            language_hint=inp.language_hint,
            transcript_opt_out=inp.transcript_opt_out,
        )
        ws.dirty_sessions.add(key)

    def _chat_ended(self, ws: Workspace, inp: ChatEndIn) -> None:
        key = f"{inp.brand_id}/{inp.chat_session_id}"
        session = ws.sessions.get(key)
        if session is not None:
            session.ended_at = inp.ended_at
            ws.dirty_sessions.add(key)
        conv = ws.conversations.get(ws.thread_index.get((inp.brand_id, threads.chat_key(inp.chat_session_id)), ""))
        if conv is None:
            return  # a chat that never got a message: nothing to transcribe
        email = session.email if session else ""
        if not email:
            address, channel = self._preferred_address(ws, conv)
            email = address.get("value", "") if channel == "email" else ""
        opted_out = bool(session and session.transcript_opt_out)
        requested = bool(email) and not opted_out
        emit = _Emitter(ws, self.derive, inp.event_id, inp.brand_id, inp.ended_at)
        emit.event(conv, "chat_ended", chat_session_id=inp.chat_session_id, transcript_requested=requested)
        if requested:
            transcript = self._transcript(ws, conv, session.started_at if session else None)
            emit.notify(
                conv,
                "transcript",
                template="chat_transcript",
                text=transcript,
                variables={"transcript": transcript, "chat_session_id": inp.chat_session_id},
                recipient={"kind": EMAIL, "value": email},
                channel="email",
            )

    def _transcript(self, ws: Workspace, conv: Conversation, since: datetime | None) -> str:
        labels = {"customer": "Customer", "bot": "Bot", "agent": "Agent"}
        lines = []
        for m in sorted(ws.history.get(conv.id, []), key=lambda m: (m["at"], m["_id"])):
            if m.get("internal") or m.get("author") not in labels or not m.get("text"):
                continue
            if since is not None and m["at"] < since:
                continue
            who = labels[m["author"]] + (f" ({m['agent_id']})" if m.get("agent_id") else "")
            lines.append(f"[{m['at'].strftime('%Y-%m-%d %H:%M')} UTC] {who}: {m['text']}")
        return "\n".join(lines)

    def _csat(self, ws: Workspace, inp: CsatIn) -> None:
        conv = ws.conversations.get(inp.conversation_id)
        if conv is None:
            raise Rejected(f"CsatAnswered.conversation_id {inp.conversation_id!r} is not a known conversation")
        if not 1 <= inp.score <= 5:
            raise Rejected(f"CsatAnswered.score must be 1..5, got {inp.score}")
        conv.csat_score = inp.score
        ws.dirty_conversations.add(conv.id)
        _Emitter(ws, self.derive, inp.event_id, inp.brand_id, inp.answered_at).event(
            conv, "csat_recorded", score=inp.score
        )

    def _delivery(self, ws: Workspace, inp: DeliveryIn) -> None:
        key = f"{inp.brand_id}/{inp.provider}/{inp.provider_message_id}"
        doc = ws.deliveries.get(key)
        if doc is None:
            doc = ws.deliveries[key] = {
                "_id": key,
                "brand_id": inp.brand_id,
                "provider": inp.provider,
                "provider_message_id": inp.provider_message_id,
                "state": "",
                "updated_at": inp.occurred_at,
            }
        current = DELIVERY_RANK.get(doc["state"], 0)
        if inp.state == "failed":
            if current >= DELIVERY_RANK["delivered"]:
                return  # delivered or read beats a late failure report
        elif DELIVERY_RANK.get(inp.state, 0) <= current:
            return  # never regress: sent < delivered < read
        doc["state"] = inp.state
        doc["updated_at"] = inp.occurred_at
        if inp.error_code:
            doc["error_code"] = inp.error_code
        ws.dirty_deliveries.add(key)

    # ------------------------------------------------------------------ agent commands
    def _command(self, ws: Workspace, cmd: CommandIn) -> None:
        emit = _Emitter(ws, self.derive, cmd.event_id, cmd.brand_id, cmd.at)
        if cmd.kind == "set_agent_presence":
            self._presence(ws, cmd, emit)
            return
        if cmd.kind == "merge_customers":
            self._merge(ws, cmd, emit)
            return
        if not cmd.conversation_id:
            raise Rejected(f"{cmd.kind}.conversation_id is required")
        conv = ws.conversations.get(cmd.conversation_id)
        if conv is None or conv.brand_id != cmd.brand_id:
            raise Rejected(
                f"{cmd.kind}.conversation_id {cmd.conversation_id!r} is not a conversation of brand {cmd.brand_id!r}"
            )
        f = cmd.fields
        ws.dirty_conversations.add(conv.id)
        if cmd.kind == "assign_conversation":
            assignee = f.get("assignee_id") or cmd.agent_id
            if assignee not in ws.agents.get(cmd.brand_id, {}):
                raise Rejected(f"assign_conversation.assignee_id {assignee!r} is not an agent of {cmd.brand_id!r}")
            if conv.status == RESOLVED:
                raise Rejected("assign_conversation: the conversation is resolved; reopen it first")
            if f.get("queue"):
                conv.queue = f["queue"]
            self._assign_directly(ws, conv, assignee, routing.MANUAL, f"assigned by {cmd.agent_id or 'desk'}", emit)
        elif cmd.kind == "reply_to_conversation":
            self._reply(ws, conv, cmd, emit)
        elif cmd.kind == "add_internal_note":
            doc = {
                "_id": self.derive(cmd.event_id, "note"),
                "conversation_id": conv.id,
                "brand_id": conv.brand_id,
                "author": "agent",
                "agent_id": cmd.agent_id,
                "internal": True,
                "text": f.get("text", ""),
                "at": cmd.at,
            }
            ws.new_messages.append(doc)
            ws.history.setdefault(conv.id, []).append(doc)
            emit.event(conv, "internal_note_added", agent_id=cmd.agent_id)
        elif cmd.kind == "resolve_conversation":
            if conv.status != RESOLVED:
                self._resolve(ws, conv, emit, cmd.agent_id or "desk", f.get("resolution_code", ""))
        elif cmd.kind == "reopen_conversation":
            if conv.status == RESOLVED:
                self._reopen(ws, conv, emit, f.get("reason") or "reopened by agent")
        elif cmd.kind == "set_conversation_status":
            status = f.get("status", "")
            if status not in AGENT_SETTABLE:
                raise Rejected(
                    f"set_conversation_status.status must be one of {sorted(AGENT_SETTABLE)}, got {status!r}"
                )
            if conv.status == RESOLVED:
                raise Rejected("set_conversation_status: the conversation is resolved; reopen it first")
            if status == ASSIGNED and not conv.assignee_id:
                raise Rejected("set_conversation_status: ASSIGNED needs an assignee; use assign_conversation")
            if status != conv.status:
                previous = conv.status
                if previous == QUEUED:
                    self._dequeue(ws, conv)
                conv.status = status
                emit.event(conv, "status_changed", previous=previous, current=status, reason=f.get("reason", ""))
        elif cmd.kind == "change_priority":
            priority = int(f.get("priority", 0))
            if not 1 <= priority <= URGENT:
                raise Rejected(f"change_priority.priority must be LOW..URGENT, got {priority}")
            if priority != conv.priority:
                previous = conv.priority
                conv.priority = priority
                self._reprioritize(ws, conv)
                emit.event(conv, "priority_changed", previous=previous, current=priority, reason=f.get("reason", ""))
        elif cmd.kind == "acknowledge_escalation":
            escalation_id = f.get("escalation_id", "")
            if not escalation_id:
                raise Rejected("acknowledge_escalation.escalation_id is required")
            if escalation_id not in conv.escalations_acknowledged:
                conv.escalations_acknowledged.append(escalation_id)
                emit.event(conv, "escalation_acknowledged", escalation_id=escalation_id, agent_id=cmd.agent_id)
        else:
            raise Rejected(f"unsupported agent command {cmd.kind!r}")
        self._route(ws, cmd.brand_id, emit)

    def _reply(self, ws: Workspace, conv: Conversation, cmd: CommandIn, emit: _Emitter) -> None:
        f = cmd.fields
        text = f.get("text", "")
        if not text.strip() and not f.get("attachments"):
            raise Rejected("reply_to_conversation.text is empty")
        reply_id = f.get("reply_id") or cmd.event_id
        if reply_id in conv.reply_ids:
            return  # the desk sent the same reply twice
        if not cmd.agent_id:
            raise Rejected("AgentCommand.agent_id is required for a reply")
        if conv.status == BOT:
            emit.event(
                conv,
                "conversation_handed_off",
                reason=bot.AGENT_TOOK_OVER,
                summary=f"Agent {cmd.agent_id} took over from the bot.",
            )
        if conv.status in (BOT, QUEUED) or (
            conv.status != RESOLVED and conv.assignee_id != cmd.agent_id and not conv.assignee_id
        ):
            self._assign_directly(
                ws, conv, cmd.agent_id, routing.AGENT_REPLIED, f"{cmd.agent_id} replied to the customer", emit
            )
        conv.reply_ids = [*conv.reply_ids, reply_id][-REPLY_IDS_KEPT:]
        conv.human_involved = True
        conv.contacts_since_human_reply = 0
        conv.repeat_contact_reported = False
        conv.updated_at = cmd.at
        intent_id = self.derive("agent_reply", conv.brand_id, conv.id, reply_id)
        doc = {
            "_id": self.derive("agent_reply_message", conv.brand_id, conv.id, reply_id),
            "conversation_id": conv.id,
            "brand_id": conv.brand_id,
            "author": "agent",
            "agent_id": cmd.agent_id,
            "channel": conv.channel,
            "text": text,
            "attachments": list(f.get("attachments", [])),
            "reply_id": reply_id,
            "intent_id": intent_id,
            "at": cmd.at,
        }
        ws.new_messages.append(doc)
        ws.history.setdefault(conv.id, []).append(doc)
        emit.event(conv, "agent_replied", agent_id=cmd.agent_id, reply_id=reply_id, intent_id=intent_id)
        emit.notify(
            conv, "agent_reply", intent_id=intent_id, template="", text=text, variables={"agent_id": cmd.agent_id}
        )

    def _presence(self, ws: Workspace, cmd: CommandIn, emit: _Emitter) -> None:
        agent = ws.agents.get(cmd.brand_id, {}).get(cmd.agent_id)
        if agent is None:
            raise Rejected(
                f"set_agent_presence: {cmd.agent_id!r} is not an agent of {cmd.brand_id!r} (add it to routing.yaml)"
            )
        presence = cmd.fields.get("presence", "")
        if presence not in (ONLINE, "away", OFFLINE):
            raise Rejected(f"set_agent_presence.presence must be online, away or offline, got {presence!r}")
        if presence == agent.presence:
            return
        if presence == ONLINE:
            agent.idle_since = cmd.at  # idle from the moment they are available
        agent.presence = presence
        ws.dirty_agents.add((cmd.brand_id, agent.agent_id))
        self._route(ws, cmd.brand_id, emit)

    def _merge(self, ws: Workspace, cmd: CommandIn, emit: _Emitter) -> None:
        surviving_id = cmd.fields.get("surviving_customer_id", "")
        merged_id = cmd.fields.get("merged_customer_id", "")
        surviving, merged = ws.customers.get(surviving_id), ws.customers.get(merged_id)
        if surviving is None or merged is None or surviving.brand_id != cmd.brand_id or merged.brand_id != cmd.brand_id:
            raise Rejected(
                f"merge_customers: both customers must exist in brand {cmd.brand_id!r} "
                f"(surviving {surviving_id!r}, merged {merged_id!r})"
            )
        if surviving_id == merged_id:
            raise Rejected("merge_customers: a customer cannot be merged into itself")
        if merged.merged_into == surviving_id:
            return
        merged.merged_into = surviving_id
        for h in merged.handles:
            if h not in surviving.handles:
                surviving.handles.append(h)
            ws.handles[(cmd.brand_id, Handle(h["kind"], h["value"]))] = surviving_id
        for order_id in merged.order_ids:
            if order_id not in surviving.order_ids:
                surviving.order_ids.append(order_id)
        surviving.vip = surviving.vip or merged.vip
        surviving.merged_from.append(merged_id)
        mine = ws.conversations.get(surviving.last_conversation_id)
        theirs = ws.conversations.get(merged.last_conversation_id)
        if theirs is not None and (mine is None or (not mine.is_open and theirs.is_open)):
            surviving.last_conversation_id = theirs.id
        for conv in ws.conversations.values():
            if conv.customer_id == merged_id:
                conv.customer_id = surviving_id
                ws.dirty_conversations.add(conv.id)
        ws.merges.append((cmd.brand_id, merged_id, surviving_id))
        ws.dirty_customers.update({surviving_id, merged_id})
        target = ws.conversations.get(surviving.last_conversation_id)
        if target is None:
            target = Conversation(
                id="", brand_id=cmd.brand_id, customer_id=surviving_id, opened_at=cmd.at, channel="", status=""
            )
        emit.event(target, "customers_merged", surviving_customer_id=surviving_id, merged_customer_id=merged_id)
