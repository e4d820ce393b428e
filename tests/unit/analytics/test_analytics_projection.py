"""The analytics projection: which figures each event moves, and the open-conversation state."""

from datetime import timedelta

import pytest
from analytics_events import T0, conversation, decoded, delivery, escalation, fulfilled, sla
from switchboard.analytics.domain.projection import Inc, Observe, Projection
from switchboard.events.v1 import common_pb2, conversation_pb2, notification_pb2, sla_pb2

EMAIL = ("acme", "email", "general", "normal")
CHAT = ("acme", "chat", "general", "normal")
Q, A, BOT, RES, WOC = (
    common_pb2.CONVERSATION_STATUS_QUEUED,
    common_pb2.CONVERSATION_STATUS_ASSIGNED,
    common_pb2.CONVERSATION_STATUS_BOT,
    common_pb2.CONVERSATION_STATUS_RESOLVED,
    common_pb2.CONVERSATION_STATUS_WAITING_ON_CUSTOMER,
)


def run(projection, *events):
    result = projection.apply_batch(decoded(events))
    projection.commit(result)
    return result.effects


def test_opened_conversation_is_open_and_waiting_since_the_customer_wrote():
    p = Projection()
    effects = run(p, conversation("conversation_opened", "c1", T0, status=Q))
    assert Inc("switchboard_conversation_opened_total", EMAIL) in effects
    assert p.open["c1"].waiting_since == T0
    assert p.open["c1"].queued_since == T0


def test_agent_reply_stops_the_wait_and_assignment_wait_is_observed():
    p = Projection()
    run(p, conversation("conversation_opened", "c1", T0, status=Q))
    effects = run(
        p,
        conversation("conversation_assigned", "c1", T0 + timedelta(minutes=4), status=A, assignee_id="agent-7"),
        conversation("agent_replied", "c1", T0 + timedelta(minutes=6), status=A, assignee_id="agent-7"),
    )
    assert Observe("switchboard_assignment_wait_seconds", EMAIL, 240.0) in effects
    assert p.open["c1"].waiting_since is None and p.open["c1"].queued_since is None
    assert p.open["c1"].human_involved


def test_resolved_conversation_leaves_the_backlog():
    p = Projection()
    run(p, conversation("conversation_opened", "c1", T0))
    effects = run(
        p,
        conversation(
            "conversation_resolved",
            "c1",
            T0 + timedelta(hours=1),
            status=RES,
            human_involved=True,
            body=conversation_pb2.ConversationResolved(resolved_by="agent-7"),
        ),
    )
    assert "c1" not in p.open
    assert Inc("switchboard_conversation_resolved_total", (*EMAIL, "human")) in effects
    assert not any(e.metric == "switchboard_bot_contained_total" for e in effects)


def test_bot_resolution_without_handoff_counts_as_contained_but_a_handoff_does_not():
    p = Projection()
    contained = run(
        p,
        conversation("conversation_opened", "b1", T0, status=BOT, channel=common_pb2.CHANNEL_CHAT),
        conversation(
            "conversation_resolved",
            "b1",
            T0,
            status=RES,
            channel=common_pb2.CHANNEL_CHAT,
            body=conversation_pb2.ConversationResolved(resolved_by="bot"),
        ),
    )
    assert Inc("switchboard_bot_contained_total", CHAT) in contained
    handed = run(
        p,
        conversation("conversation_opened", "b2", T0, status=BOT, channel=common_pb2.CHANNEL_CHAT),
        conversation(
            "conversation_handed_off",
            "b2",
            T0,
            status=Q,
            channel=common_pb2.CHANNEL_CHAT,
            body=conversation_pb2.ConversationHandedOff(reason=conversation_pb2.HANDOFF_REASON_REQUESTED_HUMAN),
        ),
        conversation(
            "conversation_resolved",
            "b2",
            T0,
            status=RES,
            channel=common_pb2.CHANNEL_CHAT,
            body=conversation_pb2.ConversationResolved(resolved_by="bot"),
        ),
    )
    assert Inc("switchboard_bot_handoffs_total", (*CHAT, "requested_human")) in handed
    assert not any(e.metric == "switchboard_bot_contained_total" for e in handed)


def test_waiting_on_customer_is_not_owed_and_auto_replies_do_not_start_a_wait():
    p = Projection()
    run(
        p, conversation("conversation_opened", "c1", T0, status=Q), conversation("status_changed", "c1", T0, status=WOC)
    )
    assert p.open["c1"].waiting_since is None
    run(
        p,
        conversation(
            "customer_message_appended",
            "c1",
            T0 + timedelta(hours=1),
            status=WOC,
            body=conversation_pb2.CustomerMessageAppended(auto_reply=True),
        ),
    )
    assert p.open["c1"].waiting_since is None
    run(p, conversation("customer_message_appended", "c1", T0 + timedelta(hours=2), status=A))
    assert p.open["c1"].waiting_since == T0 + timedelta(hours=2)


def test_sla_outcomes_count_attainment_without_double_counting_late_fulfilment():
    p = Projection()
    effects = run(
        p,
        sla("sla_warning_raised", "c1"),
        sla("sla_breached", "c1"),
        fulfilled("c1", 12000, breached=True),
        fulfilled("c2", 600),
    )
    outcomes = [e.labels[-1] for e in effects if isinstance(e, Inc)]
    assert outcomes == ["warning", "breached", "fulfilled_late", "fulfilled"]
    assert Observe("switchboard_sla_first_response_seconds", EMAIL, 600.0) in effects


def test_each_sla_metric_has_its_histogram():
    p = Projection()
    effects = run(
        p,
        fulfilled("c1", 100, metric=sla_pb2.SLA_METRIC_RESOLUTION),
        fulfilled("c1", 30, metric=sla_pb2.SLA_METRIC_AGENT_FIRST_RESPONSE),
        fulfilled("c1", 20, metric=sla_pb2.SLA_METRIC_NEXT_RESPONSE),
    )
    names = {e.metric for e in effects if isinstance(e, Observe)}
    assert names == {
        "switchboard_sla_resolution_seconds",
        "switchboard_sla_agent_first_response_seconds",
        "switchboard_sla_next_response_seconds",
    }


def test_sla_clock_tracks_deadline_pause_and_fulfilment():
    p = Projection()
    run(p, conversation("conversation_opened", "c1", T0), sla("sla_applied", "c1", deadline=T0 + timedelta(hours=2.5)))
    clock = p.open["c1"].clocks["first_response"]
    assert clock.deadline == T0 + timedelta(hours=2.5) and clock.target_seconds == 9000
    run(p, sla("sla_paused", "c1", deadline=T0 + timedelta(hours=2.5)))
    assert p.open["c1"].clocks["first_response"].paused
    run(p, sla("sla_resumed", "c1", deadline=T0 + timedelta(hours=3)))
    assert p.open["c1"].clocks["first_response"].deadline == T0 + timedelta(hours=3)
    run(p, fulfilled("c1", 60))
    assert p.open["c1"].clocks == {}


def test_sla_event_that_overtakes_the_open_event_is_attached_when_the_conversation_appears():
    p = Projection()
    run(p, sla("sla_applied", "c1", deadline=T0 + timedelta(hours=1)))
    assert "c1" not in p.open
    run(p, conversation("conversation_opened", "c1", T0))
    assert "first_response" in p.open["c1"].clocks
    assert p.orphan_clocks == {}


def test_late_sla_event_for_a_resolved_conversation_does_not_resurrect_it():
    p = Projection()
    run(p, conversation("conversation_opened", "c1", T0), conversation("conversation_resolved", "c1", T0, status=RES))
    run(p, sla("sla_warning_raised", "c1", deadline=T0 + timedelta(hours=1)))
    assert "c1" not in p.open and "c1" not in p.orphan_clocks


def test_a_redelivered_event_of_a_resolved_conversation_does_not_reopen_it_but_a_reopen_does():
    p = Projection()
    opened = conversation("conversation_opened", "c1", T0, status=Q)
    run(p, opened)
    run(p, conversation("conversation_resolved", "c1", T0 + timedelta(hours=1), status=RES))
    assert run(p, opened) == []  # at-least-once delivery: the same event again, after the resolution
    assert "c1" not in p.open
    run(p, conversation("conversation_reopened", "c1", T0 + timedelta(hours=2), status=Q))
    assert "c1" in p.open


def test_event_of_an_older_clock_instance_is_ignored():
    p = Projection()
    run(
        p,
        conversation("conversation_opened", "c1", T0),
        sla("sla_applied", "c1", instance=2, deadline=T0 + timedelta(hours=1)),
        sla("sla_breached", "c1", instance=1, deadline=T0),
    )
    clock = p.open["c1"].clocks["first_response"]
    assert clock.instance == 2 and not clock.breached


def test_a_failed_batch_changes_nothing_until_committed():
    p = Projection()
    run(p, conversation("conversation_opened", "c1", T0))
    result = p.apply_batch(decoded([conversation("conversation_resolved", "c1", T0, status=RES)]))
    assert "c1" in p.open  # not committed: a retry of the same batch starts from the same state
    again = p.apply_batch(decoded([conversation("conversation_resolved", "c1", T0, status=RES)]))
    assert again.effects == result.effects


def test_replaying_a_batch_converges_to_the_same_state():
    events = [
        conversation("conversation_opened", "c1", T0, status=Q),
        conversation("conversation_assigned", "c1", T0 + timedelta(minutes=1), status=A, assignee_id="a"),
        conversation("conversation_opened", "c2", T0, status=Q),
        conversation("conversation_resolved", "c2", T0, status=RES),
    ]
    p = Projection()
    run(p, *events)
    state = {k: v.copy() for k, v in p.open.items()}
    run(p, *events)
    assert p.open == state and set(p.open) == {"c1"}


def test_escalations_deliveries_csat_repeat_contacts():
    p = Projection()
    effects = run(
        p,
        escalation("c1", level=2),
        delivery("c1"),
        delivery("c1", outcome=notification_pb2.DELIVERY_OUTCOME_FAILED),
        delivery("c1", kind=notification_pb2.NOTIFICATION_KIND_ESCALATION),
        conversation("csat_recorded", "c1", T0, body=conversation_pb2.CsatRecorded(score=4)),
        conversation("csat_recorded", "c1", T0, body=conversation_pb2.CsatRecorded(score=42)),
        conversation("repeat_contact_detected", "c1", T0),
    )
    assert Inc("switchboard_escalations_total", (*EMAIL, "2", "sla_breached", "first_response")) in effects
    assert Inc("switchboard_customer_messages_sent_total", ("acme", "chat", "transcript")) in effects
    assert Inc("switchboard_delivery_outcomes_total", ("acme", "chat", "transcript", "failed")) in effects
    sent = [e for e in effects if e.metric == "switchboard_customer_messages_sent_total"]
    assert len(sent) == 1  # failed transcript and escalation message are not customer messages sent
    assert Inc("switchboard_csat_responses_total", (*EMAIL, "4")) in effects
    assert Inc("switchboard_csat_responses_total", (*EMAIL, "out_of_range")) in effects
    assert Inc("switchboard_repeat_contacts_total", EMAIL) in effects


def test_label_cardinality_is_bounded():
    p = Projection()
    p.labeller.queues.limit = 3
    effects = run(p, *[conversation("conversation_opened", f"c{i}", T0, queue=f"q{i}") for i in range(10)])
    queues = {e.labels[2] for e in effects}
    assert queues == {"q0", "q1", "q2", "other"}


def test_conversation_event_without_id_is_rejected():
    with pytest.raises(ValueError, match="conversation_id"):
        Projection().apply_batch(decoded([conversation("conversation_opened", "", T0)]))


def test_fulfilment_of_an_unknown_conversation_counts_but_stashes_nothing():
    p = Projection()
    effects = run(p, fulfilled("never-seen", 60))
    assert effects and p.orphan_clocks == {} and p.open == {}
