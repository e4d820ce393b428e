"""One conversation driven through the SLA tracker as the handler drives it (pure, no I/O): events in,
its armed timers kept and cancelled as the scheduler keeps them, timers fired in due order."""
from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from switchboard.sla.domain import history
from switchboard.sla.domain.effects import Decisions, EscalationOut, FiredTimer, SlaOut, TimerArm
from switchboard.sla.domain.policy import load_policy_book
from switchboard.sla.domain.state import Change, ConversationSla, Facts
from switchboard.sla.domain.tracker import Tracker

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # a Monday
S = timedelta(seconds=1)
M = timedelta(minutes=1)
H = timedelta(hours=1)


class Conversation:
    def __init__(self, config: Mapping, conversation_id: str = "c1", **facts: str) -> None:
        self.tracker = Tracker(load_policy_book(config))
        self.state = ConversationSla(conversation_id)
        self.facts = {"brand": "acme", "channel": "email", "priority": "normal", "queue": "billing",
                      "region": "eu", "status": "queued", "assignee": "", **facts}
        self.timers: dict[str, FiredTimer] = {}
        self.last: Decisions = Decisions()
        self.n = 0

    def keep(self, decisions: Decisions) -> list:
        self.last = decisions
        for tid in decisions.cancel:
            self.timers.pop(tid, None)
        for arm in decisions.arm:
            self.timers[arm.id] = fired(arm)
        return decisions.emits

    def event(self, kind: str, at: datetime, **changes) -> list:
        self.n += 1
        self.facts |= {k: changes.pop(k) for k in list(changes) if k in self.facts}
        change = Change(f"e{self.n}", kind, at, Facts(**self.facts), **changes)
        decisions = self.tracker.apply(self.state, change)
        history.record(self.state, decisions, change)
        return self.keep(decisions)

    def fire(self, timer: FiredTimer, now: datetime) -> list:
        decisions = self.tracker.fire(self.state, timer, now)
        history.record(self.state, decisions)
        return self.keep(decisions)

    def run_until(self, until: datetime, late: timedelta = M) -> list:
        """Fires every armed timer due by `until` in due order, each `late` after its due time."""
        out = []
        while due := sorted((t for t in self.timers.values() if t.due <= until), key=lambda t: t.due):
            timer = self.timers.pop(due[0].id)
            out += self.fire(timer, timer.due + late)
        return out

    def timers_of(self, metric: str) -> list[FiredTimer]:
        return [t for t in self.timers.values() if t.metric == metric]


def fired(arm: TimerArm) -> FiredTimer:
    return FiredTimer(arm.id, arm.kind, arm.metric, arm.instance, arm.level, arm.due, arm.reason)


def sla(emits, event: str | None = None, metric: str | None = None) -> list[SlaOut]:
    return [e for e in emits if isinstance(e, SlaOut) and event in (None, e.event) and metric in (None, e.metric)]


def escalations(emits) -> list[EscalationOut]:
    return [e for e in emits if isinstance(e, EscalationOut)]
