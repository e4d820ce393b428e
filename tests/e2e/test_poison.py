"""Poison records on every consumed topic go to `<topic>.dlq` and processing goes on.

All five services run as real processes. On each topic a service consumes we produce, with one
key (so they share a partition and come first): a record that is not a CloudEvent, one whose value
is not valid protobuf, one of a message type the topic does not carry, and (where the consumer
validates content) one with a required field missing; then one valid record. Every consumer group
of the topic must dead-letter each poison record (headers name the group, source topic, offset and
reason) and still process the valid record: its effect is visible in MongoDB, at a receiver or in
the group's committed offset.
"""
from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime

import harness
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from switchboard.common.producer import EventProducer
from switchboard.common.testing import wait_for
from switchboard.events.v1 import (
    agent_pb2,
    common_pb2,
    conversation_pb2,
    escalation_pb2,
    inbound_pb2,
    notification_pb2,
    orders_pb2,
    routing_pb2,
    sla_pb2,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

# topic -> consumer groups (by service) that must dead-letter poison found there
CONSUMERS = {"inbound": ("router",), "orders": ("router",), "agent_commands": ("router",), "contacts": ("contact",),
             "routing": ("routing",),
             "conversations": ("sla", "analytics"), "sla": ("analytics",), "escalations": ("notifier", "analytics"),
             "notifications": ("notifier",), "deliveries": ("analytics",), "orders_external": ("ingest",)}


def ts(dt: datetime) -> Timestamp:
    t = Timestamp()
    t.FromDatetime(dt)
    return t


def snapshot(conversation_id: str, phone: str) -> common_pb2.ConversationSnapshot:
    return common_pb2.ConversationSnapshot(
        conversation_id=conversation_id, customer_id=f"cust-{conversation_id}", channel=common_pb2.CHANNEL_SMS,
        status=common_pb2.CONVERSATION_STATUS_QUEUED, priority=common_pb2.PRIORITY_NORMAL, queue="general",
        language="en", opened_at=ts(datetime.now(UTC)),
        reply_handle=common_pb2.ContactHandle(kind=common_pb2.HANDLE_KIND_PHONE, value=phone))


def wrong_type() -> agent_pb2.AgentCommand:
    return agent_pb2.AgentCommand(brand_id="acme", agent_id="alice",
                                  set_agent_presence=agent_pb2.SetAgentPresence(presence=agent_pb2.PRESENCE_ONLINE))


@pytest.fixture
async def stack(kafka_bootstrap, mongo_uri, namespace, bus_topics, receivers, tmp_path):
    config = harness.prepare_config(tmp_path / "config", inbox_http=receivers.http_origin,
                                    smtp_port=receivers.smtp_port)
    s = harness.proof_stack(kafka_bootstrap, mongo_uri, namespace, config, tmp_path)
    await asyncio.to_thread(s.start)
    yield s
    await asyncio.to_thread(s.stop)


async def test_poison_records_on_every_topic_are_dead_lettered_and_the_next_record_is_processed(
        stack, receivers, kafka_bootstrap, namespace, mongo_db):
    topics = stack.topics
    groups = {**harness.consumer_groups(namespace), "ingest": f"{namespace}.switchboard-ingest-orders-external"}
    producer = EventProducer(stack.kafka, source="/tests/poison")
    await producer.start()
    run = uuid.uuid4().hex[:8]
    now = datetime.now(UTC)
    conversation_id = f"poison-{run}"
    phone = "+4915100012345"
    poison: dict[str, list[int]] = {}   # topic -> offsets of poison records
    valid: dict[str, tuple[int, int]] = {}  # topic -> (partition, offset) of the valid record after them

    async def send_raw(logical: str, key: str, value: bytes, headers: list) -> None:
        meta = await (await producer.send_raw(topics.of(logical), value, key, headers))
        poison.setdefault(logical, []).append(meta.offset)

    async def send_poison(logical: str, key: str, schema: str, invalid=None) -> None:
        await send_raw(logical, key, b"not a cloudevent", [])
        await send_raw(logical, key, b"\x0a\xff\xff\xff\xff", [
            ("ce_specversion", b"1.0"), ("ce_id", uuid.uuid4().hex.encode()), ("ce_source", b"/tests"),
            ("ce_type", schema.encode()), ("ce_dataschema", schema.encode()),
            ("content-type", b"application/protobuf")])
        future = await producer.publish(topics.of(logical), wrong_type() if logical != "agent_commands" else
                                        sla_pb2.SlaEvent(brand_id="acme"), key=key)
        poison[logical].append((await future).offset)
        if invalid is not None:
            poison[logical].append((await (await producer.publish(topics.of(logical), invalid, key=key))).offset)

    async def send_valid(logical: str, payload, key: str, **kwargs) -> None:
        meta = await (await producer.publish(topics.of(logical), payload, key=key, **kwargs))
        valid[logical] = (meta.partition, meta.offset)

    try:
        # inbound -> router: the valid message lands in conversation_messages
        handle = f"{run}-chat"
        key = f"acme/{handle}"
        missing_sender = inbound_pb2.InboundEvent(brand_id="acme")
        missing_sender.message_received.channel = common_pb2.CHANNEL_CHAT
        missing_sender.message_received.provider_message_id = f"{run}-bad"
        await send_poison("inbound", key, "switchboard.events.v1.InboundEvent", missing_sender)
        await send_valid("inbound", harness.message_received("chat", handle, "Where is my order 77?", f"{run}-ok", now),
                         key)
        # orders -> router: the valid order lands in the router's orders collection
        order = orders_pb2.OrderEvent(brand_id="acme", order_id=f"o-{run}", kind=orders_pb2.ORDER_EVENT_KIND_CREATED,
                                      occurred_at=ts(now), order_number=f"#{run}")
        await send_poison("orders", f"acme/o-{run}", "switchboard.events.v1.OrderEvent",
                          orders_pb2.OrderEvent(brand_id="acme", kind=orders_pb2.ORDER_EVENT_KIND_CREATED))
        await send_valid("orders", order, f"acme/o-{run}")
        # agent commands -> router: presence of alice becomes online
        presence = wrong_type()  # alice goes online: a valid command on this topic
        await send_poison("agent_commands", "agent/alice", "switchboard.events.v1.AgentCommand")
        await send_valid("agent_commands", presence, "agent/alice")
        # contacts -> the router's contact stage, routing -> its routing stage (internal topics: what a
        # misbehaving producer could put there): the valid input after the poison is stored
        for logical, stage in (("contacts", "contact"), ("routing", "routing")):
            stage_key = f"acme/{run}-{stage}"
            await send_poison(logical, stage_key, "switchboard.events.v1.RoutingRequest",
                              routing_pb2.RoutingRequest(brand_id="acme"))
            forwarded = routing_pb2.RoutingRequest(brand_id="acme")
            forwarded.inbound.CopyFrom(harness.message_received("chat", f"{run}-{stage}-chat", "Where is my order 78?",
                                                                f"{run}-{stage}-ok", now))
            await send_valid(logical, forwarded, stage_key)
        # conversations -> sla + analytics: the conversation gets SLA state and an analytics projection
        opened = conversation_pb2.ConversationEvent(brand_id="acme", conversation=snapshot(conversation_id, phone),
                                                    occurred_at=ts(now))
        opened.conversation_opened.first_message_id = f"m-{run}"
        await send_poison("conversations", conversation_id, "switchboard.events.v1.ConversationEvent",
                          conversation_pb2.ConversationEvent(brand_id="acme", occurred_at=ts(now)))
        await send_valid("conversations", opened, conversation_id)
        # sla -> analytics
        applied = sla_pb2.SlaEvent(brand_id="acme", conversation=snapshot(conversation_id, phone),
                                   metric=sla_pb2.SLA_METRIC_FIRST_RESPONSE, instance=1, policy_id="chat",
                                   deadline=ts(now), target_seconds=600)
        applied.sla_applied.started_at.CopyFrom(ts(now))
        await send_poison("sla", conversation_id, "switchboard.events.v1.SlaEvent")
        await send_valid("sla", applied, conversation_id)
        # escalations -> notifier (Slack receives it) + analytics
        escalation = escalation_pb2.EscalationRaised(
            brand_id="acme", escalation_id=f"{conversation_id}:first_response:1:1",
            conversation=snapshot(conversation_id, phone), level=1, level_name="assignee",
            reason=escalation_pb2.ESCALATION_REASON_SLA_BREACHED, metric=sla_pb2.SLA_METRIC_FIRST_RESPONSE,
            instance=1, deadline=ts(now), breached_at=ts(now), raised_at=ts(now), recipients=["alice"],
            destinations=["ops-slack"], target_seconds=600)
        await send_poison("escalations", conversation_id, "switchboard.events.v1.EscalationRaised")
        await send_valid("escalations", escalation, conversation_id)
        # notifications -> notifier: the customer's phone receives the reply (Twilio receiver)
        reply = notification_pb2.NotificationRequested(
            brand_id="acme", intent_id=f"reply-{run}", kind=notification_pb2.NOTIFICATION_KIND_AGENT_REPLY,
            conversation=snapshot(conversation_id, phone), language="en", text=f"Your parcel {run} is on its way.",
            recipient=common_pb2.ContactHandle(kind=common_pb2.HANDLE_KIND_PHONE, value=phone),
            channel=common_pb2.CHANNEL_SMS, requested_at=ts(now))
        await send_poison("notifications", conversation_id, "switchboard.events.v1.NotificationRequested",
                          notification_pb2.NotificationRequested(brand_id="acme",
                                                                 kind=notification_pb2.NOTIFICATION_KIND_AGENT_REPLY))
        await send_valid("notifications", reply, conversation_id)
        # deliveries -> analytics
        delivery = notification_pb2.DeliveryRecorded(
            brand_id="acme", intent_id=f"x-{run}", kind=notification_pb2.NOTIFICATION_KIND_AGENT_REPLY,
            conversation_id=conversation_id, destination="twilio", channel=common_pb2.CHANNEL_SMS,
            outcome=notification_pb2.DELIVERY_OUTCOME_DELIVERED, attempts=1, recorded_at=ts(now))
        await send_poison("deliveries", conversation_id, "switchboard.events.v1.DeliveryRecorded")
        await send_valid("deliveries", delivery, conversation_id)
        # orders.external -> ingest: JSON CloudEvents published by other systems
        external = topics.orders_external
        for value, headers in ((b"{not json", []), (json.dumps({"specversion": "1.0"}).encode(), []),
                               (json.dumps({"specversion": "1.0", "id": f"e-{run}", "source": "//oms", "type":
                                            "com.acme.order.teleported", "brandid": "acme",
                                            "data": {"order_id": "1"}}).encode(), [])):
            meta = await (await producer.send_raw(external, value, f"x-{run}", headers))
            poison.setdefault("orders_external", []).append(meta.offset)
        good = {"specversion": "1.0", "id": f"ext-{run}", "source": "//oms.acme.example/orders",
                "type": "com.acme.order.shipped", "time": now.isoformat().replace("+00:00", "Z"), "brandid": "acme",
                "datacontenttype": "application/json", "data": {"order_id": f"ext-{run}", "carrier": "DHL"}}
        meta = await (await producer.send_raw(external, json.dumps(good).encode(), f"x-{run}",
                                              [("content-type", b"application/cloudevents+json")]))
        valid["orders_external"] = (meta.partition, meta.offset)
    finally:
        await producer.stop()

    # Every poison record is in <topic>.dlq, once per consuming group, with the reason named.
    async def dead_lettered() -> dict:
        missing = {}
        for logical, services in CONSUMERS.items():
            records = await harness.read_all(kafka_bootstrap, topics.dlq(logical))
            got = {(dict(r.headers).get("dlq_group", b"").decode(), int(dict(r.headers).get("dlq_offset", b"-1")))
                   for r in records}
            for service in services:
                want = {(groups[service], offset) for offset in poison[logical]}
                if want - got:
                    missing[f"{service}:{logical}"] = sorted(o for _, o in want - got)
        return missing

    missing: dict = {}

    async def all_dead_lettered() -> bool:
        nonlocal missing
        missing = await dead_lettered()
        return not missing

    try:
        await wait_for(all_dead_lettered, timeout=90, interval=1)
    except AssertionError:
        pass  # reported at the end, after checking that processing went on
    for logical in CONSUMERS:
        for r in await harness.read_all(kafka_bootstrap, topics.dlq(logical)):
            headers = dict(r.headers)
            assert headers["dlq_topic"].decode() == topics.of(logical)
            assert headers["dlq_reason"] and headers["dlq_error"], headers

    # ... and the valid record after them was processed by every consumer.
    await wait_for(lambda: mongo_db["conversation_messages"].find_one({"provider_message_id": f"{run}-ok"}),
                   timeout=30, message="valid inbound message stored")
    for stage in ("contact", "routing"):
        await wait_for(lambda stage=stage: mongo_db["conversation_messages"].find_one(
            {"provider_message_id": f"{run}-{stage}-ok"}), timeout=30,
            message=f"valid input on the {stage} stage stored")
    await wait_for(lambda: mongo_db["orders"].find_one({"_id": f"acme/o-{run}"}), timeout=30,
                   message="valid order stored")
    await wait_for(lambda: mongo_db["sla_conversations"].find_one({"_id": conversation_id}), timeout=30,
                   message="SLA state of the valid conversation event")
    await wait_for(lambda: any(r.path.startswith("/slack/") and run in r.body for r in receivers.snapshot()),
                   timeout=30, message="valid escalation delivered to Slack")
    await wait_for(lambda: any(f"Your parcel {run}" in r.body for r in receivers.snapshot()), timeout=30,
                   message="valid notification delivered to the customer")

    async def committed_past_valid() -> dict:
        behind = {}
        for logical, services in CONSUMERS.items():
            for service in services:
                member = await harness._consumer(kafka_bootstrap, groups[service])
                try:
                    partition, offset = valid[logical]
                    done = (await harness.committed(member, topics.of(logical), [partition]))[partition]
                finally:
                    await member.stop()
                if done <= offset:
                    behind[f"{service}:{logical}"] = (partition, done, offset)
        return behind

    async def nobody_behind() -> bool:
        return not await committed_past_valid()

    await wait_for(nobody_behind, timeout=30, interval=1, message="every group committed past the valid record")
    ingested = await harness.read_all(kafka_bootstrap, topics.orders)
    assert any(f"ext-{run}".encode() in r.value for r in ingested), "ingest forwarded the valid external order"
    assert not missing, (
        f"poison records not dead-lettered (group:topic -> offsets; per topic the offsets are: not a CloudEvent, "
        f"invalid protobuf, a message type the topic does not carry, a required field missing): {missing}")
