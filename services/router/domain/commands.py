"""Agent commands: one typed command per kind (domain/inputs.py, decoded in adapters/codec.py), and a
table from command type to the function that applies it.

Steps of the Engine (engine.py); pure, no I/O.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from . import bot, identity, queue_exit, routing
from .inputs import (
    AcknowledgeEscalation,
    AddInternalNote,
    AssignConversation,
    ChangePriority,
    CommandIn,
    MergeCustomers,
    ReopenConversation,
    ReplyToConversation,
    ResolveConversation,
    SetAgentPresence,
    SetConversationStatus,
)
from .model import (
    ASSIGNED,
    BOT,
    URGENT,
    WAITING_ON_CUSTOMER,
    WAITING_ON_THIRD_PARTY,
    Conversation,
    Handle,
)
from .workspace import Emitter, Rejected, Workspace

if TYPE_CHECKING:
    from .config import RouterConfig
    from .engine import Engine

AGENT_SETTABLE = {WAITING_ON_CUSTOMER, WAITING_ON_THIRD_PARTY, ASSIGNED}
REPLY_IDS_KEPT = 200

CommandHandler = Callable[["Engine", Workspace, CommandIn, Emitter], None]
ConversationHandler = Callable[["Engine", Workspace, Conversation, CommandIn, Emitter], None]


class CommandSteps:
    """Applies agent commands through COMMAND_HANDLERS (`config`, `derive` are the Engine's)."""

    config: RouterConfig
    derive: Callable[..., str]

    def _command(self, ws: Workspace, cmd: CommandIn) -> None:
        handler = COMMAND_HANDLERS.get(type(cmd.command))
        if handler is None:  # pragma: no cover - the codec only produces the commands of the table
            raise Rejected(f"unsupported agent command {type(cmd.command).__name__}")
        handler(self, ws, cmd, Emitter(ws, self.derive, cmd.event_id, cmd.brand_id, cmd.at))


def _on_conversation(apply: ConversationHandler) -> CommandHandler:
    """A command on one conversation of the brand: found (or Rejected), marked dirty, then routing runs."""

    def handle(engine: Engine, ws: Workspace, cmd: CommandIn, emit: Emitter) -> None:
        if not cmd.conversation_id:
            raise Rejected(f"{cmd.kind}.conversation_id is required")
        conv = ws.conversations.get(cmd.conversation_id)
        if conv is None or conv.brand_id != cmd.brand_id:
            raise Rejected(
                f"{cmd.kind}.conversation_id {cmd.conversation_id!r} is not a conversation of brand {cmd.brand_id!r}"
            )
        ws.dirty_conversations.add(conv.id)
        apply(engine, ws, conv, cmd, emit)
        engine.route(ws, cmd.brand_id, emit)

    return handle


def _assign(engine: Engine, ws: Workspace, conv: Conversation, cmd: CommandIn, emit: Emitter) -> None:
    c: AssignConversation = cmd.command
    assignee = c.assignee_id or cmd.agent_id
    if not conv.is_open:
        raise Rejected("assign_conversation: the conversation is resolved; reopen it first")
    engine.assign(ws, conv, assignee, routing.MANUAL, f"assigned by {cmd.agent_id or 'desk'}", emit, queue=c.queue)


def _note(engine: Engine, ws: Workspace, conv: Conversation, cmd: CommandIn, emit: Emitter) -> None:
    c: AddInternalNote = cmd.command
    doc = {
        "_id": engine.derive(cmd.event_id, "note"),
        "conversation_id": conv.id,
        "brand_id": conv.brand_id,
        "author": "agent",
        "agent_id": cmd.agent_id,
        "internal": True,
        "text": c.text,
        "at": cmd.at,
    }
    ws.new_messages.append(doc)
    ws.history.setdefault(conv.id, []).append(doc)
    emit.event(conv, "internal_note_added", agent_id=cmd.agent_id)


def _resolve(engine: Engine, ws: Workspace, conv: Conversation, cmd: CommandIn, emit: Emitter) -> None:
    c: ResolveConversation = cmd.command
    if conv.is_open:
        engine._resolve(ws, conv, emit, cmd.agent_id or "desk", c.resolution_code)


def _reopen(engine: Engine, ws: Workspace, conv: Conversation, cmd: CommandIn, emit: Emitter) -> None:
    c: ReopenConversation = cmd.command
    if not conv.is_open:
        engine._reopen(ws, conv, emit, c.reason or "reopened by agent")


def _set_status(engine: Engine, ws: Workspace, conv: Conversation, cmd: CommandIn, emit: Emitter) -> None:
    c: SetConversationStatus = cmd.command
    status = c.status
    if status not in AGENT_SETTABLE:
        raise Rejected(f"set_conversation_status.status must be one of {sorted(AGENT_SETTABLE)}, got {status!r}")
    if not conv.is_open:
        raise Rejected("set_conversation_status: the conversation is resolved; reopen it first")
    engine.set_status(ws, conv, status, c.reason, emit)


def _change_priority(engine: Engine, ws: Workspace, conv: Conversation, cmd: CommandIn, emit: Emitter) -> None:
    c: ChangePriority = cmd.command
    priority = int(c.priority)
    if not 1 <= priority <= URGENT:
        raise Rejected(f"change_priority.priority must be LOW..URGENT, got {priority}")
    if priority != conv.priority:
        previous = conv.priority
        conv.priority = priority
        engine.reprioritize(ws, conv)
        emit.event(conv, "priority_changed", previous=previous, current=priority, reason=c.reason)


def _acknowledge(engine: Engine, ws: Workspace, conv: Conversation, cmd: CommandIn, emit: Emitter) -> None:
    c: AcknowledgeEscalation = cmd.command
    if not c.escalation_id:
        raise Rejected("acknowledge_escalation.escalation_id is required")
    if c.escalation_id not in conv.escalations_acknowledged:
        conv.escalations_acknowledged.append(c.escalation_id)
        emit.event(conv, "escalation_acknowledged", escalation_id=c.escalation_id, agent_id=cmd.agent_id)


def _reply(engine: Engine, ws: Workspace, conv: Conversation, cmd: CommandIn, emit: Emitter) -> None:
    c: ReplyToConversation = cmd.command
    if not c.text.strip() and not c.attachments:
        raise Rejected("reply_to_conversation.text is empty")
    reply_id = c.reply_id or cmd.event_id
    if reply_id in conv.reply_ids:
        return  # the desk sent the same reply twice
    if not cmd.agent_id:
        raise Rejected("AgentCommand.agent_id is required for a reply")
    if conv.phase == BOT:
        emit.event(
            conv,
            "conversation_handed_off",
            reason=bot.AGENT_TOOK_OVER,
            summary=f"Agent {cmd.agent_id} took over from the bot.",
        )
    engine.replied_by(ws, conv, cmd.agent_id, emit)
    conv.reply_ids = [*conv.reply_ids, reply_id][-REPLY_IDS_KEPT:]
    conv.human_involved = True
    conv.contacts_since_human_reply = 0
    conv.repeat_contact_reported = False
    conv.updated_at = cmd.at
    conv.awaiting_reply_since, conv.last_agent_reply_at = None, cmd.at
    intent_id = engine.derive("agent_reply", conv.brand_id, conv.id, reply_id)
    doc = {
        "_id": engine.derive("agent_reply_message", conv.brand_id, conv.id, reply_id),
        "conversation_id": conv.id,
        "brand_id": conv.brand_id,
        "author": "agent",
        "agent_id": cmd.agent_id,
        "channel": conv.channel,
        "text": c.text,
        "attachments": [dict(a) for a in c.attachments],
        "reply_id": reply_id,
        "intent_id": intent_id,
        "at": cmd.at,
    }
    ws.new_messages.append(doc)
    ws.history.setdefault(conv.id, []).append(doc)
    emit.event(conv, "agent_replied", agent_id=cmd.agent_id, reply_id=reply_id, intent_id=intent_id)
    emit.notify(
        conv, "agent_reply", intent_id=intent_id, template="", text=c.text, variables={"agent_id": cmd.agent_id}
    )


def _presence(engine: Engine, ws: Workspace, cmd: CommandIn, emit: Emitter) -> None:
    c: SetAgentPresence = cmd.command
    engine.set_presence(ws, cmd.brand_id, cmd.agent_id, c.presence, cmd.at, emit)


def _merge(engine: Engine, ws: Workspace, cmd: CommandIn, emit: Emitter) -> None:
    c: MergeCustomers = cmd.command
    surviving_id, merged_id = c.surviving_customer_id, c.merged_customer_id
    surviving, merged = ws.customers.get(surviving_id), ws.customers.get(merged_id)
    if surviving is None or merged is None or surviving.brand_id != cmd.brand_id or merged.brand_id != cmd.brand_id:
        raise Rejected(
            f"merge_customers: both customers must exist in brand {cmd.brand_id!r} "
            f"(surviving {surviving_id!r}, merged {merged_id!r})"
        )
    if surviving_id == merged_id:
        raise Rejected("merge_customers: a customer cannot be merged into itself")
    if merged.merged_into == surviving_id:
        return
    merged.merged_into = surviving_id
    for h in merged.handles:
        if h not in surviving.handles:
            surviving.handles.append(h)
        handle = Handle(h["kind"], h["value"])
        ws.handles[(cmd.brand_id, handle)] = surviving_id
        # A handle found through the merged customer's seed has no index document for the merge to
        # re-point (store_writes.py REASSIGN): the survivor gets one, so it resolves in one step.
        if identity.seeded(engine.derive, cmd.brand_id, handle, merged_id) and not identity.seeded(
            engine.derive, cmd.brand_id, handle, surviving_id
        ):
            ws.new_handles.append((cmd.brand_id, handle, surviving_id))
    for order_id in merged.order_ids:
        if order_id not in surviving.order_ids:
            surviving.order_ids.append(order_id)
    surviving.vip = surviving.vip or merged.vip
    surviving.merged_from.append(merged_id)
    mine = ws.conversations.get(surviving.last_conversation_id)
    theirs = ws.conversations.get(merged.last_conversation_id)
    if theirs is not None and (mine is None or (not mine.is_open and theirs.is_open)):
        surviving.last_conversation_id = theirs.id
    for conv in ws.conversations.values():
        if conv.customer_id == merged_id:
            conv.customer_id = surviving_id
            ws.dirty_conversations.add(conv.id)
        if conv.customer_id == surviving_id and queue_exit.note_reachable(conv, surviving):
            ws.dirty_conversations.add(conv.id)
    ws.merges.append((cmd.brand_id, merged_id, surviving_id))
    ws.dirty_customers.update({surviving_id, merged_id})
    target = ws.conversations.get(surviving.last_conversation_id)
    if target is None:
        target = Conversation(
            id="", brand_id=cmd.brand_id, customer_id=surviving_id, opened_at=cmd.at, channel="", status=""
        )
    emit.event(target, "customers_merged", surviving_customer_id=surviving_id, merged_customer_id=merged_id)


COMMAND_HANDLERS: dict[type, CommandHandler] = {
    AssignConversation: _on_conversation(_assign),
    ReplyToConversation: _on_conversation(_reply),
    AddInternalNote: _on_conversation(_note),
    ResolveConversation: _on_conversation(_resolve),
    ReopenConversation: _on_conversation(_reopen),
    SetConversationStatus: _on_conversation(_set_status),
    ChangePriority: _on_conversation(_change_priority),
    AcknowledgeEscalation: _on_conversation(_acknowledge),
    SetAgentPresence: _presence,
    MergeCustomers: _merge,
}
