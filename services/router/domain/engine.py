"""The router's decisions applied to in-memory state: one input in, state changes and effects out.

The handler loads everything a batch needs into a Workspace (batched $in lookups), applies every
input in order with `Engine.apply`, then writes the dirty documents in bulk and publishes the
effects. Nothing here does I/O or reads a clock: time comes from the inputs (event time).
Effect ids are derived from the input's event id, so replaying an input yields the same ids.

The Engine is assembled from its steps, one module per concern: contact.py (identity, threading, the
customer's turn), bot_turn.py, orders.py, lifecycle.py (reopen, resolve, calls, chats, CSAT),
commands.py (agent commands) and scope_routing.py (queueing and assignment).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from . import receipts, timers
from .bot_turn import BotTurnSteps
from .commands import CommandSteps
from .config import RouterConfig
from .contact import ContactSteps
from .inputs import (
    CallIn,
    ChatEndIn,
    ChatStartIn,
    CommandIn,
    CsatIn,
    DeliveryIn,
    Input,
    MessageIn,
    OrderIn,
    TickIn,
)
from .lifecycle import LifecycleSteps
from .orders import OrderSteps
from .routing_ops import RoutingOps
from .scope_routing import ASSIGNMENTS_KEPT, DEQUEUES_KEPT  # noqa: F401 - re-exported
from .workspace import CONVERSATIONS, NOTIFICATIONS, Effect, Emitter, Recording, Rejected, Workspace, snapshot  # noqa: F401


def application_order(inputs: Sequence[Input]) -> list[int]:
    """Positions of a batch's inputs in the order to apply them: as consumed, chat ends last.
    Customer events and agent commands come on different topics, so in one batch an agent's reply
    can sit after the customer's closing of the chat it answered; the transcript must include it."""
    return sorted(range(len(inputs)), key=lambda i: isinstance(inputs[i], ChatEndIn))


class Engine(ContactSteps, BotTurnSteps, OrderSteps, LifecycleSteps, CommandSteps, RoutingOps):
    """Applies inputs to a Workspace; each step lives in the module of its concern (module docstring)."""

    def __init__(self, config: RouterConfig, derive: Callable[..., str], deferred_routing: bool = False) -> None:
        """`deferred_routing`: the contact side of each input runs first, recording what it asks of the
        routing side and what it emits; the routing side then replays that (routing_ops.py). The
        effects are the same; it is how the contact stage hands an input to the routing stage
        (contact_stage.py; tests run the engine in line, deferred and split)."""
        self.config = config
        self.derive = derive
        self.deferred_routing = deferred_routing

    def emitter(self, ws: Workspace, input_id: str, brand_id: str, at: datetime) -> Emitter:
        """Effects whose ids derive from `input_id` (timers use ids of what fired, not of the tick)."""
        return Emitter(ws, self.derive, input_id, brand_id, at)

    def message_id(self, input_event_id: str) -> str:
        """Id of the message a customer contact stores; its presence in the store marks the input applied."""
        return self.derive(input_event_id, "message")

    def message_id_for(self, inp: MessageIn) -> str:
        """The provider's own message id names the message when there is one, so a provider retry that
        ingest accepted as a new event (new event id) is still recognised as the same message."""
        if inp.provider_message_id:
            return self.derive("message", inp.brand_id, inp.channel, inp.provider, inp.provider_message_id)
        return self.message_id(inp.event_id)

    # ------------------------------------------------------------------ dispatch
    def apply(self, ws: Workspace, inp: Input) -> None:
        """Applies one input. Raises Rejected when the input cannot apply; the caller then drops the
        workspace (the routing side's rejections, such as an assignee who is not an agent, come after the
        contact side's changes), and nothing of it is published or written."""
        if not self.deferred_routing or isinstance(inp, TickIn):  # each stage will tick on its own
            self._dispatch(ws, inp)
            return
        self.replay(ws, self.record(ws, inp))

    def record(self, ws: Workspace, inp: Input) -> list[tuple]:
        """Applies the input's contact side only; returns what it asked of the routing side and what it
        emitted, in order (routing_ops.py): the delta to replay."""
        recording = ws.recording = Recording()
        try:
            if isinstance(inp, TickIn):  # the contact side's timers only: the routing stage ticks on its own
                timers.transcripts_due(self, ws, inp)
            else:
                self._dispatch(ws, inp)
        finally:
            ws.recording = None
        return recording.steps

    def _dispatch(self, ws: Workspace, inp: Input) -> None:
        if isinstance(inp, MessageIn):
            self._message(ws, inp)
        elif isinstance(inp, OrderIn):
            self._order(ws, inp)
        elif isinstance(inp, CommandIn):
            self._command(ws, inp)
        elif isinstance(inp, CallIn):
            self._call(ws, inp)
        elif isinstance(inp, ChatStartIn):
            self._chat_started(ws, inp)
        elif isinstance(inp, ChatEndIn):
            self._chat_ended(ws, inp)
        elif isinstance(inp, CsatIn):
            self._csat(ws, inp)
        elif isinstance(inp, DeliveryIn):
            receipts.apply_delivery(ws, inp)
        elif isinstance(inp, TickIn):
            timers.tick(self, ws, inp)  # due transcripts, reassignments (domain/timers.py)
        else:  # pragma: no cover - the codec only produces the types above
            raise Rejected(f"unsupported input {type(inp).__name__}")

