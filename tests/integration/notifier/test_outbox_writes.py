"""Outbox writes per notification on the real broker and store (issue 15): a due entry is sent before
it is stored (send first) and a final outcome is reported (broker ack) before its write, so a
first-attempt delivery costs one outbox document written (the entry in its final state) instead of two
(insert already claimed + outcome) before send-first and four (insert, claim, outcome, reported mark)
before that. A redelivered batch is not sent again; with the broker unresponsive the outcome is
written as still to report and reported later."""
from __future__ import annotations

import os
import signal
from collections import defaultdict

from events import K, notification
from notifier_it_config import notifier_config, notifier_secrets
from prometheus_client import REGISTRY
from switchboard.common import processes
from switchboard.common.admin import ensure_topics
from switchboard.common.mongo_writes import DOCUMENTS_WRITTEN
from switchboard.common.producer import EventProducer
from switchboard.common.testing import read_topic, wait_for
from switchboard.common.topics import TopicNames
from switchboard.events.v1 import common_pb2

CHANNELS = [(common_pb2.CHANNEL_TELEGRAM, common_pb2.HANDLE_KIND_TELEGRAM_ID, "telegram:telegram"),
            (common_pb2.CHANNEL_SMS, common_pb2.HANDLE_KIND_PHONE, "twilio:sms"),
            (common_pb2.CHANNEL_CHAT, common_pb2.HANDLE_KIND_CHAT_SESSION, "webhook:chat")]


def config_with_room(receiver, smtp_server, **scheduler):
    """Eight sends at once per customer channel: 32 entries may be held per pool; a 10 s send timeout
    (slow receivers here answer within it)."""
    config = notifier_config(receiver.base_url, smtp_server.port,
                             scheduler={"poll_seconds": 0.2, "lease_seconds": 2, **scheduler})
    channels = {name: endpoint.model_copy(update={"concurrency": 8, "timeout_seconds": 10})
                for name, endpoint in config.customer_channels.items()}
    return config.model_copy(update={"customer_channels": channels})


def requests_for(count: int, prefix: str) -> list[tuple[object, str]]:
    """(request, outbox id) of `count` customer messages spread over three channels."""
    out = []
    for i in range(count):
        channel, kind, destination = CHANNELS[i % len(CHANNELS)]
        req = notification(f"{prefix}-{i}", K.NOTIFICATION_KIND_BOT_ANSWER, channel=channel, text=f"answer {i}",
                           recipient=common_pb2.ContactHandle(kind=kind, value=f"42{i}"))
        out.append((req, f"{prefix}-{i}|{destination}"))
    return out


def claims(by: str) -> float:
    return REGISTRY.get_sample_value("switchboard_notifier_claims_total", {"by": by}) or 0.0


def keys(receiver) -> dict[str, int]:
    seen: dict[str, int] = defaultdict(int)
    for r in receiver.requests:
        seen[r.headers.get("Idempotency-Key")] += 1
    return seen


async def settled(outbox, ids: set[str]) -> bool:
    """Every entry delivered and its DeliveryRecorded out."""
    docs = [d async for d in outbox.collection.find({}, {"state": 1, "report_due": 1})]
    return {d["_id"] for d in docs} == ids and all(d["state"] == "delivered" and not d["report_due"] for d in docs)


async def test_a_first_attempt_delivery_writes_one_outbox_document_and_is_reported_once(
        receiver, smtp_server, start_notifier, producer, bus_topics, kafka_bootstrap, namespace):
    count = 60  # 20 per channel: within each pool's room, so every one is sent first
    collection = f"{namespace}_notifier_outbox"
    # A wide send-first wait: on a loaded machine a send may take long, and this is about first attempts.
    config = config_with_room(receiver, smtp_server, send_first_seconds=10)
    notifier = await start_notifier(config, notifier_secrets(receiver.base_url))
    outbox, dispatcher = notifier.svc.outbox, notifier.svc.dispatcher
    written_before = DOCUMENTS_WRITTEN.labels(collection)._value.get()
    work = requests_for(count, "w")
    for i, (req, _) in enumerate(work):
        await producer.publish(bus_topics.notifications, req, key=f"c-{i}", event_id=f"ev-{i}")
    await producer.drain()
    expected = {doc_id for _, doc_id in work}

    await wait_for(lambda: settled(outbox, expected), timeout=60, message="all delivered and reported")
    await wait_for(lambda: not dispatcher.held and not dispatcher.unrecorded, timeout=10)
    written = DOCUMENTS_WRITTEN.labels(collection)._value.get() - written_before
    records = await read_topic(kafka_bootstrap, bus_topics.deliveries, min_count=count, timeout=20)

    print(f"\n{count} notifications: outbox documents written {written:.0f} = {written / count:.2f} per notification")
    assert keys(receiver) == dict.fromkeys(expected, 1)  # each delivered once
    assert sorted(r.payload.intent_id for r in records) == sorted(f"w-{i}" for i in range(count))  # reported once
    assert len({r.id for r in records}) == count
    assert written == count  # the entry whole, in its final state, already reported


async def test_a_redelivered_batch_is_not_sent_again_while_in_flight_or_after(
        receiver, smtp_server, start_notifier, producer, bus_topics, kafka_bootstrap):
    receiver.delay = 4.0  # the sends outlast the send-first wait: stored claimed, still out when the batch comes again
    config = config_with_room(receiver, smtp_server, send_first_seconds=0.3)
    notifier = await start_notifier(config, notifier_secrets(receiver.base_url))
    svc = notifier.svc
    work = requests_for(6, "r")
    sent_first, by_intake = claims("send_first"), claims("intake")
    for i, (req, _) in enumerate(work):
        await producer.publish(bus_topics.notifications, req, key=f"c-{i}", event_id=f"ev-{i}")
    await producer.drain()
    expected = {doc_id for _, doc_id in work}

    async def stored_claimed() -> dict[str, str]:
        docs = [d async for d in svc.outbox.collection.find({}, {"claim": 1, "state": 1})]
        ok = {d["_id"] for d in docs} == expected and all(d["state"] == "in_flight" for d in docs)
        return {d["_id"]: d["claim"] for d in docs} if ok else {}

    tokens = await wait_for(stored_claimed, timeout=20, message="all six stored claimed")
    assert receiver.in_flight == 6 and claims("send_first") - sent_first == 6
    batch = await read_topic(kafka_bootstrap, bus_topics.notifications, min_count=6)

    await svc.handlers.intake(batch, local=svc.dispatcher)  # the same records again, sends still out
    assert claims("send_first") - sent_first == 6 and not any(svc.dispatcher.queues.values())
    await wait_for(lambda: settled(svc.outbox, set(tokens)), timeout=30, message="all delivered and reported")
    await wait_for(lambda: not svc.dispatcher.held, timeout=10)
    await svc.handlers.intake(batch, local=svc.dispatcher)  # and once more after they finished

    assert claims("send_first") - sent_first == 6 and claims("intake") == by_intake
    assert not svc.dispatcher.held and not svc.dispatcher.sends  # nothing handed over: nothing can be sent
    assert {d["_id"]: d["claim"] async for d in svc.outbox.collection.find({}, {"claim": 1})} == tokens
    assert keys(receiver) == dict.fromkeys(tokens, 1) and receiver.raw_count == 6


async def test_with_the_broker_unresponsive_the_outcome_is_written_still_to_report_and_reported_later(
        receiver, smtp_server, start_notifier, service_settings, tmp_path):
    """Its own Tansu, paused (SIGSTOP) while sends are out: no ack can come, nothing is lost."""
    broker = processes.broker(processes.free_port(), tmp_path).start()
    bootstrap = f"127.0.0.1:{broker.port}"
    paused = False
    try:
        receiver.delay = 1.0
        config = config_with_room(receiver, smtp_server, report_ack_seconds=0.5)
        notifier = await start_notifier(config, notifier_secrets(receiver.base_url),
                                        kafka={"bootstrap_servers": bootstrap})
        settings = service_settings(kafka={"bootstrap_servers": bootstrap}).kafka
        names = TopicNames(settings.topic_prefix)
        await ensure_topics(settings, names)
        producer = EventProducer(settings, source="/tests")
        await producer.start()
        work = requests_for(4, "b")
        for i, (req, _) in enumerate(work):
            await producer.publish(names.notifications, req, key=f"c-{i}", event_id=f"ev-{i}")
        await producer.drain()
        await producer.stop()
        await wait_for(lambda: receiver.in_flight == 4, timeout=30, message="all four sends out")
        os.kill(broker.proc.pid, signal.SIGSTOP)
        paused = True
        outbox = notifier.svc.outbox
        expected = {doc_id for _, doc_id in work}

        async def written_still_to_report() -> bool:
            docs = [d async for d in outbox.collection.find({}, {"state": 1, "report_due": 1})]
            return len(docs) == 4 and all(d["state"] == "delivered" and d["report_due"] for d in docs)

        await wait_for(written_still_to_report, timeout=20, message="outcomes written while the broker is paused")
        os.kill(broker.proc.pid, signal.SIGCONT)
        paused = False
        await wait_for(lambda: settled(outbox, expected), timeout=60, message="reported once the broker answers")
        records = await read_topic(bootstrap, names.deliveries, min_count=4, timeout=20)
        await notifier.stop()  # before its broker goes
    finally:
        if paused:
            os.kill(broker.proc.pid, signal.SIGCONT)
        broker.stop()
    ids: dict[str, set[str]] = defaultdict(set)
    for record in records:
        ids[record.payload.intent_id].add(record.id)
    # Every outcome reported; a record acknowledged late and the reporter's one share an event id.
    assert {intent: len(found) for intent, found in ids.items()} == {f"b-{i}": 1 for i in range(4)}
    assert keys(receiver) == dict.fromkeys(expected, 1)
