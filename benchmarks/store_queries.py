"""The services' periodic and per-batch store queries at two collection sizes, on nx-27017.

nx-27017 (the embedded store) reads a whole collection for some query forms: a range on a datetime,
`$in` on any field but `_id`, an equality on only the first field of a compound index. Such a query
costs nothing on a small store and grows with every document ever written. This benchmark times each
hot query as the services issue it (through their adapters) beside the form it replaced, with
SMALL and LARGE documents in the collection: `growth` near 1 means the query stays flat.
Prints one JSON object last (tools/bench.py reads it).

Usage: python benchmarks/store_queries.py [--small 5000] [--large 40000] [--repeat 10]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pymongo import AsyncMongoClient
from switchboard.common import processes
from switchboard.common.clock import ManualClock
from switchboard.common.mongo import find_each
from switchboard.ingest.adapters.dedupe import PROCESSED_TS, MarkStore
from switchboard.notifier.adapters.store import MongoOutbox
from switchboard.router.adapters.store import RouterStore
from switchboard.router.domain.inputs import TickIn

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
Query = Callable[[], Awaitable[object]]


async def fill(db, size: int) -> None:
    """`size` conversations (one in 50 with a timer, none due), a customer message each with the bot's
    answer inside (router adapters/message_docs.py), `size` outbox entries of which one in 8 is open (a
    backlog), `size` ingest dedupe marks of 5 ids (one per 0.1 s, none newer than the tail's watermark):
    the shape of a store that has served `size` conversations."""
    conversations, messages, outbox, marks = [], [], [], []
    for i in range(size):
        due = NOW + timedelta(hours=1) if i % 50 == 0 else None
        conversations.append({"_id": f"c{i}", "brand_id": "acme" if i % 2 else "globex", "status": "resolved",
                              "timer_due_at": due, "timer_due_ts": due.timestamp() if due else None})
        message = {"_id": f"m{i}", "conversation_id": f"c{i}", "author": "customer",
                   "at": NOW - timedelta(minutes=5), "text": "hello"}
        messages.append({**message, "bot_reply": {**message, "_id": f"m{i}-bot", "author": "bot",
                                                  "answers": f"m{i}", "delivery_state": "delivered"}})
        marked = NOW - timedelta(hours=2) + timedelta(seconds=i * 0.1)
        marks.append({"ids": [f"e{i}-{k}" for k in range(5)], "processed_at": marked,
                      PROCESSED_TS: marked.timestamp()})
        state = "delivered" if i % 8 else ("pending" if i % 16 else "in_flight")  # a backlog: 1 in 8 open
        outbox.append({"_id": f"o{i}", "state": state, "due_at": NOW.timestamp() + 60, "pool": "http",
                       "lease_until": NOW.timestamp() + 60, "report_due": False, "finished_at": NOW.timestamp()})
    for name, docs in (("conversations", conversations), ("conversation_messages", messages),
                       ("notifier_outbox", outbox), (MarkStore.COLLECTION, marks)):
        for start in range(0, len(docs), 5000):
            await db[name].insert_many(docs[start:start + 5000])


def queries(db) -> dict[str, Query]:
    router, outbox = RouterStore(db, transactions=False), MongoOutbox(db)
    messages, conversations = db["conversation_messages"], db["conversations"]
    wanted = [f"c{i}" for i in range(0, 100, 10)]
    tick = [TickIn(event_id="tick", brand_id="acme", at=NOW)]
    dedupe_marks, tail_since = MarkStore(db, ttl_days=7, clock=ManualClock(NOW)), NOW + timedelta(days=1)
    return {
        "router_tick": lambda: router.load(tick),
        "router_tick_before": lambda: conversations.find(
            {"brand_id": {"$in": ["acme", "globex"]}, "timer_due_at": {"$lte": NOW}}).to_list(None),
        "router_history_10": lambda: find_each(messages, "conversation_id", wanted),  # as RouterStore reads it
        "router_history_10_before": lambda: messages.find({"conversation_id": {"$in": wanted}}).to_list(None),
        "notifier_count_open": outbox.count_open,
        "notifier_count_open_before": lambda: outbox.collection.find(
            {"state": {"$in": ["pending", "in_flight"]}}, {"_id": 1}).to_list(None),
        "notifier_candidates": lambda: outbox.candidates(NOW + timedelta(minutes=5), [], [], 100),
        "ingest_dedupe_tail": lambda: dedupe_marks.recent(tail_since, 1000),  # every second, per ingest replica
        "ingest_dedupe_tail_before": lambda: db[MarkStore.COLLECTION].find(
            {"processed_at": {"$gt": tail_since}}).sort("processed_at", 1).limit(1000).to_list(None),
    }


async def timed(query: Query, repeat: int) -> float:
    await query()  # warm
    started = time.perf_counter()
    for _ in range(repeat):
        await query()
    return (time.perf_counter() - started) / repeat * 1000


async def at_size(size: int, repeat: int, tmp: Path) -> dict[str, float]:
    mongo = processes.mongo(processes.free_port(), "memory", tmp).start()
    client = AsyncMongoClient(processes.mongo_uri(mongo.port), tz_aware=True)
    try:
        db = client["bench"]
        await RouterStore(db, transactions=False).ensure_indexes()
        await MongoOutbox(db).ensure_indexes()
        await MarkStore(db, ttl_days=7, clock=ManualClock(NOW)).ensure_indexes()
        await fill(db, size)
        return {name: round(await timed(query, repeat), 2) for name, query in queries(db).items()}
    finally:
        await client.close()
        mongo.stop()


async def run(small: int, large: int, repeat: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-store-") as tmp:
        low = await at_size(small, repeat, Path(tmp))
        high = await at_size(large, repeat, Path(tmp))
    return {"sizes": [small, large],
            "ms": {name: {"small": low[name], "large": high[name],
                          "growth": round(high[name] / low[name], 2) if low[name] else None} for name in low}}


def main() -> int:
    parser = argparse.ArgumentParser(prog="python benchmarks/store_queries.py", description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=5000)
    parser.add_argument("--large", type=int, default=40000)
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args.small, args.large, args.repeat))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
