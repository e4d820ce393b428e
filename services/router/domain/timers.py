"""The router's timers: what fires on its periodic tick.

The tick is an input like any other (`TickIn`, router clock time), applied under the same
single-writer batch path as consumed records: load -> apply -> publish -> save. What it needs is
found through `Conversation.timer_due_at` (the earliest moment a tick has something to do for that
conversation, kept by `refresh_due` after every batch and stored, so it survives a crash) and through
the agents' presence (away / offline graces, see domain/reassignment.py).

Effects of a tick take ids derived from what fired (conversation, session, assignee), never from the
tick: a tick repeated after a crash asks for the same messages and events again, and downstream
dedupe drops the copies.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING

from . import reassignment, transcript
from .inputs import TickIn

if TYPE_CHECKING:  # pragma: no cover
    from .engine import Engine, Workspace


def tick(engine: Engine, ws: Workspace, inp: TickIn) -> None:
    """The contact side's timers (transcripts), then the routing side's (reassignment): split along the
    seam, each stage will tick over what it owns (routing_ops.py)."""
    transcripts_due(engine, ws, inp)
    reassignment.tick(engine, ws, inp)


def transcripts_due(engine: Engine, ws: Workspace, inp: TickIn) -> None:
    cfg = engine.config.brand_routing(inp.brand_id)
    for conv in sorted((c for c in ws.conversations.values() if c.brand_id == inp.brand_id), key=lambda c: c.id):
        if conv.pending_transcripts and transcript.send_due(
            engine.emitter(ws, engine.derive("transcript", conv.id), inp.brand_id, inp.at),
            conv, ws.history.get(conv.id, []), inp.at, grace=cfg.transcript_grace,
            intent_id_of=lambda session, conv=conv: engine.transcript_id(conv, session),
        ):
            ws.dirty_conversations.add(conv.id)


def refresh_due(ws: Workspace, engine: Engine, transcripts: bool = True) -> None:
    """Sets `timer_due_at` on every conversation the batch changed. `transcripts=False`: the routing
    stage's timer, silence only (the contact stage keeps the transcripts' due time itself)."""
    for conv_id in ws.dirty_conversations:
        conv = ws.conversations.get(conv_id)
        if conv is None or not conv.id:
            continue
        cfg = engine.config.brand_routing(conv.brand_id)
        silence = reassignment.silence_due(conv, cfg)
        conv.timer_due_at = earliest([transcript.next_due(conv), silence]) if transcripts else silence


def earliest(times: Iterable[datetime | None]) -> datetime | None:
    return min((t for t in times if t is not None), default=None)
