"""The SLA's decisions beyond the clocks themselves (pure): warnings and breaches when a clock's timer
comes due, the escalation ladder until acknowledged, once-per-episode escalations (repeat contact,
reassignment, unavailable assignee) and proactive customer updates.

A timer that no longer matches the state (stale after a pause, a re-apply or a fulfilment) fires
as a no-op, so cancelling is an optimisation, never a correctness requirement.
"""
from __future__ import annotations

from datetime import datetime

from .calendar import add_business_time
from .clocks import ClockMachine, sla_out
from .effects import (
    ONE_MS,
    SAME_TIME,
    Decisions,
    EscalationOut,
    FiredTimer,
    ProactiveOut,
    TimerArm,
    epoch_ms,
    escalation_id,
    micros,
    timer_id,
    whole_seconds,
)
from .policy import Policy
from .state import Change, ConversationSla, Facts, SlaClock

PROACTIVE = "proactive"


def recipients_for(recipients: tuple[str, ...], facts: Facts) -> tuple[str, ...]:
    return tuple(r.replace("{assignee}", facts.assignee or "unassigned").replace("{queue}", facts.queue or "-")
                 for r in recipients)


def order_delayed(change: Change) -> ProactiveOut:
    # Variables match the notifier's `order_delayed` template (order_id is the human-facing number).
    variables = {"order_id": change.order_number or change.order_id, "order_ref": change.order_id,
                 "reason": change.reason,
                 "new_eta": change.order_eta.date().isoformat() if change.order_eta else ""}
    return ProactiveOut(template="order_delayed", variables={k: v for k, v in variables.items() if v},
                        requested_at=change.at, id_parts=(change.event_id, "proactive", "order_delayed"))


class Alerts:
    def __init__(self, clocks: ClockMachine) -> None:
        self.clocks = clocks

    # --- escalations raised by conversation events ---------------------------------------------
    def escalate_once(self, state: ConversationSla, kind: str, reason: str, at: datetime, cause: str,
                      detail: str) -> Decisions:
        """Repeat-contact / reassignment escalation: one per conversation episode, to level 2 (or the top)."""
        out = Decisions()
        levels = self.clocks.policy(state.facts).escalation_levels
        if not levels:
            return out
        lv = levels[min(1, len(levels) - 1)]
        esc_id = escalation_id(state.conversation_id, kind, state.episode, lv.level)
        out.emits.append(EscalationOut(
            escalation_id=esc_id, level=lv.level, level_name=lv.name, reason=reason, metric="",
            instance=state.episode, deadline=None, breached_at=None, raised_at=at,
            recipients=recipients_for(lv.recipients, state.facts), destinations=lv.destinations,
            detail=detail, target_seconds=0, id_parts=("escalation", esc_id)))
        return out

    @staticmethod
    def acknowledge(state: ConversationSla, esc_id: str) -> Decisions:
        """An acknowledgement stops the clock's ladder: its next escalation timer is cancelled."""
        out = Decisions()
        parts = esc_id.rsplit(":", 3)
        if len(parts) != 4 or parts[0] != state.conversation_id:
            return out
        _, metric, instance, _level = parts
        clock = state.clocks.get(metric)
        if clock is None or str(clock.instance) != instance or clock.acknowledged:
            return out
        clock.acknowledged = True
        out.cancel.append(timer_id(state.conversation_id, metric, clock.instance, "escalate",
                                   clock.escalated_level + 1))
        return out

    # --- proactive updates while waiting on a third party --------------------------------------
    def arm_proactive(self, state: ConversationSla, since: datetime) -> Decisions:
        out = Decisions()
        policy = self.clocks.policy(state.facts)
        if policy.proactive_update_after is None:
            return out
        state.proactive_due = since + policy.proactive_update_after
        out.arm.append(TimerArm(timer_id(state.conversation_id, PROACTIVE, state.proactive_n + 1, "proactive"),
                                state.conversation_id, "proactive", PROACTIVE, state.proactive_n + 1, 0,
                                state.proactive_due))
        return out

    def sync_proactive(self, state: ConversationSla, previous: Facts | None, at: datetime) -> Decisions:
        waiting = state.facts.status == "waiting_on_third_party"
        was_waiting = previous is not None and previous.status == "waiting_on_third_party"
        if waiting and not was_waiting:
            return self.arm_proactive(state, at)
        out = Decisions()
        if not waiting and state.proactive_due is not None:
            out.cancel.append(timer_id(state.conversation_id, PROACTIVE, state.proactive_n + 1, "proactive"))
            state.proactive_due = None
        return out

    # --- timers --------------------------------------------------------------------------------
    def fire(self, state: ConversationSla, timer: FiredTimer, now: datetime) -> Decisions:
        if timer.kind == "proactive":
            return self._fire_proactive(state, timer, now)
        clock = state.clocks.get(timer.metric)
        if clock is None or clock.instance != timer.instance or clock.state != "running":
            return Decisions()  # stale: fulfilled, paused or restarted since it was armed
        policy = self.clocks.clock_policy(clock, state.facts)
        self.clocks.calendar(clock)  # a calendar gone from the configuration fails the timer (CalendarError)
        fire = {"warn": self._fire_warning, "breach": self._fire_breach, "escalate": self._fire_escalation}.get(
            timer.kind)
        return Decisions() if fire is None else fire(state, clock, policy, timer, now)

    def _fire_proactive(self, state: ConversationSla, timer: FiredTimer, now: datetime) -> Decisions:
        out = Decisions()
        if (state.proactive_due is None or timer.instance != state.proactive_n + 1
                or abs(state.proactive_due - timer.due) > SAME_TIME):
            return out  # stale
        state.proactive_n += 1
        out.emits.append(ProactiveOut(
            template="still_working",  # the notifier's template for "no news yet"
            variables={"waiting_hours": str(round(self.clocks.policy(state.facts).proactive_update_after
                                                  .total_seconds() / 3600, 1))},
            requested_at=now, id_parts=(timer.id, epoch_ms(timer.due))))
        out.extend(self.arm_proactive(state, timer.due))  # next update on the same schedule
        return out

    def _fire_warning(self, state: ConversationSla, clock: SlaClock, policy: Policy, timer: FiredTimer,
                      now: datetime) -> Decisions:
        out = Decisions()
        lefts = policy.warnings_left(clock.target)
        if timer.level > len(lefts):
            return out
        left = lefts[timer.level - 1]
        fraction = 1 - left / clock.target
        expected = add_business_time(self.clocks.calendar(clock), clock.since, clock.remaining - left)
        if fraction <= clock.warned_fraction + 1e-9 or abs(expected - timer.due) > SAME_TIME:
            return out
        clock.warned_fraction = fraction
        out.emits.append(sla_out(clock, "warning", (timer.id, epoch_ms(timer.due)),
                                 fraction_elapsed=round(fraction, 4),
                                 seconds_left=max(0, whole_seconds(micros(self.clocks.remaining_at(clock, now)))),
                                 detected_at=now))
        out.extend(self.clocks.arm(state, clock, policy))  # the next warning, or the breach
        return out

    def _fire_breach(self, state: ConversationSla, clock: SlaClock, policy: Policy, timer: FiredTimer,
                     now: datetime) -> Decisions:
        out = Decisions()
        if clock.breached or abs(clock.deadline - timer.due) > SAME_TIME:
            return out
        clock.breached = True
        clock.breached_at = now
        clock.warned_fraction = 1.0
        out.emits.append(sla_out(clock, "breached", (timer.id, epoch_ms(timer.due)),
                                 detected_at=now, late_by_ms=int((now - clock.deadline) / ONE_MS)))
        out.extend(self.clocks.arm(state, clock, policy))
        return out

    def _fire_escalation(self, state: ConversationSla, clock: SlaClock, policy: Policy, timer: FiredTimer,
                         now: datetime) -> Decisions:
        out = Decisions()
        levels = policy.escalation_levels
        if (not clock.breached or clock.acknowledged or timer.level != clock.escalated_level + 1
                or timer.level > len(levels) or _same_wait_escalating(state, clock)):
            return out
        lv = levels[timer.level - 1]
        clock.escalated_level = lv.level
        # Armed earlier than the ladder says: the ack timeout of the level below ran out.
        reason = "not_acknowledged" if timer.due < clock.deadline + lv.after_breach - SAME_TIME else "sla_breached"
        esc_id = escalation_id(state.conversation_id, clock.metric, clock.instance, lv.level)
        late = now - clock.deadline
        out.emits.append(EscalationOut(
            escalation_id=esc_id, level=lv.level, level_name=lv.name, reason=reason, metric=clock.metric,
            instance=clock.instance, deadline=clock.deadline, breached_at=clock.breached_at, raised_at=now,
            recipients=recipients_for(lv.recipients, state.facts), destinations=lv.destinations,
            detail=(f"{clock.metric.replace('_', ' ')} overdue by {int(late.total_seconds())} s"
                    + ("; previous level not acknowledged" if reason == "not_acknowledged" else "")),
            target_seconds=whole_seconds(clock.target_us), id_parts=("escalation", esc_id)))
        if lv.level < len(levels):
            nxt = levels[lv.level]
            due, why = clock.deadline + nxt.after_breach, "sla_breached"
            if policy.ack_timeout is not None and now + policy.ack_timeout < due:
                due, why = now + policy.ack_timeout, "not_acknowledged"
            out.arm.append(TimerArm(timer_id(state.conversation_id, clock.metric, clock.instance, "escalate",
                                             nxt.level), state.conversation_id, "escalate", clock.metric,
                                    clock.instance, nxt.level, due, why))
        return out


def _same_wait_escalating(state: ConversationSla, clock: SlaClock) -> bool:
    """agent_first_response and a breached first_response of the same episode measure one wait (the
    first human reply ends both): one escalation ladder for it, not two pages per level. The breach
    itself is still reported for both metrics."""
    if clock.metric != "agent_first_response":
        return False
    first = state.clocks.get("first_response")
    return first is not None and first.active and first.breached
