"""One timeline per conversation: the router's messages (texts as written) merged with the console's
activity facts (assignments with their routing explanation, status, priority, SLA, escalations ...).
Order: the conversations topic orders a conversation's facts (`seq`, the Kafka offset: the events of
one input share one time, and providers stamp whole seconds), and customer messages take the place of
the fact that brought them; everything else (SLA facts, replies and notes) falls in by time; then
facts before messages of the same place (the conversation opens, then its first message shows), then
id (stable across reloads)."""
from __future__ import annotations

from datetime import datetime

from switchboard.console.domain.handoff import reason_text


def _metric(detail: dict) -> str:
    return str(detail.get("metric", "")).replace("_", " ")


def describe(kind: str, detail: dict) -> str:
    """One line a person reads in the timeline for an activity fact."""
    d = detail
    texts = {
        "conversation_opened": lambda: "Conversation opened",
        "conversation_handed_off": lambda: "Handed to a person: "
        + reason_text(str(d.get("reason", ""))),
        "conversation_queued": lambda: f"Queued in {d.get('queue') or 'a queue'}"
        + (f" (position {d['position']})" if d.get("position") else ""),
        "conversation_assigned": lambda: f"Assigned to {d.get('assignee_id') or 'nobody'}"
        + (f" (was {d['previous_assignee_id']})" if d.get("previous_assignee_id") else "")
        + (f" · rule {d['rule']}" if d.get("rule") else ""),
        "status_changed": lambda: f"Status {d.get('previous', '?')} → {d.get('current', '?')}"
        + (f": {d['reason']}" if d.get("reason") else ""),
        "priority_changed": lambda: f"Priority {d.get('previous', '?')} → {d.get('current', '?')}"
        + (f": {d['reason']}" if d.get("reason") else ""),
        "conversation_resolved": lambda: f"Resolved by {d.get('resolved_by') or 'unknown'}"
        + (f" ({d['resolution_code']})" if d.get("resolution_code") else ""),
        "conversation_reopened": lambda: "Reopened" + (f": {d['reason']}" if d.get("reason") else ""),
        "order_linked": lambda: f"Order {d.get('order_number') or d.get('order_id', '')} linked"
        + (f" · {d['order_status']}" if d.get("order_status") else ""),
        "csat_recorded": lambda: f"Customer rated {d.get('score', '?')}/5",
        "chat_ended": lambda: "Chat ended",
        "call_answered": lambda: "Call answered",
        "escalation_acknowledged": lambda: f"Escalation acknowledged by {d.get('agent_id') or 'someone'}",
        "repeat_contact_detected": lambda: f"Repeat contact ({d.get('contacts_without_resolution', '?')} "
                                           "contacts without resolution)",
        "customers_merged": lambda: "Customer profiles merged",
        "sla_warning": lambda: f"SLA warning: {_metric(d)} deadline near",
        "sla_breached": lambda: f"SLA breached: {_metric(d)}",
        "escalation_raised": lambda: f"Escalated to level {d.get('level', '?')} {d.get('level_name', '')}".rstrip()
        + f" ({str(d.get('reason', '')).replace('_', ' ')})",
    }
    render = texts.get(kind)
    return render() if render else kind.replace("_", " ").capitalize()


def build_timeline(messages: list[dict], activities: list[dict]) -> list[dict]:
    """messages: the router's (with `at` as datetime); activities: console_activity documents of the
    conversation (timeline facts, plus the customer-message facts that place each message)."""
    placed = message_places(activities)
    entries = []
    for m in messages:
        mid = str(m.get("id", ""))
        entries.append({
            "type": "note" if m.get("internal") else "message", "id": mid, "at": m.get("at"), "seq": placed.get(mid),
            "author": m.get("author", ""), "agent_id": m.get("agent_id", ""), "channel": m.get("channel", ""),
            "text": m.get("text", ""), "attachments": list(m.get("attachments") or []),
            "auto_reply": bool(m.get("auto_reply")), "internal": bool(m.get("internal")),
        })
    for a in activities:
        if not a.get("timeline"):
            continue
        detail = dict(a.get("detail") or {})
        entries.append({"type": "event", "id": str(a["_id"]), "at": a.get("at"), "kind": a.get("kind", ""),
                        "seq": _seq(a), "summary": describe(a.get("kind", ""), detail), "detail": detail})
    return sorted(entries, key=_order_key(entries))


def _seq(activity: dict) -> int | None:
    seq = activity.get("seq")
    return seq if isinstance(seq, int) and not isinstance(seq, bool) and seq >= 0 else None


def message_places(activities: list[dict]) -> dict[str, int]:
    """Customer message id -> the offset of the fact that brought it (conversation_opened's first
    message, customer_message_appended): providers stamp whole seconds, so a message's own time can
    put it before one that came earlier; its fact's place on the topic cannot."""
    places = {}
    for a in activities:
        detail, seq = a.get("detail") or {}, _seq(a)
        mid = detail.get("first_message_id") if a.get("kind") == "conversation_opened" else detail.get("message_id")
        if seq is not None and mid and a.get("kind") in ("conversation_opened", "customer_message_appended"):
            places.setdefault(str(mid), seq)
    return places


def _order_key(entries: list[dict]):
    """Sequenced entries (facts and placed messages) keep their topic order: each one's time is taken
    as at least the time of the one before it. The rest fall in by their own time."""
    def ts(entry: dict) -> float:
        at = entry.get("at")
        return at.timestamp() if isinstance(at, datetime) else float("-inf")

    effective: dict[int, float] = {}
    latest = float("-inf")
    sequenced = sorted((e for e in entries if e.get("seq") is not None), key=lambda e: (e["seq"], e["type"] != "event"))
    for entry in sequenced:
        latest = max(latest, ts(entry))
        effective[id(entry)] = latest

    def key(entry: dict) -> tuple:
        seq = entry.get("seq")
        return (effective.get(id(entry), ts(entry)), seq is None, seq or 0, entry["type"] != "event", entry["id"])
    return key
