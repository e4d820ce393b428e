"""Our own APIs (chat widget, web form, CSAT links, agent actions), CloudEvents modes and bad input."""
from __future__ import annotations

import json
import uuid

import ingest_requests as p
from ingest_requests import post, records
from switchboard.common.cloudevents import decode
from switchboard.events.v1 import agent_pb2, common_pb2, inbound_pb2, orders_pb2

B = f"/v1/brands/{p.BRAND}"
AGENT = {"Authorization": "Bearer agent-key-2"}


async def test_chat_session_start_message_end(ingest, kafka_bootstrap):
    start = await ingest.client.post(f"{B}/chat/sessions", json={
        "name": "Анна", "email": "Anna@Example.ru", "language": "ru", "client_session_id": "w-1"})
    assert start.status_code == 201, start.text
    session = start.json()["session_id"]
    again = await ingest.client.post(f"{B}/chat/sessions", json={
        "name": "Анна", "email": "Anna@Example.ru", "language": "ru", "client_session_id": "w-1"})
    assert again.json() == {"session_id": session, "status": "duplicate", "event_ids": 0}
    for _ in range(2):  # the widget retries the same message
        sent = await ingest.client.post(f"{B}/chat/sessions/{session}/messages",
                                        json={"client_message_id": "m1", "text": "我想退货 🙂"})
        assert sent.status_code == 202
    assert (await ingest.client.post(f"{B}/chat/sessions/{session}/end", json={"ended_by": "customer"})
            ).status_code == 202
    stored = await records(kafka_bootstrap, ingest.names.inbound, min_count=3)
    events = [inbound_pb2.InboundEvent.FromString(r.value) for r in stored]
    assert [e.WhichOneof("event") for e in events] == ["chat_session_started", "message_received",
                                                       "chat_session_ended"]
    assert events[0].chat_session_started.email == "anna@example.ru"
    assert events[1].message_received.text == "我想退货 🙂"
    assert events[1].message_received.channel == common_pb2.CHANNEL_CHAT
    assert {r.key.decode() for r in stored} == {f"{p.BRAND}/{session}"}


async def test_chat_rejects_bad_fields_naming_them(ingest):
    response = await ingest.client.post(f"{B}/chat/sessions", json={"name": "x", "email": "not-an-email"})
    assert response.status_code == 422 and response.json()["field"] == "email"
    response = await ingest.client.post(f"{B}/chat/sessions", json={"email": "a@b.co"})
    assert response.status_code == 422 and "name" in response.text


async def test_web_form_and_csat(ingest, kafka_bootstrap):
    form = {"submission_id": "f-1", "name": "Ivan", "email": "ivan@example.ru", "subject": "Возврат",
            "message": "Хочу вернуть товар"}
    assert (await ingest.client.post(f"{B}/forms/submissions", json=form)).status_code == 202
    link = await ingest.client.get(f"{B}/csat/intent-42", params={"score": 5, "conversation_id": "c-1"})
    assert link.status_code == 200 and "Thank you" in link.text
    assert (await ingest.client.get(f"{B}/csat/intent-42", params={"score": 5})).status_code == 200  # double click
    assert (await ingest.client.get(f"{B}/csat/intent-42", params={"score": 9})).status_code == 422
    stored = await records(kafka_bootstrap, ingest.names.inbound, min_count=2)
    events = {e.WhichOneof("event"): e for e in (inbound_pb2.InboundEvent.FromString(r.value) for r in stored)}
    assert len(stored) == 2
    assert events["message_received"].message_received.channel == common_pb2.CHANNEL_WEB_FORM
    csat = events["csat_answered"].csat_answered
    assert csat.score == 5 and csat.survey_intent_id == "intent-42" and csat.conversation_id == "c-1"


async def test_agent_actions_authenticated_and_idempotent(ingest, kafka_bootstrap, mongo_db):
    conv = "conv-" + uuid.uuid4().hex[:8]
    await mongo_db["conversations"].insert_one({"_id": conv, "brand_id": p.BRAND})  # as the router stores it
    reply = {"agent_id": "a-17", "reply_id": "r-1", "text": "Ваш заказ отправлен 📦"}
    assert (await ingest.client.post(f"{B}/agent/conversations/{conv}/reply", json=reply)).status_code == 401
    assert (await ingest.client.post(f"{B}/agent/conversations/{conv}/reply", json=reply,
                                     headers={"Authorization": "Bearer nope"})).status_code == 403
    for _ in range(2):
        assert (await ingest.client.post(f"{B}/agent/conversations/{conv}/reply", json=reply, headers=AGENT)
                ).status_code == 202
    actions = [("assign", {"agent_id": "a-1", "assignee_id": "a-17"}), ("notes", {"agent_id": "a-17", "text": "vip"}),
               ("status", {"agent_id": "a-17", "status": "waiting_on_customer"}),
               ("priority", {"agent_id": "a-17", "priority": "urgent"}),
               ("resolve", {"agent_id": "a-17", "resolution_code": "shipped"}), ("reopen", {"agent_id": "a-17"})]
    for action, body in actions:
        response = await ingest.client.post(f"{B}/agent/conversations/{conv}/{action}", json=body,
                                            headers={"X-Api-Key": "agent-key-1"})
        assert response.status_code == 202, (action, response.text)
    presence = await ingest.client.post(f"{B}/agent/agents/a-17/presence", json={"presence": "away"}, headers=AGENT)
    assert presence.status_code == 202
    stored = await records(kafka_bootstrap, ingest.names.agent_commands, min_count=8)
    stored.sort(key=lambda r: r.key == b"agent/a-17")  # one partition per key: order holds within a key
    commands = [agent_pb2.AgentCommand.FromString(r.value) for r in stored]
    assert [c.WhichOneof("command") for c in commands] == [
        "reply_to_conversation", "assign_conversation", "add_internal_note", "set_conversation_status",
        "change_priority", "resolve_conversation", "reopen_conversation", "set_agent_presence"]
    assert commands[0].reply_to_conversation.text == "Ваш заказ отправлен 📦"
    assert commands[3].set_conversation_status.status == common_pb2.CONVERSATION_STATUS_WAITING_ON_CUSTOMER
    assert [r.key.decode() for r in stored][:7] == [conv] * 7 and stored[7].key == b"agent/a-17"


async def test_cloudevents_binary_and_batch_modes(ingest, kafka_bootstrap):
    event = p.order_cloudevent("Анна", "b-1", "delayed")
    binary = await ingest.client.post(f"{B}/events", content=json.dumps(event["data"]).encode(), headers={
        "Authorization": "Bearer ce-token-pqr", "Content-Type": "application/json", "ce-specversion": "1.0",
        "ce-id": "b-1", "ce-source": event["source"], "ce-type": event["type"], "ce-time": event["time"]})
    assert binary.status_code == 200, binary.text
    batch = [p.order_cloudevent("李雷", f"batch-{i}", kind) for i, kind in enumerate(["paid", "delivered"])]
    batch.append(p.order_cloudevent("Анна", "b-1", "delayed"))  # same (source, id) as the binary one
    response = await ingest.client.post(f"{B}/events", content=json.dumps(batch).encode(), headers={
        "Authorization": "Bearer ce-token-pqr", "Content-Type": "application/cloudevents-batch+json"})
    assert response.status_code == 200, response.text
    stored = await records(kafka_bootstrap, ingest.names.orders, min_count=3)
    orders = [orders_pb2.OrderEvent.FromString(r.value) for r in stored]
    assert [o.kind for o in orders] == [orders_pb2.ORDER_EVENT_KIND_DELAYED, orders_pb2.ORDER_EVENT_KIND_PAID,
                                        orders_pb2.ORDER_EVENT_KIND_DELIVERED]
    assert orders[0].total_minor_units == 5990 and orders[0].currency == "EUR"
    assert {r.key.decode() for r in stored} == {f"{p.BRAND}/1001"}
    assert decode(stored[0].value, stored[0].headers).type == "switchboard.events.v1.OrderEvent"


async def test_bad_input_gets_a_clear_4xx_and_nothing_is_published(ingest, kafka_bootstrap):
    bad_batch = [p.order_cloudevent("ok", "x-1"), {**p.order_cloudevent("bad", "x-2"), "type": "com.brand.order.lost"}]
    response = await ingest.client.post(f"{B}/events", content=json.dumps(bad_batch).encode(), headers={
        "Authorization": "Bearer ce-token-pqr", "Content-Type": "application/cloudevents-batch+json"})
    assert response.status_code == 422 and response.json()["field"] == "[1].type"  # whole batch refused

    no_order = p.order_cloudevent("x", "x-3")
    del no_order["data"]["order_id"], no_order["subject"]
    response = await post(ingest, p.cloudevent(no_order))
    assert response.status_code == 422 and response.json()["field"] == "data.order_id"

    not_json = p.cloudevent({})
    not_json.body = b"{not json"
    assert (await post(ingest, not_json)).status_code in (400, 422)

    phone = p.twilio(ingest.base_url, "twilio", {"MessageSid": "SM1", "From": "12345", "To": "+4930901820",
                                                  "Body": "hi"})
    response = await post(ingest, phone)
    assert response.status_code == 422 and response.json()["field"] == "From"

    huge = p.telegram_message("x" * (1024 * 1024 + 10), 5)
    assert (await post(ingest, huge)).status_code == 413
    async def chunks():
        for _ in range(2):
            yield b"{" + b" " * 700_000

    chunked = await ingest.client.post(f"{B}/webhooks/telegram", content=chunks(),
                                       headers={"Content-Type": "application/json"})
    assert chunked.status_code == 413

    assert (await ingest.client.post("/v1/brands/nobody/webhooks/telegram", json={})).status_code == 404
    assert (await ingest.client.post(f"{B}/webhooks/icq", json={})).status_code == 404
    globex = p.telegram_message("x", 6)
    assert (await post(ingest, p.Req(globex.path.replace(p.BRAND, "globex"), globex.body, globex.headers))
            ).status_code == 404  # provider not configured for that brand

    for stream in ("inbound", "orders"):
        assert await records(kafka_bootstrap, ingest.names.of(stream), timeout=0.3) == []


async def test_shopify_fulfillment_and_refund_topics(ingest, kafka_bootstrap):
    fulfilment = p.shopify("fulfillments/update", {
        "id": 255858046, "order_id": 450789469, "status": "success", "tracking_company": "DHL Express",
        "tracking_number": "1Z2345", "tracking_url": "https://dhl.example/1Z2345", "shipment_status": "delivered"},
        "wh-" + uuid.uuid4().hex)
    refund = p.shopify("refunds/create", {"id": 509562969, "order_id": 450789469, "note": "damaged 破损",
                                          "transactions": [{"kind": "refund", "amount": "41.94", "currency": "EUR"}]},
                       "wh-" + uuid.uuid4().hex)
    ignored = p.shopify("products/update", {"id": 1}, "wh-" + uuid.uuid4().hex)
    for req in (fulfilment, refund, ignored):
        assert (await post(ingest, req)).status_code == 200
    stored = await records(kafka_bootstrap, ingest.names.orders, min_count=2)
    delivered, refunded = (orders_pb2.OrderEvent.FromString(r.value) for r in stored)
    assert delivered.kind == orders_pb2.ORDER_EVENT_KIND_DELIVERED and delivered.carrier == "DHL Express"
    assert refunded.kind == orders_pb2.ORDER_EVENT_KIND_REFUNDED and refunded.total_minor_units == 4194
    assert refunded.reason == "damaged 破损" and len(stored) == 2
