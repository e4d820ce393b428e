"""`sla_conversations` documents <-> `SlaRecord` (the SLA state plus the handler's plumbing and the
conversation's pending timers).

Pure (no driver import), so unit tests can check that a state survives the round trip."""
from __future__ import annotations

import base64
from typing import Any

from switchboard.common.clock import utc
from switchboard.sla.adapters.ports import SlaRecord
from switchboard.sla.domain.effects import TimerArm
from switchboard.sla.domain.state import ConversationSla, Facts, SlaClock

# The earliest due time of a document's pending timers (None: no pending timer); indexed with
# `partition`, so a new owner of a partition finds the documents holding its pending timers.
NEXT_DUE = "next_due"


def timers_to_doc(timers: dict[str, TimerArm]) -> list[dict[str, Any]]:
    return [{"id": t.id, "due_at": t.due, "kind": t.kind, "metric": t.metric, "instance": t.instance,
             "level": t.level, "reason": t.reason} for t in sorted(timers.values(), key=lambda t: (t.due, t.id))]


def timers_from_doc(conversation_id: str, timers: list[dict[str, Any]] | None) -> dict[str, TimerArm]:
    return {t["id"]: TimerArm(id=t["id"], conversation_id=conversation_id, kind=t["kind"], metric=t["metric"],
                              instance=t["instance"], level=t["level"], due=utc(t["due_at"]),
                              reason=t.get("reason", "")) for t in timers or ()}


def to_doc(record: SlaRecord) -> dict[str, Any]:
    state = record.state
    return {
        "_id": state.conversation_id, "brand": state.brand,
        "facts": None if state.facts is None else {k: getattr(state.facts, k) for k in Facts.__slots__},
        "clocks": {m: {k: getattr(c, k) for k in SlaClock.__slots__} | {"warnings": [dict(w) for w in c.warnings]}
                   for m, c in state.clocks.items()},
        "instances": dict(state.instances), "episode": state.episode, "human_replied": state.human_replied,
        "first_response_episode": state.first_response_episode,
        "awaiting_since": state.awaiting_since, "contacts": state.contacts,
        "repeat_escalated": state.repeat_escalated, "reassign_escalated": state.reassign_escalated,
        "proactive_n": state.proactive_n, "proactive_due": state.proactive_due,
        "escalations": [dict(e) for e in state.escalations],
        "partition": record.partition, "last_offset": record.last_offset,
        # base64 text: nx-27017 cannot store binary values through a replace
        "snapshot": base64.b64encode(record.snapshot).decode(),
        "timers": timers_to_doc(record.timers),
        NEXT_DUE: min((t.due for t in record.timers.values()), default=None),
        "failed_timers": [dict(f) for f in record.failed_timers],
    }


def from_doc(doc: dict[str, Any]) -> SlaRecord:
    facts = doc.get("facts")
    state = ConversationSla(
        conversation_id=doc["_id"], brand=doc.get("brand", ""),
        facts=Facts(**facts) if facts else None,
        clocks={m: SlaClock(**c) for m, c in (doc.get("clocks") or {}).items()},
        instances=dict(doc.get("instances") or {}), episode=doc.get("episode", 1),
        human_replied=doc.get("human_replied", False),
        first_response_episode=doc.get("first_response_episode", 0), awaiting_since=doc.get("awaiting_since"),
        contacts=doc.get("contacts", 0), repeat_escalated=doc.get("repeat_escalated", False),
        reassign_escalated=doc.get("reassign_escalated", False), proactive_n=doc.get("proactive_n", 0),
        proactive_due=doc.get("proactive_due"), escalations=[dict(e) for e in doc.get("escalations") or ()],
    )
    return SlaRecord(state, partition=doc.get("partition", 0), last_offset=doc.get("last_offset", -1),
                     snapshot=base64.b64decode(doc.get("snapshot") or ""),
                     timers=timers_from_doc(doc["_id"], doc.get("timers")),
                     failed_timers=[dict(f) for f in doc.get("failed_timers") or ()])
