"""The intake's contacts-topic key (domain/contact_key.py): the customer the contact stage will resolve
each input to. Two kinds of proof, both without I/O:
  - against the contact code itself: the Engine applies earlier inputs to a workspace; the store those
    would leave (`stored`) gives the keys of the next batch; the Engine then applies that batch, and
    each input's key must be the customer it actually used;
  - rules the Engine cannot show alone: index documents win, a seed customer that no longer holds its
    seed, unknown names, what is read (and what is not) in which round.
`keys_of` answers `plan`'s reads from a fake store the way adapters/contact_keys.py does."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from router_unit_kit import T0, command, derive, message, order
from switchboard.router.domain import identity, threads
from switchboard.router.domain.contact_key import (
    Lookups,
    Names,
    Placed,
    StoredConversation,
    StoredCustomer,
    StoredSession,
    brand_key,
    from_workspace,
    place,
    plan,
)
from switchboard.router.domain.engine import Engine, Workspace
from switchboard.router.domain.inputs import (
    CallIn,
    ChatEndIn,
    ChatStartIn,
    CommandIn,
    CsatIn,
    DeliveryIn,
    MergeCustomers,
    MessageIn,
    OrderIn,
    TickIn,
)
from switchboard.router.domain.model import Handle

BRAND = "acme"
WA = Handle("whatsapp_id", "4915112345678")
PHONE = Handle("phone", "+4915112345678")
ANN = Handle("email", "ann@example.com")
BOB = Handle("email", "bob@example.com")
SESSION = Handle("chat_session", "sess-1")


def seed(h: Handle) -> str:
    return identity.seed_id(derive, BRAND, h)


def customer(*handles: Handle, merged_into: str = "", brand: str = BRAND) -> StoredCustomer:
    return StoredCustomer(brand, frozenset(identity.expand(list(handles))), merged_into)


@dataclass
class Stored:
    """A store: what RouterStore would hold (documents by _id)."""

    index: dict[tuple[str, Handle], str] = field(default_factory=dict)
    customers: dict[str, StoredCustomer] = field(default_factory=dict)
    conversations: dict[str, StoredConversation] = field(default_factory=dict)
    sessions: dict[str, StoredSession] = field(default_factory=dict)
    threads: dict[tuple[str, str], str] = field(default_factory=dict)
    orders: dict[str, str] = field(default_factory=dict)
    reads: list[Names] = field(default_factory=list)

    def answer(self, lk: Lookups, want: Names) -> None:
        self.reads.append(want)
        for name in ("index", "customers", "conversations", "sessions", "threads", "orders"):
            asked = getattr(want, "handles" if name == "index" else name)
            mine, theirs = getattr(self, name), getattr(lk, name)
            theirs.update({k: mine[k] for k in asked if k in mine})
            getattr(lk.asked, "handles" if name == "index" else name).update(asked)


def keys_of(inputs: list, stored: Stored) -> list[str]:
    lk = Lookups()
    for _ in range(8):
        keys, want = plan(inputs, lk, derive)
        if not want:
            return keys
        stored.answer(lk, want.read_now())
    raise AssertionError("plan kept asking")


def placed_of(inputs: list, stored: Stored, mine, pinned=()) -> list[Placed]:
    """`place` answered from a fake store, as the contact stage's adapter answers it."""
    lk = Lookups()
    for _ in range(8):
        placed, want = place(inputs, lk, derive, mine, pinned)
        if not want:
            return placed
        stored.answer(lk, want.read_now())
    raise AssertionError("place kept asking")


# ---------------------------------------------------------------------------------------- the oracle
def stored(ws: Workspace) -> Stored:
    """What the store holds after the workspace's batches were saved (store_writes.py): index documents
    for the handles not found through a seed, merges re-pointing them; conversations, sessions, orders;
    thread-key documents for keys that name a conversation other than the one they opened."""
    index: dict[tuple[str, Handle], str] = {}
    for b, h, cid in ws.new_handles:
        index[(b, h)] = cid
    for b, merged, surviving in ws.merges:
        index = {k: surviving if v == merged and k[0] == b else v for k, v in index.items()}
    return Stored(
        index=index,
        customers={c.id: StoredCustomer(c.brand_id, frozenset(Handle(h["kind"], h["value"]) for h in c.handles),
                                        c.merged_into) for c in ws.customers.values()},
        conversations={c.id: StoredConversation(c.brand_id, c.customer_id) for c in ws.conversations.values()},
        sessions={k: StoredSession(s.customer_id, s.email) for k, s in ws.sessions.items()},
        threads={(b, k): c for (b, k), c in ws.thread_index.items() if c != threads.opened_by(derive, b, k)},
        orders={k: o.customer_id for k, o in ws.orders.items()},
    )


def used(ws: Workspace, inp) -> str:
    """The customer the Engine used for `inp` (after applying it)."""
    if isinstance(inp, MessageIn):
        return ws.customer_of(inp.brand_id, identity.normalize(inp.sender.kind, inp.sender.value))
    if isinstance(inp, CallIn):
        return ws.customer_of(inp.brand_id, identity.normalize(inp.caller.kind, inp.caller.value))
    if isinstance(inp, OrderIn):
        return ws.orders[f"{inp.brand_id}/{inp.order_id}"].customer_id
    if isinstance(inp, (ChatStartIn, ChatEndIn)):
        return ws.sessions[f"{inp.brand_id}/{inp.chat_session_id}"].customer_id
    if isinstance(inp, CsatIn):
        return ws.conversations[inp.conversation_id].customer_id
    if isinstance(inp, CommandIn) and isinstance(inp.command, MergeCustomers):
        return inp.command.surviving_customer_id
    assert isinstance(inp, CommandIn)
    return ws.conversations[inp.conversation_id].customer_id


def keys_then_applied(engine: Engine, ws: Workspace, batch: list) -> tuple[list[str], list[str]]:
    """The batch's keys from the store as it stands, and the customers the Engine then used."""
    keys = keys_of(batch, stored(ws))
    customers = []
    for inp in batch:
        engine.apply(ws, inp)
        customers.append(used(ws, inp))
    return keys, customers


@pytest.fixture
def contact_engine(config) -> Engine:
    return Engine(config, derive)


def chat_start(session_id: str, email: str = "", at=T0) -> ChatStartIn:
    return ChatStartIn(event_id=f"start-{session_id}-{email}", brand_id=BRAND, chat_session_id=session_id,
                       started_at=at, email=email)


def conversation_of(ws: Workspace, h: Handle) -> str:
    return ws.customers[ws.customer_of(BRAND, h)].last_conversation_id


def test_a_new_sender_keys_by_its_seed_and_its_whatsapp_phone_twin_the_same(contact_engine, ws):
    keys, used_by = keys_then_applied(contact_engine, ws, [message("hi", channel="whatsapp", sender=WA)])
    assert keys == used_by == [seed(WA)]
    later = message("me again", channel="sms", sender=Handle("phone", "+49 151 12345678"), at=T0 + timedelta(1))
    assert keys_then_applied(contact_engine, ws, [later]) == ([seed(WA)], [seed(WA)])


def test_a_handle_an_order_linked_keys_to_the_orders_customer(contact_engine, ws):
    contact_engine.apply(ws, message("hello", sender=ANN, channel="email"))
    contact_engine.apply(ws, order("o-1", "shipped", ANN, PHONE))  # links the phone to Ann's profile
    keys, used_by = keys_then_applied(contact_engine, ws, [message("sms", channel="sms", sender=PHONE)])
    assert keys == used_by == [seed(ANN)]
    assert seed(PHONE) != seed(ANN)


def test_a_merged_customers_handles_key_to_the_survivor(contact_engine, ws):
    contact_engine.apply(ws, message("hello", sender=ANN, channel="email"))
    contact_engine.apply(ws, message("hello", sender=WA, channel="whatsapp"))
    contact_engine.apply(ws, command("merge_customers", surviving_customer_id=seed(ANN),
                                     merged_customer_id=seed(WA)))
    batch = [message("wa", channel="whatsapp", sender=WA, at=T0 + timedelta(minutes=1)),
             message("sms", channel="sms", sender=PHONE, at=T0 + timedelta(minutes=2))]
    keys, used_by = keys_then_applied(contact_engine, ws, batch)
    assert keys == used_by == [seed(ANN), seed(ANN)]


def test_agent_commands_and_csat_key_by_their_conversations_customer(contact_engine, ws):
    contact_engine.apply(ws, message("hello", sender=ANN, channel="email"))
    conv = conversation_of(ws, ANN)
    batch = [command("add_internal_note", conversation_id=conv, text="vip", agent_id="alice"),
             command("resolve_conversation", conversation_id=conv, agent_id="alice"),
             CsatIn(event_id="csat-1", brand_id=BRAND, conversation_id=conv, score=5, answered_at=T0)]
    keys, used_by = keys_then_applied(contact_engine, ws, batch)
    assert keys == used_by == [seed(ANN)] * 3


def test_a_conversation_of_a_merged_customer_keys_to_the_survivor(contact_engine, ws):
    contact_engine.apply(ws, message("hello", sender=ANN, channel="email"))
    contact_engine.apply(ws, message("hello", sender=BOB, channel="email"))
    bobs = conversation_of(ws, BOB)
    contact_engine.apply(ws, command("merge_customers", surviving_customer_id=seed(ANN),
                                     merged_customer_id=seed(BOB)))
    keys, used_by = keys_then_applied(contact_engine, ws, [command("add_internal_note", conversation_id=bobs,
                                                                   text="same person", agent_id="alice")])
    assert keys == used_by == [seed(ANN)]


def test_a_chat_message_of_a_known_session_keys_to_the_sessions_customer(contact_engine, ws):
    contact_engine.apply(ws, message("by email first", sender=ANN, channel="email"))
    contact_engine.apply(ws, chat_start("sess-1", email="Ann@Example.com"))
    chat = message("hi from the widget", channel="chat", sender=SESSION, chat_session_id="sess-1",
                   at=T0 + timedelta(minutes=1))
    end = ChatEndIn(event_id="end-1", brand_id=BRAND, chat_session_id="sess-1", ended_at=T0 + timedelta(minutes=2))
    keys, used_by = keys_then_applied(contact_engine, ws, [chat, end])
    assert keys == used_by == [seed(ANN), seed(ANN)]


def test_the_batchs_own_inputs_count_in_order(contact_engine, ws):
    """An order that creates a customer and links a phone, then a message from that phone, in one batch:
    both go where the contact stage will put them (one partition, so in this order)."""
    batch = [order("o-9", "placed", BOB, PHONE),
             message("where is it", channel="sms", sender=PHONE),
             chat_start("sess-2", email="bob@example.com"),
             message("chat", channel="chat", sender=Handle("chat_session", "sess-2"), chat_session_id="sess-2")]
    keys, used_by = keys_then_applied(contact_engine, ws, batch)
    assert keys == used_by == [seed(BOB)] * 4


def test_a_merge_earlier_in_the_batch_counts(contact_engine, ws):
    contact_engine.apply(ws, message("hello", sender=ANN, channel="email"))
    contact_engine.apply(ws, message("hello", sender=BOB, channel="email"))
    batch = [command("merge_customers", surviving_customer_id=seed(ANN), merged_customer_id=seed(BOB)),
             message("again", sender=BOB, channel="email", at=T0 + timedelta(minutes=3))]
    keys, used_by = keys_then_applied(contact_engine, ws, batch)
    assert keys == used_by == [seed(ANN), seed(ANN)]


def test_a_ringing_call_keys_by_its_caller_and_its_later_states_by_its_conversation(contact_engine, ws):
    ring = CallIn(event_id="call-1", brand_id=BRAND, call_id="c-1", state="ringing", occurred_at=T0, caller=PHONE)
    keys, used_by = keys_then_applied(contact_engine, ws, [ring])
    assert keys == used_by == [seed(PHONE)]
    done = CallIn(event_id="call-2", brand_id=BRAND, call_id="c-1", state="completed",
                  occurred_at=T0 + timedelta(minutes=3), caller=None)
    assert keys_of([done], stored(ws)) == [seed(PHONE)]  # the conversation the call opened


# ---------------------------------------------------------------------------------------- rules
def test_an_index_document_wins_over_a_seed_customer():
    store = Stored(index={(BRAND, ANN): "legacy"},
                   customers={seed(ANN): customer(ANN), "legacy": customer(BOB)})
    assert keys_of([message("hi", sender=ANN)], store) == ["legacy"]


def test_a_seed_customer_that_no_longer_holds_its_seed_is_not_its_owner():
    """The contact stage then creates a customer with an id of its own input (contact._new_customer_id)."""
    store = Stored(customers={seed(ANN): customer(BOB)})
    inp = message("hi", sender=ANN, event_id="ev-1")
    assert keys_of([inp], store) == [derive("ev-1", "customer")]
    assert keys_of([inp], Stored()) == [seed(ANN)]


def test_a_handle_held_through_its_other_form_resolves_to_that_seed():
    store = Stored(customers={seed(WA): customer(WA)})  # holds the WhatsApp id and its phone number
    assert keys_of([message("sms", channel="sms", sender=PHONE)], store) == [seed(WA)]


def test_merges_are_followed_along_the_chain():
    store = Stored(customers={seed(ANN): customer(ANN, merged_into="b"), "b": customer(merged_into="c"),
                              "c": customer()})
    assert keys_of([message("hi", sender=ANN)], store) == ["c"]


def test_the_first_owned_handle_decides_as_identity_resolution_does():
    store = Stored(customers={seed(BOB): customer(BOB)}, index={(BRAND, PHONE): "phones"})
    inp = message("hi", sender=ANN, extra_handles=(PHONE, BOB))
    assert keys_of([inp], store) == ["phones"]


def test_what_cannot_be_resolved_keys_by_what_the_contact_stage_rejects():
    store = Stored(conversations={"conv-b": StoredConversation("other-brand", "x")})
    bad_sender = message("hi", sender=Handle("phone", "12"), event_id="ev-bad")
    unknown = command("resolve_conversation", conversation_id="conv-x")
    other_brand = command("resolve_conversation", conversation_id="conv-b")
    no_conversation = command("resolve_conversation", event_id="cmd-empty")
    csat = CsatIn(event_id="csat-x", brand_id=BRAND, conversation_id="conv-x", score=4, answered_at=T0)
    assert keys_of([bad_sender, unknown, other_brand, no_conversation, csat], store) == [
        "ev-bad", "conv-x", "conv-b", "cmd-empty", "conv-x"]


def test_brand_wide_inputs_key_by_brand():
    presence = command("set_agent_presence", presence="online", agent_id="alice")
    tick = TickIn(event_id="tick-1", brand_id=BRAND, at=T0)
    assert keys_of([presence, tick], Stored()) == [brand_key(BRAND)] * 2 == ["brand/acme"] * 2


def test_a_merge_keys_by_the_surviving_customer_as_far_as_it_was_merged():
    store = Stored(customers={"s": customer(merged_into="t"), "t": customer(), "m": customer()})
    merge = command("merge_customers", surviving_customer_id="s", merged_customer_id="m")
    unknown = command("merge_customers", surviving_customer_id="nobody", merged_customer_id="m")
    assert keys_of([merge, unknown], store) == ["t", "nobody"]


def test_receipts_key_by_their_message_or_their_recipient():
    store = Stored(customers={seed(WA): customer(WA)})
    one = DeliveryIn(event_id="d-1", brand_id=BRAND, provider="meta", provider_message_id="wamid.1", state="read",
                     occurred_at=T0)
    watermark = DeliveryIn(event_id="d-2", brand_id=BRAND, provider="meta", provider_message_id="", state="read",
                           occurred_at=T0, channel="whatsapp", recipient=WA, watermark=T0)
    assert keys_of([one, watermark], store) == ["acme/meta/wamid.1", seed(WA)]


def test_an_order_without_usable_handles_keys_by_its_stored_customer_or_itself():
    store = Stored(orders={"acme/o-1": "ann-id"}, customers={"ann-id": customer(ANN)})
    known = order("o-1", "delayed", Handle("phone", "12"))
    unknown = order("o-2", "placed")
    assert keys_of([known, unknown], store) == ["ann-id", "acme/o-2"]


def test_a_call_without_caller_keys_by_its_thread_keys_conversation():
    key = threads.call_key("c-7")
    store = Stored(threads={(BRAND, key): "conv-new"},
                   conversations={"conv-new": StoredConversation(BRAND, "cust-new"),
                                  threads.opened_by(derive, BRAND, key): StoredConversation(BRAND, "cust-old")})
    call = CallIn(event_id="call-7", brand_id=BRAND, call_id="c-7", state="completed", occurred_at=T0, caller=None)
    assert keys_of([call], store) == ["cust-new"]
    del store.threads[(BRAND, key)]
    assert keys_of([call], store) == ["cust-old"]
    assert keys_of([call], Stored()) == ["call-7"]


def test_a_chat_end_keys_by_its_session_else_by_who_wrote_in_it():
    store = Stored(sessions={"acme/sess-1": StoredSession("ann-id", "ann@example.com")},
                   customers={"ann-id": customer(ANN), seed(Handle("chat_session", "sess-2")): customer(
                       Handle("chat_session", "sess-2"))})
    ends = [ChatEndIn(event_id=f"e-{s}", brand_id=BRAND, chat_session_id=s, ended_at=T0)
            for s in ("sess-1", "sess-2", "sess-3")]
    assert keys_of(ends, store) == ["ann-id", seed(Handle("chat_session", "sess-2")),
                                    seed(Handle("chat_session", "sess-3"))]


def test_a_sessions_email_decides_only_when_no_other_handle_has_an_owner_and_is_read_only_then():
    session = StoredSession("chat-cust", "ann@example.com")
    chat = message("hi", channel="chat", sender=SESSION, chat_session_id="sess-1")
    # The session handle has an owner: it decides, and the email's owner is never read.
    owned = Stored(sessions={"acme/sess-1": session}, customers={seed(SESSION): customer(SESSION),
                                                               seed(ANN): customer(ANN)})
    assert keys_of([chat], owned) == [seed(SESSION)]
    assert all((BRAND, ANN) not in r.handles and seed(ANN) not in r.customers for r in owned.reads)
    # Nobody holds the session handle (stored before seeds): the email's owner decides.
    unowned = Stored(sessions={"acme/sess-1": session}, index={(BRAND, ANN): "ann-id"},
                     customers={"ann-id": customer(ANN)})
    assert keys_of([chat], unowned) == ["ann-id"]


def test_a_batch_reads_each_collection_once_when_nothing_chains():
    """Round one: what the inputs name; round two: the customers (seeds and the owners round one found)."""
    ann_conv = "conv-ann"
    store = Stored(index={(BRAND, PHONE): "ann-id"}, customers={"ann-id": customer(ANN), seed(WA): customer(WA)},
                   conversations={ann_conv: StoredConversation(BRAND, "ann-id")},
                   sessions={"acme/sess-1": StoredSession("ann-id", "")}, orders={"acme/o-1": "ann-id"})
    batch = [message(f"m{i}", sender=Handle("email", f"c{i}@example.com")) for i in range(30)]
    batch += [message("sms", channel="sms", sender=PHONE), message("wa", channel="whatsapp", sender=WA),
              command("assign_conversation", conversation_id=ann_conv, agent_id="alice"),
              ChatEndIn(event_id="end", brand_id=BRAND, chat_session_id="sess-1", ended_at=T0),
              order("o-1", "delayed")]
    keys = keys_of(batch, store)
    assert keys[30:] == ["ann-id", seed(WA), "ann-id", "ann-id", "ann-id"]
    assert len(store.reads) == 2
    for collection in ("handles", "customers", "conversations", "sessions", "orders"):
        assert sum(bool(getattr(r, collection)) for r in store.reads) == 1, collection


# ---------------------------------------------------------------------------------------- the contact stage's
def not_(*customers: str):
    """A partition owning every customer but these."""
    return lambda key: key not in customers


def test_inputs_of_this_partition_stay_and_one_of_another_partitions_customer_leaves_with_its_key(contact_engine, ws):
    contact_engine.apply(ws, message("hello", sender=ANN, channel="email"))
    batch = [message("new", sender=BOB), order("o-1", "shipped", ANN, PHONE)]
    assert placed_of(batch, stored(ws), not_(seed(ANN))) == [Placed(seed(BOB), True), Placed(seed(ANN), False)]
    assert placed_of(batch, stored(ws), lambda key: True) == [Placed(seed(BOB), True), Placed(seed(ANN), True)]


def test_an_input_that_leaves_does_not_count_for_those_applied_here(contact_engine, ws):
    """A chat start of Ann's session leaves (Ann is another partition's); the message in it, re-keyed once
    already (pinned), is applied here without it: keyed as the Engine then resolves it, by the session's
    own seed, not by Ann. The customer it creates and the handle it links count for the next input."""
    contact_engine.apply(ws, message("hello", sender=ANN, channel="email"))
    store = stored(ws)
    start = chat_start("sess-1", email="ann@example.com")
    chat = message("hi", channel="chat", sender=SESSION, chat_session_id="sess-1")
    again = message("anyone?", channel="chat", sender=SESSION, chat_session_id="sess-1", at=T0 + timedelta(1))
    placed = placed_of([start, chat, again], store, not_(seed(ANN)), pinned=[False, True, False])
    assert placed[:2] == [Placed(seed(ANN), False), Placed(seed(SESSION), True)]
    # The proof: the Engine, given only what stays here, resolves the pinned message as keyed.
    contact_engine.apply(ws, chat)
    assert ws.customer_of(BRAND, SESSION) == seed(SESSION)
    # The third: here the session's customer is the one the pinned message made; everywhere, Ann (the chat
    # start links the session to her first). It depends on the input that left: it follows it.
    assert placed[2] == Placed(seed(ANN), False)


def test_an_input_depending_on_one_that_leaves_follows_it(contact_engine, ws):
    """Ann's chat start and the first message in it, both keyed by the session's seed before Ann was
    stored: the start leaves for Ann's partition, and the message with it, behind it; kept here, it would
    make a customer of the session while the start, applied later, finds the session owned by it: two
    customers for Ann."""
    contact_engine.apply(ws, message("hello", sender=ANN, channel="email"))
    start = chat_start("sess-1", email="ann@example.com")
    chat = message("hi", channel="chat", sender=SESSION, chat_session_id="sess-1")
    mine = not_(seed(ANN))
    assert mine(seed(SESSION))
    assert placed_of([start, chat], stored(ws), mine) == [Placed(seed(ANN), False)] * 2
    # The same for a handle an order that leaves links.
    sms = message("where is it", channel="sms", sender=PHONE)
    assert placed_of([order("o-1", "shipped", ANN, PHONE), sms], stored(ws), mine) == [Placed(seed(ANN), False)] * 2
    # An input that does not depend on it stays.
    assert placed_of([start, message("new", sender=BOB)], stored(ws), mine) == [
        Placed(seed(ANN), False), Placed(seed(BOB), True)]


def test_forgetting_an_input_restores_what_it_replaced():
    """Order o-1 named by Ann's event, then by Bob's (which leaves): a later event of o-1 without handles
    applied here finds Ann's, as the Engine will."""
    ann_event, bob_event = order("o-1", "placed", ANN), order("o-1", "shipped", BOB)
    no_handles = order("o-1", "delayed")
    placed = placed_of([ann_event, bob_event, no_handles], Stored(), not_(seed(BOB)), pinned=[False, False, True])
    assert placed == [Placed(seed(ANN), True), Placed(seed(BOB), False), Placed(seed(ANN), True)]
    # Not pinned, it depends on Bob's event (everywhere, o-1 is Bob's now): it follows it.
    assert placed_of([ann_event, bob_event, no_handles], Stored(), not_(seed(BOB)))[2] == Placed(seed(BOB), False)


def test_a_merge_that_leaves_is_forgotten_here():
    store = Stored(customers={seed(ANN): customer(ANN), seed(BOB): customer(BOB)})
    merge = command("merge_customers", surviving_customer_id=seed(ANN), merged_customer_id=seed(BOB))
    bob = message("again", sender=BOB)
    placed = placed_of([merge, bob], store, not_(seed(ANN)), pinned=[False, True])
    assert placed == [Placed(seed(ANN), False), Placed(seed(BOB), True)]
    assert placed_of([merge, bob], store, not_(seed(ANN))) == [Placed(seed(ANN), False)] * 2


def test_a_ringing_call_that_leaves_takes_its_later_states_with_it():
    ring = CallIn(event_id="call-1", brand_id=BRAND, call_id="c-1", state="ringing", occurred_at=T0, caller=PHONE)
    done = CallIn(event_id="call-2", brand_id=BRAND, call_id="c-1", state="completed", occurred_at=T0, caller=None)
    assert placed_of([ring, done], Stored(), not_(seed(PHONE))) == [Placed(seed(PHONE), False)] * 2
    # Pinned here, the later state finds no call: keyed by itself, as the Engine rejects or ignores it.
    assert placed_of([ring, done], Stored(), not_(seed(PHONE)), pinned=[False, True])[1] == Placed("call-2", True)


def test_keys_from_a_loaded_workspace_need_no_read_for_what_the_load_read(contact_engine, ws):
    """from_workspace: what the Workspace holds is stored; names its load read and did not find are not;
    anything else (here: a conversation it did not hold) is still asked for."""
    contact_engine.apply(ws, message("hello", sender=ANN, channel="email"))
    conv = conversation_of(ws, ANN)
    read = Names(handles={(BRAND, ANN), (BRAND, BOB)})
    batch = [message("again", sender=ANN), message("new", sender=BOB),
             command("add_internal_note", conversation_id=conv, text="x", agent_id="alice")]
    keys, want = plan(batch, from_workspace(ws, read, derive), derive)
    assert keys == [seed(ANN), seed(BOB), seed(ANN)] and not want
    unknown = command("add_internal_note", conversation_id="conv-x", text="x", agent_id="alice")
    keys, want = plan([unknown], from_workspace(ws, read, derive), derive)
    assert want.conversations == {"conv-x"} and not want.handles and not want.customers
    # A handle the load did not read is asked for too.
    _, want = plan([message("sms", channel="sms", sender=PHONE)], from_workspace(ws, read, derive), derive)
    assert (BRAND, PHONE) in want.handles
