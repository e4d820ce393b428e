"""The router's read API over real HTTP (uvicorn on the router's ops port), on the real broker and store:
traffic goes in through the router's topics, answers come out of its own collections."""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx
from router_it_kit import T0, brand_of, inbound_message, order_event, presence, resolve, running_router
from switchboard.common.testing import wait_for
from switchboard.events.v1 import agent_pb2, common_pb2, orders_pb2
from switchboard.router.adapters import read_schema as schema

ONLINE = agent_pb2.PRESENCE_ONLINE
TOKEN = "read-token-for-tests"


async def send(producer, topic, payload, key) -> None:
    await producer.publish(topic, payload, key=key)
    await producer.drain()


def api(router, token: str | None = None) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.AsyncClient(base_url=f"http://127.0.0.1:{router.settings.http.port}", headers=headers, timeout=10)


def command(brand: str, agent_id: str, **body) -> agent_pb2.AgentCommand:
    return agent_pb2.AgentCommand(brand_id=brand, agent_id=agent_id, **body)


def parse(moment: str) -> datetime:
    return datetime.fromisoformat(moment)


async def ann_talks_by_email_then_whatsapp(producer, topics, mongo_db, brand: str) -> dict:
    """Ann's order, her email with an attachment, then a WhatsApp message asking for a human."""
    shipped = order_event("o-1", orders_pb2.ORDER_EVENT_KIND_SHIPPED, ("email", "ann@example.com"),
                          ("phone", "+49 151 12345678"), order_number="#1001", carrier="DHL",
                          tracking_number="JD0001", tracking_url="https://t.example/1", brand=brand)
    await send(producer, topics.orders, shipped, f"{brand}/o-1")
    await wait_for(lambda: mongo_db["orders"].find_one({"_id": f"{brand}/o-1"}), timeout=20)
    photo = common_pb2.AttachmentRef(url="https://files.example/p1.jpg", content_type="image/jpeg",
                                     size_bytes=2048, filename="parcel.jpg")
    email = inbound_message("Hello, where is my order? 🙂", channel="email", sender=("email", "Ann@Example.com"),
                            at=T0, brand=brand, attachments=[photo],
                            email=common_pb2.EmailThreading(message_id="<m1@mail.example>", subject="My order"))
    await send(producer, topics.inbound, email, f"{brand}/ann@example.com")
    conv = await wait_for(lambda: mongo_db["conversations"].find_one({"brand_id": brand}), timeout=20)
    whatsapp = inbound_message("Нужен оператор, I need a human agent please", channel="whatsapp",
                               sender=("whatsapp_id", "4915112345678"), at=T0 + timedelta(minutes=1), brand=brand)
    await send(producer, topics.inbound, whatsapp, f"{brand}/4915112345678")
    return await wait_for(lambda: mongo_db["conversations"].find_one({"_id": conv["_id"], "status": "assigned"}),
                          timeout=20, message="Ann's conversation handed off and assigned to alice")


async def test_one_conversation_reads_as_one_timeline_with_state_orders_and_routing(
    service_settings, namespace, producer, topics, mongo_db
):
    brand = brand_of(namespace)
    async with running_router(service_settings, namespace, with_http=True) as router:
        await send(producer, topics.agent_commands, presence("alice", ONLINE, brand=brand), "agent/alice")
        conv = await ann_talks_by_email_then_whatsapp(producer, topics, mongo_db, brand)
        cid = conv["_id"]
        reply = agent_pb2.ReplyToConversation(conversation_id=cid, text="Your parcel is with DHL: JD0001.",
                                              reply_id="r-1")
        await send(producer, topics.agent_commands, command(brand, "alice", reply_to_conversation=reply), cid)
        note = agent_pb2.AddInternalNote(conversation_id=cid, text="checked the DHL tracking")
        await send(producer, topics.agent_commands, command(brand, "alice", add_internal_note=note), cid)
        await wait_for(lambda: mongo_db["conversation_messages"].find_one({"conversation_id": cid, "internal": True}),
                       timeout=20, message="the internal note is stored")

        async with api(router) as client:
            response = await client.get(f"/v1/brands/{brand}/conversations/{cid}")
    assert response.status_code == 200, response.text
    body = response.json()
    schema.ConversationAnswer.model_validate(body)  # exactly the documented shape
    c = body["conversation"]
    assert (c["id"], c["brand_id"], c["customer_id"]) == (cid, brand, conv["customer_id"])
    assert c["channel"] == "whatsapp" and c["channels"] == ["email", "whatsapp"]  # replies go to the latest
    assert (c["status"], c["assignee_id"], c["queue"]) == ("assigned", "alice", "general")
    assert c["priority"] in ("normal", "high") and c["order_ids"] == ["o-1"]
    assert c["reply_handle"] == {"kind": "whatsapp_id", "value": "4915112345678"}
    assert parse(c["opened_at"]) == T0 and c["resolved_at"] is None and c["reopen_count"] == 0
    assert len(c["handoffs"]) == 1 and c["handoffs"][0]["reason"] and c["handoffs"][0]["summary"]
    (assigned,) = c["assignment_history"]
    assert assigned["agent_id"] == "alice" and assigned["rule"] and "alice" in assigned["explanation"]
    parse(assigned["at"])  # ISO-8601 like every datetime of the API

    messages = body["messages"]
    customer = [m for m in messages if m["author"] == "customer"]
    assert [(m["channel"], m["text"]) for m in customer] == [
        ("email", "Hello, where is my order? 🙂"),
        ("whatsapp", "Нужен оператор, I need a human agent please"),
    ]
    assert customer[0]["attachments"] == [{"name": "parcel.jpg", "content_type": "image/jpeg",
                                           "url": "https://files.example/p1.jpg", "size": 2048}]
    agent_reply, internal_note = messages[-2:]
    assert (agent_reply["author"], agent_reply["agent_id"], agent_reply["internal"], agent_reply["text"]) == (
        "agent", "alice", False, "Your parcel is with DHL: JD0001.")
    assert (internal_note["internal"], internal_note["kind"], internal_note["text"]) == (
        True, "note", "checked the DHL tracking")
    assert [parse(m["at"]) for m in messages] == sorted(parse(m["at"]) for m in messages)
    # The bot answered the order question (stored inside it), shown right after it.
    assert [m["author"] for m in messages[:3]] == ["customer", "bot", "customer"]
    (order,) = body["orders"]
    assert parse(order.pop("occurred_at")) == T0
    assert order == {"order_id": "o-1", "order_number": "#1001", "status": "shipped", "carrier": "DHL",
                     "tracking_number": "JD0001", "tracking_url": "https://t.example/1",
                     "estimated_delivery": None}


async def test_a_conversation_or_customer_of_another_brand_or_unknown_answers_404(
    service_settings, namespace, producer, topics, mongo_db
):
    brand = brand_of(namespace)
    async with running_router(service_settings, namespace, with_http=True) as router:
        await send(producer, topics.agent_commands, presence("alice", ONLINE, brand=brand), "agent/alice")
        conv = await ann_talks_by_email_then_whatsapp(producer, topics, mongo_db, brand)
        cid, customer_id = conv["_id"], conv["customer_id"]
        # Resolved, then Ann writes again long after the reopen window: her second conversation.
        await send(producer, topics.agent_commands, resolve("alice", cid, brand=brand), cid)
        await wait_for(lambda: mongo_db["conversations"].find_one({"_id": cid, "status": "resolved"}), timeout=20)
        later = inbound_message("A new question about returns", channel="email", sender=("email", "ann@example.com"),
                                at=T0 + timedelta(hours=3), brand=brand)
        await send(producer, topics.inbound, later, f"{brand}/ann@example.com")
        second = await wait_for(lambda: mongo_db["conversations"].find_one({"brand_id": brand, "_id": {"$ne": cid}}),
                                timeout=20, message="Ann's second conversation")
        async with api(router) as client:
            customer = await client.get(f"/v1/brands/{brand}/customers/{customer_id}")
            refused = [
                await client.get(f"/v1/brands/globex/conversations/{cid}"),
                await client.get(f"/v1/brands/globex/customers/{customer_id}"),
                await client.get(f"/v1/brands/{brand}/conversations/no-such-conversation"),
                await client.get(f"/v1/brands/{brand}/customers/no-such-customer"),
            ]
            other_agents = (await client.get("/v1/brands/globex/agents")).json()["agents"]
            other_queues = (await client.get("/v1/brands/globex/queues")).json()["queues"]
    assert customer.status_code == 200, customer.text
    body = customer.json()
    schema.CustomerAnswer.model_validate(body)
    assert body["customer"]["id"] == customer_id and not body["customer"]["vip"]
    handles = {(h["kind"], h["value"]) for h in body["customer"]["handles"]}
    assert {("email", "ann@example.com"), ("whatsapp_id", "4915112345678")} <= handles
    assert [o["order_id"] for o in body["orders"]] == ["o-1"] and body["orders"][0]["carrier"] == "DHL"
    newest, oldest = body["conversations"]  # newest first
    assert (newest["id"], parse(newest["opened_at"]), newest["resolved_at"]) == (
        second["_id"], T0 + timedelta(hours=3), None)
    assert (oldest["id"], oldest["status"], oldest["channel"], parse(oldest["opened_at"])) == (
        cid, "resolved", "whatsapp", T0)
    assert parse(oldest["resolved_at"]) > T0
    for response in refused:
        assert response.status_code == 404, response.text
        assert response.json()["error"] == "not_found" and response.json()["message"]
    assert all(a["agent_id"] != "alice" for a in other_agents)  # globex sees its own agents only
    assert all(e["conversation_id"] != cid for q in other_queues for e in q["entries"])


async def test_queues_in_serving_order_with_positions_and_agents_load_against_capacity(
    service_settings, namespace, producer, topics, mongo_db
):
    brand = brand_of(namespace)
    async with running_router(service_settings, namespace, with_http=True, read_api_token=TOKEN) as router:
        async def contact(session: str, text: str, seconds: int, channel: str = "chat") -> str:
            kind = "email" if channel == "email" else "chat_session"
            message = inbound_message(text, channel=channel, sender=(kind, session), brand=brand,
                                      at=T0 + timedelta(seconds=seconds))
            await send(producer, topics.inbound, message, f"{brand}/{session}")
            doc = await wait_for(lambda: mongo_db["conversations"].find_one(
                {"brand_id": brand, "reply_handle.value": session, "status": "queued"}), timeout=20)
            return doc["_id"]

        # Every agent is offline: everything waits. The email is oldest, chats go first at equal priority.
        mail = await contact("eve@example.com", "I need a human agent please", 0, channel="email")
        e1 = await contact("e1", "I need a human agent please", 1)
        e2 = await contact("e2", "I need a human agent please", 2)
        urgent = await contact("e3", "agent, this is urgent!", 3)
        z1 = await contact("z1", "人工服务", 4)

        async with api(router) as anonymous, api(router, "wrong") as wrong:
            assert (await anonymous.get(f"/v1/brands/{brand}/queues")).status_code == 401
            assert (await wrong.get(f"/v1/brands/{brand}/agents")).status_code == 401
            assert (await anonymous.get(f"/v1/brands/{brand}/conversations/{e1}")).status_code == 401
            assert (await anonymous.get("/healthz")).status_code == 200  # ops endpoints stay open
        async with api(router, TOKEN) as client:
            answer = (await client.get(f"/v1/brands/{brand}/queues")).json()
            queues = {q["queue"]: q for q in schema.QueuesAnswer.model_validate(answer).model_dump()["queues"]}
            assert list(queues) == ["zh", "general"]  # every configured queue, in configured order
            general = queues["general"]
            assert [e["conversation_id"] for e in general["entries"]] == [urgent, e1, e2, mail]
            assert [e["position"] for e in general["entries"]] == [1, 2, 3, 4]
            assert general["entries"][0]["priority"] == "high" and general["entries"][3]["channel"] == "email"
            # No dequeue yet: the ETA is the configured 30 s per position, as customers were told.
            assert [e["eta_seconds"] for e in general["entries"]] == [30, 60, 90, 120]
            assert general["depth"] == 4 and parse(general["oldest_enqueued_at"]) == T0
            assert [e["conversation_id"] for e in queues["zh"]["entries"]] == [z1]
            limited = (await client.get(f"/v1/brands/{brand}/queues", params={"limit": 2})).json()["queues"]
            assert [len(q["entries"]) for q in limited] == [1, 2] and limited[1]["depth"] == 4
            bad = await client.get(f"/v1/brands/{brand}/queues", params={"limit": 0})
            assert bad.status_code == 422 and "limit" in bad.text

            # Bob comes online: he takes the urgent chat (his one chat slot) and the email.
            await send(producer, topics.agent_commands, presence("bob", ONLINE, brand=brand), "agent/bob")
            await wait_for(lambda: mongo_db["conversations"].find_one({"_id": mail, "status": "assigned"}), timeout=20)
            answer = (await client.get(f"/v1/brands/{brand}/agents")).json()
            agents = {a["agent_id"]: a for a in schema.AgentsAnswer.model_validate(answer).model_dump()["agents"]}
            queues = {q["queue"]: q for q in (await client.get(f"/v1/brands/{brand}/queues")).json()["queues"]}
    assert list(agents) == ["alice", "bob", "chen"]
    bob = agents["bob"]
    assert (bob["presence"], bob["capacity"], bob["load"], bob["active_count"]) == (
        "online", {"chat": 1, "email": 3}, {"chat": 1, "email": 1}, 2)
    assert bob["queues"] == ["general", "zh"] and bob["languages"] == ["en", "zh"] and bob["name"] == "Bob"
    assert agents["alice"]["presence"] == "offline" and agents["alice"]["load"] == {"chat": 0, "email": 0, "phone": 0}
    general = queues["general"]["entries"]
    assert [(e["conversation_id"], e["position"]) for e in general] == [(e1, 1), (e2, 2)]
    # Two conversations just left the queue: the ETA now follows that handling rate, not the default.
    assert general[0]["eta_seconds"] <= general[1]["eta_seconds"] < 60
    assert [e["conversation_id"] for e in queues["zh"]["entries"]] == [z1]
