"""Sent first, claimed at insert and reported with the outcome (issue 15), with in-memory ports and a
ManualClock: a due entry is sent before it is stored and written once, in its final state, already
reported; one still sending after `send_first_seconds` goes in claimed and its outcome updates it; a
redelivered batch is never sent again; a full pool or a later due time leaves the entry to the
scanner; an outcome that finds the store away is written when it is back (intake waits for it); an
insert whose reply was lost is released, not sent; with the broker away the outcome is written as
still to report and the reporter publishes it."""
from __future__ import annotations

import asyncio
import contextlib
from collections import Counter

import pytest
from notifier_fakes import StoreDown
from notifier_handler_kit import CONFIG, T0, K, envelope, make_notifier, ts
from notifier_handler_kit import telegram_reply as reply
from switchboard.common.testing import wait_for
from switchboard.events.v1 import notification_pb2
from switchboard.notifier.domain.model import SendOutcome

DELIVERIES = "t.switchboard.deliveries.v1"
SCHEDULER = CONFIG["scheduler"]
DELIVERED = notification_pb2.DELIVERY_OUTCOME_DELIVERED


def entry_id(intent: str) -> str:
    return f"{intent}|telegram:telegram"


@contextlib.asynccontextmanager
async def dispatching(notifier):
    """The notifier's dispatcher running for the block."""
    await notifier.dispatcher.start()
    try:
        yield
    finally:
        await notifier.dispatcher.stop()


async def consume_until_sent(notifier, seen: list, intent: str) -> asyncio.Task:
    """Consumes one request for `intent` in the background; returns once its send has started."""
    consumed = asyncio.create_task(notifier.consume(envelope(reply(intent), "ev-1")))
    await wait_for(lambda: seen, timeout=5, message="sent")
    return consumed


def held_open(notifier):
    """Sends wait until the returned event is set; returns (event, stored entry at each send, or None)."""
    gate, seen = asyncio.Event(), []

    async def answer(request):
        stored = notifier.outbox.docs.get(request.headers["Idempotency-Key"])
        seen.append(dict(stored) if stored is not None else None)
        await gate.wait()
        return SendOutcome.delivered("p-1")

    notifier.http.answer = answer
    return gate, seen


async def test_a_due_entry_is_sent_first_and_written_once_in_its_final_state_already_reported():
    notifier = make_notifier(scheduler={**SCHEDULER, "send_first_seconds": 30})
    outbox = notifier.outbox
    gate, seen = held_open(notifier)
    async with dispatching(notifier):
        consumed = await consume_until_sent(notifier, seen, "m1")
        assert seen == [None] and not consumed.done()  # sent before it is stored; intake waits for it
        gate.set()
        await asyncio.wait_for(consumed, 5)
        doc = outbox.docs[entry_id("m1")]  # stored by the time intake returns (the offsets are committed)
    assert (doc["state"], doc["report_due"], doc["attempts"]) == ("delivered", False, 1)
    assert {p.payload.intent_id: p.payload.outcome for p in notifier.publisher.on(DELIVERIES)} == {"m1": DELIVERED}
    # One write, the entry whole in its final state: no insert, no claim, no update, no reported mark.
    assert (outbox.inserts, outbox.claimed, outbox.writes, outbox.first_writes, outbox.marked) == (0, 0, 1, 1, 0)


async def test_a_send_slower_than_send_first_seconds_goes_in_claimed_and_its_outcome_updates_it():
    notifier = make_notifier()  # send_first_seconds 0.2
    outbox = notifier.outbox
    gate, seen = held_open(notifier)
    async with dispatching(notifier):
        await asyncio.wait_for(notifier.consume(envelope(reply("slow"), "ev-1")), 5)  # returns after 0.2 s
        doc = dict(outbox.docs[entry_id("slow")])
        assert seen == [None] and doc["state"] == "in_flight" and doc["claim"] and doc["lease_until"] > T0.timestamp()
        gate.set()
        await wait_for(lambda: outbox.docs[entry_id("slow")]["state"] == "delivered", timeout=5)
    assert outbox.docs[entry_id("slow")]["report_due"] is False and len(notifier.http.requests) == 1
    # The claimed insert, then the outcome: two writes, as before send-first; no claim by the scanner.
    assert (outbox.inserts, outbox.claimed, outbox.writes, outbox.first_writes, outbox.marked) == (0, 0, 2, 1, 0)


async def test_an_outcome_that_finds_the_store_away_is_written_when_it_is_back_and_intake_waits_for_it():
    notifier = make_notifier(scheduler={**SCHEDULER, "send_first_seconds": 30})
    outbox, dispatcher = notifier.outbox, notifier.dispatcher
    gate, seen = held_open(notifier)
    async with dispatching(notifier):
        consumed = await consume_until_sent(notifier, seen, "away")
        outbox.down = True
        gate.set()
        await wait_for(lambda: dispatcher.recording_failed, timeout=5, message="the first write failed")
        assert not consumed.done() and dispatcher.unrecorded == 1 and entry_id("away") not in outbox.docs
        outbox.down = False
        await asyncio.wait_for(consumed, 5)  # the held outcome was written again: stored, then intake returned
    assert outbox.docs[entry_id("away")]["state"] == "delivered" and len(notifier.http.requests) == 1
    assert [p.payload.intent_id for p in notifier.publisher.on(DELIVERIES)] == ["away"]  # reported once

async def test_a_redelivered_batch_is_neither_handed_over_again_nor_sent_again():
    notifier = make_notifier()
    outbox, dispatcher = notifier.outbox, notifier.dispatcher
    gate, seen = held_open(notifier)
    batch = [envelope(reply(f"r{n}"), f"ev-{n}", offset=n) for n in (1, 2)]
    async with dispatching(notifier):
        first = asyncio.create_task(notifier.consume(*batch))
        await wait_for(lambda: len(seen) == 2, timeout=5)
        await notifier.consume(*batch)  # redelivered while both are sent first, not stored yet: waits for them
        await asyncio.wait_for(first, 5)
        assert len(dispatcher.sends) == 2 and not any(dispatcher.queues.values())
        claims = {i: outbox.docs[i]["claim"] for i in (entry_id("r1"), entry_id("r2"))}  # in claimed at 0.2 s
        await notifier.consume(*batch)  # and again, stored and still sending
        assert not any(dispatcher.queues.values()) and len(dispatcher.sends) == 2
        assert {i: outbox.docs[i]["claim"] for i in claims} == claims  # the stored entries are untouched
        gate.set()
        await wait_for(lambda: set(outbox.states().values()) == {"delivered"}, timeout=5)
        await wait_for(lambda: not dispatcher.held, timeout=5)
        await notifier.consume(*batch)  # redelivered after they finished: found, not created
        assert not dispatcher.held and not dispatcher.sends and not any(dispatcher.queues.values())
    assert sorted(r.headers["Idempotency-Key"] for r in notifier.http.requests) == [entry_id("r1"), entry_id("r2")]
    assert Counter(p.event_id for p in notifier.publisher.on(DELIVERIES)) == Counter(
        {p.event_id: 1 for p in notifier.publisher.on(DELIVERIES)})


async def test_a_full_pool_or_a_later_due_time_leaves_the_entry_pending_for_the_scanner():
    notifier = make_notifier()  # telegram: 2 sends at once x PREFETCH 4 = 8 held at most
    outbox = notifier.outbox
    gate, _ = held_open(notifier)
    later = reply("later")
    later.not_before.CopyFrom(ts(T0.replace(minute=30)))
    async with dispatching(notifier):
        await notifier.consume(*(envelope(reply(f"b{n}"), f"ev-{n}", offset=n) for n in range(10)),
                               envelope(later, "ev-later", offset=10))
        assert Counter(outbox.states().values()) == Counter(in_flight=8, pending=3)
        assert outbox.docs[entry_id("later")]["state"] == "pending"
        gate.set()
        await wait_for(lambda: Counter(outbox.states().values()) == Counter(delivered=10, pending=1), timeout=5)
        assert outbox.claimed == 2  # the two that found the pool full, claimed by the scanner
        await notifier.clock.advance(31 * 60)
        await wait_for(lambda: outbox.docs[entry_id("later")]["state"] == "delivered", timeout=5)
    assert len(notifier.http.requests) == 11 and outbox.claimed == 3


async def test_an_insert_whose_reply_was_lost_is_released_by_the_next_scan_and_sent_once():
    notifier = make_notifier(scheduler={**SCHEDULER, "send_first_seconds": 0})  # insert first, then send
    outbox, dispatcher = notifier.outbox, notifier.dispatcher
    stored_add = outbox.add

    async def applied_but_reply_lost(entries):
        await stored_add(entries)
        raise StoreDown("connection reset after the write")

    outbox.add = applied_but_reply_lost
    async with dispatching(notifier):
        with pytest.raises(StoreDown):
            await notifier.consume(envelope(reply("lost"), "ev-lost"))
        outbox.add = stored_add
        assert not dispatcher.held and not dispatcher.sends  # nothing of a failed insert is sent from here
        await wait_for(lambda: outbox.docs[entry_id("lost")]["state"] == "delivered", timeout=5,
                       message="released to pending by the next scan, claimed and sent")
    assert len(notifier.http.requests) == 1 and outbox.claimed == 1


async def test_with_the_broker_away_the_outcome_is_written_still_to_report_and_reported_later():
    notifier = make_notifier(scheduler={"poll_seconds": 0.02, "lease_seconds": 1, "reclaim_grace_seconds": 0,
                                        "report_ack_seconds": 0.05})
    outbox, dispatcher, publisher = notifier.outbox, notifier.dispatcher, notifier.publisher
    publisher.set_away(True)  # records are taken, never acknowledged
    async with dispatching(notifier):
        await notifier.consume(envelope(reply("a1"), "ev-1"))
        await wait_for(lambda: outbox.docs[entry_id("a1")]["state"] == "delivered", timeout=5)
        assert outbox.docs[entry_id("a1")]["report_due"] is True
        assert not dispatcher.recorder.report_first  # later outcomes do not wait for an ack meanwhile
        await notifier.consume(envelope(reply("a2"), "ev-2", offset=1))
        await wait_for(lambda: outbox.docs[entry_id("a2")]["state"] == "delivered", timeout=5)
        assert outbox.docs[entry_id("a2")]["report_due"] is True
        publisher.set_away(False)
        await wait_for(lambda: not any(d["report_due"] for d in outbox.docs.values()), timeout=5,
                       message="the reporter published both once the broker answered")
        assert dispatcher.recorder.report_first
    reports = publisher.on(DELIVERIES)
    assert {p.payload.intent_id for p in reports} == {"a1", "a2"}
    # a1's unacknowledged record and the reporter's one carry the same event id: consumers dedupe.
    assert len({p.event_id for p in reports}) == 2
    assert len(notifier.http.requests) == 2


async def test_an_older_queue_position_in_the_same_batch_stays_pending_and_is_superseded_not_sent():
    notifier = make_notifier()
    positions = [reply(f"qp-{n}", kind=K.NOTIFICATION_KIND_QUEUE_POSITION) for n in (1, 2)]
    async with dispatching(notifier):
        await notifier.consume(*(envelope(p, f"ev-{n}", offset=n) for n, p in enumerate(positions)))
        assert notifier.outbox.docs[entry_id("qp-1")]["state"] == "skipped"  # superseded, never claimed
        await wait_for(lambda: notifier.outbox.docs[entry_id("qp-2")]["state"] == "delivered", timeout=5)
    assert [r.headers["Idempotency-Key"] for r in notifier.http.requests] == [entry_id("qp-2")]
    assert notifier.outbox.claimed == 0


async def test_a_retryable_first_attempt_is_inserted_pending_with_its_next_due_time_in_one_write():
    notifier = make_notifier()
    outbox = notifier.outbox
    answers = iter([SendOutcome.retry("http 503"), SendOutcome.delivered("p-2")])
    notifier.http.answer = lambda request: next(answers)
    async with dispatching(notifier):
        await asyncio.wait_for(notifier.consume(envelope(reply("busy"), "ev-1")), 5)
        doc = dict(outbox.docs[entry_id("busy")])
        assert (doc["state"], doc["attempts"], doc["detail"]) == ("pending", 1, "http 503")
        assert doc["due_at"] > T0.timestamp() and outbox.writes == 1 and outbox.first_writes == 1
        await notifier.clock.advance(5)  # past the backoff: the scanner claims and sends it again
        await wait_for(lambda: outbox.docs[entry_id("busy")]["state"] == "delivered", timeout=5)
    assert len(notifier.http.requests) == 2 and outbox.inserts == 0 and outbox.claimed == 1
    assert outbox.docs[entry_id("busy")]["attempts"] == 2


async def test_a_burst_bigger_than_the_pools_room_is_sent_first_as_sends_finish_each_stored_once():
    notifier = make_notifier(scheduler={**SCHEDULER, "send_first_seconds": 30})  # room: 8 held at most
    outbox = notifier.outbox
    async with dispatching(notifier):  # returns as soon as every entry is stored: long before the 30 s
        await asyncio.wait_for(notifier.consume(*(envelope(reply(f"b{n}"), f"ev-{n}", offset=n) for n in range(20))), 5)
    assert Counter(outbox.states().values()) == Counter(delivered=20) and len(notifier.http.requests) == 20
    # Admitted as room freed, not left to the scanner: each stored once, whole (group-committed), with
    # no insert before and no claim.
    assert (outbox.inserts, outbox.claimed, outbox.first_writes) == (0, 0, 20)
