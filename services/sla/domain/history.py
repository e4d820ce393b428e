"""What happened to a conversation's clocks, kept in its SLA state for people to read (pure).

The tracker decides; this records its decisions: each warning on the clock instance it belongs to,
each escalation raised on the conversation, and who acknowledged which escalation when. Nothing
here changes a decision or a timer.
"""
from __future__ import annotations

from datetime import datetime

from .effects import Decisions, EscalationOut, SlaOut
from .state import Change, ConversationSla

ACKNOWLEDGED = "escalation_acknowledged"


def record(state: ConversationSla, decisions: Decisions, change: Change | None = None) -> None:
    """Call after Tracker.apply (with its change) or Tracker.fire (without)."""
    for emit in decisions.emits:
        if isinstance(emit, SlaOut) and emit.event == "warning":
            clock = state.clocks.get(emit.metric)
            if clock is not None and clock.instance == emit.instance:
                clock.warnings.append({"fraction": emit.detail["fraction_elapsed"], "at": emit.detail["detected_at"]})
        elif isinstance(emit, EscalationOut) and not _find(state, emit.escalation_id):
            state.escalations.append({
                "escalation_id": emit.escalation_id, "level": emit.level, "level_name": emit.level_name,
                "reason": emit.reason, "metric": emit.metric, "instance": emit.instance,
                "raised_at": emit.raised_at, "acknowledged": False, "acknowledged_by": "",
                "acknowledged_at": None,
            })
    if change is not None and change.kind == ACKNOWLEDGED:
        acknowledge(state, change.escalation_id, change.agent_id, change.at)


def acknowledge(state: ConversationSla, escalation_id: str, agent_id: str, at: datetime) -> bool:
    """Marks the escalation acknowledged, and with it the lower levels of the same ladder (one clock
    instance, or one once-per-episode kind): an acknowledgement stops that ladder as a whole.
    The first acknowledgement stands. Returns False for an escalation this conversation never raised."""
    target = _find(state, escalation_id)
    if target is None:
        return False
    ladder = escalation_id.rsplit(":", 1)[0]
    for escalation in state.escalations:
        same_ladder = escalation["escalation_id"].rsplit(":", 1)[0] == ladder
        if same_ladder and escalation["level"] <= target["level"] and not escalation["acknowledged"]:
            escalation.update(acknowledged=True, acknowledged_by=agent_id, acknowledged_at=at)
    return True


def _find(state: ConversationSla, escalation_id: str) -> dict | None:
    return next((e for e in state.escalations if e["escalation_id"] == escalation_id), None)
