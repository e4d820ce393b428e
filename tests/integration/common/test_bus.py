"""The shared bus on the real Tansu broker and nx-27017: headers, DLQ, idempotency, resume."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from aiokafka import AIOKafkaProducer
from switchboard.common.cloudevents import Envelope
from switchboard.common.consumer import ConsumerRunner, PermanentError
from switchboard.common.dedupe import DedupeStore
from switchboard.common.testing import wait_for
from switchboard.common.testing.helpers import read_raw
from switchboard.common.testing.plugin import settings_env
from switchboard.events.v1 import agent_pb2

HERE = Path(__file__).parent


def note(conversation_id: str, text: str = "checked the parcel") -> agent_pb2.AgentCommand:
    return agent_pb2.AgentCommand(brand_id="acme", agent_id="a-1", add_internal_note=agent_pb2.AddInternalNote(
        conversation_id=conversation_id, text=text))


def runner_for(settings, topics, group, handler, producer, dedupe=None) -> ConsumerRunner:
    return ConsumerRunner(name=group, kafka=settings.kafka, consumer=settings.consumer,
                          topics=[topics.agent_commands], group_id=group, handler=handler,
                          producer=producer, dedupe=dedupe)


async def test_record_published_by_the_shared_producer_arrives_with_its_cloudevents_headers(
        service_settings, producer, topics, namespace):
    settings = service_settings()
    cause = producer.envelope(note("c-0"), event_id="cause-1")
    await producer.publish(topics.agent_commands, note("c-1"), key="c-1", cause=cause, event_id="evt-1",
                           subject="c-1")
    await producer.drain()
    received: list[Envelope] = []

    async def handle(batch: list[Envelope]) -> None:
        received.extend(batch)

    runner = runner_for(settings, topics, f"{namespace}-g", handle, producer)
    await runner.start()
    try:
        await wait_for(lambda: received, timeout=15)
    finally:
        await runner.stop()
    env = received[0]
    assert (env.id, env.type, env.source, env.subject) == (
        "evt-1", "switchboard.events.v1.AgentCommand.add_internal_note", "/tests", "c-1")
    assert env.brand_id == "acme"
    assert env.causation_id == "cause-1" and env.correlation_id == "cause-1"
    assert env.payload.add_internal_note.conversation_id == "c-1"
    headers = dict(env.raw_headers)
    assert headers["ce_specversion"] == b"1.0" and headers["content-type"] == b"application/protobuf"
    assert env.key == b"c-1"


async def test_poison_records_go_to_the_dlq_and_later_records_are_still_processed(
        service_settings, producer, topics, namespace, kafka_bootstrap):
    settings = service_settings()
    raw = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await raw.start()
    await raw.send_and_wait(topics.agent_commands, b"\x00not protobuf", key=b"c-x",
                            headers=[("ce_specversion", b"1.0")])
    await raw.stop()
    await producer.publish(topics.agent_commands, note("c-bad", "explode"), key="c-bad", event_id="bad")
    for i in range(5):
        await producer.publish(topics.agent_commands, note(f"c-{i}"), key=f"c-{i}", event_id=f"good-{i}")
    await producer.drain()
    handled: list[str] = []

    async def handle(batch: list[Envelope]) -> None:
        for env in batch:
            if env.payload.add_internal_note.text == "explode":
                raise PermanentError("note text 'explode' is not allowed")
        handled.extend(env.id for env in batch)

    runner = runner_for(settings, topics, f"{namespace}-g", handle, producer)
    await runner.start()
    try:
        await wait_for(lambda: len(handled) == 5, timeout=15)
    finally:
        await runner.stop()
    assert sorted(handled) == [f"good-{i}" for i in range(5)]
    dead = await read_raw(kafka_bootstrap, topics.dlq("agent_commands"), min_count=2)
    reasons = sorted(dict(r.headers)["dlq_reason"].decode() for r in dead)
    assert reasons == ["rejected", "undecodable"]
    rejected = next(r for r in dead if dict(r.headers)["dlq_reason"] == b"rejected")
    assert b"not allowed" in dict(rejected.headers)["dlq_error"]
    assert dict(rejected.headers)["ce_id"] == b"bad"  # the original record, decodable for a replay


async def test_a_record_that_keeps_failing_is_retried_a_bounded_number_of_times_then_dead_lettered(
        service_settings, producer, topics, namespace, kafka_bootstrap):
    settings = service_settings()
    attempts: dict[str, int] = {}
    await producer.publish(topics.agent_commands, note("c-1"), key="c-1", event_id="flaky")
    await producer.publish(topics.agent_commands, note("c-2"), key="c-1", event_id="fine")
    await producer.drain()
    handled = []

    async def handle(batch: list[Envelope]) -> None:
        for env in batch:
            attempts[env.id] = attempts.get(env.id, 0) + 1
            if env.id == "flaky":
                raise RuntimeError("downstream bug")
        handled.extend(e.id for e in batch)

    runner = runner_for(settings, topics, f"{namespace}-g", handle, producer)
    await runner.start()
    try:
        await wait_for(lambda: handled == ["fine"], timeout=15)
    finally:
        await runner.stop()
    # one batch attempt + max_attempts single-record attempts
    assert attempts["flaky"] == 1 + settings.consumer.max_attempts
    dead = await read_raw(kafka_bootstrap, topics.dlq("agent_commands"), min_count=1)
    assert dict(dead[0].headers)["dlq_reason"] == b"failed"
    assert b"RuntimeError: downstream bug" in dict(dead[0].headers)["dlq_error"]


async def test_a_redelivered_record_is_not_applied_twice(service_settings, producer, topics, namespace, mongo_db):
    settings = service_settings()
    dedupe = DedupeStore(mongo_db, f"{namespace}-g")
    await dedupe.ensure_indexes()
    # The same event (same ce_id) delivered twice, as a producer retry or a replay would.
    for _ in range(2):
        await producer.publish(topics.agent_commands, note("c-1"), key="c-1", event_id="once")
    await producer.publish(topics.agent_commands, note("c-2"), key="c-1", event_id="marker-1")
    await producer.drain()
    applied: list[str] = []

    async def handle(batch: list[Envelope]) -> None:
        applied.extend(e.id for e in batch)

    runner = runner_for(settings, topics, f"{namespace}-g", handle, producer, dedupe)
    await runner.start()
    try:
        await wait_for(lambda: "marker-1" in applied, timeout=15)
    finally:
        await runner.stop()
    # A new consumer group member reading from the start again (offsets reset by a new group
    # would replay everything): the dedupe store still refuses what was applied.
    await producer.publish(topics.agent_commands, note("c-1"), key="c-1", event_id="once")
    await producer.publish(topics.agent_commands, note("c-3"), key="c-1", event_id="marker-2")
    await producer.drain()
    runner = runner_for(settings, topics, f"{namespace}-g", handle, producer, dedupe)
    await runner.start()
    try:
        await wait_for(lambda: "marker-2" in applied, timeout=15)
    finally:
        await runner.stop()
    assert applied.count("once") == 1
    assert applied == ["once", "marker-1", "marker-2"]


async def test_a_consumer_killed_without_committing_resumes_from_the_last_committed_offset(
        service_settings, producer, topics, namespace, mongo_db):
    settings = service_settings()
    for i in range(10):
        await producer.publish(topics.agent_commands, note("c-1"), key="c-1", event_id=f"e{i}")
    await producer.drain()
    group = f"{namespace}-g"
    env = {**os.environ, **settings_env(settings), "CONSUMER_GROUP": group, "TOPIC": topics.agent_commands,
           "HANG_ON": "e5"}
    # One record per batch: e0..e4 are handled and committed; e5 is handled (its effect is written)
    # but the process hangs before committing, and is then killed -9.
    proc = subprocess.Popen([sys.executable, str(HERE / "consumer_process.py")], env=env)
    try:
        await wait_for(lambda: mongo_db.handled.count_documents({"_id": "e5"}), timeout=30)
    finally:
        proc.kill()
        proc.wait()
    handled_before = sorted([d["_id"] async for d in mongo_db.handled.find()])
    assert handled_before == ["e0", "e1", "e2", "e3", "e4", "e5"]

    resumed: list[str] = []

    async def handle(batch: list[Envelope]) -> None:
        resumed.extend(e.id for e in batch)

    runner = runner_for(settings, topics, group, handle, producer)
    await runner.start()
    try:
        await wait_for(lambda: "e9" in resumed, timeout=30)
    finally:
        await runner.stop()
    # e5 was never committed, so it is delivered again (at-least-once); nothing before it is.
    assert resumed == ["e5", "e6", "e7", "e8", "e9"]


async def test_a_record_of_the_wrong_type_for_its_topic_is_dead_lettered_not_handled(
        service_settings, producer, topics, namespace, kafka_bootstrap):
    """Only ingest's authenticated agent API may issue agent commands: an AgentCommand written to
    the inbound topic by anyone else must never reach a handler."""
    settings = service_settings()
    await producer.publish(topics.inbound, note("c-1"), key="acme/x", event_id="smuggled")
    await producer.drain()
    handled: list[str] = []

    async def handle(batch: list[Envelope]) -> None:
        handled.extend(e.id for e in batch)

    runner = ConsumerRunner(name="g", kafka=settings.kafka, consumer=settings.consumer, topics=[topics.inbound],
                            group_id=f"{namespace}-g", handler=handle, producer=producer)
    await runner.start()
    try:
        dead = await read_raw(kafka_bootstrap, topics.dlq("inbound"), min_count=1, timeout=15)
    finally:
        await runner.stop()
    assert handled == []
    assert dict(dead[0].headers)["dlq_reason"] == b"undecodable"
    assert b"carries switchboard.events.v1.InboundEvent, not switchboard.events.v1.AgentCommand" in dict(
        dead[0].headers)["dlq_error"]
