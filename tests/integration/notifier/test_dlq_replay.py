"""Replaying dead-lettered notifications (`switchboard-admin replay-dlq`): a failed intent is delivered
once; a delivered one is never sent again, neither by a replay nor by an ordinary duplicate."""
from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta

from events import K, notification
from notifier_it_config import notifier_config, notifier_secrets
from prometheus_client import REGISTRY
from switchboard.common.dlq_replay import REPLAY_OF, replay_dlq
from switchboard.common.testing import wait_for
from switchboard.common.testing.helpers import read_raw
from switchboard.events.v1 import common_pb2

TG = common_pb2.ContactHandle(kind=common_pb2.HANDLE_KIND_TELEGRAM_ID, value="42")


def telegram(intent_id: str):
    return notification(intent_id, K.NOTIFICATION_KIND_AGENT_REPLY, channel=common_pb2.CHANNEL_TELEGRAM,
                        recipient=TG, text=f"text of {intent_id}")


def replays(outcome: str) -> float:
    return REGISTRY.get_sample_value("switchboard_notifier_dlq_replays_total", {"outcome": outcome}) or 0.0


def delivered_texts(receiver) -> Counter:
    return Counter(json.loads(r.body)["text"] for r in receiver.at("/telegram"))


async def test_replayed_failures_are_delivered_once_and_delivered_ones_never_again(
        receiver, smtp_server, start_notifier, producer, bus_topics, service_settings):
    down = {"on": True}
    receiver.behave["/telegram"] = lambda n: (503, {}, b"down") if down["on"] else \
        (200, {}, b'{"ok":true,"result":{"message_id":1}}')
    config = notifier_config(receiver.base_url, smtp_server.port,
                             retry={"max_attempts": 2, "base_backoff_seconds": 0.02, "max_backoff_seconds": 0.05,
                                    "total_seconds": 5})
    notifier = await start_notifier(config, notifier_secrets(receiver.base_url))
    since = datetime.now(UTC) - timedelta(seconds=5)
    failing = [f"dead-{i}" for i in range(5)]
    for i, intent in enumerate(failing):
        await producer.publish(bus_topics.notifications, telegram(intent), key=f"c-{i}", event_id=f"ev-{intent}")
    await producer.drain()
    dlq = await read_raw(producer._kafka.bootstrap_servers, bus_topics.dlq("notifications"), min_count=5, timeout=30)
    assert len(dlq) == 5

    down["on"] = False  # the destination is back; one more intent goes through normally
    await producer.publish(bus_topics.notifications, telegram("fine"), key="c-fine", event_id="ev-fine")
    # An ordinary duplicate of a failed request (same intent, no replay header) does not revive it.
    await producer.publish(bus_topics.notifications, telegram("dead-0"), key="c-0", event_id="ev-dead-0-again")
    await producer.drain()
    await wait_for(lambda: delivered_texts(receiver)["text of fine"] == 1, timeout=20)
    assert (await notifier.svc.outbox.get("dead-0|telegram:telegram"))["state"] == "failed"

    kafka = service_settings().kafka
    revived_before, ignored_before = replays("revived"), replays("ignored")
    summary = await replay_dlq(kafka, "notifications", since=since, idle_seconds=1.0)
    assert sum(summary.replayed.values()) == 5 and summary.reasons == {"delivery_failed": 5}
    await wait_for(lambda: all(delivered_texts(receiver)[f"text of {i}"] == 1 for i in failing), timeout=30,
                   message="every replayed notification delivered")
    assert replays("revived") - revived_before == 5

    # The same command again: the five are delivered now, so nothing is sent twice.
    summary = await replay_dlq(kafka, bus_topics.notifications, since=since, idle_seconds=1.0)
    assert sum(summary.replayed.values()) == 5
    await wait_for(lambda: replays("ignored") - ignored_before >= 5, timeout=20)
    texts = delivered_texts(receiver)
    print(f"\nreplay: dead-lettered 5, delivered after replay {sum(texts[f'text of {i}'] for i in failing)}, "
          f"duplicates {sum(n - 1 for n in texts.values())}")
    assert texts == Counter({f"text of {i}": 1 for i in [*failing, "fine"]}), texts
    for intent in failing:
        doc = await notifier.svc.outbox.get(f"{intent}|telegram:telegram")
        assert doc["state"] == "delivered" and doc["replays"] == 1


async def test_dry_run_publishes_nothing_and_replay_headers_mark_the_copy(
        receiver, smtp_server, start_notifier, producer, bus_topics, service_settings, kafka_bootstrap):
    receiver.behave["/telegram"] = lambda n: (400, {}, b'{"ok":false,"description":"chat not found"}')
    await start_notifier(notifier_config(receiver.base_url, smtp_server.port), notifier_secrets(receiver.base_url))
    since = datetime.now(UTC) - timedelta(seconds=5)
    await producer.publish(bus_topics.notifications, telegram("bad-chat"), key="c-1", event_id="ev-bad")
    await producer.drain()
    await read_raw(kafka_bootstrap, bus_topics.dlq("notifications"), min_count=1, timeout=20)
    kafka = service_settings().kafka

    dry = await replay_dlq(kafka, "notifications.dlq", since=since, dry_run=True, idle_seconds=0.5)
    assert sum(dry.replayed.values()) == 1
    assert len(await read_raw(kafka_bootstrap, bus_topics.notifications, min_count=1, timeout=5)) == 1

    later = await replay_dlq(kafka, "notifications", since=datetime.now(UTC) + timedelta(minutes=1), idle_seconds=0.5)
    assert later.read == 0  # --since after the failure: nothing in the window

    await replay_dlq(kafka, "notifications", since=since, idle_seconds=0.5)
    records = await read_raw(kafka_bootstrap, bus_topics.notifications, min_count=2, timeout=10)
    copy = dict(records[-1].headers) if REPLAY_OF in dict(records[-1].headers) else dict(records[0].headers)
    assert copy[REPLAY_OF].startswith(bus_topics.dlq("notifications").encode())
    assert not any(name in copy for name in ("dlq_reason", "dlq_error", "dlq_topic"))
    assert copy["ce_id"] == b"ev-bad"  # the same event: consumers' dedupe still applies
    # Still refused by the destination: it is dead-lettered again, as a new DLQ record that can be replayed.
    await read_raw(kafka_bootstrap, bus_topics.dlq("notifications"), min_count=2, timeout=20)
