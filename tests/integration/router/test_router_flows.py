"""The router on the real broker (Tansu) and store (nx-27017): every "Must show" scenario."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from router_it_kit import T0, brand_of, inbound_message, order_event, presence, resolve, running_router
from switchboard.common import metrics as bus_metrics
from switchboard.common.testing import read_topic, wait_for, wait_ready
from switchboard.common.testing.helpers import read_raw
from switchboard.events.v1 import agent_pb2, common_pb2, conversation_pb2, notification_pb2, orders_pb2

ONLINE = agent_pb2.PRESENCE_ONLINE


async def send(producer, topic, payload, key, **kw):
    await producer.publish(topic, payload, key=key, **kw)
    await producer.drain()


async def conversation_of(db, reply_value: str, brand: str) -> dict:
    return await wait_for(
        lambda: db["conversations"].find_one({"brand_id": brand, "reply_handle.value": reply_value}),
        timeout=20,
        message=f"conversation of {reply_value}",
    )


@pytest.mark.parametrize("transactions", [True, False], ids=["one-transaction", "markers-last"])
async def test_the_same_customer_by_email_then_whatsapp_has_one_profile_and_one_history(
    service_settings, namespace, producer, topics, mongo_db, kafka_bootstrap, transactions
):
    brand = brand_of(namespace)
    async with running_router(service_settings, namespace, mongo_transactions=transactions):
        # The shop knows both the email address and the phone number of the buyer.
        await send(
            producer,
            topics.orders,
            order_event(
                "o-1",
                orders_pb2.ORDER_EVENT_KIND_SHIPPED,
                ("email", "ann@example.com"),
                ("phone", "+49 151 12345678"),
                order_number="#1001",
                carrier="DHL",
                tracking_url="https://t.example/1",
                brand=brand,
            ),
            f"{brand}/o-1",
        )
        await wait_for(lambda: mongo_db["orders"].find_one({"_id": f"{brand}/o-1"}), timeout=20)
        email = common_pb2.EmailThreading(message_id="<m1@mail.example>", subject="My order")
        await send(
            producer,
            topics.inbound,
            inbound_message(
                "Hello, where is my order? I bought it two weeks ago.",
                channel="email",
                sender=("email", "Ann@Example.com"),
                at=T0,
                email=email,
                brand=brand,
            ),
            f"{brand}/ann@example.com",
        )
        conv = await conversation_of(mongo_db, "ann@example.com", brand)
        await send(
            producer,
            topics.inbound,
            inbound_message(
                "Any news? I am still waiting for the parcel.",
                channel="whatsapp",
                sender=("whatsapp_id", "4915112345678"),
                at=T0 + timedelta(hours=1),
                brand=brand,
            ),
            f"{brand}/4915112345678",
        )
        await wait_for(lambda: mongo_db["conversations"].find_one({"_id": conv["_id"], "message_count": 2}), timeout=20)
    assert await mongo_db["customers"].count_documents({"brand_id": brand}) == 1
    assert await mongo_db["conversations"].count_documents({"brand_id": brand}) == 1
    stored = await mongo_db["conversations"].find_one({"_id": conv["_id"]})
    assert stored["channels"] == ["email", "whatsapp"] and stored["order_ids"] == ["o-1"]
    history = [m async for m in mongo_db["conversation_messages"].find({"conversation_id": conv["_id"]}).sort("at", 1)]
    assert [(m["author"], m["channel"]) for m in history if m["author"] == "customer"] == [
        ("customer", "email"),
        ("customer", "whatsapp"),
    ]
    # The bot answered the order question from the linked order, once; the second turn was not repeated.
    answers = [
        n
        for n in await read_topic(kafka_bootstrap, topics.notifications, 1, timeout=10)
        if n.payload.kind == notification_pb2.NOTIFICATION_KIND_BOT_ANSWER
    ]
    assert "#1001" in answers[0].payload.text and "DHL" in answers[0].payload.text
    assert len({a.payload.text for a in answers}) == len(answers)


async def test_a_renggong_fuwu_message_hands_off_on_that_turn(
    service_settings, namespace, producer, topics, mongo_db, kafka_bootstrap
):
    brand = brand_of(namespace)
    async with running_router(service_settings, namespace):
        await send(
            producer,
            topics.inbound,
            inbound_message("我的订单在哪里？", channel="chat", sender=("chat_session", "s-zh"), at=T0, brand=brand),
            f"{brand}/s-zh",
        )
        conv = await conversation_of(mongo_db, "s-zh", brand)
        await wait_for(lambda: _answered(mongo_db, conv["_id"]), timeout=20)
        await send(
            producer,
            topics.inbound,
            inbound_message(
                "人工服务", channel="chat", sender=("chat_session", "s-zh"), at=T0 + timedelta(seconds=30), brand=brand
            ),
            f"{brand}/s-zh",
        )
        await wait_for(lambda: mongo_db["conversations"].find_one({"_id": conv["_id"], "status": "queued"}), timeout=20)
    events = [
        e
        for e in await read_topic(kafka_bootstrap, topics.conversations, 6, timeout=10)
        if e.key == conv["_id"].encode()
    ]
    cases = [e.case for e in events]
    second_turn = cases[cases.index("customer_message_appended", cases.index("customer_message_appended") + 1) :]
    assert second_turn[:3] == ["customer_message_appended", "conversation_handed_off", "conversation_queued"]
    handoff = events[cases.index("conversation_handed_off")].payload
    assert handoff.conversation_handed_off.reason == conversation_pb2.HANDOFF_REASON_REQUESTED_HUMAN
    assert "order_status" in handoff.conversation_handed_off.summary  # what the bot already said
    queued = events[cases.index("conversation_queued")].payload
    assert queued.conversation.language == "zh" and queued.conversation_queued.queue == "zh"
    assert cases.count("bot_replied") == 1


async def test_three_agents_two_queues_by_skill_and_capacity_hold_when_full_and_serve_on_release(
    service_settings, namespace, producer, topics, mongo_db, kafka_bootstrap
):
    brand = brand_of(namespace)
    async with running_router(service_settings, namespace):
        for agent in ("alice", "bob", "chen"):
            await send(producer, topics.agent_commands, presence(agent, ONLINE, brand=brand), f"agent/{agent}")
        await wait_for(lambda: _online(mongo_db, brand), timeout=20)

        async def chat(session: str, text: str, offset_s: int) -> dict:
            await send(
                producer,
                topics.inbound,
                inbound_message(
                    text,
                    channel="chat",
                    sender=("chat_session", session),
                    at=T0 + timedelta(seconds=offset_s),
                    brand=brand,
                ),
                f"{brand}/{session}",
            )
            return await wait_for(
                lambda: mongo_db["conversations"].find_one(
                    {"brand_id": brand, "reply_handle.value": session, "status": {"$in": ["assigned", "queued"]}}
                ),
                timeout=20,
            )

        z1 = await chat("z1", "人工服务", 1)
        z2 = await chat("z2", "人工服务", 2)
        e1 = await chat("e1", "I need a human agent please", 3)
        e2 = await chat("e2", "I need a human agent please", 4)
        e3 = await chat("e3", "I need a human agent please", 5)
        z3 = await chat("z3", "人工服务", 6)
        e4 = await chat("e4", "agent, this is urgent!", 7)
        # Skills and capacity: zh work to the zh speakers (bob chat 1, chen chat 1); English to alice (chat 2).
        assert {z1["assignee_id"], z2["assignee_id"]} == {"bob", "chen"}
        assert e1["assignee_id"] == e2["assignee_id"] == "alice"
        # Everyone is full: work waits in its queue.
        assert (e3["status"], z3["status"], e4["status"]) == ("queued", "queued", "queued")
        assert (e3["queue"], z3["queue"], e4["queue"]) == ("general", "zh", "general")
        assert e4["priority"] == common_pb2.PRIORITY_HIGH
        # Alice resolves one: the highest-priority waiting conversation (e4, newer than e3) is hers at once.
        await send(producer, topics.agent_commands, resolve("alice", e1["_id"], brand=brand), e1["_id"])
        e4 = await wait_for(
            lambda: mongo_db["conversations"].find_one({"_id": e4["_id"], "status": "assigned"}), timeout=20
        )
        assert e4["assignee_id"] == "alice"
        assert (await mongo_db["conversations"].find_one({"_id": e3["_id"]}))["status"] == "queued"
        # Chen resolves: the oldest zh conversation goes to a zh speaker with capacity.
        zh_of_chen = z1 if z1["assignee_id"] == "chen" else z2
        await send(producer, topics.agent_commands, resolve("chen", zh_of_chen["_id"], brand=brand), zh_of_chen["_id"])
        z3 = await wait_for(
            lambda: mongo_db["conversations"].find_one({"_id": z3["_id"], "status": "assigned"}), timeout=20
        )
        assert z3["assignee_id"] == "chen"
    assigned = [
        e
        for e in await read_topic(kafka_bootstrap, topics.conversations, 20, timeout=10)
        if e.case == "conversation_assigned"
    ]
    by_conv = {e.key.decode(): e for e in assigned}
    assert all(e.payload.conversation_assigned.rule and e.payload.conversation_assigned.explanation for e in assigned)
    # Assigned the moment capacity freed: the resolve command is the cause, and the time is its time.
    release = by_conv[e4["_id"]]
    assert release.payload.conversation_assigned.rule == "only_eligible"
    assert (
        release.causation_id is not None
        and release.payload.conversation.status == common_pb2.CONVERSATION_STATUS_ASSIGNED
    )


async def _answered(db, conversation_id: str) -> bool:
    doc = await db["conversations"].find_one({"_id": conversation_id})
    return bool(doc and doc["bot_answer_keys"])


async def _online(db, brand: str) -> bool:
    return await db["agents"].count_documents({"brand_id": brand, "presence": "online"}) == 3


async def test_queue_position_messages_are_sent_and_decrease_as_the_queue_drains(
    service_settings, namespace, producer, topics, mongo_db, kafka_bootstrap
):
    brand = brand_of(namespace)
    async with running_router(service_settings, namespace):
        sessions = [f"q{i}" for i in range(4)]
        for i, s in enumerate(sessions):
            await send(
                producer,
                topics.inbound,
                inbound_message(
                    "human please",
                    channel="chat",
                    sender=("chat_session", s),
                    at=T0 + timedelta(seconds=i),
                    brand=brand,
                ),
                f"{brand}/{s}",
            )
            await conversation_of(mongo_db, s, brand)
        await wait_for(lambda: _queued(mongo_db, brand, 4), timeout=20)
        await send(producer, topics.agent_commands, presence("alice", ONLINE, brand=brand), "agent/alice")
        await wait_for(lambda: _queued(mongo_db, brand, 2), timeout=20)
        taken = await mongo_db["conversations"].find_one({"brand_id": brand, "assignee_id": "alice"})
        await send(producer, topics.agent_commands, resolve("alice", taken["_id"], brand=brand), taken["_id"])
        await wait_for(lambda: _queued(mongo_db, brand, 1), timeout=20)
    notices = [
        n.payload
        for n in await read_topic(kafka_bootstrap, topics.notifications, 1, timeout=10)
        if n.payload.kind == notification_pb2.NOTIFICATION_KIND_QUEUE_POSITION
    ]
    pickups = [n for n in notices if n.template == "queue_picked_up"]
    notices = [n for n in notices if n.template == "queue_position"]
    last = [int(n.variables["position"]) for n in notices if n.recipient.value == "q3"]
    assert last == [4, 2, 1]
    assert {n.recipient.value for n in notices} == set(sessions)  # everyone heard on entering the queue
    assert all(int(n.variables["eta_seconds"]) > 0 for n in notices)
    # Alice took q0 and q1, then q2: each heard once that it is their turn; q3 still waits.
    assert sorted(n.recipient.value for n in pickups) == ["q0", "q1", "q2"]


async def _queued(db, brand: str, n: int) -> bool:
    return await db["queue_entries"].count_documents({"brand_id": brand}) == n


async def test_the_waiting_queue_is_the_same_after_a_restart_and_a_rejected_command_in_its_batch(
    service_settings, namespace, producer, topics, mongo_db, kafka_bootstrap
):
    """The router keeps its queue in memory between batches. A restart must read it back as it was,
    and a batch that fails half-way (a rejected command next to a valid one) must not leave the
    memory ahead of the store: no conversation assigned twice, positions as they really are."""
    brand = brand_of(namespace)

    async def customer(session: str, offset_s: int) -> None:
        message = inbound_message("human please", channel="chat", sender=("chat_session", session),
                                  at=T0 + timedelta(seconds=offset_s), brand=brand)
        await send(producer, topics.inbound, message, f"{brand}/{session}")
        await conversation_of(mongo_db, session, brand)

    async with running_router(service_settings, namespace):
        for i in range(3):
            await customer(f"w{i}", i)
        await wait_for(lambda: _queued(mongo_db, brand, 3), timeout=20)
    # While the router is down, on one partition (so one batch): an agent with room for two chats,
    # whose assignments change the queue in memory, then a command the router must reject.
    await send(producer, topics.agent_commands, presence("alice", ONLINE, brand=brand), "agent/alice")
    await send(producer, topics.agent_commands, resolve("alice", "no-such-conversation", brand=brand), "agent/alice")
    async with running_router(service_settings, namespace):
        await wait_for(lambda: _queued(mongo_db, brand, 1), timeout=30)
        await customer("w3", 3)
        await wait_for(lambda: _queued(mongo_db, brand, 2), timeout=20)
    conversations = {d["reply_handle"]["value"]: d async for d in mongo_db["conversations"].find({"brand_id": brand})}
    assert [conversations[f"w{i}"]["status"] for i in range(4)] == ["assigned", "assigned", "queued", "queued"]
    alice = await mongo_db["agents"].find_one({"brand_id": brand, "agent_id": "alice"})
    assert sorted(alice["active"]) == sorted(conversations[f"w{i}"]["_id"] for i in (0, 1))
    assigned = [e.key.decode() for e in await read_topic(kafka_bootstrap, topics.conversations, 1, timeout=10)
                if e.case == "conversation_assigned"]
    assert sorted(assigned) == sorted(conversations[f"w{i}"]["_id"] for i in (0, 1))  # once each
    positions: dict[str, list[int]] = {}
    for n in await read_topic(kafka_bootstrap, topics.notifications, 1, timeout=10):
        if n.payload.template == "queue_position":
            positions.setdefault(n.payload.recipient.value, []).append(int(n.payload.variables["position"]))
    assert positions["w2"] == [3, 1] and positions["w3"] == [2]
    dead = await read_topic(kafka_bootstrap, topics.dlq("agent_commands"), 1, timeout=20)
    assert b"not a conversation of brand" in dict(dead[0].raw_headers)["dlq_error"]


async def test_replaying_the_same_1000_inbound_events_changes_nothing(
    service_settings, namespace, producer, topics, mongo_db, kafka_bootstrap
):
    brand = brand_of(namespace)
    texts = [
        "where is my order?",
        "how long does shipping take",
        "I want to return it",
        "human please",
        "¿dónde está mi pedido? lo necesito pronto",
        "人工服务",
        "Wo ist meine Bestellung bitte?",
        "hello there",
    ]
    events = []
    for i in range(1000):
        customer = i % 250
        channel, kind = (("email", "email"), ("whatsapp", "whatsapp_id"), ("chat", "chat_session"))[customer % 3]
        value = {
            "email": f"c{customer}@example.com",
            "whatsapp_id": f"4915100{customer:05d}",
            "chat_session": f"sess-{customer}",
        }[kind]
        events.append(
            (
                f"replay-{i}",
                inbound_message(
                    texts[(i // 250 + customer) % len(texts)],
                    channel=channel,
                    sender=(kind, value),
                    at=T0 + timedelta(seconds=i),
                    brand=brand,
                ),
                f"{brand}/{value}",
            )
        )

    async def publish_all():
        for event_id, payload, key in events:
            await producer.publish(topics.inbound, payload, key=key, event_id=event_id)
        await producer.drain()

    group = f"{namespace}-router.contact"  # the contact stage decides them (the intake forwards them)
    consumed = bus_metrics.RECORDS_CONSUMED.labels(topics.contacts, group)
    routed = bus_metrics.RECORDS_CONSUMED.labels(topics.routing, f"{namespace}-router.routing")
    async with running_router(service_settings, namespace):
        before = consumed._value.get()
        await publish_all()
        await wait_for(lambda: consumed._value.get() - before >= 1000, timeout=120, message="first pass consumed")
        await wait_for(lambda: routed._value.get() >= 1000, timeout=120, message="first pass routed")
        first = await _state(mongo_db, brand)
        # Messages get no dedupe record in either stage: the stored message itself says the contact stage
        # applied it, and the conversations a delta names list it once the routing stage did, so a replay
        # changes nothing and emits nothing, however long after.
        for stage in ("contact", "routing"):
            assert await mongo_db["processed_events"].count_documents(
                {"_id": {"$in": [f"{namespace}-router.{stage}|{e[0]}" for e in events]}}) == 0
        for _ in range(2):
            before = consumed._value.get()
            await publish_all()
            await wait_for(lambda b=before: consumed._value.get() - b >= 1000, timeout=120, message="replay consumed")
            assert await _state(mongo_db, brand) == first
    assert len(first["conversations"]) == 250
    records = await read_raw(kafka_bootstrap, topics.conversations, 1, timeout=20)
    ids = [dict(r.headers)["ce_id"] for r in records]
    assert len(ids) == len(set(ids))


async def _state(db, brand: str) -> dict:
    state = {}
    for name in sorted(await db.list_collection_names()):
        if name == "processed_events":
            continue
        state[name] = [doc async for doc in db[name].find({"brand_id": brand}).sort("_id", 1)]
    return state


async def test_bad_commands_go_to_the_dlq_and_the_ops_endpoints_answer(
    service_settings, namespace, producer, topics, mongo_db, kafka_bootstrap
):
    brand = brand_of(namespace)
    async with running_router(service_settings, namespace, with_http=True) as router:
        await send(
            producer,
            topics.agent_commands,
            resolve("alice", "no-such-conversation", brand=brand),
            "no-such-conversation",
        )
        await send(
            producer,
            topics.inbound,
            inbound_message("human please", channel="chat", sender=("chat_session", "ok"), brand=brand),
            f"{brand}/ok",
        )
        await conversation_of(mongo_db, "ok", brand)
        dead = await read_topic(kafka_bootstrap, topics.dlq("agent_commands"), 1, timeout=20)
        assert b"not a conversation of brand" in dict(dead[0].raw_headers)["dlq_error"]
        port = router.settings.http.port
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            assert (await client.get("/healthz")).status_code == 200
            await wait_ready(client, "/readyz")
            body = (await client.get("/metrics")).text
            assert "switchboard_router_bot_handoffs_total" in body


async def test_a_batch_saved_but_never_committed_is_skipped_when_redelivered(
    service_settings, namespace, producer, topics, mongo_db, kafka_bootstrap
):
    """kill -9 after the router wrote a batch's state but before it committed the offsets: the
    redelivered batch must not be applied again on top of its own result (which would look like a
    second customer turn and send the customer a second, different message)."""
    from router_it_kit import bootstrap, demo_config_for, detector
    from switchboard.common.cloudevents import decode
    from switchboard.router.settings import RouterSettings

    brand = brand_of(namespace)
    message = inbound_message("hello there", channel="email", sender=("email", "kim@example.com"), at=T0, brand=brand)
    await send(producer, topics.inbound, message, f"{brand}/kim@example.com", event_id="crash-window-1")
    # The crashed process: it handled the record (state saved, events published) and died before
    # the runner could commit. Nothing of the runner's own bookkeeping ran.
    settings = service_settings(RouterSettings, group_id=f"{namespace}-router")
    crashed = bootstrap(settings, detector=detector(), with_http=False, config=demo_config_for(brand))
    await crashed.mongo.start()
    await crashed.producer.start()
    await crashed.store.ensure_indexes()
    record = (await read_raw(kafka_bootstrap, topics.inbound, 1))[0]
    # Its intake stage forwarded the record to the contacts topic; its contact stage decided it (the
    # delta published, its half written); its routing stage replayed the delta (the bot's answer
    # published, its half written).
    inbound = decode(record.value, record.headers, topic=record.topic)
    from switchboard.router.adapters import routing_wire
    from switchboard.router.adapters.contact_keys import ContactKeys
    inp, request = routing_wire.wrap_input(inbound, detector())
    (key,) = await ContactKeys(crashed.store.db).keys([inp])
    await crashed.producer.publish(topics.contacts, request, key=key, cause=inbound, event_id=inbound.id,
                                   time=inbound.time, brand_id=brand)
    await crashed.producer.drain()
    contact = (await read_raw(kafka_bootstrap, topics.contacts, 1))[0]
    await crashed.contact_handler([decode(contact.value, contact.headers, topic=contact.topic,
                                          partition=contact.partition)])
    delta = (await read_raw(kafka_bootstrap, topics.routing, 1))[0]
    await crashed.handler([decode(delta.value, delta.headers, topic=delta.topic)])
    await crashed.producer.stop()
    await crashed.mongo.stop()
    first = await read_raw(kafka_bootstrap, topics.notifications, 1)
    # The restarted router reads the uncommitted records again: the intake forwards the inbound record a
    # second time, the contact stage reads both copies (the stored message: no delta), the routing stage
    # the uncommitted delta (its conversation lists it: nothing again).
    contacts = bus_metrics.RECORDS_CONSUMED.labels(topics.contacts, f"{namespace}-router.contact")
    routed = bus_metrics.RECORDS_CONSUMED.labels(topics.routing, f"{namespace}-router.routing")
    before = contacts._value.get(), routed._value.get()
    async with running_router(service_settings, namespace):
        await wait_for(lambda: (contacts._value.get() >= before[0] + 2 and routed._value.get() >= before[1] + 1),
                       timeout=30, message="redelivery consumed")
    after = await read_raw(kafka_bootstrap, topics.notifications, 1)
    # One bot answer to the customer, not a second, different one: the redelivered delta (effects only, so
    # unmarked) may publish it again under the same event id, which the notifier drops.
    assert len(first) == 1 and {dict(r.headers)["ce_id"] for r in after} == {dict(first[0].headers)["ce_id"]}
