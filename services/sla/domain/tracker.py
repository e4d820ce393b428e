"""The per-conversation SLA tracker. Pure: state + input + time in, new state + decisions out.

Two entry points, both mutate the given `ConversationSla` in place and return `Decisions`:
- `Tracker.apply(state, change)`: a conversation event (time = the event's occurred_at);
- `Tracker.fire(state, timer, now)`: a durable timer came due (now = the injected clock).

Which clocks a conversation event starts or stops is decided here (the metric definitions of
docs/sla.md); the clocks' own transitions live in clocks.py, warnings, breaches, escalations and
proactive updates in alerts.py, the decision types in effects.py.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from .alerts import Alerts, order_delayed
from .clocks import ClockMachine
from .effects import Decisions, FiredTimer
from .policy import PolicyBook
from .state import Change, ConversationSla, Facts

RESPONSE_METRICS = ("first_response", "agent_first_response", "next_response")
REPEAT_CONTACT = "repeat_contact"
REASSIGNED = "reassigned"
ASSIGNEE_UNAVAILABLE = "assignee_unavailable"
# What selects the policy: a change of any re-applies the budgets of the active clocks.
POLICY_SELECTORS = ("priority", "queue", "channel")


class Tracker:
    def __init__(self, book: PolicyBook) -> None:
        self.book = book
        self.clocks = ClockMachine(book)
        self.alerts = Alerts(self.clocks)
        self._on: dict[str, Callable[[ConversationSla, Change], Decisions]] = {
            "conversation_opened": self._opened, "conversation_reopened": self._opened,
            "customer_message_appended": self._customer_message, "repeat_contact_detected": self._repeat_contact,
            "conversation_handed_off": self._handed_off,
            "agent_replied": self._replied, "call_answered": self._replied,
            "conversation_resolved": self._resolved, "conversation_assigned": self._assigned,
            "assignee_unavailable": self._assignee_unavailable,
            "escalation_acknowledged": lambda state, change: self.alerts.acknowledge(state, change.escalation_id),
            "order_linked": self._order_linked,
        }

    # --- conversation events -------------------------------------------------------------------
    def apply(self, state: ConversationSla, change: Change) -> Decisions:
        previous = state.facts
        state.facts = change.facts
        state.brand = change.facts.brand
        on = self._on.get(change.kind)
        out = on(state, change) if on is not None else Decisions()
        if previous is not None and change.kind != "conversation_opened":
            out.extend(self._reapply_changed(state, previous, change))
        out.extend(self.clocks.follow_status(state, change.facts, change.at, change.event_id))
        out.extend(self.alerts.sync_proactive(state, previous, change.at))
        return out

    def fire(self, state: ConversationSla, timer: FiredTimer, now: datetime) -> Decisions:
        return self.alerts.fire(state, timer, now)

    def _reapply_changed(self, state: ConversationSla, previous: Facts, change: Change) -> Decisions:
        out = Decisions()
        what = [name for name in POLICY_SELECTORS if getattr(previous, name) != getattr(change.facts, name)]
        if what:
            reason = change.reason or f"{' and '.join(what)} changed"
            for clock in list(state.clocks.values()):
                if clock.active:
                    out.extend(self.clocks.reapply(state, clock, change.at, change.event_id, reason))
        return out

    def _opened(self, state: ConversationSla, change: Change) -> Decisions:
        out = Decisions()
        if change.kind == "conversation_reopened":
            state.episode += 1
            state.human_replied = False
            out.extend(self._reopen_resolution(state, change.at, change.event_id))
        out.extend(self._customer_wrote(state, change.at, change.event_id))
        return out

    def _customer_message(self, state: ConversationSla, change: Change) -> Decisions:
        out = Decisions()
        if change.auto_reply:  # auto-replies never start or move a clock
            return out
        out.extend(self._customer_wrote(state, change.at, change.event_id))
        policy = self.clocks.policy(change.facts)
        if state.contacts >= policy.repeat_contact_threshold and not state.repeat_escalated:
            state.repeat_escalated = True
            out.extend(self.alerts.escalate_once(
                state, REPEAT_CONTACT, "repeat_contact", change.at, change.event_id,
                f"customer contacted {state.contacts} times without a resolution"))
        return out

    def _repeat_contact(self, state: ConversationSla, change: Change) -> Decisions:
        if state.repeat_escalated:
            return Decisions()
        state.repeat_escalated = True
        return self.alerts.escalate_once(state, REPEAT_CONTACT, "repeat_contact", change.at, change.event_id,
                                         "router detected repeat contacts without a resolution")

    def _handed_off(self, state: ConversationSla, change: Change) -> Decisions:
        if state.human_replied or state.is_active("agent_first_response"):
            return Decisions()
        return self.clocks.start(state, "agent_first_response", change.at, change.event_id)

    def _replied(self, state: ConversationSla, change: Change) -> Decisions:
        out = Decisions()
        when, cause = change.answered_at or change.at, change.event_id
        if change.kind == "call_answered":
            out.extend(self.clocks.stop(state, "phone_answer", when, cause, fulfilled=True))
        for metric in RESPONSE_METRICS:
            out.extend(self.clocks.stop(state, metric, when, cause, fulfilled=True))
        state.human_replied = True
        state.awaiting_since = None
        if state.proactive_due is not None:  # the customer just heard from us
            out.extend(self.alerts.arm_proactive(state, when))
        return out

    def _resolved(self, state: ConversationSla, change: Change) -> Decisions:
        at, cause = change.at, change.event_id
        out = self.clocks.stop(state, "resolution", at, cause, fulfilled=True)
        for metric in (*RESPONSE_METRICS, "phone_answer"):
            out.extend(self.clocks.stop(state, metric, at, cause, fulfilled=False, reason="resolved"))
        state.awaiting_since = None
        state.contacts = 0
        state.repeat_escalated = False
        state.human_replied = False  # the episode ended; a message now waits for a reopen
        return out

    def _assigned(self, state: ConversationSla, change: Change) -> Decisions:
        policy = self.clocks.policy(change.facts)
        if change.reassignment_count < policy.reassignment_threshold or state.reassign_escalated:
            return Decisions()
        state.reassign_escalated = True
        return self.alerts.escalate_once(state, REASSIGNED, "reassigned_too_often", change.at, change.event_id,
                                         f"reassigned {change.reassignment_count} times")

    def _assignee_unavailable(self, state: ConversationSla, change: Change) -> Decisions:
        if not change.escalate:  # the router found someone else (docs/router.md)
            return Decisions()
        return self.alerts.escalate_once(
            state, ASSIGNEE_UNAVAILABLE, "assignee_unavailable", change.at, change.event_id,
            f"assignee {change.agent_id or '-'} unavailable ({change.reason}) and nobody else eligible")

    @staticmethod
    def _order_linked(state: ConversationSla, change: Change) -> Decisions:
        out = Decisions()
        if change.order_kind == "delayed" and change.facts.status != "resolved":
            out.emits.append(order_delayed(change))
        return out

    # --- which clocks a customer's message starts ----------------------------------------------
    def _customer_wrote(self, state: ConversationSla, at: datetime, cause: str) -> Decisions:
        out = Decisions()
        facts = state.facts
        if state.awaiting_since is None:
            state.awaiting_since = at     # a new contact: the oldest unanswered message since the last reply
            state.contacts += 1
        if facts.channel == "phone" and not state.is_active("phone_answer"):
            out.extend(self.clocks.start(state, "phone_answer", at, cause))   # a call is ringing
        if not state.human_replied:
            if state.first_response_episode != state.episode and facts.status != "resolved":
                # one first-response clock per episode, from the oldest unanswered message (the router
                # appends the customer's message before it reopens the conversation)
                state.first_response_episode = state.episode
                out.extend(self.clocks.start(state, "first_response", state.awaiting_since or at, cause))
        elif not state.is_active("next_response"):
            out.extend(self.clocks.start(state, "next_response", state.awaiting_since, cause))
        if "resolution" not in state.clocks and facts.status != "resolved":
            out.extend(self.clocks.start(state, "resolution", at, cause))
        return out

    def _reopen_resolution(self, state: ConversationSla, at: datetime, cause: str) -> Decisions:
        clock = state.clocks.get("resolution")
        policy = self.clocks.policy(state.facts)
        if clock is None or clock.active:
            return Decisions()
        if policy.reopen == "restart":
            return self.clocks.start(state, "resolution", at, cause)
        # resume: the same instance continues with the budget it had left when resolved
        clock.state = "paused"
        return self.clocks.resume(state, clock, at, cause, policy)
