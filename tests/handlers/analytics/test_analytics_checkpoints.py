"""Checkpoints, on in-memory ports: a replica applies batches in memory and stores them per slot at a
checkpoint (each changed conversation once, then the offsets), counting their records only once
stored. On revocation and shutdown it checkpoints before the partitions move; a checkpoint of a slot
a newer owner claimed writes nothing; after a crash the next owner reads from the last checkpoint."""
from __future__ import annotations

from datetime import timedelta

import pytest
from analytics_events import T0, conversation, sla
from analytics_handler_kit import Replica, record
from switchboard.analytics.handlers import CheckpointBehind
from switchboard.common.consumer import TRANSIENT_ERRORS
from switchboard.common.testing import wait_for
from switchboard.events.v1 import common_pb2

Q, A, RES = (
    common_pb2.CONVERSATION_STATUS_QUEUED,
    common_pb2.CONVERSATION_STATUS_ASSIGNED,
    common_pb2.CONVERSATION_STATUS_RESOLVED,
)
P = 5
KEY = f"conversations|{P}"
OPENED = "switchboard_conversation_opened_total"
BACKLOG = "switchboard_backlog_conversations"


def opened(replica, ids, *, first_offset=0):
    return [record(replica, conversation("conversation_opened", cid, T0, status=Q), first_offset + i, P)
            for i, cid in enumerate(ids)]


def assigned(replica, cid, agent, offset):
    return record(replica, conversation("conversation_assigned", cid, T0 + timedelta(minutes=offset), status=A,
                                        assignee_id=agent), offset, P)


def resolved(replica, cid, offset):
    return record(replica, conversation("conversation_resolved", cid, T0 + timedelta(minutes=9), status=RES), offset, P)


async def test_a_checkpoint_writes_each_changed_conversation_once_in_its_latest_state(replicas, store, ledger):
    a, _ = replicas
    await a.assign(P)
    batches = [
        opened(a, ["c1", "c2", "c3"]),
        [record(a, sla("sla_applied", "c1", deadline=T0 + timedelta(hours=2)), 0, P, topic="sla")],
        [assigned(a, "c1", "agent-1", 3)],
        [assigned(a, "c1", "agent-2", 4)],
        [assigned(a, "c1", "agent-3", 5), resolved(a, "c3", 6)],
    ]
    for batch in batches:  # c1 is changed by all five
        await a.handler.handle(batch)
    assert a.value(BACKLOG) == 2 and store.written == {}  # the gauges follow memory; nothing written yet
    assert await a.checkpoint() == 1
    assert store.written == {"c1": 1, "c2": 1, "c3": 1}, "a conversation was written more than once"
    assert ledger.advanced == 1 and ledger.slots[KEY].offsets == {"conversations": 7, "sla": 1}
    c1 = store.documents["c1"].conversation
    assert (c1.assignee_id, set(c1.clocks)) == ("agent-3", {"first_response"})  # the latest state
    assert store.documents["c3"].conversation is None  # resolved: removed
    assert a.value(OPENED) == 3
    assert await a.checkpoint() == 0  # nothing changed since: nothing written
    assert sum(store.written.values()) == 3 and ledger.advanced == 1


async def test_revocation_checkpoints_before_the_partitions_move_so_the_next_owner_counts_nothing_twice(
        replicas, store, ledger):
    a, b = replicas
    await a.assign(P)
    records = [*opened(a, ["c1", "c2", "c3"]), assigned(a, "c1", "agent-1", 3), resolved(a, "c2", 4)]
    await a.handler.handle(records[:3])
    await a.handler.handle(records[3:])
    await a.revoke()  # no periodic checkpoint ran: the revoke hook stores and counts
    assert ledger.slots[KEY].offsets == {"conversations": 5}
    assert store.open_ids(P) == {"c1", "c3"}
    assert (a.value(OPENED), a.value(BACKLOG)) == (3, 0)
    await b.assign(P)
    assert b.start("conversations", P) == 5  # nothing to read again beyond what A's consumer committed
    assert b.value(BACKLOG) == 2
    await b.handler.handle(records)  # older commits hand B the same records: skipped, not counted
    await b.checkpoint()
    assert b.value(OPENED) == 0 and b.handler.skipped == len(records)


async def test_a_checkpoint_of_a_slot_a_newer_owner_claimed_writes_nothing_and_fences_it(replicas, store, ledger):
    a, b = replicas
    await a.assign(P)
    await a.handler.handle(opened(a, ["c1", "c2"]))
    await b.assign(P)  # A is not told (a zombie): its next checkpoint meets B's epoch
    assert await a.checkpoint() == 0
    assert store.written == {} and ledger.slots[KEY].offsets == {}, "the fenced checkpoint wrote"
    assert (a.value(OPENED), a.value(BACKLOG)) == (0, 0)  # counted nothing, and dropped the slot
    assert not await a.deliver(opened(a, ["c9"], first_offset=2))  # fenced until its next assignment
    # What A did not store is B's to read (from the start: nothing of it is stored) and count, once.
    assert b.start("conversations", P) == 0
    await b.handler.handle(opened(b, ["c1", "c2"]))
    await b.checkpoint()
    assert (b.value(OPENED), b.value(BACKLOG)) == (2, 2)
    assert store.open_ids(P) == {"c1", "c2"} and {d.epoch for d in store.documents.values()} == {2}


async def test_after_a_crash_the_next_owner_reads_from_the_last_checkpoint_and_counts_each_record_once(
        replicas, store, ledger):
    a, b = replicas
    records = [*opened(a, ["c1", "c2", "c3", "c4"]), assigned(a, "c1", "agent-1", 4), resolved(a, "c3", 5),
               resolved(a, "c4", 6)]
    await a.assign(P)
    await a.handler.handle(records[:4])
    await a.checkpoint()
    await a.handler.handle(records[4:])  # applied and (by the runner) committed, never checkpointed
    truth = a.value(BACKLOG)
    # A is killed -9 here: no revocation, no final checkpoint; what it had not counted dies with it.
    await b.assign(P)
    start = b.start("conversations", P)
    assert start == 4, "the next owner would not read again what the crashed one had not stored"
    await b.handler.handle([r for r in records if r.offset >= start])  # what its consumer reads from there
    await b.checkpoint()
    assert b.value(BACKLOG) == truth == 2
    assert a.value(OPENED) + b.value(OPENED) == 4
    assert store.open_ids(P) == {"c1", "c2"} and ledger.slots[KEY].offsets == {"conversations": 7}


async def test_a_slot_handed_back_keeps_what_its_failed_revocation_checkpoint_did_not_store(replicas, store):
    a, _ = replicas
    await a.assign(P)
    await a.handler.handle(opened(a, ["c1", "c2"]))
    store.fail_next_apply = ConnectionError("store timed out")
    await a.revoke()  # the checkpoint fails: the slot is parked with what it had not stored
    assert a.value(OPENED) == 0
    await a.assign(P)  # given back with nobody in between: its memory is current
    assert a.start("conversations", P) == 2
    await a.checkpoint()
    assert (a.value(OPENED), a.value(BACKLOG)) == (2, 2) and store.open_ids(P) == {"c1", "c2"}


async def test_checkpoints_run_every_checkpoint_seconds_and_once_more_at_shutdown(store, ledger):
    replica = Replica(store, ledger, checkpoint_seconds=0.05)
    await replica.app.metrics.start()
    await replica.assign(P)
    checkpointer = replica.app.checkpointer
    await checkpointer.start()
    try:
        await replica.handler.handle(opened(replica, ["c1"]))
        await wait_for(lambda: store.open_ids(P) == {"c1"}, timeout=5, message="a periodic checkpoint")
        await replica.handler.handle(opened(replica, ["c2"], first_offset=1))
    finally:
        await checkpointer.stop()  # as the service stops it: before the consumer leaves the group
    assert store.open_ids(P) == {"c1", "c2"} and replica.value(OPENED) == 2
    assert not await replica.deliver(opened(replica, ["c3"], first_offset=2)), "applied after the final checkpoint"
    assert replica.value(BACKLOG) == 2
    await replica.app.metrics.stop()


async def test_a_replica_whose_checkpoints_fall_behind_stops_applying_until_one_succeeds(replicas):
    a, _ = replicas
    a.handler.max_pending_effects = 2
    await a.assign(P)
    await a.handler.handle(opened(a, ["c1", "c2", "c3"]))
    with pytest.raises(CheckpointBehind) as behind:
        await a.handler.handle(opened(a, ["c4"], first_offset=3))
    assert isinstance(behind.value, TRANSIENT_ERRORS)  # the runner retries the batch, with backoff
    await a.checkpoint()
    await a.handler.handle(opened(a, ["c4"], first_offset=3))
    assert a.value(BACKLOG) == 4
