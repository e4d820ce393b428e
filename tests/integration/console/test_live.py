"""Live updates: each replica tails console_activity and pushes brand-scoped Server-Sent Events."""
from __future__ import annotations

import asyncio
import json
import time

from console_kit import T0, conversation, login
from switchboard.common.testing import wait_for


async def next_event(lines, timeout: float = 10.0) -> dict:
    async def read() -> dict:
        event = None
        async for line in lines:
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: ") and event == "activity":
                return json.loads(line[6:])
        raise AssertionError("stream ended")
    return await asyncio.wait_for(read(), timeout)


async def test_a_browser_gets_its_brands_activity_and_never_another_brands(console, producer, topics):
    async with console.client() as client:
        await login(client, "alice")
        async with client.stream("GET", "/events") as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")
            lines = stream.aiter_lines()
            await wait_for(lambda: console.app.hub.count == 1, timeout=5)
            # globex first, and recorded before acme's: if it leaked, it would arrive first.
            await producer.publish(topics.conversations, conversation("conversation_opened", "g-live", T0,
                                                                      brand="globex"), key="g-live")
            await producer.drain()
            await wait_for(lambda: console.app.activity.collection.find_one({"conversation_id": "g-live"}), timeout=15)
            sent = time.perf_counter()
            await producer.publish(topics.conversations, conversation(
                "conversation_assigned", "a-live", T0, status="assigned", assignee="alice",
                body={"assignee_id": "alice", "rule": "sticky"}), key="a-live")
            await producer.drain()
            event = await next_event(lines)
            latency = time.perf_counter() - sent
    assert event["conversation_id"] == "a-live" and event["brand_id"] == "acme"
    assert event["kind"] == "conversation_assigned"
    assert latency < 2.0, f"bus -> browser took {latency:.2f}s"
    await wait_for(lambda: console.app.hub.count == 0, timeout=5)  # the closed stream unsubscribed


async def test_events_need_a_login(console):
    async with console.client() as client:
        response = await client.get("/events")
    assert response.status_code == 401


async def test_a_burst_larger_than_one_poll_turns_into_one_resync_and_live_events_go_on(console):
    from datetime import UTC, datetime

    from switchboard.console.web.live import PAGE

    hub, activity = console.app.hub, console.app.activity
    queue = hub.subscribe(("acme",))
    try:
        now = datetime.now(UTC)
        await activity.insert([{"_id": f"burst-{i}", "brand_id": "acme", "conversation_id": f"c{i}",
                                "kind": "customer_message_appended", "at": now, "timeline": False,
                                "recorded_at": now, "recorded_ms": int(now.timestamp() * 1000)}
                               for i in range(PAGE + 10)])
        # Whether the tail caught the insert midway (the browser's queue overflows) or whole (a full
        # page), the browser is told to re-fetch instead of receiving 2,010 events.
        await wait_for(lambda: console.app.tail.last_burst_ms, timeout=10)
        received = [queue.get_nowait() for _ in range(queue.qsize())]
        assert {"kind": "resync"} in received and len(received) <= 200
        later = datetime.now(UTC)
        await activity.insert([{"_id": "after-burst", "brand_id": "acme", "conversation_id": "c-after",
                                "kind": "conversation_assigned", "at": later, "timeline": True,
                                "recorded_at": later, "recorded_ms": int(later.timestamp() * 1000)}])

        async def next_real():
            while True:
                event = await queue.get()
                if event.get("kind") != "resync":
                    return event
        event = await asyncio.wait_for(next_real(), 10)
        assert event["conversation_id"] == "c-after"
    finally:
        hub.unsubscribe(queue)
