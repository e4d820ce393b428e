"""The SLA handler rules, with in-memory ports: no broker, no store, no sleeps (conftest.py).

Demo policies (config/demo/sla.yaml), email: first response within 20 s (warnings at 75% and 90%),
resolution within 120 s; escalation L1 at the breach, L2 5 s after it, L3 15 s after it, each
level acknowledged within 10 s or the next comes early."""
from __future__ import annotations

from datetime import timedelta

import pytest
from prometheus_client import REGISTRY
from sla_handler_kit import PARTITION, T0, conversation_event
from switchboard.common.consumer import PermanentError
from switchboard.events.v1 import common_pb2, sla_pb2
from switchboard.sla.adapters.ports import SlaRecord
from switchboard.sla.domain.effects import TimerArm, epoch_ms
from switchboard.sla.domain.state import ConversationSla
from switchboard.sla.domain.tracker import Tracker

S = timedelta(seconds=1)


def pending_per_clock(sla, cid: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for arm in sla.states.pending_timers().values():
        if arm.conversation_id == cid:
            counts[arm.metric] = counts.get(arm.metric, 0) + 1
    return counts


async def test_events_are_acknowledged_by_the_broker_before_the_conversation_and_its_timers_are_saved(sla):
    await sla.send("c1", "conversation_opened", T0)
    steps = [entry[0] for entry in sla.journal]
    assert steps[0] == "publish" and set(steps[:steps.index("drain")]) == {"publish"}
    assert sla.journal[steps.index("drain"):] == [("drain",), ("states", ["c1"])]  # one document, timers inside
    assert {e.WhichOneof("event") for e in sla.sla_events("c1")} == {"sla_applied"}

    sla.journal.clear()
    await sla.run_until(T0 + 15 * S)  # the first-response warning fires: publish, then mark it fired
    steps = [entry[0] for entry in sla.journal]
    assert steps == ["publish", "drain", "states"]
    assert len(sla.sla_events("c1", "sla_warning_raised")) == 1


async def test_a_broker_that_does_not_acknowledge_leaves_store_and_timers_untouched_and_the_retry_is_identical(sla):
    env = sla.envelope(conversation_event("c1", "conversation_opened", T0))
    sla.publisher.fail_drain = ConnectionError("broker away")
    with pytest.raises(ConnectionError):
        await sla.engine.handle([env])  # the runner does not commit: the record comes again
    first_ids = [p.event_id for p in sla.publisher.published]
    assert sla.states.docs == {} and len(sla.engine.heap) == 0

    await sla.engine.handle([env])
    assert [p.event_id for p in sla.publisher.published][len(first_ids):] == first_ids  # same ids: deduped downstream
    assert sla.states.get("c1") is not None and len(sla.engine.heap) == 2


def _no_time(env):
    env.payload.ClearField("occurred_at")


def _no_event(env):
    env.payload.ClearField("conversation_opened")


def _no_conversation_id(env):
    env.payload.conversation.conversation_id = ""


def _not_a_conversation_event(env):
    env.payload = sla_pb2.SlaEvent(brand_id="acme", conversation=common_pb2.ConversationSnapshot(conversation_id="c1"))


@pytest.mark.parametrize("spoil", [_no_time, _no_event, _no_conversation_id, _not_a_conversation_event])
async def test_a_record_that_cannot_be_timed_is_a_permanent_error_with_no_effect(sla, spoil):
    env = sla.envelope(conversation_event("c1", "conversation_opened", T0))
    spoil(env)
    with pytest.raises(PermanentError):
        await sla.engine.handle([env])  # straight to conversations.dlq, no retries
    assert sla.publisher.published == [] and sla.journal == []


async def test_a_stored_clock_whose_calendar_left_the_configuration_is_a_permanent_error(sla):
    await sla.send("c1", "conversation_opened", T0)
    doc = sla.states.docs["c1"]
    doc["clocks"]["first_response"]["calendar_id"] = "gone"  # written by a config this process lacks
    published = len(sla.publisher.published)
    with pytest.raises(PermanentError, match="calendar"):
        await sla.send("c1", "agent_replied", T0 + 5 * S, status=common_pb2.CONVERSATION_STATUS_ASSIGNED)
    assert len(sla.publisher.published) == published


async def test_a_record_applied_before_a_crash_is_skipped_when_redelivered(sla):
    await sla.send("c1", "conversation_opened", T0)
    await sla.send("c1", "agent_replied", T0 + S, status=common_pb2.CONVERSATION_STATUS_ASSIGNED)
    await sla.send("c1", "conversation_resolved", T0 + 2 * S, status=common_pb2.CONVERSATION_STATUS_RESOLVED)
    reopened = await sla.send("c1", "conversation_reopened", T0 + 3 * S)
    published = len(sla.publisher.published)
    again = sla.envelope(conversation_event("c1", "conversation_reopened", T0 + 3 * S), offset=reopened.offset,
                         event_id=reopened.id)
    await sla.engine.handle([again])
    assert len(sla.publisher.published) == published  # its events went out the first time
    assert sla.states.get("c1").state.episode == 2  # not reopened twice
    assert sla.journal[-1] == ("states", [])  # nothing written again


async def test_each_running_clock_has_one_timer_armed_at_a_time_through_warnings_and_breach(sla):
    await sla.send("c1", "conversation_opened", T0)
    assert pending_per_clock(sla, "c1") == {"first_response": 1, "resolution": 1}
    assert len(sla.engine.heap) == 2
    for moment in (15, 18, 19):  # warning 1, warning 2, just before the breach
        await sla.run_until(T0 + moment * S)
        assert pending_per_clock(sla, "c1") == {"first_response": 1, "resolution": 1}
    (timer,) = [t for t in sla.states.pending_timers().values() if t.metric == "first_response"]
    assert (timer.kind, timer.due) == ("breach", T0 + 20 * S)
    assert len(sla.sla_events("c1", "sla_warning_raised")) == 2


async def test_a_human_reply_fulfils_the_clock_and_cancels_its_timer(sla):
    await sla.send("c1", "conversation_opened", T0)
    await sla.send("c1", "agent_replied", T0 + 10 * S, status=common_pb2.CONVERSATION_STATUS_ASSIGNED)
    assert pending_per_clock(sla, "c1") == {"resolution": 1}
    await sla.run_until(T0 + 60 * S)
    assert sla.sla_events("c1", "sla_breached") == [] and sla.escalations() == []
    (fulfilled,) = sla.sla_events("c1", "sla_fulfilled")
    assert fulfilled.metric == sla_pb2.SLA_METRIC_FIRST_RESPONSE and not fulfilled.sla_fulfilled.breached


async def test_without_acknowledgement_the_ladder_climbs_to_the_top(sla):
    await sla.send("c1", "conversation_opened", T0)
    await sla.run_until(T0 + 60 * S)
    assert [(e.level, e.raised_at.ToDatetime()) for e in sla.escalations()] == [
        (1, (T0 + 20 * S).replace(tzinfo=None)), (2, (T0 + 25 * S).replace(tzinfo=None)),
        (3, (T0 + 35 * S).replace(tzinfo=None))]


async def test_an_acknowledgement_stops_the_ladder(sla):
    await sla.send("c1", "conversation_opened", T0)
    await sla.run_until(T0 + 22 * S)
    assert [e.level for e in sla.escalations()] == [1]
    await sla.send("c1", "escalation_acknowledged", T0 + 22 * S, escalation_id="c1:first_response:1:1",
                   agent_id="sam")
    assert "c1|first_response|1|escalate|2" not in sla.states.pending_timers()
    await sla.run_until(T0 + 60 * S)
    assert [e.level for e in sla.escalations()] == [1]
    (escalation,) = sla.states.get("c1").state.escalations
    assert escalation["acknowledged"] and escalation["acknowledged_by"] == "sam"


@pytest.mark.parametrize("kind", ["customer_reaction_added", "provider_notice_added"])
async def test_reactions_and_provider_notices_move_no_clock(sla, kind):
    await sla.send("c1", "conversation_opened", T0)
    published, timers = len(sla.publisher.published), sla.states.pending_timers()
    await sla.send("c1", kind, T0 + 5 * S)
    assert len(sla.publisher.published) == published
    assert sla.states.pending_timers() == timers
    await sla.run_until(T0 + 20 * S)  # the first-response deadline still stands where it was
    (breach,) = sla.sla_events("c1", "sla_breached")
    assert breach.deadline.ToDatetime() == (T0 + 20 * S).replace(tzinfo=None)


async def test_an_auto_reply_moves_no_clock(sla):
    await sla.send("c1", "conversation_opened", T0)
    published = len(sla.publisher.published)
    await sla.send("c1", "customer_message_appended", T0 + 5 * S, auto_reply=True)
    assert len(sla.publisher.published) == published and pending_per_clock(sla, "c1")["first_response"] == 1


def _calendar_gone(doc: dict) -> None:
    doc["clocks"]["first_response"]["calendar_id"] = "gone"  # written by a config this process lacks


def _snapshot_unreadable(doc: dict) -> None:
    doc["snapshot"] = "//8="  # base64 of bytes that are no ConversationSnapshot: fails after the tracker ran


@pytest.mark.parametrize("breakage", [_calendar_gone, _snapshot_unreadable])
async def test_a_timer_that_cannot_fire_is_marked_failed_with_no_partial_change_and_the_others_fire(sla, breakage):
    await sla.send("ok", "conversation_opened", T0)
    await sla.send("broken", "conversation_opened", T0)
    breakage(sla.states.docs["broken"])
    before = sla.states.get("broken").state
    await sla.run_until(T0 + 15 * S)
    assert len(sla.sla_events("ok", "sla_warning_raised")) == 1
    assert sla.sla_events("broken", "sla_warning_raised") == []
    assert sla.states.failed_timer_ids("broken") == ["broken|first_response|1|warn|1"]
    assert sla.states.failed_timer_ids("ok") == []
    pending = sla.states.pending_timers()
    assert "broken|first_response|1|warn|1" not in pending and "ok|first_response|1|warn|1" not in pending
    assert sla.states.get("broken").state == before  # no warning recorded, no fraction moved
    assert sla.engine.heap.next_due() is not None  # the scheduler carries on


class FailsAfterDeciding(Tracker):
    """The real tracker, except that firing a timer of `metric` raises after the state was changed."""

    def __init__(self, book, metric: str) -> None:
        super().__init__(book)
        self.metric = metric

    def fire(self, state, timer, now):
        decisions = super().fire(state, timer, now)
        if timer.metric == self.metric:
            raise RuntimeError("failed half-way")
        return decisions


async def test_a_timer_failing_half_way_leaves_no_partial_change_beside_one_that_fired_in_the_same_round(sla):
    await sla.send("c1", "conversation_opened", T0)
    sla.engine.tracker = FailsAfterDeciding(sla.engine.tracker.book, "resolution")
    await sla.clock.set(T0 + 100 * S)  # first-response warning (15 s) and resolution warning (90 s) at once
    assert await sla.engine.fire_due(1000) == 2
    clocks = sla.states.get("c1").state.clocks
    assert clocks["first_response"].warned_fraction == 0.75
    assert clocks["resolution"].warned_fraction == 0.0 and clocks["resolution"].warnings == []
    assert sla.states.failed_timer_ids("c1") == ["c1|resolution|1|warn|1"]
    assert "c1|resolution|1|warn|1" not in sla.states.pending_timers()
    assert len(sla.sla_events("c1", "sla_warning_raised")) == 1


async def test_a_timer_whose_conversation_document_expired_fires_as_a_no_op_and_writes_nothing(sla):
    sla.engine.heap.arm(PARTITION, "ghost|first_response|1|breach|0", epoch_ms(T0 + S))  # swept since loaded
    await sla.run_until(T0 + 2 * S)
    assert sla.publisher.published == [] and sla.states.docs == {} and len(sla.engine.heap) == 0


async def test_assignment_loads_the_pending_timers_of_owned_partitions_only_and_revocation_drops_them(sla):
    mine = TimerArm("c1|first_response|1|breach|0", "c1", "breach", "first_response", 1, 0, T0 + S)
    theirs = TimerArm("c9|first_response|1|breach|0", "c9", "breach", "first_response", 1, 0, T0 + S)
    await sla.states.save([SlaRecord(ConversationSla("c1"), partition=PARTITION, timers={mine.id: mine}),
                           SlaRecord(ConversationSla("c9"), partition=3, timers={theirs.id: theirs})])
    await sla.engine.revoke({PARTITION})
    assert len(sla.engine.heap) == 0
    assert await sla.engine.assign({PARTITION}) == 1
    assert sla.engine.heap.partitions == {PARTITION} and len(sla.engine.heap) == 1
    assert await sla.engine.assign({PARTITION, 3}) == 1  # only the new partition is loaded
    assert len(sla.engine.heap) == 2
    await sla.engine.revoke({3})
    assert sla.engine.heap.partitions == {PARTITION} and len(sla.engine.heap) == 1


async def test_events_raised_by_timers_carry_the_latest_snapshot(sla):
    await sla.send("c1", "conversation_opened", T0)
    await sla.send("c1", "conversation_assigned", T0 + S, status=common_pb2.CONVERSATION_STATUS_ASSIGNED)
    await sla.run_until(T0 + 15 * S)
    (warning,) = sla.sla_events("c1", "sla_warning_raised")
    assert warning.conversation.status == common_pb2.CONVERSATION_STATUS_ASSIGNED
    assert warning.brand_id == "acme"


def clock_events(brand: str) -> float:
    return sum(REGISTRY.get_sample_value("switchboard_sla_clock_events_total",
                                         {"event": "applied", "metric": metric, "channel": "email",
                                          "priority": "normal", "brand": brand}) or 0.0
               for metric in ("first_response", "resolution"))


async def test_clock_events_are_counted_per_configured_brand_and_an_unknown_brand_counts_as_other(sla):
    acme, other = clock_events("acme"), clock_events("other")
    await sla.send("c1", "conversation_opened", T0)
    event = conversation_event("c2", "conversation_opened", T0)
    event.brand_id = "attacker-123"
    await sla.engine.handle([sla.envelope(event)])
    assert clock_events("acme") == acme + 2 and clock_events("other") == other + 2
    assert clock_events("attacker-123") == 0
