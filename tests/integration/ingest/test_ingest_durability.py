"""Durability: 2xx only after the broker acknowledged; broker down -> 503 + Retry-After, and the
provider's retry after the broker is back is stored exactly once; dedupe survives a restart."""
from __future__ import annotations

import uuid

import ingest_requests as p
import pytest
from ingest_requests import post, records
from switchboard.common import processes
from switchboard.common.admin import ensure_topics
from switchboard.common.testing.helpers import wait_for
from switchboard.events.v1 import inbound_pb2
from switchboard.ingest.handlers import event_id
from switchboard.ingest.settings import IngestConfig


@pytest.fixture
def own_broker(tmp_path):
    port = processes.free_port()
    broker = processes.broker(port, tmp_path).start()
    yield broker
    broker.stop()


async def test_broker_down_gives_503_and_the_retry_is_stored_exactly_once(ingest_factory, own_broker, tmp_path,
                                                                         mongo_db):
    bootstrap = f"127.0.0.1:{own_broker.port}"
    svc = await ingest_factory(IngestConfig(publish_timeout_seconds=4.0, retry_after_seconds=3),
                               kafka={"bootstrap_servers": bootstrap, "request_timeout_ms": 2000})
    warm = p.telegram_message("before the outage", 1)
    assert (await post(svc, warm)).status_code == 200

    own_broker.stop()  # the broker dies; the provider's next delivery arrives during the outage
    req = p.telegram_message("写于中断期间 — во время сбоя 🔥", 2)
    during = await post(svc, req)
    assert during.status_code == 503, during.text
    assert during.headers["Retry-After"] == "3"

    # A new (memory-only, empty) broker comes up on the same port; the provider retries.
    replacement = processes.broker(own_broker.port, tmp_path / "second").start()
    try:
        await ensure_topics(svc.deps.publisher._producer._kafka, svc.names)

        async def retried_ok() -> bool:
            return (await post(svc, req)).status_code == 200

        await wait_for(retried_ok, timeout=30, interval=0.5)
        assert (await post(svc, req)).status_code == 200  # one more provider retry: a duplicate

        stored = await records(bootstrap, svc.names.inbound, min_count=1)
        texts = [inbound_pb2.InboundEvent.FromString(r.value).message_received.text for r in stored]
        assert texts == ["写于中断期间 — во время сбоя 🔥"], texts
        # ...and the durable dedupe record exists, so even a restarted ingest would not store it again.
        expected = event_id(p.BRAND, "telegram:1111111:2")
        await svc.deps.dedupe.flush()
        # ($in rather than {"ids": expected}: nx-27017 does not match a scalar against array elements)
        assert await mongo_db["ingest_dedupe_marks"].find_one({"ids": {"$in": [expected]}}) is not None
    finally:
        await svc.client.aclose()
        for component in reversed(svc.started):
            await component.stop()
        svc.started = []
        replacement.stop()


@pytest.mark.parametrize("mode", ["preload_and_tail", "lookup"])
async def test_dedupe_survives_a_restart(ingest_factory, kafka_bootstrap, mode):
    req = p.telegram_message("once only", int(uuid.uuid4().int % 10**9))
    config = IngestConfig(dedupe={"mode": mode})
    first = await ingest_factory(config)
    assert (await post(first, req)).status_code == 200
    await first.deps.dedupe.flush()
    # A restarted ingest (fresh memory) on the same store: the provider retry is caught there too.
    second = await ingest_factory(config)
    assert (await post(second, req)).status_code == 200
    stored = await records(kafka_bootstrap, first.names.inbound, min_count=1)
    assert len(stored) == 1


async def test_replicas_learn_each_others_marks_within_the_tail_interval(ingest_factory, kafka_bootstrap):
    config = IngestConfig(dedupe={"tail_interval_seconds": 0.2})
    a, b = await ingest_factory(config), await ingest_factory(config)
    req = p.whatsapp_cloud("replica A took it", "wamid." + uuid.uuid4().hex)
    assert (await post(a, req)).status_code == 200
    accepted_id = event_id(p.BRAND, req_dedupe_id(req))
    await wait_for(lambda: b.deps.dedupe.knows(accepted_id), timeout=10)
    assert (await post(b, req)).status_code == 200  # the provider's retry lands on replica B
    assert len(await records(kafka_bootstrap, a.names.inbound, min_count=1)) == 1


def req_dedupe_id(req) -> str:
    import json
    return "meta_whatsapp:" + json.loads(req.body)["entry"][0]["changes"][0]["value"]["messages"][0]["id"]


async def test_concurrent_copies_of_one_message_store_one_event(ingest, kafka_bootstrap):
    import asyncio
    req = p.whatsapp_cloud("twice at once", "wamid." + uuid.uuid4().hex)
    responses = await asyncio.gather(*(post(ingest, req) for _ in range(8)))
    assert {r.status_code for r in responses} == {200}
    assert len(await records(kafka_bootstrap, ingest.names.inbound, min_count=1)) == 1


async def test_lookup_mode_store_down_gives_503_not_a_second_event(ingest_factory, tmp_path, kafka_bootstrap):
    port = processes.free_port()
    mongo = processes.mongo(port, tmp_path / "m.db", tmp_path).start()
    svc = await ingest_factory(IngestConfig(dedupe={"mode": "lookup"}),
                               mongo={"uri": processes.mongo_uri(port), "server_selection_timeout_ms": 500})
    mongo.stop()
    response = await post(svc, p.telegram_message("store is down", 77))
    assert response.status_code == 503 and "Retry-After" in response.headers
    assert await records(kafka_bootstrap, svc.names.inbound, timeout=0.5) == []
