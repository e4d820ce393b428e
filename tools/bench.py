"""`make bench`: measured figures, side by side, in one run on this machine.

1. The raw broker ceiling on a fresh embedded broker: aiokafka produce and consume rates for
   512-byte records, and a one-stage consume -> produce -> commit loop (the best any single
   stage can do).
2. Each service's own benchmark (benchmarks/<name>.py, outside the runtime packages,
   printing one JSON object last), then the pipeline
   (benchmarks/pipeline.py: router -> sla -> analytics -> notifier, 1 and 2 router replicas, documents
   written and CPU ms per event, latency at half load, kill -9 of sla), and the
   console's live-update latency in a real browser (benchmarks/console_live.py).
Writes bench-results/latest.json and prints a table. docs/performance.md explains the figures.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

REPO = Path(__file__).resolve().parent.parent

from switchboard.common import processes  # noqa: E402

RECORD = b"x" * 512
PARTITIONS = 6


async def create(bootstrap: str, *topics: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(t, PARTITIONS, 1) for t in topics])
    finally:
        await admin.close()


async def produce(bootstrap: str, topic: str, count: int) -> float:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5, max_batch_size=256 * 1024)
    await producer.start()
    try:
        started = time.perf_counter()
        futures = [await producer.send(topic, RECORD, key=str(i % 1000).encode()) for i in range(count)]
        await asyncio.gather(*futures)
        return count / (time.perf_counter() - started)
    finally:
        await producer.stop()


async def consume(bootstrap: str, topic: str, count: int) -> float:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                                max_partition_fetch_bytes=4 << 20)
    await consumer.start()
    try:
        consumer.assign([TopicPartition(topic, p) for p in range(PARTITIONS)])
        await consumer.seek_to_beginning()
        seen, started = 0, time.perf_counter()
        while seen < count:
            batch = await consumer.getmany(timeout_ms=500, max_records=5000)
            seen += sum(len(r) for r in batch.values())
        return count / (time.perf_counter() - started)
    finally:
        await consumer.stop()


async def one_stage_loop(bootstrap: str, source: str, sink: str, count: int, group: str) -> float:
    """getmany -> send without awaiting each -> gather -> commit: the ceiling of any one stage."""
    consumer = AIOKafkaConsumer(source, bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False,
                                auto_offset_reset="earliest", session_timeout_ms=6000, heartbeat_interval_ms=1000)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5, max_batch_size=256 * 1024)
    await consumer.start()
    await producer.start()
    try:
        seen, started = 0, None
        while seen < count:
            batch = await consumer.getmany(timeout_ms=500, max_records=2000)
            if not batch:
                continue
            started = started or time.perf_counter()
            futures = [await producer.send(sink, r.value, key=r.key) for records in batch.values() for r in records]
            await asyncio.gather(*futures)
            await consumer.commit({tp: records[-1].offset + 1 for tp, records in batch.items()})
            seen += len(futures)
        return count / (time.perf_counter() - started)
    finally:
        await producer.stop()
        await consumer.stop()


async def broker_ceiling(bootstrap: str, count: int) -> dict:
    await create(bootstrap, "bench.raw", "bench.sink")
    produce_rate = await produce(bootstrap, "bench.raw", count)
    consume_rate = await consume(bootstrap, "bench.raw", count)
    loop_rate = await one_stage_loop(bootstrap, "bench.raw", "bench.sink", count, "bench-loop")
    return {"record_bytes": len(RECORD), "partitions": PARTITIONS, "records": count,
            "produce_per_s": round(produce_rate), "consume_per_s": round(consume_rate),
            "one_stage_loop_per_s": round(loop_rate)}


def last_json_object(output: str) -> dict | None:
    """The last JSON object a benchmark printed, on one line or indented over several."""
    lines = output.rstrip().splitlines()
    for start in range(len(lines) - 1, -1, -1):
        if lines[start].startswith("{"):
            try:
                return json.loads("\n".join(lines[start:]))
            except ValueError:
                continue
    return None


def run_bench(argv: list[str], env: dict[str, str], timeout: float) -> dict:
    started = time.perf_counter()
    try:
        result = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout, cwd=REPO)
    except subprocess.TimeoutExpired:
        return {"status": "timeout", "detail": f"over {timeout:.0f}s"}
    figures = last_json_object(result.stdout)
    if result.returncode != 0 or figures is None:
        return {"status": "failed", "detail": (result.stderr or result.stdout)[-800:]}
    figures["seconds"] = round(time.perf_counter() - started, 1)
    return figures


def service_bench(name: str, env: dict[str, str], timeout: float) -> dict:
    script = REPO / "benchmarks" / f"{name}.py"
    if not script.exists():
        return {"status": "missing", "detail": f"{script.relative_to(REPO)} does not exist"}
    return run_bench([sys.executable, str(script)], env, timeout)


def _flat(figures, prefix: str = ""):
    """(dotted key, value) for every number or string, however deeply the figures nest."""
    items = figures.items() if isinstance(figures, dict) else enumerate(figures)
    for key, value in items:
        name = f"{prefix}{key}"
        if isinstance(value, dict | list):
            if not str(key).endswith("_runs"):  # per-round raw figures stay in the JSON
                yield from _flat(value, name + ".")
        elif isinstance(value, int | float | str):
            yield name, value


def table(results: dict) -> str:
    rows = [("broker produce", f"{results['broker']['produce_per_s']:,} rec/s"),
            ("broker consume", f"{results['broker']['consume_per_s']:,} rec/s"),
            ("one-stage loop", f"{results['broker']['one_stage_loop_per_s']:,} ev/s")]
    extra = {k: results[k] for k in ("pipeline", "console_live") if k in results}
    for name, figures in {**results["services"], **extra}.items():
        for key, value in _flat(figures):
            if key not in ("seconds", "detail"):
                rows.append((f"{name}: {key}", f"{value:,}" if isinstance(value, int | float) else value))
    width = max(len(r[0]) for r in rows)
    return "\n".join(f"{k.ljust(width)}  {v}" for k, v in rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000, help="records for the broker ceiling")
    parser.add_argument("--only", nargs="*",
                        default=["ingest", "router", "sla", "notifier", "analytics", "console", "store_queries"])
    parser.add_argument("--service-timeout", type=float, default=900)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        broker = processes.broker(processes.free_port(), Path(tmp)).start()
        try:
            bootstrap = f"127.0.0.1:{broker.port}"
            ceiling = asyncio.run(broker_ceiling(bootstrap, args.records))
        finally:
            broker.stop()
    env = {**os.environ, "SWITCHBOARD_BENCH_ONE_STAGE_LOOP_PER_S": str(ceiling["one_stage_loop_per_s"])}
    results = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "broker": ceiling,
        "services": {name: service_bench(name, env, args.service_timeout) for name in args.only},
        "pipeline": run_bench([sys.executable, str(REPO / "benchmarks" / "pipeline.py")], env, args.service_timeout),
        # Webhook 2xx -> row in an open console inbox, in Chromium (benchmarks/console_live.py).
        "console_live": run_bench([sys.executable, str(REPO / "benchmarks" / "console_live.py")], env,
                                  args.service_timeout),
    }
    out = REPO / "bench-results"
    out.mkdir(exist_ok=True)
    (out / "latest.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results))
    print()
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
