"""Pipeline benchmark: inbound topic -> router (intake -> contact stage -> routing stage, MongoDB state) -> SLA (timers
armed) -> analytics, and the notifier delivering the bot's answers to real local receivers.

Starts its own Tansu broker and nx-27017 (SQLite file), runs router, sla and analytics as real
processes (console scripts, demo config with SLA targets long enough that timers are armed but do
not fire during the run), and then:

1. sustained events/s: a backlog of MessageReceived records (each a new customer, so every event
   opens a conversation, arms two SLA clocks and moves analytics) is produced straight onto the
   inbound topic with the shared EventProducer; the rate is backlog / time until the router, SLA
   and analytics consumer groups have all committed everything upstream produced (ends counted
   by reading the topics, not ListOffsets, which Tansu gets wrong);
2. end-to-end latency at 50% of that rate: inbound ce_time -> arrival of the SlaApplied record
   correlated to it (router's ConversationOpened if the SLA service produced nothing);
3. the ratio to the one-stage consume -> produce -> commit loop (SWITCHBOARD_BENCH_ONE_STAGE_LOOP_PER_S,
   set by tools/bench.py), peak RSS per service (VmHWM), and nx-27017's own insert_many ceiling;
4. MongoDB documents written per new conversation, every service together and per collection
   (`switchboard_mongo_documents_written_total` of each process), CPU ms per event of each process
   (the store and the broker included), and the throughput as a ratio to the store-bound limit:
   the store's insert_many ceiling / documents per event;
5. the same sustained run again with a second router replica (its three stages) in the same run.

Prints one JSON object as its last stdout line. Runs in about 2-4 minutes.
Usage: python benchmarks/pipeline.py [--latency-seconds 30] [--max-backlog 60000]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests" / "e2e"))

import harness  # noqa: E402
from aiokafka import AIOKafkaConsumer, TopicPartition  # noqa: E402
from switchboard.common import processes  # noqa: E402
from switchboard.common.admin import ensure_topics  # noqa: E402
from switchboard.common.cloudevents import derived_id  # noqa: E402
from switchboard.common.producer import EventProducer  # noqa: E402
from switchboard.common.testing.benchkit import cpu_seconds, mongo_ceiling, say, self_time  # noqa: E402

SERVICES = ("router", "sla", "analytics", "notifier")
SECOND_ROUTER = f"router{harness.REPLICA}2"
BENCH_SLA = """\
# Bench policies: clocks are armed for every conversation but none comes due during the run.
version: 1
priority_multipliers: {urgent: 0.25, high: 0.5, normal: 1.0, low: 2.0}
calendars: []
default_calendar: 24x7
defaults:
  warnings: {fractions: [0.75, 0.9]}
  reopen: resume
  proactive_update_after: 24h
  escalation:
    ack_timeout: 1h
    levels:
      - {name: assignee, after_breach: 0s, recipients: ["{assignee}"], destinations: [ops-slack]}
policies:
  - id: chat
    channels: [chat, sms, whatsapp, messenger, vk, telegram, marketplace]
    targets:
      first_response: {within: 2h, hours: calendar}
      resolution: {within: 48h, hours: calendar}
default_policy:
  targets:
    first_response: {within: 4h, hours: calendar}
    resolution: {within: 72h, hours: calendar}
"""
CHANNELS = ("chat", "sms", "whatsapp", "email")
# Two brands of the demo config, on routing partitions 0 and 1: two routing-stage replicas own one each.
BRANDS = ("acme", "globex")
# Production-like client settings (the test defaults shorten linger and poll for speed).
SERVICE_ENV = {"SWITCHBOARD_CONSUMER__POLL_TIMEOUT_MS": "200",
               "SWITCHBOARD_KAFKA__CREATE_TOPICS": "false", "SWITCHBOARD_LOG_LEVEL": "WARNING",
               # Experiments: more settings for every service, e.g. '{"SWITCHBOARD_LOG_LEVEL": "DEBUG"}'.
               **json.loads(os.environ.get("SWITCHBOARD_BENCH_SERVICE_ENV", "{}"))}


class Load:
    """New-customer MessageReceived records onto the inbound topic; remembers when each was sent."""

    def __init__(self, producer: EventProducer, stack: harness.Stack) -> None:
        self.producer = producer
        self.topic = stack.topics.inbound
        self.run = uuid.uuid4().hex[:8]
        self.n = 0
        self.sent_at: dict[str, float] = {}

    async def send(self) -> None:
        n, self.n = self.n, self.n + 1
        channel = CHANNELS[n % len(CHANNELS)]
        brand = BRANDS[(n // len(CHANNELS)) % len(BRANDS)]
        handle = harness.handle_value(channel, n, self.run)
        pmid = f"{self.run}-{n}"
        now = datetime.now(UTC)
        event = harness.message_received(channel, handle, harness.TEXTS[n % len(harness.TEXTS)].format(n=n), pmid, now)
        event.brand_id = brand
        event_id = derived_id("bench", self.run, n)
        self.sent_at[event_id] = now.timestamp()
        await self.producer.publish(self.topic, event, key=f"{brand}/{handle}", event_id=event_id, time=now)


async def stages_done(stack: harness.Stack, reader: AIOKafkaConsumer, members: dict, inbound_total: int) -> set[str]:
    """The stages that have committed everything upstream produced so far."""
    topics = stack.topics
    done: set[str] = set()
    router = await harness.committed(members["router"], topics.inbound, range(12))
    if sum(router.values()) < inbound_total:
        return done
    routing_ends = await harness.partition_ends(stack.bootstrap, topics.routing, reader)
    routed = await harness.committed(members["routing"], topics.routing, routing_ends.keys())
    if any(routed.get(p, 0) < end for p, end in routing_ends.items()):
        return done
    done.add("router")
    conversations = await harness.partition_ends(stack.bootstrap, topics.conversations, reader)
    sla_ends = await harness.partition_ends(stack.bootstrap, topics.sla, reader)
    notifications = await harness.partition_ends(stack.bootstrap, topics.notifications, reader)
    checks = {"sla": [(topics.conversations, conversations)],
              "analytics": [(topics.conversations, conversations), (topics.sla, sla_ends)],
              "notifier": [(topics.notifications, notifications)]}
    for service, pairs in checks.items():
        for topic, ends in pairs:
            committed = await harness.committed(members[service], topic, ends.keys())
            if any(committed.get(p, 0) < end for p, end in ends.items()):
                break
        else:
            done.add(service)
    return done


class Profiler:
    """py-spy on each service process for the length of one measurement (collapsed stacks)."""

    def __init__(self, stack: harness.Stack, out: Path | None, seconds: float,
                 others: dict[str, int] | None = None) -> None:
        """`others`: more processes to profile by name (the store: nx-27017 is Python too)."""
        self.stack, self.out, self.seconds = stack, out, seconds
        self.others = others or {}
        self.procs: dict = {}

    def start(self) -> None:
        if self.out is None:
            return
        import subprocess

        self.out.mkdir(parents=True, exist_ok=True)
        spy = str(Path(sys.executable).parent / "py-spy")
        pids = {name: self.stack.services[name].pid if name in self.stack.services else None for name in SERVICES}
        for name, pid in {**pids, **self.others}.items():
            if pid is None:
                continue
            self.procs[name] = subprocess.Popen(
                [spy, "record", "--pid", str(pid), "--duration", str(max(1, int(self.seconds))), "--rate", "50",
                 "--format", "raw", "--output", str(self.out / f"{name}.txt"), "--nonblocking"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def summary(self, top: int = 8) -> dict:
        out = {}
        for name, proc in self.procs.items():
            proc.wait(timeout=self.seconds + 30)
            path = self.out / f"{name}.txt"
            if not path.exists():
                continue
            out[name] = self_time(path, top)
        return out


async def sustained(stack: harness.Stack, load: Load, backlog: int, timeout: float = 240.0) -> dict:
    """Produces `backlog` events at once and times each stage until it committed all of it."""
    reader = await harness._consumer(stack.bootstrap)
    groups = harness.consumer_groups(stack.namespace)
    members = {name: await harness._consumer(stack.bootstrap, groups[name]) for name in (*SERVICES, "routing")}
    try:
        started = time.perf_counter()
        for _ in range(backlog):
            await load.send()
        await load.producer.drain()
        produced = time.perf_counter() - started
        deadline = time.monotonic() + timeout
        finished: dict[str, float] = {}
        while len(finished) < len(SERVICES):
            for stage in await stages_done(stack, reader, members, load.n):
                finished.setdefault(stage, time.perf_counter() - started)
            if time.monotonic() > deadline:
                raise TimeoutError(f"pipeline did not drain {backlog} events within {timeout}s (done: {finished})")
            await asyncio.sleep(0.25)
        elapsed = max(finished.values())
        stages = ", ".join(f"{k} {v:.1f}s" for k, v in finished.items())
        say(f"  backlog {backlog}: produced in {produced:.1f}s, drained in {elapsed:.1f}s -> "
            f"{backlog / elapsed:.0f} ev/s (stages done at {stages})")
        return {"rate": backlog / elapsed, "stages_s": {k: round(v, 2) for k, v in finished.items()}}
    finally:
        for consumer in (reader, *members.values()):
            await consumer.stop()


async def latency(stack: harness.Stack, load: Load, rate: float, seconds: float) -> dict:
    """Paced load at `rate`; latency = ce_time of the inbound record -> arrival of its SlaApplied
    (or ConversationOpened) at a plain consumer. The router hop is split by its stages: the arrival of the
    input on `contacts` (intake), of its delta on `routing` (contact stage), of ConversationOpened (routing
    stage); each record carries the input's id."""
    topics = stack.topics
    consumer = await harness._consumer(stack.bootstrap)
    arrivals: dict[str, dict[str, float]] = {"sla": {}, "conversations": {}, "contacts": {}, "routing": {}}
    by_topic = {topics.of(logical): logical for logical in arrivals}
    try:
        tps = []
        for logical in arrivals:
            ends = await harness.partition_ends(stack.bootstrap, topics.of(logical), consumer)
            tps += [(TopicPartition(topics.of(logical), p), end) for p, end in ends.items()]
        consumer.assign([tp for tp, _ in tps])
        for tp, end in tps:
            consumer.seek(tp, end)
        stop = asyncio.Event()

        async def watch() -> None:
            while not stop.is_set():
                batch = await consumer.getmany(timeout_ms=100, max_records=5000)
                now = time.time()
                for tp, records in batch.items():
                    logical = by_topic[tp.topic]
                    for r in records:
                        headers = dict(r.headers)
                        if logical in ("contacts", "routing"):  # the input's own id
                            arrivals[logical].setdefault(headers.get("ce_id", b"").decode(), now)
                            continue
                        kind = headers.get("ce_type", b"").decode()
                        if not kind.endswith((".sla_applied", ".conversation_opened")):
                            continue
                        correlation = headers.get("ce_correlationid", b"").decode()
                        arrivals[logical].setdefault(correlation, now)

        watcher = asyncio.create_task(watch())
        first = load.n
        started = time.perf_counter()
        total = int(rate * seconds)
        for i in range(total):
            await load.send()
            delay = started + (i + 1) / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
        await load.producer.drain()
        sent = {eid: t for eid, t in list(load.sent_at.items())[first:]}
        deadline = time.monotonic() + 60
        source = "sla"
        while time.monotonic() < deadline:
            if len(set(arrivals["sla"]) & sent.keys()) >= len(sent):
                break
            if not arrivals["sla"] and len(set(arrivals["conversations"]) & sent.keys()) >= len(sent):
                break
            await asyncio.sleep(0.25)
        if not arrivals["sla"]:
            source = "conversations"
        stop.set()
        await watcher
        values = [(arrivals[source][eid] - t) * 1000 for eid, t in sent.items() if eid in arrivals[source]]
        # Where the time goes: inbound -> router's ConversationOpened, and that -> SLA's SlaApplied.
        opened = arrivals["conversations"]
        router_hop = [(opened[eid] - t) * 1000 for eid, t in sent.items() if eid in opened]
        sla_hop = [(arrivals["sla"][eid] - opened[eid]) * 1000 for eid in sent
                   if eid in opened and eid in arrivals["sla"]]
        stages = (("router.intake", "contacts", None), ("router.contact", "routing", "contacts"),
                  ("router.routing", "conversations", "routing"))
        stage_hops = [(name, [(arrivals[to][eid] - (arrivals[since][eid] if since else t)) * 1000
                              for eid, t in sent.items()
                              if eid in arrivals[to] and (since is None or eid in arrivals[since])])
                      for name, to, since in stages]
        hops = {name: {"p50_ms": round(harness.percentile(v, 50) or 0, 1),
                       "p99_ms": round(harness.percentile(v, 99) or 0, 1)}
                for name, v in (("router", router_hop), *stage_hops, ("sla", sla_hop)) if v}
        return {"latency_by_hop": hops,
                "latency_source": "SlaApplied" if source == "sla" else "ConversationOpened",
                "latency_events": len(values), "latency_missing": len(sent) - len(values),
                "latency_rate_per_s": round(total / (time.perf_counter() - started), 1),
                "p50_ms": round(harness.percentile(values, 50) or 0, 1),
                "p95_ms": round(harness.percentile(values, 95) or 0, 1),
                "p99_ms": round(harness.percentile(values, 99) or 0, 1),
                "max_ms": round(max(values), 1) if values else None}
    finally:
        await consumer.stop()


async def kill9_recovery(stack: harness.Stack, producer: EventProducer, due: int = 200,
                         spread_s: float = 20.0, kill_at_s: float = 6.0) -> dict:
    """Time back to firing after kill -9 of the SLA service: `due` conversations whose first-response
    deadlines (event time: sent_at + target) fall due over `spread_s`; the SLA process is killed
    `kill_at_s` in and restarted at once. Reports how long until it fired again and how late the
    breaches that fell due during the outage were."""
    from datetime import timedelta

    topics = stack.topics
    consumer = await harness._consumer(stack.bootstrap)
    target = timedelta(hours=2)  # BENCH_SLA chat first_response
    run = uuid.uuid4().hex[:6]
    breaches: list[tuple[float, float]] = []  # (arrival, late_by_ms)
    try:
        ends = await harness.partition_ends(stack.bootstrap, topics.sla, consumer)
        tps = [TopicPartition(topics.sla, p) for p in ends]
        consumer.assign(tps)
        for tp in tps:
            consumer.seek(tp, ends[tp.partition])
        stop, all_fired = asyncio.Event(), asyncio.Event()

        async def watch() -> None:
            from switchboard.common.cloudevents import decode

            while not stop.is_set():
                batch = await consumer.getmany(timeout_ms=100, max_records=5000)
                now = time.time()
                for records in batch.values():
                    for r in records:
                        if not dict(r.headers).get("ce_type", b"").endswith(b".sla_breached"):
                            continue
                        env = decode(r.value, r.headers)  # only this phase's clocks come due (2 h targets)
                        breaches.append((now, env.payload.sla_breached.late_by_ms))
                if len(breaches) >= due:
                    all_fired.set()

        watcher = asyncio.create_task(watch())
        start = datetime.now(UTC) + timedelta(seconds=3)
        for i in range(due):
            deadline = start + timedelta(seconds=spread_s * i / due)
            handle = f"{run}-k9-{i}"
            event = harness.message_received("chat", handle, "Where is my order?", f"{run}-k9-{i}", deadline - target)
            await producer.publish(topics.inbound, event, key=f"{harness.BRAND}/{handle}",
                                   event_id=derived_id("bench-k9", run, i), time=deadline - target)
        await producer.drain()
        await asyncio.sleep(max(0.0, (start - datetime.now(UTC)).total_seconds() + kill_at_s))
        sla = stack.services["sla"]
        killed = time.time()
        sla.kill()
        await asyncio.to_thread(sla.start)
        ready = time.time()
        try:
            await asyncio.wait_for(all_fired.wait(), spread_s + 60)
        except TimeoutError:
            pass  # reported as fired < due
        stop.set()
        await watcher
        after = sorted(t for t, _ in breaches if t > killed + 1.0)  # not the old process's last records in flight
        during = [late for t, late in breaches if t > killed and late > 1000]
        return {"sla_kill9_restart_ready_s": round(ready - killed, 2),
                "sla_kill9_time_back_to_firing_s": round(after[0] - killed, 2) if after else None,
                "sla_kill9_breaches_fired": len(breaches), "sla_kill9_breaches_due": due,
                "sla_kill9_max_late_ms": max((late for _, late in breaches), default=None),
                "sla_kill9_breaches_late_over_1s": len(during)}
    finally:
        await consumer.stop()


def scrape(stack: harness.Stack, name: str) -> str:
    import urllib.request

    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{stack.services[name].port}/metrics", timeout=5) as r:
            return r.read().decode()
    except OSError:
        return ""


def documents_written(stack: harness.Stack) -> dict[str, float]:
    """Documents every running service has sent MongoDB to write so far, per collection."""
    from prometheus_client.parser import text_string_to_metric_families

    out: dict[str, float] = {}
    for name in stack.services:
        for family in text_string_to_metric_families(scrape(stack, name)):
            for sample in family.samples:
                if sample.name == "switchboard_mongo_documents_written_total":
                    collection = sample.labels["collection"]
                    out[collection] = out.get(collection, 0.0) + sample.value
    return out


def per_event(before: dict[str, float], after: dict[str, float], events: int) -> dict[str, float]:
    delta = {k: after.get(k, 0.0) - before.get(k, 0.0) for k in after}
    return {k: round(v / events, 2) for k, v in sorted(delta.items(), key=lambda kv: -kv[1]) if v > 0}


async def measured_run(stack: harness.Stack, load: Load, backlog: int, pids: dict[str, int | None]) -> dict:
    """One sustained run with CPU time per process and documents written per event."""
    cpu_before = {name: cpu_seconds(pid) for name, pid in pids.items()}
    docs_before = documents_written(stack)
    result = await sustained(stack, load, backlog)
    elapsed = max(result["stages_s"].values())
    cpu = {name: cpu_seconds(pid) - cpu_before[name] for name, pid in pids.items()}
    docs = per_event(docs_before, documents_written(stack), backlog)
    result.update(cpu_cores_busy={k: round(v / elapsed, 2) for k, v in cpu.items()},
                  cpu_ms_per_event={k: round(1000 * v / backlog, 2) for k, v in cpu.items()},
                  documents_per_event=round(sum(docs.values()), 2), documents_by_collection=docs)
    say(f"  CPU ms per event: {result['cpu_ms_per_event']}")
    say(f"  documents written per event: {result['documents_per_event']} {docs}")
    return result


async def second_router(stack: harness.Stack) -> None:
    """Starts another router replica (its three stages) and waits until its routing stage owns a brand."""
    await asyncio.to_thread(stack.start, [SECOND_ROUTER])
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        owned = [line for line in scrape(stack, SECOND_ROUTER).splitlines()
                 if line.startswith("switchboard_router_routing_scopes_owned ")]
        if owned and float(owned[0].split()[1]) >= 1:
            return
        await asyncio.sleep(0.5)
    raise TimeoutError("the second router replica owned no routing scope within 60 s")


def batch_stats(stack: harness.Stack) -> dict:
    """Mean consumed batch size and mean time per batch of each service, from its /metrics."""
    import urllib.request

    from prometheus_client.parser import text_string_to_metric_families

    out = {}
    for name in SERVICES:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{stack.services[name].port}/metrics", timeout=5) as r:
                text = r.read().decode()
        except OSError:
            continue
        sums: dict[str, float] = {}
        main_topic = stack.topics.inbound if name == "router" else stack.topics.conversations
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name in ("switchboard_bus_batch_records_sum", "switchboard_bus_batch_records_count"):
                    sums[sample.name] = sums.get(sample.name, 0) + sample.value
                elif (sample.name.startswith("switchboard_bus_handler_duration_seconds_")
                      and sample.labels.get("topic") == main_topic and sample.name[-4:] in ("_sum", "ount")):
                    sums[sample.name[-4:]] = sums.get(sample.name[-4:], 0) + sample.value
        if sums.get("switchboard_bus_batch_records_count") and sums.get("ount"):
            out[name] = {"batches": int(sums["switchboard_bus_batch_records_count"]),
                         "mean_records": round(sums["switchboard_bus_batch_records_sum"]
                                               / sums["switchboard_bus_batch_records_count"], 1),
                         "mean_batch_ms": round(1000 * sums["_sum"] / sums["ount"], 1)}
    return out


async def run(args, tmp: Path) -> dict:
    broker = processes.broker(processes.free_port(), tmp).start()
    mongo = processes.mongo(processes.free_port(), "memory" if args.mongo_memory else tmp / "bench.db", tmp).start()
    receivers = harness.Receivers().start()  # the notifier delivers the bot's answers here
    stack = None
    try:
        namespace = "bench" + uuid.uuid4().hex[:6]
        config = harness.prepare_config(tmp / "config", sla_yaml=BENCH_SLA, inbox_http=receivers.http_origin,
                                        smtp_port=receivers.smtp_port)
        stack = harness.Stack(f"127.0.0.1:{broker.port}", processes.mongo_uri(mongo.port), namespace, config,
                              tmp / "logs", extra_env=SERVICE_ENV)
        await ensure_topics(stack.kafka, stack.topics)
        ceiling = await mongo_ceiling(stack.mongo_uri, namespace)
        say(f"nx-27017 insert_many ceiling: {ceiling} docs/s")
        await asyncio.to_thread(stack.start, SERVICES)
        producer = EventProducer(stack.kafka, source="/bench/pipeline")
        await producer.start()
        lat, recovery, profile, two, two_profile = {}, {}, {}, {}, {}
        try:
            load = Load(producer, stack)
            say("warm-up")
            await sustained(stack, load, 200)
            probe = (await sustained(stack, load, args.probe_backlog))["rate"]
            backlog = int(min(args.max_backlog, max(args.probe_backlog, probe * args.sustain_seconds)))
            profiler = Profiler(stack, args.profile, backlog / probe, {"nx-27017": mongo.proc.pid})
            profiler.start()
            pids = {**{name: stack.services[name].pid for name in SERVICES},
                    "nx-27017": mongo.proc.pid, "tansu": broker.proc.pid, "load generator": os.getpid()}
            say(f"sustained, 1 router replica: backlog {backlog}")
            main_run = await measured_run(stack, load, backlog, pids)
            batches = batch_stats(stack)
            say(f"  consumed batches so far: {batches}")
            rate = main_run["rate"]
            profile = profiler.summary()
            if not args.quick:
                paced = args.latency_rate or rate / 2
                say(f"latency at {paced:.0f} ev/s for {args.latency_seconds:.0f}s")
                lat = await latency(stack, load, paced, args.latency_seconds)
            rss = {name: round((v or 0) / 2**20, 1) for name, v in stack.peak_rss().items()}  # before the kill
            if not args.quick:
                say("kill -9 of the SLA service while timers fall due")
                recovery = await kill9_recovery(stack, producer)
                say(f"  {recovery}")
            say(f"sustained, 2 router replicas: backlog {backlog}")
            await second_router(stack)
            pids.update({name: stack.services[name].pid for name in (*SERVICES, SECOND_ROUTER)})  # sla restarted
            second = Profiler(stack, args.profile / "two-routers" if args.profile else None, backlog / probe,
                              {"nx-27017": mongo.proc.pid})
            second.start()
            two = await measured_run(stack, load, backlog, pids)
            two_profile = second.summary()
        finally:
            await producer.stop()
        one_stage = float(os.environ.get("SWITCHBOARD_BENCH_ONE_STAGE_LOOP_PER_S", "0") or 0)
        docs = main_run["documents_per_event"]
        store_bound = ceiling / docs if docs else None
        return {"sustained_events_per_s": round(rate), "backlog_events": backlog,
                "sustained_events_per_s_2_routers": round(two["rate"]) if two else None,
                "ratio_2_routers_to_1": round(two["rate"] / rate, 3) if two else None,
                "stage_drained_s": main_run["stages_s"],
                "stage_events_per_s": {k: round(backlog / v) for k, v in main_run["stages_s"].items()},
                "cpu_cores_busy": main_run["cpu_cores_busy"], "cpu_ms_per_event": main_run["cpu_ms_per_event"],
                "cpu_ms_per_event_2_routers": two.get("cpu_ms_per_event"),
                "documents_per_event": docs, "documents_by_collection": main_run["documents_by_collection"],
                "store_bound_events_per_s": round(store_bound) if store_bound else None,
                "ratio_to_store_bound": round(rate / store_bound, 3) if store_bound else None,
                "consumed_batches": batches, "cpus": os.cpu_count(),
                "load_average_1m": round(os.getloadavg()[0], 2),
                "one_stage_loop_per_s": round(one_stage) or None,
                "ratio_to_one_stage_loop": round(rate / one_stage, 3) if one_stage else None,
                **lat, **recovery, "peak_rss_mb": rss, "mongo_insert_many_docs_per_s": ceiling,
                "mongo_storage": "memory" if args.mongo_memory else "sqlite file",
                "events_per_conversation": "1 (every event opens a conversation with a new customer; the bot "
                                           "answers it through the notifier; sla arms its clocks)",
                **({"profile_self_time": profile} if profile else {}),
                **({"profile_self_time_2_routers": two_profile} if two_profile else {})}
    finally:
        if stack is not None:
            await asyncio.to_thread(stack.stop)
        receivers.stop()
        mongo.stop()
        broker.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--probe-backlog", type=int, default=3000)
    parser.add_argument("--sustain-seconds", type=float, default=25.0, help="target length of the sustained run")
    parser.add_argument("--max-backlog", type=int, default=60_000)
    parser.add_argument("--latency-seconds", type=float, default=30.0)
    parser.add_argument("--latency-rate", type=float, default=0.0,
                        help="events/s of the latency phase (default: half the sustained rate of the same run)")
    parser.add_argument("--mongo-memory", action="store_true", help="nx-27017 --db memory instead of a SQLite file")
    parser.add_argument("--keep-logs", type=Path, default=None, help="copy the services' logs here at the end")
    parser.add_argument("--quick", action="store_true", help="skip the latency and SLA kill -9 phases")
    parser.add_argument("--profile", type=Path, default=None,
                        help="py-spy each service during the sustained run; collapsed stacks into this folder")
    args = parser.parse_args()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-pipeline-") as tmp:
        try:
            result = asyncio.run(run(args, Path(tmp)))
        finally:
            if args.keep_logs:  # e.g. to read the services' mongo_slow_command lines
                shutil.copytree(Path(tmp) / "logs", args.keep_logs, dirs_exist_ok=True)
    result["seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
