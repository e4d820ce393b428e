"""Router benchmark; main() prints one JSON document.

- language detection: per-call time of lingua (restricted to the supported languages);
- bot decision: per-call time of the pure rules;
- long queue: 2,000 waiting, 1,000 arrivals: position notifications per arrival and the engine's
  time per arrival (router_queue.py);
- routing on a real broker and store: routed conversations/s (burst) and the latency from the
  inbound record to its ConversationAssigned record (p50/p99, paced load). Uses
  SWITCHBOARD_KAFKA__BOOTSTRAP_SERVERS / SWITCHBOARD_MONGO__URI when --external is given, otherwise
  starts an embedded Tansu broker and nx-27017 (figures then include nx-27017's own ceiling:
  ~8.5k bulk upserts/s on these machines).

    python benchmarks/router.py [--burst 1000] [--paced 300] [--rate 50] [--external]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

SAMPLES = [
    "Where is my order? I ordered it two weeks ago and nothing has arrived yet.",
    "¿Dónde está mi pedido? Lo compré hace dos semanas.",
    "Où est ma commande ? Je l'attends depuis longtemps.",
    "Wo ist meine Bestellung? Ich warte seit zwei Wochen.",
    "Dov'è il mio ordine? L'ho comprato due settimane fa.",
    "Onde está a minha encomenda? Comprei há duas semanas.",
    "Где мой заказ? Я жду уже две недели.",
    "注文した商品はいつ届きますか？",
    "주문한 상품이 언제 도착하나요?",
    "我的订单到哪里了？已经两个星期了。",
    "人工服务",
    "human please",
]


def _percentile(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def bench_language(rounds: int = 200) -> dict:
    from switchboard.router.adapters.language import LinguaDetector

    started = time.perf_counter()
    detector = LinguaDetector()
    build = time.perf_counter() - started
    timings = []
    for _ in range(rounds):
        for text in SAMPLES:
            t = time.perf_counter()
            detector.detect(text)
            timings.append((time.perf_counter() - t) * 1000)
    return {
        "build_seconds": round(build, 3),
        "calls": len(timings),
        "per_call_ms_p50": round(statistics.median(timings), 4),
        "per_call_ms_p99": round(_percentile(timings, 99), 4),
    }


def bench_bot(rounds: int = 2000) -> dict:
    from switchboard.router.adapters.config_files import load_router_config
    from switchboard.router.domain import bot
    from switchboard.router.domain.model import Conversation

    config = load_router_config(Path(__file__).resolve().parents[1] / "config" / "default").brand_bot("*")
    now = datetime.now(UTC)
    timings = []
    for i in range(rounds):
        text = SAMPLES[i % len(SAMPLES)]
        conv = Conversation(id="c", brand_id="b", customer_id="u", opened_at=now, channel="chat", language="en")
        t = time.perf_counter()
        bot.decide(
            config, conv, bot.BotTurn(text=text, language="en", channel="chat", at=now, recent_customer_times=(now,))
        )
        timings.append((time.perf_counter() - t) * 1000)
    return {
        "calls": rounds,
        "per_call_ms_p50": round(statistics.median(timings), 4),
        "per_call_ms_p99": round(_percentile(timings, 99), 4),
    }


async def _store_ceiling(uri: str, run: str, n: int = 500) -> float:
    """The store's own speed for conversation-sized bulk upserts, reported beside the routing figures."""
    from pymongo import AsyncMongoClient, ReplaceOne

    client = AsyncMongoClient(uri, tz_aware=True)
    try:
        doc = {f"field{i}": "x" * 24 for i in range(40)}
        collection = client[run]["bench_store_ceiling"]
        started = time.perf_counter()
        await collection.bulk_write(
            [ReplaceOne({"_id": f"{run}-{i}"}, dict(doc), upsert=True) for i in range(n)], ordered=False
        )
        return round(n / (time.perf_counter() - started), 1)
    finally:
        await client.close()


def _bench_config(brand: str):
    from switchboard.router.adapters.config_files import load_templates
    from switchboard.router.domain.config import RouterConfig, parse_bot, parse_routing

    agents = [
        {
            "id": f"agent-{i}",
            "languages": ["*"],
            "channels": ["chat", "email", "phone"],
            "capacity": {"chat": 100_000, "email": 100_000, "phone": 100_000},
            "presence": "online",
        }
        for i in range(20)
    ]
    routing = {
        "version": 1,
        "defaults": {"queues": [{"name": "general", "match": {}}]},
        "brands": {brand: {"queues": [{"name": "general", "match": {}}], "agents": agents}},
    }
    bot_doc = {"version": 1, "defaults": {"keywords": {"human": ["human", "agent", "人工服务"]}}, "brands": {}}
    return RouterConfig(routing=parse_routing(routing), bot=parse_bot(bot_doc, load_templates()))


async def bench_routing(burst: int, paced: int, rate: float, external: bool) -> dict:
    from aiokafka import AIOKafkaConsumer
    from switchboard.common import processes
    from switchboard.common.admin import ensure_topics
    from switchboard.common.cloudevents import decode
    from switchboard.common.producer import EventProducer
    from switchboard.common.topics import TopicNames
    from switchboard.events.v1 import common_pb2, inbound_pb2
    from switchboard.router.adapters.language import LinguaDetector
    from switchboard.router.bootstrap import bootstrap
    from switchboard.router.settings import RouterSettings

    peers = []
    run = "bench" + uuid.uuid4().hex[:8]
    brand = f"bench-{run}"
    overrides: dict = {
        "kafka": {"topic_prefix": f"{run}.", "session_timeout_ms": 1500, "heartbeat_interval_ms": 300, "linger_ms": 2},
        "mongo": {"database": run},
        "group_id": f"{run}-router",
        "consumer": {"poll_timeout_ms": 20, "max_batch_records": 500},
    }
    if not external:
        workdir = Path(tempfile.mkdtemp(prefix="router-bench-"))
        broker = processes.broker(processes.free_port(), workdir).start()
        mongo = processes.mongo(processes.free_port(), workdir / "bench.db", workdir).start()
        peers = [broker, mongo]
        overrides["kafka"]["bootstrap_servers"] = f"127.0.0.1:{broker.port}"
        overrides["mongo"]["uri"] = processes.mongo_uri(mongo.port)
    base = RouterSettings()
    store_ceiling = await _store_ceiling(overrides["mongo"].get("uri") or base.mongo.uri.get_secret_value(), run)
    settings = RouterSettings(
        **{
            **overrides,
            "kafka": {**base.kafka.model_dump(), **overrides["kafka"]},
            "mongo": {**base.mongo.model_dump(), **overrides["mongo"]},
        }
    )
    topics = TopicNames(settings.kafka.topic_prefix)
    await ensure_topics(settings.kafka, topics)
    router = bootstrap(settings, detector=LinguaDetector(), config=_bench_config(brand), with_http=False)
    service_task = asyncio.create_task(router.service.run())
    producer = EventProducer(settings.kafka, source="/bench")
    await producer.start()
    consumer = AIOKafkaConsumer(
        topics.conversations,
        bootstrap_servers=settings.kafka.bootstrap_servers,
        group_id=f"{run}-observer",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        session_timeout_ms=1500,
        heartbeat_interval_ms=300,
    )
    await consumer.start()
    sent_at: dict[str, float] = {}
    assigned_at: dict[str, float] = {}

    async def observe(expected: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while len(assigned_at) < expected and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=100, max_records=5000)
            for records in batch.values():
                for r in records:
                    headers = dict(r.headers)
                    if headers.get("ce_type", b"").endswith(b".conversation_assigned"):
                        cause = headers.get("ce_causationid", b"").decode()
                        if cause in sent_at and cause not in assigned_at:
                            # The record's CreateTime: when the router produced the assignment, whatever
                            # the observer's own lag.
                            assigned_at[cause] = r.timestamp / 1000
            if not batch:
                await asyncio.sleep(0)
        _ = decode  # records are matched by headers only: no payload decoding on the hot path

    async def publish(n: int, tag: str, per_second: float | None) -> list[str]:
        ids = []
        start = time.monotonic()
        for i in range(n):
            if per_second:
                target = start + i / per_second
                delay = target - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
            event_id = f"{run}-{tag}-{i}"
            m = inbound_pb2.MessageReceived(
                channel=common_pb2.CHANNEL_CHAT,
                provider="bench",
                provider_message_id=event_id,
                text=SAMPLES[-1 if i % 2 else -2],
                sender=common_pb2.ContactHandle(kind=common_pb2.HANDLE_KIND_CHAT_SESSION, value=event_id),
            )
            m.sent_at.FromDatetime(datetime.now(UTC))
            sent_at[event_id] = time.time()
            await producer.publish(
                topics.inbound,
                inbound_pb2.InboundEvent(brand_id=brand, message_received=m),
                key=f"{brand}/{event_id}",
                event_id=event_id,
            )
            ids.append(event_id)
        await producer.drain()
        return ids

    try:
        for _ in range(300):
            if router.runner.ready and router.runner.assigned:
                break
            await asyncio.sleep(0.1)
        warm = await publish(50, "warm", None)
        await observe(len(warm), 60)
        started = time.time()
        burst_ids = await publish(burst, "burst", None)
        await observe(len(warm) + len(burst_ids), 300)
        burst_seconds = max((assigned_at[i] for i in burst_ids if i in assigned_at), default=started) - started
        paced_ids = await publish(paced, "paced", rate)
        await observe(len(warm) + len(burst_ids) + len(paced_ids), 300)
        latencies = [(assigned_at[i] - sent_at[i]) * 1000 for i in paced_ids if i in assigned_at]
        burst_lat = [(assigned_at[i] - sent_at[i]) * 1000 for i in burst_ids if i in assigned_at]
        return {
            "broker": "external" if external else "embedded tansu",
            "store": "external" if external else "nx-27017",
            "store_ceiling_bulk_upserts_per_second": store_ceiling,
            "burst_conversations": burst,
            "burst_assigned": sum(1 for i in burst_ids if i in assigned_at),
            "routed_conversations_per_second": round(len(burst_ids) / burst_seconds, 1) if burst_seconds > 0 else None,
            "burst_inbound_to_assignment_ms_p99": round(_percentile(burst_lat, 99), 1),
            "paced_rate_per_second": rate,
            "paced_conversations": paced,
            "paced_assigned": len(latencies),
            "inbound_to_assignment_ms_p50": round(_percentile(latencies, 50), 1),
            "inbound_to_assignment_ms_p99": round(_percentile(latencies, 99), 1),
        }
    finally:
        await consumer.stop()
        await producer.stop()
        router.service.request_stop()
        await asyncio.wait_for(service_task, 60)
        for peer in reversed(peers):
            peer.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--burst", type=int, default=1000, help="conversations published at once (throughput)")
    parser.add_argument("--paced", type=int, default=300, help="conversations published at --rate (latency)")
    parser.add_argument("--rate", type=float, default=50.0, help="paced publish rate per second")
    parser.add_argument("--external", action="store_true", help="use SWITCHBOARD_* broker and store settings")
    parser.add_argument("--skip-routing", action="store_true", help="only the in-process micro benchmarks")
    args = parser.parse_args(argv)
    from switchboard.common.logging import configure_logging

    configure_logging("router-bench", os.environ.get("BENCH_LOG", "WARNING"))
    from router_queue import bench_queue  # benchmarks/ is the script's folder

    result = {"language_detection": bench_language(), "bot_decision": bench_bot(), "long_queue": bench_queue()}
    if not args.skip_routing:
        result["routing"] = asyncio.run(bench_routing(args.burst, args.paced, args.rate, args.external))
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
