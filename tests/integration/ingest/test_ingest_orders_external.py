"""Order CloudEvents published straight on Kafka (orders.external): valid -> orders, invalid -> DLQ with reason."""
from __future__ import annotations

import json

import ingest_requests as p
from aiokafka import AIOKafkaProducer
from ingest_requests import records
from switchboard.events.v1 import orders_pb2


async def test_kafka_published_cloudevents_are_validated_and_forwarded(ingest, kafka_bootstrap):
    event = p.order_cloudevent("Анна 🙂", "k-1", "shipped")
    binary_headers = [("ce_specversion", b"1.0"), ("ce_id", b"k-1"), ("ce_source", event["source"].encode()),
                      ("ce_type", event["type"].encode()), ("ce_time", b"2026-01-05T09:00:00Z"),
                      ("ce_brandid", p.BRAND.encode()), ("content-type", b"application/json")]
    structured = {**p.order_cloudevent("李雷", "k-2", "refunded"), "brandid": p.BRAND}
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    await producer.start()
    try:
        topic = ingest.names.orders_external
        await producer.send_and_wait(topic, json.dumps(event["data"]).encode(), key=b"1001", headers=binary_headers)
        await producer.send_and_wait(topic, json.dumps(structured).encode(), key=b"1001",
                                     headers=[("content-type", b"application/cloudevents+json")])
        # Redelivery of the first one (publisher retry): forwarded once.
        await producer.send_and_wait(topic, json.dumps(event["data"]).encode(), key=b"1001", headers=binary_headers)
        # Invalid: unknown kind; no brand; not a CloudEvent at all.
        await producer.send_and_wait(topic, json.dumps(event["data"]).encode(), key=b"1001", headers=[
            *[(k, v) for k, v in binary_headers if k != "ce_type"], ("ce_type", b"com.brand.order.teleported")])
        await producer.send_and_wait(topic, json.dumps(event["data"]).encode(), key=b"1001",
                                     headers=[h for h in binary_headers if h[0] != "ce_brandid"])
        await producer.send_and_wait(topic, b"hello", key=b"1001")
    finally:
        await producer.stop()

    forwarded = await records(kafka_bootstrap, ingest.names.orders, min_count=2, timeout=20)
    orders = [orders_pb2.OrderEvent.FromString(r.value) for r in forwarded]
    assert [(o.kind, o.customer_name) for o in orders] == [
        (orders_pb2.ORDER_EVENT_KIND_SHIPPED, "Анна 🙂"), (orders_pb2.ORDER_EVENT_KIND_REFUNDED, "李雷")]
    assert all(r.key == f"{p.BRAND}/1001".encode() for r in forwarded)

    dead = await records(kafka_bootstrap, ingest.names.dlq("orders_external"), min_count=3, timeout=20)
    reasons = [dict(r.headers)["dlq_error"].decode() for r in dead]
    assert len(dead) == 3
    assert "type must end in order." in reasons[0]
    assert "brandid" in reasons[1]
    assert "neither binary mode" in reasons[2]
    assert dead[2].value == b"hello"  # the original record is kept for inspection and replay
