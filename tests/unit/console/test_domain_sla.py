"""SLA clock folding, inbox state, countdown (pure)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from switchboard.console.domain.sla import SlaFact, apply_sla_fact, countdown_label, derive_state, next_deadline

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def fact(kind: str, metric="first_response", deadline=T0 + timedelta(hours=1), **kw) -> SlaFact:
    return SlaFact(kind=kind, metric=metric, instance=1, policy_id="p", deadline=deadline, target_seconds=3600, **kw)


def fold(*facts: SlaFact) -> dict:
    clocks: dict = {}
    for f in facts:
        clocks = apply_sla_fact(clocks, f)
    return clocks


def test_running_then_warned_is_at_risk_then_breached_then_fulfilled_is_quiet():
    assert derive_state(fold(fact("applied"))) == "running"
    assert derive_state(fold(fact("applied"), fact("warning"))) == "at_risk"
    assert derive_state(fold(fact("applied"), fact("warning"), fact("breached", at=T0))) == "breached"
    assert derive_state(fold(fact("applied"), fact("breached"), fact("fulfilled"))) == ""


def test_paused_only_when_every_live_clock_is_paused():
    resolution = dict(metric="resolution", deadline=T0 + timedelta(days=1))
    assert derive_state(fold(fact("applied"), fact("paused", remaining_seconds=60))) == "paused"
    both = fold(fact("applied"), fact("applied", **resolution), fact("paused"))
    assert derive_state(both) == "running"


def test_a_breach_outranks_everything_and_survives_a_pause():
    clocks = fold(fact("applied"), fact("breached"), fact("paused"))
    assert derive_state(clocks) == "breached"


def test_next_deadline_is_the_earliest_running_or_breached_clock():
    early, late = T0 + timedelta(minutes=10), T0 + timedelta(hours=5)
    clocks = fold(fact("applied", metric="resolution", deadline=late), fact("applied", deadline=early))
    assert next_deadline(clocks) == early
    clocks = apply_sla_fact(clocks, fact("fulfilled", deadline=early))
    assert next_deadline(clocks) == late
    assert next_deadline(fold(fact("applied"), fact("paused"))) is None


def test_reapplied_moves_the_deadline_and_clears_the_warning():
    new = T0 + timedelta(minutes=30)
    clocks = fold(fact("applied"), fact("warning"), fact("reapplied", deadline=new))
    assert derive_state(clocks) == "running" and next_deadline(clocks) == new


def test_the_input_clocks_are_not_modified():
    clocks = fold(fact("applied"))
    apply_sla_fact(clocks, fact("breached"))
    assert derive_state(clocks) == "running"


def test_countdown_labels():
    assert countdown_label("running", 125) == "2m left"
    assert countdown_label("breached", -4000) == "overdue 1h 6m"
    assert countdown_label("paused", 50) == "paused"
    assert countdown_label("", None) == ""
