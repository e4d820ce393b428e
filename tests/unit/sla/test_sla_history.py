"""What the SLA state keeps for people to read (warnings, escalations, who acknowledged them) and the
read API's time left in business time: pure, without I/O."""
from datetime import UTC, datetime, timedelta

from switchboard.sla.adapters import mapping
from switchboard.sla.adapters.ports import SlaRecord
from switchboard.sla.adapters.read_api import sla_view
from switchboard.sla.domain import history
from switchboard.sla.domain.effects import FiredTimer
from switchboard.sla.domain.policy import load_policy_book
from switchboard.sla.domain.state import Change, ConversationSla, Facts
from switchboard.sla.domain.tracker import Tracker

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # Monday 10:00 in Berlin
M = timedelta(minutes=1)
H = timedelta(hours=1)
CONFIG = {
    "version": 1,
    "calendars": [{"id": "berlin", "timezone": "Europe/Berlin",
                   "weekly": {d: ["09:00-17:00"] for d in ("mon", "tue", "wed", "thu", "fri")}}],
    "default_calendar": "berlin",
    "defaults": {
        "warnings": {"fractions": [0.75]},
        "escalation": {"ack_timeout": "30m", "levels": [
            {"name": "assignee", "after_breach": "0m", "recipients": ["{assignee}"]},
            {"name": "team_lead", "after_breach": "1h", "recipients": ["lead"]},
            {"name": "manager", "after_breach": "4h", "recipients": ["manager"]},
        ]},
    },
    "policies": [{"id": "email", "channels": ["email"], "targets": {
        "first_response": {"within": "4h", "hours": "business"}}}],
    "default_policy": {"targets": {"first_response": {"within": "1h", "hours": "calendar"}}},
}


class Convo:
    """One conversation through Tracker + history, its timers fired in due order as the scheduler does."""

    def __init__(self) -> None:
        self.book = load_policy_book(CONFIG)
        self.tracker = Tracker(self.book)
        self.state = ConversationSla("c1")
        self.timers: dict[str, FiredTimer] = {}
        self.n = 0

    def _keep(self, decisions) -> None:
        for tid in decisions.cancel:
            self.timers.pop(tid, None)
        for arm in decisions.arm:
            self.timers[arm.id] = FiredTimer(arm.id, arm.kind, arm.metric, arm.instance, arm.level, arm.due, arm.reason)

    def event(self, kind: str, at: datetime, **kw) -> None:
        self.n += 1
        facts = Facts(brand="acme", channel="email", priority="normal", queue="billing", status="queued")
        change = Change(f"e{self.n}", kind, at, facts, **kw)
        decisions = self.tracker.apply(self.state, change)
        history.record(self.state, decisions, change)
        self._keep(decisions)

    def run_until(self, until: datetime) -> None:
        while due := sorted((t for t in self.timers.values() if t.due <= until), key=lambda t: t.due):
            timer = self.timers.pop(due[0].id)
            decisions = self.tracker.fire(self.state, timer, timer.due)
            history.record(self.state, decisions)
            self._keep(decisions)


def test_time_left_counts_business_hours_only_and_goes_negative_after_the_deadline():
    c = Convo()
    c.event("conversation_opened", T0)  # Monday 10:00 Berlin, 4 business hours: due 14:00
    def left(now):
        return sla_view(c.state, c.book, now)["clocks"][0]["time_left_seconds"]
    assert left(T0) == 4 * 3600
    assert left(T0 + 3 * H) == 3600
    c.run_until(T0 + 6 * H)
    assert left(T0 + 6 * H) == -2 * 3600  # 16:00: two business hours late
    # Monday 17:00 Berlin until Tuesday 09:00: closed, the overdue time stands still.
    assert left(T0 + 7 * H) == left(T0 + 20 * H) == -3 * 3600


def test_warnings_and_escalations_are_kept_and_an_ack_closes_its_ladder_up_to_that_level():
    c = Convo()
    c.event("conversation_opened", T0)
    c.run_until(T0 + 4 * H + 30 * M)  # breach at 14:00 -> L1; unacknowledged 30 min -> L2
    view = sla_view(c.state, c.book, T0 + 4 * H + 30 * M)
    (clock,) = view["clocks"]
    assert [(w["fraction"], w["at"]) for w in clock["warnings"]] == [(0.75, (T0 + 3 * H).isoformat())]
    assert [(e["level"], e["reason"], e["acknowledged"]) for e in view["escalations"]] == [
        (1, "sla_breached", False), (2, "not_acknowledged", False)]

    c.event("escalation_acknowledged", T0 + 4 * H + 40 * M, escalation_id="c1:first_response:1:2", agent_id="sam")
    c.event("escalation_acknowledged", T0 + 5 * H, escalation_id="c1:first_response:1:1", agent_id="bob")
    c.run_until(T0 + 12 * H)  # acknowledged: no L3
    restored = mapping.from_doc(mapping.to_doc(SlaRecord(c.state))).state  # what MongoDB keeps
    escalations = sla_view(restored, c.book, T0 + 12 * H)["escalations"]
    assert [(e["level"], e["acknowledged_by"], e["acknowledged_at"]) for e in escalations] == [
        (1, "sam", (T0 + 4 * H + 40 * M).isoformat()), (2, "sam", (T0 + 4 * H + 40 * M).isoformat())]


def test_an_ack_of_an_escalation_never_raised_changes_nothing():
    c = Convo()
    c.event("conversation_opened", T0)
    c.event("escalation_acknowledged", T0 + M, escalation_id="c1:first_response:1:1", agent_id="sam")
    assert c.state.escalations == []
    assert not history.acknowledge(c.state, "c1:first_response:1:1", "sam", T0 + M)
