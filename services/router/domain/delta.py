"""One input's contact side as the routing stage receives it: the recorded steps (routing_ops.py) with
every object reference replaced by a value, so the steps can leave the process (adapters/delta_wire.py).

A Conversation becomes a ConversationRef (the routing stage holds its own copy, refreshed from the
contact fields each step carries); an Emitter becomes an EmitterSpec (its effect ids go on where the
contact side's left off). `replay` runs a delta on the routing stage's workspace. Pure, no I/O.
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from .model import Conversation
from .routing_ops import fill_routing_fields
from .workspace import EMITTED, Emitter, Workspace

if TYPE_CHECKING:
    from .engine import Engine

_CONVERSATION_FIELDS = frozenset(f.name for f in dataclasses.fields(Conversation))
ROUTED_INPUTS_KEPT = 16  # a delta comes again within a few of its successors (a redelivered batch)


@dataclass(frozen=True, slots=True)
class ConversationRef:
    """A conversation an operation names: the routing stage's copy of it is meant."""

    id: str


@dataclass(frozen=True, slots=True)
class EmitterSpec:
    """An Emitter as a value; `counts` are its ids issued so far, so the routing stage issues the next."""

    input_id: str
    brand_id: str
    at: datetime
    counts: tuple[tuple[tuple[str, ...], int], ...]


@dataclass(slots=True)
class Delta:
    """What the contact stage sends the routing stage for one input: its steps, in order. A step is
    `(EMITTED, effect, conversation_id, view)` or `(op_name, args, views)` (routing_ops.py), args holding
    ConversationRef / EmitterSpec in place of the objects."""

    input_id: str
    brand_id: str
    steps: list[tuple]

    def routed(self) -> set[str]:
        """The conversations its routing steps name (enqueue, assign, resolved ...): those whose routing half
        it changes. Steps naming none (route the brand, an agent's presence) decide from the routing
        state alone, so they change nothing when run again on their own result."""
        return {a.id for step in self.steps if step[0] != EMITTED for a in step[1]
                if isinstance(a, ConversationRef) and a.id}

    def conversation_ids(self) -> set[str]:
        """Every conversation the steps name: what the routing stage must load before replaying them."""
        ids: set[str] = set()
        for step in self.steps:
            if step[0] == EMITTED:
                ids.add(step[2])
                continue
            _, args, views = step
            ids.update(views)
            ids.update(a.id for a in args if isinstance(a, ConversationRef))
        ids.discard("")  # an effect about a customer without a conversation (a merge)
        return ids


def from_recording(input_id: str, brand_id: str, steps: list[tuple]) -> Delta:
    """The delta of an input's recorded steps (Engine.record). One Emitter gives one EmitterSpec, its
    counts as they stand now (after the contact side finished: the routing steps run after it)."""
    specs: dict[int, EmitterSpec] = {}

    def value(arg):
        if isinstance(arg, Conversation):
            return ConversationRef(arg.id)
        if isinstance(arg, Emitter):
            spec = specs.get(id(arg))
            if spec is None:
                spec = specs[id(arg)] = EmitterSpec(arg.input_id, arg.brand_id, arg.at, tuple(arg._counts.items()))
            return spec
        return arg

    out: list[tuple] = []
    for step in steps:
        if step[0] == EMITTED:
            _, effect, conv, view = step
            out.append((EMITTED, effect, conv.id, view))
        else:
            name, args, views = step
            out.append((name, tuple(value(a) for a in args), views))
    return Delta(input_id, brand_id, out)


def applied(rws: Workspace, delta: Delta) -> bool:
    """Whether the routing stage applied this delta already: every conversation its routing steps name
    lists its input. A delta whose steps name none is never marked: run again, its steps change nothing
    and its effects repeat their ids, which every consumer drops; it costs no write."""
    named = delta.routed()
    return bool(named) and all(c in rws.conversations and delta.input_id in rws.conversations[c].routed_inputs
                               for c in named)


def replay(engine: Engine, rws: Workspace, delta: Delta) -> set[str]:
    """Runs the delta on the routing stage's workspace with an in-line `engine`: each step first brings
    the routing copies of the conversations it carries up to the contact fields as of that step (what
    its effects must show), then runs; an emitted effect gets the routing fields as they stand. Returns
    the conversations its routing steps name (`Delta.routed`), each now listing the delta's input
    (`applied`); the routing steps mark what else they change dirty themselves."""
    emitters: dict[EmitterSpec, Emitter] = {}  # equal specs: one Emitter, so its ids never repeat

    def value(arg):
        if isinstance(arg, ConversationRef):
            return rws.conversations[arg.id]
        if isinstance(arg, EmitterSpec):
            emitter = emitters.get(arg)
            if emitter is None:
                emitter = emitters[arg] = Emitter(rws, engine.derive, arg.input_id, arg.brand_id, arg.at)
                emitter._counts = dict(arg.counts)
            return emitter
        return arg

    for step in delta.steps:
        if step[0] == EMITTED:
            _, effect, conv_id, view = step
            fill_routing_fields(effect, _copy(rws, view), view["phase"])
            rws.effects.append(effect)
            continue
        name, args, views = step
        for view in views.values():
            _copy(rws, view)
        getattr(engine, name)(rws, *(value(a) for a in args))
    named = delta.routed()
    for conv_id in named:
        if (conv := rws.conversations.get(conv_id)) is not None and delta.input_id not in conv.routed_inputs:
            conv.routed_inputs = [*conv.routed_inputs[-(ROUTED_INPUTS_KEPT - 1):], delta.input_id]
    return named


def _copy(rws: Workspace, view: dict) -> Conversation:
    """The routing stage's copy of the conversation, its contact fields as the step carries them; made
    from the view when the routing stage has none (a conversation the contact stage just opened)."""
    conv_id = view["conversation_id"]
    conv = rws.conversations.get(conv_id) if conv_id else None
    if conv is None:
        conv = Conversation(
            id=conv_id,
            brand_id=view["brand_id"],
            customer_id=view["customer_id"],
            opened_at=view["opened_at"],
            channel=view["channel"],
            phase=view["phase"],
        )
        if conv_id:
            rws.conversations[conv_id] = conv
    for key, value in view.items():
        name = "id" if key == "conversation_id" else key
        if name == "phase":
            conv.set_phase(value)
        elif name in _CONVERSATION_FIELDS:
            setattr(conv, name, copy.deepcopy(value))
    return conv
