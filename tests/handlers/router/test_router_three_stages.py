"""The router's three stages (docs/router.md "Three stages") on in-memory ports and a ManualClock: the intake
keys each input by its customer, the contact stage decides its contact side and sends one delta per input on
the routing topic (publish and drain before it saves its half), the routing stage replays the delta, fills in
the routing fields of every effect, publishes, then saves its half. Records go from stage to stage as the
broker would deliver them (three_stage_kit.py).

Demo routing (config/demo/routing.yaml): acme has agents alice, bob, chen (offline until they say otherwise),
globex has olga; an email asking for a human is queued and assigned to an online agent; chat transcripts are
sent 3 s after the chat's end."""
from __future__ import annotations

from datetime import timedelta

import pytest
from aiokafka import TopicPartition
from router_handler_kit import T0, email, order, presence, start_router, ts
from switchboard.common.consumer import BatchAbandoned, PermanentError
from switchboard.common.topics import registry
from switchboard.events.v1 import agent_pb2, common_pb2, inbound_pb2
from switchboard.router import ownership
from switchboard.router.adapters import delta_wire
from switchboard.router.domain.workspace import EMITTED
from switchboard.router.ownership import contact_partition, partition_of
from three_stage_kit import ThreeStages, start_three_stages

HUMAN = "I want to talk to a human agent please"
BOT, QUEUED, ASSIGNED = (common_pb2.CONVERSATION_STATUS_BOT, common_pb2.CONVERSATION_STATUS_QUEUED,
                         common_pb2.CONVERSATION_STATUS_ASSIGNED)
CONTACT_GROUP = b"switchboard-router.contact"


@pytest.fixture
async def stages(monkeypatch) -> ThreeStages:
    """The router in stage "all" as bootstrap builds it, with in-memory ports: no broker, no store."""
    monkeypatch.setattr(ownership, "LOST_BACKOFF_SECONDS", 0)  # a lost scope's pause, not what these tests time
    return await start_three_stages()


def assign(conversation_id: str, assignee: str, *, by: str = "alice") -> agent_pb2.AgentCommand:
    return agent_pb2.AgentCommand(brand_id="acme", agent_id=by, assign_conversation=agent_pb2.AssignConversation(
        conversation_id=conversation_id, assignee_id=assignee))


def saves(stages: ThreeStages) -> list[str]:
    return [entry[1] for entry in stages.journal if entry[0] == "save"]


def only_conversation(stages: ThreeStages) -> tuple[str, dict]:
    ((cid, doc),) = stages.docs("conversations").items()
    return cid, doc


def state(stages: ThreeStages) -> dict:
    """Every stored document but the scopes' epochs (what a claim changes)."""
    return {name: docs for name, docs in stages.routing_store.db.copy().items() if name != "routing_scopes"}


# ------------------------------------------------------------------ one input through the three stages
async def test_a_new_customers_email_is_one_delta_then_the_routing_stage_fills_in_publishes_and_saves(stages):
    await stages.through(presence("alice"))
    (record,) = await stages.to_contacts(email(HUMAN, "ann@example.com"))
    stages.journal.clear()
    since = stages.mark()

    deltas = await stages.contacted([record])

    # The contact stage: one delta on the routing topic, keyed by brand, under the input's id; nothing else.
    (published,) = stages.publisher.published[since:]
    assert (published.topic, published.key, published.event_id) == (stages.topics.routing, "acme", record.id)
    (delta,) = deltas
    assert delta.partition == partition_of("acme", registry()["routing"].partitions)
    assert stages.emitted(since) == [] and stages.rekeyed(since) == []
    # ... published and acknowledged before its state is written, under its partition's scope
    assert stages.steps() == ["load", "publish", "drain", "save"]
    assert saves(stages) == [stages.contact_scope_of(record.key.decode())]
    assert contact_partition(saves(stages)[0]) == record.partition
    # The delta carries the contact side's effects and what it asks of the routing side, not the decisions.
    steps = delta_wire.decode(delta.payload.delta)
    assert (steps.input_id, steps.brand_id) == (record.id, "acme")
    assert [s[1].case if s[0] == EMITTED else s[0] for s in steps.steps] == [
        "conversation_opened", "customer_message_appended", "conversation_handed_off", "_enqueue", "_route"]
    cid, doc = only_conversation(stages)  # the contact half, written by the contact stage alone so far
    assert steps.conversation_ids() == {cid}
    assert doc["message_count"] == 1 and doc["phase"] == "people" and doc["contact_pending"] is False
    # with people: no status yet (the routing stage's), the routing fields as nothing routed yet
    assert "status" not in doc and doc["routed_inputs"] == [] and doc["assignee_id"] == "" and doc["queue"] == ""

    stages.journal.clear()
    since = stages.mark()
    await stages.routing(deltas)

    # The routing stage: every event and notification, their routing fields filled in as of their step.
    assert stages.cases(since) == ["conversation_opened", "customer_message_appended", "conversation_handed_off",
                                   "conversation_queued", "conversation_assigned", "NOTIFICATION_KIND_AGENT_ASSIGNED"]
    filled = [(p.payload.conversation.status, p.payload.conversation.queue, p.payload.conversation.assignee_id)
              for p in stages.emitted(since)]
    assert filled == [(BOT, "", ""), (BOT, "", ""), (BOT, "", ""), (QUEUED, "general", ""),
                      (ASSIGNED, "general", "alice"), (ASSIGNED, "general", "alice")]
    assert {(p.key, p.cause.id) for p in stages.emitted(since)} == {(cid, record.id)}
    assert stages.on(stages.topics.routing, since) == []
    assert stages.steps() == ["load", "publish", "drain", "save"] and saves(stages) == ["acme"]

    # One document, both halves: the contact stage's fields and the routing stage's.
    _, doc = only_conversation(stages)
    assert (doc["message_count"], doc["thread_keys"], doc["channels"], doc["reply_handle"]) == (
        1, [], ["email"], {"kind": "email", "value": "ann@example.com"})
    assert (doc["status"], doc["queue"], doc["assignee_id"], doc["people_status"]) == (
        "assigned", "general", "alice", "assigned")
    assert doc["routed_inputs"] == [record.id] and doc["contact_pending"] is False
    alice = stages.docs("agents")["acme/alice"]
    assert (alice["active"], alice["load"]) == ([cid], {"email": 1})


# ------------------------------------------------------------------ duplicates
@pytest.mark.parametrize("online", [True, False], ids=["assigned", "queued"])
@pytest.mark.parametrize("one_batch", [True, False], ids=["one_batch", "two_batches"])
async def test_a_delta_the_contact_stage_sent_twice_is_replayed_once(stages, one_batch, online):
    """The contact stage dies after publishing a delta, before writing its state: the input comes again and
    is decided again from the same state, so the same delta (id and steps) is sent twice. Queued, the
    conversation stays resident in the routing stage; assigned, it is read from the store."""
    if online:
        await stages.through(presence("alice"))
    (record,) = await stages.to_contacts(email(HUMAN, "ann@example.com"))
    stages.contact_store.fail_next_save = ConnectionError("store away")
    start = stages.mark()
    with pytest.raises(ConnectionError):
        await stages.contact([record])
    first = stages.read(stages.topics.routing, start)
    assert len(first) == 1 and stages.docs("conversations") == {}

    if not one_batch:  # the routing stage reads the first copy before the contact stage's redelivery
        await stages.routing(first)
        _, doc = only_conversation(stages)  # what finds it, and a mark that its contact half is to come
        assert doc["contact_pending"] is True and "message_count" not in doc
    second = await stages.contacted([record])  # the redelivery: decided again, no half-written state read
    assert [d.id for d in second] == [d.id for d in first] == [record.id]
    assert second[0].payload == first[0].payload  # the same steps

    since = stages.mark()
    stages.journal.clear()
    if one_batch:
        await stages.routing(first + second)
    else:
        await stages.routing(second)
        assert stages.emitted(since) == [] and "save" not in stages.steps()  # nothing to publish or write
    assert stages.cases(start) == [
        "conversation_opened", "customer_message_appended", "conversation_handed_off", "conversation_queued",
        *(["conversation_assigned", "NOTIFICATION_KIND_AGENT_ASSIGNED"] if online
          else ["NOTIFICATION_KIND_QUEUE_POSITION"])]

    _, doc = only_conversation(stages)  # both halves, whichever stage wrote first
    assert doc["contact_pending"] is False and doc["message_count"] == 1 and doc["routed_inputs"] == [record.id]
    assert doc["status"] == ("assigned" if online else "queued")
    assert stages.docs("agents")["acme/alice"]["load"] == ({"email": 1} if online else {})


async def test_a_customer_message_redelivered_to_the_contact_stage_after_its_save_sends_no_second_delta(stages):
    (record,) = await stages.to_contacts(email(HUMAN, "ann@example.com"))
    await stages.routing(await stages.contacted([record]))
    before = state(stages)
    stages.journal.clear()
    since = stages.mark()

    assert await stages.contacted([record]) == []  # its stored message marks it applied
    assert stages.publisher.published[since:] == [] and "save" not in stages.steps()
    assert state(stages) == before

    # In a batch with the customer's next message: only that one's delta.
    (later,) = await stages.to_contacts(email("Anyone there?", "ann@example.com", at=T0 + timedelta(minutes=1)),
                                        at=T0 + timedelta(minutes=1))
    assert later.key == record.key  # the same customer: the same partition
    deltas = await stages.contacted([record, later])
    assert [d.id for d in deltas] == [later.id]
    _, doc = only_conversation(stages)
    assert doc["message_count"] == 2


# ------------------------------------------------------------------ fencing
async def test_a_contact_scope_claimed_by_another_replica_abandons_the_batch_writes_nothing_and_lets_the_scope_go(
        stages):
    (record,) = await stages.to_contacts(email(HUMAN, "ann@example.com"))
    scope = stages.contact_scope_of(record.key.decode())
    assert scope in stages.app.contact_ownership.owned()
    await stages.contact_store.claimed_elsewhere(scope)  # a rebalance this replica has not noticed yet
    before = state(stages)
    stages.journal.clear()
    since = stages.mark()

    with pytest.raises(BatchAbandoned):
        await stages.contact([record])
    assert saves(stages) == [] and state(stages) == before
    assert scope not in stages.app.contact_ownership.owned() and scope not in stages.contact_store.epochs
    # Its delta left before the save (publish, then write): the new owner sends the same one again.
    (abandoned,) = stages.read(stages.topics.routing, since)

    stages.journal.clear()
    with pytest.raises(BatchAbandoned):  # until the partition is assigned again, nothing is read for it
        await stages.contact([record])
    assert await stages.contact.tick({scope}) == 0
    assert stages.journal == []

    await stages.app.contact_ownership.on_assigned({TopicPartition(stages.topics.contacts, record.partition)})
    assert stages.contact_store.scope_epoch(scope) == 3
    deltas = await stages.contacted([record])
    assert [d.payload for d in deltas] == [abandoned.payload] and deltas[0].id == abandoned.id
    since = stages.mark()
    await stages.routing([abandoned, *deltas])
    assert stages.cases(since) == ["conversation_opened", "customer_message_appended", "conversation_handed_off",
                                   "conversation_queued", "NOTIFICATION_KIND_QUEUE_POSITION"]
    _, doc = only_conversation(stages)
    assert doc["message_count"] == 1 and doc["status"] == "queued"


# ------------------------------------------------------------------ rejected inputs
def unknown_conversation_in_scope_of(key: str) -> str:
    """A conversation id the intake keys (as itself: no such conversation) into `key`'s contacts partition."""
    partitions = registry()["contacts"].partitions
    return next(f"missing-{n}" for n in range(1000)
                if partition_of(f"missing-{n}", partitions) == partition_of(key, partitions))


async def test_an_agent_command_for_an_unknown_conversation_is_rejected_by_the_contact_stage(stages):
    missing = unknown_conversation_in_scope_of("brand/acme")  # one scope with the presence below
    records = await stages.to_contacts(presence("alice"), assign(missing, "alice"))
    assert [r.key for r in records] == [b"brand/acme", missing.encode()]
    assert records[0].partition == records[1].partition
    before = state(stages)
    stages.journal.clear()
    since = stages.mark()

    with pytest.raises(PermanentError, match=missing):
        await stages.contact(records)  # the runner then replays the batch record by record
    assert stages.publisher.published[since:] == [] and saves(stages) == [] and state(stages) == before

    for record in records:
        await stages.contact([record])
    assert [p.event_id for p in stages.on(stages.topics.routing, since)] == [records[0].id]  # the presence only
    ((topic, value, key, headers),) = stages.publisher.raw
    assert topic == f"{stages.topics.agent_commands}.dlq"
    assert agent_pb2.AgentCommand.FromString(value) == assign(missing, "alice")  # the input, not its wrapper
    assert headers["dlq_reason"] == b"rejected" and missing.encode() in headers["dlq_error"]
    assert headers["dlq_topic"] == stages.topics.agent_commands.encode() and headers["dlq_group"] == CONTACT_GROUP
    assert headers["ce_id"] == records[1].id.encode() and key.startswith(b"acme/")


@pytest.mark.parametrize("assignee", ["mallory", "olga"], ids=["nobody", "another_brands_agent"])
async def test_assigning_to_someone_who_is_not_an_agent_of_the_brand_is_rejected_before_any_delta(stages, assignee):
    await stages.through(presence("alice"))
    await stages.through(email(HUMAN, "ann@example.com"))
    cid, _ = only_conversation(stages)
    records = await stages.to_contacts(assign(cid, assignee), email("Hello?", "ann@example.com"))
    assert records[0].partition == records[1].partition  # both keyed by ann: one scope
    before = state(stages)
    stages.journal.clear()
    since = stages.mark()

    with pytest.raises(PermanentError, match=assignee):
        await stages.contact(records)
    assert stages.publisher.published[since:] == [] and saves(stages) == [] and state(stages) == before

    await stages.contact(records[:1])  # alone: to the DLQ of agent-commands, still no delta
    assert stages.publisher.published[since:] == [] and saves(stages) == [] and state(stages) == before
    ((topic, _, _, headers),) = stages.publisher.raw
    assert topic == f"{stages.topics.agent_commands}.dlq" and assignee.encode() in headers["dlq_error"]
    assert headers["dlq_group"] == CONTACT_GROUP
    _, doc = only_conversation(stages)
    assert (doc["status"], doc["assignee_id"]) == ("assigned", "alice")


# ------------------------------------------------------------------ the contact stage's tick
def chat(brand: str = "acme") -> list[inbound_pb2.InboundEvent]:
    started = inbound_pb2.ChatSessionStarted(chat_session_id="sess-1", customer_name="Ann", email="ann@example.com")
    started.started_at.CopyFrom(ts(T0))
    said = inbound_pb2.MessageReceived(
        channel=common_pb2.CHANNEL_CHAT, provider="chat", provider_message_id="chat-1", chat_session_id="sess-1",
        text="My parcel never arrived", sender=common_pb2.ContactHandle(kind=common_pb2.HANDLE_KIND_CHAT_SESSION,
                                                                        value="sess-1"))
    said.sent_at.CopyFrom(ts(T0 + timedelta(seconds=5)))
    ended = inbound_pb2.ChatSessionEnded(chat_session_id="sess-1", ended_by="customer")
    ended.ended_at.CopyFrom(ts(T0 + timedelta(seconds=30)))
    return [inbound_pb2.InboundEvent(brand_id=brand, chat_session_started=started),
            inbound_pb2.InboundEvent(brand_id=brand, message_received=said),
            inbound_pb2.InboundEvent(brand_id=brand, chat_session_ended=ended)]


async def test_the_contact_stages_tick_sends_a_due_transcript_as_a_delta_the_routing_stage_publishes_once(stages):
    started, said, ended = chat()
    keys = set()
    for payload, at in ((started, T0), (said, T0 + timedelta(seconds=5)), (ended, T0 + timedelta(seconds=30))):
        (record,) = await stages.to_contacts(payload, at=at)
        keys.add(record.key.decode())
        await stages.routing(await stages.contacted([record]))
    (customer,) = keys  # the chat's records all went to its customer's partition
    cid, doc = only_conversation(stages)
    assert doc["customer_id"] == customer
    assert doc["contact_due_ts"] == (T0 + timedelta(seconds=33)).timestamp()  # the chat's end + the 3 s grace
    owned = stages.app.contact_ownership.owned()

    await stages.clock.set(T0 + timedelta(seconds=32))  # within the grace: nothing due
    since = stages.mark()
    assert await stages.contact.tick(owned) == 0
    assert stages.publisher.published[since:] == []

    await stages.clock.set(T0 + timedelta(seconds=34))
    stages.journal.clear()
    assert await stages.contact.tick(owned) > 0
    (delta,) = stages.read(stages.topics.routing, since)
    assert delta.key == b"acme" and stages.emitted(since) == []
    scope = stages.contact_scope_of(customer)
    assert saves(stages) == [scope]  # the customer's scope sends it, and writes that it did after publishing
    saved = stages.journal.index(("save", scope))
    assert stages.journal[saved - 2:saved] == [("publish", stages.topics.routing, delta.id), ("drain",)]
    _, doc = only_conversation(stages)
    assert doc["pending_transcripts"] == [] and doc["contact_due_ts"] is None

    await stages.routing([delta])
    assert stages.cases(since) == ["NOTIFICATION_KIND_TRANSCRIPT"]
    (sent,) = stages.emitted(since)
    assert sent.key == cid and sent.payload.recipient.value == "ann@example.com"
    assert "Customer: My parcel never arrived" in sent.payload.text

    since = stages.mark()
    assert await stages.contact.tick(owned) == 0  # sent once
    await stages.routing.tick(stages.app.ownership.owned())  # the routing stage's timers never send transcripts
    assert [p for p in stages.publisher.published[since:] if p.topic == stages.topics.routing] == []
    assert "NOTIFICATION_KIND_TRANSCRIPT" not in stages.cases(since)
    # A redelivered tick delta (effects only: the routing stage keeps no mark of it) publishes the same
    # intent again, which the notifier drops: never a second, different transcript.
    await stages.routing([delta])
    (again,) = stages.emitted(since)
    assert again.event_id == sent.event_id and again.payload.intent_id == sent.payload.intent_id


async def test_a_chat_a_two_stage_intake_left_on_the_routing_topic_is_applied_whole_then_transcribed(
        stages):
    """During an upgrade the routing topic still holds inputs (not deltas): the routing stage applies them in
    line and writes whole conversations, the contact stage's due time included, so its tick sends the
    transcript."""
    for payload, seconds in zip(chat(), (0, 5, 30), strict=True):
        records = await stages.to_contacts(payload, at=T0 + timedelta(seconds=seconds))
        await stages.routing(stages.left_on_routing(records))
    cid, doc = only_conversation(stages)
    assert doc["message_count"] == 1 and doc["status"] == "bot" and doc.get("contact_pending") is not True
    assert doc["contact_due_ts"] == (T0 + timedelta(seconds=33)).timestamp()

    await stages.clock.set(T0 + timedelta(seconds=40))
    since = stages.mark()
    await stages.routing.tick(stages.app.ownership.owned())
    assert stages.emitted(since) == []  # the routing stage's timers are not the transcripts' (split)
    assert await stages.contact.tick(stages.app.contact_ownership.owned()) > 0
    await stages.routing(stages.read(stages.topics.routing, since))
    assert stages.cases(since) == ["NOTIFICATION_KIND_TRANSCRIPT"]
    _, doc = only_conversation(stages)
    assert doc["pending_transcripts"] == [] and doc["contact_due_ts"] is None and doc["timer_due_ts"] is None


# ------------------------------------------------------------------ the same effects as the in-line path
async def test_the_three_stages_publish_the_events_and_notifications_the_in_line_path_publishes(stages):
    """The two-stage path (router_handler_kit: the routing stage applies each input in line) and the three
    stages, fed the same inputs under the same ids, publish the same records; the stored conversations differ
    only in what the split adds (routed_inputs, contact_pending)."""
    inline = await start_router()

    async def both(n: int, payload, at_seconds: int) -> list[str]:
        at = T0 + timedelta(seconds=at_seconds)
        event_id = f"in-{n}"
        a, b = len(inline.publisher.published), stages.mark()
        await inline.handler(await inline.forward(inline.consumed(payload, event_id=event_id, at=at)))
        await stages.through(payload, at=at, event_ids=[event_id])
        expected = [(p.event_id, p.key, p.payload) for p in inline.emitted(a)]
        assert [(p.event_id, p.key, p.payload) for p in stages.emitted(b)] == expected, (n, inline.cases(a))
        return inline.cases(a)

    await both(1, presence("alice"), 0)
    assert "conversation_assigned" in await both(2, email(HUMAN, "ann@example.com"), 0)
    (cid,) = inline.store.docs("conversations")
    reply = agent_pb2.AgentCommand(brand_id="acme", agent_id="alice",
                                   reply_to_conversation=agent_pb2.ReplyToConversation(
                                       conversation_id=cid, text="Hello Ann, on it", reply_id="r-1"))
    assert "agent_replied" in await both(3, reply, 10)
    await both(4, email("Thanks! One more thing", "ann@example.com", at=T0 + timedelta(seconds=20)), 20)
    assert "order_linked" in await both(5, order("o-1", "ann@example.com", at=T0 + timedelta(seconds=25)), 25)
    resolve = agent_pb2.AgentCommand(brand_id="acme", agent_id="alice",
                                     resolve_conversation=agent_pb2.ResolveConversation(
                                         conversation_id=cid, resolution_code="solved"))
    assert "conversation_resolved" in await both(6, resolve, 30)
    assert "bot_replied" in await both(7, email("How long does shipping take?", "bob@example.com",
                                                at=T0 + timedelta(seconds=40)), 40)
    assert "conversation_reopened" in await both(8, email("It is back, I want a human", "ann@example.com",
                                                          at=T0 + timedelta(seconds=50)), 50)
    await both(9, presence("alice", agent_pb2.PRESENCE_OFFLINE), 60)

    await inline.clock.set(T0 + timedelta(minutes=5))
    await stages.clock.set(T0 + timedelta(minutes=5))
    a, b = len(inline.publisher.published), stages.mark()
    await inline.handler.tick({"acme"})
    await stages.contact.tick(stages.app.contact_ownership.owned())
    await stages.routing(stages.read(stages.topics.routing, b))
    await stages.routing.tick(stages.app.ownership.owned())
    assert "assignee_unavailable" in inline.cases(a)
    assert [(p.event_id, p.payload) for p in stages.emitted(b)] == [(p.event_id, p.payload) for p in inline.emitted(a)]

    split_only = {"routed_inputs", "contact_pending"}  # (the in-line path keeps routed_inputs empty)
    assert stages.docs("conversations").keys() == inline.store.docs("conversations").keys()
    for cid, doc in inline.store.docs("conversations").items():
        three = stages.docs("conversations")[cid]
        assert {k: v for k, v in three.items() if k not in split_only} == {
            k: v for k, v in doc.items() if k not in split_only}
        # routing steps named every conversation that went to people: each lists the deltas it took
        assert three["contact_pending"] is False and (three["routed_inputs"] or not doc["went_to_people"])
