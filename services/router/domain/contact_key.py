"""The key an input gets on the contacts topic: the id of the customer the contact stage will resolve it
to, so that all of one customer's inputs land in one partition (one owner at a time).

It mirrors what the contact side does with each input (domain/contact.py, identity.py, orders.py,
lifecycle.py, commands.py) on what the store holds now:
  - handles (a message's sender, extra handles, chat session and the session's email; a caller; a chat
    start's session and email; an order's usable handles; a watermark receipt's recipient): the first
    handle with an owner (a handle-index document, or the seed-derived customer still holding it),
    following `merged_into`; none -> the id the contact side would create (the seed id of the first
    expanded handle, or the input's own when a customer already holds that id);
  - a conversation (CSAT, agent commands), a chat session (its end), an order without usable handles,
    a call status without a caller: the customer they belong to, following `merged_into`;
  - a merge: the surviving customer; presence and the router's ticks: "brand/<brand_id>";
  - a receipt for one message we sent: its delivery document ("<brand>/<provider>/<id>");
  - anything the contact side rejects (an unknown conversation, an unusable sender): the conversation
    id or the input id, so it is rejected there.
The batch's own inputs count, in order: a customer an earlier input creates, a handle it links, a
session it starts, a call it opens, a merge it makes.

Pure: `plan` says what it still needs to read (Names) and the keys so far; the adapter
(adapters/contact_keys.py) reads those names (`Names.read_now`) in batched rounds into Lookups until
nothing is missing: typically two rounds, each collection read once.

The contact stage keys its inputs again (contact_stage.py: an input keyed by another partition's customer
is re-published there): from the Workspace it loaded anyway (`from_workspace`), with `place`, which
tells the inputs it applies from those it re-keys, and keys each by what the other inputs do where.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from . import identity, threads
from .contact import usable_handle
from .contact_lookups import (  # noqa: F401 - re-exported: the key's vocabulary
    Lookups,
    Names,
    StoredConversation,
    StoredCustomer,
    StoredSession,
    brand_key,
    from_workspace,
)
from .inputs import (
    CallIn,
    ChatEndIn,
    ChatStartIn,
    CommandIn,
    CsatIn,
    DeliveryIn,
    Input,
    MergeCustomers,
    MessageIn,
    OrderIn,
)
from .model import CHAT_SESSION, EMAIL, Handle

_ABSENT = object()
MAX_HOPS = 10  # merged_into chains are short (Workspace.customer_of follows as many)
OPENING_CALL_STATES = ("queued", "ringing", "in_progress")  # a call status that may open a conversation


def plan(inputs: Iterable[Input], lookups: Lookups, derive: Callable[..., str]) -> tuple[list[str], Names]:
    """Each input's key from what `lookups` holds, and the names not asked yet that it needed
    (empty: the keys are final)."""
    picker = _Picker(lookups, derive)
    keys = [picker.key(inp) for inp in inputs]
    return keys, picker.want


@dataclass(frozen=True, slots=True)
class Placed:
    key: str  # the input's key now
    stays: bool  # applied in this batch; else re-published keyed by `key`


def place(inputs: Sequence[Input], lookups: Lookups, derive: Callable[..., str], mine: Callable[[str], bool],
          pinned: Sequence[bool] = ()) -> tuple[list[Placed], Names]:
    """The contact stage's batch (`inputs` in the order it applies them), keyed again: which inputs it
    applies and which it re-keys; and the names not asked yet (as `plan`).

    Two views of the batch's own inputs are kept. Here: what this stage will have done when it applies an
    input, the inputs it applies and no other, so an input that leaves does not count for those after it
    (the customer it would create, the handles it would link, its session, call, order or merge). Everywhere:
    every input counted, as the intake would key this batch now. An input stays when `pinned` (applied
    here whatever its key), or when both views give it the same key and `mine(key)`. Otherwise it leaves
    keyed by the everywhere view: where both differ, it depends on an input that left (a message in a chat
    session whose start left, from a handle an order that left links) and follows it there, behind it,
    rather than being decided here as if that input did not exist (a second customer for one person)."""
    here, everywhere = _Picker(lookups, derive), _Picker(lookups, derive)
    everywhere.want = here.want
    out = []
    for position, inp in enumerate(inputs):
        mark = len(here.undo)
        local, key = here.key(inp), everywhere.key(inp)
        stays = (position < len(pinned) and pinned[position]) or (local == key and mine(key))
        if not stays:
            here.forget(mark)
        out.append(Placed(local if stays else key, stays))
    return out, here.want


class _Picker:
    def __init__(self, lookups: Lookups, derive: Callable[..., str]) -> None:
        self.lk = lookups
        self.derive = derive
        self.want = Names()
        # What the batch's earlier inputs did, as the contact side will have done it by then.
        self.linked: dict[tuple[str, Handle], str] = {}
        self.created: dict[str, bool] = {}
        self.merged: dict[str, str] = {}
        self.sessions: dict[str, StoredSession] = {}
        self.calls: dict[tuple[str, str], str] = {}
        self.orders: dict[str, str] = {}
        # Every change of those, with the value it replaced (_ABSENT: none), so `forget` takes an input back.
        self.undo: list[tuple[dict, object, object]] = []

    def _put(self, table: dict, key, value) -> None:
        self.undo.append((table, key, table.get(key, _ABSENT)))
        table[key] = value

    def forget(self, mark: int) -> None:
        """Takes back what the inputs keyed since `mark` (len(self.undo) then) did to the batch's state."""
        while len(self.undo) > mark:
            table, key, was = self.undo.pop()
            if was is _ABSENT:
                del table[key]
            else:
                table[key] = was

    # ------------------------------------------------------------------ reads (recording what is missing)
    def _index(self, brand: str, h: Handle, record: bool = True) -> str | None:
        if (brand, h) not in self.lk.asked.handles:
            if record:
                self.want.handles.add((brand, h))
            return None
        return self.lk.index.get((brand, h))

    def _customer(self, customer_id: str, record: bool = True) -> StoredCustomer | None:
        if customer_id not in self.lk.asked.customers:
            if record:
                self.want.customers.add(customer_id)
            return None
        return self.lk.customers.get(customer_id)

    def _conversation(self, conversation_id: str) -> StoredConversation | None:
        if conversation_id not in self.lk.asked.conversations:
            self.want.conversations.add(conversation_id)
            return None
        return self.lk.conversations.get(conversation_id)

    def _session(self, brand: str, session_id: str) -> StoredSession | None:
        sid = f"{brand}/{session_id}"
        if sid in self.sessions:
            return self.sessions[sid]
        if sid not in self.lk.asked.sessions:
            self.want.sessions.add(sid)
            return None
        return self.lk.sessions.get(sid)

    def _asked(self, brand: str, h: Handle) -> bool:
        """Whether everything that tells `h`'s owner was read."""
        return (brand, h) in self.lk.asked.handles and all(
            identity.seed_id(self.derive, brand, g) in self.lk.asked.customers for g in identity.expand([h]))

    # ------------------------------------------------------------------ identity
    def _owner(self, brand: str, h: Handle, record: bool = True) -> str | None:
        """`h`'s owner before merges: linked by this batch, an index document (wins), or the customer
        with a seed-derived id (of `h` or its other form) that still holds `h` (identity.owners_by_seed)."""
        if (brand, h) in self.linked:
            return self.linked[brand, h]
        indexed = self._index(brand, h, record)
        seeded = None
        for g in identity.expand([h]):
            customer_id = identity.seed_id(self.derive, brand, g)
            customer = self._customer(customer_id, record)
            if seeded is None and customer is not None and g in customer.handles and h in customer.handles:
                seeded = customer_id
        return indexed or seeded

    def _root(self, customer_id: str) -> str:
        """Follows merges (this batch's, then stored ones), as Workspace.customer_of does."""
        for _ in range(MAX_HOPS):
            if not customer_id:
                break
            if customer_id in self.merged:
                customer_id = self.merged[customer_id]
                continue
            customer = self._customer(customer_id)
            if customer is None or not customer.merged_into:
                break
            customer_id = customer.merged_into
        return customer_id

    def _exists(self, customer_id: str) -> bool:
        return customer_id in self.created or self._customer(customer_id) is not None

    def _resolve(self, brand: str, handles: list[Handle], input_id: str, *, create: bool = True,
                 quiet: frozenset[Handle] = frozenset()) -> str | None:
        """The customer the contact side picks for `handles` (ContactSteps._customer); None when the
        first handle is unusable (it rejects the input). `create`: the input links its handles (and
        creates the customer) as the contact side will. `quiet`: handles whose owner is not worth a
        read (a chat session's email, when another handle already decides)."""
        normalized = []
        for i, h in enumerate(handles):
            try:
                normalized.append(identity.normalize(h.kind, h.value))
            except identity.InvalidHandle:
                if i == 0:
                    return None
        expanded = identity.expand(normalized)
        owners = {h: self._root(o) for h in expanded if (o := self._owner(brand, h, record=h not in quiet))}
        seed = identity.seed_id(self.derive, brand, expanded[0])
        new_id = self.derive(input_id, "customer") if self._exists(seed) else seed
        decision = identity.resolve(normalized, owners, new_id)
        if create:
            if decision.created:
                self._put(self.created, decision.customer_id, True)
            for h in decision.new_handles:
                if self._asked(brand, h):  # known to have no owner (not a quiet handle left unread)
                    self._put(self.linked, (brand, h), decision.customer_id)
        elif decision.created:
            return seed  # nothing is created: where that handle's first contact would go
        return decision.customer_id

    # ------------------------------------------------------------------ per input
    def key(self, inp: Input) -> str:
        if isinstance(inp, MessageIn):
            return self._message(inp)
        if isinstance(inp, CallIn):
            return self._call(inp)
        if isinstance(inp, ChatStartIn):
            return self._chat_start(inp)
        if isinstance(inp, ChatEndIn):
            return self._chat_end(inp)
        if isinstance(inp, CsatIn):
            conv = self._conversation(inp.conversation_id) if inp.conversation_id else None
            return self._root(conv.customer_id) if conv and conv.customer_id else inp.conversation_id or inp.event_id
        if isinstance(inp, DeliveryIn):
            return self._delivery(inp)
        if isinstance(inp, OrderIn):
            return self._order(inp)
        if isinstance(inp, CommandIn):
            return self._command(inp)
        return brand_key(inp.brand_id)  # the router's tick

    def _message(self, inp: MessageIn) -> str:
        brand = inp.brand_id
        if inp.is_echo or inp.signal is not None:
            # An echo changes nothing; a signal joins the sender's latest conversation: no customer is made.
            handles = [inp.sender] if inp.signal is not None else [inp.sender, *inp.extra_handles]
            return self._resolve(brand, handles, inp.event_id, create=False) or inp.event_id
        handles = [inp.sender, *inp.extra_handles]
        quiet: frozenset[Handle] = frozenset()
        if inp.chat_session_id:
            handles.append(Handle(CHAT_SESSION, inp.chat_session_id))
            session = self._session(brand, inp.chat_session_id)
            if session and session.email and usable_handle(email := Handle(EMAIL, session.email)):
                email = identity.normalize(EMAIL, email.value)
                if not self._nobody_owns(brand, handles):
                    quiet = frozenset({email})  # another handle decides (or is not read yet): no read for it
                handles.append(email)
        return self._resolve(brand, handles, inp.event_id, quiet=quiet) or inp.event_id

    def _nobody_owns(self, brand: str, handles: list[Handle]) -> bool:
        """Whether none of `handles` has an owner, all of them read: then a session's email may decide."""
        expanded = identity.expand([identity.normalize(h.kind, h.value) for h in handles if usable_handle(h)])
        if not all(self._asked(brand, h) or (brand, h) in self.linked for h in expanded):
            return False
        return not any(self._owner(brand, h) for h in expanded)

    def _call(self, inp: CallIn) -> str:
        brand = inp.brand_id
        if inp.caller is not None and usable_handle(inp.caller):
            customer_id = self._resolve(brand, [inp.caller], inp.event_id, create=inp.state in OPENING_CALL_STATES)
            assert customer_id is not None
            if (brand, inp.call_id) not in self.calls:
                self._put(self.calls, (brand, inp.call_id), customer_id)
            return customer_id
        # No caller: the call's conversation (its thread key's index document, else the one it named).
        if (brand, inp.call_id) in self.calls:
            return self.calls[brand, inp.call_id]
        key = threads.call_key(inp.call_id)
        named = threads.opened_by(self.derive, brand, key)
        if (brand, key) not in self.lk.asked.threads:
            self.want.threads.add((brand, key))
        conv = self._conversation(self.lk.threads.get((brand, key)) or named)
        return self._root(conv.customer_id) if conv and conv.customer_id else inp.event_id

    def _chat_start(self, inp: ChatStartIn) -> str:
        handles, email = identity.chat_start_handles(inp.chat_session_id, inp.email)
        customer_id = self._resolve(inp.brand_id, handles, inp.event_id)
        assert customer_id is not None  # a chat session handle is never unusable (the codec requires one)
        self._put(self.sessions, f"{inp.brand_id}/{inp.chat_session_id}", StoredSession(customer_id, email))
        return customer_id

    def _chat_end(self, inp: ChatEndIn) -> str:
        session = self._session(inp.brand_id, inp.chat_session_id)
        if session is not None and session.customer_id:
            return self._root(session.customer_id)
        # No session stored: whoever wrote in it (its handle), else where its start would go.
        handle = Handle(CHAT_SESSION, inp.chat_session_id)
        return self._resolve(inp.brand_id, [handle], inp.event_id, create=False) or inp.event_id

    def _delivery(self, inp: DeliveryIn) -> str:
        if inp.watermark is None:
            return f"{inp.brand_id}/{inp.provider}/{inp.provider_message_id}"  # its delivery document
        recipient = inp.recipient
        found = self._resolve(inp.brand_id, [recipient], inp.event_id, create=False) if recipient else None
        return found or inp.event_id

    def _order(self, inp: OrderIn) -> str:
        brand, order = inp.brand_id, f"{inp.brand_id}/{inp.order_id}"
        usable = [h for h in inp.handles if usable_handle(h)]
        if usable:
            customer_id = self._resolve(brand, usable, inp.event_id)
            assert customer_id is not None
        elif order in self.orders:
            customer_id = self.orders[order]
        else:
            if order not in self.lk.asked.orders:
                self.want.orders.add(order)
            stored = self.lk.orders.get(order, "")
            customer_id = self._root(stored) if stored else ""
        if customer_id:
            self._put(self.orders, order, customer_id)
        return customer_id or order  # an order nobody owns yet: its own document

    def _command(self, cmd: CommandIn) -> str:
        c = cmd.command
        if isinstance(c, MergeCustomers):
            return self._merge(cmd, c)
        if not hasattr(c, "conversation_id"):
            return brand_key(cmd.brand_id)  # presence: the agent's, brand-wide
        if not cmd.conversation_id:
            return cmd.event_id
        conv = self._conversation(cmd.conversation_id)
        if conv is None or conv.brand_id != cmd.brand_id or not conv.customer_id:
            return cmd.conversation_id  # rejected by the contact stage
        return self._root(conv.customer_id)

    def _merge(self, cmd: CommandIn, c: MergeCustomers) -> str:
        surviving, merged = c.surviving_customer_id, c.merged_customer_id
        if not surviving or not merged:
            return surviving or merged or cmd.event_id
        s, m = self._customer(surviving), self._customer(merged)
        if s is not None and m is not None and s.brand_id == m.brand_id == cmd.brand_id and surviving != merged:
            self._put(self.merged, merged, surviving)  # as the contact side applies it (commands._merge)
        return self._root(surviving)
