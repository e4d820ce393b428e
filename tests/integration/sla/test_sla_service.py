"""The SLA service end to end on the real broker and nx-27017, with demo policies and a ManualClock.

Demo email policy (config/demo/sla.yaml): first response 20 s (warnings at 75 % / 90 %), ladder
L1 at breach, L2 5 s after, L3 15 s after, ack timeout 10 s.
"""
from __future__ import annotations

from sla_kit import T0, conversation_event, seconds
from switchboard.common.testing import wait_for
from switchboard.events.v1 import common_pb2, escalation_pb2, sla_pb2

FR = sla_pb2.SLA_METRIC_FIRST_RESPONSE
NR = sla_pb2.SLA_METRIC_NEXT_RESPONSE


def first_response(events):
    return [e for e in events if e.payload.metric == FR]


async def test_email_warning_breach_and_escalation_ladder_at_the_right_times(sla_app, bus, clock):
    await bus.send(conversation_event("c-late", "conversation_opened", T0))
    applied = first_response(await bus.sla_events("c-late", "sla_applied", min_count=2))[0].payload
    assert applied.deadline.ToDatetime().replace(tzinfo=T0.tzinfo) == T0 + seconds(20)
    assert applied.policy_id == "email" and applied.target_seconds == 20 and not applied.business_hours

    await clock.set(T0 + seconds(15))
    warning = first_response(await bus.sla_events("c-late", "sla_warning_raised", min_count=1))[0]
    assert warning.payload.sla_warning_raised.fraction_elapsed == 0.75
    assert warning.payload.sla_warning_raised.seconds_left == 5
    await clock.set(T0 + seconds(18))
    await bus.sla_events("c-late", "sla_warning_raised", min_count=2)
    assert await bus.sla_events("c-late", "sla_breached") == []

    await clock.set(T0 + seconds(20))
    breach = first_response(await bus.sla_events("c-late", "sla_breached", min_count=1))[0].payload
    assert breach.sla_breached.detected_at.ToDatetime().replace(tzinfo=T0.tzinfo) == T0 + seconds(20)
    assert breach.sla_breached.late_by_ms == 0
    (l1,) = [e.payload for e in await bus.escalations(min_count=1)]
    assert (l1.level, l1.level_name, l1.reason, list(l1.recipients)) == (
        1, "assignee", escalation_pb2.ESCALATION_REASON_SLA_BREACHED, ["agent-7"])
    assert l1.escalation_id == "c-late:first_response:1:1"

    await clock.set(T0 + seconds(24))
    assert len(await bus.escalations()) == 1            # L2 is due 5 s after the breach, not before
    await clock.set(T0 + seconds(25))
    l2 = (await bus.escalations(min_count=2))[1].payload
    assert (l2.level, l2.level_name, list(l2.recipients)) == (2, "team_lead", ["team_lead:billing"])
    assert l2.raised_at.ToDatetime().replace(tzinfo=T0.tzinfo) == T0 + seconds(25)
    # L2 unacknowledged for the 10 s ack timeout -> L3 at 35 s (the ladder alone would say 35 s too)
    await clock.set(T0 + seconds(35))
    l3 = (await bus.escalations(min_count=3))[2].payload
    assert (l3.level, l3.level_name) == (3, "manager")
    ids = [e.id for e in await bus.escalations()]
    assert len(ids) == len(set(ids)) == 3


async def test_a_human_reply_before_the_deadline_fulfils_without_a_breach(sla_app, bus, clock):
    await bus.send(conversation_event("c-fast", "conversation_opened", T0))
    await bus.send(conversation_event("c-fast", "bot_replied", T0 + seconds(1), answer_key="faq.shipping"))
    await bus.send(conversation_event("c-fast", "agent_replied", T0 + seconds(12),
                                      status=common_pb2.CONVERSATION_STATUS_ASSIGNED, agent_id="agent-7"))
    fulfilled = first_response(await bus.sla_events("c-fast", "sla_fulfilled", min_count=1))[0].payload
    assert fulfilled.sla_fulfilled.elapsed_business_seconds == 12 and not fulfilled.sla_fulfilled.breached
    await clock.set(T0 + seconds(60))
    # the resolution clock (120 s) is still running; nothing about the first response fired
    await wait_for(lambda: sla_app.engine.heap.next_due() is not None, timeout=5)
    events = first_response(await bus.sla_events("c-fast"))
    assert sorted(e.case for e in events) == ["sla_applied", "sla_fulfilled"]
    assert await bus.escalations() == []


async def test_waiting_on_customer_pauses_and_resumes_with_the_remaining_budget(sla_app, bus, clock):
    assigned = common_pb2.CONVERSATION_STATUS_ASSIGNED
    await bus.send(conversation_event("c-wait", "conversation_opened", T0))
    await bus.send(conversation_event("c-wait", "agent_replied", T0 + seconds(2), status=assigned))
    await bus.send(conversation_event("c-wait", "customer_message_appended", T0 + seconds(4), status=assigned,
                                      message_id="m2"))
    applied = [e.payload for e in await bus.sla_events("c-wait", "sla_applied", min_count=3) if e.payload.metric == NR]
    assert applied[0].deadline.ToDatetime().replace(tzinfo=T0.tzinfo) == T0 + seconds(24)
    await clock.set(T0 + seconds(10))
    await bus.send(conversation_event("c-wait", "status_changed", T0 + seconds(10),
                                      status=common_pb2.CONVERSATION_STATUS_WAITING_ON_CUSTOMER))
    paused = [e.payload for e in await bus.sla_events("c-wait", "sla_paused", min_count=2) if e.payload.metric == NR]
    assert paused[0].sla_paused.remaining_seconds == 14
    assert paused[0].sla_paused.reason_status == common_pb2.CONVERSATION_STATUS_WAITING_ON_CUSTOMER

    await clock.set(T0 + seconds(100))                # far past the original deadline: paused, no breach
    await bus.send(conversation_event("c-wait", "status_changed", T0 + seconds(100), status=assigned))
    resumed = [e.payload for e in await bus.sla_events("c-wait", "sla_resumed", min_count=2) if e.payload.metric == NR]
    assert resumed[0].sla_resumed.remaining_seconds == 14
    assert resumed[0].deadline.ToDatetime().replace(tzinfo=T0.tzinfo) == T0 + seconds(114)
    assert await bus.sla_events("c-wait", "sla_breached") == []

    await clock.set(T0 + seconds(114))
    breach = [e.payload for e in await bus.sla_events("c-wait", "sla_breached", min_count=1)]
    assert breach[0].metric == NR
    assert breach[0].deadline.ToDatetime().replace(tzinfo=T0.tzinfo) == T0 + seconds(114)


async def test_a_delayed_order_requests_a_proactive_message(sla_app, bus, clock):
    from switchboard.events.v1 import notification_pb2, orders_pb2

    await bus.send(conversation_event("c-order", "conversation_opened", T0))
    order = orders_pb2.OrderEvent(brand_id="acme", order_id="o-9", order_number="#1009",
                                  kind=orders_pb2.ORDER_EVENT_KIND_DELAYED, reason="customs")
    await bus.send(conversation_event("c-order", "order_linked", T0 + seconds(3), order=order))
    notes = await wait_for(lambda: _proactive(bus), timeout=20)
    note = notes[0].payload
    assert note.kind == notification_pb2.NOTIFICATION_KIND_PROACTIVE_UPDATE
    assert note.template == "order_delayed" and dict(note.variables)["order_id"] == "#1009"
    assert note.recipient.value == "c@example.com" and note.intent_id == notes[0].id


async def _proactive(bus):
    return [e for e in await bus.read("notifications", 0, 2)] or None


async def test_a_record_without_event_time_goes_to_the_dlq_and_later_records_still_apply(sla_app, bus, clock):
    bad = conversation_event("c-bad", "conversation_opened", T0)
    bad.ClearField("occurred_at")
    await bus.send(bad)
    await bus.send(conversation_event("c-good", "conversation_opened", T0))
    await bus.sla_events("c-good", "sla_applied", min_count=1)
    dead = await bus.read("conversations.dlq" if False else "conversations", 0, 1)  # topic exists
    from switchboard.common.testing.helpers import read_raw
    dlq = await read_raw(bus.bootstrap, bus.topics.dlq("conversations"), min_count=1)
    assert b"occurred_at" in dict(dlq[0].headers)["dlq_error"]
    assert dead


async def test_a_timer_that_cannot_be_fired_is_set_aside_and_the_others_still_fire(sla_app, bus, clock, mongo_db):
    from prometheus_client import REGISTRY

    def failed() -> float:  # its first timer (a warning) fails; the ones after it are never armed
        return sum(REGISTRY.get_sample_value("switchboard_sla_timers_failed_total", {"kind": kind, "brand": brand})
                   or 0.0 for kind in ("warn", "breach") for brand in ("acme", "other"))

    failed_before = failed()
    await bus.send(conversation_event("c-ok", "conversation_opened", T0))
    await bus.send(conversation_event("c-broken", "conversation_opened", T0))
    await bus.sla_events("c-broken", "sla_applied", min_count=2)
    # Simulate a state written by a newer config: its calendar is unknown to this process.
    await mongo_db.sla_conversations.update_one({"_id": "c-broken"},
                                                {"$set": {"clocks.first_response.calendar_id": "gone"}})
    await clock.set(T0 + seconds(20))
    assert first_response(await bus.sla_events("c-ok", "sla_breached", min_count=1))
    await wait_for(lambda: failed() == failed_before + 1, timeout=10, message="the broken timer set aside")
    assert await bus.sla_events("c-broken", "sla_breached") == []
    assert sla_app.engine.heap.next_due() is not None  # the scheduler carries on (resolution timers)
    stored = await mongo_db.sla_conversations.find_one({"_id": "c-broken"})
    assert [f["id"] for f in stored["failed_timers"]] == ["c-broken|first_response|1|warn|1"]  # kept for whoever looks
    assert [t["metric"] for t in stored["timers"]] == ["resolution"]  # the failed one is no longer pending
