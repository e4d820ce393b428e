"""The analytics handler rules, on in-memory ports: which records are applied and counted, which
are skipped, which checkpoints are refused, and what is poison. Fast: no broker, no store, no sleeps.
(Checkpoints themselves: test_analytics_checkpoints.py.)"""
from __future__ import annotations

from datetime import timedelta

import pytest
from analytics_events import T0, conversation, delivery
from analytics_handler_kit import record
from switchboard.common.consumer import PermanentError
from switchboard.events.v1 import common_pb2, notification_pb2

Q, A, RES = (
    common_pb2.CONVERSATION_STATUS_QUEUED,
    common_pb2.CONVERSATION_STATUS_ASSIGNED,
    common_pb2.CONVERSATION_STATUS_RESOLVED,
)
P = 3
OPENED = "switchboard_conversation_opened_total"
BACKLOG = "switchboard_backlog_conversations"


def opened(replica, ids, *, partition=P, first_offset=0):
    return [record(replica, conversation("conversation_opened", cid, T0, status=Q), first_offset + i, partition)
            for i, cid in enumerate(ids)]


async def test_records_below_the_slots_stored_offset_are_neither_applied_nor_counted_again(replicas, store):
    a, b = replicas
    ids = [f"c{i}" for i in range(6)]
    records = [*opened(a, ids), record(a, conversation("conversation_resolved", "c0", T0, status=RES), 6, P)]
    await a.assign(P)
    await a.handler.handle(records)
    assert (a.value(OPENED), a.value(BACKLOG)) == (0, 5)  # gauges from memory; counted once checkpointed
    await a.checkpoint()
    assert (a.value(OPENED), a.value(BACKLOG)) == (6, 5)
    # A's offset commit did not land: the next owner is handed the same records again.
    await a.revoke()
    await b.assign(P)
    assert b.value(BACKLOG) == 5  # loaded from the store on assignment
    await b.handler.handle(records)
    assert b.value(OPENED) == 0, "the next owner counted what the previous one had counted"
    assert b.handler.skipped == len(records)
    assert store.open_ids(P) == set(ids[1:])
    await b.handler.handle(opened(b, ["c9"], first_offset=7))
    await b.checkpoint()
    assert (b.value(OPENED), b.value(BACKLOG)) == (1, 6)


async def test_a_checkpoint_refused_for_a_newer_epoch_counts_nothing_and_cannot_reopen(replicas, store):
    a, b = replicas
    ids = [f"c{i}" for i in range(4)]
    await a.assign(P)
    await a.handler.handle(opened(a, ids[:2]))
    await a.checkpoint()
    await b.assign(P)  # B claims the slot while A, not told yet, keeps working (a zombie)
    assert b.start("conversations", P) == 2  # B reads on from A's checkpoint
    await b.handler.handle([*opened(b, ids[2:], first_offset=2),
                            record(b, conversation("conversation_resolved", "c0", T0, status=RES), 4, P)])
    await b.checkpoint()
    late = record(a, conversation("conversation_assigned", "c0", T0 + timedelta(minutes=1), status=A,
                                  assignee_id="agent-9"), 5, P)
    await a.handler.handle([*opened(a, ids[2:], first_offset=2), late])  # applied in A's memory only
    assert await a.checkpoint() == 0
    assert a.value(OPENED) == 2, "the refused checkpoint moved the zombie's counters"
    assert b.value(OPENED) == 2  # what A had not stored is B's to count, once
    assert a.value(BACKLOG) == 0, "the zombie still reports the slot it was fenced from"
    assert store.open_ids(P) == set(ids[1:]), "the zombie's late write reopened a resolved conversation"
    assert store.documents["c0"].conversation is None  # resolved: removed
    # Fenced until its next assignment: a further batch of that slot is given back, not counted.
    assert not await a.deliver(opened(a, ["c7"], first_offset=6))
    await a.checkpoint()
    assert a.value(OPENED) == 2 and "c7" not in store.documents


async def test_a_batch_handed_over_after_its_slot_was_revoked_is_left_for_the_next_owner(replicas):
    """The runner took a batch, then the rebalance revoked its slot before the batch was handled (the
    group still takes this member's commits: its generation moves only when the rejoin completes).
    Committed unapplied, its resolution would be read by nobody and the gauge would stay one too high."""
    a, b = replicas
    await a.assign(P)
    assert await a.deliver(opened(a, ["c0", "c1", "c2"]))
    fetched = [record(a, conversation("conversation_resolved", "c0", T0 + timedelta(minutes=5), status=RES), 3, P)]
    await a.revoke()
    committed = await a.deliver(fetched)
    assert a.value(BACKLOG) == 0
    await b.assign(P)
    # The next owner reads from the committed offsets: the batch again unless it was committed.
    assert await b.deliver([] if committed else fetched)
    assert b.value(BACKLOG) == 2, "a record of the revoked slot was committed without being applied"
    assert set(b.app.projection.open) == {"c1", "c2"}


async def test_revoking_a_slot_drops_exactly_its_conversations_from_the_gauges(replicas):
    a, _ = replicas
    await a.assign(1, 2)
    await a.handler.handle([*opened(a, ["x1", "x2"], partition=1), *opened(a, ["y1", "y2", "y3"], partition=2)])
    assert a.value(BACKLOG) == 5
    await a.checkpoint()
    await a.revoke(2)
    assert a.value(BACKLOG) == 2
    assert set(a.app.projection.open) == {"x1", "x2"}
    assert a.value(OPENED) == 5  # counters are cumulative: a revocation takes nothing back


async def test_a_duplicate_event_id_is_counted_once(replicas):
    a, _ = replicas
    await a.assign(P)
    first = opened(a, ["c1"])[0]
    # A producer that re-published after its own crash keeps the event id; the copy lands at a later offset.
    copy_in_batch = record(a, first.payload, 1, P, event_id=first.id)
    await a.handler.handle([first, copy_in_batch])
    await a.handler.handle([record(a, first.payload, 2, P, event_id=first.id)])
    await a.checkpoint()
    assert a.value(OPENED) == 1
    assert a.handler.skipped == 2


async def test_a_failed_checkpoint_counts_nothing_and_the_next_one_stores_and_counts_once(replicas, store, ledger):
    a, _ = replicas
    await a.assign(P)
    await a.handler.handle(opened(a, ["c1", "c2"]))
    store.fail_next_apply = ConnectionError("store timed out")
    with pytest.raises(ConnectionError):
        await a.checkpoint()
    assert (a.value(OPENED), a.value(BACKLOG)) == (0, 2)  # stored first, counted after; gauges from memory
    assert store.documents == {} and ledger.slots[f"conversations|{P}"].offsets == {}
    await a.checkpoint()  # the next one writes what the failed one could not
    assert (a.value(OPENED), a.value(BACKLOG)) == (2, 2)
    assert store.open_ids(P) == {"c1", "c2"}
    assert ledger.slots[f"conversations|{P}"].offsets == {"conversations": 2}


async def test_a_record_of_a_type_analytics_does_not_consume_is_poison(replicas, store):
    a, _ = replicas
    await a.assign(P)
    stray = notification_pb2.NotificationRequested(brand_id="acme")
    with pytest.raises(PermanentError, match="analytics does not consume .*NotificationRequested"):
        await a.handler.handle([*opened(a, ["c1"]), record(a, stray, 1, P)])
    assert a.value(OPENED) == 0 and store.documents == {}  # the whole batch is replayed record by record


async def test_a_conversation_event_without_an_id_is_poison(replicas, store):
    a, _ = replicas
    await a.assign(P)
    with pytest.raises(PermanentError, match="conversation_id"):
        await a.handler.handle(opened(a, [""]))
    assert a.value(OPENED) == 0 and store.applied_batches == 0


async def test_counter_only_topics_are_counted_once_per_record(replicas, ledger):
    a, b = replicas
    await a.assign(0, topics=("deliveries",))
    sent = [record(a, delivery("c1"), 0, 0, topic="deliveries"),
            record(a, delivery("c1", outcome=notification_pb2.DELIVERY_OUTCOME_FAILED), 1, 0, topic="deliveries")]
    await a.handler.handle(sent)
    await a.checkpoint()
    assert a.value("switchboard_delivery_outcomes_total") == 2
    assert ledger.slots["deliveries|0"].offsets == {"deliveries": 2}
    await b.assign(0, topics=("deliveries",))
    await b.handler.handle(sent)  # redelivered to the next owner
    await b.checkpoint()
    assert b.value("switchboard_delivery_outcomes_total") == 0
