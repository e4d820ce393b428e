"""A store outage longer than the leases, with two notifier replicas sharing the outbox: outcomes of
finished sends are held and written when the store is back, and no replica takes over an entry whose
outcome is still held (the reclaim grace), so nothing is sent twice and nothing is lost.

Its own nx-27017 on a file database: stopped (SIGTERM) and started again on the same file, from a thread:
the receiver and both replicas share this event loop, and a stop that blocked it (a slow exit on a loaded
machine) would run every in-flight send past its timeout; a timed-out send is sent again by design
(same Idempotency-Key), which is not what this test is about."""
from __future__ import annotations

import asyncio
from collections import Counter

from events import K, notification
from notifier_it_config import notifier_config, notifier_secrets
from pymongo import AsyncMongoClient
from switchboard.common import processes
from switchboard.common.testing import wait_for
from switchboard.events.v1 import common_pb2

COUNT = 120  # ~4 s of sends at 24 in flight: the outage always lands while some are in flight
OUTAGE_SECONDS = 8.0  # longer than every lease below (pool timeout 1 s x 5 + lease_seconds 1 = 6 s)
CHANNELS = [(common_pb2.CHANNEL_TELEGRAM, common_pb2.HANDLE_KIND_TELEGRAM_ID, "telegram:telegram"),
            (common_pb2.CHANNEL_SMS, common_pb2.HANDLE_KIND_PHONE, "twilio:sms"),
            (common_pb2.CHANNEL_CHAT, common_pb2.HANDLE_KIND_CHAT_SESSION, "webhook:chat")]


async def test_store_outage_longer_than_the_leases_with_two_replicas_sends_each_notification_once(
        receiver, smtp_server, start_notifier, producer, bus_topics, tmp_path, namespace):
    receiver.delay = 0.5  # half the 1 s send timeout; long enough that the store stops while sends are in flight
    port = processes.free_port()
    store = processes.mongo(port, tmp_path / "outbox.db", tmp_path).start()
    config = notifier_config(receiver.base_url, smtp_server.port,
                             scheduler={"poll_seconds": 0.2, "lease_seconds": 1, "reclaim_grace_seconds": 3})
    channels = {name: endpoint.model_copy(update={"timeout_seconds": 1.0, "concurrency": 4})
                for name, endpoint in config.customer_channels.items()}
    config = config.model_copy(update={"customer_channels": channels})
    mongo = {"uri": processes.mongo_uri(port), "database": namespace, "server_selection_timeout_ms": 1000}
    try:
        replicas = [await start_notifier(config, notifier_secrets(receiver.base_url), mongo=mongo) for _ in range(2)]
        expected = set()
        for i in range(COUNT):
            channel, kind, destination = CHANNELS[i % len(CHANNELS)]
            req = notification(f"n-{i}", K.NOTIFICATION_KIND_AGENT_REPLY, channel=channel, text=f"answer {i}",
                               recipient=common_pb2.ContactHandle(kind=kind, value=f"42{i}"))
            await producer.publish(bus_topics.notifications, req, key=f"c-{i}", event_id=f"ev-{i}")
            expected.add(f"n-{i}|{destination}")
        await producer.drain()

        await wait_for(lambda: len(receiver.requests) >= 10 and receiver.in_flight >= 2, timeout=30)
        await asyncio.to_thread(store.stop)
        await asyncio.sleep(OUTAGE_SECONDS)  # the outage itself: every lease runs out meanwhile
        held = sum(r.svc.dispatcher.unrecorded for r in replicas)
        store = await asyncio.to_thread(processes.mongo(port, tmp_path / "outbox.db", tmp_path).start)

        def keys() -> Counter:
            return Counter(r.headers.get("Idempotency-Key") for r in receiver.requests)

        await wait_for(lambda: set(keys()) == expected, timeout=60, message="every notification delivered")
        client = AsyncMongoClient(processes.mongo_uri(port), tz_aware=True)
        outbox = client[namespace][f"{namespace}_notifier_outbox"]

        async def recorded() -> bool:
            return Counter([d["state"] async for d in outbox.find({}, {"state": 1})]) == Counter(delivered=COUNT)

        await wait_for(recorded, timeout=30, message="every outcome recorded as delivered")
        await client.close()
    finally:
        for replica in replicas[::-1]:
            await replica.stop()  # one after another (Tansu), while the store is still up
        store.stop()
    duplicated = {key: n for key, n in keys().items() if n > 1}
    print(f"\n2 replicas, store down {OUTAGE_SECONDS}s (leases 6 s): outcomes held during the outage {held}, "
          f"delivered {len(keys())}/{COUNT}, duplicated {len(duplicated)}, raw requests {receiver.raw_count}")
    assert held > 0, "the outage must catch finished sends whose outcome was not written yet"
    assert duplicated == {}, duplicated
