"""What the contact side may ask of the routing side, and nothing more: the seam along which the contact
stage (keyed by customer) and the routing stage are split (docs/router.md "Three stages").

The contact side (contact.py, bot_turn.py, orders.py, lifecycle.py, commands.py, queue_exit.py ...)
decides identity, threading, the bot and the conversation's phase; the routing side (scope_routing.py,
reassignment.py, position_updates.py) owns agents, queues, capacity, positions and `people_status`.
Every request from the first to the second is one of the operations below. Each has a contact half
(what the contact side records about itself: its phase, `went_to_people`) and a routing half, a step
that runs at once, or, with routing deferred (Engine(deferred_routing=True), how the contact stage
runs), is recorded in `Workspace.recording` with the effects the contact side emits: the ordered delta
the contact stage sends (domain/delta.py), or replayed in order once the input's contact side is done
(`replay`). tests/unit/router/test_router_seam.py fails when contact-side code reaches past these
operations; the golden effect sequences are the same either way. Pure, no I/O.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from . import queue_exit
from .model import (
    ASSIGNED,
    AWAY,
    BOT,
    OFFLINE,
    ONLINE,
    PEOPLE,
    QUEUED,
    RESOLVED,
    WAITING_ON_CUSTOMER,
    Conversation,
    derived_status,
)
from .routing import AGENT_REPLIED
from .scope_routing import ScopeRouting
from .workspace import CONTACT_FIELDS_ROUTING_READS, EMITTED, Rejected, contact_view  # noqa: F401 - re-exported

if TYPE_CHECKING:
    from .workspace import Emitter, Workspace

def fill_routing_fields(effect, conv: Conversation, phase: str) -> None:
    """An effect the contact side emitted gets the routing side's fields as they stand now, and the status
    of the phase it was emitted in."""
    effect.snapshot["status"] = derived_status(phase, conv.people_status)
    effect.snapshot["queue"], effect.snapshot["assignee_id"] = conv.queue, conv.assignee_id


class RoutingOps(ScopeRouting):
    """The routing side's operations, as the Engine (engine.py) offers them to every other step."""

    # ------------------------------------------------------------------ operations
    def enqueue(self, ws: Workspace, conv: Conversation, emit: Emitter) -> None:
        """The conversation now waits for a person (a handoff, a sticky reopen)."""
        conv.went_to_people = True
        conv.set_phase(PEOPLE)
        self._ask(ws, "_enqueue", conv, emit)

    def route(self, ws: Workspace, brand: str, emit: Emitter) -> None:
        """Assigns what can be assigned now, then tells waiting customers where they stand."""
        self._ask(ws, "_route", brand, emit)

    def release(self, ws: Workspace, conv: Conversation) -> None:
        """Frees the capacity the conversation holds on its assignee."""
        self._ask(ws, "_release", conv)

    def eta(self, ws: Workspace, brand: str, queue: str, position: int, at: datetime) -> int:
        return self._eta(ws, self.config.brand_routing(brand), brand, queue, position, at)

    def assign(self, ws: Workspace, conv: Conversation, agent_id: str, rule: str, explanation: str,
               emit: Emitter, queue: str = "") -> None:
        """A person assigned the conversation, in `queue` if given: booked even beyond the assignee's
        capacity, because they chose it. Rejected, before anything changes: an assignee routing.yaml does
        not list for the brand (the agents' source of truth, so a stage keyed by customer can tell
        without the routing side's state; the routing side checks again against its agents)."""
        brand = self.config.routing.get(conv.brand_id)
        if brand is None or all(a.agent_id != agent_id for a in brand.agents):
            raise Rejected(f"assign_conversation.assignee_id {agent_id!r} is not an agent of {conv.brand_id!r}")
        conv.went_to_people = True
        conv.set_phase(PEOPLE)
        self._ask(ws, "_assign_step", conv, agent_id, rule, explanation, emit, queue)

    def call_answered(self, ws: Workspace, conv: Conversation, agent_id: str, emit: Emitter) -> None:
        """A person picked up the customer's call: theirs, if the routing side knows them as an agent."""
        conv.went_to_people = True
        conv.set_phase(PEOPLE)
        self._ask(ws, "_call_answered_step", conv, agent_id, emit)

    def replied_by(self, ws: Workspace, conv: Conversation, agent_id: str, emit: Emitter) -> None:
        """A person answered the customer: they take the conversation unless another person holds it."""
        conv.went_to_people = True
        if conv.is_open:
            conv.set_phase(PEOPLE)
        self._ask(ws, "_replied_step", conv, agent_id, emit)

    def reprioritize(self, ws: Workspace, conv: Conversation) -> None:
        """The conversation's priority changed: a waiting one moves in the serving order."""
        self._ask(ws, "_reprioritize_step", conv)

    def resolved(self, ws: Workspace, conv: Conversation) -> None:
        """The conversation is over: out of the queue, its capacity freed."""
        self._ask(ws, "_resolved_step", conv)

    def back_to_people(self, ws: Workspace, conv: Conversation) -> None:
        """A reopened conversation goes back to people: whoever held it is now its previous assignee, whom
        the queue prefers (sticky)."""
        self._ask(ws, "_back_to_people_step", conv)

    def customer_replied(self, ws: Workspace, conv: Conversation, emit: Emitter) -> None:
        """The customer wrote while people have it: if a person waited on them, back to that person (or
        to the queue)."""
        self._ask(ws, "_customer_replied_step", conv, emit)

    def set_status(self, ws: Workspace, conv: Conversation, status: str, reason: str, emit: Emitter) -> None:
        """An agent's status (waiting on the customer or a third party, assigned): with people from now on.
        Rejected, before anything changes: ASSIGNED without an assignee (the contact stage reads the
        assignee from the routing stage's half of the stored conversation)."""
        if status == ASSIGNED and not conv.assignee_id:
            raise Rejected("set_conversation_status: ASSIGNED needs an assignee; use assign_conversation")
        previous = conv.status
        conv.set_phase(PEOPLE)
        self._ask(ws, "_set_status_step", conv, previous, status, reason, emit)

    def set_presence(self, ws: Workspace, brand: str, agent_id: str, presence: str, at: datetime,
                     emit: Emitter) -> None:
        self._ask(ws, "_set_presence_step", brand, agent_id, presence, at, emit)

    def keep_place_quietly(self, ws: Workspace, conv: Conversation, option: str, at: datetime) -> None:
        """The customer chose `option` of the queue-exit offer, each of which keeps their place
        (queue_exit.py): no more position messages, one at pickup."""
        self._ask(ws, "_keep_place_step", conv, option, at)

    # ------------------------------------------------------------------ recorded steps
    def _ask(self, ws: Workspace, step: str, *args) -> None:
        recording = ws.recording
        if recording is None:
            getattr(self, step)(ws, *args)
            return
        # The contact fields of every conversation this input has touched, as of this step: what the
        # effects the step emits must show (a stage keyed by customer sends them with the step).
        recording.touch(a for a in args if isinstance(a, Conversation))
        recording.steps.append((step, args, {cid: contact_view(c) for cid, c in recording.touched.items()}))

    def replay(self, ws: Workspace, steps: list[tuple]) -> None:
        """Runs an input's recorded steps in order: routing steps run, and each effect the contact side
        emitted gets the routing fields as they stand at that point (its status from the phase it was
        emitted in)."""
        for step in steps:
            if step[0] == EMITTED:
                _, effect, conv, view = step
                fill_routing_fields(effect, conv, view["phase"])
                ws.effects.append(effect)
            else:
                name, args, ws.contact_views = step
                try:
                    getattr(self, name)(ws, *args)
                finally:
                    ws.contact_views = {}

    # ------------------------------------------------------------------ routing halves
    def _assign_step(self, ws: Workspace, conv: Conversation, agent_id: str, rule: str, explanation: str,
                     emit: Emitter, queue: str) -> None:
        if not self._is_agent(ws, conv.brand_id, agent_id):
            raise Rejected(f"assign_conversation.assignee_id {agent_id!r} is not an agent of {conv.brand_id!r}")
        if queue:
            conv.queue = queue
        self._assign_directly(ws, conv, agent_id, rule, explanation, emit)

    def _call_answered_step(self, ws: Workspace, conv: Conversation, agent_id: str, emit: Emitter) -> None:
        if self._is_agent(ws, conv.brand_id, agent_id):
            self._assign_directly(ws, conv, agent_id, "answered_call", f"{agent_id} answered the call", emit)
            self._route(ws, conv.brand_id, emit)

    @staticmethod
    def _is_agent(ws: Workspace, brand: str, agent_id: str) -> bool:
        return bool(agent_id) and agent_id in ws.agents.get(brand, {})

    def _replied_step(self, ws: Workspace, conv: Conversation, agent_id: str, emit: Emitter) -> None:
        if conv.status in (BOT, QUEUED) or (conv.status != RESOLVED and not conv.assignee_id):
            self._assign_directly(ws, conv, agent_id, AGENT_REPLIED, f"{agent_id} replied to the customer", emit)

    def _reprioritize_step(self, ws: Workspace, conv: Conversation) -> None:
        entry = ws.queue.get(conv.brand_id, {}).get(conv.id)
        if entry is not None:
            entry.priority = conv.priority
            ws.dirty_queue.add((conv.brand_id, conv.id))
            if (line := ws.lines.get(conv.brand_id)) is not None:
                line.replace(entry)  # its place in the serving order changed

    def _resolved_step(self, ws: Workspace, conv: Conversation) -> None:
        self._dequeue(ws, conv)
        self._release(ws, conv)
        conv.set_people_status("")
        queue_exit.wait_ended(conv)

    def _back_to_people_step(self, ws: Workspace, conv: Conversation) -> None:
        if conv.assignee_id:
            conv.previous_assignee_id = conv.assignee_id
            conv.assignee_id = ""

    def _customer_replied_step(self, ws: Workspace, conv: Conversation, emit: Emitter) -> None:
        if conv.status != WAITING_ON_CUSTOMER:
            return
        if conv.assignee_id:
            conv.set_people_status(ASSIGNED)
            emit.event(conv, "status_changed", previous=WAITING_ON_CUSTOMER, current=ASSIGNED,
                       reason="customer replied")
        else:
            self._enqueue(ws, conv, emit)

    def _set_status_step(self, ws: Workspace, conv: Conversation, previous: str, status: str, reason: str,
                         emit: Emitter) -> None:
        if status != previous:
            if previous == QUEUED:
                self._dequeue(ws, conv)
            conv.set_people_status(status)
            emit.event(conv, "status_changed", previous=previous, current=status, reason=reason)

    def _set_presence_step(self, ws: Workspace, brand: str, agent_id: str, presence: str, at: datetime,
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

    def _keep_place_step(self, ws: Workspace, conv: Conversation, option: str, at: datetime) -> None:
        conv.queue_exit_offer = {**conv.queue_exit_offer, "chosen": option, "chosen_at": at}
        ws.dirty_conversations.add(conv.id)
        entry = ws.queue.get(conv.brand_id, {}).get(conv.id)
        if entry is not None:
            entry.quiet = True
            ws.dirty_queue.add((conv.brand_id, conv.id))
