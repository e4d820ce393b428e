"""The per-conversation SLA state machine. Pure: state + input + time in, new state + decisions out.

Two entry points, both mutate the given `ConversationSla` in place and return `Decisions`:
- `Tracker.apply(state, change)`: a conversation event (time = the event's occurred_at);
- `Tracker.fire(state, timer, now)`: a durable timer came due (now = the injected clock).

Decisions are what the adapters must do: emit SLA/escalation/notification events (with the parts
of a deterministic id), arm timers (upsert by deterministic timer id) and cancel timers. A timer
that no longer matches the state (stale after a pause, a re-apply or a fulfilment) fires as a
no-op, so cancelling is an optimisation, never a correctness requirement.
"""
from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from .calendar import Calendar, add_business_time, business_time_between
from .policy import Policy, PolicyBook

ZERO = timedelta(0)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ONE_MS = timedelta(milliseconds=1)
# MongoDB keeps datetimes to the millisecond: a timer read back may differ from the state's
# deadline by under 2 ms. Re-applied deadlines move by whole seconds, so 10 ms tells them apart.
SAME_TIME = timedelta(milliseconds=10)
RESPONSE_METRICS = ("first_response", "agent_first_response", "next_response")
REPEAT_CONTACT = "repeat_contact"
REASSIGNED = "reassigned"
PROACTIVE = "proactive"


@dataclass(slots=True)
class Facts:
    """What the SLA needs from the ConversationSnapshot (after the change)."""

    brand: str
    channel: str        # email, chat, phone ... (lower-case, without the CHANNEL_ prefix)
    priority: str       # low, normal, high, urgent
    queue: str = ""
    region: str = ""
    status: str = ""    # bot, queued, assigned, waiting_on_customer, waiting_on_third_party, resolved
    assignee: str = ""


@dataclass(slots=True)
class Change:
    """One conversation event, normalised from ConversationEvent by the handler."""

    event_id: str
    kind: str            # the oneof case: conversation_opened, customer_message_appended, ...
    at: datetime         # occurred_at: event time
    facts: Facts
    auto_reply: bool = False
    reassignment_count: int = 0
    escalation_id: str = ""
    order_kind: str = ""          # created, shipped, delayed ...
    order_id: str = ""
    order_number: str = ""
    order_eta: datetime | None = None
    answered_at: datetime | None = None
    reason: str = ""


@dataclass(slots=True)
class Clock:
    metric: str
    instance: int
    policy_id: str
    calendar_id: str
    business_hours: bool
    target_us: int
    started_at: datetime
    state: str                  # running | paused | fulfilled | cancelled
    since: datetime             # running: budget measured at; paused: paused at; stopped: stopped at
    remaining_us: int           # budget left at `since`; negative once past the deadline
    deadline: datetime | None   # running clocks only
    breached: bool = False
    breached_at: datetime | None = None
    warned_fraction: float = 0.0
    warn_levels: int = 0        # warning timers armed (for cancelling)
    escalated_level: int = 0
    acknowledged: bool = False

    @property
    def active(self) -> bool:
        return self.state in ("running", "paused")

    @property
    def target(self) -> timedelta:
        return timedelta(microseconds=self.target_us)

    @property
    def remaining(self) -> timedelta:
        return timedelta(microseconds=self.remaining_us)


@dataclass(slots=True)
class ConversationSla:
    conversation_id: str
    brand: str = ""
    facts: Facts | None = None
    clocks: dict[str, Clock] = field(default_factory=dict)
    instances: dict[str, int] = field(default_factory=dict)   # metric -> last instance number
    episode: int = 1                   # +1 on each reopen
    human_replied: bool = False        # in this episode
    first_response_episode: int = 0    # the episode whose first-response clock was started
    awaiting_since: datetime | None = None   # oldest unanswered customer message (after last human reply)
    contacts: int = 0                  # customer contacts without resolution
    repeat_escalated: bool = False
    reassign_escalated: bool = False
    proactive_n: int = 0
    proactive_due: datetime | None = None
    # plumbing owned by the handler, carried along so one document holds everything
    partition: int = 0
    last_offset: int = -1
    snapshot: bytes = b""

    def to_doc(self) -> dict[str, Any]:
        return {
            "_id": self.conversation_id, "brand": self.brand,
            "facts": None if self.facts is None else {k: getattr(self.facts, k) for k in Facts.__slots__},
            "clocks": {m: {k: getattr(c, k) for k in Clock.__slots__} for m, c in self.clocks.items()},
            "instances": dict(self.instances), "episode": self.episode, "human_replied": self.human_replied,
            "first_response_episode": self.first_response_episode,
            "awaiting_since": self.awaiting_since, "contacts": self.contacts,
            "repeat_escalated": self.repeat_escalated, "reassign_escalated": self.reassign_escalated,
            "proactive_n": self.proactive_n, "proactive_due": self.proactive_due,
            "partition": self.partition, "last_offset": self.last_offset,
            # base64 text: nx-27017 cannot store binary values through a replace
            "snapshot": base64.b64encode(self.snapshot).decode(),
        }

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> ConversationSla:
        facts = doc.get("facts")
        return cls(
            conversation_id=doc["_id"], brand=doc.get("brand", ""),
            facts=Facts(**facts) if facts else None,
            clocks={m: Clock(**c) for m, c in (doc.get("clocks") or {}).items()},
            instances=dict(doc.get("instances") or {}), episode=doc.get("episode", 1),
            human_replied=doc.get("human_replied", False),
            first_response_episode=doc.get("first_response_episode", 0), awaiting_since=doc.get("awaiting_since"),
            contacts=doc.get("contacts", 0), repeat_escalated=doc.get("repeat_escalated", False),
            reassign_escalated=doc.get("reassign_escalated", False), proactive_n=doc.get("proactive_n", 0),
            proactive_due=doc.get("proactive_due"), partition=doc.get("partition", 0),
            last_offset=doc.get("last_offset", -1), snapshot=base64.b64decode(doc.get("snapshot") or ""),
        )


# --- decisions -----------------------------------------------------------------------------------
@dataclass(slots=True)
class TimerArm:
    id: str
    conversation_id: str
    kind: str        # warn | breach | escalate | proactive
    metric: str
    instance: int
    level: int
    due: datetime
    reason: str = ""

    def __post_init__(self) -> None:
        # Whole milliseconds: what MongoDB keeps, so a timer reloaded after a crash has the very
        # same due time (and therefore the same event ids) as before it.
        self.due = self.due.replace(microsecond=self.due.microsecond - self.due.microsecond % 1000)


@dataclass(slots=True)
class FiredTimer:
    """What the scheduler hands back to `fire` (a subset of the stored timer)."""

    id: str
    kind: str
    metric: str
    instance: int
    level: int
    due: datetime
    reason: str = ""


@dataclass(slots=True)
class SlaOut:
    event: str       # applied | warning | breached | fulfilled | paused | resumed | reapplied | cancelled
    metric: str
    instance: int
    policy_id: str
    deadline: datetime | None
    target_seconds: int
    business_hours: bool
    calendar_id: str
    detail: dict[str, Any]
    id_parts: tuple


@dataclass(slots=True)
class EscalationOut:
    escalation_id: str
    level: int
    level_name: str
    reason: str      # sla_breached | not_acknowledged | repeat_contact | reassigned_too_often
    metric: str      # "" for repeat contact / reassignment escalations
    instance: int
    deadline: datetime | None
    breached_at: datetime | None
    raised_at: datetime
    recipients: tuple[str, ...]
    destinations: tuple[str, ...]
    detail: str
    target_seconds: int
    id_parts: tuple


@dataclass(slots=True)
class ProactiveOut:
    template: str
    variables: dict[str, str]
    requested_at: datetime
    id_parts: tuple


@dataclass(slots=True)
class Decisions:
    emits: list[SlaOut | EscalationOut | ProactiveOut] = field(default_factory=list)
    arm: list[TimerArm] = field(default_factory=list)
    cancel: list[str] = field(default_factory=list)

    def extend(self, other: Decisions) -> None:
        self.emits.extend(other.emits)
        self.arm.extend(other.arm)
        self.cancel.extend(other.cancel)


def timer_id(conversation_id: str, metric: str, instance: int, kind: str, level: int = 0) -> str:
    return f"{conversation_id}|{metric}|{instance}|{kind}|{level}"


def escalation_id(conversation_id: str, metric: str, instance: int, level: int) -> str:
    return f"{conversation_id}:{metric}:{instance}:{level}"


def epoch_ms(moment: datetime) -> int:
    """Exact integer milliseconds since the epoch (no float rounding)."""
    return (moment - EPOCH) // ONE_MS


def from_epoch_ms(ms: int) -> datetime:
    return EPOCH + timedelta(milliseconds=ms)


def parse_timer_id(tid: str) -> tuple[str, str, int, str, int]:
    """conversation|metric|instance|kind|level -> its parts (the conversation id may contain '|')."""
    conversation_id, metric, instance, kind, level = tid.rsplit("|", 4)
    return conversation_id, metric, int(instance), kind, int(level)


def _us(delta: timedelta) -> int:
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds


def _secs(us: int) -> int:
    return int(us // 1_000_000) if us >= 0 else -int((-us) // 1_000_000)


class Tracker:
    def __init__(self, book: PolicyBook) -> None:
        self.book = book

    # --- helpers -------------------------------------------------------------------------------
    def _policy(self, facts: Facts) -> Policy:
        return self.book.select(brand=facts.brand, channel=facts.channel, priority=facts.priority,
                                queue=facts.queue)

    def _clock_policy(self, clock: Clock, facts: Facts) -> Policy:
        return self.book.by_id(clock.policy_id) or self._policy(facts)

    def _calendar(self, clock: Clock) -> Calendar:
        return self.book.calendars.get(clock.calendar_id)

    def _remaining_at(self, clock: Clock, at: datetime) -> timedelta:
        if clock.state != "running":
            return clock.remaining
        return clock.remaining - business_time_between(self._calendar(clock), clock.since, at)

    def _sla(self, state: ConversationSla, clock: Clock, event: str, id_parts: tuple,
             **detail: Any) -> SlaOut:
        return SlaOut(event=event, metric=clock.metric, instance=clock.instance, policy_id=clock.policy_id,
                      deadline=clock.deadline, target_seconds=_secs(clock.target_us),
                      business_hours=clock.business_hours, calendar_id=clock.calendar_id, detail=detail,
                      id_parts=id_parts)

    def _timer_ids(self, state: ConversationSla, clock: Clock) -> list[str]:
        cid = state.conversation_id
        ids = [timer_id(cid, clock.metric, clock.instance, "warn", lv) for lv in range(1, clock.warn_levels + 1)]
        ids.append(timer_id(cid, clock.metric, clock.instance, "breach"))
        ids.append(timer_id(cid, clock.metric, clock.instance, "escalate", clock.escalated_level + 1))
        return ids

    def _arm(self, state: ConversationSla, clock: Clock, policy: Policy) -> Decisions:
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
            due = add_business_time(self._calendar(clock), clock.since, clock.remaining - left)
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

    # --- clock operations ----------------------------------------------------------------------
    def _start(self, state: ConversationSla, metric: str, at: datetime, cause: str,
               remaining: timedelta | None = None) -> Decisions:
        facts = state.facts
        policy = self._policy(facts)
        target = policy.target(metric, facts.priority, self.book.multipliers)
        out = Decisions()
        if target is None:
            return out
        cal = self.book.calendar_for(policy, brand=facts.brand, region=facts.region, channel=facts.channel,
                                     queue=facts.queue, business_hours=target.business_hours)
        instance = state.instances.get(metric, 0) + 1
        state.instances[metric] = instance
        budget = target.duration if remaining is None else remaining
        clock = Clock(metric=metric, instance=instance, policy_id=policy.id, calendar_id=cal.id,
                      business_hours=target.business_hours, target_us=_us(target.duration), started_at=at,
                      state="running", since=at, remaining_us=_us(budget),
                      deadline=add_business_time(cal, at, budget))
        state.clocks[metric] = clock
        out.emits.append(self._sla(state, clock, "applied", (cause, "applied", metric, instance), started_at=at))
        if policy.pauses(metric, facts.status):
            out.extend(self._pause(state, clock, at, cause))
        else:
            out.extend(self._arm(state, clock, policy))
        return out

    def _stop(self, state: ConversationSla, metric: str, at: datetime, cause: str, *, fulfilled: bool,
              reason: str = "") -> Decisions:
        out = Decisions()
        clock = state.clocks.get(metric)
        if clock is None or not clock.active:
            return out
        at = max(at, clock.since)
        left = self._remaining_at(clock, at)
        out.cancel.extend(self._timer_ids(state, clock))
        clock.remaining_us = _us(left)
        clock.deadline = clock.deadline if clock.state == "running" else None
        clock.since = at
        clock.state = "fulfilled" if fulfilled else "cancelled"
        if fulfilled:
            out.emits.append(self._sla(
                state, clock, "fulfilled", (cause, "fulfilled", metric, clock.instance), fulfilled_at=at,
                elapsed_business_seconds=_secs(clock.target_us - clock.remaining_us),
                elapsed_calendar_seconds=int((at - clock.started_at).total_seconds()), breached=clock.breached))
        else:
            out.emits.append(self._sla(state, clock, "cancelled", (cause, "cancelled", metric, clock.instance),
                                       reason=reason))
        return out

    def _pause(self, state: ConversationSla, clock: Clock, at: datetime, cause: str) -> Decisions:
        out = Decisions()
        if clock.state != "running":
            return out
        at = max(at, clock.since)
        out.cancel.extend(self._timer_ids(state, clock))
        clock.remaining_us = _us(self._remaining_at(clock, at))
        clock.since = at
        clock.state = "paused"
        clock.deadline = None
        out.emits.append(self._sla(state, clock, "paused", (cause, "paused", clock.metric, clock.instance),
                                   paused_at=at, remaining_seconds=_secs(clock.remaining_us),
                                   reason_status=state.facts.status))
        return out

    def _resume(self, state: ConversationSla, clock: Clock, at: datetime, cause: str,
                policy: Policy) -> Decisions:
        out = Decisions()
        if clock.state != "paused":
            return out
        clock.since = max(at, clock.since)
        clock.state = "running"
        clock.deadline = add_business_time(self._calendar(clock), clock.since, clock.remaining)
        out.emits.append(self._sla(state, clock, "resumed", (cause, "resumed", clock.metric, clock.instance),
                                   resumed_at=clock.since, remaining_seconds=_secs(clock.remaining_us)))
        out.extend(self._arm(state, clock, policy))
        return out

    def _reapply(self, state: ConversationSla, clock: Clock, at: datetime, cause: str, reason: str) -> Decisions:
        """Priority/queue/channel changed: same elapsed time, new target, remaining budget recomputed."""
        out = Decisions()
        facts = state.facts
        policy = self._policy(facts)
        target = policy.target(clock.metric, facts.priority, self.book.multipliers)
        if target is None:
            return self._stop(state, clock.metric, at, cause, fulfilled=False,
                              reason=f"no {clock.metric} target in policy {policy.id} ({reason})")
        cal = self.book.calendar_for(policy, brand=facts.brand, region=facts.region, channel=facts.channel,
                                     queue=facts.queue, business_hours=target.business_hours)
        new_target_us = _us(target.duration)
        if policy.id == clock.policy_id and new_target_us == clock.target_us and cal.id == clock.calendar_id:
            return out
        at = max(at, clock.since)
        left = self._remaining_at(clock, at)
        elapsed = clock.target - left
        previous_policy, previous_deadline = clock.policy_id, clock.deadline
        if clock.state == "running":
            out.cancel.extend(self._timer_ids(state, clock))
        clock.policy_id, clock.calendar_id, clock.business_hours = policy.id, cal.id, target.business_hours
        clock.target_us = new_target_us
        clock.remaining_us = _us(target.duration - elapsed)
        clock.since = at
        if clock.state == "running":
            clock.deadline = add_business_time(cal, at, clock.remaining)
            out.extend(self._arm(state, clock, policy))
        out.emits.insert(0, self._sla(state, clock, "reapplied", (cause, "reapplied", clock.metric, clock.instance),
                                      previous_policy_id=previous_policy, previous_deadline=previous_deadline,
                                      reason=reason, remaining_seconds=_secs(clock.remaining_us)))
        return out

    def _escalate_once(self, state: ConversationSla, kind: str, reason: str, at: datetime, cause: str,
                       detail: str) -> Decisions:
        """Repeat-contact / reassignment escalation: one per conversation episode, to level 2 (or the top)."""
        out = Decisions()
        policy = self._policy(state.facts)
        levels = policy.escalation_levels
        if not levels:
            return out
        lv = levels[min(1, len(levels) - 1)]
        esc_id = escalation_id(state.conversation_id, kind, state.episode, lv.level)
        out.emits.append(EscalationOut(
            escalation_id=esc_id, level=lv.level, level_name=lv.name, reason=reason, metric="",
            instance=state.episode, deadline=None, breached_at=None, raised_at=at,
            recipients=self._recipients(lv.recipients, state.facts), destinations=lv.destinations,
            detail=detail, target_seconds=0, id_parts=("escalation", esc_id)))
        return out

    @staticmethod
    def _recipients(recipients: tuple[str, ...], facts: Facts) -> tuple[str, ...]:
        return tuple(r.replace("{assignee}", facts.assignee or "unassigned").replace("{queue}", facts.queue or "-")
                     for r in recipients)

    # --- conversation events -------------------------------------------------------------------
    def apply(self, state: ConversationSla, change: Change) -> Decisions:
        out = Decisions()
        previous = state.facts
        state.facts = change.facts
        state.brand = change.facts.brand
        at, cause, kind = change.at, change.event_id, change.kind
        status = change.facts.status

        if kind in ("conversation_opened", "conversation_reopened"):
            if kind == "conversation_reopened":
                state.episode += 1
                state.human_replied = False
                out.extend(self._reopen_resolution(state, at, cause))
            out.extend(self._customer_wrote(state, at, cause, new_conversation=True))
        elif kind == "customer_message_appended":
            if not change.auto_reply:  # auto-replies never start or move a clock
                out.extend(self._customer_wrote(state, at, cause, new_conversation=False))
                policy = self._policy(change.facts)
                if (state.contacts >= policy.repeat_contact_threshold and not state.repeat_escalated):
                    state.repeat_escalated = True
                    out.extend(self._escalate_once(
                        state, REPEAT_CONTACT, "repeat_contact", at, cause,
                        f"customer contacted {state.contacts} times without a resolution"))
        elif kind == "repeat_contact_detected":
            if not state.repeat_escalated:
                state.repeat_escalated = True
                out.extend(self._escalate_once(state, REPEAT_CONTACT, "repeat_contact", at, cause,
                                               "router detected repeat contacts without a resolution"))
        elif kind == "conversation_handed_off":
            if not state.human_replied and not self._is_active(state, "agent_first_response"):
                out.extend(self._start(state, "agent_first_response", at, cause))
        elif kind in ("agent_replied", "call_answered"):
            when = change.answered_at or at
            if kind == "call_answered":
                out.extend(self._stop(state, "phone_answer", when, cause, fulfilled=True))
            for metric in RESPONSE_METRICS:
                out.extend(self._stop(state, metric, when, cause, fulfilled=True))
            state.human_replied = True
            state.awaiting_since = None
            if state.proactive_due is not None:  # the customer just heard from us
                out.extend(self._arm_proactive(state, when))
        elif kind == "conversation_resolved":
            out.extend(self._stop(state, "resolution", at, cause, fulfilled=True))
            for metric in (*RESPONSE_METRICS, "phone_answer"):
                out.extend(self._stop(state, metric, at, cause, fulfilled=False, reason="resolved"))
            state.awaiting_since = None
            state.contacts = 0
            state.repeat_escalated = False
            state.human_replied = False  # the episode ended; a message now waits for a reopen
        elif kind == "conversation_assigned":
            policy = self._policy(change.facts)
            if change.reassignment_count >= policy.reassignment_threshold and not state.reassign_escalated:
                state.reassign_escalated = True
                out.extend(self._escalate_once(
                    state, REASSIGNED, "reassigned_too_often", at, cause,
                    f"reassigned {change.reassignment_count} times"))
        elif kind == "escalation_acknowledged":
            out.extend(self._acknowledge(state, change.escalation_id))
        elif kind == "order_linked" and change.order_kind == "delayed" and status != "resolved":
            # Variables match the notifier's `order_delayed` template (order_id is the human-facing number).
            variables = {"order_id": change.order_number or change.order_id, "order_ref": change.order_id,
                         "reason": change.reason,
                         "new_eta": change.order_eta.date().isoformat() if change.order_eta else ""}
            out.emits.append(ProactiveOut(
                template="order_delayed", variables={k: v for k, v in variables.items() if v},
                requested_at=at, id_parts=(cause, "proactive", "order_delayed")))

        # Re-apply budgets when what selects the policy changed (priority, queue, channel).
        if previous is not None and kind not in ("conversation_opened",):
            what = [name for name in ("priority", "queue", "channel")
                    if getattr(previous, name) != getattr(change.facts, name)]
            if what:
                reason = change.reason or f"{' and '.join(what)} changed"
                for clock in list(state.clocks.values()):
                    if clock.active:
                        out.extend(self._reapply(state, clock, at, cause, reason))
        # Pause / resume by status (per metric, per policy).
        for clock in list(state.clocks.values()):
            if not clock.active:
                continue
            policy = self._clock_policy(clock, change.facts)
            if clock.state == "running" and policy.pauses(clock.metric, status):
                out.extend(self._pause(state, clock, at, cause))
            elif clock.state == "paused" and not policy.pauses(clock.metric, status):
                out.extend(self._resume(state, clock, at, cause, policy))
        out.extend(self._sync_proactive(state, previous, at))
        return out

    def _is_active(self, state: ConversationSla, metric: str) -> bool:
        clock = state.clocks.get(metric)
        return clock is not None and clock.active

    def _customer_wrote(self, state: ConversationSla, at: datetime, cause: str, *, new_conversation: bool) -> Decisions:
        out = Decisions()
        facts = state.facts
        if state.awaiting_since is None:
            state.awaiting_since = at     # a new contact: the oldest unanswered message since the last reply
            state.contacts += 1
        if facts.channel == "phone" and not self._is_active(state, "phone_answer"):
            out.extend(self._start(state, "phone_answer", at, cause))   # a call is ringing
        if not state.human_replied:
            if state.first_response_episode != state.episode and facts.status != "resolved":
                # one first-response clock per episode, from the oldest unanswered message (the router
                # appends the customer's message before it reopens the conversation)
                state.first_response_episode = state.episode
                out.extend(self._start(state, "first_response", state.awaiting_since or at, cause))
        elif not self._is_active(state, "next_response"):
            out.extend(self._start(state, "next_response", state.awaiting_since, cause))
        if "resolution" not in state.clocks and facts.status != "resolved":
            out.extend(self._start(state, "resolution", at, cause))
        return out

    def _reopen_resolution(self, state: ConversationSla, at: datetime, cause: str) -> Decisions:
        out = Decisions()
        clock = state.clocks.get("resolution")
        policy = self._policy(state.facts)
        if clock is None or clock.active:
            return out
        if policy.reopen == "restart":
            return self._start(state, "resolution", at, cause)
        # resume: the same instance continues with the budget it had left when resolved
        clock.state = "paused"
        out.extend(self._resume(state, clock, at, cause, policy))
        return out

    def _acknowledge(self, state: ConversationSla, esc_id: str) -> Decisions:
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

    # --- proactive updates while waiting on a third party ----------------------------------------
    def _arm_proactive(self, state: ConversationSla, since: datetime) -> Decisions:
        out = Decisions()
        policy = self._policy(state.facts)
        if policy.proactive_update_after is None:
            return out
        state.proactive_due = since + policy.proactive_update_after
        out.arm.append(TimerArm(timer_id(state.conversation_id, PROACTIVE, state.proactive_n + 1, "proactive"),
                                state.conversation_id, "proactive", PROACTIVE, state.proactive_n + 1, 0,
                                state.proactive_due))
        return out

    def _sync_proactive(self, state: ConversationSla, previous: Facts | None, at: datetime) -> Decisions:
        waiting = state.facts.status == "waiting_on_third_party"
        was_waiting = previous is not None and previous.status == "waiting_on_third_party"
        if waiting and not was_waiting:
            return self._arm_proactive(state, at)
        out = Decisions()
        if not waiting and state.proactive_due is not None:
            out.cancel.append(timer_id(state.conversation_id, PROACTIVE, state.proactive_n + 1, "proactive"))
            state.proactive_due = None
        return out

    # --- timers --------------------------------------------------------------------------------
    def fire(self, state: ConversationSla, timer: FiredTimer, now: datetime) -> Decisions:
        out = Decisions()
        if timer.kind == "proactive":
            if (state.proactive_due is None or timer.instance != state.proactive_n + 1
                    or abs(state.proactive_due - timer.due) > SAME_TIME):
                return out  # stale
            state.proactive_n += 1
            out.emits.append(ProactiveOut(
                template="still_working",  # the notifier's template for "no news yet"
                variables={"waiting_hours": str(round(self._policy(state.facts).proactive_update_after
                                                      .total_seconds() / 3600, 1))},
                requested_at=now, id_parts=(timer.id, epoch_ms(timer.due))))
            out.extend(self._arm_proactive(state, timer.due))  # next update on the same schedule
            return out
        clock = state.clocks.get(timer.metric)
        if clock is None or clock.instance != timer.instance or clock.state != "running":
            return out  # stale: fulfilled, paused or restarted since it was armed
        policy = self._clock_policy(clock, state.facts)
        cal = self._calendar(clock)
        if timer.kind == "warn":
            lefts = policy.warnings_left(clock.target)
            if timer.level > len(lefts):
                return out
            left = lefts[timer.level - 1]
            fraction = 1 - left / clock.target
            expected = add_business_time(cal, clock.since, clock.remaining - left)
            if fraction <= clock.warned_fraction + 1e-9 or abs(expected - timer.due) > SAME_TIME:
                return out
            clock.warned_fraction = fraction
            out.emits.append(self._sla(state, clock, "warning", (timer.id, epoch_ms(timer.due)),
                                       fraction_elapsed=round(fraction, 4),
                                       seconds_left=max(0, _secs(_us(self._remaining_at(clock, now)))),
                                       detected_at=now))
            out.extend(self._arm(state, clock, policy))  # the next warning, or the breach
        elif timer.kind == "breach":
            if clock.breached or abs(clock.deadline - timer.due) > SAME_TIME:
                return out
            clock.breached = True
            clock.breached_at = now
            clock.warned_fraction = 1.0
            out.emits.append(self._sla(state, clock, "breached", (timer.id, epoch_ms(timer.due)),
                                       detected_at=now,
                                       late_by_ms=int((now - clock.deadline) / ONE_MS)))
            out.extend(self._arm(state, clock, policy))
        elif timer.kind == "escalate":
            levels = policy.escalation_levels
            if (not clock.breached or clock.acknowledged or timer.level != clock.escalated_level + 1
                    or timer.level > len(levels)):
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
                recipients=self._recipients(lv.recipients, state.facts), destinations=lv.destinations,
                detail=(f"{clock.metric.replace('_', ' ')} overdue by {int(late.total_seconds())} s"
                        + ("; previous level not acknowledged" if reason == "not_acknowledged" else "")),
                target_seconds=_secs(clock.target_us), id_parts=("escalation", esc_id)))
            if lv.level < len(levels):
                nxt = levels[lv.level]
                due, why = clock.deadline + nxt.after_breach, "sla_breached"
                if policy.ack_timeout is not None and now + policy.ack_timeout < due:
                    due, why = now + policy.ack_timeout, "not_acknowledged"
                out.arm.append(TimerArm(timer_id(state.conversation_id, clock.metric, clock.instance, "escalate",
                                                 nxt.level), state.conversation_id, "escalate", clock.metric,
                                        clock.instance, nxt.level, due, why))
        return out
