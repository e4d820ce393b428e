"""The contact stage re-keys misrouted inputs (contact_stage.py ContactHandler._misrouted), on the real store
(nx-27017) and broker (Tansu).

The intake keys an input from the store as it stood when it read it; the races it loses (a chat message
read before its chat start was written, a message from a handle an order in flight links) are reproduced
deterministically by publishing the input on the contacts topic keyed as the intake would have keyed it
then, once the write that decides it is stored. The contact stage that reads it keys it again, publishes it
once more keyed by its customer (`RoutingRequest.rekeyed` 1, same event id) and applies nothing; the
customer's owner applies it: one customer, the message in her conversation, once. A record re-keyed once
already is applied where it lands. A batch keyed again from its Workspace costs no store request more."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import timedelta

from pymongo import AsyncMongoClient, monitoring
from router_it_kit import T0, brand_of, demo_config_for, detector, inbound_message, order_event, running_router, ts
from switchboard.common.cloudevents import Envelope, derived_id
from switchboard.common.testing import read_topic, wait_for
from switchboard.common.topics import registry
from switchboard.events.v1 import inbound_pb2, orders_pb2
from switchboard.router import metrics
from switchboard.router.adapters import routing_wire
from switchboard.router.adapters.contact_keys import ContactKeys
from switchboard.router.adapters.store import RouterStore
from switchboard.router.adapters.store_writes import CONTACT
from switchboard.router.domain import identity
from switchboard.router.domain.engine import Engine, application_order
from switchboard.router.domain.inputs import (
    AddInternalNote,
    CallIn,
    ChatEndIn,
    ChatStartIn,
    CommandIn,
    CsatIn,
    DeliveryIn,
    MessageIn,
    OrderIn,
    SetAgentPresence,
)
from switchboard.router.domain.model import Handle
from switchboard.router.ownership import partition_of

PARTITIONS = registry()["contacts"].partitions
ANN = Handle("email", "ann@example.com")


def seed(brand: str, h: Handle) -> str:
    return identity.seed_id(derived_id, brand, h)


def part(key: str) -> int:
    return partition_of(key, PARTITIONS)


def rekeyed_count() -> float:
    return metrics.CONTACT_REKEYED._value.get()


async def send(producer, topic, payload, key, **kw):
    await producer.publish(topic, payload, key=key, **kw)
    await producer.drain()


def contacts_record(producer, topics, payload, *, event_id: str, rekeyed: int = 0) -> tuple[Envelope, object]:
    """The intake's record of an inbound input (routing_wire.wrap_input): its envelope and RoutingRequest."""
    inbound = replace(producer.envelope(payload, event_id=event_id), topic=topics.inbound)
    _, request = routing_wire.wrap_input(inbound, detector())
    request.rekeyed = rekeyed
    return inbound, request


async def publish_contact(producer, topics, payload, key: str, *, event_id: str, rekeyed: int = 0) -> None:
    """On the contacts topic keyed by `key`, as the intake publishes it (same id, time and cause)."""
    inbound, request = contacts_record(producer, topics, payload, event_id=event_id, rekeyed=rekeyed)
    await send(producer, topics.contacts, request, key, cause=inbound, event_id=inbound.id, time=inbound.time,
               brand_id=inbound.brand_id)


def chat_started(brand: str, session: str, email: str) -> inbound_pb2.InboundEvent:
    started = inbound_pb2.ChatSessionStarted(chat_session_id=session, email=email)
    started.started_at.CopyFrom(ts(T0))
    return inbound_pb2.InboundEvent(brand_id=brand, chat_session_started=started)


def chat_message(brand: str, session: str, text: str, minutes: int = 1) -> inbound_pb2.InboundEvent:
    return inbound_message(text, channel="chat", sender=("chat_session", session), chat_session_id=session,
                           at=T0 + timedelta(minutes=minutes), brand=brand)


def session_elsewhere(namespace: str, brand: str, customer: str) -> str:
    """A chat session whose seed customer (the intake's key for it while nobody holds it) lives in another
    partition than `customer`."""
    return next(s for i in itertools.count() if part(seed(brand, Handle("chat_session", s := f"{namespace}-s{i}")))
                != part(customer))


async def ann_writes_an_email(producer, topics, mongo_db, brand: str) -> dict:
    """Ann, a stored customer with an open conversation."""
    await send(producer, topics.inbound, inbound_message("Hello, where is my parcel?", channel="email",
                                                         sender=("email", ANN.value), brand=brand),
               f"{brand}/{ANN.value}")
    return await wait_for(lambda: mongo_db["conversations"].find_one(
        {"brand_id": brand, "customer_id": seed(brand, ANN), "contact_pending": {"$ne": True}}),
        timeout=20, message="Ann's conversation")


async def ann_starts_a_chat(producer, topics, mongo_db, brand: str, session: str) -> None:
    """Her chat start, written: the session and its handle are hers."""
    await send(producer, topics.inbound, chat_started(brand, session, ANN.value), f"{brand}/{session}")
    await wait_for(lambda: mongo_db["chat_sessions"].find_one({"_id": f"{brand}/{session}",
                                                               "customer_id": seed(brand, ANN)}),
                   timeout=20, message="the chat session stored as Ann's")


async def copies_on_contacts(kafka_bootstrap, topics, event_id: str, count: int) -> list[Envelope]:
    records = await read_topic(kafka_bootstrap, topics.contacts, count, timeout=10)
    return sorted((r for r in records if r.id == event_id), key=lambda r: r.payload.rekeyed)


async def one_customer_and_the_message_once(mongo_db, brand: str, conv_id: str, text: str) -> None:
    assert [c["_id"] async for c in mongo_db["customers"].find({"brand_id": brand})] == [seed(brand, ANN)]
    assert await mongo_db["conversations"].count_documents({"brand_id": brand}) == 1
    assert await mongo_db["conversation_messages"].count_documents({"text": text}) == 1
    stored = await mongo_db["conversation_messages"].find_one({"text": text})
    assert stored["conversation_id"] == conv_id


async def test_a_chat_message_keyed_before_its_chat_start_was_written_is_rekeyed_to_the_sessions_customer(
    service_settings, namespace, producer, topics, mongo_db, kafka_bootstrap
):
    brand = brand_of(namespace)
    ann = seed(brand, ANN)
    session = session_elsewhere(namespace, brand, ann)
    stale_key = seed(brand, Handle("chat_session", session))  # nobody held the session when the intake read
    text = "Hi, it's me again about the parcel"
    async with running_router(service_settings, namespace):
        conv = await ann_writes_an_email(producer, topics, mongo_db, brand)
        await ann_starts_a_chat(producer, topics, mongo_db, brand, session)
        before = rekeyed_count()
        await publish_contact(producer, topics, chat_message(brand, session, text), stale_key,
                              event_id=f"{namespace}-chat-1")
        await wait_for(lambda: mongo_db["conversations"].find_one({"_id": conv["_id"], "message_count": 2}),
                       timeout=20, message="the chat message in Ann's conversation")
        assert rekeyed_count() == before + 1
    await one_customer_and_the_message_once(mongo_db, brand, conv["_id"], text)
    copies = await copies_on_contacts(kafka_bootstrap, topics, f"{namespace}-chat-1", 2)
    assert [(c.key, c.partition, c.payload.rekeyed) for c in copies] == [
        (stale_key.encode(), part(stale_key), 0), (ann.encode(), part(ann), 1)]
    original, again = copies
    assert (again.time, again.correlation_id, again.causation_id) == (
        original.time, original.correlation_id, original.causation_id)
    assert again.payload.inbound == original.payload.inbound


async def test_a_message_from_a_handle_an_order_linked_is_rekeyed_to_the_orders_customer(
    service_settings, namespace, producer, topics, mongo_db, kafka_bootstrap
):
    brand = brand_of(namespace)
    ann = seed(brand, ANN)
    phone = next(p for i in itertools.count() if part(seed(brand, Handle("phone", p := f"+49151{i:07d}"))) != part(ann))
    stale_key = seed(brand, Handle("phone", phone))  # the phone's own seed: before the order linked it
    text = "Is the parcel coming today?"
    async with running_router(service_settings, namespace):
        conv = await ann_writes_an_email(producer, topics, mongo_db, brand)
        await send(producer, topics.orders,
                   order_event("o-1", orders_pb2.ORDER_EVENT_KIND_SHIPPED, ("email", ANN.value), ("phone", phone),
                               brand=brand), f"{brand}/o-1")
        await wait_for(lambda: mongo_db["customer_handles"].find_one({"brand_id": brand, "value": phone,
                                                                      "customer_id": ann}),
                       timeout=20, message="the phone linked to Ann by the order")
        before = rekeyed_count()
        sms = inbound_message(text, channel="sms", sender=("phone", phone), at=T0 + timedelta(minutes=2), brand=brand)
        await publish_contact(producer, topics, sms, stale_key, event_id=f"{namespace}-sms-1")
        await wait_for(lambda: mongo_db["conversations"].find_one({"_id": conv["_id"], "message_count": 2}),
                       timeout=20, message="the sms in Ann's conversation")
        assert rekeyed_count() == before + 1
    await one_customer_and_the_message_once(mongo_db, brand, conv["_id"], text)
    copies = await copies_on_contacts(kafka_bootstrap, topics, f"{namespace}-sms-1", 2)
    assert [(c.partition, c.payload.rekeyed) for c in copies] == [(part(stale_key), 0), (part(ann), 1)]


async def test_a_record_rekeyed_once_already_is_applied_where_it_lands(
    service_settings, namespace, producer, topics, mongo_db, kafka_bootstrap
):
    brand = brand_of(namespace)
    ann = seed(brand, ANN)
    session = session_elsewhere(namespace, brand, ann)
    elsewhere = seed(brand, Handle("chat_session", session))
    text = "Still me, from the chat"
    async with running_router(service_settings, namespace):
        conv = await ann_writes_an_email(producer, topics, mongo_db, brand)
        await ann_starts_a_chat(producer, topics, mongo_db, brand, session)
        before = rekeyed_count()
        await publish_contact(producer, topics, chat_message(brand, session, text), elsewhere,
                              event_id=f"{namespace}-chat-2", rekeyed=1)
        await wait_for(lambda: mongo_db["conversations"].find_one({"_id": conv["_id"], "message_count": 2}),
                       timeout=20, message="the chat message in Ann's conversation")
        assert rekeyed_count() == before  # applied by the owner of the partition it landed in
    await one_customer_and_the_message_once(mongo_db, brand, conv["_id"], text)
    copies = await copies_on_contacts(kafka_bootstrap, topics, f"{namespace}-chat-2", 1)
    assert [(c.partition, c.payload.rekeyed) for c in copies] == [(part(elsewhere), 1)]


async def test_a_chat_start_and_its_message_both_keyed_before_the_customer_was_written_leave_together(
    service_settings, namespace, producer, topics, mongo_db, kafka_bootstrap
):
    """Ann's email, her chat start and the first message in it arrived together: the intake keyed the start
    and the message by the session's seed (Ann was not stored yet). One batch of that partition: the start
    is Ann's now, and the message, which depends on it, leaves with it, behind it. Kept here, it would make
    a customer of the session, which the start (applied later by Ann's owner) would then find: two
    customers for Ann."""
    brand = brand_of(namespace)
    ann = seed(brand, ANN)
    session = session_elsewhere(namespace, brand, ann)
    stale_key = seed(brand, Handle("chat_session", session))
    text = "Hello from the chat widget"
    async with running_router(service_settings, namespace) as router:
        conv = await ann_writes_an_email(producer, topics, mongo_db, brand)
        records = []
        for payload, event_id in ((chat_started(brand, session, ANN.value), f"{namespace}-start"),
                                  (chat_message(brand, session, text), f"{namespace}-chat-3")):
            inbound, request = contacts_record(producer, topics, payload, event_id=event_id)
            env = producer.envelope(request, cause=inbound, event_id=inbound.id, time=inbound.time,
                                    brand_id=brand)
            records.append(replace(env, topic=topics.contacts, partition=part(stale_key), key=stale_key.encode()))
        before = rekeyed_count()
        await router.contact_handler(records)  # one batch of the partition the intake keyed both to
        assert rekeyed_count() == before + 2
        await wait_for(lambda: mongo_db["conversations"].find_one({"_id": conv["_id"], "message_count": 2}),
                       timeout=20, message="the chat message in Ann's conversation")
    await one_customer_and_the_message_once(mongo_db, brand, conv["_id"], text)
    session_doc = await mongo_db["chat_sessions"].find_one({"_id": f"{brand}/{session}"})
    assert session_doc["customer_id"] == ann
    rekeyed = sorted((r for r in await read_topic(kafka_bootstrap, topics.contacts, 3, timeout=10)
                      if r.payload.rekeyed), key=lambda r: (r.partition, r.offset))
    assert [(r.id, r.key, r.partition) for r in rekeyed] == [
        (f"{namespace}-start", ann.encode(), part(ann)), (f"{namespace}-chat-3", ann.encode(), part(ann))]


# ---------------------------------------------------------------------------------------- store requests
class Requests(monitoring.CommandListener):
    def __init__(self, database: str) -> None:
        self.database = database
        self.seen: list[tuple[str, str]] = []  # (command, collection)

    def started(self, event) -> None:
        if event.database_name == self.database and event.command_name in ("find", "getMore", "aggregate"):
            self.seen.append((event.command_name, event.command.get(event.command_name)))

    def succeeded(self, event) -> None:
        pass

    def failed(self, event) -> None:
        pass

    def take(self) -> list[tuple[str, str]]:
        out, self.seen = self.seen, []
        return out


_ids = itertools.count(1)


def message(brand: str, sender: Handle, channel: str = "email", **kw) -> MessageIn:
    n = next(_ids)
    return MessageIn(event_id=f"ev-{n}", brand_id=brand, channel=channel, provider="test",
                     provider_message_id=f"pm-{n}", sender=sender, sent_at=T0 + timedelta(minutes=n), text="hello",
                     language="en", **kw)


def command(brand: str, cmd) -> CommandIn:
    return CommandIn(event_id=f"cmd-{next(_ids)}", brand_id=brand, agent_id="alice", at=T0, command=cmd)


async def test_keying_a_batch_again_from_its_workspace_costs_no_store_request(mongo_uri, mongo_db, namespace):
    """The contact stage's load of a batch, then its keys again (ContactKeys.placed, from that Workspace):
    the same keys as the intake's reads (ContactKeys.keys) would give now, and, for every kind of input the
    load reads the names of, no request more. What the load does not read (a conversation it did not find,
    the customer of an order without handles) costs a round of its own."""
    brand = brand_of(namespace)
    engine = Engine(demo_config_for(brand), derived_id)
    setup = RouterStore(mongo_db, transactions=True)
    await setup.ensure_indexes()
    phone, wa, session = Handle("phone", "+4915112345678"), Handle("whatsapp_id", "4915199999999"), f"{namespace}-s"

    async def apply(*inputs) -> None:
        ids = [engine.message_id_for(i) for i in inputs if isinstance(i, MessageIn)]
        ws = await setup.load(list(inputs), ids)
        for inp in inputs:
            engine.apply(ws, inp)
        await setup.save(ws)

    await apply(message(brand, ANN), message(brand, wa, "whatsapp"))
    await apply(OrderIn(event_id=f"o-{namespace}", brand_id=brand, order_id="o-0", kind="placed", occurred_at=T0,
                        handles=(ANN, phone)),
                ChatStartIn(event_id=f"start-{namespace}", brand_id=brand, chat_session_id=session, started_at=T0,
                            email=ANN.value),
                CallIn(event_id=f"ring-{namespace}", brand_id=brand, call_id="c-1", state="ringing",
                       occurred_at=T0, caller=phone))
    conv = await mongo_db["conversations"].find_one({"customer_id": seed(brand, ANN)})
    common = [
        message(brand, ANN), message(brand, Handle("email", "new@example.com")), message(brand, phone, "sms"),
        message(brand, wa, "whatsapp"), message(brand, Handle("chat_session", session), "chat",
                                                chat_session_id=session),
        OrderIn(event_id=f"o2-{namespace}", brand_id=brand, order_id="o-0", kind="shipped", occurred_at=T0,
                handles=(ANN,)),
        command(brand, AddInternalNote(conv["_id"], "called back")), command(brand, SetAgentPresence("online")),
        CsatIn(event_id=f"csat-{namespace}", brand_id=brand, conversation_id=conv["_id"], score=5, answered_at=T0),
        ChatEndIn(event_id=f"end-{namespace}", brand_id=brand, chat_session_id=session, ended_at=T0),
        CallIn(event_id=f"done-{namespace}", brand_id=brand, call_id="c-1", state="completed", occurred_at=T0,
               caller=None),
        DeliveryIn(event_id=f"d-{namespace}", brand_id=brand, provider="test", provider_message_id="pm-x",
                   state="read", occurred_at=T0),
        ChatStartIn(event_id=f"start2-{namespace}", brand_id=brand, chat_session_id=f"{session}-2", started_at=T0,
                    email="new2@example.com"),
    ]
    rare = [command(brand, AddInternalNote(f"{namespace}-nope", "?")),
            OrderIn(event_id=f"o3-{namespace}", brand_id=brand, order_id="o-0", kind="delayed", occurred_at=T0)]
    requests = Requests(namespace)
    client = AsyncMongoClient(mongo_uri, tz_aware=True, event_listeners=[requests])
    try:
        store = RouterStore(client[namespace], role=CONTACT, transactions=True)  # no journal to replay
        keys = ContactKeys(client[namespace])
        counted = {}
        for name, batch in (("one", [message(brand, ANN)]), ("common", common), ("rare", common + rare)):
            ordered = [batch[p] for p in application_order(batch)]
            ids = [engine.message_id_for(i) for i in batch if isinstance(i, MessageIn)]
            ws = await store.load(batch, ids)
            load = requests.take()
            placed = await keys.placed(ordered, ws, lambda key: True)
            again = requests.take()
            fresh = await keys.keys(ordered)
            intake = requests.take()
            assert [p.key for p in placed] == fresh, name
            assert all(p.stays for p in placed)
            counted[name] = (len(load), len(again), len(intake))
    finally:
        await client.close()
    print(f"\nstore requests per batch (load, keyed again from it, ContactKeys.keys alone): {counted}")
    assert counted["one"][1] == counted["common"][1] == 0
    assert counted["rare"][1] <= 2  # one round: the conversation and the order's customer it did not load
