"""Golden effect sequences: the exact effects the engine emits, in order, for scripted scenarios (pure).

The net under the contact / routing split (docs/router.md "The stage keyed by customer"): every refactor step must
leave these sequences unchanged. Each entry is one effect of `ws.effects`: topic, case, key, event id
(derived from the input's id, so it proves id derivation unchanged), plus the snapshot's routing
fields for `conversations` events and the template for notifications.

Every input here names its own event id: the kit's counter would make ids depend on test order.
After an intended change, regenerate the golden file and review its diff:

    SWITCHBOARD_UPDATE_GOLDEN=1 .venv/bin/pytest tests/unit/router/test_router_effect_sequences.py
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from router_unit_kit import T0, agents_for, command, message, tick
from switchboard.router.domain.engine import CONVERSATIONS, Effect, Engine, Workspace
from switchboard.router.domain.inputs import CallIn, ChatEndIn, ChatStartIn, OrderIn
from switchboard.router.domain.model import ASSIGNED, BOT, HIGH, QUEUED, RESOLVED, WAITING_ON_CUSTOMER, Handle

GOLDEN = Path(__file__).parent / "golden" / "effect_sequences.json"
UPDATE_VARIABLE = "SWITCHBOARD_UPDATE_GOLDEN"
UPDATING = os.environ.get(UPDATE_VARIABLE) == "1"
REGENERATE = f"{UPDATE_VARIABLE}=1 .venv/bin/pytest tests/unit/router/test_router_effect_sequences.py"
SNAPSHOT_FIELDS = ("status", "assignee_id", "queue", "priority", "human_involved")
MIN = timedelta(minutes=1)
ANN = Handle("email", "ann@example.com")

Scenario = Callable[[Engine, object], Workspace]
SCENARIOS: dict[str, Scenario] = {}


def scenario(fn: Scenario) -> Scenario:
    SCENARIOS[fn.__name__] = fn
    return fn


def record(e: Effect) -> dict:
    """One effect as a compact, deterministic dict (no random ids exist: all derive from input ids)."""
    out = {"topic": e.topic, "case": e.case, "key": e.key, "event_id": e.event_id}
    if e.topic == CONVERSATIONS:
        out.update({name: e.snapshot[name] for name in SNAPSHOT_FIELDS})
    else:
        out["kind"] = e.case
        if "template" in e.data:
            out["template"] = e.data["template"]
    return out


# ------------------------------------------------------------------ helpers
def _ws(config, online: tuple[str, ...] = ()) -> Workspace:
    ws = Workspace()
    ws.agents["acme"] = agents_for(config, online=online)
    return ws


def _msg(event_id: str, text: str, sender: Handle = ANN, at=T0, **kw):
    return message(text, sender=sender, at=at, event_id=event_id, **kw)


def _cmd(event_id: str, kind: str, at=T0, agent: str = "", **fields):
    return command(kind, agent_id=agent, at=at, event_id=event_id, **fields)


def _since(ws: Workspace, mark: int) -> list[str]:
    return [e.case for e in ws.effects[mark:]]


def _conv(ws: Workspace, handle_value: str):
    return next(c for c in ws.conversations.values() if c.reply_handle["value"] == handle_value)


# ------------------------------------------------------------------ scenarios
@scenario
def faq_then_handoff_queued_then_assigned(engine: Engine, config) -> Workspace:
    ws = _ws(config)
    engine.apply(ws, _msg("s1-faq", "how long does shipping take"))
    assert _since(ws, 0) == ["conversation_opened", "customer_message_appended", "bot_replied", "bot_answer"]
    mark = len(ws.effects)
    engine.apply(ws, _msg("s1-human", "I need a human please", at=T0 + MIN))
    assert _since(ws, mark)[1:3] == ["conversation_handed_off", "conversation_queued"]
    conv = _conv(ws, ANN.value)
    assert conv.status == QUEUED
    mark = len(ws.effects)
    engine.apply(ws, _cmd("s1-online", "set_agent_presence", T0 + 2 * MIN, "alice", presence="online"))
    assert "conversation_assigned" in _since(ws, mark) and (conv.status, conv.assignee_id) == (ASSIGNED, "alice")
    return ws


@scenario
def agent_reply_takes_over_from_the_bot(engine: Engine, config) -> Workspace:
    ws = _ws(config, online=("alice",))
    engine.apply(ws, _msg("s2-order", "where is my order"))
    conv = _conv(ws, ANN.value)
    assert conv.status == BOT
    mark = len(ws.effects)
    engine.apply(ws, _cmd("s2-reply", "reply_to_conversation", T0 + MIN, "alice", conversation_id=conv.id,
                          text="Let me look into it.", reply_id="r-1"))
    assert _since(ws, mark) == ["conversation_handed_off", "conversation_assigned", "agent_replied", "agent_reply"]
    handed_off, assigned, replied = ws.effects[mark:mark + 3]
    assert not handed_off.snapshot["human_involved"] and replied.snapshot["human_involved"]
    assert assigned.data["rule"] == "agent_replied" and conv.assignee_id == "alice"
    assert assigned.snapshot["queue"] == "general"  # never queued: reported under the queue it would have waited in
    return ws


@scenario
def resolved_then_reopened_sticky_to_the_previous_assignee(engine: Engine, config) -> Workspace:
    ws = _ws(config, online=("alice", "bob"))
    engine.apply(ws, _msg("s3-human", "human please"))
    conv = _conv(ws, ANN.value)
    assert conv.assignee_id == "alice"
    engine.apply(ws, _cmd("s3-reply", "reply_to_conversation", T0 + MIN, "alice", conversation_id=conv.id,
                          text="Sorted.", reply_id="r-1"))
    engine.apply(ws, _cmd("s3-resolve", "resolve_conversation", T0 + 5 * MIN, "alice", conversation_id=conv.id))
    assert conv.status == RESOLVED and "csat_survey" in _since(ws, 0)
    mark = len(ws.effects)
    engine.apply(ws, _msg("s3-back", "one more thing", at=T0 + 10 * MIN))
    assert _since(ws, mark)[:4] == [
        "customer_message_appended", "conversation_reopened", "conversation_queued", "conversation_assigned"]
    reopened, assigned = ws.effects[mark + 1], ws.effects[mark + 3]
    assert (reopened.snapshot["status"], reopened.snapshot["assignee_id"]) == ("queued", "")  # waiting, held by none
    assert (assigned.data["assignee_id"], assigned.data["rule"]) == ("alice", "sticky")  # as the previous agent
    assert (conv.status, conv.assignee_id, conv.reopen_count) == (ASSIGNED, "alice", 1)
    return ws


@scenario
def long_queue_offer_then_the_customer_moves_to_email(engine: Engine, config) -> Workspace:
    ws = _ws(config)
    for i in range(10):  # as test_router_queue_exit._long_queue: ten chats ahead, nobody online
        engine.apply(ws, _msg(f"s4-f{i}", "human please", Handle("chat_session", f"f{i}"), T0 + timedelta(seconds=i)))
    engine.apply(ws, ChatStartIn("s4-start", "acme", "sess-x", T0, customer_name="Ann", email=ANN.value))
    subject = Handle("chat_session", "sess-x")
    mark = len(ws.effects)
    engine.apply(ws, _msg("s4-human", "human please", subject, T0 + MIN, chat_session_id="sess-x"))
    offer = ws.effects[-1]
    assert (offer.case, offer.data["template"], offer.data["variables"]["position"]) == (
        "queue_position", "queue_position_choices", "11")
    assert _since(ws, mark).count("queue_position") == 1  # the ten ahead are not told anything new
    mark = len(ws.effects)
    engine.apply(ws, _msg("s4-choice", "2", subject, T0 + 2 * MIN, chat_session_id="sess-x"))
    assert _since(ws, mark) == ["customer_message_appended", "queue_position"]
    assert ws.effects[-1].data["template"] == "queue_exit_confirmed"
    conv = _conv(ws, ANN.value)
    assert (conv.status, conv.reply_channel) == (QUEUED, "email")
    return ws


@scenario
def delayed_order_raises_priority_of_the_queued_conversation(engine: Engine, config) -> Workspace:
    ws = _ws(config)
    engine.apply(ws, _msg("s5-first", "agent please", Handle("email", "first@x.com")))
    engine.apply(ws, _msg("s5-ann", "agent please", at=T0 + timedelta(seconds=1)))
    mark = len(ws.effects)
    engine.apply(ws, OrderIn("s5-order", "acme", "o-2", "delayed", T0 + MIN, handles=(ANN,), reason="customs"))
    assert _since(ws, mark)[:2] == ["order_linked", "priority_changed"]
    assert ws.effects[mark + 1].snapshot["priority"] == HIGH
    engine.apply(ws, _cmd("s5-online", "set_agent_presence", T0 + 2 * MIN, "bob", presence="online"))
    ann, first = _conv(ws, ANN.value), _conv(ws, "first@x.com")
    assert (ann.assignee_id, first.status) == ("bob", QUEUED)  # bob has room for one: the delayed order first
    return ws


@scenario
def phone_call_rings_queues_and_is_answered(engine: Engine, config) -> Workspace:
    ws = _ws(config)
    caller = Handle("phone", "+4915112345678")
    engine.apply(ws, CallIn("s6-ring", "acme", "CA1", "ringing", T0, caller))
    conv = next(iter(ws.conversations.values()))
    assert conv.status == QUEUED and "conversation_handed_off" in _since(ws, 0)
    mark = len(ws.effects)
    engine.apply(ws, CallIn("s6-answer", "acme", "CA1", "in_progress", T0 + MIN, caller, agent_id="chen"))
    assert _since(ws, mark) == ["call_answered", "conversation_assigned"]  # chen took it: no notice to chen
    assert ws.effects[-1].data["rule"] == "answered_call" and (conv.status, conv.assignee_id) == (ASSIGNED, "chen")
    mark = len(ws.effects)
    engine.apply(ws, CallIn("s6-end", "acme", "CA1", "completed", T0 + 5 * MIN, caller))
    assert _since(ws, mark) == []
    return ws


@scenario
def offline_assignee_escalated_then_reassigned_on_the_tick(engine: Engine, config) -> Workspace:
    ws = _ws(config)
    engine.apply(ws, _cmd("s7-alice-on", "set_agent_presence", T0, "alice", presence="online"))
    engine.apply(ws, _msg("s7-human", "human please", Handle("chat_session", "s7"), T0 + timedelta(seconds=1)))
    conv = _conv(ws, "s7")
    assert conv.assignee_id == "alice"
    engine.apply(ws, _cmd("s7-alice-off", "set_agent_presence", T0 + 2 * MIN, "alice", presence="offline"))
    mark = len(ws.effects)
    engine.apply(ws, tick(T0 + 3 * MIN))  # within the offline grace
    assert _since(ws, mark) == []
    engine.apply(ws, tick(T0 + 5 * MIN))  # nobody else can take it: escalated, it stays with alice
    assert _since(ws, mark) == ["assignee_unavailable"] and ws.effects[-1].data["escalate"] is True
    engine.apply(ws, _cmd("s7-bob-on", "set_agent_presence", T0 + 6 * MIN, "bob", presence="online"))
    mark = len(ws.effects)
    engine.apply(ws, tick(T0 + 7 * MIN))
    assert _since(ws, mark)[:2] == ["conversation_queued", "conversation_assigned"]
    assert ws.effects[mark + 1].data["reason"] == "agent_offline" and conv.assignee_id == "bob"
    return ws


@scenario
def merge_two_customers_with_conversations(engine: Engine, config) -> Workspace:
    ws = _ws(config)
    engine.apply(ws, _msg("s8-email", "hi", Handle("email", "a@x.com")))
    engine.apply(ws, _msg("s8-telegram", "hi", Handle("telegram_id", "777"), T0 + MIN, channel="telegram"))
    survivor = ws.customer_of("acme", Handle("email", "a@x.com"))
    merged = ws.customer_of("acme", Handle("telegram_id", "777"))
    assert survivor != merged
    mark = len(ws.effects)
    engine.apply(ws, _cmd("s8-merge", "merge_customers", T0 + 2 * MIN, "alice",
                          surviving_customer_id=survivor, merged_customer_id=merged))
    assert _since(ws, mark) == ["customers_merged"] and ws.effects[-1].key == _conv(ws, "a@x.com").id
    assert {c.customer_id for c in ws.conversations.values()} == {survivor}
    mark = len(ws.effects)
    engine.apply(ws, _msg("s8-again", "any news?", Handle("telegram_id", "777"), T0 + 3 * MIN, channel="telegram"))
    assert len(ws.conversations) == 2 and _since(ws, mark)[0] == "customer_message_appended"
    return ws


@scenario
def manual_assign_waiting_on_customer_then_the_customer_replies(engine: Engine, config) -> Workspace:
    ws = _ws(config)
    engine.apply(ws, _msg("s9-human", "agent please"))
    conv = _conv(ws, ANN.value)
    mark = len(ws.effects)
    engine.apply(ws, _cmd("s9-assign", "assign_conversation", T0 + MIN, "bob", conversation_id=conv.id,
                          assignee_id="alice"))
    # Bob gave it to alice: she is told; the customer, told their place at the handoff, hears it is their turn.
    assert _since(ws, mark) == ["conversation_assigned", "agent_assigned", "queue_position"]
    assert ws.effects[-1].data["template"] == "queue_picked_up"
    engine.apply(ws, _cmd("s9-wait", "set_conversation_status", T0 + 2 * MIN, "alice", conversation_id=conv.id,
                          status=WAITING_ON_CUSTOMER, reason="asked for a photo"))
    assert conv.status == WAITING_ON_CUSTOMER
    mark = len(ws.effects)
    engine.apply(ws, _msg("s9-photo", "here is the photo", at=T0 + 3 * MIN))
    assert _since(ws, mark) == ["customer_message_appended", "status_changed"]
    assert ws.effects[-1].data["reason"] == "customer replied" and (conv.status, conv.assignee_id) == (
        ASSIGNED, "alice")
    return ws


@scenario
def chat_session_with_bot_and_agent_then_transcript(engine: Engine, config) -> Workspace:
    ws = _ws(config, online=("alice",))
    session = Handle("chat_session", "sess-1")
    engine.apply(ws, ChatStartIn("s10-start", "acme", "sess-1", T0, customer_name="Ann", email=ANN.value))
    assert ws.effects == []
    engine.apply(ws, _msg("s10-faq", "how long does shipping take", session, T0 + timedelta(seconds=5),
                          chat_session_id="sess-1"))
    engine.apply(ws, _msg("s10-human", "human please", session, T0 + MIN, chat_session_id="sess-1"))
    conv = _conv(ws, "sess-1")
    engine.apply(ws, _cmd("s10-reply", "reply_to_conversation", T0 + 2 * MIN, "alice", conversation_id=conv.id,
                          text="A replacement is on its way.", reply_id="r-1"))
    engine.apply(ws, ChatEndIn("s10-end", "acme", "sess-1", T0 + 3 * MIN, "customer"))
    assert ws.effects[-1].case == "chat_ended" and ws.effects[-1].data["transcript_requested"] is True
    mark = len(ws.effects)
    engine.apply(ws, tick(T0 + 6 * MIN))  # after the 2-minute grace
    assert _since(ws, mark) == ["transcript"]
    text = ws.effects[-1].data["text"]
    assert "Bot: Delivery usually takes" in text and "Agent (alice): A replacement is on its way." in text
    return ws


# ------------------------------------------------------------------ golden comparison
def _sequence(engine: Engine, config, name: str) -> list[dict]:
    return [record(e) for e in SCENARIOS[name](engine, config).effects]


def _dump(golden: dict[str, list[dict]]) -> str:
    """One effect per line, so a changed effect is one changed line in a review."""
    parts = []
    for name, entries in golden.items():
        lines = ",\n".join("    " + json.dumps(entry, ensure_ascii=False, sort_keys=False) for entry in entries)
        parts.append(f"  {json.dumps(name)}: [\n{lines}\n  ]")
    return "{\n" + ",\n".join(parts) + "\n}\n"


def _first_difference(expected: list[dict], actual: list[dict], context: int = 2) -> str:
    i = next((i for i, (a, b) in enumerate(zip(expected, actual, strict=False)) if a != b),
             min(len(expected), len(actual)))
    lines = [f"{len(expected)} effects expected, {len(actual)} emitted; first difference at entry {i}:"]
    for j in range(max(0, i - context), min(max(len(expected), len(actual)), i + context + 1)):
        want = expected[j] if j < len(expected) else "<none>"
        got = actual[j] if j < len(actual) else "<none>"
        marker = "  " if want == got else "!!"
        lines.append(f"{marker} [{j}] expected {json.dumps(want)}")
        if want != got:
            lines.append(f"{marker} [{j}] emitted  {json.dumps(got)}")
    return "\n".join(lines)


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_the_engine_emits_the_golden_effect_sequence(engine, config, name):
    actual = _sequence(engine, config, name)
    if UPDATING:
        return  # test_the_golden_file_holds_every_scenario writes the file
    golden = json.loads(GOLDEN.read_text(encoding="utf-8")) if GOLDEN.exists() else {}
    assert name in golden, f"{name} is not in {GOLDEN.name}; regenerate it: {REGENERATE}"
    if golden[name] != actual:
        pytest.fail(
            f"effect sequence of {name} changed\n{_first_difference(golden[name], actual)}\n"
            f"If the change is intended, regenerate and review the diff: {REGENERATE}",
            pytrace=False,
        )


def test_the_golden_file_holds_every_scenario(engine, config):
    if UPDATING:
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(_dump({name: _sequence(engine, config, name) for name in SCENARIOS}), encoding="utf-8")
    golden = json.loads(GOLDEN.read_text(encoding="utf-8"))
    assert list(golden) == list(SCENARIOS), f"scenarios and {GOLDEN.name} differ; regenerate: {REGENERATE}"


def test_event_ids_are_unique_within_each_scenario(engine, config):
    for name in SCENARIOS:
        ids = [entry["event_id"] for entry in _sequence(engine, config, name)]
        assert len(ids) == len(set(ids)), name
