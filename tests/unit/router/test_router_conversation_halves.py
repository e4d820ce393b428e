"""One conversation document, two writers (docs/router.md "Three stages"): the contact stage and the routing
stage each write their own half (store_writes.conversation_half), every field is one stage's, the status
is the routing stage's alone; a document read back is whole again (model.Conversation.from_doc), and the
routing stage recognises a delta it applied by the conversations it names (delta.applied). Pure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from router_unit_kit import T0, derive
from switchboard.router.adapters.store_writes import (
    CONTACT,
    CONTACT_DUE_TS,
    CONTACT_PENDING,
    ROUTING,
    TIMER_DUE_TS,
    conversation_doc,
    conversation_half,
)
from switchboard.router.domain import delta
from switchboard.router.domain.delta import ConversationRef, Delta
from switchboard.router.domain.engine import Engine, Workspace
from switchboard.router.domain.model import ASSIGNED, BOT, PEOPLE, RESOLVED, Conversation, stored_time
from switchboard.router.domain.workspace import EMITTED, ROUTING_FIELDS, Effect, contact_view


def _conversation() -> Conversation:
    conv = Conversation(id="c-1", brand_id="acme", customer_id="cu-1", opened_at=T0, channel="chat", phase=PEOPLE)
    conv.set_people_status(ASSIGNED)
    conv.assignee_id, conv.queue, conv.thread_keys, conv.message_count = "alice", "general", ["chat:s-1"], 3
    conv.timer_due_at = T0 + timedelta(minutes=5)
    conv.pending_transcripts = [{"due_at": T0 + timedelta(minutes=1)}]
    return conv


def test_each_stage_sets_only_its_own_fields_and_together_they_write_every_field():
    conv = _conversation()
    contact, routing = conversation_half(conv, CONTACT), conversation_half(conv, ROUTING)
    assert set(routing["set"]) == {*ROUTING_FIELDS, "status", "timer_due_at", TIMER_DUE_TS}
    assert not set(contact["set"]) & set(routing["set"])
    assert {"thread_keys", "message_count", "phase", CONTACT_DUE_TS} <= set(contact["set"])
    # every field of the whole image is one stage's (a new Conversation field cannot be left unwritten)
    written = set(contact["set"]) | set(routing["set"]) | set(contact["on_insert"])
    assert written - {CONTACT_PENDING} == set(conversation_doc(conv)) - {"_id"}
    assert routing["set"]["status"] == "assigned" and routing["set"]["assignee_id"] == "alice"
    assert contact["set"][CONTACT_DUE_TS] == (T0 + timedelta(minutes=1)).timestamp()


def test_the_contact_stage_writes_the_status_only_where_the_phase_decides_it_and_opened_at_once():
    conv = _conversation()
    contact = conversation_half(conv, CONTACT)
    assert "status" not in contact["set"] and "status" not in contact["on_insert"]  # with people: routing's
    assert "opened_at" not in contact["set"] and contact["on_insert"]["opened_at"] == T0
    assert contact["set"][CONTACT_PENDING] is False
    for phase in (BOT, RESOLVED):
        conv.set_phase(phase)
        assert conversation_half(conv, CONTACT)["set"]["status"] == phase


def test_a_document_the_routing_stage_creates_first_is_marked_as_waiting_for_its_contact_half():
    on_insert = conversation_half(_conversation(), ROUTING)["on_insert"]
    assert on_insert == {"brand_id": "acme", "customer_id": "cu-1", "channel": "chat", "opened_at": T0,
                         CONTACT_PENDING: True}


def test_times_the_embedded_store_kept_as_text_read_back_as_utc_datetimes():
    doc = conversation_doc(_conversation())
    doc["assigned_at"] = "2026-01-05 09:00:00.123000"  # nx-27017: a top-level datetime `$set` on an existing doc
    doc["timer_due_at"] = "2026-01-05T09:05:00+00:00"
    conv = Conversation.from_doc(doc)
    assert conv.assigned_at == datetime(2026, 1, 5, 9, 0, 0, 123000, tzinfo=UTC)
    assert conv.timer_due_at == datetime(2026, 1, 5, 9, 5, tzinfo=UTC)
    assert stored_time(None) is None and stored_time(T0) is T0


def test_the_status_read_back_is_derived_from_both_halves_not_the_stored_one():
    doc = conversation_doc(_conversation())
    doc["status"] = "queued"  # written by the routing stage before the contact stage's later phase
    doc["phase"], doc["people_status"] = "resolved", ""
    assert Conversation.from_doc(doc).status == "resolved"


def _delta(input_id: str, conv: Conversation, routes: bool = True) -> Delta:
    effect = Effect("conversations", "message_added", f"e-{input_id}", conv.id, "acme", T0, {}, {}, input_id)
    steps = [(EMITTED, effect, conv.id, contact_view(conv))]
    if routes:  # a routing step: the priority changed (a no-op here, nothing is queued)
        steps.append(("_reprioritize_step", (ConversationRef(conv.id),), {conv.id: contact_view(conv)}))
    return Delta(input_id, "acme", steps)


def test_a_delta_is_recognised_as_applied_by_the_conversations_it_names(config):
    engine, rws, conv = Engine(config, derive), Workspace(), _conversation()
    first = _delta("in-1", conv)
    assert not delta.applied(rws, first)
    delta.replay(engine, rws, first)
    assert delta.applied(rws, first) and rws.conversations["c-1"].routed_inputs == ["in-1"]
    assert not delta.applied(rws, _delta("in-2", conv))
    assert not delta.applied(rws, Delta("in-3", "acme", []))  # names no conversation: a dedupe record's job


def test_a_delta_of_effects_only_changes_nothing_of_the_routing_stage_and_is_never_marked(config):
    engine, rws, conv = Engine(config, derive), Workspace(), _conversation()
    effects_only = _delta("in-1", conv, routes=False)
    assert delta.replay(engine, rws, effects_only) == set()  # nothing for the routing stage to write
    assert [e.event_id for e in rws.effects] == ["e-in-1"] and rws.effects[0].snapshot["status"] == "queued"
    assert not delta.applied(rws, effects_only)  # sent again: the same event id, which consumers drop
    assert rws.conversations["c-1"].routed_inputs == []


def test_a_conversation_remembers_its_latest_deltas_only(config):
    engine, rws, conv = Engine(config, derive), Workspace(), _conversation()
    for n in range(delta.ROUTED_INPUTS_KEPT + 4):
        delta.replay(engine, rws, _delta(f"in-{n}", conv))
    kept = rws.conversations["c-1"].routed_inputs
    assert len(kept) == delta.ROUTED_INPUTS_KEPT and kept[-1] == f"in-{delta.ROUTED_INPUTS_KEPT + 3}"
    assert not delta.applied(rws, _delta("in-0", conv))  # long gone: a redelivery comes within a few

