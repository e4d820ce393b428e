"""Two stages in one test process: the contact side and the routing side of the router's engine, each on
a workspace of its own, joined only by the recorded steps (domain/routing_ops.py) - what a stage keyed
by customer would send the routing stage (docs/router.md "Not built yet").

`SplitEngine.apply(ws, input)`: `ws` is the contact side's workspace (customers, conversations, messages,
orders ...). The contact engine records the input there; the routing engine replays the steps on the
routing side's workspace, whose conversations are its own copies, built and refreshed only from the
contact fields each step carries (`workspace.contact_view`) plus the routing fields it decided itself.
The routing side's fields are then copied back onto the contact side's conversations, as a contact stage
would read them from the routing stage's documents. Agents, queues, waiting lines and queue statistics
are the routing side's; the contact side's workspace keeps the same objects only so that tests can look
at them (test_router_deferred_routing.py shows the contact side never touches them).
"""

from __future__ import annotations

import copy
import dataclasses

from switchboard.router.domain import reassignment, timers
from switchboard.router.domain.engine import Engine, Workspace
from switchboard.router.domain.inputs import Input, TickIn
from switchboard.router.domain.model import Conversation
from switchboard.router.domain.routing_ops import fill_routing_fields
from switchboard.router.domain.workspace import EMITTED, ROUTING_FIELDS, Emitter


class SplitEngine:
    def __init__(self, config, derive) -> None:
        self.contact = Engine(config, derive, deferred_routing=True)
        self.routing = Engine(config, derive)
        self.derive = derive
        self._routing_ws: dict[int, tuple[Workspace, Workspace]] = {}  # id -> (contact's, routing's): held, so
        # an id is never reused while its routing side is remembered

    def __getattr__(self, name: str):
        return getattr(self.contact, name)  # ids, config: the contact engine's

    def apply(self, ws: Workspace, inp: Input) -> None:
        rws = self._routing_side(ws)
        if isinstance(inp, TickIn):  # each side ticks over what it owns
            timers.transcripts_due(self.contact, ws, inp)
            reassignment.tick(self.routing, rws, inp)
            touched = set(rws.conversations)
        else:
            steps = self.contact.record(ws, inp)
            touched = self._replay(rws, steps)
        ws.effects.extend(rws.effects)
        rws.effects.clear()
        # What the routing side changed: written by it (dirty), and read back by the contact side.
        for conv_id in touched | rws.dirty_conversations:
            conv, mine = rws.conversations.get(conv_id), ws.conversations.get(conv_id)
            if conv is not None and mine is not None:
                for name in ROUTING_FIELDS:
                    setattr(mine, name, copy.deepcopy(getattr(conv, name)))
                mine.set_people_status(conv.people_status)  # (and with it the status the contact side sees)
        ws.dirty_conversations |= rws.dirty_conversations
        rws.dirty_conversations.clear()

    def _routing_side(self, ws: Workspace) -> Workspace:
        rws = self._routing_ws.get(id(ws), (None, None))[1]
        if rws is None:
            rws = Workspace()
            self._routing_ws[id(ws)] = (ws, rws)
        rws.agents, rws.queue, rws.stats, rws.lines = ws.agents, ws.queue, ws.stats, ws.lines
        if len(rws.conversations) < len(ws.conversations):
            for conv in ws.conversations.values():  # put there by the test itself: as if read from the store
                if conv.id and conv.id not in rws.conversations:
                    rws.conversations[conv.id] = copy.deepcopy(conv)
        return rws

    def _replay(self, rws: Workspace, steps: list[tuple]) -> set[str]:
        """Replays the steps on the routing side; returns the conversations they carried."""
        emitters: dict[int, Emitter] = {}
        carried: set[str] = set()
        for step in steps:
            if step[0] == EMITTED:
                _, effect, _conv, view = step
                fill_routing_fields(effect, self._copy(rws, view), view["phase"])
                rws.effects.append(effect)
                carried.add(view["conversation_id"])
                continue
            name, args, views = step
            for view in views.values():
                self._copy(rws, view)
            carried.update(views)
            getattr(self.routing, name)(rws, *(self._mapped(rws, a, emitters) for a in args))
        return carried

    def _mapped(self, rws: Workspace, arg, emitters: dict[int, Emitter]):
        if isinstance(arg, Conversation):
            return rws.conversations[arg.id]
        if isinstance(arg, Emitter):
            emitter = emitters.get(id(arg))
            if emitter is None:
                emitter = emitters[id(arg)] = Emitter(rws, self.derive, arg.input_id, arg.brand_id, arg.at)
                emitter._counts = dict(arg._counts)  # ids go on where the contact side's left off
            return emitter
        return arg

    @staticmethod
    def _copy(rws: Workspace, view: dict) -> Conversation:
        """The routing side's copy of the conversation, its contact fields as the step carries them."""
        conv_id = view["conversation_id"]
        conv = rws.conversations.get(conv_id) if conv_id else None
        if conv is None:
            conv = Conversation(id=conv_id, brand_id=view["brand_id"], customer_id=view["customer_id"],
                                opened_at=view["opened_at"], channel=view["channel"], phase=view["phase"])
            if conv_id:
                rws.conversations[conv_id] = conv
        names = {f.name for f in dataclasses.fields(Conversation)}
        for key, value in view.items():
            name = "id" if key == "conversation_id" else key
            if name == "phase":
                conv.set_phase(value)
            elif name in names:
                setattr(conv, name, copy.deepcopy(value))
        return conv
