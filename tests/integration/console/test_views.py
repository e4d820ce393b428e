"""One conversation (timeline across channels, SLA clocks, orders, CSAT), customer, queues, agents, board;
and what the pages show when a read API is down."""
from __future__ import annotations

from datetime import timedelta

import pytest
from console_kit import T0, conversation, escalation, login, sla
from switchboard.common import processes
from switchboard.common.testing import wait_for

CID = "c-liwei"


def router_answer() -> dict:
    return {
        "conversation": {
            "id": CID, "brand_id": "acme", "customer_id": "cust-li", "customer_name": "Li Wei", "channel": "whatsapp",
            "channels": ["email", "whatsapp"], "status": "assigned", "priority": "high", "queue": "zh",
            "assignee_id": "alice", "language": "zh", "opened_at": "2026-12-01T09:00:00Z",
            "updated_at": "2026-12-01T09:11:00Z", "resolved_at": None,
            "reply_handle": {"kind": "whatsapp_id", "value": "8613800000000"}, "order_ids": ["o-1"], "csat_score": 4,
            "handoffs": [{"at": "2026-12-01T09:04:00Z", "reason": "requested_human",
                          "summary": "Asks where order #1001 is; wrote twice."}],
            "assignment_history": [{"at": "2026-12-01T09:05:00Z", "agent_id": "alice", "previous": "",
                                    "rule": "most_spare_capacity", "explanation": "alice speaks zh, 2 free slots"}],
            "escalations_acknowledged": [], "reopen_count": 0},
        "messages": [
            {"id": "m1", "author": "customer", "agent_id": "", "internal": False, "channel": "email",
             "text": "Where is my order #1001?", "at": "2026-12-01T09:00:00Z", "auto_reply": False, "kind": "message",
             "attachments": [{"name": "receipt.pdf", "content_type": "application/pdf",
                              "url": "https://files.example/receipt.pdf", "size": 48213}]},
            {"id": "m2", "author": "customer", "agent_id": "", "internal": False, "channel": "whatsapp",
             "text": "我的订单在哪里？🙏", "at": "2026-12-01T09:03:00Z", "auto_reply": False, "kind": "message",
             "attachments": [{"name": "photo.jpg", "content_type": "image/jpeg", "url": "javascript:alert(1)",
                              "size": 900}]},
            {"id": "m3", "author": "agent", "agent_id": "alice", "internal": False, "channel": "whatsapp",
             "text": "Отправлено сегодня, <b>DHL</b>", "at": "2026-12-01T09:10:00Z", "auto_reply": False,
             "kind": "message", "attachments": []},
            {"id": "m4", "author": "agent", "agent_id": "alice", "internal": True, "channel": "",
             "text": "Checked with DHL", "at": "2026-12-01T09:11:00Z", "auto_reply": False, "kind": "note",
             "attachments": []}],
        "orders": [{"order_id": "o-1", "order_number": "#1001", "status": "shipped",
                    "occurred_at": "2026-12-01T08:00:00Z", "carrier": "DHL", "tracking_number": "JD0001",
                    "tracking_url": "https://dhl.example/JD0001", "estimated_delivery": None}],
    }


def sla_answer() -> dict:
    return {"conversation_id": CID, "clocks": [
        {"metric": "next_response", "instance": 1, "policy_id": "whatsapp-vip", "state": "running",
         "started_at": "2026-12-01T09:03:00Z", "deadline": "2099-01-01T00:00:00Z", "target_seconds": 900,
         "business_hours": True, "calendar_id": "cn", "time_left_seconds": 600,
         "warnings": [{"fraction": 0.75, "at": "2026-12-01T09:14:00Z"}], "breached_at": None, "fulfilled_at": None}],
        "escalations": [{"escalation_id": f"{CID}:first_response:1:1", "level": 1, "level_name": "assignee",
                         "reason": "sla_breached", "metric": "first_response", "raised_at": "2026-12-01T09:20:00Z",
                         "acknowledged": False, "acknowledged_by": "", "acknowledged_at": None}]}


@pytest.fixture
async def liwei(console, producer, topics, peers):
    peers.conversations[("acme", CID)] = router_answer()
    peers.clocks[("acme", CID)] = sla_answer()
    peers.customers[("acme", "cust-li")] = {
        "customer": {"id": "cust-li", "name": "Li Wei", "vip": True, "created_at": "2026-01-01T00:00:00Z",
                     "handles": [{"kind": "email", "value": "li.wei@example.cn"},
                                 {"kind": "whatsapp_id", "value": "8613800000000"}]},
        "orders": router_answer()["orders"],
        "conversations": [{"id": CID, "status": "assigned", "channel": "whatsapp",
                           "opened_at": "2026-12-01T09:00:00Z", "resolved_at": None}]}
    snap = dict(status="assigned", channel="whatsapp", assignee="alice", queue="zh", name="Li Wei",
                handle="8613800000000", customer_id="cust-li", priority="high")
    events = [
        # In the order the router publishes them (the topic orders a conversation's facts).
        (topics.conversations, conversation("conversation_opened", CID, T0, body={"first_message_id": "m1"}, **snap),
         "l-1"),
        (topics.conversations, conversation("customer_message_appended", CID, T0 + timedelta(minutes=3),
                                            body={"message_id": "m2", "text_length": 9}, **snap), "l-3"),
        (topics.conversations, conversation("conversation_assigned", CID, T0 + timedelta(minutes=5),
                                            body={"assignee_id": "alice", "rule": "most_spare_capacity",
                                                  "explanation": "alice speaks zh, 2 free slots"}, **snap), "l-2"),
        (topics.sla, sla("sla_applied", CID, deadline=T0 + timedelta(hours=1), **snap), "l-4"),
        (topics.escalations, escalation(CID, 1, T0 + timedelta(minutes=20), **snap), "l-5"),
    ]
    for topic, event, eid in events:
        await producer.publish(topic, event, key=CID, event_id=eid)
    await producer.drain()
    await wait_for(lambda: console.app.activity.collection.count_documents({"conversation_id": CID}),
                   timeout=15)
    await wait_for(lambda: _count_is(console.app.activity.collection, {"conversation_id": CID}, 5), timeout=15)
    return console


async def _count_is(collection, flt, n) -> bool:
    return await collection.count_documents(flt) == n


async def test_one_timeline_across_channels_with_facts_in_time_order(liwei):
    async with liwei.client() as client:
        await login(client, "alice")
        body = (await client.get(f"/api/v1/conversations/{CID}")).json()
    timeline = body["timeline"]
    described = [(e["type"], e["kind"] if e["type"] == "event" else e["channel"]) for e in timeline]
    assert described == [
        ("event", "conversation_opened"), ("message", "email"), ("message", "whatsapp"),
        ("event", "conversation_assigned"), ("message", "whatsapp"), ("note", ""),
        ("event", "escalation_raised")]
    assert timeline[2]["text"] == "我的订单在哪里？🙏"
    assert timeline[1]["attachments"][0]["name"] == "receipt.pdf"
    assert timeline[3]["detail"]["explanation"] == "alice speaks zh, 2 free slots"
    assert body["sla"]["clocks"][0]["time_left_seconds"] == 600
    assert body["orders"][0]["order_number"] == "#1001" and body["csat_score"] == 4
    assert body["handoffs"][0]["summary"].startswith("Asks where order")
    assert body["warnings"] == []


async def test_the_conversation_page_shows_texts_as_written_and_safe_links_only(liwei):
    async with liwei.client() as client:
        await login(client, "alice")
        page = await client.get(f"/conversations/{CID}")
    assert page.status_code == 200
    html = page.text
    assert "我的订单在哪里？🙏" in html and "Отправлено сегодня, &lt;b&gt;DHL&lt;/b&gt;" in html
    assert 'href="https://files.example/receipt.pdf"' in html and "application/pdf" in html
    assert "javascript:" not in html  # an attachment URL that is not http(s) is shown as a name only
    assert 'data-deadline="2099-01-01T00:00:00+00:00"' in html and 'data-state="at_risk"' in html
    assert "Asks where order #1001 is; wrote twice." in html
    assert page.headers["content-security-policy"].startswith("default-src 'self'")


async def test_when_the_read_apis_are_down_the_page_still_opens_and_says_so(start_console, producer, topics):
    dead = f"http://127.0.0.1:{processes.free_port()}"
    console = await start_console(router_url=dead, sla_url=dead)
    await producer.publish(topics.conversations, conversation("conversation_opened", "c-down", T0), key="c-down")
    await producer.publish(topics.sla, sla("sla_applied", "c-down", deadline=T0 + timedelta(hours=1)), key="c-down")
    await producer.drain()
    await wait_for(lambda: console.app.store.rows.find_one({"_id": "c-down", "sla_state": "running"}), timeout=15)
    async with console.client() as client:
        await login(client, "alice")
        body = (await client.get("/api/v1/conversations/c-down")).json()
        page = await client.get("/conversations/c-down")
    assert any("router read API not reachable" in w for w in body["warnings"])
    assert body["sla"]["clocks"][0]["state"] == "running"  # from the console's own projection
    assert page.status_code == 200 and "router read API not reachable" in page.text


async def test_customer_page_data_and_isolation(liwei, peers):
    peers.customers[("globex", "cust-g")] = {"customer": {"id": "cust-g", "handles": []}, "orders": [],
                                             "conversations": []}
    async with liwei.client() as client:
        await login(client, "alice")
        body = (await client.get("/api/v1/customers/cust-li")).json()
        assert [h["value"] for h in body["customer"]["handles"]] == ["li.wei@example.cn", "8613800000000"]
        assert body["conversations"][0]["id"] == CID and body["orders"][0]["status"] == "shipped"
        assert (await client.get("/api/v1/customers/cust-g")).status_code == 404
        assert (await client.get("/api/v1/customers/cust-g", params={"brand": "globex"})).status_code == 404
        page = await client.get("/customers/cust-li")
        assert page.status_code == 200 and "li.wei@example.cn" in page.text


async def test_queues_agents_and_the_supervisor_board(liwei, peers, producer, topics):
    peers.queues["acme"] = [{"queue": "zh", "depth": 2, "oldest_enqueued_at": "2026-12-01T09:00:00Z", "entries": [
        {"conversation_id": "q1", "position": 1, "priority": "high", "channel": "chat", "language": "zh",
         "enqueued_at": "2026-12-01T09:00:00Z", "eta_seconds": 60},
        {"conversation_id": "q2", "position": 2, "priority": "normal", "channel": "email", "language": "zh",
         "enqueued_at": "2026-12-01T09:02:00Z", "eta_seconds": 240}]}]
    peers.agents["acme"] = [{"agent_id": "alice", "name": "Alice", "presence": "online", "queues": ["general"],
                             "languages": ["en"], "capacity": {"chat": 3, "email": 5}, "load": {"chat": 3},
                             "active_count": 3}]
    await producer.publish(topics.sla, sla("sla_breached", CID, deadline=T0 + timedelta(hours=1)), key=CID)
    await producer.drain()
    await wait_for(lambda: liwei.app.store.rows.find_one({"_id": CID, "sla_state": "breached"}), timeout=15)
    async with liwei.client() as client:
        await login(client, "alice")
        queues = (await client.get("/api/v1/queues")).json()["queues"]
        assert [(e["conversation_id"], e["position"]) for e in queues[0]["entries"]] == [("q1", 1), ("q2", 2)]
        assert (await client.get("/api/v1/agents")).json()["agents"][0]["load"] == {"chat": 3}
        assert (await client.get("/api/v1/board")).status_code == 403
        assert (await client.get("/board")).status_code == 403
    async with liwei.client() as client:
        await login(client, "sam")
        board = (await client.get("/api/v1/board")).json()
        page = await client.get("/board")
    assert board["queues"][0]["depth"] == 2 and board["queues"][0]["eta_seconds"] == 240
    assert board["queues"][0]["oldest_wait_seconds"] > 0
    assert [r["id"] for r in board["breached"]] == [CID] and board["at_risk"] == []
    assert [e["escalation_id"] for e in board["escalations"]] == [f"{CID}:first_response:1:1"]
    assert board["agents"][0]["presence"] == "online"
    assert page.status_code == 200 and "Li Wei" in page.text and "Unacknowledged escalations" in page.text


async def test_handoff_card_reply_target_and_presence_as_a_person_reads_them(liwei, peers):
    answer = router_answer()
    answer["conversation"]["handoffs"] = [{"at": "2026-12-01T09:04:00Z", "reason": "requested_human", "summary": {
        "reason": "requested_human", "customer": {"customer_id": "cust-li", "name": "Li Wei", "vip": True,
                                                  "language": "zh"},
        "channels": [{"channel": "email", "messages": 1}, {"channel": "whatsapp", "messages": 1}],
        "orders": [{"order_id": "o-1", "order_number": "#1001", "status": "shipped"}], "named_order": "",
        "bot_said": ["order_status"], "customer_sent": {"messages": 2, "attachments": [{"filename": "photo.jpg"}]}}}]
    answer["conversation"].update(reply_channel="phone", callback_number="+86 138 0000 0000")
    peers.conversations[("acme", CID)] = answer
    peers.agents["acme"] = [{"agent_id": "alice", "name": "Alice", "presence": "away", "capacity": {}, "load": {},
                             "active_count": 0}]
    async with liwei.client() as client:
        await login(client, "alice")
        html = (await client.get(f"/conversations/{CID}")).text
        fragment = (await client.get(f"/fragments/conversations/{CID}")).text
        just_set = (await client.get("/inbox", params={"done": "presence", "presence": "online"})).text
    assert "{'" not in html and "&#39;reason&#39;" not in html  # no raw dict
    assert "The customer asked for a person" in html and "Li Wei · VIP · language zh" in html
    assert "email ×1, whatsapp ×1" in html and "2 messages; attachments: photo.jpg" in html
    # The reply goes where the router says (a phone callback here), and the label is a live part.
    reply_to = 'data-part="reply-to">Reply to Li Wei on <strong class="reply-channel" data-channel="phone">phone'
    assert reply_to in html and reply_to in fragment and "call back <strong class=\"callback\">+86 138" in html
    assert 'value="away" class="presence-away" aria-pressed="true"' in html
    assert 'value="online" class="presence-online" aria-pressed="false"' in html
    assert 'value="online" class="presence-online" aria-pressed="true"' in just_set
