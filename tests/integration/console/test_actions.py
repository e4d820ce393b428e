"""Every action goes to ingest's agent API with agent_id = the logged-in agent; nothing else is written."""
from __future__ import annotations

import re
import uuid

import pytest
from console_kit import SECRETS, T0, api_token, conversation, login
from switchboard.common.testing import read_topic, wait_for
from switchboard.events.v1 import agent_pb2


async def seed(console, producer, topics, cid: str, brand: str = "acme") -> None:
    await producer.publish(topics.conversations, conversation("conversation_assigned", cid, T0, brand=brand,
                                                              status="assigned", assignee="alice"), key=cid)
    await producer.drain()
    await wait_for(lambda: console.app.store.rows.find_one({"_id": cid}), timeout=15)


@pytest.mark.parametrize(("action", "body", "path", "sent"), [
    ("note", {"text": "Refund approved 👍"}, "notes", {"text": "Refund approved 👍"}),
    ("resolve", {"resolution_code": "refunded"}, "resolve", {"resolution_code": "refunded"}),
    ("reopen", {"reason": "came back"}, "reopen", {"reason": "came back"}),
    ("status", {"status": "waiting_on_customer"}, "status", {"status": "waiting_on_customer", "reason": ""}),
    ("priority", {"priority": "urgent", "reason": "VIP"}, "priority", {"priority": "urgent", "reason": "VIP"}),
    ("assign", {"assignee_id": "me"}, "assign", {"assignee_id": "alice", "queue": ""}),
    ("assign", {"assignee_id": "bob", "queue": "zh"}, "assign", {"assignee_id": "bob", "queue": "zh"}),
    ("acknowledge", {"escalation_id": "c-act:first_response:1:2"}, "escalations/acknowledge",
     {"escalation_id": "c-act:first_response:1:2"}),
])
async def test_each_action_reaches_ingests_agent_api_as_the_logged_in_agent(console, producer, topics, peers,
                                                                             action, body, path, sent):
    await seed(console, producer, topics, "c-act")
    async with console.client() as client:
        await login(client, "alice")
        response = await client.post(f"/api/v1/conversations/c-act/{action}", json=body,
                                     headers={"X-CSRF-Token": await api_token(client)})
    assert response.status_code == 202, response.text
    (request,) = peers.actions
    assert request.path == f"/v1/brands/acme/agent/conversations/c-act/{path}"
    assert request.headers["Authorization"] == "Bearer console-test-agent-key"
    assert request.json == {"agent_id": "alice", **sent}


async def test_reply_gets_a_fresh_reply_id_and_the_text_as_written(console, producer, topics, peers):
    await seed(console, producer, topics, "c-reply")
    async with console.client() as client:
        await login(client, "alice")
        token = await api_token(client)
        for _ in range(2):
            response = await client.post("/api/v1/conversations/c-reply/reply", json={"text": "您好，包裹已发出 📦"},
                                         headers={"X-CSRF-Token": token})
            assert response.status_code == 202
    first, second = peers.actions
    assert first.json["text"] == "您好，包裹已发出 📦" and first.json["agent_id"] == "alice"
    assert uuid.UUID(first.json["reply_id"]) and first.json["reply_id"] != second.json["reply_id"]


async def test_the_reply_form_carries_its_own_reply_id_so_a_double_submit_is_one_reply(console, producer, topics,
                                                                                      peers):
    await seed(console, producer, topics, "c-form")
    async with console.client() as client:
        await login(client, "alice")
        page = await client.get("/conversations/c-form")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        reply_id = re.search(r'name="reply_id" value="([^"]+)"', page.text).group(1)
        for _ in range(2):
            response = await client.post("/conversations/c-form/actions/reply",
                                         data={"csrf_token": csrf, "reply_id": reply_id, "text": "Привет!"})
            assert response.status_code == 303 and response.headers["location"].endswith("?done=reply")
    assert [a.json["reply_id"] for a in peers.actions] == [reply_id, reply_id]  # ingest/router dedupe on it


async def test_presence_is_set_in_each_of_the_agents_brands(console, peers):
    async with console.client() as client:
        await login(client, "multi")
        response = await client.post("/api/v1/me/presence", json={"presence": "away"},
                                     headers={"X-CSRF-Token": await api_token(client)})
    assert response.status_code == 202
    assert sorted((a.path, a.json["presence"]) for a in peers.actions) == [
        ("/v1/brands/acme/agent/agents/multi/presence", "away"),
        ("/v1/brands/globex/agent/agents/multi/presence", "away")]


async def test_bad_action_bodies_answer_422_and_send_nothing(console, producer, topics, peers):
    await seed(console, producer, topics, "c-bad")
    async with console.client() as client:
        await login(client, "alice")
        token = {"X-CSRF-Token": await api_token(client)}
        status = await client.post("/api/v1/conversations/c-bad/status", json={"status": "closed"}, headers=token)
        empty = await client.post("/api/v1/conversations/c-bad/reply", json={"text": "  "}, headers=token)
        unknown = await client.post("/api/v1/conversations/c-bad/delete", json={}, headers=token)
    assert status.status_code == 422 and "status" in status.json()["message"]
    assert empty.status_code == 422 and "text" in empty.json()["message"]
    assert unknown.status_code == 404 and "unknown action" in unknown.json()["message"]
    assert peers.actions == []


async def test_acting_on_another_brands_conversation_is_404_and_sends_nothing(console, producer, topics, peers):
    await seed(console, producer, topics, "c-globex", brand="globex")
    async with console.client() as client:
        await login(client, "alice")
        response = await client.post("/api/v1/conversations/c-globex/resolve", json={},
                                     headers={"X-CSRF-Token": await api_token(client)})
    assert response.status_code == 404
    assert peers.actions == []


async def test_ingest_refusing_the_key_is_reported_not_swallowed(start_console, producer, topics, peers):
    console = await start_console()
    console.app.deps.ingest._secrets = type(SECRETS)({"brands": {"acme": {"agent_api_keys": ["wrong"]}}})
    await seed(console, producer, topics, "c-key")
    async with console.client() as client:
        await login(client, "alice")
        response = await client.post("/api/v1/conversations/c-key/resolve", json={},
                                     headers={"X-CSRF-Token": await api_token(client)})
    assert response.status_code == 502
    assert "agent API key" in response.json()["message"]


async def test_a_reply_through_the_real_ingest_reaches_the_agent_commands_topic(
        start_console, producer, topics, service_settings, mongo_db, kafka_bootstrap):
    from switchboard.ingest.bootstrap import bootstrap as ingest_bootstrap
    from switchboard.ingest.settings import IngestConfig, IngestSettings

    ingest = ingest_bootstrap(service_settings(IngestSettings), secrets=SECRETS, config=IngestConfig())
    started = []
    try:
        for component in ingest.service.components:
            await component.start()
            started.append(component)
        port = ingest.http._settings.port
        console = await start_console(ingest_url=f"http://127.0.0.1:{port}")
        await seed(console, producer, topics, "c-real")
        await mongo_db["conversations"].insert_one({"_id": "c-real", "brand_id": "acme"})  # as the router stores it
        async with console.client() as client:
            await login(client, "alice")
            response = await client.post("/api/v1/conversations/c-real/reply", json={"text": "Li Wei, 您好"},
                                         headers={"X-CSRF-Token": await api_token(client)})
        assert response.status_code == 202, response.text
        (command,) = await read_topic(kafka_bootstrap, topics.agent_commands, 1, timeout=15)
        assert isinstance(command.payload, agent_pb2.AgentCommand)
        assert command.payload.agent_id == "alice" and command.payload.brand_id == "acme"
        assert command.payload.reply_to_conversation.text == "Li Wei, 您好"
        assert command.payload.reply_to_conversation.conversation_id == "c-real"
    finally:
        for component in reversed(started):
            await component.stop()
