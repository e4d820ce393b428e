"""Slots, claims and the per-slot projection: what a replica owns and what it reports (pure, no I/O)."""

from __future__ import annotations

from datetime import timedelta

from analytics_events import T0, conversation, decoded
from switchboard.analytics.domain.backlog import BacklogIndex
from switchboard.analytics.domain.labels import Labeller
from switchboard.analytics.domain.ownership import Slot, SlotClaim, continues, slot_of
from switchboard.analytics.domain.partitions import PartitionedProjection
from switchboard.events.v1 import common_pb2

A = common_pb2.CONVERSATION_STATUS_ASSIGNED


def test_conversation_and_sla_partitions_with_the_same_number_are_one_slot():
    assert slot_of("conversations", 4) == slot_of("sla", 4) == Slot("conversations", 4)
    assert slot_of("conversations", 4).holds_state
    assert slot_of("escalations", 4) == Slot("escalations", 4) != slot_of("deliveries", 4)
    assert not slot_of("deliveries", 1).holds_state
    assert Slot.parse(Slot("conversations", 11).key) == Slot("conversations", 11)


def test_records_below_the_stored_offset_or_seen_before_are_already_applied():
    claim = SlotClaim(Slot("conversations", 0), epoch=3, offsets={"conversations": 10})
    assert claim.applied("conversations", 9)
    assert not claim.applied("conversations", 10)
    assert not claim.applied("sla", 0)  # offsets are per topic within the slot
    claim.remember(["e1", "e2", "e3"], {"sla": 5, "conversations": 4}, limit=2)
    assert claim.offsets == {"conversations": 10, "sla": 5}  # never backwards
    assert claim.seen("e3") and claim.seen("e2") and not claim.seen("e1")  # bounded, oldest forgotten


def test_memory_is_kept_only_when_nobody_held_the_slot_in_between():
    parked = SlotClaim(Slot("conversations", 0), epoch=4)
    assert continues(parked, 5)
    assert not continues(parked, 6)
    assert not continues(None, 1)


def test_removing_a_slot_removes_exactly_its_conversations_from_the_gauges():
    labeller = Labeller()
    index = BacklogIndex(labeller)
    projection = PartitionedProjection(labeller, on_change=index.update)
    mine, other = Slot("conversations", 0), Slot("conversations", 1)
    projection.install(mine, [])
    projection.install(other, [])
    for slot, ids in ((mine, ("a", "b")), (other, ("c",))):
        part = projection.for_slot(slot)
        part.commit(part.apply_batch(decoded(
            conversation("conversation_assigned", cid, T0, status=A, assignee_id="agent-1") for cid in ids
        )))
    assert set(projection.open) == {"a", "b", "c"}
    assert index.assignees() == {"acme": {"agent-1": 3}}
    kept = projection.remove(other)
    assert set(projection.open) == {"a", "b"} and len(index) == 2
    assert index.assignees() == {"acme": {"agent-1": 2}}
    projection.adopt(other, kept)
    assert len(index) == 3


def test_agent_gauges_can_come_from_a_tally_over_every_partition():
    labeller = Labeller()
    index = BacklogIndex(labeller)
    projection = PartitionedProjection(labeller, on_change=index.update)
    slot = Slot("conversations", 0)
    projection.install(slot, [])
    part = projection.for_slot(slot)
    part.commit(part.apply_batch(decoded([conversation("conversation_assigned", "a", T0, status=A, assignee_id="x")])))
    now = T0 + timedelta(minutes=1)
    own = index.snapshot(now, agent_capacity=2).values
    assert own["switchboard_agent_working_agents"] == {("acme",): 1.0}
    everywhere = index.snapshot(now, agent_capacity=2, assignees={"acme": {"x": 2, "y": 1}}).values
    assert everywhere["switchboard_agent_working_agents"] == {("acme",): 2.0}
    assert everywhere["switchboard_agent_assigned_conversations"] == {("acme",): 3.0}
    assert everywhere["switchboard_agent_occupancy_ratio"] == {("acme",): 0.75}
