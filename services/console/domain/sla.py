"""SLA clocks as the console sees them on the bus, and the inbox state derived from them.

One clock per (metric, instance). The inbox state of a conversation, most urgent first:
  breached  - a clock passed its deadline and is not fulfilled yet;
  at_risk   - a running clock raised a warning (e.g. 75% of its time used);
  running   - a clock is running;
  paused    - every live clock is paused (waiting on the customer or a third party);
  ""        - no live clock (fulfilled, cancelled, or none applied).
The countdown deadline is the earliest deadline of a running or breached clock (breached ones are
in the past, so the page shows "overdue by").
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

LIVE = ("running", "paused", "breached")


@dataclass(frozen=True)
class SlaFact:
    kind: str  # applied | warning | breached | fulfilled | paused | resumed | reapplied | cancelled
    metric: str
    instance: int
    policy_id: str
    deadline: datetime | None
    target_seconds: int
    at: datetime | None = None
    remaining_seconds: int | None = None


def clock_key(metric: str, instance: int) -> str:
    return f"{metric}_{instance}"


_NEXT_STATE = {"applied": "running", "reapplied": "running", "resumed": "running", "paused": "paused",
               "breached": "breached", "fulfilled": "fulfilled", "cancelled": "cancelled"}


def apply_sla_fact(clocks: dict[str, dict], fact: SlaFact) -> dict[str, dict]:
    """Returns the clocks after `fact`; the input is not modified."""
    key = clock_key(fact.metric, fact.instance)
    clock = dict(clocks.get(key) or {"metric": fact.metric, "instance": fact.instance, "state": "running",
                                     "warned": False, "breached_at": None, "remaining_seconds": None})
    clock["policy_id"] = fact.policy_id or clock.get("policy_id", "")
    clock["target_seconds"] = fact.target_seconds or clock.get("target_seconds", 0)
    if fact.deadline is not None:
        clock["deadline"] = fact.deadline
    clock.setdefault("deadline", None)
    if fact.kind == "warning":
        clock["warned"] = True
    elif fact.kind in _NEXT_STATE:
        if clock["state"] == "breached" and fact.kind in ("resumed", "paused"):
            pass  # a breach stays a breach until the clock is fulfilled or cancelled
        else:
            clock["state"] = _NEXT_STATE[fact.kind]
        if fact.kind == "breached":
            clock["breached_at"] = fact.at
        if fact.kind == "reapplied":
            clock["warned"] = False
        if fact.kind in ("paused", "resumed"):
            clock["remaining_seconds"] = fact.remaining_seconds
    return {**clocks, key: clock}


def derive_state(clocks: dict[str, dict]) -> str:
    states = [c["state"] for c in clocks.values() if c["state"] in LIVE]
    if "breached" in states:
        return "breached"
    if any(c["state"] == "running" and c.get("warned") for c in clocks.values()):
        return "at_risk"
    if "running" in states:
        return "running"
    return "paused" if states else ""


def next_deadline(clocks: dict[str, dict]) -> datetime | None:
    deadlines = [c["deadline"] for c in clocks.values()
                 if c["state"] in ("running", "breached") and c.get("deadline") is not None]
    return min(deadlines) if deadlines else None


def seconds_left(deadline: datetime | None, now: datetime) -> int | None:
    """Wall-clock seconds to the deadline (negative once passed). The conversation page shows the
    SLA service's business-time figure instead; the inbox uses this for its live countdown."""
    return None if deadline is None else int((deadline - now).total_seconds())


def countdown_label(state: str, seconds: int | None) -> str:
    """Human text for a countdown, e.g. "12m left", "overdue 3m", "paused"."""
    if state == "paused":
        return "paused"
    if seconds is None:
        return ""
    text = _duration(abs(seconds))
    return f"overdue {text}" if seconds < 0 else f"{text} left"


def _duration(seconds: int) -> str:
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m"
    if seconds < 86400:
        return f"{seconds // 3600}h {seconds % 3600 // 60}m"
    return f"{seconds // 86400}d {seconds % 86400 // 3600}h"
