"""Faults around the notifier (issue 19), on the real broker, a real MongoDB-wire store and real receivers,
with the notifier as a real process:

1. The store goes away for 20 s while sends are in flight to receivers answering in 1.5 s: every
   notification reaches its receiver exactly once (0 duplicates, 0 lost). Outcomes that could not
   be written are held in memory and written when the store is back; no lease runs out into a resend.
2. A destination is down for longer than the retry budget: every notification is dead-lettered.
   After it is back, `switchboard-admin replay-dlq` delivers every one exactly once; running the
   command a second time sends nothing.

The store of test 1 is this test's own nx-27017 on a file database (stopped with SIGTERM and started
again on the same file: the data survives), so no other test sees the outage.
"""
from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import harness
import httpx
import pytest
import yaml
from google.protobuf.timestamp_pb2 import Timestamp
from pymongo import AsyncMongoClient
from switchboard.common import processes
from switchboard.common.producer import EventProducer
from switchboard.common.testing import wait_for
from switchboard.common.testing.plugin import make_test_settings, settings_env
from switchboard.common.topics import TopicNames
from switchboard.events.v1 import common_pb2, escalation_pb2, notification_pb2, sla_pb2
from switchboard.notifier.settings import NotifierSettings

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

K = notification_pb2.NotificationKind
CHANNELS = {  # channel -> (enum, handle kind, provider API of its endpoint in config/demo)
    "telegram": (common_pb2.CHANNEL_TELEGRAM, common_pb2.HANDLE_KIND_TELEGRAM_ID, "telegram"),
    "sms": (common_pb2.CHANNEL_SMS, common_pb2.HANDLE_KIND_PHONE, "twilio"),
    "whatsapp": (common_pb2.CHANNEL_WHATSAPP, common_pb2.HANDLE_KIND_WHATSAPP_ID, "meta"),
    "chat": (common_pb2.CHANNEL_CHAT, common_pb2.HANDLE_KIND_CHAT_SESSION, "webhook"),
}
OUTAGE_SECONDS = 20.0
SLOW_ANSWER_SECONDS = 1.5


class FaultyReceivers(harness.Receivers):
    """The harness receivers (HTTP + SMTP, counting a repeated Idempotency-Key as a resend), answering
    after `delay` seconds, or 503 while `down`. A refused request is not a delivery."""

    def __init__(self, delay: float = 0.0) -> None:
        super().__init__()
        self.delay = delay
        self.down = False
        self.in_flight = 0
        self.refused = 0

    async def _receive(self, request):
        from aiohttp import web

        self.in_flight += 1
        try:
            await asyncio.sleep(self.delay)
        finally:
            self.in_flight -= 1
        if self.down:
            await request.read()
            self.refused += 1
            return web.Response(status=503, text="down for maintenance")
        return await super()._receive(request)

    def counts(self, expected: set[str]) -> dict[str, int]:
        received = {r.key for r in self.snapshot()}
        return {"expected": len(expected), "delivered": len(received & expected),
                "lost": len(expected - received), "duplicated": sum(self.resends.values()),
                "unexpected": len(received - expected)}


def customer_message(n: int, channel: str, run: str) -> notification_pb2.NotificationRequested:
    enum, kind, _ = CHANNELS[channel]
    handle = str(700_000_000 + n) if channel == "telegram" else f"+4915{n:08d}" if channel != "chat" \
        else f"{run}-chat-{n}"
    conv = common_pb2.ConversationSnapshot(conversation_id=f"{run}-c{n}", customer_id=f"cu-{n}", channel=enum,
                                           language="en", customer_name=f"Customer {n}")
    return notification_pb2.NotificationRequested(
        brand_id=harness.BRAND, intent_id=f"{run}-n{n}", kind=K.NOTIFICATION_KIND_AGENT_REPLY, conversation=conv,
        text=f"Answer {n}: your parcel left the warehouse", language="en", channel=enum,
        recipient=common_pb2.ContactHandle(kind=kind, value=handle))


def escalation(n: int, run: str) -> escalation_pb2.EscalationRaised:
    now = Timestamp()
    now.FromDatetime(datetime.now(UTC))
    conv = common_pb2.ConversationSnapshot(conversation_id=f"{run}-e{n}", customer_id=f"cu-e{n}",
                                           channel=common_pb2.CHANNEL_CHAT, language="en", queue="returns")
    return escalation_pb2.EscalationRaised(
        brand_id=harness.BRAND, escalation_id=f"{run}-esc{n}", conversation=conv, level=1, level_name="team lead",
        reason=escalation_pb2.ESCALATION_REASON_SLA_BREACHED, metric=sla_pb2.SLA_METRIC_FIRST_RESPONSE,
        deadline=now, breached_at=now, raised_at=now, target_seconds=120)


def write_config(target: Path, receivers: FaultyReceivers, retry: dict | None = None) -> Path:
    config = harness.prepare_config(target, inbox_http=receivers.http_origin, smtp_port=receivers.smtp_port)
    if retry:
        data = yaml.safe_load((config / "notifier.yaml").read_text())
        data["retry"] = retry
        (config / "notifier.yaml").write_text(yaml.safe_dump(data))
    return config


def spawn_notifier(settings, log_path: Path) -> processes.ManagedProcess:
    env = {"PATH": "/usr/bin:/bin", **settings_env(settings), "SWITCHBOARD_LOG_LEVEL": "WARNING"}
    proc = processes.ManagedProcess("notifier", [str(Path(sys.executable).parent / "switchboard-notifier")],
                                    settings.http.port, log_path, env=env)
    return proc.start(timeout=60, ready=lambda: harness.http_ready(settings.http.port))


async def metric(port: int, name: str, labels: str = "") -> float:
    async with httpx.AsyncClient(timeout=5) as client:
        text = (await client.get(f"http://127.0.0.1:{port}/metrics")).text
    wanted = (f"{name}{{{labels}}} ",) if labels else (f"{name} ", f"{name}{{")
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(wanted))


@pytest.fixture
def receivers():
    started: list[FaultyReceivers] = []

    def start(delay: float = 0.0) -> FaultyReceivers:
        started.append(FaultyReceivers(delay).start())
        return started[-1]

    yield start
    for r in started:
        r.stop()


async def test_store_down_20s_with_sends_in_flight_loses_nothing_and_duplicates_nothing(
        kafka_bootstrap, namespace, tmp_path, receivers):
    receiver = receivers(SLOW_ANSWER_SECONDS)
    config = write_config(tmp_path / "config", receiver)
    store_port = processes.free_port()
    store = processes.mongo(store_port, tmp_path / "store.db", tmp_path).start()
    settings = make_test_settings(kafka_bootstrap, processes.mongo_uri(store_port), namespace,
                                  config_dir=config, secrets_file=config / "secrets.yaml",
                                  mongo={"uri": processes.mongo_uri(store_port), "database": namespace,
                                         "server_selection_timeout_ms": 2000})
    started = time.monotonic()
    notifier = spawn_notifier(settings, tmp_path / "notifier.log")
    ready = time.monotonic() - started
    producer = EventProducer(settings.kafka, source="/tests/notifier-faults")
    await producer.start()
    run = namespace[-6:]
    expected: set[str] = set()
    try:
        names = TopicNames(settings.kafka.topic_prefix)
        channels = list(CHANNELS)
        for n in range(140):
            channel = channels[n % len(channels)]
            await producer.publish(names.notifications, customer_message(n, channel, run), key=f"{run}-c{n}",
                                   event_id=f"{run}-ev{n}")
            expected.add(f"{run}-n{n}|{CHANNELS[channel][2]}:{channel}")  # the Idempotency-Key: outbox id
        for n in range(20):
            await producer.publish(names.escalations, escalation(n, run), key=f"{run}-e{n}", event_id=f"{run}-esc{n}")
            expected.add(f"{run}-esc{n}|slack:ops-slack")
        await producer.drain()

        # Sends in flight and some already answered: the store goes away for 20 s.
        await wait_for(lambda: len(receiver.snapshot()) >= 20 and receiver.in_flight >= 4, timeout=60,
                       message="sends in flight")
        store.stop()
        at_outage = len(receiver.snapshot())
        outage_started = time.monotonic()
        first_answer = outage_started - started

        async def outcomes_held() -> float:
            return await metric(settings.http.port, "switchboard_notifier_outcomes_unrecorded")

        # Sends finished that cannot be recorded now: their outcomes are held in memory.
        held = await wait_for(outcomes_held, timeout=10, message="outcomes held while the store is away")
        # The fault itself lasts 20 s: this wait is the scenario, not a poll for a condition.
        await asyncio.sleep(OUTAGE_SECONDS - (time.monotonic() - outage_started))
        store = processes.mongo(store_port, tmp_path / "store.db", tmp_path).start()
        back = time.monotonic()
        outage = back - outage_started

        await all_delivered(receiver, expected, timeout=90)
        delivered_after = time.monotonic() - back
        client = AsyncMongoClient(processes.mongo_uri(store_port), tz_aware=True)
        outbox = client[namespace]["notifier_outbox"]

        async def all_recorded() -> bool:
            states = Counter([d["state"] async for d in outbox.find({}, {"state": 1})])
            return states == Counter({"delivered": len(expected)})

        await wait_for(all_recorded, timeout=60, message="every outcome recorded as delivered")
        recorded_after = time.monotonic() - back
        unrecorded_now = await metric(settings.http.port, "switchboard_notifier_outcomes_unrecorded")
        lost = await metric(settings.http.port, "switchboard_notifier_outcomes_lost_total")
        await client.close()
    finally:
        await producer.stop()
        notifier.stop()
        store.stop()
    counts = receiver.counts(expected)
    print(f"\nnotifier ready after {ready:.1f}s, outage started {first_answer:.1f}s after start with {at_outage} "
          f"delivered; store down {outage:.1f}s ({held:.0f} outcomes held in memory), receivers answering in "
          f"{SLOW_ANSWER_SECONDS}s; all delivered {delivered_after:.1f}s and all recorded {recorded_after:.1f}s "
          f"after the store was back: {counts} (unrecorded now {unrecorded_now:.0f}, lost {lost:.0f})")
    assert counts["duplicated"] == 0 and counts["lost"] == 0, counts
    assert counts["delivered"] == len(expected) == 160 and counts["unexpected"] == 0, counts
    assert at_outage < len(expected), "the outage must start while notifications are still being sent"
    assert lost == 0


async def test_destination_down_past_the_retry_budget_then_replay_dlq_delivers_each_once(
        kafka_bootstrap, mongo_uri, namespace, tmp_path, receivers):
    receiver = receivers()
    receiver.down = True
    config = write_config(tmp_path / "config", receiver,
                          retry={"max_attempts": 3, "base_backoff_seconds": 0.1, "max_backoff_seconds": 0.3,
                                 "total_seconds": 2})
    # The shared store: nx-27017 ignores the database name, so this test's collections get a prefix.
    settings = make_test_settings(kafka_bootstrap, mongo_uri, namespace, NotifierSettings, config_dir=config,
                                  secrets_file=config / "secrets.yaml", collection_prefix=f"{namespace}_")
    env = {"PATH": "/usr/bin:/bin", **settings_env(settings)}
    notifier = spawn_notifier(settings, tmp_path / "notifier.log")
    producer = EventProducer(settings.kafka, source="/tests/notifier-faults")
    await producer.start()
    run = namespace[-6:]
    count = 120
    names = TopicNames(settings.kafka.topic_prefix)
    try:
        for n in range(count):
            await producer.publish(names.notifications, customer_message(n, "telegram", run), key=f"{run}-c{n}",
                                   event_id=f"{run}-ev{n}")
        await producer.drain()
        expected = {f"{run}-n{n}|telegram:telegram" for n in range(count)}
        dlq = await wait_for(lambda: _count(kafka_bootstrap, names.dlq("notifications"), count), timeout=90,
                             message="every notification dead-lettered")
        # Each was tried and refused (how many times before the 2 s budget ran out depends on the load).
        assert receiver.snapshot() == [] and receiver.refused >= count
        receiver.down = False

        first = replay_command(env, "notifications", "15m")
        assert f"replayed {count}" in first.stdout, first.stdout + first.stderr
        await all_delivered(receiver, expected, timeout=60)
        # The command again (an operator unsure whether it ran): every entry is delivered, nothing is sent.
        ignored_before = await metric(settings.http.port, "switchboard_notifier_dlq_replays_total",
                                      'outcome="ignored"')
        second = replay_command(env, names.notifications, "15m")
        assert f"replayed {count}" in second.stdout, second.stdout + second.stderr

        async def second_run_consumed() -> bool:
            ignored = await metric(settings.http.port, "switchboard_notifier_dlq_replays_total", 'outcome="ignored"')
            return ignored - ignored_before >= count

        await wait_for(second_run_consumed, timeout=30, message="the second replay consumed")
        revived = await metric(settings.http.port, "switchboard_notifier_dlq_replays_total", 'outcome="revived"')
    finally:
        await producer.stop()
        notifier.stop()
    counts = receiver.counts(expected)
    print(f"\ndestination down past the budget: {dlq} dead-lettered; replay-dlq revived {revived:.0f}; "
          f"after two replay runs: {counts}\n{first.stdout.strip()}")
    assert counts == {"expected": count, "delivered": count, "lost": 0, "duplicated": 0, "unexpected": 0}, counts
    assert revived == count


async def all_delivered(receiver: FaultyReceivers, expected: set[str], timeout: float) -> None:
    try:
        await wait_for(lambda: len({r.key for r in receiver.snapshot()} & expected) == len(expected), timeout=timeout)
    except AssertionError:
        raise AssertionError(f"not every notification delivered within {timeout}s: "
                             f"{receiver.counts(expected)}") from None


def replay_command(env: dict, topic: str, since: str) -> subprocess.CompletedProcess:
    command = [str(Path(sys.executable).parent / "switchboard-admin"), "replay-dlq", "--topic", topic,
               "--since", since, "--idle-seconds", "1.5"]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60, check=True)


async def _count(bootstrap: str, topic: str, at_least: int) -> int | None:
    records = await harness.read_all(bootstrap, topic)
    return len(records) if len(records) >= at_least else None
