"""Analytics benchmark: conversation + SLA events projected per second, and the /metrics scrape time.

    python benchmarks/analytics.py [--events 20000] [--scrapes 10]

Starts its own Tansu broker and nx-27017 (SQLite file) and runs analytics as a real process
(`python -m switchboard.analytics.entrypoint`, default settings: batches of 500, one bulk_write
per batch). Then:

1. a backlog of `--events` mixed records is produced at once with the shared EventProducer, four
   per conversation, in the order the router and the SLA service emit them: ConversationOpened,
   SlaApplied (first response), SlaApplied (resolution), then one of ConversationAssigned,
   CustomerMessageAppended, SlaWarningRaised or SlaFulfilled (first response). Every conversation
   stays open, over 4 brands x 4 channels x 3 queues x 3 priorities. Events projected/s = backlog /
   time until the analytics consumer group committed every record of both topics (true ends
   found by reading the topics: Tansu's ListOffsets is a lower bound, see tests/e2e/harness.py);
2. `--scrapes` GETs of /metrics with that many open conversations: time p50/max, size, samples,
   and a check that the backlog gauges add up to the open conversations;
3. for reference, decoding (the codec) + the pure projection (no I/O) over the same events, in
   this process.

Also reported: peak RSS of the analytics process (VmHWM), CPU seconds per second of analytics,
nx-27017 and Tansu during the backlog, and nx-27017's own insert_many ceiling in the same run
(every batch is one nx-27017 bulk_write). Progress on stderr; one JSON object last on stdout.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from switchboard.common.testing.benchkit import (
    http_ready,
    mongo_ceiling,
    percentile,
    print_result,
    proc_stat,
    run_context,
    say,
)

BRANDS = ("acme", "lumen", "nordwind", "sakura")
QUEUES = ("general", "returns", "billing")
# Production-like client settings; group timings shortened for Tansu (joins take ~half the session).
SERVICE_ENV = {"SWITCHBOARD_KAFKA__LINGER_MS": "5", "SWITCHBOARD_KAFKA__SESSION_TIMEOUT_MS": "1500",
               "SWITCHBOARD_KAFKA__HEARTBEAT_INTERVAL_MS": "300", "SWITCHBOARD_KAFKA__CREATE_TOPICS": "false",
               "SWITCHBOARD_CONSUMER__POLL_TIMEOUT_MS": "200", "SWITCHBOARD_LOG_LEVEL": "WARNING"}


# ------------------------------------------------------------------------------------ traffic
def conversation_events(run: str, n: int, now: datetime) -> list[tuple[str, object]]:
    """The four events of conversation n, as (logical topic, payload), in emission order."""
    from google.protobuf.timestamp_pb2 import Timestamp
    from switchboard.events.v1 import common_pb2, conversation_pb2, sla_pb2

    def ts(dt: datetime) -> Timestamp:
        out = Timestamp()
        out.FromDatetime(dt)
        return out

    channels = (common_pb2.CHANNEL_CHAT, common_pb2.CHANNEL_EMAIL, common_pb2.CHANNEL_WHATSAPP, common_pb2.CHANNEL_SMS)
    priorities = (common_pb2.PRIORITY_NORMAL, common_pb2.PRIORITY_HIGH, common_pb2.PRIORITY_LOW)
    brand = BRANDS[n % len(BRANDS)]
    opened = now - timedelta(seconds=(n * 7) % 3600)

    def snapshot(status=common_pb2.CONVERSATION_STATUS_QUEUED, assignee=""):
        return common_pb2.ConversationSnapshot(
            conversation_id=f"{run}-c{n}", customer_id=f"{run}-cu{n}", channel=channels[(n // 4) % 4],
            status=status, priority=priorities[(n // 16) % 3], queue=QUEUES[(n // 48) % 3], assignee_id=assignee,
            human_involved=bool(assignee), opened_at=ts(opened), language="en")

    def conv(kind: str, body, at: datetime, **snap) -> conversation_pb2.ConversationEvent:
        event = conversation_pb2.ConversationEvent(brand_id=brand, conversation=snapshot(**snap), occurred_at=ts(at))
        getattr(event, kind).CopyFrom(body)
        return event

    def sla(kind: str, body, metric: int, target: int, **snap) -> sla_pb2.SlaEvent:
        event = sla_pb2.SlaEvent(brand_id=brand, conversation=snapshot(**snap), metric=metric, instance=1,
                                 policy_id="default", target_seconds=target,
                                 deadline=ts(opened + timedelta(seconds=target)))
        getattr(event, kind).CopyFrom(body)
        return event

    fr, res = sla_pb2.SLA_METRIC_FIRST_RESPONSE, sla_pb2.SLA_METRIC_RESOLUTION
    events = [
        ("conversations", conv("conversation_opened", conversation_pb2.ConversationOpened(first_message_id=f"m{n}"),
                               opened)),
        ("sla", sla("sla_applied", sla_pb2.SlaApplied(started_at=ts(opened)), fr, 7200)),
        ("sla", sla("sla_applied", sla_pb2.SlaApplied(started_at=ts(opened)), res, 172_800)),
    ]
    later = opened + timedelta(seconds=90)
    fourth = n % 4
    if fourth == 0:
        events.append(("conversations", conv("conversation_assigned",
                                             conversation_pb2.ConversationAssigned(assignee_id=f"agent-{n % 40}",
                                                                                  rule="most_spare_capacity"),
                                             later, status=common_pb2.CONVERSATION_STATUS_ASSIGNED,
                                             assignee=f"agent-{n % 40}")))
    elif fourth == 1:
        events.append(("conversations", conv("customer_message_appended",
                                             conversation_pb2.CustomerMessageAppended(message_id=f"m{n}-2",
                                                                                      text_length=80), later)))
    elif fourth == 2:
        events.append(("sla", sla("sla_warning_raised", sla_pb2.SlaWarningRaised(
            fraction_elapsed=0.75, seconds_left=1800, detected_at=ts(later)), fr, 7200)))
    else:
        events.append(("sla", sla("sla_fulfilled", sla_pb2.SlaFulfilled(
            fulfilled_at=ts(later), elapsed_business_seconds=90, elapsed_calendar_seconds=90), fr, 7200,
            status=common_pb2.CONVERSATION_STATUS_ASSIGNED, assignee=f"agent-{n % 40}")))
    return events


# ------------------------------------------------------------------------------------ offsets
async def partition_ends(bootstrap: str, topic: str) -> dict[int, int]:
    """The true next offset per partition (read as tests/e2e/harness.py does): Tansu's
    ListOffsets(latest) answers the base offset of the last batch + 1, a lower bound, so fetch
    from just below it and take the last offset actually returned.

    A fresh consumer per topic: once a consumer has an assignment, aiokafka refreshes metadata only
    for the assigned topics, so `partitions_for_topic(other)` would answer None (and the topic
    would look empty)."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                                max_partition_fetch_bytes=8 << 20)
    await consumer.start()
    try:
        await consumer._client.force_metadata_update()
        partitions = consumer.partitions_for_topic(topic)
        if not partitions:
            raise RuntimeError(f"no partitions known for {topic}")
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        consumer.assign(tps)
        lower = await consumer.end_offsets(tps)
        ends = {tp: 0 for tp in tps}
        for tp in tps:
            consumer.seek(tp, max(0, lower[tp] - 1))
        deadline = time.monotonic() + 60
        while any(ends[tp] < lower[tp] for tp in tps):
            batch = await consumer.getmany(*tps, timeout_ms=300, max_records=20_000)
            for tp, records in batch.items():
                ends[tp] = max(ends[tp], records[-1].offset + 1)
            if time.monotonic() > deadline:
                raise TimeoutError(f"could not read {topic} to its end")
        return {tp.partition: n for tp, n in ends.items()}
    finally:
        await consumer.stop()


async def uncommitted(member, ends: dict[str, dict[int, int]]) -> int:
    """Records of `ends` the group (whose id `member` carries) has not committed yet."""
    from aiokafka import TopicPartition

    left = 0
    for topic, per_partition in ends.items():
        for p, end in per_partition.items():
            done = await member.committed(TopicPartition(topic, p)) or 0
            left += max(0, end - done)
    return left


# ------------------------------------------------------------------------------------ the bench
class Bench:
    def __init__(self, args, folder: Path) -> None:
        self.args = args
        self.folder = folder
        self.run = uuid.uuid4().hex[:6]
        self.conversations = 0
        self.produced = 0

    def build(self, conversations: int) -> list[tuple[str, object, str, str]]:
        """The next `conversations` x 4 events as (topic, payload, key, event id), built before timing."""
        now = datetime.now(UTC)
        out = []
        for _ in range(conversations):
            n = self.conversations = self.conversations + 1
            for i, (logical, payload) in enumerate(conversation_events(self.run, n, now)):
                out.append((self.topics.of(logical), payload, payload.conversation.conversation_id,
                            f"{self.run}-{n}-{i}"))
        return out

    async def produce(self, events: list[tuple[str, object, str, str]]) -> float:
        """Produces the events at once (acks=all, batched); returns the seconds it took."""
        started = time.perf_counter()
        for topic, payload, key, event_id in events:
            await self.producer.publish(topic, payload, key=key, event_id=event_id)
        await self.producer.drain()
        self.produced += len(events)
        return time.perf_counter() - started

    async def drained(self, timeout: float) -> float:
        """Waits until the analytics group committed everything on both topics; returns time.perf_counter()."""
        ends = {topic: await partition_ends(self.bootstrap, topic)
                for topic in (self.topics.conversations, self.topics.sla)}
        expected = sum(sum(per.values()) for per in ends.values())
        if expected != self.produced:
            raise RuntimeError(f"the topics hold {expected} records, {self.produced} were produced")
        deadline = time.monotonic() + timeout
        last_log = time.monotonic()
        while True:
            left = await uncommitted(self.member, ends)
            if left == 0:
                return time.perf_counter()
            if time.monotonic() > deadline:
                raise TimeoutError(f"analytics left {left} records uncommitted after {timeout:.0f}s; see "
                                   f"{self.folder / 'analytics.log'}")
            if time.monotonic() - last_log > 10:
                last_log = time.monotonic()
                say(f"    ... {left} records not committed yet")
            await asyncio.sleep(0.1)

    def scrape(self, port: int) -> tuple[float, str]:
        started = time.perf_counter()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30) as response:
            body = response.read().decode()
        return (time.perf_counter() - started) * 1000, body

    def _start_analytics(self, folder: Path, kafka, mongo_uri: str, namespace: str):
        """analytics as a real process on the bench's broker and store; returns it and its HTTP port."""
        from switchboard.common import processes

        port = processes.free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHBOARD_")}
        env.update(SERVICE_ENV)
        env.update({"SWITCHBOARD_KAFKA__BOOTSTRAP_SERVERS": self.bootstrap,
                    "SWITCHBOARD_KAFKA__TOPIC_PREFIX": kafka.topic_prefix,
                    "SWITCHBOARD_MONGO__URI": mongo_uri, "SWITCHBOARD_MONGO__DATABASE": namespace,
                    "SWITCHBOARD_HTTP__HOST": "127.0.0.1", "SWITCHBOARD_HTTP__PORT": str(port)})
        service = processes.ManagedProcess("analytics", [sys.executable, "-m", "switchboard.analytics.entrypoint"],
                                           port, folder / "analytics.log", env=env)
        return service, port

    async def _backlog(self, pids: dict[str, int]) -> dict:
        """Warm-up, then the whole backlog produced at once and timed until the group committed it."""
        say("warm-up (group join, first batches)")
        warm_events = self.build(50)
        await self.produce(warm_events)
        await self.drained(90)
        conversations = max(1, self.args.events // 4)
        say(f"backlog: {conversations * 4} events ({conversations} conversations)")
        backlog = self.build(conversations)
        cpu_before = {name: proc_stat(pid)[0] for name, pid in pids.items()}
        started = time.perf_counter()
        produced_s = await self.produce(backlog)
        events = len(backlog)
        elapsed = await self.drained(self.args.timeout) - started
        busy = {name: round((proc_stat(pid)[0] - cpu_before[name]) / elapsed, 2) for name, pid in pids.items()}
        rate = events / elapsed
        say(f"  {events} events produced in {produced_s:.2f}s, all committed after {elapsed:.2f}s -> "
            f"{rate:.0f} events/s; CPU cores busy {busy}")
        return {"events": events, "conversations": conversations, "warm_up_events": len(warm_events),
                "events_projected_per_s": round(rate), "backlog_produced_s": round(produced_s, 2),
                "backlog_committed_s": round(elapsed, 2), "cpu_cores_busy": json.dumps(busy, sort_keys=True)}

    async def _scrapes(self, port: int) -> dict:
        """GET /metrics with the backlog open: time, size, samples, and that the backlog gauges add up."""
        say(f"/metrics with {self.conversations} open conversations, {self.args.scrapes} scrapes")
        await asyncio.to_thread(self.scrape, port)  # first scrape: imports, caches
        timings, body = [], ""
        for _ in range(self.args.scrapes):
            ms, body = await asyncio.to_thread(self.scrape, port)
            timings.append(ms)
        samples = [line for line in body.splitlines() if line and not line.startswith("#")]
        analytics_samples = [s for s in samples if s.startswith("switchboard_") and
                             not s.startswith("switchboard_bus_")]
        open_in_gauges = sum(float(s.rsplit(" ", 1)[1]) for s in samples
                             if s.startswith("switchboard_backlog_conversations{"))
        say(f"  p50 {percentile(timings, 50):.1f} ms, max {max(timings):.1f} ms, {len(body)} bytes, "
            f"{len(samples)} samples; backlog gauges add up to {open_in_gauges:.0f} open conversations")
        batches = batch_stats(body, self.topics.conversations)
        say(f"  consumed batches: {batches}")
        return {"open_conversations": self.conversations, "open_conversations_in_gauges": round(open_in_gauges),
                "metrics_scrapes": len(timings), "metrics_scrape_ms_p50": round(percentile(timings, 50), 1),
                "metrics_scrape_ms_max": round(max(timings), 1), "metrics_bytes": len(body),
                "metrics_samples": len(samples), "metrics_analytics_samples": len(analytics_samples), **batches}

    async def main(self) -> dict:
        from aiokafka import AIOKafkaConsumer
        from switchboard.common import processes
        from switchboard.common.admin import ensure_topics
        from switchboard.common.producer import EventProducer
        from switchboard.common.settings import KafkaSettings
        from switchboard.common.topics import TopicNames

        folder = self.folder
        broker = processes.broker(processes.free_port(), folder).start()
        mongo = processes.mongo(processes.free_port(), folder / "bench.db", folder).start()
        service = None
        self.producer = self.member = None
        try:
            namespace = "bench" + self.run
            self.bootstrap = f"127.0.0.1:{broker.port}"
            kafka = KafkaSettings(bootstrap_servers=self.bootstrap, topic_prefix=f"{namespace}.", linger_ms=5)
            self.topics = TopicNames(kafka.topic_prefix)
            await ensure_topics(kafka, self.topics)
            mongo_uri = processes.mongo_uri(mongo.port)
            ceiling = await mongo_ceiling(mongo_uri, namespace)
            say(f"nx-27017 insert_many ceiling: {ceiling} docs/s")
            service, port = self._start_analytics(folder, kafka, mongo_uri, namespace)
            await asyncio.to_thread(service.start, 90, lambda: http_ready(port))
            pids = {"analytics": service.proc.pid, "nx-27017": mongo.proc.pid, "tansu": broker.proc.pid,
                    "bench": os.getpid()}
            self.producer = EventProducer(kafka, source="/bench/analytics")
            await self.producer.start()
            # Not subscribed: only reads the group's committed offsets (OffsetFetch), never joins it.
            self.member = AIOKafkaConsumer(bootstrap_servers=self.bootstrap,
                                           group_id=f"{kafka.topic_prefix}analytics", enable_auto_commit=False)
            await self.member.start()
            backlog = await self._backlog(pids)
            scrapes = await self._scrapes(port)
            _, hwm = proc_stat(service.proc.pid)
            say("pure projection (no I/O) over the same events, in this process")
            pure = projection_only(self.run, backlog["conversations"])
            say(f"  {pure:.0f} events/s")
            return {"benchmark": "analytics_projection", **backlog, **scrapes,
                    "projection_only_events_per_s": round(pure), **run_context(hwm, ceiling)}
        except BaseException:
            log = folder / "analytics.log"
            if log.exists():
                say(f"analytics log (tail):\n{log.read_text(errors='replace')[-3000:]}")
            raise
        finally:
            for client in (self.member, self.producer):
                if client is not None:
                    await client.stop()
            if service is not None:
                await asyncio.to_thread(service.stop)
            mongo.stop()
            broker.stop()


def batch_stats(metrics_text: str, topic: str) -> dict:
    """How analytics consumed (warm-up included): records, batches, mean records per batch, mean time
    per batch (decode + projection + bulk_write + commit; from the handler histogram of `topic`,
    which is observed once per partition in a batch, so it is a partition-weighted mean)."""
    from prometheus_client.parser import text_string_to_metric_families

    sums: dict[str, float] = {}
    for family in text_string_to_metric_families(metrics_text):
        for sample in family.samples:
            if sample.name == "switchboard_bus_records_consumed_total":
                sums["consumed"] = sums.get("consumed", 0.0) + sample.value
            elif sample.name in ("switchboard_bus_batch_records_sum", "switchboard_bus_batch_records_count"):
                sums[sample.name] = sums.get(sample.name, 0.0) + sample.value
            elif (sample.name.startswith("switchboard_bus_handler_duration_seconds_")
                  and sample.labels.get("topic") == topic and sample.name.endswith(("_sum", "_count"))):
                suffix = sample.name.rsplit("_", 1)[1]
                sums[suffix] = sums.get(suffix, 0.0) + sample.value
    count = sums.get("switchboard_bus_batch_records_count") or 0
    return {"records_consumed": int(sums.get("consumed", 0)), "consumed_batches": int(count),
            "mean_batch_records": round(sums.get("switchboard_bus_batch_records_sum", 0) / count, 1) if count else None,
            "mean_batch_ms": round(1000 * sums["sum"] / sums["count"], 1) if sums.get("count") else None}


def projection_only(run: str, conversations: int, batch: int = 500) -> float:
    """Events/s of decoding + the pure projection + backlog index (what analytics does per batch, minus I/O)."""
    from switchboard.analytics.adapters.codec import decode_payload
    from switchboard.analytics.domain.backlog import BacklogIndex
    from switchboard.analytics.domain.labels import LabelGuard, Labeller
    from switchboard.analytics.domain.projection import Projection

    now = datetime.now(UTC)
    events = [payload for n in range(1, conversations + 1) for _, payload in conversation_events(run, n, now)]
    labeller = Labeller(brands=LabelGuard(200), queues=LabelGuard(100))
    backlog = BacklogIndex(labeller, 0.25)
    projection = Projection(labeller, on_change=backlog.update)
    started = time.perf_counter()
    for i in range(0, len(events), batch):
        projection.commit(projection.apply_batch(decode_payload(event) for event in events[i:i + batch]))
    return len(events) / (time.perf_counter() - started)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python benchmarks/analytics.py", description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000, help="events in the backlog (4 per conversation)")
    parser.add_argument("--scrapes", type=int, default=10, help="GET /metrics this often after the backlog")
    parser.add_argument("--timeout", type=float, default=150.0, help="longest wait for the backlog")
    args = parser.parse_args(argv)
    return print_result(lambda tmp: Bench(args, tmp).main(), "analytics-bench-")


if __name__ == "__main__":
    raise SystemExit(main())
