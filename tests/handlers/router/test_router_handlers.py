"""The router's handler rules, with in-memory ports (router_fakes.py) and a ManualClock: publish and
drain before saving, what a failure or a fenced save leaves behind, rejected inputs, dedupe records,
one scope per brand, the tick, and the intake's forwarding.

Demo routing (config/demo/routing.yaml): acme has agents alice, bob, chen (offline until they say
otherwise), globex has olga; an email asking for a human is queued and assigned to an online agent."""
from __future__ import annotations

from datetime import timedelta

import pytest
from aiokafka import TopicPartition
from router_handler_kit import T0, email, order, presence
from switchboard.common.cloudevents import derived_id
from switchboard.common.consumer import BatchAbandoned, PermanentError
from switchboard.common.topics import registry
from switchboard.events.v1 import agent_pb2
from switchboard.router.domain import identity
from switchboard.router.domain.model import EMAIL, Handle
from switchboard.router.ownership import partition_of

HUMAN = "I want to talk to a human agent please"


def saved_and_loaded(router) -> list[tuple]:
    return [entry for entry in router.journal if entry[0] in ("load", "save")]


def conversations(router) -> dict[str, tuple[str, str]]:
    return {cid: (doc["status"], doc["assignee_id"]) for cid, doc in router.store.docs("conversations").items()}


def routing_partition(router, brand: str) -> TopicPartition:
    return TopicPartition(router.topics.routing, partition_of(brand, registry()["routing"].partitions))


# ------------------------------------------------------------------ publish and drain, then save
async def test_effects_are_acknowledged_by_the_broker_before_the_state_is_saved(router):
    await router.route(presence("alice"))
    await router.route(email(HUMAN, "ann@example.com"))
    assert router.steps() == ["load", "publish", "drain", "save"]
    assert "conversation_assigned" in router.cases()
    assert list(conversations(router).values()) == [("assigned", "alice")]


async def test_a_broker_that_does_not_acknowledge_leaves_the_store_untouched_and_the_retry_decides_the_same(router):
    await router.route(presence("alice"))
    batch = await router.routed(email(HUMAN, "ann@example.com"))
    router.publisher.fail_drain = ConnectionError("broker away")
    with pytest.raises(ConnectionError):
        await router.handler(batch)  # the runner commits nothing: the batch comes again
    first = [p.event_id for p in router.emitted()]
    assert router.steps() == ["load", "publish", "forget"]
    assert router.store.docs("conversations") == {} and router.store.docs("conversation_messages") == {}

    await router.handler(batch)
    assert [p.event_id for p in router.emitted()][len(first):] == first  # same ids: dropped downstream
    (cid,) = conversations(router)
    alice = router.store.docs("agents")["acme/alice"]
    assert (alice["active"], alice["load"]) == ([cid], {"email": 1})  # the failed attempt's changes were dropped


async def test_a_save_failing_after_publishing_re_emits_the_same_event_ids_on_redelivery(router):
    await router.route(presence("alice"))
    batch = await router.routed(email(HUMAN, "ann@example.com"))
    router.store.fail_next_save = ConnectionError("store away")
    with pytest.raises(ConnectionError):
        await router.handler(batch)
    first = [p.event_id for p in router.emitted()]
    assert "conversation_assigned" in router.cases() and router.store.docs("conversations") == {}
    assert router.steps()[-2:] == ["drain", "forget"]

    await router.handler(batch)
    assert [p.event_id for p in router.emitted()][len(first):] == first
    assert list(conversations(router).values()) == [("assigned", "alice")]
    assert router.store.docs("agents")["acme/alice"]["load"] == {"email": 1}


async def test_a_saved_batch_keeps_its_queued_conversations_resident_and_a_failed_one_keeps_nothing(router):
    await router.route(email(HUMAN, "ann@example.com"))  # nobody online: it waits in the queue
    (cid,) = conversations(router)
    assert conversations(router)[cid][0] == "queued"
    assert set(router.store.resident.conversations) == {cid}  # the next batch of acme reads no queue

    router.store.fail_next_save = ConnectionError("store away")
    with pytest.raises(ConnectionError):
        await router.route(presence("alice"))
    assert router.store.resident.conversations == {} and router.store.resident.brands == set()


# ------------------------------------------------------------------ fencing
async def test_a_fenced_save_drops_the_resident_state_gives_the_brand_up_and_abandons_the_batch(router):
    await router.route(presence("alice"))
    assert router.app.ownership.owned() == {"acme"} and router.store.resident.brands == {"acme"}
    await router.store.claimed_elsewhere("acme")  # a rebalance this replica has not noticed yet
    batch = await router.routed(email(HUMAN, "ann@example.com"))
    with pytest.raises(BatchAbandoned):
        await router.handler(batch)
    assert router.store.docs("conversations") == {} and router.store.resident.brands == set()
    assert router.app.ownership.owned() == set()

    router.journal.clear()
    with pytest.raises(BatchAbandoned):  # until the brand is assigned again, nothing is read for it
        await router.handler(batch)
    assert await router.handler.tick({"acme"}) == 0
    assert saved_and_loaded(router) == []

    await router.app.ownership.on_assigned({routing_partition(router, "acme")})
    await router.handler(batch)
    assert router.store.scope_epoch("acme") == 3
    assert list(conversations(router).values()) == [("assigned", "alice")]
    assert {doc["epoch"] for doc in router.store.docs("agents").values() if doc["brand_id"] == "acme"} == {3}


async def test_each_brand_is_loaded_and_saved_on_its_own_and_the_brands_side_by_side(router):
    batch = await router.routed(email(HUMAN, "gus@example.com", brand="globex"), presence("alice"),
                                presence("olga", brand="globex"), email(HUMAN, "ann@example.com"))
    await router.handler(batch)
    steps = saved_and_loaded(router)
    assert sorted(steps) == [("load", ["acme"]), ("load", ["globex"]), ("save", "acme"), ("save", "globex")]
    assert steps.index(("load", ["globex"])) < steps.index(("save", "acme"))  # not one brand after the other
    assert router.app.ownership.owned() == {"acme", "globex"}
    assert sorted(conversations(router).values()) == [("assigned", "alice"), ("assigned", "olga")]


async def test_a_brand_whose_save_fails_fails_the_batch_once_the_other_brands_work_has_ended(router):
    await router.route(presence("alice"), presence("olga", brand="globex"))
    router.store.fail_next_save = ConnectionError("store away")  # the first brand to save meets it
    batch = await router.routed(email(HUMAN, "gus@example.com", brand="globex"), email(HUMAN, "ann@example.com"))
    with pytest.raises(ConnectionError):
        await router.handler(batch)
    # acme's save met the failure; globex's, side by side, still ended (saved) before the batch failed
    assert [e for e in saved_and_loaded(router) if e[0] == "save"] == [("save", "globex")]
    assert list(conversations(router).values()) == [("assigned", "olga")]  # acme's is decided again on redelivery
    assert ("forget",) in router.journal  # the resident state may be half-changed: read afresh next time


async def test_a_brand_fenced_in_a_batch_leaves_the_brand_saved_before_it_as_saved(router):
    await router.route(presence("alice"), presence("olga", brand="globex"))
    await router.store.claimed_elsewhere("globex")
    batch = await router.routed(email(HUMAN, "gus@example.com", brand="globex"), email(HUMAN, "ann@example.com"))
    with pytest.raises(BatchAbandoned):
        await router.handler(batch)
    assert list(conversations(router).values()) == [("assigned", "alice")]  # acme's, under acme's epoch
    assert router.app.ownership.owned() == {"acme"}


# ------------------------------------------------------------------ rejected inputs
async def test_a_rejected_input_fails_its_whole_batch_for_replay_with_nothing_published_or_written(router):
    batch = await router.routed(presence("alice"), email(HUMAN, "ann@example.com"), presence("mallory"))
    with pytest.raises(PermanentError, match="mallory"):
        await router.handler(batch)
    assert router.emitted() == [] and router.publisher.raw == []
    assert "save" not in router.steps() and router.store.docs("conversations") == {}


async def test_a_rejected_input_alone_goes_to_the_dlq_of_the_topic_it_came_from(router):
    batch = await router.routed(presence("alice"), email(HUMAN, "ann@example.com"), presence("mallory"))
    for record in batch:  # the runner's replay, record by record
        await router.handler([record])
    assert list(conversations(router).values()) == [("assigned", "alice")]
    ((topic, value, key, headers),) = router.publisher.raw
    assert topic == f"{router.topics.agent_commands}.dlq"
    assert agent_pb2.AgentCommand.FromString(value) == presence("mallory")  # the input, not its wrapper
    assert headers["dlq_reason"] == b"rejected" and b"mallory" in headers["dlq_error"]
    assert headers["dlq_topic"] == router.topics.agent_commands.encode()
    assert headers["ce_id"] == batch[2].id.encode() and key.startswith(b"acme/")


# ------------------------------------------------------------------ dedupe records
async def test_dedupe_records_are_saved_for_commands_and_orders_but_not_for_messages(router):
    message, command, purchase = batch = await router.routed(
        email("Where is my order?", "ann@example.com"), presence("alice"), order("o-1", "ann@example.com"))
    await router.handler(batch)
    assert await router.app.dedupe.seen([e.id for e in batch]) == {command.id, purchase.id}
    assert router.store.docs("conversation_messages")  # the message's own document marks it applied

    emitted = len(router.emitted())
    await router.handler([message])  # redelivered: recognised by its stored message
    assert router.emitted()[emitted:] == []


# ------------------------------------------------------------------ the tick
async def test_the_tick_fires_for_owned_brands_only_and_publishes_before_saving(router):
    await router.route(presence("alice"))
    await router.route(email(HUMAN, "ann@example.com"))  # assigned to alice, who then stays silent
    await router.clock.set(T0 + timedelta(minutes=3))
    router.journal.clear()
    emitted = len(router.emitted())
    assert await router.handler.tick({"acme", "globex"}) > 0  # globex was never claimed here
    assert saved_and_loaded(router) == [("load", ["acme"]), ("save", "acme")]
    assert router.steps() == ["load", "publish", "drain", "save"]
    assert "assignee_unavailable" in router.cases(emitted)

    await router.app.ownership.on_revoked({routing_partition(router, "acme")})
    router.journal.clear()
    assert await router.handler.tick({"acme"}) == 0
    assert saved_and_loaded(router) == []


async def test_a_tick_fenced_by_another_owner_gives_the_brand_up_and_writes_nothing(router):
    await router.route(presence("alice"))
    await router.route(email(HUMAN, "ann@example.com"))
    before = conversations(router)
    await router.store.claimed_elsewhere("acme")
    await router.clock.set(T0 + timedelta(minutes=3))
    assert await router.handler.tick({"acme"}) == 0  # the ticker carries on with the next brand, or next time
    assert conversations(router) == before and router.app.ownership.owned() == set()
    assert router.store.resident.brands == set()


# ------------------------------------------------------------------ the intake stage
async def test_the_intake_forwards_each_record_keyed_by_its_customer_under_its_own_event_id(router):
    records = [router.consumed(email("Hi", "ann@example.com")),
               router.consumed(order("o-1", "gus@example.com", brand="globex")), router.consumed(presence("alice"))]
    forwarded = await router.forward(*records)
    published = router.publisher.on(router.topics.contacts)
    # New people: the customers their first handle will seed; an agent's presence: the brand's key.
    keys = [identity.seed_id(derived_id, "acme", Handle(EMAIL, "ann@example.com")),
            identity.seed_id(derived_id, "globex", Handle(EMAIL, "gus@example.com")), "brand/acme"]
    assert [(p.key, p.event_id, p.cause) for p in published] == list(zip(keys, [r.id for r in records], records,
                                                                          strict=True))
    assert [(e.payload.origin_topic, e.payload.origin_offset) for e in forwarded] == [(r.topic, r.offset)
                                                                                        for r in records]
    assert router.journal[-1] == ("drain",) and saved_and_loaded(router) == []  # the intake writes no state


async def test_the_intake_forwards_nothing_when_a_record_of_its_batch_cannot_be_decoded(router):
    unusable = email("Hi", "")
    unusable.message_received.ClearField("sender")
    records = [router.consumed(email("Hi", "ann@example.com")), router.consumed(unusable),
               router.consumed(presence("alice"))]
    with pytest.raises(PermanentError, match="sender"):
        await router.forward(*records)
    assert router.publisher.on(router.topics.contacts) == []
    for record in (records[0], records[2]):  # the runner's replay: all but the unusable one go through
        await router.forward(record)
    assert [p.event_id for p in router.publisher.on(router.topics.contacts)] == [records[0].id, records[2].id]
