"""Telling an agent that a conversation was given to them.

The router decides who; the notifier decides how (per-brand destinations: Slack, webhook, email).
The notice is a NotificationRequested of kind AGENT_ASSIGNED whose intent id is derived from the
input that caused the assignment, so a replayed input asks for the same notice and the notifier
delivers it once.
"""

from __future__ import annotations

from typing import Protocol

from .model import Agent, Conversation
from .routing import AGENT_REPLIED, MANUAL

ANSWERED_CALL = "answered_call"
AGENT_ASSIGNED = "agent_assigned"


class Notifier(Protocol):
    def notify(self, conv: Conversation, kind: str, *, intent_id: str | None = None, **data) -> str: ...


def taken_by_the_agent(agent_id: str, rule: str, explanation: str) -> bool:
    """The agent took the conversation themself (replied, answered the call, assigned it to
    themself): they know already, a notice would be noise."""
    if rule in (AGENT_REPLIED, ANSWERED_CALL):
        return True
    return rule == MANUAL and explanation == f"assigned by {agent_id}"


def notify_assignee(
    emit: Notifier,
    conv: Conversation,
    agent: Agent | None,
    *,
    agent_id: str,
    rule: str,
    explanation: str,
    previous_agent_id: str,
) -> str | None:
    """Requests the assignment notice; returns its intent id, or None when none is due."""
    if taken_by_the_agent(agent_id, rule, explanation):
        return None
    return emit.notify(
        conv,
        AGENT_ASSIGNED,
        # The notice is for the agent: no customer recipient, no customer channel, no language.
        recipient={},
        channel="",
        language="",
        assignment={
            "agent_id": agent_id,
            "agent_name": agent.name if agent is not None and agent.name else agent_id,
            "rule": rule,
            "explanation": explanation,
            "previous_agent_id": previous_agent_id or "",
        },
    )
