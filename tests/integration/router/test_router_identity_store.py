"""Identity without handle-index documents for new customers, on the real broker and store: a new
customer's id derives from its seed handle (domain/identity.py), so it writes no `customer_handles`
document; customers stored the old way (random id + index documents) are still found; a merge still
resolves the merged customer's seed handle to the survivor."""

from __future__ import annotations

from datetime import timedelta

import pytest
from prometheus_client import REGISTRY
from router_it_kit import T0, brand_of, inbound_message, running_router
from switchboard.common.cloudevents import derived_id
from switchboard.common.testing import wait_for
from switchboard.events.v1 import agent_pb2

WA, PHONE = "4915112345678", "+4915112345678"


async def send(producer, topic, payload, key):
    await producer.publish(topic, payload, key=key)
    await producer.drain()


def handle_documents_written() -> float:
    """`customer_handles` documents the in-process router wrote (switchboard.common.mongo_writes)."""
    value = REGISTRY.get_sample_value("switchboard_mongo_documents_written_total", {"collection": "customer_handles"})
    return value or 0.0


async def message_count(db, conversation_id: str, n: int) -> dict:
    return await wait_for(lambda: db["conversations"].find_one({"_id": conversation_id, "message_count": n}),
                          timeout=20, message=f"conversation {conversation_id} with {n} messages")


async def first_conversation(db, brand: str, reply_value: str) -> dict:
    return await wait_for(lambda: db["conversations"].find_one({"brand_id": brand, "reply_handle.value": reply_value}),
                          timeout=20, message=f"conversation of {reply_value}")


def merge(surviving: str, merged: str, brand: str) -> agent_pb2.AgentCommand:
    return agent_pb2.AgentCommand(brand_id=brand, agent_id="alice", merge_customers=agent_pb2.MergeCustomers(
        surviving_customer_id=surviving, merged_customer_id=merged))


@pytest.mark.parametrize("transactions", [True, False], ids=["one-transaction", "markers-last"])
async def test_a_new_whatsapp_customer_writes_no_handle_document_and_sms_from_that_phone_threads_to_it(
    service_settings, namespace, producer, topics, mongo_db, transactions
):
    brand = brand_of(namespace)
    written_before = handle_documents_written()
    async with running_router(service_settings, namespace, mongo_transactions=transactions):
        await send(producer, topics.inbound, inbound_message("Hello, my parcel is late", channel="whatsapp",
                                                             sender=("whatsapp_id", WA), brand=brand), f"{brand}/{WA}")
        conv = await first_conversation(mongo_db, brand, WA)
        customer_id = derived_id("customer", brand, "whatsapp_id", WA)
        assert conv["customer_id"] == customer_id
        assert await mongo_db["customer_handles"].count_documents({"brand_id": brand}) == 0
        assert handle_documents_written() == written_before
        await send(producer, topics.inbound, inbound_message("It is me again, by SMS", channel="sms",
                                                             sender=("phone", "+49 151 12345678"), brand=brand,
                                                             at=T0 + timedelta(minutes=2)), f"{brand}/{PHONE}")
        stored = await message_count(mongo_db, conv["_id"], 2)
    assert stored["channels"] == ["whatsapp", "sms"]
    assert [c["_id"] async for c in mongo_db["customers"].find({"brand_id": brand})] == [customer_id]
    assert await mongo_db["conversations"].count_documents({"brand_id": brand}) == 1
    assert await mongo_db["customer_handles"].count_documents({"brand_id": brand}) == 0
    assert handle_documents_written() == written_before


async def test_a_customer_stored_with_a_random_id_and_index_documents_is_still_found(
    service_settings, namespace, producer, topics, mongo_db
):
    brand = brand_of(namespace)
    legacy = f"legacy-{namespace}"
    await mongo_db["customers"].insert_one({"_id": legacy, "brand_id": brand, "created_at": T0 - timedelta(days=30),
                                            "handles": [{"kind": "whatsapp_id", "value": WA},
                                                        {"kind": "phone", "value": PHONE}]})
    await mongo_db["customer_handles"].insert_many([
        {"_id": f"{brand}|{kind}|{value}", "brand_id": brand, "kind": kind, "value": value, "customer_id": legacy}
        for kind, value in (("whatsapp_id", WA), ("phone", PHONE))])
    async with running_router(service_settings, namespace):
        await send(producer, topics.inbound, inbound_message("Hi, it is me by SMS", channel="sms",
                                                             sender=("phone", PHONE), brand=brand), f"{brand}/{PHONE}")
        conv = await first_conversation(mongo_db, brand, PHONE)
        await send(producer, topics.inbound, inbound_message("and now on WhatsApp", channel="whatsapp",
                                                             sender=("whatsapp_id", WA), brand=brand,
                                                             at=T0 + timedelta(minutes=2)), f"{brand}/{WA}")
        await message_count(mongo_db, conv["_id"], 2)
    assert conv["customer_id"] == legacy
    assert [c["_id"] async for c in mongo_db["customers"].find({"brand_id": brand})] == [legacy]
    assert await mongo_db["customer_handles"].count_documents({"brand_id": brand}) == 2  # nothing new


async def test_a_merge_resolves_the_merged_customers_seed_handle_to_the_survivor(
    service_settings, namespace, producer, topics, mongo_db
):
    brand = brand_of(namespace)
    async with running_router(service_settings, namespace):
        await send(producer, topics.inbound, inbound_message("Hello by email", channel="email",
                                                             sender=("email", "ann@example.com"), brand=brand),
                   f"{brand}/ann@example.com")
        await send(producer, topics.inbound, inbound_message("Hello by WhatsApp", channel="whatsapp",
                                                             sender=("whatsapp_id", WA), brand=brand), f"{brand}/{WA}")
        by_email = await first_conversation(mongo_db, brand, "ann@example.com")
        by_wa = await first_conversation(mongo_db, brand, WA)
        survivor, merged = by_email["customer_id"], by_wa["customer_id"]
        assert survivor != merged and await mongo_db["customer_handles"].count_documents({"brand_id": brand}) == 0
        await send(producer, topics.agent_commands, merge(survivor, merged, brand), "agent/alice")
        await wait_for(lambda: mongo_db["customers"].find_one({"_id": merged, "merged_into": survivor}), timeout=20,
                       message="merge applied")
        # The merged customer's seed (its WhatsApp id and that phone number) now names the survivor.
        await send(producer, topics.inbound, inbound_message("Me again, by SMS", channel="sms", sender=("phone", PHONE),
                                                             brand=brand, at=T0 + timedelta(minutes=3)),
                   f"{brand}/{PHONE}")
        latest = await wait_for(
            lambda: mongo_db["conversation_messages"].find_one({"brand_id": brand, "channel": "sms"}),
            timeout=20, message="the SMS stored")
    conversation = await mongo_db["conversations"].find_one({"_id": latest["conversation_id"]})
    assert conversation["customer_id"] == survivor
    index = {d["_id"]: d["customer_id"] async for d in mongo_db["customer_handles"].find({"brand_id": brand})}
    assert index == {f"{brand}|whatsapp_id|{WA}": survivor, f"{brand}|phone|{PHONE}": survivor}
    assert not (await mongo_db["customers"].find_one({"_id": survivor})).get("merged_into")
