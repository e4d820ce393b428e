"""The vanishing agent (issue 17), end to end: ingest -> router -> SLA -> notifier as real processes on
the real broker and MongoDB-wire store, customers' messages at a real HTTP receiver.

Alice holds three chats whose customers wait for her reply, then goes offline. After the offline
grace the router's tick moves them to Bob (reason agent_offline, original queue time and priority).
Bob answers each: every customer receives exactly one message (his reply; nothing about the move),
and the SLA clocks keep the deadlines they had when they started.
"""
from __future__ import annotations

import asyncio
import re
import uuid

import harness
import httpx
import pytest
import yaml
from switchboard.common.testing import wait_for
from switchboard.events.v1 import notification_pb2

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

AGENT_KEY = "e2e-nclb-agent-key"
# Long targets: nothing breaches or reminds the customer during the test; a clock that moved would show.
SLA_YAML = """\
version: 1
calendars: []
default_calendar: 24x7
defaults:
  warnings: {fractions: [0.9]}
  proactive_update_after: 1h
  reassignment_threshold: 3
  escalation:
    ack_timeout: 10m
    levels:
      - {name: assignee, after_breach: 0s, recipients: ["{assignee}"]}
policies:
  - id: chat
    channels: [chat]
    targets:
      first_response: {within: 10m, hours: calendar}
      next_response: {within: 10m, hours: calendar}
      resolution: {within: 1h, hours: calendar}
default_policy:
  targets:
    first_response: {within: 10m, hours: calendar}
"""


@pytest.fixture
async def stack(kafka_bootstrap, mongo_uri, namespace, bus_topics, tmp_path):
    """Its own brand (the store shares collections across test databases, and other tests leave
    acme's agents and queue behind): alice and bob can hold three chats each, a 2 s offline grace."""
    brand = "nclb" + re.sub(r"[^a-z0-9]", "", namespace.lower())[-12:]
    receivers = harness.Receivers().start()
    config = harness.prepare_config(tmp_path / "config", inbox_http=receivers.http_origin,
                                    smtp_port=receivers.smtp_port, sla_yaml=SLA_YAML)
    routing = yaml.safe_load((config / "routing.yaml").read_text())
    agents = [dict(a, capacity={"chat": 3, "email": 5}, queues=["general"]) for a in routing["brands"]["acme"]["agents"]
              if a["id"] in ("alice", "bob")]
    routing["brands"][brand] = {"queues": [{"name": "general", "match": {}}], "agents": agents,
                                "reassignment": {"offline_grace": "2s", "after_silence": {"chat": "10m"}}}
    (config / "routing.yaml").write_text(yaml.safe_dump(routing, allow_unicode=True))
    secrets = yaml.safe_load((config / "secrets.yaml").read_text())
    secrets["brands"][brand] = {"agent_api_keys": [AGENT_KEY]}
    (config / "secrets.yaml").write_text(yaml.safe_dump(secrets, allow_unicode=True))
    s = harness.proof_stack(kafka_bootstrap, mongo_uri, namespace, config, tmp_path,
                            router_env={"SWITCHBOARD_TICK_INTERVAL_SECONDS": "0.5"})
    await asyncio.to_thread(s.start, ("ingest", "router", "sla", "notifier"))
    s.brand, s.receivers = brand, receivers
    yield s
    await asyncio.to_thread(s.stop)
    receivers.stop()


class Api:
    def __init__(self, client: httpx.AsyncClient, base: str) -> None:
        self.client, self.base = client, base
        self.agent = {"Authorization": f"Bearer {AGENT_KEY}"}

    async def post(self, path: str, body: dict, *, agent: bool = False) -> dict:
        response = await self.client.post(self.base + path, json=body, headers=self.agent if agent else {})
        assert response.status_code in (201, 202), response.text
        return response.json()

    async def presence(self, agent_id: str, presence: str) -> None:
        await self.post(f"/agent/agents/{agent_id}/presence", {"presence": presence}, agent=True)


async def conversations(mongo_db, brand: str, status: str, assignee: str) -> list[dict]:
    return [d async for d in mongo_db["conversations"].find({"brand_id": brand, "status": status,
                                                             "assignee_id": assignee})]


async def test_an_agent_going_offline_hands_three_waiting_chats_to_another_without_a_word_to_the_customers(
        stack, mongo_db, kafka_bootstrap):
    brand, receivers = stack.brand, stack.receivers
    async with httpx.AsyncClient(timeout=10) as client:
        api = Api(client, f"{stack.url('ingest')}/v1/brands/{brand}")
        await api.presence("alice", "online")
        await wait_for(lambda: mongo_db["agents"].find_one({"_id": f"{brand}/alice", "presence": "online"}),
                       timeout=60, message="alice online")
        sessions = []
        for n in range(3):
            started = await api.post("/chat/sessions", {"name": f"Customer {n}", "email": f"c{n}.{brand}@example.com",
                                                        "language": "en", "client_session_id": uuid.uuid4().hex})
            sessions.append(started["session_id"])
            await api.post(f"/chat/sessions/{started['session_id']}/messages",
                           {"client_message_id": "m-1", "text": "human please, my parcel never arrived"})

        async def with_alice() -> list[dict]:
            found = await conversations(mongo_db, brand, "assigned", "alice")
            return found if len(found) == 3 else []

        waiting = {d["_id"]: d for d in await wait_for(with_alice, timeout=60, message="three chats with alice")}
        await api.presence("bob", "online")
        await wait_for(lambda: mongo_db["agents"].find_one({"_id": f"{brand}/bob", "presence": "online"}),
                       timeout=60, message="bob online")
        await api.presence("alice", "offline")

        async def with_bob() -> list[dict]:
            found = await conversations(mongo_db, brand, "assigned", "bob")
            return found if len(found) == 3 else []

        moved = {d["_id"]: d for d in await wait_for(with_bob, timeout=60, message="the tick moved them to bob")}
        assert moved.keys() == waiting.keys()
        for conv_id, conv in moved.items():
            assert conv["enqueued_at"] == waiting[conv_id]["enqueued_at"]  # original queue time and priority
            assert conv["priority"] == waiting[conv_id]["priority"]
            assert conv["assignment_history"][-1]["reason"] == "agent_offline"
            assert conv["previous_assignee_id"] == "alice" and conv["reassignment_count"] == 1

        for conv_id in moved:
            reply = {"agent_id": "bob", "reply_id": f"r-{conv_id}", "text": "Bob here: a new parcel is on its way."}
            await api.post(f"/agent/conversations/{conv_id}/reply", reply, agent=True)

        def replies() -> dict[str, list[str]]:
            got: dict[str, list[str]] = {s: [] for s in sessions}
            for item in receivers.snapshot():
                for s in sessions:
                    if s in item.recipient or s in item.body:
                        got[s].append(item.body)
            return got if all(got.values()) else {}

        delivered = await wait_for(replies, timeout=90, message="bob's reply at each customer's chat")

    # Each customer heard exactly one thing: Bob's answer. Not "you were moved", no queue message.
    notes, _ = await harness.distinct_events(kafka_bootstrap, stack.topics.notifications)
    to_customers = [n.payload for n in notes.values() if n.payload.recipient.value in sessions]
    assert sorted(n.recipient.value for n in to_customers) == sorted(sessions)
    assert {n.kind for n in to_customers} == {notification_pb2.NOTIFICATION_KIND_AGENT_REPLY}
    assert all(len(bodies) == 1 and "Bob here" in bodies[0] for bodies in delivered.values()), delivered

    events, _ = await harness.distinct_events(kafka_bootstrap, stack.topics.conversations)
    assigned = [e.payload for e in events.values() if e.payload.WhichOneof("event") == "conversation_assigned"
                and e.payload.conversation.conversation_id in moved and e.payload.conversation_assigned.reason]
    assert sorted((a.conversation.conversation_id, a.conversation_assigned.assignee_id,
                   a.conversation_assigned.previous_assignee_id, a.conversation_assigned.reason)
                  for a in assigned) == sorted((c, "bob", "alice", "agent_offline") for c in moved)

    # SLA clocks: every clock of these conversations kept the deadline it started with; the response
    # clocks were fulfilled by Bob's reply, before it.
    sla_events, _ = await harness.distinct_events(kafka_bootstrap, stack.topics.sla)
    deadlines: dict[tuple, set] = {}
    fulfilled = set()
    for e in sla_events.values():
        p = e.payload
        if p.conversation.conversation_id not in moved:
            continue
        assert p.WhichOneof("event") not in ("sla_reapplied", "sla_paused", "sla_breached"), p
        if p.HasField("deadline"):
            deadline = p.deadline.ToDatetime()  # to the millisecond: the SLA store keeps BSON dates
            deadlines.setdefault((p.conversation.conversation_id, p.metric, p.instance), set()).add(
                deadline.replace(microsecond=deadline.microsecond // 1000 * 1000))
        if p.WhichOneof("event") == "sla_fulfilled":
            fulfilled.add(p.conversation.conversation_id)
    assert deadlines and all(len(d) == 1 for d in deadlines.values()), deadlines
    assert fulfilled == set(moved)
