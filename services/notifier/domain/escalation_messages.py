"""Message bodies for people: Slack incoming-webhook payloads and signed generic webhooks."""
from __future__ import annotations

import json
from datetime import datetime

from switchboard.notifier.domain.model import EscalationView, HttpRequestSpec
from switchboard.notifier.domain.signature import SIGNATURE_HEADER, signature_header


def format_duration(seconds: float) -> str:
    seconds = round(seconds)
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{sign}{hours}h {minutes:02d}m"
    if minutes:
        return f"{sign}{minutes}m {secs:02d}s"
    return f"{sign}{secs}s"


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def _overdue_seconds(view: EscalationView) -> float | None:
    if view.deadline and view.raised_at:
        return (view.raised_at - view.deadline).total_seconds()
    return None


def _slack_escape(text: str) -> str:
    # Slack mrkdwn control characters; customer-controlled text must not inject links/mentions.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def conversation_fields(view) -> dict:
    """The conversation as every people's webhook describes it (escalations, assignment notices)."""
    return {"id": view.conversation_id, "customer_id": view.customer_id, "customer_name": view.customer_name,
            "channel": view.channel, "priority": view.priority, "queue": view.queue}


def slack_payload(view: EscalationView) -> dict:
    """Slack incoming-webhook message (text fallback + Block Kit) for an escalation."""
    overdue = _overdue_seconds(view)
    level = f"L{view.level}" + (f" {view.level_name}" if view.level_name else "")
    title = f"[{_slack_escape(view.brand_name)}] Escalation {level}: {view.reason.replace('_', ' ')}"
    customer = _slack_escape(view.customer_name or view.customer_id or "unknown customer")
    sla = f"{view.metric.replace('_', ' ')} target {format_duration(view.target_seconds)}"
    if overdue is not None:
        sla += f", overdue by {format_duration(overdue)}" if overdue >= 0 else f", due in {format_duration(-overdue)}"
    fields = [
        {"type": "mrkdwn", "text": f"*Conversation*\n<{view.link}|{view.conversation_id}>"},
        {"type": "mrkdwn", "text": f"*Customer*\n{customer}"},
        {"type": "mrkdwn", "text": f"*Channel*\n{view.channel}"},
        {"type": "mrkdwn", "text": f"*SLA*\n{sla}"},
        {"type": "mrkdwn", "text": f"*Priority / queue*\n{view.priority or '-'} / {view.queue or '-'}"},
        {"type": "mrkdwn", "text": f"*Assignee*\n{view.assignee_id or 'unassigned'}"},
    ]
    blocks: list[dict] = [
        {"type": "header", "text": {"type": "plain_text", "text": title[:150]}},
        {"type": "section", "fields": fields},
    ]
    context = []
    if view.deadline:
        context.append(f"Deadline {_iso(view.deadline)}")
    if view.recipients:
        context.append("For " + ", ".join(_slack_escape(r) for r in view.recipients))
    if view.detail:
        context.append(_slack_escape(view.detail))
    if context:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": " · ".join(context)}]})
    blocks.append({
        "type": "actions",
        "elements": [{"type": "button", "text": {"type": "plain_text", "text": "Open conversation"},
                      "url": view.link, "action_id": "open_conversation"}],
    })
    text = (f"{title} - conversation {view.conversation_id}, customer {customer}, "
            f"channel {view.channel}, {sla}. {view.link}")
    return {"text": text, "blocks": blocks}


def webhook_payload(view: EscalationView) -> dict:
    """Generic JSON body for escalation webhooks (documented in docs/webhook-signature.md)."""
    return {
        "type": "escalation.raised",
        "id": view.escalation_id,
        "brand_id": view.brand_id,
        "brand_name": view.brand_name,
        "level": view.level,
        "level_name": view.level_name,
        "reason": view.reason,
        "recipients": list(view.recipients),
        "detail": view.detail,
        "sla": {
            "metric": view.metric,
            "target_seconds": view.target_seconds,
            "deadline": _iso(view.deadline),
            "breached_at": _iso(view.breached_at),
            "overdue_seconds": _overdue_seconds(view),
        },
        "conversation": {
            **conversation_fields(view),
            "assignee_id": view.assignee_id,
            "link": view.link,
        },
        "raised_at": _iso(view.raised_at),
    }


def signed_webhook_request(
    url: str,
    payload: dict,
    secrets: list[str],
    timestamp: int,
    idempotency_key: str,
) -> HttpRequestSpec:
    """POST with the exact body bytes that were signed (compact, key-sorted JSON)."""
    body = json.dumps(payload, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()
    headers = {
        "Content-Type": "application/json",
        "Idempotency-Key": idempotency_key,
        "X-Switchboard-Event-Id": idempotency_key,
        "X-Switchboard-Event-Type": str(payload.get("type", "")),
    }
    if secrets:
        headers[SIGNATURE_HEADER] = signature_header(list(secrets), timestamp, body)
    return HttpRequestSpec("POST", url, headers, content=body)


def slack_request(url: str, payload: dict, idempotency_key: str) -> HttpRequestSpec:
    return HttpRequestSpec("POST", url, {"Content-Type": "application/json",
                                          "Idempotency-Key": idempotency_key}, json=payload)
