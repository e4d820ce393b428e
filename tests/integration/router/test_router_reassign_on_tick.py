"""Reassignment on the router's tick, on the real broker and store, with the router's clock driven by
the test (ManualClock): nothing moves within the offline grace, everything waiting moves after it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from router_it_kit import brand_of, inbound_message, presence, running_router
from switchboard.common.clock import ManualClock
from switchboard.common.testing import read_topic, wait_for
from switchboard.events.v1 import agent_pb2

ONLINE, OFFLINE = agent_pb2.PRESENCE_ONLINE, agent_pb2.PRESENCE_OFFLINE


async def send(producer, topic, payload, key):
    await producer.publish(topic, payload, key=key)
    await producer.drain()


async def test_an_offline_agents_waiting_chats_move_after_the_grace_on_the_router_clock(
    service_settings, namespace, producer, topics, mongo_db, kafka_bootstrap
):
    brand = brand_of(namespace)
    clock = ManualClock(datetime.now(UTC))  # agent commands carry the producer's wall-clock time
    async with running_router(service_settings, namespace, clock=clock) as router:
        await send(producer, topics.agent_commands, presence("alice", ONLINE, brand=brand), "agent/alice")
        for i in range(2):  # alice has two chat slots in the demo config
            message = inbound_message("human please", channel="chat", sender=("chat_session", f"r{i}"),
                                      at=datetime.now(UTC), brand=brand)
            await send(producer, topics.inbound, message, f"{brand}/r{i}")

        async def assigned_to(agent: str) -> bool:
            return await mongo_db["conversations"].count_documents(
                {"brand_id": brand, "status": "assigned", "assignee_id": agent}) == 2

        await wait_for(lambda: assigned_to("alice"), timeout=20)
        await send(producer, topics.agent_commands, presence("bob", ONLINE, brand=brand), "agent/bob")
        await send(producer, topics.agent_commands, presence("alice", OFFLINE, brand=brand), "agent/alice")
        await wait_for(lambda: mongo_db["agents"].find_one({"_id": f"{brand}/alice", "presence": "offline"}),
                       timeout=20)
        await clock.set(datetime.now(UTC) + timedelta(seconds=2))  # within the demo's 5 s grace
        ticks = router.ticker.ticks
        await wait_for(lambda: router.ticker.ticks > ticks, timeout=10, message="a tick within the grace")
        assert await assigned_to("alice")
        await clock.set(datetime.now(UTC) + timedelta(seconds=7))
        await wait_for(lambda: mongo_db["conversations"].count_documents(
            {"brand_id": brand, "status": "assigned", "assignee_id": "bob"}), timeout=20)
    events = await read_topic(kafka_bootstrap, topics.conversations, 1, timeout=10)
    moved = [e.payload.conversation_assigned for e in events if e.case == "conversation_assigned"
             and e.payload.conversation_assigned.reason]
    # Bob has one chat slot: one moves, the other stays with alice and its wait is escalated.
    assert [(m.assignee_id, m.previous_assignee_id, m.reason) for m in moved] == [("bob", "alice", "agent_offline")]
    escalated = [e.payload.assignee_unavailable for e in events if e.case == "assignee_unavailable"]
    assert [(u.agent_id, u.reason, u.escalate) for u in escalated] == [("alice", "agent_offline", True)]
