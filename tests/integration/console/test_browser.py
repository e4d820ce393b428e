"""Playwright smoke test of the workspace pages: a real Chromium (Debian's /usr/bin/chromium; never
`playwright install`) against the console on a projection seeded through the real broker.
Screenshots go to $CONSOLE_SCREENSHOTS (default: the test's tmp dir)."""
from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from console_kit import conversation, escalation, sla
from switchboard.common.testing import wait_for
from switchboard.events.v1 import sla_pb2
from test_views import router_answer, sla_answer

async_api = pytest.importorskip("playwright.async_api")
CHROMIUM = "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium is not installed")

INBOX = [
    # cid, snapshot, SLA (kind list), minutes until the deadline
    ("c-liwei", dict(status="assigned", channel="whatsapp", language="zh", assignee="alice", queue="zh",
                     priority="high", name="Li Wei 李伟", handle="8613800000000", customer_id="cust-li"),
     ["sla_applied"], 14),
    ("c-anna", dict(status="assigned", channel="email", language="ru", assignee="alice", queue="general",
                    priority="urgent", name="Анна Иванова", handle="anna@example.ru"),
     ["sla_applied", "sla_warning_raised"], 3),
    ("c-bob", dict(status="assigned", channel="chat", language="en", assignee="alice", queue="general",
                   name="Bob Smith 🙂", handle="bob@example.com"), ["sla_applied", "sla_breached"], -7),
    ("c-carla", dict(status="waiting_on_customer", channel="telegram", language="es", assignee="alice",
                     queue="general", priority="low", name="Carla Díaz", handle="carla@example.es"),
     ["sla_applied", "sla_paused"], 40),
    ("c-dmitri", dict(status="queued", channel="sms", language="ru", queue="general", name="Дмитрий",
                      handle="+79991234567"), ["sla_applied"], 55),
]


@pytest.fixture
async def seeded(console, producer, topics, peers):
    now = datetime.now(UTC)
    for n, (cid, snap, kinds, minutes) in enumerate(INBOX):
        await producer.publish(topics.conversations, conversation(
            "conversation_assigned" if snap.get("assignee") else "conversation_queued", cid,
            now - timedelta(minutes=30 - n), **snap), key=cid)
        for kind in kinds:
            await producer.publish(topics.sla, sla(kind, cid, deadline=now + timedelta(minutes=minutes),
                                                   metric=sla_pb2.SLA_METRIC_NEXT_RESPONSE, **snap), key=cid)
    await producer.publish(topics.escalations, escalation("c-bob", 1, now - timedelta(minutes=6), **INBOX[2][1]),
                           key="c-bob")
    await producer.drain()
    answer = router_answer()
    answer["conversation"]["id"] = "c-liwei"
    peers.conversations[("acme", "c-liwei")] = answer
    clocks = sla_answer()
    clocks["clocks"][0]["deadline"] = (now + timedelta(minutes=14)).isoformat()
    clocks["clocks"][0]["warnings"] = []
    peers.clocks[("acme", "c-liwei")] = clocks
    peers.customers[("acme", "cust-li")] = {
        "customer": {"id": "cust-li", "name": "Li Wei 李伟", "vip": True, "created_at": "2025-03-02T10:00:00Z",
                     "handles": [{"kind": "email", "value": "li.wei@example.cn"},
                                 {"kind": "whatsapp_id", "value": "8613800000000"}]},
        "orders": answer["orders"],
        "conversations": [{"id": "c-liwei", "status": "assigned", "channel": "whatsapp",
                           "opened_at": "2026-12-01T09:00:00Z", "resolved_at": None},
                          {"id": "c-old", "status": "resolved", "channel": "email",
                           "opened_at": "2026-10-12T08:00:00Z", "resolved_at": "2026-10-12T11:30:00Z"}]}
    peers.queues["acme"] = [{"queue": "general", "depth": 1, "oldest_enqueued_at": (now - timedelta(minutes=12))
                             .isoformat(), "entries": [{"conversation_id": "c-dmitri", "position": 1,
                                                        "eta_seconds": 180}]},
                            {"queue": "zh", "depth": 0, "oldest_enqueued_at": None, "entries": []}]
    peers.agents["acme"] = [
        {"agent_id": "alice", "name": "Alice", "presence": "online", "capacity": {"chat": 3, "email": 5},
         "load": {"chat": 1, "email": 3}, "active_count": 4},
        {"agent_id": "bob", "name": "Bob", "presence": "away", "capacity": {"chat": 3}, "load": {"chat": 3},
         "active_count": 3},
        {"agent_id": "chen", "name": "Chen", "presence": "offline", "capacity": {"chat": 2}, "load": {},
         "active_count": 0}]
    rows = console.app.store.rows
    await wait_for(lambda: _count(rows, {"sla_state": {"$in": ["running", "at_risk", "breached", "paused"]}}, 5),
                   timeout=20)
    return console


async def _count(collection, flt, n) -> bool:
    return await collection.count_documents(flt) == n


@pytest.fixture
def shots(tmp_path) -> Path:
    folder = Path(os.environ.get("CONSOLE_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


async def test_log_in_see_the_inbox_open_a_conversation_and_watch_the_countdown(seeded, shots):
    expect = async_api.expect
    async with async_api.async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=["--disable-dev-shm-usage"])
        try:
            context = await browser.new_context(viewport={"width": 1440, "height": 900}, timezone_id="Asia/Shanghai",
                                                locale="en-GB")
            page = await context.new_page()
            await page.goto(f"{seeded.base_url}/inbox")
            assert "/login" in page.url
            await page.fill("input[name=username]", "alice")
            await page.fill("input[name=password]", "alice-pw")
            await page.click("form[action='/login'] button[type=submit]")
            await page.wait_for_url(lambda url: "/inbox" in url)

            rows = page.locator("#rows tr.row")
            await expect(rows).to_have_count(4)  # mine: assigned to alice and open
            await expect(page.locator("#rows")).to_contain_text("Анна Иванова")
            await expect(page.locator("#rows")).to_contain_text("Li Wei 李伟")
            breached = page.locator("#rows tr.row", has_text="Bob Smith").locator(".sla")
            await expect(breached).to_have_class("sla sla-breached")
            await expect(breached).to_contain_text("overdue")
            await page.wait_for_function("() => window.switchboardLive && window.switchboardLive.connected")
            await page.screenshot(path=str(shots / "inbox.png"), full_page=True)

            await page.click("#rows tr.row >> text=Li Wei 李伟")
            await page.wait_for_url(lambda url: "/conversations/c-liwei" in url)
            timeline = page.locator("[data-part=timeline]")
            await expect(timeline.locator("li.msg.from-customer", has_text="我的订单在哪里？🙏")).to_be_visible()
            await expect(timeline.locator("li.msg.from-customer", has_text="Where is my order")).to_be_visible()
            await expect(timeline.locator("a", has_text="receipt.pdf")).to_have_attribute(
                "href", "https://files.example/receipt.pdf")
            # Times in the viewer's zone (Asia/Shanghai, UTC+8): 09:03 UTC shows as 17:03.
            await expect(timeline.locator("li.msg", has_text="我的订单").locator("time")).to_contain_text("17:03")
            pill = page.locator(".clocks .clock .sla").first
            first = await pill.text_content()
            await expect(pill).not_to_have_text(first, timeout=3000)  # it counts down every second
            assert "left" in (await pill.text_content())
            await page.screenshot(path=str(shots / "conversation.png"), full_page=True)

            await page.click("text=customer profile")
            await page.wait_for_url(lambda url: "/customers/cust-li" in url)
            await expect(page.locator("main")).to_contain_text("li.wei@example.cn")
            await expect(page.locator("main")).to_contain_text("#1001")
            await page.screenshot(path=str(shots / "customer.png"), full_page=True)

            refused = await page.goto(f"{seeded.base_url}/board")
            assert refused.status == 403  # alice is an agent: no board
            await context.clear_cookies()
            await page.goto(f"{seeded.base_url}/login")
            await page.fill("input[name=username]", "sam")
            await page.fill("input[name=password]", "sam-pw")
            await page.click("form[action='/login'] button[type=submit]")
            await page.goto(f"{seeded.base_url}/board")
            await expect(page.locator("main")).to_contain_text("Bob Smith 🙂")
            await expect(page.locator("main")).to_contain_text("Unacknowledged escalations")
            await page.screenshot(path=str(shots / "board.png"), full_page=True)
        finally:
            await browser.close()
