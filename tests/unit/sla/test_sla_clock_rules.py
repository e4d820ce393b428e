"""Which clocks start, pause, re-apply and stop, on which calendar; warnings, breaches and proactive
updates, including timers that come back stale, redelivered or reloaded a few ms off (docs/mutation.md:
the SLA tracker's survivors)."""
from datetime import timedelta

import pytest
from sla_conversation import T0, Conversation, H, M, S, escalations, sla
from switchboard.sla.domain.effects import FiredTimer, ProactiveOut, TimerArm
from switchboard.sla.domain.policy import load_policy_book
from switchboard.sla.domain.tracker import Tracker

MS = timedelta(milliseconds=1)
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")
LADDER = {"levels": [{"name": "assignee", "after_breach": "0m"}, {"name": "team_lead", "after_breach": "1h"}]}
CONFIG = {
    "version": 1,
    "calendars": [
        {"id": "berlin-office", "timezone": "Europe/Berlin", "weekly": {d: ["09:00-17:00"] for d in WEEKDAYS}},
        {"id": "tokyo-office", "timezone": "Asia/Tokyo", "weekly": {d: ["09:00-17:00"] for d in WEEKDAYS}},
    ],
    "calendar_rules": [
        {"brand": "acme", "region": "eu", "channel": "email", "queue": "billing", "calendar": "berlin-office"},
        {"queue": "vip", "calendar": "tokyo-office"},
    ],
    "defaults": {"warnings": {"fractions": [], "time_left": ["1h"]}, "escalation": LADDER,
                 "proactive_update_after": "1h3m"},
    "policies": [
        {"id": "acme-urgent-sms", "brands": ["acme"], "priorities": ["urgent"], "channels": ["sms"],
         "targets": {"first_response": {"within": "5m"}}},
        {"id": "email", "channels": ["email"], "targets": {
            "first_response": {"within": "3h", "hours": "business"},
            "resolution": {"within": "24h", "hours": "calendar"}}},
        {"id": "phone", "channels": ["phone"], "targets": {"phone_answer": {"within": "9m", "hours": "calendar"}}},
        {"id": "chat", "channels": ["chat"], "targets": {
            "phone_answer": {"within": "9m", "hours": "calendar"}, "first_response": {"within": "1h"}}},
        {"id": "tokyo", "channels": ["web_form"], "calendar": "tokyo-office", "targets": {
            "first_response": {"within": "1h", "hours": "business"}}},
    ],
    "default_policy": {"targets": {"first_response": {"within": "1h", "hours": "calendar"}}},
}
BERLIN_DEADLINE = T0 + 3 * H  # Monday 10:00 Berlin + 3 business hours


def opened(**facts) -> Conversation:
    c = Conversation(CONFIG, **facts)
    c.event("conversation_opened", T0)
    return c


def first_response_timers(c: Conversation) -> list[TimerArm]:
    return [a for a in c.last.arm if a.metric == "first_response"]


# --- which calendar and target -----------------------------------------------------------------
def test_business_hours_follow_the_calendar_that_every_fact_of_the_rule_selects():
    c = Conversation(CONFIG)
    applied = sla(c.event("conversation_opened", T0), "applied", "first_response")[0]
    assert (applied.calendar_id, applied.business_hours, applied.deadline) == ("berlin-office", True, BERLIN_DEADLINE)
    assert sla(c.last.emits, "applied", "resolution")[0].calendar_id == "24x7"  # calendar hours
    # the priority changes the target; the calendar stays the one the facts select
    moved = sla(c.event("conversation_queued", T0 + 10 * M, priority="urgent"), "reapplied", "first_response")[0]
    assert (moved.calendar_id, moved.target_seconds) == ("berlin-office", 45 * 60)
    # another queue: same policy and target, another calendar (Tokyo is closed at 19:00 local)
    moved = sla(c.event("conversation_queued", T0 + 11 * M, queue="vip"), "reapplied", "first_response")[0]
    # 34 minutes left, from Tuesday 09:00 in Tokyo (00:00 UTC)
    assert (moved.calendar_id, moved.target_seconds, moved.deadline) == ("tokyo-office", 45 * 60, T0 + 15 * H + 34 * M)
    assert sla(c.event("conversation_assigned", T0 + 2 * H, assignee="agent-7"), "reapplied") == []
    assert opened(brand="other").state.clocks["first_response"].calendar_id == "24x7"
    assert opened(region="us").state.clocks["first_response"].calendar_id == "24x7"
    assert opened(queue="general").state.clocks["first_response"].calendar_id == "24x7"
    assert opened(channel="web_form").state.clocks["first_response"].calendar_id == "tokyo-office"  # the policy's


def test_a_policy_is_selected_by_brand_and_priority_too():
    assert opened(channel="sms", priority="urgent").state.clocks["first_response"].policy_id == "acme-urgent-sms"
    assert opened(channel="sms", priority="urgent", brand="other").state.clocks["first_response"].policy_id == "default"
    assert opened(channel="sms", priority="high").state.clocks["first_response"].policy_id == "default"


def test_a_new_target_moves_a_running_clocks_timers_and_waits_for_a_paused_clock_to_resume():
    c = opened()
    c.event("conversation_queued", T0 + 10 * M, priority="urgent")  # 45 minutes, 10 already gone
    assert [t for t in c.last.cancel if "first_response" in t] == [
        "c1|first_response|1|warn|1", "c1|first_response|1|breach|0", "c1|first_response|1|escalate|1"]
    assert first_response_timers(c) == [TimerArm("c1|first_response|1|breach|0", "c1", "breach", "first_response",
                                                 1, 0, T0 + 45 * M)]
    paused = Conversation(CONFIG, status="waiting_on_customer")
    paused.event("conversation_opened", T0)
    moved = sla(paused.event("conversation_queued", T0 + 10 * M, priority="urgent"), "reapplied", "first_response")
    assert moved[0].deadline is None and paused.last.cancel == [] and first_response_timers(paused) == []
    paused.event("conversation_assigned", T0 + 20 * M, status="assigned")
    assert paused.state.clocks["first_response"].deadline == T0 + 65 * M  # nothing elapsed while paused


def test_a_move_to_a_policy_without_the_target_cancels_the_clock_in_the_moves_name():
    c = opened()
    (cancelled,) = sla(c.event("conversation_queued", T0 + M, channel="phone"), "cancelled", "first_response")
    assert cancelled.id_parts == ("e2", "cancelled", "first_response", 1)


def test_a_priority_without_a_multiplier_keeps_the_target_as_written():
    assert opened(priority="").state.clocks["first_response"].target == 3 * H
    assert opened(priority="high").state.clocks["first_response"].target == 1.5 * H


def test_a_clock_started_while_waiting_on_the_customer_starts_paused_and_arms_nothing():
    c = Conversation(CONFIG)
    out = c.event("conversation_opened", T0, status="waiting_on_customer")
    paused = sla(out, "paused", "first_response")[0]
    assert [e.event for e in sla(out, metric="first_response")] == ["applied", "paused"]
    assert paused.deadline is None and paused.id_parts == ("e1", "paused", "first_response", 1)
    assert paused.detail == {"paused_at": T0, "remaining_seconds": 3 * 3600, "reason_status": "waiting_on_customer"}
    assert first_response_timers(c) == []
    assert sla(c.event("conversation_assigned", T0 + M, assignee="a"), "resumed") == []  # still waiting
    resumed = sla(c.event("conversation_assigned", T0 + 2 * M, status="assigned"), "resumed", "first_response")[0]
    assert resumed.detail == {"resumed_at": T0 + 2 * M, "remaining_seconds": 3 * 3600}


def test_a_clock_whose_policy_left_the_configuration_follows_the_policy_selected_now():
    c = opened(channel="web_form")  # the "tokyo" policy
    without = {**CONFIG, "policies": [p for p in CONFIG["policies"] if p["id"] != "tokyo"],
               "defaults": {**CONFIG["defaults"], "escalation": {"levels": [{"name": "duty-manager"}]}}}
    c.tracker = Tracker(load_policy_book(without))
    c.event("conversation_assigned", T0 + M, assignee="a")
    (page,) = escalations(c.run_until(T0 + 48 * H))
    assert page.level_name == "duty-manager"


def test_a_clock_keeps_the_ladder_of_its_own_policy_while_that_policy_exists():
    c = opened(channel="web_form")
    first = {"id": "first", "channels": ["web_form"], "escalation": {"levels": [{"name": "other-team"}]},
             "targets": {"first_response": {"within": "1h", "hours": "business"}}}
    c.tracker = Tracker(load_policy_book({**CONFIG, "policies": [first, *CONFIG["policies"]]}))
    (page,) = escalations(c.run_until(T0 + 48 * H))[:1]
    assert page.level_name == "assignee"


# --- which clocks run ------------------------------------------------------------------------
def test_only_a_phone_conversation_rings_and_a_second_message_does_not_restart_the_ring():
    c = opened(channel="phone")
    assert c.state.clocks["phone_answer"].instance == 1
    assert sla(c.event("customer_message_appended", T0 + M), "applied", "phone_answer") == []
    assert "phone_answer" not in opened(channel="chat").state.clocks  # a chat policy may name phone_answer
    answered = sla(c.event("call_answered", T0 + 2 * M), "fulfilled", "phone_answer")[0]
    assert answered.id_parts == ("e3", "fulfilled", "phone_answer", 1)


def test_resolving_a_ringing_call_cancels_its_clock():
    c = opened(channel="phone")
    cancelled = sla(c.event("conversation_resolved", T0 + M, status="resolved"), "cancelled", "phone_answer")[0]
    assert cancelled.detail == {"reason": "resolved"}
    assert cancelled.id_parts == ("e2", "cancelled", "phone_answer", 1)


def test_a_second_message_before_any_reply_keeps_the_first_response_clock():
    c = opened()
    assert sla(c.event("customer_message_appended", T0 + M), "applied") == []
    assert sla(c.event("customer_message_appended", T0 + 2 * H), "applied") == []
    assert c.state.clocks["first_response"].instance == 1


def test_a_conversation_first_seen_already_resolved_starts_no_clock():
    c = Conversation(CONFIG, status="resolved")
    assert c.event("customer_message_appended", T0) == [] and c.state.clocks == {}


def test_one_agent_first_response_clock_per_wait_and_none_after_a_human_replied():
    c = opened(status="bot")
    assert sla(c.event("conversation_handed_off", T0 + M, status="queued"), "applied", "agent_first_response")
    assert sla(c.event("conversation_handed_off", T0 + 2 * M), "applied") == []
    assert c.state.clocks["agent_first_response"].instance == 1
    c.event("agent_replied", T0 + 3 * M)
    assert sla(c.event("conversation_handed_off", T0 + 4 * M), "applied") == []


def test_reopening_leaves_a_running_resolution_clock_alone_and_copes_without_one():
    c = opened()
    deadline = c.state.clocks["resolution"].deadline
    assert sla(c.event("conversation_reopened", T0 + H), metric="resolution") == []
    assert c.state.clocks["resolution"].deadline == deadline
    chat = opened(channel="chat")  # its policy has no resolution target
    chat.event("conversation_resolved", T0 + M, status="resolved")
    assert sla(chat.event("conversation_reopened", T0 + 2 * M, status="queued"), metric="resolution") == []


def test_an_opened_event_reapplies_nothing_and_a_change_of_two_selectors_names_both():
    c = opened()
    assert sla(c.event("conversation_opened", T0 + M, queue="vip"), "reapplied") == []
    moved = sla(c.event("conversation_queued", T0 + 2 * M, queue="billing", priority="high"), "reapplied")
    assert {e.detail["reason"] for e in moved} == {"priority and queue changed"}


def test_a_delayed_order_tells_the_customer_the_new_eta_unless_the_conversation_is_resolved():
    c = opened()
    eta = T0 + 8 * 24 * H
    (update,) = c.event("order_linked", T0 + M, order_kind="delayed", order_id="o-1", order_number="1001",
                        reason="carrier", order_eta=eta)
    variables = {"order_id": "1001", "order_ref": "o-1", "reason": "carrier", "new_eta": "2026-12-01"}
    assert update == ProactiveOut("order_delayed", variables, T0 + M, ("e2", "proactive", "order_delayed"))
    c.event("conversation_resolved", T0 + 2 * M, status="resolved")
    assert c.event("order_linked", T0 + 3 * M, order_kind="delayed", order_id="o-1") == []


# --- warnings and breaches ---------------------------------------------------------------------
def test_a_warning_says_how_much_has_elapsed_and_what_is_left_then_the_breach_is_armed():
    c = opened()
    (warning,) = sla(c.run_until(BERLIN_DEADLINE - H), "warning")
    assert warning.detail == {"fraction_elapsed": 0.6667, "seconds_left": 3540, "detected_at": BERLIN_DEADLINE - 59 * M}
    assert first_response_timers(c) == [TimerArm("c1|first_response|1|breach|0", "c1", "breach", "first_response", 1,
                                                 0, BERLIN_DEADLINE)]


def test_a_warning_noticed_after_the_deadline_has_no_time_left_not_a_negative_one():
    c = opened()
    (warning,) = sla(c.fire(c.timers.pop("c1|first_response|1|warn|1"), BERLIN_DEADLINE + 5 * M), "warning")
    assert warning.detail["seconds_left"] == 0


@pytest.mark.parametrize("kind, tid", [("warn", "c1|first_response|1|warn|1"),
                                       ("breach", "c1|first_response|1|breach|0")])
def test_a_timer_reloaded_up_to_10_ms_off_still_fires_but_one_further_off_is_stale(kind, tid):
    c = opened()
    if kind == "breach":
        c.run_until(BERLIN_DEADLINE - H)
    timer = c.timers[tid]
    for off in (S, -11 * MS):
        assert c.fire(FiredTimer(tid, kind, "first_response", 1, timer.level, timer.due + off), timer.due) == []
    assert sla(c.fire(FiredTimer(tid, kind, "first_response", 1, timer.level, timer.due + 10 * MS), timer.due))
    assert c.fire(timer, timer.due + S) == []  # and redelivered once raised: nothing twice


def test_a_reply_cancels_exactly_the_timers_the_clock_may_have_armed():
    c = opened()
    c.event("agent_replied", T0 + M)
    assert c.last.cancel == ["c1|first_response|1|warn|1", "c1|first_response|1|breach|0",
                             "c1|first_response|1|escalate|1"]
    assert c.timers_of("first_response") == []


# --- proactive updates -----------------------------------------------------------------------
def waiting() -> Conversation:
    c = opened()
    c.event("agent_replied", T0 + M, status="waiting_on_third_party")
    return c


def proactive_timers(c: Conversation) -> list[TimerArm]:
    return [a for a in c.last.arm if a.kind == "proactive"]


def test_waiting_on_a_third_party_arms_one_update_that_later_events_do_not_push_back():
    c = waiting()
    due = T0 + M + 63 * M
    assert proactive_timers(c) == [TimerArm("c1|proactive|1|proactive|0", "c1", "proactive", "proactive", 1, 0, due)]
    c.event("conversation_assigned", T0 + 10 * M, assignee="agent-7")
    assert proactive_timers(c) == [] and c.state.proactive_due == due
    (update,) = [e for e in c.run_until(due) if isinstance(e, ProactiveOut)]
    assert (update.variables, update.requested_at) == ({"waiting_hours": "1.1"}, due + M)


def test_a_stale_or_cancelled_update_timer_sends_nothing():
    c = waiting()
    c.run_until(T0 + 64 * M)
    due = c.state.proactive_due
    assert c.fire(FiredTimer("c1|proactive|1|proactive|0", "proactive", "proactive", 1, 0, due), due) == []
    assert c.fire(FiredTimer("c1|proactive|2|proactive|0", "proactive", "proactive", 2, 0, due + S), due) == []
    (update,) = c.fire(FiredTimer("c1|proactive|2|proactive|0", "proactive", "proactive", 2, 0, due + 10 * MS), due)
    assert isinstance(update, ProactiveOut)
    c.event("conversation_assigned", T0 + 3 * H, status="assigned")
    assert c.last.cancel == ["c1|proactive|3|proactive|0"] and c.state.proactive_due is None
    c.event("agent_replied", T0 + 3 * H + M)
    assert proactive_timers(c) == []
    cancelled = FiredTimer("c1|proactive|3|proactive|0", "proactive", "proactive", 3, 0, T0 + 4 * H)
    assert c.fire(cancelled, T0 + 4 * H) == []
