"""Send first on the real broker and store (issue 15): a destination slower than `send_first_seconds`
does not hold intake longer (its entries go in claimed and are delivered once), and an outcome that
finds the store away is held and written, once, when the store is back."""
from __future__ import annotations

import asyncio
import time

from notifier_it_config import notifier_secrets
from switchboard.common import processes
from switchboard.common.mongo_writes import DOCUMENTS_WRITTEN
from switchboard.common.testing import read_topic, wait_for
from test_outbox_writes import config_with_room, keys, requests_for, settled


async def publish(producer, bus_topics, work) -> None:
    for i, (req, _) in enumerate(work):
        await producer.publish(bus_topics.notifications, req, key=f"c-{i}", event_id=f"ev-{i}")
    await producer.drain()


async def test_a_destination_slower_than_send_first_seconds_gets_its_entries_inserted_claimed_and_delivered_once(
        receiver, smtp_server, start_notifier, producer, bus_topics, kafka_bootstrap, namespace):
    receiver.delay = 4.0  # well past the 0.5 s send-first wait
    collection = f"{namespace}_notifier_outbox"
    notifier = await start_notifier(config_with_room(receiver, smtp_server, send_first_seconds=0.5),
                                    notifier_secrets(receiver.base_url))
    outbox = notifier.svc.outbox
    written_before = DOCUMENTS_WRITTEN.labels(collection)._value.get()
    work = requests_for(6, "slow")
    expected = {doc_id for _, doc_id in work}
    await publish(producer, bus_topics, work)
    await wait_for(lambda: receiver.in_flight == 6, timeout=20, message="all six sends out")
    sends_out = time.monotonic()

    async def stored_claimed() -> bool:
        docs = [d async for d in outbox.collection.find({}, {"state": 1})]
        return {d["_id"] for d in docs} == expected and all(d["state"] == "in_flight" for d in docs)

    await wait_for(stored_claimed, timeout=20, message="stored claimed while the receiver still holds them")
    # Intake did not wait for the receiver: every entry is stored while every send is still out.
    assert receiver.in_flight == 6 and time.monotonic() - sends_out < receiver.delay
    await wait_for(lambda: settled(outbox, expected), timeout=30, message="all delivered and reported")
    await wait_for(lambda: not notifier.svc.dispatcher.held, timeout=10)
    records = await read_topic(kafka_bootstrap, bus_topics.deliveries, min_count=6, timeout=20)
    written = DOCUMENTS_WRITTEN.labels(collection)._value.get() - written_before

    assert keys(receiver) == dict.fromkeys(expected, 1) and receiver.raw_count == 6
    assert sorted(r.payload.intent_id for r in records) == sorted(f"slow-{i}" for i in range(6))
    assert written == 2 * 6  # inserted claimed, then the outcome: as before send-first, never more


async def test_an_outcome_that_finds_the_store_away_is_written_once_when_it_is_back(
        receiver, smtp_server, start_notifier, producer, bus_topics, kafka_bootstrap, tmp_path, namespace):
    """Its own nx-27017 on a file database, stopped while the sends are out and started again."""
    receiver.delay = 1.5
    port = processes.free_port()
    store = processes.mongo(port, tmp_path / "outbox.db", tmp_path).start()
    collection = f"{namespace}_notifier_outbox"
    mongo = {"uri": processes.mongo_uri(port), "database": namespace, "server_selection_timeout_ms": 1000}
    try:
        notifier = await start_notifier(config_with_room(receiver, smtp_server, send_first_seconds=20),
                                        notifier_secrets(receiver.base_url), mongo=mongo)
        dispatcher, outbox = notifier.svc.dispatcher, notifier.svc.outbox
        work = requests_for(6, "away")
        expected = {doc_id for _, doc_id in work}
        await publish(producer, bus_topics, work)
        await wait_for(lambda: receiver.in_flight == 6, timeout=20, message="all six sends out")
        await asyncio.to_thread(store.stop)  # the receiver shares this loop: never block it
        await wait_for(lambda: len(receiver.requests) == 6 and dispatcher.unrecorded == 6, timeout=20,
                       message="every send answered, its outcome held while the store is away")
        written_before = DOCUMENTS_WRITTEN.labels(collection)._value.get()
        store = await asyncio.to_thread(processes.mongo(port, tmp_path / "outbox.db", tmp_path).start)
        await wait_for(lambda: settled(outbox, expected), timeout=30, message="written once the store is back")
        records = await read_topic(kafka_bootstrap, bus_topics.deliveries, min_count=6, timeout=20)
        written = DOCUMENTS_WRITTEN.labels(collection)._value.get() - written_before
        await notifier.stop()  # while the store is up
    finally:
        store.stop()
    assert keys(receiver) == dict.fromkeys(expected, 1) and receiver.raw_count == 6
    assert sorted(r.payload.intent_id for r in records) == sorted(f"away-{i}" for i in range(6))
    assert len({r.id for r in records}) == 6  # reported once each
    assert written == 6  # each held outcome written once, whole, when the store answered
