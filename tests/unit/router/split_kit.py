"""Two stages in one test process: the contact side and the routing side of the router's engine, each on
a workspace of its own, joined only by the recorded steps (domain/routing_ops.py) - what a stage keyed
by customer would send the routing stage (docs/router.md "The stage keyed by customer"): each input's steps become a
Delta (domain/delta.py) that goes through the wire codec (adapters/delta_wire.py, encoded and decoded)
before the routing side replays it, so every split-mode test also proves the encoding.

`SplitEngine.apply(ws, input)`: `ws` is the contact side's workspace (customers, conversations, messages,
orders ...). The contact engine records the input there; the routing engine replays the delta on the
routing side's workspace, whose conversations are its own copies, built and refreshed only from the
contact fields each step carries (`workspace.contact_view`) plus the routing fields it decided itself.
The routing side's fields are then copied back onto the contact side's conversations, as a contact stage
would read them from the routing stage's documents. Agents, queues, waiting lines and queue statistics
are the routing side's; the contact side's workspace keeps the same objects only so that tests can look
at them (test_router_deferred_routing.py shows the contact side never touches them).
"""

from __future__ import annotations

import copy

from switchboard.router.adapters import delta_wire
from switchboard.router.domain import delta, reassignment, timers
from switchboard.router.domain.engine import Engine, Workspace
from switchboard.router.domain.inputs import Input, TickIn
from switchboard.router.domain.workspace import ROUTING_FIELDS


class SplitEngine:
    def __init__(self, config, derive) -> None:
        self.contact = Engine(config, derive, deferred_routing=True)
        self.routing = Engine(config, derive)
        self.derive = derive
        self.sent: list[delta.Delta] = []  # every input's delta, as the contact side sent it (before the wire)
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
            sent = delta.from_recording(inp.event_id, inp.brand_id, self.contact.record(ws, inp))
            received = delta_wire.decode(delta_wire.encode(sent))
            assert received == sent, "the wire codec changed the delta"
            self.sent.append(sent)
            touched = delta.replay(self.routing, rws, received)
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
