"""The per-conversation SLA state machine: every definition in docs/sla.md, without I/O."""
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from switchboard.sla.adapters import mapping
from switchboard.sla.adapters.ports import SlaRecord
from switchboard.sla.domain.effects import EscalationOut, FiredTimer, ProactiveOut, SlaOut, timer_id
from switchboard.sla.domain.policy import load_policy_book
from switchboard.sla.domain.state import Change, ConversationSla, Facts
from switchboard.sla.domain.tracker import Tracker

ROOT = Path(__file__).resolve().parents[3]
T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # a Monday, 10:00 in Berlin
S = timedelta(seconds=1)
M = timedelta(minutes=1)
H = timedelta(hours=1)

CONFIG = {
    "version": 1,
    "defaults": {
        "warnings": {"fractions": [0.75, 0.9]},
        "proactive_update_after": "4h",
        "escalation": {"ack_timeout": "30m", "levels": [
            {"name": "assignee", "after_breach": "0m", "recipients": ["{assignee}"], "destinations": ["slack:a"]},
            {"name": "team_lead", "after_breach": "1h", "recipients": ["lead:{queue}"], "destinations": ["slack:l"]},
            {"name": "manager", "after_breach": "4h", "recipients": ["manager"], "destinations": ["smtp:m"]},
        ]},
    },
    "policies": [
        {"id": "email", "channels": ["email"], "targets": {
            "first_response": {"within": "2h30m", "hours": "calendar"},
            "next_response": {"within": "2h", "hours": "calendar"},
            "resolution": {"within": "24h", "hours": "calendar"}}},
        {"id": "restart-email", "channels": ["web_form"], "reopen": "restart", "targets": {
            "first_response": {"within": "2h30m", "hours": "calendar"},
            "resolution": {"within": "24h", "hours": "calendar"}}},
        {"id": "phone", "channels": ["phone"], "targets": {"phone_answer": {"within": "9m", "hours": "calendar"}}},
    ],
    "default_policy": {"targets": {"first_response": {"within": "1h", "hours": "calendar"}}},
}


@pytest.fixture
def tracker() -> Tracker:
    return Tracker(load_policy_book(CONFIG))


class Convo:
    """Drives one conversation through the tracker and keeps its armed timers like the scheduler does."""

    def __init__(self, tracker: Tracker, channel: str = "email", priority: str = "normal") -> None:
        self.tracker = tracker
        self.state = ConversationSla("c1")
        self.facts = {"brand": "acme", "channel": channel, "priority": priority, "queue": "billing", "region": "eu",
                          "status": "queued", "assignee": ""}
        self.timers: dict[str, FiredTimer] = {}
        self.emitted: list = []
        self.n = 0

    def _record(self, decisions):
        for tid in decisions.cancel:
            self.timers.pop(tid, None)
        for arm in decisions.arm:
            self.timers[arm.id] = FiredTimer(arm.id, arm.kind, arm.metric, arm.instance, arm.level, arm.due, arm.reason)
        self.emitted.extend(decisions.emits)
        return decisions.emits

    def event(self, kind: str, at: datetime, **kw):
        self.n += 1
        facts = {**self.facts, **{k: kw.pop(k) for k in list(kw) if k in self.facts}}
        self.facts = facts
        return self._record(self.tracker.apply(self.state, Change(f"e{self.n}", kind, at, Facts(**facts), **kw)))

    def run_until(self, until: datetime):
        """Fire every armed timer due up to `until`, in due order (as the scheduler would)."""
        out = []
        while True:
            due = sorted((t for t in self.timers.values() if t.due <= until), key=lambda t: t.due)
            if not due:
                return out
            timer = self.timers.pop(due[0].id)
            fired_at = timer.due + timedelta(milliseconds=200)
            out.extend(self._record(self.tracker.fire(self.state, timer, fired_at)))


def sla(emits, event=None, metric=None):
    return [e for e in emits if isinstance(e, SlaOut) and (event is None or e.event == event)
            and (metric is None or e.metric == metric)]


def escalations(emits):
    return [e for e in emits if isinstance(e, EscalationOut)]


def test_first_response_applies_with_a_deadline_from_the_customer_message_time(tracker):
    c = Convo(tracker)
    out = c.event("conversation_opened", T0)
    applied = {e.metric: e for e in sla(out, "applied")}
    assert set(applied) == {"first_response", "resolution"}
    assert applied["first_response"].deadline == T0 + 2.5 * H
    assert applied["first_response"].policy_id == "email"
    assert applied["first_response"].detail["started_at"] == T0
    # One timer per clock at a time: the next warning; each fired timer arms the one after it.
    def armed():
        return sorted((t.kind, t.due) for t in c.timers.values() if t.metric == "first_response")

    assert armed() == [("warn", T0 + 0.75 * 2.5 * H)]
    c.run_until(T0 + 0.75 * 2.5 * H)
    assert armed() == [("warn", T0 + 0.9 * 2.5 * H)]
    c.run_until(T0 + 0.9 * 2.5 * H)
    assert armed() == [("breach", T0 + 2.5 * H)]


def test_email_warning_breach_then_l1_l2_l3_at_the_right_times(tracker):
    c = Convo(tracker)
    c.event("conversation_opened", T0)
    c.event("conversation_assigned", T0 + M, status="assigned", assignee="agent-7")
    deadline = T0 + 2.5 * H
    out = c.run_until(deadline - S)
    warnings = sla(out, "warning", "first_response")
    assert [w.detail["fraction_elapsed"] for w in warnings] == [0.75, 0.9]
    assert warnings[1].detail["seconds_left"] == 899  # fired 0.2 s after due; 900 s left at due time
    out = c.run_until(deadline + 5 * M)
    breach = sla(out, "breached", "first_response")[0]
    assert breach.deadline == deadline
    assert breach.detail["detected_at"] > deadline and breach.detail["late_by_ms"] == 200
    l1 = escalations(out)[0]
    assert (l1.level, l1.level_name, l1.reason, l1.recipients) == (1, "assignee", "sla_breached", ("agent-7",))
    assert l1.escalation_id == "c1:first_response:1:1"
    # nobody acknowledges: L2 after the 30 min ack timeout (earlier than the 1 h ladder delay)
    out = c.run_until(deadline + 31 * M)
    l2 = escalations(out)[0]
    assert (l2.level, l2.reason, l2.recipients) == (2, "not_acknowledged", ("lead:billing",))
    assert l2.raised_at == deadline + 30 * M + 400 * timedelta(microseconds=1000)
    out = c.run_until(deadline + 2 * H)
    l3 = escalations(out)[0]
    assert (l3.level, l3.level_name) == (3, "manager")
    later = escalations(c.run_until(deadline + 48 * H))
    assert [e.metric for e in later] == ["resolution"] * 3      # first response's ladder ended at L3


def test_human_reply_before_the_deadline_fulfils_and_never_breaches(tracker):
    c = Convo(tracker)
    c.event("conversation_opened", T0)
    out = c.event("agent_replied", T0 + 40 * M, status="assigned")
    done = sla(out, "fulfilled", "first_response")[0]
    assert done.detail["elapsed_business_seconds"] == 2400 and done.detail["breached"] is False
    assert not [t for t in c.timers.values() if t.metric == "first_response"]
    later = c.run_until(T0 + 10 * H)
    assert not sla(later, metric="first_response")


def test_a_stale_breach_timer_fires_as_a_no_op(tracker):
    c = Convo(tracker)
    c.event("conversation_opened", T0)
    clock = c.state.clocks["first_response"]
    breach = FiredTimer(timer_id("c1", "first_response", clock.instance, "breach"), "breach", "first_response",
                        clock.instance, 0, clock.deadline)
    c.event("agent_replied", T0 + M)
    assert tracker.fire(c.state, breach, breach.due).emits == []


def test_bot_replies_never_stop_the_clock_and_handoff_starts_agent_first_response(tracker):
    c = Convo(tracker)
    c.event("conversation_opened", T0, status="bot")
    assert c.event("bot_replied", T0 + S) == []
    out = c.event("conversation_handed_off", T0 + 5 * M, status="queued")
    agent = sla(out, "applied", "agent_first_response")[0]
    assert agent.detail["started_at"] == T0 + 5 * M and agent.deadline == T0 + 5 * M + 2.5 * H
    out = c.event("agent_replied", T0 + 15 * M)
    assert {e.metric: e.detail["elapsed_business_seconds"] for e in sla(out, "fulfilled")} == \
        {"first_response": 900, "agent_first_response": 600}


def test_auto_replies_never_start_or_move_a_clock(tracker):
    c = Convo(tracker)
    c.event("conversation_opened", T0)
    c.event("agent_replied", T0 + M)
    assert c.event("customer_message_appended", T0 + 2 * M, auto_reply=True) == []
    assert "next_response" not in c.state.clocks


def test_next_response_runs_from_the_oldest_unanswered_message(tracker):
    c = Convo(tracker)
    c.event("conversation_opened", T0)
    c.event("agent_replied", T0 + 10 * M)
    out = c.event("customer_message_appended", T0 + 1 * H)
    nxt = sla(out, "applied", "next_response")[0]
    assert nxt.deadline == T0 + 3 * H and nxt.instance == 1
    # more messages while waiting do not restart it
    assert sla(c.event("customer_message_appended", T0 + 2 * H), "applied") == []
    out = c.event("agent_replied", T0 + 2 * H + 30 * M)
    assert sla(out, "fulfilled", "next_response")[0].detail["elapsed_business_seconds"] == 5400
    out = c.event("customer_message_appended", T0 + 5 * H)
    assert sla(out, "applied", "next_response")[0].instance == 2


def test_waiting_on_customer_pauses_and_resumes_with_the_remaining_budget(tracker):
    c = Convo(tracker)
    c.event("conversation_opened", T0)
    c.event("agent_replied", T0 + 10 * M)
    c.event("customer_message_appended", T0 + 1 * H)        # next response: 2 h budget
    out = c.event("status_changed", T0 + 1 * H + 30 * M, status="waiting_on_customer")
    paused = {e.metric: e for e in sla(out, "paused")}
    assert paused["next_response"].detail["remaining_seconds"] == 5400
    assert paused["next_response"].detail["reason_status"] == "waiting_on_customer"
    assert not [t for t in c.timers.values() if t.metric == "next_response"]
    assert c.run_until(T0 + 20 * H) == []                    # nothing fires while paused
    out = c.event("status_changed", T0 + 21 * H, status="assigned")
    resumed = {e.metric: e for e in sla(out, "resumed")}
    assert resumed["next_response"].detail["remaining_seconds"] == 5400
    assert resumed["next_response"].deadline == T0 + 21 * H + 90 * M
    assert not sla(c.run_until(T0 + 21 * H + 90 * M - S), "breached", "next_response")
    assert sla(c.run_until(T0 + 21 * H + 90 * M), "breached", "next_response")[0].deadline == T0 + 21 * H + 90 * M


def test_priority_change_reapplies_with_the_same_elapsed_time(tracker):
    c = Convo(tracker)
    c.event("conversation_opened", T0)
    out = c.event("priority_changed", T0 + 30 * M, priority="urgent", reason="order delayed")
    re = sla(out, "reapplied", "first_response")[0]
    # urgent = 0.25 x 2.5 h = 37.5 min; 30 min elapsed -> 7.5 min left
    assert re.deadline == T0 + 37 * M + 30 * S
    assert re.detail["reason"] == "order delayed" and re.detail["previous_deadline"] == T0 + 2.5 * H
    assert re.target_seconds == 2250
    assert not sla(c.run_until(re.deadline - S), "breached", "first_response")
    assert sla(c.run_until(re.deadline), "breached", "first_response")[0].deadline == re.deadline


def test_priority_raised_past_the_budget_breaches_at_once(tracker):
    c = Convo(tracker)
    c.event("conversation_opened", T0)
    c.event("priority_changed", T0 + 2 * H, priority="urgent")
    out = c.run_until(T0 + 2 * H + S)
    assert sla(out, "breached", "first_response")[0].deadline == T0 + 37 * M + 30 * S


def test_acknowledgement_stops_the_escalation_ladder(tracker):
    c = Convo(tracker)
    c.event("conversation_opened", T0)
    deadline = T0 + 2.5 * H
    assert len(escalations(c.run_until(deadline + M))) == 1
    c.event("escalation_acknowledged", deadline + 2 * M, escalation_id="c1:first_response:1:1")
    assert escalations(c.run_until(deadline + 10 * H)) == []


def test_repeat_contacts_escalate_once_whoever_detects_them(tracker):
    c = Convo(tracker)
    c.event("conversation_opened", T0)
    for i in range(1, 3):
        c.event("agent_replied", T0 + i * H)
        out = c.event("customer_message_appended", T0 + i * H + M)
    esc = escalations(out)
    assert len(esc) == 1 and esc[0].reason == "repeat_contact" and esc[0].level == 2
    assert esc[0].escalation_id == "c1:repeat_contact:1:2"
    assert escalations(c.event("repeat_contact_detected", T0 + 5 * H)) == []
    c.event("agent_replied", T0 + 6 * H)
    assert escalations(c.event("customer_message_appended", T0 + 7 * H)) == []


def test_router_detected_repeat_contact_escalates_when_we_did_not(tracker):
    c = Convo(tracker)
    c.event("conversation_opened", T0)
    assert len(escalations(c.event("repeat_contact_detected", T0 + M))) == 1


def test_reassigned_too_often_escalates_once(tracker):
    c = Convo(tracker)
    c.event("conversation_opened", T0)
    assert escalations(c.event("conversation_assigned", T0 + M, reassignment_count=2)) == []
    esc = escalations(c.event("conversation_assigned", T0 + 2 * M, reassignment_count=3))
    assert esc[0].reason == "reassigned_too_often"
    assert escalations(c.event("conversation_assigned", T0 + 3 * M, reassignment_count=4)) == []


def test_waiting_on_third_party_requests_proactive_updates_until_it_ends(tracker):
    c = Convo(tracker)
    c.event("conversation_opened", T0)
    c.event("agent_replied", T0 + M, status="waiting_on_third_party")
    out = c.run_until(T0 + M + 4 * H)
    assert [e.template for e in out if isinstance(e, ProactiveOut)] == ["still_working"]
    # an agent update resets the schedule
    c.event("agent_replied", T0 + 6 * H, status="waiting_on_third_party")
    assert [e for e in c.run_until(T0 + 9 * H) if isinstance(e, ProactiveOut)] == []
    assert len([e for e in c.run_until(T0 + 10 * H) if isinstance(e, ProactiveOut)]) == 1
    c.event("status_changed", T0 + 11 * H, status="assigned")
    assert [e for e in c.run_until(T0 + 40 * H) if isinstance(e, ProactiveOut)] == []


def test_delayed_order_requests_a_proactive_message(tracker):
    c = Convo(tracker)
    c.event("conversation_opened", T0)
    out = c.event("order_linked", T0 + M, order_kind="delayed", order_id="o-1", order_number="#1001",
                  reason="customs")
    msg = next(e for e in out if isinstance(e, ProactiveOut))
    assert msg.template == "order_delayed" and msg.variables == {"order_id": "#1001", "order_ref": "o-1",
                                                                 "reason": "customs"}
    assert [e for e in c.event("order_linked", T0 + 2 * M, order_kind="shipped") if isinstance(e, ProactiveOut)] == []


def test_phone_speed_of_answer(tracker):
    c = Convo(tracker, channel="phone")
    out = c.event("conversation_opened", T0)
    assert sla(out, "applied", "phone_answer")[0].deadline == T0 + 9 * M
    out = c.event("call_answered", T0 + 3 * M, answered_at=T0 + 2 * M)
    assert sla(out, "fulfilled", "phone_answer")[0].detail["elapsed_business_seconds"] == 120
    out = c.event("customer_message_appended", T0 + H)   # a second call rings
    assert sla(out, "applied", "phone_answer")[0].instance == 2


def test_reopen_resumes_resolution_and_starts_a_new_first_response(tracker):
    c = Convo(tracker)
    c.event("conversation_opened", T0)
    c.event("agent_replied", T0 + M)
    out = c.event("conversation_resolved", T0 + 4 * H, status="resolved")
    assert sla(out, "fulfilled", "resolution")[0].detail["elapsed_business_seconds"] == 4 * 3600
    out = c.event("conversation_reopened", T0 + 10 * H, status="queued")
    resumed = sla(out, "resumed", "resolution")[0]
    assert resumed.detail["remaining_seconds"] == 20 * 3600 and resumed.instance == 1
    first = sla(out, "applied", "first_response")[0]
    assert first.instance == 2 and first.deadline == T0 + 12.5 * H


def test_reopen_restarts_resolution_when_the_policy_says_so(tracker):
    c = Convo(tracker, channel="web_form")
    c.event("conversation_opened", T0)
    c.event("conversation_resolved", T0 + 4 * H, status="resolved")
    out = c.event("conversation_reopened", T0 + 10 * H, status="queued")
    applied = sla(out, "applied", "resolution")[0]
    assert applied.instance == 2 and applied.deadline == T0 + 34 * H


def test_resolution_cancels_pending_response_clocks(tracker):
    c = Convo(tracker)
    c.event("conversation_opened", T0)
    out = c.event("conversation_resolved", T0 + M, status="resolved")
    assert [(e.metric, e.detail["reason"]) for e in sla(out, "cancelled")] == [("first_response", "resolved")]
    assert c.timers == {}


def test_business_hours_clock_does_not_run_at_night():
    book = load_policy_book(yaml.safe_load((ROOT / "config/default/sla.yaml").read_text()))
    c = Convo(Tracker(book))
    friday_evening = datetime(2026, 11, 27, 16, 30, tzinfo=UTC)   # Fri 17:30 Berlin, closes 17:00
    out = c.event("conversation_opened", friday_evening)
    first = sla(out, "applied", "first_response")[0]
    assert first.business_hours and first.calendar_id == "eu-office"
    assert first.deadline == datetime(2026, 11, 30, 9, 30, tzinfo=UTC)  # Mon 08:00 + 2.5 h Berlin


def test_state_survives_a_round_trip_through_its_document(tracker):
    c = Convo(tracker)
    c.event("conversation_opened", T0)
    c.event("status_changed", T0 + M, status="waiting_on_customer")
    document = mapping.to_doc(SlaRecord(c.state))
    restored = mapping.from_doc(document).state
    assert mapping.to_doc(SlaRecord(restored)) == document
    out = tracker.apply(restored, Change("x", "status_changed", T0 + H, Facts(**{**c.facts, "status": "assigned"})))
    assert sla(out.emits, "resumed", "first_response")[0].deadline == T0 + H + 2.5 * H - M


def test_reopen_as_the_router_emits_it_message_first_then_reopen(tracker):
    c = Convo(tracker)
    c.event("conversation_opened", T0)
    c.event("agent_replied", T0 + M, status="assigned")
    c.event("conversation_resolved", T0 + H, status="resolved")
    out = c.event("customer_message_appended", T0 + 2 * H, status="resolved")
    assert sla(out) == []                                  # waits for the reopen
    out = c.event("conversation_reopened", T0 + 2 * H + 10 * S, status="queued")
    first = sla(out, "applied", "first_response")[0]
    assert first.instance == 2 and first.detail["started_at"] == T0 + 2 * H   # from the customer's message
    assert "next_response" not in c.state.clocks


def test_a_handoff_wait_already_escalated_as_first_response_pages_people_once_per_level(tracker):
    c = Convo(tracker)
    c.event("conversation_opened", T0, status="bot")
    c.event("conversation_handed_off", T0, status="queued")  # "I want a human" in the first message
    out = c.run_until(T0 + 2.5 * H + 6 * H)
    assert {e.metric for e in sla(out, "breached")} == {"first_response", "agent_first_response"}
    raised = escalations(out)
    assert [(e.metric, e.level) for e in raised] == [("first_response", 1), ("first_response", 2),
                                                     ("first_response", 3)]



def test_agent_first_response_with_a_shorter_target_escalates_while_first_response_still_runs():
    config = {**CONFIG, "policies": [{"id": "email", "channels": ["email"], "targets": {
        "first_response": {"within": "2h30m", "hours": "calendar"},
        "agent_first_response": {"within": "10m", "hours": "calendar"}}}]}
    c = Convo(Tracker(load_policy_book(config)))
    c.event("conversation_opened", T0, status="bot")
    c.event("conversation_handed_off", T0 + M, status="queued")
    out = c.run_until(T0 + 11 * M + S)
    assert [(e.metric, e.level) for e in escalations(out)] == [("agent_first_response", 1)]
