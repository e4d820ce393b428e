"""The runner's decode= hook on the real broker: records that are not Switchboard protobuf (JSON here)
reach the handler as the hook decodes them; the ones it refuses go to <topic>.dlq with the reason,
the field and the original bytes, and never stall the records after them."""
from __future__ import annotations

import json
from datetime import UTC, datetime

from switchboard.common.cloudevents import Envelope
from switchboard.common.consumer import ConsumerRunner, PermanentError
from switchboard.common.testing import wait_for
from switchboard.common.testing.helpers import read_raw


def decode_json(record) -> Envelope:
    try:
        body = json.loads(record.value)
    except ValueError:
        raise PermanentError("value is not JSON", field="value") from None
    if not isinstance(body, dict) or "order_id" not in body:
        raise PermanentError("order_id is required", field="order_id")
    if body["order_id"] == "crash":
        raise ZeroDivisionError("the hook has a bug")
    return Envelope(payload=body, id=f"{record.topic}/{record.offset}", type="json", source="/t",
                    time=datetime.now(UTC), brand_id="acme", key=record.key, topic=record.topic,
                    partition=record.partition, offset=record.offset, raw_headers=list(record.headers),
                    raw_value=record.value)


async def test_a_decode_hook_feeds_foreign_records_to_the_handler_and_dead_letters_the_refused_ones(
        service_settings, producer, topics, namespace, kafka_bootstrap):
    settings = service_settings()
    topic = topics.orders_external
    for value in (b"{not json", b'{"sku": 1}', b'{"order_id": "crash"}', b'{"order_id": "A-1"}',
                  b'{"order_id": "A-2"}'):
        await producer.send_raw(topic, value, b"k", [("origin", b"oms")])
    await producer.drain()
    handled: list[dict] = []

    async def handle(batch: list[Envelope]) -> None:
        handled.extend(env.payload for env in batch)

    runner = ConsumerRunner(name="json", kafka=settings.kafka, consumer=settings.consumer, topics=[topic],
                            group_id=f"{namespace}-json", handler=handle, producer=producer, decode=decode_json)
    await runner.start()
    try:
        await wait_for(lambda: len(handled) == 2, timeout=15)
    finally:
        await runner.stop()
    assert handled == [{"order_id": "A-1"}, {"order_id": "A-2"}]
    dead = await read_raw(kafka_bootstrap, topics.dlq("orders_external"), min_count=3)
    headers = [dict(r.headers) for r in dead]
    assert [(h["dlq_reason"], h.get("dlq_field")) for h in headers] == [
        (b"rejected", b"value"), (b"rejected", b"order_id"), (b"failed", None)]
    assert b"ZeroDivisionError" in headers[2]["dlq_error"]
    assert [r.value for r in dead] == [b"{not json", b'{"sku": 1}', b'{"order_id": "crash"}']
    assert all(h["origin"] == b"oms" and h["dlq_group"] == f"{namespace}-json".encode() for h in headers)
    assert all(h["dlq_topic"] == topic.encode() and h["dlq_partition"] == str(dead[0].partition).encode()
               for h in headers)
