"""Reassignment: no customer waits on an agent who is not there.

On each router tick, for every conversation that waits for a person's reply (status assigned, a
customer message no person has answered, or a call not yet answered) and whose policy
(domain/reassign_config.py, per brand and queue, on by default) says so:

- the assignee is offline for longer than `offline_grace` -> `agent_offline`;
- the assignee is away for longer than `after_away` (chat and phone 5 min, messaging 30 min, off
  on email) -> `agent_away`; an agent back online within the grace keeps everything;
- nobody (the assignee) has replied for `after_silence` since the wait began (or since the
  assignment, when later) -> `agent_silent`. At `silence_warning_at` of that time the assignee is
  warned first (an AGENT_ASSIGNED reminder and an AssigneeUnavailable event with escalate false).

A move puts the conversation back in its queue with its original `enqueued_at` and priority,
preferring an agent who already handled it (sticky), never offering it back to a silent assignee,
and carries its reason on ConversationQueued and ConversationAssigned (whose reassignment_count
feeds the SLA's reassigned-too-often escalation). The customer hears nothing about the move; if the
conversation has to wait, they are told their place like anyone entering the queue.
When nobody else is eligible now, the conversation stays with its assignee and the wait is escalated
once (AssigneeUnavailable with escalate true; the SLA service raises the escalation). SLA clocks are
not touched: queue, channel and priority stay the same, so their deadlines do too.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from . import assignment_notice, routing
from .model import ASSIGNED, AWAY, OFFLINE, QUEUED, Agent, Conversation, QueueEntry
from .reassign_config import ReassignConfig, ReassignPolicy
from .waiting_line import line_for

if TYPE_CHECKING:  # pragma: no cover
    from .engine import Engine, Workspace

AGENT_OFFLINE, AGENT_AWAY, AGENT_SILENT = "agent_offline", "agent_away", "agent_silent"
SILENCE_WARNING = "silence_warning"  # rule of the reminder sent to the assignee
_DEFAULT = ReassignConfig()


def policy_for(cfg, conv: Conversation) -> ReassignPolicy:
    return (cfg.reassignment or _DEFAULT).policy(conv.queue, conv.channel)


def waits_for_a_person(conv: Conversation) -> bool:
    return conv.status == ASSIGNED and bool(conv.assignee_id) and conv.awaiting_reply_since is not None


def silence_since(conv: Conversation) -> datetime | None:
    if not waits_for_a_person(conv):
        return None
    return max(t for t in (conv.awaiting_reply_since, conv.assigned_at) if t is not None)


def silence_due(conv: Conversation, cfg) -> datetime | None:
    """When the next silence step (warning, then move) is due, for `Conversation.timer_due_at`."""
    since, policy = silence_since(conv), policy_for(cfg, conv)
    if since is None or not policy.enabled or policy.after_silence is None:
        return None
    warn_at = since + policy.after_silence * policy.silence_warning_at
    warned = conv.silence_warned_for == _silence_key(conv, since)
    return since + policy.after_silence if warned else warn_at


def absence(agent: Agent | None, policy: ReassignPolicy, now: datetime) -> str | None:
    """Why the assignee counts as gone now, or None (online, or still within the grace)."""
    if agent is None:
        return AGENT_OFFLINE  # no longer an agent of the brand
    since = agent.presence_since
    if agent.presence == OFFLINE and (since is None or now - since >= policy.offline_grace):
        return AGENT_OFFLINE
    away_long = policy.after_away is not None and (since is None or now - since >= policy.after_away)
    if agent.presence == AWAY and away_long:
        return AGENT_AWAY
    return None


def tick(engine: Engine, ws: Workspace, inp) -> None:
    cfg = engine.config.brand_routing(inp.brand_id)
    agents = ws.agents.get(inp.brand_id, {})
    for conv in sorted((c for c in ws.conversations.values() if c.brand_id == inp.brand_id), key=lambda c: c.id):
        if not waits_for_a_person(conv):
            continue
        policy = policy_for(cfg, conv)
        if not policy.enabled:
            continue
        reason = absence(agents.get(conv.assignee_id), policy, inp.at)
        since = silence_since(conv)
        if reason is None and policy.after_silence is not None and since is not None:
            if inp.at >= since + policy.after_silence:
                reason = AGENT_SILENT
            elif inp.at >= since + policy.after_silence * policy.silence_warning_at:
                _warn(engine, ws, conv, agents.get(conv.assignee_id), since, since + policy.after_silence, inp.at)
        if reason is not None:
            move_or_escalate(engine, ws, conv, reason, inp.at)


def _silence_key(conv: Conversation, since: datetime) -> str:
    return f"{conv.assignee_id}@{since.isoformat()}"


def _warn(engine: Engine, ws: Workspace, conv: Conversation, agent: Agent | None, since: datetime,
          move_at: datetime, now: datetime) -> None:
    key = _silence_key(conv, since)
    if conv.silence_warned_for == key:
        return
    conv.silence_warned_for = key
    ws.dirty_conversations.add(conv.id)
    emit = engine.emitter(ws, engine.derive("silence_warning", conv.id, key), conv.brand_id, now)
    minutes = int((now - since).total_seconds() // 60)
    detail = f"no reply for {minutes} min; offered to another agent at {move_at.strftime('%H:%M')} UTC"
    emit.event(conv, "assignee_unavailable", agent_id=conv.assignee_id, reason=AGENT_SILENT, escalate=False,
               detail=detail)
    assignment_notice.notify_assignee(emit, conv, agent, agent_id=conv.assignee_id, rule=SILENCE_WARNING,
                                      explanation=f"Reminder: the customer is waiting, {detail}.",
                                      previous_agent_id="")


def _probe(engine: Engine, conv: Conversation, reason: str) -> QueueEntry:
    cfg = engine.config.brand_routing(conv.brand_id)
    queue = conv.queue or cfg.choose_queue(language=conv.language, channel=conv.channel,
                                           product_line=conv.product_line, vip=conv.vip)
    return QueueEntry(
        id=conv.id, brand_id=conv.brand_id, queue=queue, priority=conv.priority, channel=conv.channel,
        capacity_class=cfg.capacity_class(conv.channel), language=conv.language,
        enqueued_at=conv.enqueued_at or conv.assigned_at or conv.opened_at, product_line=conv.product_line,
        vip=conv.vip, preferred_agent=handled_before(conv, conv.assignee_id), moved_from=conv.assignee_id,
        move_reason=reason, excluded_agent=conv.assignee_id if reason == AGENT_SILENT else "",
        last_notified_position=0,
    )


def handled_before(conv: Conversation, leaving: str) -> str:
    """The most recent other agent who had this conversation (sticky preference), or ""."""
    for step in reversed(conv.assignment_history):
        if step.get("agent_id") and step["agent_id"] != leaving:
            return step["agent_id"]
    return conv.previous_assignee_id if conv.previous_assignee_id != leaving else ""


def move_or_escalate(engine: Engine, ws: Workspace, conv: Conversation, reason: str, now: datetime) -> bool:
    """Back to the queue if someone else could take it now (True); else stays and the wait is escalated."""
    leaving = conv.assignee_id
    entry = _probe(engine, conv, reason)
    others = [a for a in ws.agents.get(conv.brand_id, {}).values()
              if a.agent_id != leaving and routing.ineligibility(a, entry) is None]
    stamp = conv.assigned_at.isoformat() if conv.assigned_at else ""
    if not others:
        key = f"{leaving}@{reason}@{stamp}"
        if conv.unattended_escalated_for != key:
            conv.unattended_escalated_for = key
            ws.dirty_conversations.add(conv.id)
            emit = engine.emitter(ws, engine.derive("unattended", conv.id, key), conv.brand_id, now)
            emit.event(conv, "assignee_unavailable", agent_id=leaving, reason=reason, escalate=True,
                       detail="nobody else eligible is available: stays assigned, wait escalated")
        return False
    emit = engine.emitter(ws, engine.derive("reassign", conv.id, leaving, reason, stamp), conv.brand_id, now)
    engine.release(ws, conv)
    conv.previous_assignee_id, conv.assignee_id = leaving, ""
    conv.set_people_status(QUEUED)
    conv.queue, conv.updated_at = entry.queue, now
    queue = ws.queue.setdefault(conv.brand_id, {})
    queue[conv.id] = entry
    ws.removed_queue.discard((conv.brand_id, conv.id))
    ws.dirty_queue.add((conv.brand_id, conv.id))
    ws.dirty_conversations.add(conv.id)
    cfg = engine.config.brand_routing(conv.brand_id)
    position = line_for(ws.lines, conv.brand_id, queue, cfg.class_rank).position(conv.id)[1]
    emit.event(conv, "conversation_queued", queue=conv.queue, position=position,
               eta_seconds=engine.eta(ws, conv.brand_id, conv.queue, position, now), reason=reason)
    engine.route(ws, conv.brand_id, emit)
    return True
