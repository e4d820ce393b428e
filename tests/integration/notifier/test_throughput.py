"""Measured: intents per second from the topic through the outbox to a fast local receiver."""
from __future__ import annotations

import time

import pytest
from events import K, notification
from notifier_it_config import notifier_config, notifier_secrets
from switchboard.common.testing import wait_for
from switchboard.events.v1 import common_pb2

COUNT = 1000


@pytest.mark.slow
async def test_delivery_throughput_to_a_fast_receiver(receiver, smtp_server, start_notifier, producer, bus_topics):
    config = notifier_config(receiver.base_url, smtp_server.port, customer_channels={
        "telegram": {"api": "telegram", "base_url": f"{receiver.base_url}/telegram", "concurrency": 32}})
    notifier = await start_notifier(config, notifier_secrets(receiver.base_url))
    handle = common_pb2.ContactHandle(kind=common_pb2.HANDLE_KIND_TELEGRAM_ID, value="42")
    started = time.monotonic()
    for i in range(COUNT):
        req = notification(f"tp-{i}", K.NOTIFICATION_KIND_BOT_ANSWER, channel=common_pb2.CHANNEL_TELEGRAM,
                           recipient=handle, text=f"answer {i}")
        await producer.publish(bus_topics.notifications, req, key=f"c-{i % 50}", event_id=f"tp-{i}")
    await producer.drain()
    published = time.monotonic()
    await wait_for(lambda: len(receiver.requests) == COUNT, timeout=120, interval=0.1)
    delivered = time.monotonic()

    async def all_reported() -> bool:  # every outcome's DeliveryRecorded is out
        return await notifier.svc.outbox.collection.count_documents({"report_due": True}) == 0
    await wait_for(all_reported, timeout=30)
    recorded = time.monotonic()
    rate = COUNT / (delivered - started)
    print(f"\n{COUNT} intents: published in {published - started:.2f}s, all delivered after "
          f"{delivered - started:.2f}s -> {rate:.0f} deliveries/s, all recorded after {recorded - started:.2f}s "
          f"(nx-27017 + Tansu, 2 shared cores)")
    assert len({r.body for r in receiver.requests}) == COUNT
