"""Console benchmark: listing 10,000 open conversations filtered by queue (target p95 <= 100 ms).

    python benchmarks/console.py [--open 10000] [--calls 300]

Starts its own nx-27017 (SQLite file) and the console's HTTP app (the real FastAPI app under uvicorn,
no broker needed for reads). The projection is seeded through the same store writes the consumer
makes (ProjectionWrites -> ConversationStore.apply, batches of 1,000): `--open` open conversations
in queue "general", plus as many again that the filter must skip (half open in "vip", half resolved
in "general"). Then, logged in as an agent, `--calls` GETs of
/api/v1/conversations?status=open&queue=general&limit=50: half the first page, half a deeper page
(a cursor from walking the first 40 pages). Reported: p50/p95/p99 of the HTTP call and of the store
query alone, the projection's row writes per second while seeding (two updates per row, one bulk_write
per 1,000) and nx-27017's own insert_many ceiling in the same run. One JSON object last on stdout.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from switchboard.common import processes
from switchboard.common.config import Secrets
from switchboard.common.http import HttpServer
from switchboard.common.startup import Startup
from switchboard.common.testing.benchkit import mongo_ceiling, percentile, say
from switchboard.console.adapters.store import ProjectionWrites
from switchboard.console.adapters.users import UserDirectory
from switchboard.console.bootstrap import ConsoleApp, bootstrap, indexes_step
from switchboard.console.domain.auth import User, hash_password
from switchboard.console.domain.filters import parse_list_query
from switchboard.console.domain.projection import ConversationFact, Snapshot, row_fields
from switchboard.console.settings import ConsoleSettings

T0 = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
TARGET_P95_MS = 100.0
QUERY = {"status": "open", "queue": "general", "limit": "50"}


def fact(i: int, queue: str, status: str) -> ConversationFact:
    snapshot = Snapshot(conversation_id=f"conv-{i:06d}", customer_id=f"cust-{i}", customer_name=f"Customer {i}",
                        channel=("email", "chat", "whatsapp")[i % 3], status=status, queue=queue, language="en",
                        assignee_id=f"agent-{i % 40}" if status == "assigned" else "", opened_at=T0,
                        handle_kind="email", handle_value=f"c{i}@example.com")
    # Several conversations share an update time: the id breaks the tie in the sort.
    return ConversationFact(event_id=f"e-{i}", brand_id="acme", kind="status_changed",
                            occurred_at=T0 + timedelta(seconds=i // 3), snapshot=snapshot)


async def seed(app: ConsoleApp, open_in_queue: int) -> tuple[int, int]:
    plan = [("general", ("queued", "assigned")[i % 2]) for i in range(open_in_queue)]
    plan += [("vip", "queued")] * (open_in_queue // 2) + [("general", "resolved")] * (open_in_queue // 2)
    random.Random(7).shuffle(plan)
    started = time.perf_counter()
    for start in range(0, len(plan), 1000):
        writes = ProjectionWrites()
        for i in range(start, min(start + 1000, len(plan))):
            f = fact(i, *plan[i])
            writes.snapshots.append((f, row_fields(f.snapshot, f.brand_id, at=f.occurred_at, event_id=f.event_id)))
        await app.store.apply(writes)
    elapsed = time.perf_counter() - started
    say(f"seeded {len(plan)} rows in {elapsed:.1f}s")
    return len(plan), round(len(plan) / elapsed)


async def cursors(client: httpx.AsyncClient, pages: int) -> list[str]:
    found, cursor = [], None
    for _ in range(pages):
        body = (await client.get("/api/v1/conversations", params={**QUERY, **({"cursor": cursor} if cursor else {})}))
        cursor = body.json()["next_cursor"]
        if not cursor:
            break
        found.append(cursor)
    return found


async def measure(app: ConsoleApp, client: httpx.AsyncClient, calls: int) -> dict:
    deep = await cursors(client, 40)
    rng = random.Random(11)
    http_ms, store_ms = [], []
    user = app.deps.users.get("bench")
    for n in range(calls):
        params = dict(QUERY)
        if n % 2 and deep:
            params["cursor"] = rng.choice(deep)
        started = time.perf_counter()
        response = await client.get("/api/v1/conversations", params=params)
        http_ms.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200 and len(response.json()["items"]) == 50, response.text[:300]
        query = parse_list_query(params, viewer_brands=user.brands, viewer_agent_id=user.agent_id)
        started = time.perf_counter()
        await app.store.list(query)
        store_ms.append((time.perf_counter() - started) * 1000)
    return {
        "list_http_p50_ms": round(percentile(http_ms, 50), 1), "list_http_p95_ms": round(percentile(http_ms, 95), 1),
        "list_http_p99_ms": round(percentile(http_ms, 99), 1), "list_store_p95_ms": round(percentile(store_ms, 95), 1),
        "calls": calls, "deep_pages": len(deep),
    }


async def run(args, work: Path) -> dict:
    mongo = processes.mongo(processes.free_port(), work / "console-bench.db", work).start()
    try:
        settings = ConsoleSettings(mongo={"uri": processes.mongo_uri(mongo.port), "database": "console_bench"},
                                   http={"host": "127.0.0.1", "port": processes.free_port()},
                                   session_secret="bench", log_level="WARNING")
        users = UserDirectory([User("bench", "Bench", "agent-1", ("acme",), "agent",
                                    hash_password("bench", iterations=1000))])
        app = bootstrap(settings, users=users, secrets=Secrets(), http=False)
        http = HttpServer(app.web, settings.http)
        parts = [app.mongo, Startup(indexes_step(app.store, app.activity)), http]
        for part in parts:
            await part.start()
        try:
            rows, rows_per_s = await seed(app, args.open)
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{settings.http.port}", timeout=10) as client:
                await login(client)
                for _ in range(10):  # warm-up: connections, caches
                    await client.get("/api/v1/conversations", params=QUERY)
                figures = await measure(app, client, args.calls)
        finally:
            for part in reversed(parts):
                await part.stop()
        ceiling = await mongo_ceiling(processes.mongo_uri(mongo.port), "console_bench_ceiling")
    finally:
        mongo.stop()
    return {**figures, "open_in_queue": args.open, "rows": rows, "projection_rows_written_per_s": rows_per_s,
            "target_p95_ms": TARGET_P95_MS,
            "meets_target": figures["list_http_p95_ms"] <= TARGET_P95_MS, "nx27017_insert_ceiling_per_s": ceiling}


async def login(client: httpx.AsyncClient) -> None:
    form = await client.get("/login")
    token = form.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    response = await client.post("/login", data={"username": "bench", "password": "bench", "csrf_token": token})
    assert response.status_code == 303 and "sb_session" in client.cookies, "bench login failed"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--open", type=int, default=10_000, help="open conversations in the filtered queue")
    parser.add_argument("--calls", type=int, default=300, help="list calls measured (>= 200)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        result = asyncio.run(run(args, Path(tmp)))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
