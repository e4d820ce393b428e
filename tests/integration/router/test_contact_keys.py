"""The intake's contacts-topic keys (adapters/contact_keys.py) on the real store (nx-27017): for each input,
the customer the contact stage will resolve it to. State is made by the contact code itself (RouterStore
load -> Engine -> save, in-process, no broker); each key is read before the input is applied, and then
compared with the customer the Engine actually used. One batch costs a bounded number of requests."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from pymongo import AsyncMongoClient, monitoring
from router_it_kit import T0, brand_of, demo_config_for
from switchboard.common.cloudevents import derived_id
from switchboard.router.adapters.contact_keys import ContactKeys
from switchboard.router.adapters.store import RouterStore
from switchboard.router.domain import identity
from switchboard.router.domain.engine import Engine, Workspace
from switchboard.router.domain.inputs import (
    AddInternalNote,
    CallIn,
    ChatEndIn,
    ChatStartIn,
    CommandIn,
    CsatIn,
    DeliveryIn,
    MergeCustomers,
    MessageIn,
    OrderIn,
    SetAgentPresence,
)
from switchboard.router.domain.model import Handle

WA = Handle("whatsapp_id", "4915112345678")
PHONE = Handle("phone", "+4915112345678")
ANN = Handle("email", "ann@example.com")
_ids = itertools.count(1)


def message(brand: str, sender: Handle, channel: str, minutes: int = 0, **kw) -> MessageIn:
    n = next(_ids)
    return MessageIn(event_id=f"ev-{n}", brand_id=brand, channel=channel, provider="test",
                     provider_message_id=f"pm-{n}", sender=sender, sent_at=T0 + timedelta(minutes=minutes),
                     text="hello", language="en", **kw)


def command(brand: str, cmd) -> CommandIn:
    return CommandIn(event_id=f"cmd-{next(_ids)}", brand_id=brand, agent_id="alice", at=T0, command=cmd)


def seed(brand: str, h: Handle) -> str:
    return identity.seed_id(derived_id, brand, h)


class ContactStage:
    """The contact code on the real store: load, apply, save (what the contact stage does per batch)."""

    def __init__(self, db, brand: str) -> None:
        self.store = RouterStore(db, transactions=True)
        self.engine = Engine(demo_config_for(brand), derived_id)

    async def apply(self, *inputs) -> Workspace:
        message_ids = [self.engine.message_id_for(i) for i in inputs if isinstance(i, MessageIn)]
        ws = await self.store.load(list(inputs), message_ids)
        for inp in inputs:
            self.engine.apply(ws, inp)
        await self.store.save(ws)
        self.store.remember(ws)
        return ws


@pytest.fixture
async def stage(mongo_db, namespace) -> ContactStage:
    s = ContactStage(mongo_db, brand_of(namespace))
    await s.store.ensure_indexes()
    return s


async def conversation_of(db, brand: str, customer_id: str) -> dict:
    conv = await db["conversations"].find_one({"brand_id": brand, "customer_id": customer_id})
    assert conv is not None, f"no conversation of {customer_id}"
    return conv


async def test_a_new_sender_keys_by_its_seed_id_and_its_whatsapp_phone_twin_the_same(mongo_db, namespace, stage):
    brand = brand_of(namespace)
    keys = ContactKeys(mongo_db)
    first = message(brand, WA, "whatsapp")
    twin = message(brand, Handle("phone", "+49 151 12345678"), "sms", minutes=2)
    assert await keys.keys([first, twin]) == [seed(brand, WA)] * 2  # nobody stored yet: one seed for both
    await stage.apply(first)
    assert await keys.keys([twin]) == [seed(brand, WA)]  # found through the stored seed customer
    await stage.apply(twin)
    assert [c["_id"] async for c in mongo_db["customers"].find({"brand_id": brand})] == [seed(brand, WA)]
    assert seed(brand, PHONE) != seed(brand, WA)


async def test_a_handle_linked_by_an_earlier_order_keys_to_that_orders_customer(mongo_db, namespace, stage):
    brand = brand_of(namespace)
    await stage.apply(message(brand, ANN, "email"))
    await stage.apply(OrderIn(event_id=f"ord-{namespace}", brand_id=brand, order_id="o-1", kind="shipped",
                              occurred_at=T0, handles=(Handle("email", "Ann@Example.com"), PHONE)))
    assert await mongo_db["customer_handles"].count_documents({"brand_id": brand, "customer_id": seed(brand, ANN)})
    sms = message(brand, PHONE, "sms", minutes=3)
    assert await ContactKeys(mongo_db).keys([sms]) == [seed(brand, ANN)]
    ws = await stage.apply(sms)
    assert ws.customer_of(brand, PHONE) == seed(brand, ANN)
    assert (await conversation_of(mongo_db, brand, seed(brand, ANN)))["message_count"] == 2


async def test_a_merged_customers_handles_and_conversations_key_to_the_survivor(mongo_db, namespace, stage):
    brand = brand_of(namespace)
    await stage.apply(message(brand, ANN, "email"), message(brand, WA, "whatsapp"))
    was = await conversation_of(mongo_db, brand, seed(brand, WA))
    await stage.apply(command(brand, MergeCustomers(seed(brand, ANN), seed(brand, WA))))
    inputs = [message(brand, WA, "whatsapp", minutes=5), message(brand, PHONE, "sms", minutes=6),
              command(brand, AddInternalNote(was["_id"], "same person"))]
    assert await ContactKeys(mongo_db).keys(inputs) == [seed(brand, ANN)] * 3
    ws = await stage.apply(*inputs)
    assert {ws.customer_of(brand, WA), ws.customer_of(brand, PHONE)} == {seed(brand, ANN)}


async def test_a_chain_of_merges_stored_without_index_documents_is_followed(mongo_db, namespace):
    """Customers stored before merges wrote index documents for seeds: the seed customer names its
    survivor, which names its own (read in further rounds)."""
    brand = brand_of(namespace)
    await mongo_db["customers"].insert_many([
        {"_id": seed(brand, ANN), "brand_id": brand, "handles": [{"kind": "email", "value": ANN.value}],
         "merged_into": f"{namespace}-b"},
        {"_id": f"{namespace}-b", "brand_id": brand, "handles": [], "merged_into": f"{namespace}-c"},
        {"_id": f"{namespace}-c", "brand_id": brand, "handles": []},
    ])
    assert await ContactKeys(mongo_db).keys([message(brand, ANN, "email")]) == [f"{namespace}-c"]


async def test_an_agent_command_keys_by_its_conversations_customer(mongo_db, namespace, stage):
    brand = brand_of(namespace)
    await stage.apply(message(brand, ANN, "email"))
    conv = await conversation_of(mongo_db, brand, seed(brand, ANN))
    note = command(brand, AddInternalNote(conv["_id"], "called back"))
    unknown = command(brand, AddInternalNote(f"{namespace}-nope", "?"))
    presence = command(brand, SetAgentPresence("online"))
    csat = CsatIn(event_id=f"csat-{namespace}", brand_id=brand, conversation_id=conv["_id"], score=5, answered_at=T0)
    keys = await ContactKeys(mongo_db).keys([note, unknown, presence, csat])
    assert keys == [seed(brand, ANN), f"{namespace}-nope", f"brand/{brand}", seed(brand, ANN)]


async def test_a_chat_message_with_a_known_session_keys_to_the_sessions_customer(mongo_db, namespace, stage):
    brand = brand_of(namespace)
    session = Handle("chat_session", f"{namespace}-s1")
    await stage.apply(message(brand, ANN, "email"))
    await stage.apply(ChatStartIn(event_id=f"start-{namespace}", brand_id=brand, chat_session_id=session.value,
                                  started_at=T0, email="ann@example.com"))
    stored = await mongo_db["chat_sessions"].find_one({"_id": f"{brand}/{session.value}"})
    assert stored["customer_id"] == seed(brand, ANN) != seed(brand, session)
    chat = message(brand, session, "chat", minutes=1, chat_session_id=session.value)
    end = ChatEndIn(event_id=f"end-{namespace}", brand_id=brand, chat_session_id=session.value,
                    ended_at=T0 + timedelta(minutes=2))
    assert await ContactKeys(mongo_db).keys([chat, end]) == [seed(brand, ANN)] * 2
    ws = await stage.apply(chat)
    assert ws.customer_of(brand, session) == seed(brand, ANN)


async def test_a_session_stored_without_its_handle_keys_by_its_email_and_its_customer(mongo_db, namespace, stage):
    """A session stored before chat-session handles were linked (nobody holds its handle): a message in
    it is found through the session's email, its end through the session's customer."""
    brand = brand_of(namespace)
    await stage.apply(message(brand, ANN, "email"))
    session = Handle("chat_session", f"{namespace}-old")
    await mongo_db["chat_sessions"].insert_one({"_id": f"{brand}/{session.value}", "brand_id": brand,
                                                "chat_session_id": session.value, "started_at": T0,
                                                "customer_id": seed(brand, ANN), "email": ANN.value})
    chat = message(brand, session, "chat", minutes=1, chat_session_id=session.value)
    end = ChatEndIn(event_id=f"end-{namespace}", brand_id=brand, chat_session_id=session.value,
                    ended_at=T0 + timedelta(minutes=2))
    keys = ContactKeys(mongo_db)
    assert await keys.keys([chat]) == [seed(brand, ANN)]  # the email's owner, read in a later round
    assert await keys.keys([end]) == [seed(brand, ANN)]
    ws = await stage.apply(chat)
    assert ws.customer_of(brand, session) == seed(brand, ANN)


class FindCounter(monitoring.CommandListener):
    def __init__(self, database: str) -> None:
        self.database = database
        self.reads: list[tuple[str, str]] = []  # (command, collection)

    def started(self, event) -> None:
        if event.database_name == self.database and event.command_name in ("find", "getMore", "aggregate",
                                                                             "count", "distinct"):
            self.reads.append((event.command_name, event.command.get(event.command_name)))

    def succeeded(self, event) -> None:
        pass

    def failed(self, event) -> None:
        pass


def mixed_batch(brand: str, n: int, conv_id: str) -> list:
    """`n` inputs of every kind the intake forwards: new senders, a handle an order linked, orders,
    commands, chat ends, calls without a caller, receipts."""
    out = []
    for i in range(n):
        out += [
            message(brand, Handle("email", f"new-{i}@example.com"), "email"),
            message(brand, PHONE, "sms", minutes=i),
            OrderIn(event_id=f"o-{next(_ids)}", brand_id=brand, order_id=f"o-{i}", kind="delayed", occurred_at=T0),
            command(brand, AddInternalNote(conv_id, f"note {i}")),
            ChatEndIn(event_id=f"end-{next(_ids)}", brand_id=brand, chat_session_id=f"s-{i}", ended_at=T0),
            CallIn(event_id=f"call-{next(_ids)}", brand_id=brand, call_id=f"c-{i}", state="completed",
                   occurred_at=T0, caller=None),
            DeliveryIn(event_id=f"d-{next(_ids)}", brand_id=brand, provider="test", provider_message_id=f"pm-x{i}",
                       state="read", occurred_at=T0),
        ]
    return out


async def test_one_batch_makes_a_bounded_number_of_store_requests(mongo_uri, mongo_db, namespace, stage):
    """Round one reads what the inputs name (handle index, conversations, sessions, thread keys,
    orders), round two the customers: the seed-derived ids with the owners round one found (Ann, by the
    phone's index document, the conversation and the order; never a seed id of the batch's handles)."""
    brand = brand_of(namespace)
    await stage.apply(message(brand, ANN, "email"))
    await stage.apply(OrderIn(event_id=f"ord-{namespace}", brand_id=brand, order_id="o-0", kind="placed",
                              occurred_at=T0, handles=(ANN, PHONE)))
    conv = await conversation_of(mongo_db, brand, seed(brand, ANN))
    counter = FindCounter(namespace)
    client = AsyncMongoClient(mongo_uri, tz_aware=True, event_listeners=[counter])
    try:
        keys = ContactKeys(client[namespace])
        small = await keys.keys(mixed_batch(brand, 1, conv["_id"]))
        small_reads = list(counter.reads)
        counter.reads.clear()
        batch = mixed_batch(brand, 40, conv["_id"])
        big = await keys.keys(batch)
        big_reads = list(counter.reads)
    finally:
        await client.close()
    assert len(big) == len(batch) == 280
    ann = seed(brand, ANN)
    assert small[1:4] == big[1:4] == [ann, ann, ann]  # the phone, order o-0, the note
    assert sorted(big_reads) == sorted(small_reads)
    assert len(big_reads) <= 6, big_reads
    collections = [c for _, c in big_reads]
    assert sorted(collections) == sorted(set(collections)), big_reads  # each collection once
