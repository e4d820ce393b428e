"""The SLA clock state machine (pure): start, stop (fulfilled or cancelled), pause, resume and re-apply
one metric's clock, in business time per its calendar, and arm its one next timer.

    running --pause--> paused --resume--> running
    running|paused --stop--> fulfilled | cancelled        (a resolution clock may resume on reopen)

Every operation returns `Decisions` (the SlaEvent to emit, timers to arm or cancel).
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from .calendar import Calendar, add_business_time, business_time_between
from .effects import Decisions, SlaOut, TimerArm, micros, timer_id, whole_seconds
from .policy import Policy, PolicyBook
from .state import ConversationSla, Facts, SlaClock


def sla_out(clock: SlaClock, event: str, id_parts: tuple, **detail: Any) -> SlaOut:
    return SlaOut(event=event, metric=clock.metric, instance=clock.instance, policy_id=clock.policy_id,
                  deadline=clock.deadline, target_seconds=whole_seconds(clock.target_us),
                  business_hours=clock.business_hours, calendar_id=clock.calendar_id, detail=detail,
                  id_parts=id_parts)


class ClockMachine:
    def __init__(self, book: PolicyBook) -> None:
        self.book = book

    # --- lookups -------------------------------------------------------------------------------
    def policy(self, facts: Facts) -> Policy:
        return self.book.select(brand=facts.brand, channel=facts.channel, priority=facts.priority,
                                queue=facts.queue)

    def clock_policy(self, clock: SlaClock, facts: Facts) -> Policy:
        return self.book.by_id(clock.policy_id) or self.policy(facts)

    def calendar(self, clock: SlaClock) -> Calendar:
        return self.book.calendars.get(clock.calendar_id)

    def remaining_at(self, clock: SlaClock, at: datetime) -> timedelta:
        if clock.state != "running":
            return clock.remaining
        return clock.remaining - business_time_between(self.calendar(clock), clock.since, at)

    @staticmethod
    def timer_ids(state: ConversationSla, clock: SlaClock) -> list[str]:
        cid = state.conversation_id
        ids = [timer_id(cid, clock.metric, clock.instance, "warn", lv) for lv in range(1, clock.warn_levels + 1)]
        ids.append(timer_id(cid, clock.metric, clock.instance, "breach"))
        ids.append(timer_id(cid, clock.metric, clock.instance, "escalate", clock.escalated_level + 1))
        return ids

    # --- the next timer ------------------------------------------------------------------------
    def arm(self, state: ConversationSla, clock: SlaClock, policy: Policy) -> Decisions:
        """The one next timer of a running clock: its next warning, else its breach, else its next
        escalation. Each fired timer arms the one after it, so a conversation answered in time (the
        common case) costs one timer write per clock instead of one per warning level."""
        out = Decisions()
        cid = state.conversation_id
        lefts = policy.warnings_left(clock.target)
        clock.warn_levels = max(clock.warn_levels, len(lefts))
        for level, left in enumerate(lefts, start=1):
            fraction = 1 - left / clock.target
            if fraction <= clock.warned_fraction + 1e-9 or clock.remaining <= left:
                continue
            due = add_business_time(self.calendar(clock), clock.since, clock.remaining - left)
            out.arm.append(TimerArm(timer_id(cid, clock.metric, clock.instance, "warn", level), cid, "warn",
                                    clock.metric, clock.instance, level, due))
            return out
        if not clock.breached:
            out.arm.append(TimerArm(timer_id(cid, clock.metric, clock.instance, "breach"), cid, "breach",
                                    clock.metric, clock.instance, 0, clock.deadline))
        elif not clock.acknowledged and clock.escalated_level < len(policy.escalation_levels):
            nxt = policy.escalation_levels[clock.escalated_level]
            out.arm.append(TimerArm(timer_id(cid, clock.metric, clock.instance, "escalate", nxt.level), cid,
                                    "escalate", clock.metric, clock.instance, nxt.level,
                                    clock.deadline + nxt.after_breach, "sla_breached"))
        return out

    # --- transitions ---------------------------------------------------------------------------
    def start(self, state: ConversationSla, metric: str, at: datetime, cause: str,
              remaining: timedelta | None = None) -> Decisions:
        facts = state.facts
        policy = self.policy(facts)
        target = policy.target(metric, facts.priority, self.book.multipliers)
        out = Decisions()
        if target is None:
            return out
        cal = self.book.calendar_for(policy, brand=facts.brand, region=facts.region, channel=facts.channel,
                                     queue=facts.queue, business_hours=target.business_hours)
        instance = state.instances.get(metric, 0) + 1
        state.instances[metric] = instance
        budget = target.duration if remaining is None else remaining
        clock = SlaClock(metric=metric, instance=instance, policy_id=policy.id, calendar_id=cal.id,
                         business_hours=target.business_hours, target_us=micros(target.duration), started_at=at,
                         state="running", since=at, remaining_us=micros(budget),
                         deadline=add_business_time(cal, at, budget))
        state.clocks[metric] = clock
        out.emits.append(sla_out(clock, "applied", (cause, "applied", metric, instance), started_at=at))
        if policy.pauses(metric, facts.status):
            out.extend(self.pause(state, clock, at, cause))
        else:
            out.extend(self.arm(state, clock, policy))
        return out

    def stop(self, state: ConversationSla, metric: str, at: datetime, cause: str, *, fulfilled: bool,
             reason: str = "") -> Decisions:
        out = Decisions()
        clock = state.clocks.get(metric)
        if clock is None or not clock.active:
            return out
        at = max(at, clock.since)
        left = self.remaining_at(clock, at)
        out.cancel.extend(self.timer_ids(state, clock))
        clock.remaining_us = micros(left)
        clock.deadline = clock.deadline if clock.state == "running" else None
        clock.since = at
        clock.state = "fulfilled" if fulfilled else "cancelled"
        if fulfilled:
            out.emits.append(sla_out(
                clock, "fulfilled", (cause, "fulfilled", metric, clock.instance), fulfilled_at=at,
                elapsed_business_seconds=whole_seconds(clock.target_us - clock.remaining_us),
                elapsed_calendar_seconds=int((at - clock.started_at).total_seconds()), breached=clock.breached))
        else:
            out.emits.append(sla_out(clock, "cancelled", (cause, "cancelled", metric, clock.instance),
                                     reason=reason))
        return out

    def pause(self, state: ConversationSla, clock: SlaClock, at: datetime, cause: str) -> Decisions:
        out = Decisions()
        if clock.state != "running":
            return out
        at = max(at, clock.since)
        out.cancel.extend(self.timer_ids(state, clock))
        clock.remaining_us = micros(self.remaining_at(clock, at))
        clock.since = at
        clock.state = "paused"
        clock.deadline = None
        out.emits.append(sla_out(clock, "paused", (cause, "paused", clock.metric, clock.instance),
                                 paused_at=at, remaining_seconds=whole_seconds(clock.remaining_us),
                                 reason_status=state.facts.status))
        return out

    def resume(self, state: ConversationSla, clock: SlaClock, at: datetime, cause: str,
               policy: Policy) -> Decisions:
        out = Decisions()
        if clock.state != "paused":
            return out
        clock.since = max(at, clock.since)
        clock.state = "running"
        clock.deadline = add_business_time(self.calendar(clock), clock.since, clock.remaining)
        out.emits.append(sla_out(clock, "resumed", (cause, "resumed", clock.metric, clock.instance),
                                 resumed_at=clock.since, remaining_seconds=whole_seconds(clock.remaining_us)))
        out.extend(self.arm(state, clock, policy))
        return out

    def reapply(self, state: ConversationSla, clock: SlaClock, at: datetime, cause: str, reason: str) -> Decisions:
        """Priority/queue/channel changed: same elapsed time, new target, remaining budget recomputed."""
        out = Decisions()
        facts = state.facts
        policy = self.policy(facts)
        target = policy.target(clock.metric, facts.priority, self.book.multipliers)
        if target is None:
            return self.stop(state, clock.metric, at, cause, fulfilled=False,
                             reason=f"no {clock.metric} target in policy {policy.id} ({reason})")
        cal = self.book.calendar_for(policy, brand=facts.brand, region=facts.region, channel=facts.channel,
                                     queue=facts.queue, business_hours=target.business_hours)
        new_target_us = micros(target.duration)
        if policy.id == clock.policy_id and new_target_us == clock.target_us and cal.id == clock.calendar_id:
            return out
        at = max(at, clock.since)
        left = self.remaining_at(clock, at)
        elapsed = clock.target - left
        previous_policy, previous_deadline = clock.policy_id, clock.deadline
        if clock.state == "running":
            out.cancel.extend(self.timer_ids(state, clock))
        clock.policy_id, clock.calendar_id, clock.business_hours = policy.id, cal.id, target.business_hours
        clock.target_us = new_target_us
        clock.remaining_us = micros(target.duration - elapsed)
        clock.since = at
        if clock.state == "running":
            clock.deadline = add_business_time(cal, at, clock.remaining)
            out.extend(self.arm(state, clock, policy))
        out.emits.insert(0, sla_out(clock, "reapplied", (cause, "reapplied", clock.metric, clock.instance),
                                    previous_policy_id=previous_policy, previous_deadline=previous_deadline,
                                    reason=reason, remaining_seconds=whole_seconds(clock.remaining_us)))
        return out

    def follow_status(self, state: ConversationSla, facts: Facts, at: datetime, cause: str) -> Decisions:
        """Pause / resume every active clock by the conversation's status (per metric, per policy)."""
        out = Decisions()
        for clock in list(state.clocks.values()):
            if not clock.active:
                continue
            policy = self.clock_policy(clock, facts)
            if clock.state == "running" and policy.pauses(clock.metric, facts.status):
                out.extend(self.pause(state, clock, at, cause))
            elif clock.state == "paused" and not policy.pauses(clock.metric, facts.status):
                out.extend(self.resume(state, clock, at, cause, policy))
        return out
