"""The SLA store on the real store (nx-27017): one document per conversation, its pending timers
inside. Conversations first seen in a batch are inserted; one already stored (written before a
crash, then redelivered) is replaced. A pre-upgrade `sla_timers` collection is folded in once."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from switchboard.sla.adapters.ports import SlaRecord
from switchboard.sla.adapters.store import LEGACY_TIMERS, MongoStateStore
from switchboard.sla.domain.effects import TimerArm, epoch_ms
from switchboard.sla.domain.state import ConversationSla

DUE = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def arm(conversation_id: str, due: datetime, metric: str = "first_response") -> TimerArm:
    return TimerArm(id=f"{conversation_id}|{metric}|0|breach|0", conversation_id=conversation_id, due=due,
                    kind="breach", metric=metric, instance=0, level=0, reason="")


def record(conversation_id: str, partition: int, *arms: TimerArm) -> SlaRecord:
    return SlaRecord(ConversationSla(conversation_id), partition=partition, timers={a.id: a for a in arms})


async def test_a_conversation_written_before_a_crash_is_replaced_not_duplicated_and_the_rest_inserted(
        mongo_db, namespace):
    states = MongoStateStore(mongo_db)
    await states.ensure_indexes()
    first, second = f"{namespace}-c1", f"{namespace}-c2"
    # The process died after writing c1, before committing the offset.
    await states.save([record(first, 0, arm(first, DUE))], fresh=frozenset({first}))
    # Redelivered with a later record for c1: both conversations look new to the restarted process.
    later = arm(first, DUE + timedelta(minutes=5))
    await states.save([record(first, 0, later), record(second, 1, arm(second, DUE))], frozenset({first, second}))
    loaded = await states.load([first, second])
    assert set(loaded) == {first, second}
    assert loaded[first].timers == {later.id: later}  # the later decision wins, one document
    assert await mongo_db["sla_conversations"].count_documents({"_id": {"$in": [first, second]}}) == 2


async def test_a_new_partition_owner_loads_the_pending_timers_of_its_partitions_only(mongo_db, namespace):
    states = MongoStateStore(mongo_db)
    await states.ensure_indexes()
    mine, theirs, idle = f"{namespace}-mine", f"{namespace}-theirs", f"{namespace}-idle"
    both = [arm(mine, DUE), arm(mine, DUE + timedelta(hours=1), "resolution")]
    await states.save([record(mine, 7, *both), record(theirs, 8, arm(theirs, DUE)), record(idle, 7)])
    loaded = sorted([entry async for entry in states.pending([7])])
    assert loaded == [(7, epoch_ms(a.due), a.id) for a in both]


async def test_pending_timers_of_the_old_layout_are_folded_in_by_each_partitions_next_owner(mongo_db, namespace):
    states = MongoStateStore(mongo_db)
    cid, orphan = f"{namespace}-old", f"{namespace}-orphan"
    await states.save([record(cid, 2)])  # stored by the previous version: no timers inside
    legacy = mongo_db[LEGACY_TIMERS]
    pending, fired = arm(cid, DUE), arm(cid, DUE - timedelta(hours=1), "resolution")
    await legacy.insert_many([
        {"_id": pending.id, "partition": 2, "due_at": DUE, "state": "pending", "conversation_id": cid,
         "kind": "breach", "metric": "first_response", "instance": 0, "level": 0, "reason": ""},
        {"_id": fired.id, "partition": 2, "due_at": fired.due, "state": "fired", "conversation_id": cid,
         "kind": "breach", "metric": "resolution", "instance": 0, "level": 0, "reason": ""},
        {"_id": f"{orphan}|first_response|0|breach|0", "partition": 2, "due_at": DUE, "state": "pending",
         "conversation_id": orphan, "kind": "breach", "metric": "first_response", "instance": 0, "level": 0}])

    other_partition = {"_id": f"{namespace}-late|first_response|0|breach|0", "partition": 5, "due_at": DUE,
                       "state": "pending", "conversation_id": f"{namespace}-late", "kind": "breach",
                       "metric": "first_response", "instance": 0, "level": 0}
    await legacy.insert_one(other_partition)  # an old replica's, on a partition this one does not own

    # The new owner of partition 2 loads its timers: the old layout's are folded in first.
    assert [entry async for entry in states.pending([2]) if entry[2].startswith(namespace)] == [
        (2, epoch_ms(DUE), pending.id)]
    assert (await states.load([cid]))[cid].timers == {pending.id: pending}
    assert await legacy.count_documents({"partition": 2}) == 0
    assert await legacy.count_documents({"partition": 5}) == 1  # its owner folds it when it is assigned
    assert await states.fold_legacy_timers([2]) == 0  # once per timer
    assert await states.fold_legacy_timers([5]) == 0  # no conversation document: an orphan, dropped
    assert LEGACY_TIMERS not in await mongo_db.list_collection_names()  # empty: gone
    assert await states.load([orphan]) == {}  # a timer with no conversation would fire as a no-op
