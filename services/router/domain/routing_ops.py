"""What the contact side may ask of the routing side, and nothing more: the seam along which the routing
stage is to be split from a stage keyed by customer (docs/router.md "Not built yet").

The contact side (contact.py, bot_turn.py, orders.py, lifecycle.py, commands.py, queue_exit.py ...)
decides identity, threading, the bot and the conversation's life; the routing side (scope_routing.py,
reassignment.py, position_updates.py) owns agents, queues, capacity and positions. Every request from
the first to the second is one of the operations below, named as the step a contact stage would send
in its delta; today they run in-process, in the order they always ran. tests/unit/router/
test_router_seam.py fails when contact-side code reaches past them (into `ws.agents`, `ws.queue`,
`ws.lines`, `ws.stats` or a private routing step). Pure, no I/O.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from .model import ASSIGNED, BOT, OFFLINE, ONLINE, PEOPLE, QUEUED, RESOLVED, WAITING_ON_CUSTOMER, Conversation
from .routing import AGENT_REPLIED
from .scope_routing import ScopeRouting
from .workspace import Rejected

if TYPE_CHECKING:
    from .workspace import Emitter, Workspace

AWAY = "away"


class RoutingOps(ScopeRouting):
    """The routing side's operations, as the Engine (engine.py) offers them to every other step."""

    def enqueue(self, ws: Workspace, conv: Conversation, emit: Emitter) -> None:
        """The conversation now waits for a person (a handoff, a sticky reopen)."""
        conv.went_to_people = True
        conv.set_phase(PEOPLE)
        self._enqueue(ws, conv, emit)

    def route(self, ws: Workspace, brand: str, emit: Emitter) -> None:
        """Assigns what can be assigned now, then tells waiting customers where they stand."""
        self._route(ws, brand, emit)

    def release(self, ws: Workspace, conv: Conversation) -> None:
        """Frees the capacity the conversation holds on its assignee."""
        self._release(ws, conv)

    def eta(self, ws: Workspace, brand: str, queue: str, position: int, at: datetime) -> int:
        return self._eta(ws, self.config.brand_routing(brand), brand, queue, position, at)

    def is_agent(self, ws: Workspace, brand: str, agent_id: str) -> bool:
        return bool(agent_id) and agent_id in ws.agents.get(brand, {})

    def assign(self, ws: Workspace, conv: Conversation, agent_id: str, rule: str, explanation: str,
               emit: Emitter, queue: str = "") -> None:
        """A person took the conversation (manual assignment, an answered call), in `queue` if given:
        booked even beyond their capacity, because they chose it."""
        conv.went_to_people = True
        conv.set_phase(PEOPLE)
        if queue:
            conv.queue = queue
        self._assign_directly(ws, conv, agent_id, rule, explanation, emit)

    def replied_by(self, ws: Workspace, conv: Conversation, agent_id: str, emit: Emitter) -> None:
        """A person answered the customer: they take the conversation unless another person holds it."""
        conv.went_to_people = True
        if conv.status in (BOT, QUEUED) or (conv.status != RESOLVED and not conv.assignee_id):
            conv.set_phase(PEOPLE)
            self._assign_directly(ws, conv, agent_id, AGENT_REPLIED, f"{agent_id} replied to the customer", emit)

    def reprioritize(self, ws: Workspace, conv: Conversation) -> None:
        """The conversation's priority changed: a waiting one moves in the serving order."""
        entry = ws.queue.get(conv.brand_id, {}).get(conv.id)
        if entry is not None:
            entry.priority = conv.priority
            ws.dirty_queue.add((conv.brand_id, conv.id))
            if (line := ws.lines.get(conv.brand_id)) is not None:
                line.replace(entry)  # its place in the serving order changed

    def resolved(self, ws: Workspace, conv: Conversation) -> None:
        """The conversation is over: out of the queue, its capacity freed."""
        self._dequeue(ws, conv)
        self._release(ws, conv)
        conv.people_status = ""  # (the contact side sets the phase, and with it the status, next)

    def reopened_by_person(self, ws: Workspace, conv: Conversation, emit: Emitter) -> None:
        """A reopened conversation a person had handled waits for that person again (sticky)."""
        if conv.assignee_id:
            conv.previous_assignee_id = conv.assignee_id
            conv.assignee_id = ""
        self._enqueue(ws, conv, emit)

    def customer_replied(self, ws: Workspace, conv: Conversation, emit: Emitter) -> None:
        """The customer wrote while a person waited on them: back to that person, or to the queue."""
        if conv.status != WAITING_ON_CUSTOMER:
            return
        if conv.assignee_id:
            conv.set_people_status(ASSIGNED)
            emit.event(conv, "status_changed", previous=WAITING_ON_CUSTOMER, current=ASSIGNED,
                       reason="customer replied")
        else:
            self._enqueue(ws, conv, emit)

    def set_status(self, ws: Workspace, conv: Conversation, status: str, reason: str, emit: Emitter) -> None:
        """An agent's status (waiting on the customer or a third party, assigned). Rejected: ASSIGNED
        without an assignee."""
        if status == ASSIGNED and not conv.assignee_id:
            raise Rejected("set_conversation_status: ASSIGNED needs an assignee; use assign_conversation")
        if status != conv.status:
            previous = conv.status
            if previous == QUEUED:
                self._dequeue(ws, conv)
            conv.set_phase(PEOPLE)  # an agent set it: with people from now on
            conv.set_people_status(status)
            emit.event(conv, "status_changed", previous=previous, current=status, reason=reason)

    def set_presence(self, ws: Workspace, brand: str, agent_id: str, presence: str, at: datetime,
                     emit: Emitter) -> None:
        agent = ws.agents.get(brand, {}).get(agent_id)
        if agent is None:
            raise Rejected(f"set_agent_presence: {agent_id!r} is not an agent of {brand!r} (add it to routing.yaml)")
        if presence not in (ONLINE, AWAY, OFFLINE):
            raise Rejected(f"set_agent_presence.presence must be online, away or offline, got {presence!r}")
        if presence == agent.presence:
            return
        if presence == ONLINE:
            agent.idle_since = at  # idle from the moment they are available
        agent.presence, agent.presence_since = presence, at  # away / offline graces (domain/reassignment.py)
        ws.dirty_agents.add((brand, agent.agent_id))
        self._route(ws, brand, emit)

    def keep_place_quietly(self, ws: Workspace, conv: Conversation) -> None:
        """The customer chose a way out of the queue that keeps their place (queue_exit.py): no more
        position messages, one at pickup."""
        entry = ws.queue.get(conv.brand_id, {}).get(conv.id)
        if entry is not None:
            entry.quiet = True
            ws.dirty_queue.add((conv.brand_id, conv.id))
