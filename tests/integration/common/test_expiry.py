"""Expiry sweeps on the real store (nx-27017): what has expired goes, nothing else does."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from switchboard.common.clock import ManualClock
from switchboard.common.dedupe import DedupeStore
from switchboard.common.expiry import Expiry, Sweeper

# Years back: the dedupe collection is shared with tests running at the same time (nx-27017 shares
# collections across databases), and a sweep must not reach their records.
NOW = datetime(2020, 1, 1, 12, 0, tzinfo=UTC)


async def test_a_sweep_deletes_expired_documents_only_and_keeps_those_without_an_expiry(mongo_db, namespace):
    collection = mongo_db[f"{namespace}_docs"]
    await collection.insert_many([
        {"_id": "expired", "expire_at": NOW - timedelta(seconds=1)},
        {"_id": "due-later", "expire_at": NOW + timedelta(minutes=1)},
        {"_id": "kept-forever"},  # e.g. an open conversation's SLA state
    ])
    clock = ManualClock(NOW)
    sweeper = Sweeper(mongo_db, [Expiry(collection.name)], interval=60, clock=clock)
    await sweeper.ensure_indexes()
    assert await sweeper.sweep_once() == {collection.name: 1}
    assert sorted([d["_id"] async for d in collection.find({})]) == ["due-later", "kept-forever"]
    await clock.advance(timedelta(minutes=2))
    await sweeper.sweep_once()
    assert [d["_id"] async for d in collection.find({})] == ["kept-forever"]


async def test_dedupe_records_are_recognised_within_their_window_and_swept_after_it(mongo_db, namespace):
    clock = ManualClock(NOW)
    dedupe = DedupeStore(mongo_db, f"{namespace}-group", ttl_days=7, clock=clock)
    sweeper = Sweeper(mongo_db, [dedupe.expiry], interval=60, clock=clock)
    await dedupe.ensure_indexes()
    await dedupe.mark(["e1", "e2"])
    await clock.advance(timedelta(days=6, hours=23))
    await sweeper.sweep_once()
    assert await dedupe.seen(["e1", "e2", "e3"]) == {"e1", "e2"}
    await clock.advance(timedelta(hours=2))
    await sweeper.sweep_once()
    assert await dedupe.seen(["e1", "e2"]) == set()
