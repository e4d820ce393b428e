"""SLA timer benchmark: breach lateness and memory per open timer at 100k and 1M open timers.

Run standalone: `python benchmarks/sla.py [--open 100000 1000000] [--due 1500] [--rate 100]`.
Prints one JSON document.

For each size N it
  1. measures memory per timer: N realistic timer ids loaded into the TimerHeap
     (tracemalloc, ids included), and the heap load time;
  2. runs the real service (bootstrap: Tansu broker + nx-27017 started here, SystemClock) with the
     N timers held open in its heap (far-future breach timers of partitions it owns), then sends
     `--due` conversations whose first-response deadlines fall due at `--rate` per second, and
     reports the breach lateness (SlaBreached.late_by_ms = detected_at - deadline) p50/p99/max.
The N background timers live in the heap only (they are due in a year, so they never reach
MongoDB during the run); the due timers take the whole path: Kafka -> handler -> MongoDB ->
heap -> scheduler -> Kafka + MongoDB. Firing throughput is bounded by nx-27017's write rate
(one conversation document written per fired timer), which is reported beside the figures.
"""
from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

POLICY = """\
version: 1
defaults: {warnings: {fractions: []}}
policies: []
default_policy:
  targets:
    first_response: {within: 60s, hours: calendar}
"""
PARTITIONS = 12


def _timer_ids(n: int) -> list[tuple[int, list[tuple[int, str]]]]:
    far = int((datetime.now(UTC) + timedelta(days=365)).timestamp() * 1000)
    per: dict[int, list[tuple[int, str]]] = {p: [] for p in range(PARTITIONS)}
    for i in range(n):
        per[i % PARTITIONS].append((far + i, f"{uuid.uuid4()}|first_response|1|breach|0"))
    return list(per.items())


def _rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize()


def memory_per_timer(n: int) -> dict:
    from switchboard.sla.timerheap import TimerHeap

    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    entries = _timer_ids(n)
    with_ids = tracemalloc.get_traced_memory()[0]
    heap = TimerHeap()
    started = time.perf_counter()
    for partition, items in entries:
        heap.load(partition, items)
    load_seconds = time.perf_counter() - started
    del entries  # the heap now holds the only references to the tuples and ids
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    pop_started = time.perf_counter()
    popped = heap.pop_due(2**62, 10_000)
    pop_us = (time.perf_counter() - pop_started) / len(popped) * 1e6
    return {"open_timers": n, "bytes_per_timer_total": round((after - before) / n, 1),
            "bytes_per_timer_ids_only": round((with_ids - before) / n, 1),
            "heap_load_seconds": round(load_seconds, 3), "pop_microseconds_per_timer": round(pop_us, 2)}


def _fill_heap(app, n_open: int) -> tuple[int, float]:
    """Loads the far-future timers of the partitions this worker owns; returns (how many, RSS bytes each)."""
    gc.collect()
    rss_before = _rss_bytes()
    for partition, items in _timer_ids(n_open):
        if partition in app.engine.heap.partitions:
            app.engine.heap.load(partition, items)
    gc.collect()
    open_in_heap = len(app.engine.heap)
    return open_in_heap, (_rss_bytes() - rss_before) / max(1, open_in_heap)


async def _send_due_conversations(settings, topics, due: int, rate: float) -> datetime:
    """Opens `due` conversations whose first-response deadlines fall `rate` per second; returns the first."""
    from switchboard.common.producer import EventProducer
    from switchboard.events.convert import to_timestamp
    from switchboard.events.v1 import common_pb2, conversation_pb2

    producer = EventProducer(settings.kafka, source="/bench")
    await producer.start()
    # Deadlines start after all due conversations are consumed and armed, `rate` per second.
    first_deadline = datetime.now(UTC) + timedelta(seconds=25 + due / 400)
    for i in range(due):
        at = first_deadline + timedelta(seconds=i / rate) - timedelta(seconds=60)
        event = conversation_pb2.ConversationEvent(
            brand_id="bench", occurred_at=to_timestamp(at), conversation_opened=conversation_pb2.ConversationOpened(),
            conversation=common_pb2.ConversationSnapshot(
                conversation_id=f"b-{i}", channel=common_pb2.CHANNEL_EMAIL,
                status=common_pb2.CONVERSATION_STATUS_QUEUED, priority=common_pb2.PRIORITY_NORMAL))
        await producer.publish(topics.conversations, event, key=f"b-{i}", event_id=f"bench-{i}")
    await producer.drain()
    await producer.stop()
    return first_deadline


def _fired(kind: str | None = None) -> int:
    """Timers this process fired (its own metric, by kind): the benchmark runs the service in-process."""
    from prometheus_client import REGISTRY
    from switchboard.common.testing.helpers import sample_sum

    return int(sample_sum(REGISTRY, "switchboard_sla_timers_fired_total", **({"kind": kind} if kind else {})))


async def _wait_all_fired(app, due: int, preloaded: int, first_deadline: datetime,
                          last_deadline: datetime) -> int | None:
    """Waits until every due breach timer fired; returns how many timers had been armed (pending in the
    heap beyond the preloaded far-future ones, or fired) by the first deadline."""
    armed_by_first_deadline = None
    while True:
        breaches = _fired("breach")
        if armed_by_first_deadline is None and datetime.now(UTC) >= first_deadline:
            # Under the engine's lock no firing is half done: a timer popped from the heap is counted
            # fired only after its state is read, so outside it one could be in neither count.
            async with app.engine.lock:
                armed_by_first_deadline = len(app.engine.heap) - preloaded + _fired()
        if breaches >= due:
            return armed_by_first_deadline
        if datetime.now(UTC) > last_deadline + timedelta(seconds=300):
            raise TimeoutError(f"only {breaches}/{due} timers fired")
        await asyncio.sleep(0.5)


async def _measure(settings, topics, app, n_open: int, due: int, rate: float) -> dict:
    from switchboard.common.testing.helpers import read_topic

    open_in_heap, rss_per_timer = _fill_heap(app, n_open)
    first_deadline = await _send_due_conversations(settings, topics, due, rate)
    armed_by_first_deadline = await _wait_all_fired(app, due, open_in_heap, first_deadline,
                                                    first_deadline + timedelta(seconds=due / rate))
    records = [e for e in await read_topic(settings.kafka.bootstrap_servers, topics.sla, due, timeout=60)
               if e.case == "sla_breached"]
    late = sorted(e.payload.sla_breached.late_by_ms for e in records)
    return {
        "open_timers": open_in_heap + due, "due_timers": len(late), "due_rate_per_s": rate,
        "armed_before_first_deadline": armed_by_first_deadline,
        "breach_lateness_ms_p50": late[len(late) // 2], "breach_lateness_ms_p99": late[int(len(late) * 0.99)],
        "breach_lateness_ms_max": late[-1],
        "rss_bytes_per_open_timer": round(rss_per_timer, 1), "process_rss_mb": round(_rss_bytes() / 2**20, 1),
        "python": sys.version.split()[0], "cpus": os.cpu_count(),
        "load_average_1m": round(os.getloadavg()[0], 2),
    }


async def lateness(n_open: int, due: int, rate: float) -> dict:
    from switchboard.common import processes
    from switchboard.common.admin import ensure_topics
    from switchboard.common.logging import configure_logging
    from switchboard.common.testing.plugin import make_test_settings
    from switchboard.common.topics import TopicNames
    from switchboard.sla.bootstrap import bootstrap
    from switchboard.sla.settings import SlaSettings

    configure_logging("sla-bench", "WARNING")
    work = Path(tempfile.mkdtemp(prefix="sla-bench-"))
    (work / "sla.yaml").write_text(POLICY)
    kafka_port, mongo_port = processes.free_port(), processes.free_port()
    broker = processes.broker(kafka_port, work).start()
    mongo = processes.mongo(mongo_port, work / "bench.db", work).start()
    app = None
    try:
        settings = make_test_settings(f"127.0.0.1:{kafka_port}", processes.mongo_uri(mongo_port), "bench",
                                      SlaSettings, config_dir=work, log_level="WARNING")
        topics = TopicNames("bench.")
        await ensure_topics(settings.kafka, topics)
        app = bootstrap(settings, http=False)
        for component in app.service.components:
            await component.start()
        while not app.consumer.assigned:  # noqa: ASYNC110 - the runner exposes no event
            await asyncio.sleep(0.05)
        return await _measure(settings, topics, app, n_open, due, rate)
    finally:
        if app is not None:
            for component in reversed(app.service.components):
                try:
                    await component.stop()
                except Exception:  # noqa: BLE001 - best effort teardown of a benchmark
                    pass
        broker.stop()
        mongo.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="switchboard-sla-bench")
    parser.add_argument("--open", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--due", type=int, default=1500, help="timers that come due during the run")
    parser.add_argument("--rate", type=float, default=100.0, help="due timers per second")
    parser.add_argument("--memory-only", action="store_true")
    parser.add_argument("--lateness-run", action="store_true", help=argparse.SUPPRESS)  # one run, in a child
    args = parser.parse_args(argv)
    if args.lateness_run:
        print(json.dumps(asyncio.run(lateness(args.open[0], args.due, args.rate))))
        return 0
    result = {"benchmark": "sla_timers", "memory": [], "lateness": [],
              "note": "lateness end to end on Tansu + nx-27017 (nx-27017 write ceiling ~1.5k-3k ops/s; "
                      "one write per fired timer: its conversation's SLA document)"}
    for n in args.open:
        result["memory"].append(memory_per_timer(n))
        gc.collect()
    if not args.memory_only:
        for n in args.open:  # a fresh process per size, so its RSS figures are its own
            child = subprocess.run([sys.executable, __file__, "--lateness-run", "--open", str(n),
                                    "--due", str(args.due), "--rate", str(args.rate)],
                                   capture_output=True, text=True, check=True)
            result["lateness"].append(json.loads(child.stdout.strip().splitlines()[-1]))
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
