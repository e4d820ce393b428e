"""Retries, Retry-After, the retry budget and the DLQ, and per-destination isolation."""
from __future__ import annotations

import time

from events import K, notification
from notifier_it_config import notifier_config, notifier_secrets
from switchboard.common.testing import read_topic, wait_for
from switchboard.common.testing.helpers import read_raw
from switchboard.events.v1 import common_pb2, notification_pb2

TG = common_pb2.ContactHandle(kind=common_pb2.HANDLE_KIND_TELEGRAM_ID, value="42")
SMS = common_pb2.ContactHandle(kind=common_pb2.HANDLE_KIND_PHONE, value="+4915112345678")


def telegram(intent_id, text="Your parcel left the warehouse"):
    return notification(intent_id, K.NOTIFICATION_KIND_AGENT_REPLY, channel=common_pb2.CHANNEL_TELEGRAM,
                        recipient=TG, text=text)


async def test_receiver_failing_five_times_then_recovering_gets_exactly_one_delivery(
        receiver, smtp_server, start_notifier, producer, bus_topics, kafka_bootstrap):
    receiver.behave["/telegram"] = lambda n: (503, {}, b"busy") if n <= 5 else \
        (200, {}, b'{"ok":true,"result":{"message_id":777}}')
    await start_notifier(notifier_config(receiver.base_url, smtp_server.port), notifier_secrets(receiver.base_url))
    await producer.publish(bus_topics.notifications, telegram("reply-1"), key="c-1", event_id="n-1")
    await producer.drain()
    records = await read_topic(kafka_bootstrap, bus_topics.deliveries, min_count=1, timeout=20)
    assert receiver.calls["/telegram"] == 6
    assert len(receiver.at("/telegram")) == 1
    delivered = records[0].payload
    assert delivered.outcome == notification_pb2.DELIVERY_OUTCOME_DELIVERED
    assert delivered.attempts == 6 and delivered.provider_message_id == "777"
    assert delivered.destination == "telegram:telegram" and delivered.conversation_id == "c-1"


async def test_receiver_down_for_the_whole_budget_ends_in_the_dlq_with_the_reason(
        receiver, smtp_server, start_notifier, producer, bus_topics, kafka_bootstrap):
    receiver.behave["/telegram"] = lambda n: (502, {}, b"bad gateway")
    config = notifier_config(receiver.base_url, smtp_server.port,
                             retry={"max_attempts": 4, "base_backoff_seconds": 0.02, "max_backoff_seconds": 0.05,
                                    "total_seconds": 10})
    await start_notifier(config, notifier_secrets(receiver.base_url))
    await producer.publish(bus_topics.notifications, telegram("reply-dead"), key="c-1", event_id="n-dead")
    await producer.drain()
    dlq = await read_raw(kafka_bootstrap, bus_topics.dlq("notifications"), min_count=1, timeout=20)
    headers = dict(dlq[0].headers)
    assert headers["dlq_reason"] == b"delivery_failed"
    assert headers["dlq_error"].startswith(b"retry budget exhausted after 4 attempts: http 502")
    assert headers["dlq_intent_id"] == b"reply-dead" and headers["dlq_destination"] == b"telegram:telegram"
    assert notification_pb2.NotificationRequested.FromString(dlq[0].value).intent_id == "reply-dead"
    assert receiver.calls["/telegram"] == 4
    outcome = (await read_topic(kafka_bootstrap, bus_topics.deliveries, min_count=1, timeout=10))[0].payload
    assert outcome.outcome == notification_pb2.DELIVERY_OUTCOME_FAILED and outcome.attempts == 4


async def test_permanent_4xx_is_not_retried_and_goes_to_the_dlq(
        receiver, smtp_server, start_notifier, producer, bus_topics, kafka_bootstrap):
    receiver.behave["/telegram"] = lambda n: (400, {}, b'{"ok":false,"description":"chat not found"}')
    await start_notifier(notifier_config(receiver.base_url, smtp_server.port), notifier_secrets(receiver.base_url))
    await producer.publish(bus_topics.notifications, telegram("reply-400"), key="c-1", event_id="n-400")
    await producer.drain()
    dlq = await read_raw(kafka_bootstrap, bus_topics.dlq("notifications"), min_count=1, timeout=20)
    assert b"chat not found" in dict(dlq[0].headers)["dlq_error"]
    assert receiver.calls["/telegram"] == 1


async def test_429_retry_after_is_honoured(receiver, smtp_server, start_notifier, producer, bus_topics):
    stamps: list[float] = []

    def answer(n):
        stamps.append(time.monotonic())
        return (429, {"Retry-After": "1"}, b"slow down") if n == 1 else (201, {}, b'{"sid":"SM1"}')

    receiver.behave["/twilio"] = answer
    await start_notifier(notifier_config(receiver.base_url, smtp_server.port), notifier_secrets(receiver.base_url))
    req = notification("sms-1", K.NOTIFICATION_KIND_AGENT_REPLY, channel=common_pb2.CHANNEL_SMS, recipient=SMS,
                       text="Refund issued")
    await producer.publish(bus_topics.notifications, req, key="c-1", event_id="n-sms")
    await producer.drain()
    await wait_for(lambda: receiver.at("/twilio"), timeout=20)
    assert stamps[1] - stamps[0] >= 0.95  # our own backoff would have retried after ~0.02 s


async def test_stuck_receiver_does_not_delay_deliveries_to_a_healthy_one(
        receiver, smtp_server, start_notifier, producer, bus_topics):
    receiver.behave["/telegram"] = lambda n: None  # never answers
    config = notifier_config(receiver.base_url, smtp_server.port)
    stuck_timeout = 15  # the stuck pool's two slots stay held for the whole test, even on a loaded CI machine
    stuck = config.customer_channels["telegram"].model_copy(update={"timeout_seconds": stuck_timeout})
    config = config.model_copy(update={"customer_channels": {**config.customer_channels, "telegram": stuck}})
    await start_notifier(config, notifier_secrets(receiver.base_url))
    for i in range(6):  # more than the stuck pool's concurrency (2)
        await producer.publish(bus_topics.notifications, telegram(f"stuck-{i}"), key=f"c-s{i}", event_id=f"s-{i}")
    await producer.drain()
    await wait_for(lambda: receiver.calls["/telegram"] >= 2, timeout=20)
    started = time.monotonic()
    for i in range(10):
        email = notification(f"mail-{i}", K.NOTIFICATION_KIND_AGENT_REPLY, text=f"answer {i}")
        await producer.publish(bus_topics.notifications, email, key=f"c-m{i}", event_id=f"m-{i}")
        sms = notification(f"sms-{i}", K.NOTIFICATION_KIND_AGENT_REPLY, channel=common_pb2.CHANNEL_SMS,
                           recipient=SMS, text=f"answer {i}")
        await producer.publish(bus_topics.notifications, sms, key=f"c-m{i}", event_id=f"sms-{i}")
    await producer.drain()
    await wait_for(lambda: len(smtp_server.messages) == 10 and len(receiver.at("/twilio")) == 10, timeout=20)
    elapsed = time.monotonic() - started
    # All ten emails and ten SMS (HTTP, like the stuck one) arrived while the stuck destination
    # still held both of its slots: none of its requests had timed out yet.
    assert receiver.calls["/telegram"] == 2
    assert elapsed < stuck_timeout, f"healthy deliveries took {elapsed:.2f}s"
