"""The outbox on the real store (nx-27017) and broker: what the dispatcher's split scan finds, the
retention sweep of finished entries, and DeliveryRecorded of a skipped entry not waiting out a report
round."""
from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

from events import K, email_handle, notification, snapshot
from notifier_it_config import notifier_config, notifier_secrets
from switchboard.common.clock import ManualClock
from switchboard.common.testing import read_topic, wait_for
from switchboard.events.v1 import common_pb2
from switchboard.notifier.adapters.store import MongoOutbox

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
TG = common_pb2.ContactHandle(kind=common_pb2.HANDLE_KIND_TELEGRAM_ID, value="42")


def entry(doc_id: str, state: str, *, due: float, pool: str = "telegram:telegram", **fields) -> dict:
    return {"_id": doc_id, "state": state, "pool": pool, "due_at": NOW.timestamp() + due, "report_due": False,
            **fields}


async def outbox_with(mongo_db, namespace, docs: list[dict]) -> MongoOutbox:
    outbox = MongoOutbox(mongo_db, f"{namespace}_notifier_outbox")
    await outbox.ensure_indexes()
    await outbox.collection.insert_many(docs)
    return outbox


async def test_scan_finds_due_pending_and_lease_expired_entries_earliest_due_first(mongo_db, namespace):
    t = NOW.timestamp()
    outbox = await outbox_with(mongo_db, namespace, [
        entry("due-later", "pending", due=-1),
        entry("due-first", "pending", due=-10),
        entry("not-yet-due", "pending", due=60),
        entry("owner-died", "in_flight", due=-20, lease_until=t - 5, claim="dead"),
        entry("being-sent", "in_flight", due=-30, lease_until=t + 60, claim="alive"),
        entry("done", "delivered", due=-100, finished_at=t - 50),
        entry("stuck-pool", "pending", due=-40, pool="slack:stuck"),
        entry("held-here", "pending", due=-50),
    ])

    found = await outbox.candidates(NOW, ["slack:stuck"], ["held-here"], limit=10)

    assert [d["_id"] for d in found] == ["owner-died", "due-first", "due-later"]
    assert [d["_id"] for d in await outbox.candidates(NOW, ["slack:stuck"], ["held-here"], limit=2)] == \
        ["owner-died", "due-first"]
    # Without exclusions the full pool's and the held entry come back too (they are due).
    assert {d["_id"] for d in await outbox.candidates(NOW, [], [], limit=10)} == \
        {"owner-died", "due-first", "due-later", "stuck-pool", "held-here"}
    # The expired lease is claimed again (its old owner's token no longer matches).
    claimed = await outbox.claim(found, NOW, {"telegram:telegram": 30.0})
    assert {d["_id"] for d in claimed} == {"owner-died", "due-first", "due-later"}
    assert {d["claim"] for d in claimed} != {"dead"}
    # Open = pending or in flight, whatever their due time.
    assert await outbox.count_open() == 7


async def test_sweep_deletes_only_reported_entries_finished_before_the_retention(mongo_db, namespace):
    t = NOW.timestamp()
    day = 86400.0
    outbox = await outbox_with(mongo_db, namespace, [
        entry("old-delivered", "delivered", due=-9 * day, finished_at=t - 8 * day),
        entry("old-failed", "failed", due=-9 * day, finished_at=t - 8 * day),
        entry("old-skipped", "skipped", due=-9 * day, finished_at=t - 7 * day - 1),
        entry("old-unreported", "failed", due=-9 * day, finished_at=t - 8 * day, report_due=True),
        entry("fresh", "delivered", due=-2 * day, finished_at=t - 2 * day),
        entry("old-pending", "pending", due=-9 * day),
        entry("waiting-csat", "pending", due=30 * day),
    ])

    deleted = await outbox.sweep_finished(NOW - timedelta(days=7))

    assert deleted == 3
    left = {d["_id"] async for d in outbox.collection.find({}, {"_id": 1})}
    assert left == {"old-unreported", "fresh", "old-pending", "waiting-csat"}


async def test_running_notifier_sweeps_finished_entries_after_the_retention_and_keeps_fresh_ones(
        receiver, smtp_server, start_notifier, producer, bus_topics):
    clock = ManualClock(NOW)
    notifier = await start_notifier(notifier_config(receiver.base_url, smtp_server.port),
                                    notifier_secrets(receiver.base_url), clock=clock,
                                    outbox_retention_days=7, mongo={"sweep_interval_seconds": 0.1})
    outbox = notifier.svc.outbox

    async def reported(doc_id: str):
        doc = await outbox.get(doc_id)
        return doc is not None and doc["state"] == "delivered" and not doc["report_due"]  # nx-27017 gives 0

    def telegram(intent_id: str):
        return notification(intent_id, K.NOTIFICATION_KIND_AGENT_REPLY, channel=common_pb2.CHANNEL_TELEGRAM,
                            recipient=TG, text="On its way")

    await producer.publish(bus_topics.notifications, telegram("old-reply"), key="c-1", event_id="n-old")
    # A CSAT survey held for 30 days: pending, so never swept however old the request is.
    csat = notification("csat-later", K.NOTIFICATION_KIND_CSAT_SURVEY, conversation=snapshot(
        "c-csat", channel=common_pb2.CHANNEL_EMAIL), recipient=email_handle(),
        not_before=NOW + timedelta(days=30))
    await producer.publish(bus_topics.notifications, csat, key="c-csat", event_id="n-csat")
    await producer.drain()
    await wait_for(lambda: reported("old-reply|telegram:telegram"), timeout=20)

    await clock.advance(timedelta(days=6))
    await producer.publish(bus_topics.notifications, telegram("fresh-reply"), key="c-1", event_id="n-fresh")
    await producer.drain()
    await wait_for(lambda: reported("fresh-reply|telegram:telegram"), timeout=20)
    assert await outbox.get("old-reply|telegram:telegram") is not None  # 6 days: within the retention

    await clock.advance(timedelta(days=1, hours=1))  # old one finished 7 days 1 hour ago, fresh one 1 hour ago
    await wait_for(lambda: _gone(outbox, "old-reply"), timeout=10, message="the old finished entry is swept")
    assert await reported("fresh-reply|telegram:telegram")
    csat_entry = await outbox.get("csat-later|smtp")
    assert csat_entry is not None and csat_entry["state"] == "pending"
    assert len(receiver.at("/telegram")) == 2


async def _gone(outbox: MongoOutbox, intent_id: str) -> bool:
    return await outbox.get(f"{intent_id}|telegram:telegram") is None


async def test_delivery_recorded_due_during_a_report_round_is_published_without_waiting_for_the_next_poll(
        receiver, smtp_server, start_notifier, producer, bus_topics, kafka_bootstrap):
    # A long poll: a wake-up lost during a report round would hold the second DeliveryRecorded 30 s.
    # Sent outcomes are reported before their write (no report round); what the reporter publishes
    # is what intake recorded as skipped (and outcomes written while the broker was away).
    config = notifier_config(receiver.base_url, smtp_server.port, scheduler={"poll_seconds": 30, "lease_seconds": 2})
    notifier = await start_notifier(config, notifier_secrets(receiver.base_url))
    handlers = notifier.svc.handlers
    publish_reports = handlers.report
    in_round, finish_round = asyncio.Event(), asyncio.Event()

    async def report_held_open(docs):  # holds the round that reports `first` open until released
        if any(d["intent_id"] == "first" for d in docs):
            in_round.set()
            await finish_round.wait()
        return await publish_reports(docs)

    handlers.report = report_held_open

    def no_address(intent_id: str):  # recorded as skipped by intake: reported by the reporter
        return notification(intent_id, K.NOTIFICATION_KIND_AGENT_REPLY, channel=common_pb2.CHANNEL_TELEGRAM,
                            recipient=common_pb2.ContactHandle(kind=common_pb2.HANDLE_KIND_TELEGRAM_ID, value=""),
                            text="Thanks for waiting")

    await producer.publish(bus_topics.notifications, no_address("first"), key="c-1", event_id="n-first")
    await producer.drain()
    await wait_for(in_round.is_set, timeout=20, message="a report round with `first` started")

    await producer.publish(bus_topics.notifications, no_address("second"), key="c-1", event_id="n-second")
    await producer.drain()

    async def second_recorded():  # its skip is durable and still to report (the wake-up was sent)
        doc = await outbox_doc(notifier, "second|telegram:telegram")
        return doc and doc["state"] == "skipped" and doc["report_due"]
    await wait_for(second_recorded, timeout=20)

    finish_round.set()
    started = time.monotonic()
    # Well below the 30 s poll, with room for a loaded CI machine (5 s was exceeded once under 4 workers).
    records = await read_topic(kafka_bootstrap, bus_topics.deliveries, min_count=2, timeout=15)
    assert {r.payload.intent_id for r in records} == {"first", "second"}
    assert time.monotonic() - started < 15
    assert not receiver.requests


async def outbox_doc(notifier, doc_id: str):
    return await notifier.svc.outbox.get(doc_id)
