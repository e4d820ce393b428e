"""Seed-derived customer ids (domain/identity.py): a new customer's id derives from its seed handle, so
the seed and its other form (WhatsApp id <-> phone) need no handle-index document; every other handle
a customer gets is indexed. `reloaded` builds the next batch's workspace the way RouterStore.load does:
index documents written so far, then customers read by the seed-derived ids of the batch's handles."""

from __future__ import annotations

from datetime import timedelta

from router_unit_kit import T0, agents_for, command, derive, message, order
from switchboard.router.domain import identity
from switchboard.router.domain.engine import Workspace
from switchboard.router.domain.inputs import ChatStartIn
from switchboard.router.domain.model import Customer, Handle

BRAND = "acme"
WA = Handle("whatsapp_id", "4915112345678")
PHONE = Handle("phone", "+4915112345678")
EMAIL = Handle("email", "ann@example.com")


def held(*customers: Customer) -> dict[str, list[Handle]]:
    return {c.id: [Handle(h["kind"], h["value"]) for h in c.handles] for c in customers}


def reloaded(before: Workspace, index: dict[Handle, str], config, *handles: Handle) -> Workspace:
    """A fresh workspace for a batch presenting `handles`, loaded as the store does: the customers
    found by seed-derived ids (stored copies), then the stored index documents `index`, which win."""
    ws = Workspace()
    ws.agents[BRAND] = agents_for(config)
    expanded = identity.expand(list(handles))
    wanted = {identity.seed_id(derive, BRAND, h) for h in expanded}
    found = [Customer.from_doc(c.to_doc()) for c in before.customers.values() if c.id in wanted]
    ws.customers = {c.id: c for c in found}
    for h, cid in identity.owners_by_seed(derive, BRAND, expanded, held(*found)).items():
        ws.handles[(BRAND, h)] = cid
    ws.handles.update({(BRAND, h): cid for h, cid in index.items() if h in expanded})
    for cid in set(ws.handles.values()) - ws.customers.keys():
        ws.customers[cid] = Customer.from_doc(before.customers[cid].to_doc())
    ws.conversations = {c.id: c for c in before.conversations.values() if c.customer_id in ws.customers}
    return ws


def indexed(ws: Workspace) -> dict[Handle, str]:
    return {h: cid for _, h, cid in ws.new_handles}


def test_a_new_customer_takes_the_id_derived_from_its_seed_and_writes_no_index_document(engine, ws):
    engine.apply(ws, message("hi", channel="whatsapp", sender=WA))
    (customer,) = ws.customers.values()
    assert customer.id == identity.seed_id(derive, BRAND, WA) == derive("customer", BRAND, "whatsapp_id", WA.value)
    assert {(h["kind"], h["value"]) for h in customer.handles} == {(WA.kind, WA.value), (PHONE.kind, PHONE.value)}
    assert ws.new_handles == []  # the WhatsApp id and its phone number are both found through the seed


def test_a_replayed_contact_derives_the_same_customer_id(engine, config):
    ids = []
    for _ in range(2):
        fresh = Workspace()
        fresh.agents[BRAND] = agents_for(config)
        engine.apply(fresh, message("hi", sender=EMAIL, event_id="in-replayed"))
        ids.extend(fresh.customers)
    assert ids[0] == ids[1] == identity.seed_id(derive, BRAND, EMAIL)


def test_a_customer_found_by_a_derived_id_owns_the_handle_only_while_it_still_holds_it():
    cid = identity.seed_id(derive, BRAND, WA)
    assert identity.owners_by_seed(derive, BRAND, [WA, PHONE], {cid: [WA, PHONE]}) == {WA: cid, PHONE: cid}
    assert identity.owners_by_seed(derive, BRAND, [WA, PHONE], {cid: [PHONE]}) == {}  # the seed moved away
    assert identity.owners_by_seed(derive, BRAND, [EMAIL], {cid: [WA, PHONE, EMAIL]}) == {}  # not its seed
    assert identity.owners_by_seed(derive, "other-brand", [WA], {cid: [WA]}) == {}


def test_whatsapp_then_sms_from_that_phone_is_one_customer_and_one_conversation(engine, ws, config):
    engine.apply(ws, message("hi", channel="whatsapp", sender=WA))
    later = reloaded(ws, indexed(ws), config, PHONE)
    engine.apply(later, message("me again", channel="sms", sender=PHONE, at=T0 + timedelta(minutes=5)))
    assert list(later.customers) == list(ws.customers)
    (conv,) = later.conversations.values()
    assert conv.channels == ["whatsapp", "sms"] and conv.message_count == 2
    assert later.new_handles == [] and later.dirty_customers == set()  # nothing new about who they are


def test_sms_then_whatsapp_from_that_phone_is_one_customer_as_well(engine, ws, config):
    engine.apply(ws, message("hi", channel="sms", sender=PHONE))
    (customer_id,) = ws.customers
    assert customer_id == identity.seed_id(derive, BRAND, PHONE)
    later = reloaded(ws, indexed(ws), config, WA)
    engine.apply(later, message("me again", channel="whatsapp", sender=WA, at=T0 + timedelta(minutes=5)))
    assert list(later.customers) == [customer_id] and later.new_handles == []


def test_handles_a_customer_gets_later_are_indexed(engine, ws, config):
    engine.apply(ws, message("hi", channel="whatsapp", sender=WA))
    (customer_id,) = ws.customers
    # An order names the phone (found through the seed) and a new email: only the email is indexed.
    later = reloaded(ws, indexed(ws), config, EMAIL, PHONE)
    engine.apply(later, order("o-1", "created", EMAIL, PHONE))
    assert indexed(later) == {EMAIL: customer_id}
    # A chat start presenting that email: the chat session is a new handle of the same customer.
    chat = reloaded(later, indexed(later), config, Handle("chat_session", "s1"), EMAIL)
    engine.apply(chat, ChatStartIn("cs-1", BRAND, "s1", T0, email="ann@example.com"))
    assert indexed(chat) == {Handle("chat_session", "s1"): customer_id}
    assert [h["kind"] for h in chat.customers[customer_id].handles] == ["whatsapp_id", "phone", "email",
                                                                         "chat_session"]


def test_a_new_customer_whose_seed_id_is_taken_by_a_customer_without_that_handle_gets_its_own(engine, ws, config):
    taken = identity.seed_id(derive, BRAND, EMAIL)
    ws.customers[taken] = Customer(id=taken, brand_id=BRAND, created_at=T0, handles=[])  # the email moved away
    engine.apply(ws, message("hi", sender=EMAIL, event_id="in-7"))
    (new,) = set(ws.customers) - {taken}
    assert new == derive("in-7", "customer")
    assert indexed(ws) == {EMAIL: new}  # not found through a seed: indexed


def test_a_merged_customers_seed_handles_are_indexed_to_the_survivor(engine, ws, config):
    engine.apply(ws, message("hi", sender=EMAIL))
    engine.apply(ws, message("hi", channel="whatsapp", sender=WA))
    survivor, merged = identity.seed_id(derive, BRAND, EMAIL), identity.seed_id(derive, BRAND, WA)
    ws.new_handles.clear()
    engine.apply(ws, command("merge_customers", agent_id="alice", surviving_customer_id=survivor,
                             merged_customer_id=merged))
    # Nothing to re-point (REASSIGN moves stored index documents only): the survivor gets them.
    assert indexed(ws) == {WA: survivor, PHONE: survivor}
    later = reloaded(ws, indexed(ws), config, PHONE)
    engine.apply(later, message("me again", channel="sms", sender=PHONE, at=T0 + timedelta(minutes=5)))
    (conv,) = {c.id: c for c in later.conversations.values() if c.message_count > 1}.values()
    assert conv.customer_id == survivor and later.new_handles == []


def test_merging_a_customer_created_before_seeds_writes_no_extra_index_document(engine, ws):
    engine.apply(ws, message("hi", sender=EMAIL))
    old = Customer(id="random-old-id", brand_id=BRAND, created_at=T0, handles=[{"kind": "email", "value": "o@x.com"}])
    ws.customers[old.id] = old
    ws.handles[(BRAND, Handle("email", "o@x.com"))] = old.id  # its stored index document
    ws.new_handles.clear()
    engine.apply(ws, command("merge_customers", agent_id="alice",
                             surviving_customer_id=identity.seed_id(derive, BRAND, EMAIL), merged_customer_id=old.id))
    assert ws.new_handles == [] and ws.merges == [(BRAND, old.id, identity.seed_id(derive, BRAND, EMAIL))]
