"""kill -9 of the notifier process in the middle of a batch, then a restart: no duplicate message."""
from __future__ import annotations

import collections
import json
import sys

import httpx
import yaml
from events import K, notification
from notifier_it_config import notifier_config
from switchboard.common import processes
from switchboard.common.testing import read_topic, wait_for, wait_ready
from switchboard.common.testing.plugin import settings_env
from switchboard.events.v1 import common_pb2, notification_pb2
from switchboard.notifier.settings import NotifierSettings

COUNT = 60


def spawn(env: dict, log_path) -> processes.ManagedProcess:
    proc = processes.ManagedProcess("notifier", [sys.executable, "-m", "switchboard.notifier.entrypoint"],
                                    int(env["SWITCHBOARD_HTTP__PORT"]), log_path, env=env)
    return proc.start(timeout=30)


async def test_killing_the_notifier_mid_batch_and_restarting_sends_no_duplicate_customer_message(
        receiver, smtp_server, producer, bus_topics, service_settings, tmp_path, kafka_bootstrap, namespace):
    receiver.delay = 0.2
    receiver.dedupe_by_key = True  # a provider honouring Idempotency-Key, as Twilio does
    config = notifier_config(receiver.base_url, smtp_server.port,
                             scheduler={"poll_seconds": 0.2, "lease_seconds": 1})
    (tmp_path / "notifier.yaml").write_text(yaml.safe_dump({"version": 1, **config.model_dump(mode="json")}))
    secrets = {"global": {"slack_ops_url": "http://127.0.0.1:9/", "crm_key": "k"},
               "brands": {"acme": {"telegram_bot_token": "1:tg"}}}
    (tmp_path / "secrets.yaml").write_text(yaml.safe_dump(secrets))
    settings = service_settings(NotifierSettings, config_dir=tmp_path, secrets_file=tmp_path / "secrets.yaml",
                                consumer={"max_batch_records": 20}, collection_prefix=f"{namespace}_")
    env = {"PATH": "/usr/bin:/bin", **settings_env(settings)}

    for i in range(COUNT):
        req = notification(f"msg-{i}", K.NOTIFICATION_KIND_BOT_ANSWER, channel=common_pb2.CHANNEL_TELEGRAM,
                           recipient=common_pb2.ContactHandle(kind=common_pb2.HANDLE_KIND_TELEGRAM_ID, value="42"),
                           text=f"answer {i}")
        await producer.publish(bus_topics.notifications, req, key=f"c-{i % 7}", event_id=f"ev-{i}")
    await producer.drain()

    first = spawn(env, tmp_path / "notifier-1.log")
    try:
        await wait_for(lambda: len(receiver.seen_keys) >= 15 and receiver.in_flight > 0, timeout=30, interval=0.01)
        first.kill()  # kill -9 while sends are in flight
    finally:
        first.kill()
    at_kill = len(receiver.seen_keys)
    assert at_kill < COUNT, "the kill must land mid-batch"

    env["SWITCHBOARD_HTTP__PORT"] = str(processes.free_port())
    second = spawn(env, tmp_path / "notifier-2.log")
    try:
        await wait_for(lambda: len(receiver.seen_keys) == COUNT, timeout=60)
        records = await read_topic(kafka_bootstrap, bus_topics.deliveries, min_count=COUNT, timeout=30)
        ops = f"http://127.0.0.1:{second.port}"
        async with httpx.AsyncClient(timeout=5) as client:
            await wait_ready(client, f"{ops}/readyz")
            metrics = (await client.get(f"{ops}/metrics")).text
    finally:
        second.stop()
    assert 'switchboard_notifier_deliveries_total{brand="acme",destination_type="telegram",kind="bot_answer",' \
           'outcome="delivered"}' in metrics
    assert "switchboard_notifier_delivery_seconds_bucket" in metrics

    texts = [json.loads(r.body)["text"] for r in receiver.requests]
    assert collections.Counter(texts).most_common(1)[0][1] == 1  # every customer got each answer once
    assert sorted(texts) == sorted(f"answer {i}" for i in range(COUNT))
    delivered = {r.payload.intent_id for r in records
                 if r.payload.outcome == notification_pb2.DELIVERY_OUTCOME_DELIVERED}
    assert delivered == {f"msg-{i}" for i in range(COUNT)}
    # Resends that reached the receiver (the residual window: sent, then killed before recording)
    # are bounded by the pool's concurrency and were absorbed by the Idempotency-Key.
    resent = receiver.raw_count - COUNT
    print(f"killed after {at_kill} deliveries; raw HTTP requests {receiver.raw_count}; resent {resent}")
    assert 1 <= resent <= 2 * config.customer_channels["telegram"].concurrency
