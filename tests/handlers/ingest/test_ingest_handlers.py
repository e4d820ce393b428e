"""ingest's handler rules, with in-memory ports (fakes.py): no broker, no store, no sleeps."""
from __future__ import annotations

import json
from datetime import UTC, datetime

from prometheus_client import REGISTRY
from switchboard.common.cloudevents import Envelope
from switchboard.events.v1 import agent_pb2, common_pb2, inbound_pb2, orders_pb2
from switchboard.ingest.adapters.codec import wire
from switchboard.ingest.adapters.providers.telegram import EXAMPLE as TELEGRAM_UPDATE
from switchboard.ingest.domain import orders
from switchboard.ingest.handlers import event_id, forward_orders

BRAND = "acme"  # the brand the `ingest` fixture (conftest.py) configures


def chat_message(text: str = "Где мой заказ? 🙂") -> dict:
    return {"client_message_id": "m-1", "text": text}


CHAT = f"/v1/brands/{BRAND}/chat/sessions/cs_{'a' * 32}/messages"


async def test_an_event_is_marked_seen_only_after_the_broker_acknowledged_it(ingest):
    response = await ingest.client.post(CHAT, json=chat_message())
    assert response.status_code == 202 and response.json() == {"status": "accepted", "event_ids": 1}
    [(brand, published_id, event)] = ingest.publisher.published
    assert ingest.journal == [("publish", [published_id]), ("mark", [published_id])]
    received = event.payload.message_received
    assert brand == BRAND and event.stream == "inbound" and received.text == "Где мой заказ? 🙂"
    assert received.channel == common_pb2.CHANNEL_CHAT and received.sender.kind == common_pb2.HANDLE_KIND_CHAT_SESSION


async def test_broker_timeout_answers_503_marks_nothing_and_the_retry_publishes(ingest):
    ingest.publisher.timing_out()
    response = await ingest.client.post(CHAT, json=chat_message())
    assert response.status_code == 503 and response.headers["Retry-After"] == "5"
    assert response.json()["error"] == "unavailable"
    assert ingest.dedupe.marked == set() and ingest.publisher.published == []

    ingest.publisher.fail_with = None  # the broker is back: the provider's retry is stored
    retry = await ingest.client.post(CHAT, json=chat_message())
    assert retry.status_code == 202 and retry.json()["status"] == "accepted"
    assert len(ingest.publisher.published) == 1


async def test_a_duplicate_gets_the_same_answer_and_publishes_no_second_event(ingest):
    body = json.dumps(TELEGRAM_UPDATE).encode()
    path = f"/v1/brands/{BRAND}/webhooks/telegram"
    first = await ingest.client.post(path, content=body, headers=ingest.telegram_headers)
    again = await ingest.client.post(path, content=body, headers=ingest.telegram_headers)
    assert first.status_code == again.status_code == 200
    assert first.content == again.content
    assert len(ingest.publisher.published) == 1
    chat_first = await ingest.client.post(CHAT, json=chat_message())
    chat_again = await ingest.client.post(CHAT, json=chat_message())
    assert chat_first.json()["status"] == "accepted" and chat_again.json() == {"status": "duplicate", "event_ids": 0}
    assert len(ingest.publisher.published) == 2


async def test_an_agent_command_for_another_brands_conversation_is_404_and_publishes_nothing(ingest):
    ingest.brands.brands.update({"conv-1": "globex", "conv-2": BRAND})
    body = {"agent_id": "a-17", "assignee_id": "a-18", "queue": "orders"}
    path = f"/v1/brands/{BRAND}/agent/conversations/{{}}/assign"
    for conversation in ("conv-1", "conv-unknown"):
        response = await ingest.client.post(path.format(conversation), json=body, headers=ingest.agent_headers)
        assert response.status_code == 404 and response.json()["field"] == "conversation_id"
    assert ingest.publisher.published == []

    own = await ingest.client.post(path.format("conv-2"), json=body, headers=ingest.agent_headers)
    assert own.status_code == 202
    [(_, _, event)] = ingest.publisher.published
    command = event.payload
    assert isinstance(command, agent_pb2.AgentCommand) and event.key == "conv-2"
    assert command.assign_conversation.assignee_id == "a-18" and command.agent_id == "a-17"


async def test_typed_agent_commands_carry_their_enums_on_the_wire(ingest):
    ingest.brands.brands["conv-2"] = BRAND
    base = f"/v1/brands/{BRAND}/agent"
    await ingest.client.post(f"{base}/conversations/conv-2/status", headers=ingest.agent_headers,
                             json={"agent_id": "a-17", "status": "waiting_on_third_party", "reason": "DHL"})
    await ingest.client.post(f"{base}/conversations/conv-2/priority", headers=ingest.agent_headers,
                             json={"agent_id": "a-17", "priority": "urgent"})
    await ingest.client.post(f"{base}/agents/a-17/presence", headers=ingest.agent_headers, json={"presence": "away"})
    status, priority, presence = (event.payload for _, _, event in ingest.publisher.published)
    assert status.set_conversation_status.status == common_pb2.CONVERSATION_STATUS_WAITING_ON_THIRD_PARTY
    assert priority.change_priority.priority == common_pb2.PRIORITY_URGENT
    assert presence.set_agent_presence.presence == agent_pb2.PRESENCE_AWAY
    assert ingest.publisher.published[2][2].key == "agent/a-17"


def counter(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_published_and_duplicate_counters_carry_a_bounded_brand(ingest):
    published = {"provider": "chat", "stream": "inbound", "brand": BRAND}
    before = counter("switchboard_ingest_events_published_total", **published)
    duplicates = counter("switchboard_ingest_duplicates_total", provider="chat", brand=BRAND)
    await ingest.client.post(CHAT, json=chat_message())
    await ingest.client.post(CHAT, json=chat_message())
    assert counter("switchboard_ingest_events_published_total", **published) == before + 1
    assert counter("switchboard_ingest_duplicates_total", provider="chat", brand=BRAND) == duplicates + 1


def order_envelope(ce_id: str, offset: int) -> Envelope:
    attrs = {"specversion": "1.0", "id": ce_id, "source": "//oms", "type": "com.acme.order.shipped",
             "time": "2026-01-05T10:00:00Z"}
    event = wire(orders.validate_cloudevent(attrs, {"order_id": "A-1"}, brand_id=BRAND,
                                            now=datetime(2026, 1, 5, tzinfo=UTC)))
    return Envelope(payload=event, id=f"orders.external/0/{offset}", type="orders.external", source="/t",
                    time=datetime(2026, 1, 5, tzinfo=UTC), brand_id=BRAND)


async def test_external_orders_publish_once_then_mark(ingest):
    deps = ingest.app.deps
    await forward_orders(deps, [order_envelope("e1", 0), order_envelope("e1", 1), order_envelope("e2", 2)])
    ids = [event_id(BRAND, "cloudevents://oms:e1"), event_id(BRAND, "cloudevents://oms:e2")]
    assert ingest.journal == [("publish", ids), ("mark", ids)]
    assert all(isinstance(e.payload, orders_pb2.OrderEvent) for _, _, e in ingest.publisher.published)
    await forward_orders(deps, [order_envelope("e1", 3)])  # a re-read record: nothing new
    assert len(ingest.publisher.published) == 2 and ingest.journal[-1] == ("mark", [])


async def test_the_inbound_wire_event_names_its_brand(ingest):
    await ingest.client.post(CHAT, json=chat_message())
    [(_, _, event)] = ingest.publisher.published
    assert isinstance(event.payload, inbound_pb2.InboundEvent) and event.payload.brand_id == BRAND
