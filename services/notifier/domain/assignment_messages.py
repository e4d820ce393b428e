"""Assignment notices for agents: "a conversation was given to you", with the console link.

The words come from the `agent_assigned` template (rendered by the caller); this module shapes
them for Slack incoming webhooks and signed generic webhooks, and names the agent's email address.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from switchboard.notifier.domain.escalation_messages import _slack_escape, conversation_fields

AGENT_PLACEHOLDER = "{agent_id}"


@dataclass(frozen=True, slots=True)
class AssignmentView:
    """One assignment, in display form."""

    intent_id: str
    brand_id: str
    brand_name: str
    agent_id: str
    agent_name: str
    rule: str
    explanation: str
    previous_agent_id: str
    conversation_id: str
    customer_id: str
    customer_name: str
    channel: str
    priority: str
    queue: str
    language: str
    assigned_at: datetime | None
    link: str

    def template_variables(self) -> dict[str, object]:
        return {"brand_name": self.brand_name, "agent_name": self.agent_name, "agent_id": self.agent_id,
                "conversation_id": self.conversation_id, "customer": self.customer_name or self.customer_id,
                "channel": self.channel, "priority": self.priority.lower(), "queue": self.queue,
                "explanation": self.explanation, "rule": self.rule, "link": self.link}


def agent_address(address: str, agent_id: str) -> str:
    """An email destination's address for this agent: "{agent_id}@acme.example" names each agent;
    a fixed address (a team alias) is used as is."""
    if AGENT_PLACEHOLDER not in address:
        return address
    if not agent_id or any(c in agent_id for c in "@<>\r\n ,;"):
        raise ValueError(f"agent id {agent_id!r} cannot be put into an email address")
    return address.replace(AGENT_PLACEHOLDER, agent_id)


def assignment_slack_payload(view: AssignmentView, text: str) -> dict:
    """Slack message: the rendered text, the facts an agent scans, and an "Open conversation" button."""
    customer = _slack_escape(view.customer_name or view.customer_id or "unknown customer")
    fields = [
        {"type": "mrkdwn", "text": f"*Conversation*\n<{view.link}|{view.conversation_id}>"},
        {"type": "mrkdwn", "text": f"*Customer*\n{customer}"},
        {"type": "mrkdwn", "text": f"*Channel*\n{view.channel}"},
        {"type": "mrkdwn", "text": f"*Priority / queue*\n{view.priority.lower() or '-'} / {view.queue or '-'}"},
    ]
    blocks: list[dict] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": _slack_escape(text)}},
        {"type": "section", "fields": fields},
    ]
    if view.explanation:
        blocks.append({"type": "context", "elements": [
            {"type": "mrkdwn", "text": "Why you: " + _slack_escape(view.explanation)}]})
    blocks.append({
        "type": "actions",
        "elements": [{"type": "button", "text": {"type": "plain_text", "text": "Open conversation"},
                      "url": view.link, "action_id": "open_conversation"}],
    })
    return {"text": f"{_slack_escape(text)} {view.link}", "blocks": blocks}


def assignment_webhook_payload(view: AssignmentView, text: str) -> dict:
    """Generic JSON body for assignment webhooks (signed like escalations, docs/webhook-signature.md)."""
    return {
        "type": "conversation.assigned",
        "id": view.intent_id,
        "brand_id": view.brand_id,
        "brand_name": view.brand_name,
        "agent": {"id": view.agent_id, "name": view.agent_name},
        "previous_agent_id": view.previous_agent_id or None,
        "rule": view.rule,
        "explanation": view.explanation,
        "text": text,
        "conversation": {
            **conversation_fields(view),
            "language": view.language,
            "link": view.link,
        },
        "assigned_at": view.assigned_at.isoformat().replace("+00:00", "Z") if view.assigned_at else None,
    }
