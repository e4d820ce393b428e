"""SLA calendar and tracker behaviour pinned where `make mutation` found it loose (docs/mutation.md):
opening-hour edges, calendar selection by brand/queue, always-open calendars from the configuration,
and what a re-applied or dropped target tells downstream."""
from datetime import UTC, datetime, timedelta

import pytest
from switchboard.sla.domain.calendar import (
    Calendar,
    CalendarBook,
    CalendarError,
    add_business_time,
    is_open,
    parse_interval,
)
from switchboard.sla.domain.effects import FiredTimer, ProactiveOut, SlaOut, TimerArm
from switchboard.sla.domain.policy import load_policy_book
from switchboard.sla.domain.state import Change, ConversationSla, Facts
from switchboard.sla.domain.tracker import Tracker

H = timedelta(hours=1)


@pytest.mark.parametrize("text, minutes", [
    ("00:00-24:00", (0, 1440)),      # the whole day; 24:00 is the midnight that ends it
    ("23:00-24:00", (1380, 1440)),
    ("08:59-10:59", (539, 659)),     # 59 is the last minute of an hour, at either end
    ("08:30-12:15", (510, 735)),
    ("22:00-06:00", (1320, 1800)),   # an end before the start runs past midnight
    ("10:00-10:00", (600, 2040)),    # an end equal to the start: 24 hours, not an empty shift
])
def test_opening_hours_accept_every_hour_and_minute_up_to_their_edges(text, minutes):
    assert parse_interval(text) == minutes


@pytest.mark.parametrize("text", ["24:00-02:00", "09:60-10:00", "09:00-25:00", "09:00-10:60", "09:00-24:01"])
def test_opening_hours_out_of_range_are_refused_with_what_is_wrong(text):
    with pytest.raises(CalendarError, match=rf"interval '{text}' has an hour or minute out of range"):
        parse_interval(text)


def test_calendar_rules_select_by_brand_and_queue_and_a_list_may_hold_the_wildcard():
    night = Calendar.from_config({"id": "night", "weekly": {"mon": ["22:00-06:00"]}})
    day = Calendar.from_config({"id": "day", "weekly": {"mon": ["09:00-17:00"]}})
    book = CalendarBook({"night": night, "day": day},
                        [{"brand": "acme", "queue": "vip", "calendar": "night"},
                         {"region": "eu", "queue": ["billing", "*"], "calendar": "day"}])
    assert book.select(brand="acme", region="us", channel="chat", queue="vip").id == "night"
    assert book.select(brand="other", region="us", channel="chat", queue="vip").id == "24x7"
    assert book.select(brand="acme", region="us", channel="chat", queue="general").id == "24x7"
    assert book.select(brand="acme", region="eu", channel="chat", queue="returns").id == "day"  # "*" in the list
    with pytest.raises(CalendarError, match="unknown calendar 'gone'"):
        book.get("gone")


def test_an_always_open_calendar_from_the_configuration_counts_every_hour_in_its_zone():
    cal = Calendar.from_config({"id": "hotline", "always_open": True, "timezone": "Asia/Tokyo"})
    assert (cal.id, cal.timezone, cal.always_open) == ("hotline", "Asia/Tokyo", True)
    sunday_night = datetime(2026, 11, 29, 3, tzinfo=UTC)
    assert is_open(cal, sunday_night)
    assert add_business_time(cal, sunday_night, 30 * H) == sunday_night + 30 * H
    assert Calendar.from_config({"id": "plain", "always_open": True}).timezone == "UTC"
    with pytest.raises(CalendarError, match="a calendar needs an 'id'"):
        Calendar.from_config({"always_open": True})


# --- the tracker ------------------------------------------------------------------------------
T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # a Monday
M = timedelta(minutes=1)
LADDER = {"ack_timeout": "30m", "levels": [
    {"name": "assignee", "after_breach": "0m", "recipients": ["{assignee}"], "destinations": ["slack:a"]},
    {"name": "team_lead", "after_breach": "1h", "recipients": ["lead:{queue}"], "destinations": ["slack:l"]}]}
POLICIES = {
    "version": 1,
    "defaults": {"warnings": {"fractions": [0.75]}, "proactive_update_after": "4h", "escalation": LADDER},
    "policies": [  # first match wins
        {"id": "vip-desk", "queues": ["vip"], "targets": {
            "first_response": {"within": "2h30m", "hours": "calendar"},
            "resolution": {"within": "24h", "hours": "calendar"}}},
        {"id": "callbacks", "queues": ["callbacks"], "targets": {
            "phone_answer": {"within": "9m", "hours": "calendar"}}},
        {"id": "email", "channels": ["email"], "targets": {
            "first_response": {"within": "2h30m", "hours": "calendar"},
            "resolution": {"within": "24h", "hours": "calendar"}}},
    ],
    "default_policy": {"targets": {"first_response": {"within": "1h", "hours": "calendar"}}},
}


class Conversation:
    """One conversation through the tracker, its armed timers kept (and cancelled) as the scheduler does."""

    def __init__(self) -> None:
        self.tracker = Tracker(load_policy_book(POLICIES))
        self.state = ConversationSla("c1")
        self.facts = {"brand": "acme", "channel": "email", "priority": "normal", "queue": "billing",
                      "region": "eu", "status": "queued", "assignee": ""}
        self.timers: dict[str, FiredTimer] = {}
        self.armed: list[TimerArm] = []
        self.n = 0

    def _keep(self, decisions):
        for tid in decisions.cancel:
            self.timers.pop(tid, None)
        for arm in decisions.arm:
            self.armed.append(arm)
            self.timers[arm.id] = FiredTimer(arm.id, arm.kind, arm.metric, arm.instance, arm.level, arm.due,
                                             arm.reason)
        return decisions.emits

    def event(self, kind: str, at: datetime, **changes):
        self.n += 1
        self.facts |= {k: changes.pop(k) for k in list(changes) if k in self.facts}
        return self._keep(self.tracker.apply(self.state, Change(f"e{self.n}", kind, at, Facts(**self.facts),
                                                                **changes)))

    def run_until(self, until: datetime):
        out = []
        while due := sorted((t for t in self.timers.values() if t.due <= until), key=lambda t: t.due):
            timer = self.timers.pop(due[0].id)
            out += self._keep(self.tracker.fire(self.state, timer, timer.due + M))
        return out

    def timers_of(self, metric: str) -> list[str]:
        return [tid for tid, t in self.timers.items() if t.metric == metric]


def only(emits, event: str, metric: str) -> SlaOut:
    found = [e for e in emits if isinstance(e, SlaOut) and e.event == event and e.metric == metric]
    assert len(found) == 1, f"expected one {event} {metric} in {emits}"
    return found[0]


def test_a_breached_clock_answered_mid_ladder_keeps_its_deadline_and_leaves_no_timer_behind():
    c = Conversation()
    c.event("conversation_opened", T0)
    c.event("conversation_assigned", T0 + M, status="assigned", assignee="agent-7")
    c.run_until(T0 + 150 * M + 5 * M)  # breached, L1 raised, the next escalation armed
    assert c.timers_of("first_response") == ["c1|first_response|1|escalate|2"]
    done = only(c.event("agent_replied", T0 + 3 * 60 * M), "fulfilled", "first_response")
    assert done.deadline == T0 + 150 * M and done.detail["breached"] is True
    assert done.detail["fulfilled_at"] == T0 + 3 * 60 * M and done.detail["elapsed_calendar_seconds"] == 3 * 3600
    assert c.state.clocks["first_response"].state == "fulfilled"
    assert c.timers_of("first_response") == []  # the pending escalation is cancelled, not left to fire


def test_a_queue_transfer_reapplies_under_the_new_policy_or_cancels_a_target_it_lacks():
    c = Conversation()
    c.event("conversation_opened", T0)
    moved = only(c.event("conversation_queued", T0 + 30 * M, queue="vip"), "reapplied", "first_response")
    assert (moved.policy_id, moved.detail["previous_policy_id"]) == ("vip-desk", "email")
    assert moved.detail["remaining_seconds"] == 2 * 3600 and moved.deadline == T0 + 150 * M
    assert moved.detail["reason"] == "queue changed"
    out = c.event("conversation_queued", T0 + 40 * M, queue="callbacks")
    dropped = only(out, "cancelled", "first_response")
    assert dropped.detail["reason"] == "no first_response target in policy callbacks (queue changed)"
    assert not [e for e in out if isinstance(e, SlaOut) and e.event == "fulfilled"]
    assert c.state.clocks["first_response"].state == "cancelled" and c.timers_of("first_response") == []


def test_proactive_updates_say_how_long_we_have_waited_and_keep_coming_every_interval():
    c = Conversation()
    c.event("conversation_opened", T0)
    c.event("agent_replied", T0 + M, status="waiting_on_third_party")
    updates = [e for e in c.run_until(T0 + 13 * 60 * M) if isinstance(e, ProactiveOut)]
    assert [(u.template, u.variables, u.requested_at) for u in updates] == [
        ("still_working", {"waiting_hours": "4.0"}, T0 + M + 4 * 60 * M * k + M) for k in (1, 2, 3)]
    assert len({u.id_parts for u in updates}) == 3
    proactive = [a for a in c.armed if a.kind == "proactive"]
    assert [(a.instance, a.due) for a in proactive] == [(k, T0 + M + 4 * 60 * M * k) for k in (1, 2, 3, 4)]
