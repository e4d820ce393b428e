"""Transcript after close: agent replies up to a grace after the chat's end are in it, whichever batch
brings them; it is sent once, on the tick after the grace (pure)."""

from __future__ import annotations

import copy
from dataclasses import replace
from datetime import timedelta

from router_unit_kit import T0, agents_for, command, derive, message, tick
from switchboard.router.domain import timers
from switchboard.router.domain.config import RouterConfig
from switchboard.router.domain.engine import Engine, Workspace
from switchboard.router.domain.inputs import ChatEndIn, ChatStartIn
from switchboard.router.domain.model import Handle

END = T0 + timedelta(minutes=3)


def _chat(engine: Engine, config) -> tuple[Workspace, str]:
    ws = Workspace()
    ws.agents["acme"] = agents_for(config, online=("alice",))
    engine.apply(ws, ChatStartIn("cs-1", "acme", "sess-1", T0, customer_name="Ann", email="ann@example.com"))
    engine.apply(ws, message("human please, the parcel is broken", sender=Handle("chat_session", "sess-1"),
                             chat_session_id="sess-1", at=T0 + timedelta(seconds=5)))
    (conv,) = ws.conversations.values()
    engine.apply(ws, ChatEndIn("ce-1", "acme", "sess-1", END, "customer"))
    return ws, conv.id


def _reply(conv_id: str, text: str, at, reply_id: str):
    return command("reply_to_conversation", agent_id="alice", conversation_id=conv_id, text=text,
                   reply_id=reply_id, at=at)


def _transcripts(ws: Workspace) -> list:
    return [e for e in ws.effects if e.case == "transcript"]


def test_a_reply_in_a_later_batch_within_the_grace_is_in_the_transcript_sent_once(engine, config):
    ws, conv_id = _chat(engine, config)
    engine.apply(ws, tick(END + timedelta(seconds=30)))
    assert _transcripts(ws) == []  # still within the grace: nothing yet
    engine.apply(ws, _reply(conv_id, "A replacement is on its way.", END + timedelta(seconds=40), "r-1"))
    engine.apply(ws, _reply(conv_id, "Too late for the transcript.", END + timedelta(minutes=3), "r-2"))
    engine.apply(ws, tick(END + timedelta(minutes=3, seconds=5)))
    engine.apply(ws, tick(END + timedelta(minutes=4)))
    (sent,) = _transcripts(ws)
    text = sent.data["text"]
    assert "Customer: human please" in text and "Agent (alice): A replacement is on its way." in text
    assert "Too late" not in text
    assert sent.data["recipient"] == {"kind": "email", "value": "ann@example.com"}


def test_a_repeated_tick_asks_for_the_same_transcript_id(engine, config):
    ws, _ = _chat(engine, config)
    before = copy.deepcopy(ws)
    engine.apply(ws, tick(END + timedelta(minutes=2)))
    engine.apply(before, tick(END + timedelta(minutes=5)))  # another tick after a crash: another tick id
    assert [e.event_id for e in _transcripts(ws)] == [e.event_id for e in _transcripts(before)]


def test_the_conversation_records_when_its_transcript_is_due(engine, config):
    ws, conv_id = _chat(engine, config)
    timers.refresh_due(ws, engine)
    assert ws.conversations[conv_id].timer_due_at == END + timedelta(minutes=2)
    engine.apply(ws, tick(END + timedelta(minutes=2)))
    timers.refresh_due(ws, engine)
    # Sent; what is due next is the silence warning of the unanswered customer (domain/reassignment.py).
    assert len(_transcripts(ws)) == 1 and ws.conversations[conv_id].pending_transcripts == []
    assert ws.conversations[conv_id].timer_due_at == T0 + timedelta(seconds=5) + timedelta(minutes=15)


def test_with_no_grace_the_transcript_goes_at_the_close(config):
    routing = {b: replace(r, transcript_grace=timedelta(0)) for b, r in config.routing.items()}
    engine = Engine(RouterConfig(routing=routing, bot=config.bot), derive)
    ws, _ = _chat(engine, config)
    assert len(_transcripts(ws)) == 1

