"""The read API on a real projection: every filter, cursor pagination, brand isolation, 422 messages."""
from __future__ import annotations

from datetime import timedelta

import pytest
from console_kit import T0, conversation, login, sla
from switchboard.common.testing import wait_for

DATASET = {
    # cid: (brand, snapshot fields, minutes after T0)
    "a1": ("acme", dict(status="assigned", channel="whatsapp", language="zh", assignee="alice", queue="zh",
                        priority="high", name="Li Wei", handle="8613800000000"), 10),
    "a2": ("acme", dict(status="queued", channel="email", language="ru", queue="general", priority="urgent",
                        name="Анна Иванова", handle="anna@example.ru"), 9),
    "a3": ("acme", dict(status="assigned", channel="chat", language="en", assignee="bob", queue="general",
                        name="Bob Smith", handle="bob.smith@example.com"), 8),
    "a4": ("acme", dict(status="waiting_on_customer", channel="email", language="en", assignee="alice",
                        queue="general", priority="low", name="Carla Díaz", handle="carla@example.es"), 7),
    "a5": ("acme", dict(status="resolved", channel="email", language="en", assignee="alice", queue="general",
                        name="Dmitri", handle="dmitri@example.com"), 6),
    "g1": ("globex", dict(status="queued", channel="whatsapp", language="zh", queue="zh", name="Li Wei",
                          handle="8613900000000"), 11),
}
BULK = 23  # conversations in queue "bulk", several with the same update time (the id breaks the tie)


@pytest.fixture
async def seeded(console, producer, topics):
    for cid, (brand, fields, minutes) in DATASET.items():
        event = conversation("status_changed", cid, T0 + timedelta(minutes=minutes), brand=brand, **fields)
        await producer.publish(topics.conversations, event, key=cid, event_id=f"ev-{cid}")
    for i in range(BULK):
        cid = f"b{i:02d}"
        await producer.publish(topics.conversations, conversation("conversation_queued", cid,
                                                                  T0 + timedelta(minutes=i // 4), queue="bulk",
                                                                  name=f"Bulk {i}", handle=f"bulk{i}@example.com"),
                               key=cid, event_id=f"ev-{cid}")
    deadline = T0 + timedelta(hours=1)
    for cid, kinds in {"a1": ["sla_applied"], "a2": ["sla_applied", "sla_warning_raised"],
                       "a3": ["sla_applied", "sla_breached"], "a4": ["sla_applied", "sla_paused"]}.items():
        for n, kind in enumerate(kinds):
            await producer.publish(topics.sla, sla(kind, cid, deadline=deadline, **DATASET[cid][1]), key=cid,
                                   event_id=f"sla-{cid}-{n}")
    await producer.drain()
    rows = console.app.store.rows
    await wait_for(lambda: _count(rows, {}, len(DATASET) + BULK), timeout=20, message="all rows projected")
    await wait_for(lambda: _count(rows, {"sla_state": {"$in": ["running", "at_risk", "breached", "paused"]}}, 4),
                   timeout=20, message="SLA states projected")
    return console


async def _count(collection, flt, n) -> bool:
    return await collection.count_documents(flt) == n


async def ids(client, **params) -> list[str]:
    response = await client.get("/api/v1/conversations", params={"limit": 200, **params})
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


@pytest.mark.parametrize(("params", "expected"), [
    ({"status": "open", "queue": "general"}, ["a2", "a3", "a4"]),
    ({"status": "any", "queue": "general"}, ["a2", "a3", "a4", "a5"]),
    ({"status": "resolved"}, ["a5"]),
    ({"status": "assigned,waiting_on_customer"}, ["a1", "a3", "a4"]),
    ({"assignee": "me", "status": "open"}, ["a1", "a4"]),
    ({"assignee": "me", "status": "any"}, ["a1", "a4", "a5"]),
    ({"assignee": "bob"}, ["a3"]),
    ({"assignee": "none", "queue": "general"}, ["a2"]),
    ({"channel": "whatsapp"}, ["a1"]),
    ({"priority": "urgent"}, ["a2"]),
    ({"language": "ru"}, ["a2"]),
    ({"sla_state": "running"}, ["a1"]),
    ({"sla_state": "at_risk"}, ["a2"]),
    ({"sla_state": "breached"}, ["a3"]),
    ({"sla_state": "paused"}, ["a4"]),
    ({"q": "li"}, ["a1"]),               # prefix of the name; globex's Li Wei never appears
    ({"q": "ИВАН"}, ["a2"]),              # case-insensitive substring, Cyrillic
    ({"q": "8613800"}, ["a1"]),           # handle
    ({"q": "example.es"}, ["a4"]),
    ({"q": "a.b*c"}, []),                 # regex characters are literal text
    ({"brand": "acme", "channel": "whatsapp"}, ["a1"]),
])
async def test_every_filter(seeded, params, expected):
    async with seeded.client() as client:
        await login(client, "alice")
        found = await ids(client, **params)
    assert sorted(found) == sorted(expected)


async def test_sort_is_newest_update_first(seeded):
    async with seeded.client() as client:
        await login(client, "alice")
        assert await ids(client, status="any", queue="general") == ["a2", "a3", "a4", "a5"]


async def test_pages_have_no_duplicates_or_gaps_and_keep_the_stable_sort(seeded):
    async with seeded.client() as client:
        await login(client, "alice")
        seen, cursor, pages = [], None, 0
        while True:
            params = {"queue": "bulk", "limit": 4, **({"cursor": cursor} if cursor else {})}
            body = (await client.get("/api/v1/conversations", params=params)).json()
            seen.extend((item["updated_at"], item["id"]) for item in body["items"])
            pages += 1
            cursor = body["next_cursor"]
            if not cursor:
                break
    assert pages == 6
    assert len(seen) == BULK and len({cid for _, cid in seen}) == BULK
    assert seen == sorted(seen, reverse=True)  # updated desc, then id desc: ties split across pages cleanly


@pytest.mark.parametrize(("params", "says"), [
    ({"limit": "0"}, "limit must be from 1 to 200"),
    ({"limit": "201"}, "limit must be from 1 to 200"),
    ({"limit": "ten"}, "limit must be a whole number"),
    ({"status": "done"}, "status must be one of open, any, bot, queued"),
    ({"channel": "fax"}, "channel must be one of email, chat"),
    ({"priority": "p1"}, "priority must be one of low, normal, high, urgent"),
    ({"sla_state": "late"}, "sla_state must be one of running, at_risk, breached, paused"),
    ({"queue": "  "}, "queue must not be empty"),
    ({"sort": "name"}, "unknown parameter 'sort'"),
    ({"brand": "globex"}, "brand must be one of your brands (acme)"),
    ({"cursor": "not-a-cursor"}, "cursor is not one this API issued"),
])
async def test_bad_parameters_answer_422_saying_what_to_fix(seeded, params, says):
    async with seeded.client() as client:
        await login(client, "alice")
        response = await client.get("/api/v1/conversations", params=params)
    assert response.status_code == 422
    assert response.json()["error"] == "invalid_parameter"
    assert says in response.json()["message"]


async def test_a_cursor_replayed_with_other_filters_is_refused(seeded):
    async with seeded.client() as client:
        await login(client, "alice")
        first = (await client.get("/api/v1/conversations", params={"queue": "bulk", "limit": 2})).json()
        response = await client.get("/api/v1/conversations",
                                    params={"queue": "general", "limit": 2, "cursor": first["next_cursor"]})
    assert response.status_code == 422
    assert "cursor belongs to a query with other filters" in response.json()["message"]


async def test_another_brand_is_404_by_id_and_never_listed(seeded):
    async with seeded.client() as client:
        await login(client, "alice")
        assert (await client.get("/api/v1/conversations/g1")).status_code == 404
        assert "g1" not in await ids(client, status="any")
        missing = await client.get("/api/v1/conversations/does-not-exist")
        assert missing.status_code == 404
        # Same answer for "another brand's" and "does not exist": nothing tells them apart.
        assert (await client.get("/api/v1/conversations/g1")).json()["message"] == "conversation g1 not found"
    async with seeded.client() as client:
        await login(client, "olga")
        assert await ids(client, status="any") == ["g1"]
        assert (await client.get("/api/v1/conversations/a1")).status_code == 404
    async with seeded.client() as client:
        await login(client, "multi")
        assert sorted(await ids(client, q="li wei")) == ["a1", "g1"]
        assert await ids(client, q="li wei", brand="globex") == ["g1"]


async def test_without_login_the_api_answers_401(seeded):
    async with seeded.client() as client:
        response = await client.get("/api/v1/conversations")
    assert response.status_code == 401 and "log in" in response.json()["message"]


async def test_rows_carry_what_the_inbox_shows(seeded):
    async with seeded.client() as client:
        await login(client, "alice")
        body = (await client.get("/api/v1/conversations", params={"q": "Анна"})).json()
    (row,) = body["items"]
    assert row["customer_name"] == "Анна Иванова"
    assert row["handle"] == {"kind": "email", "value": "anna@example.ru"}
    assert (row["status"], row["priority"], row["queue"], row["channel"], row["language"]) == (
        "queued", "urgent", "general", "email", "ru")
    assert row["sla_state"] == "at_risk" and row["next_deadline"].startswith("2026-12-01T10:00:00")
    assert row["url"] == "/conversations/a2"


async def test_the_read_and_action_apis_are_in_the_openapi_docs(console):
    async with console.client() as client:
        spec = (await client.get("/openapi.json")).json()
        docs = await client.get("/docs")
    paths = spec["paths"]
    assert paths["/api/v1/conversations"]["get"]["tags"] == ["read"]
    assert {p["name"] for p in paths["/api/v1/conversations"]["get"]["parameters"]} >= {
        "status", "queue", "assignee", "channel", "priority", "language", "sla_state", "q", "brand", "cursor", "limit"}
    for path in ("/api/v1/conversations/{conversation_id}", "/api/v1/customers/{customer_id}", "/api/v1/queues",
                 "/api/v1/agents", "/api/v1/board"):
        assert paths[path]["get"]["tags"] == ["read"], path
    assert paths["/api/v1/conversations/{conversation_id}/{action}"]["post"]["tags"] == ["actions"]
    assert paths["/events"]["get"]["tags"] == ["live"]
    assert docs.status_code == 200
