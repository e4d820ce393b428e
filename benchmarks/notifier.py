"""Notifier benchmark: customer messages delivered per second, intent -> delivery latency, escalations/s.

    python benchmarks/notifier.py [--messages 2000] [--escalations 300] [--latency-seconds 20]
                                         [--profile DIR]

Starts its own Tansu broker, nx-27017 (SQLite file) and a real aiohttp receiver on 127.0.0.1 (in
its own thread, so the bench's own work never delays an answer), and runs the notifier as a real
process (`python -m switchboard.notifier.entrypoint`) with the production notifier.yaml
(config/default: pool sizes, timeouts, retry, scheduler) whose provider URLs and Slack webhook
point at the receiver. Then:

0. warm-up: 50 messages and 10 escalations (group join, HTTP connections);
1. escalations on a small outbox: `--escalations` EscalationRaised (level 1 -> the `ops-slack`
   Slack incoming webhook) produced at once; escalations/s = backlog / time until every one
   arrived at the receiver AND its DeliveryRecorded is on the deliveries topic;
2. customer messages: a backlog of `--messages` NotificationRequested records (literal-text agent
   replies to Telegram chats, Bot API `sendMessage`) produced at once with the shared
   EventProducer; deliveries/s measured the same way;
3. latency at 50% of that rate for `--latency-seconds`: the record's ce_time -> its arrival at the
   receiver (p50/p99/max);
4. escalations again, now that the outbox holds every earlier entry (`escalations_per_s`): the
   notifier keeps finished entries, and its outbox scans cost more as it grows (compare with 1).

Also reported: the notifier's peak RSS (VmHWM), CPU seconds of the notifier and nx-27017 per
phase (where the time goes), and nx-27017's own insert_many ceiling in the same run (every figure
here goes through its outbox in nx-27017). Progress on stderr; one JSON object last on stdout.
With --profile DIR, py-spy records the notifier and nx-27017 during phases 1, 2 and 4 (collapsed
stacks in DIR, top self-time frames in the JSON).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml
from switchboard.common.testing.benchkit import (
    http_ready,
    mongo_ceiling,
    percentile,
    print_result,
    proc_stat,
    run_context,
    say,
    self_time,
)

# The production pool sizes; `make bench` runs from the repository root. --config names another file.
DEFAULT_CONFIG = Path("config/default/notifier.yaml")
BRAND = "bench"
TELEGRAM_TOKEN = "1234:bench-token"
SLACK_PATH = "/slack/ops"
# Production-like client settings; group timings shortened for Tansu (joins take ~half the session).
SERVICE_ENV = {"SWITCHBOARD_KAFKA__LINGER_MS": "5", "SWITCHBOARD_KAFKA__SESSION_TIMEOUT_MS": "1500",
               "SWITCHBOARD_KAFKA__HEARTBEAT_INTERVAL_MS": "300", "SWITCHBOARD_KAFKA__CREATE_TOPICS": "false",
               "SWITCHBOARD_CONSUMER__POLL_TIMEOUT_MS": "200", "SWITCHBOARD_LOG_LEVEL": "WARNING"}


# ------------------------------------------------------------------------------------ the receiver
class Receiver:
    """A real HTTP server standing in for the Telegram Bot API and a Slack incoming webhook.

    Runs in its own thread and event loop. Records the first arrival time of each Idempotency-Key
    (the notifier's outbox id, `<intent_id>|<destination>`); repeats are counted as resends.
    """

    def __init__(self, port: int) -> None:
        self.port = port
        self.arrived: dict[str, float] = {}
        self.by_prefix: dict[str, int] = {}
        self.resends = 0
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._started = threading.Event()

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _handle(self, request):
        from aiohttp import web

        await request.read()
        now = time.time()
        key = request.headers.get("Idempotency-Key", "")
        prefix = "/" + request.path.split("/")[1]
        with self._lock:
            if key in self.arrived:
                self.resends += 1
            else:
                self.arrived[key] = now
                self.by_prefix[prefix] = self.by_prefix.get(prefix, 0) + 1
            n = len(self.arrived)
        if prefix == "/telegram":
            return web.json_response({"ok": True, "result": {"message_id": n}})
        return web.Response(text="ok")  # what a Slack incoming webhook answers

    def _run(self) -> None:
        from aiohttp import web

        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        app = web.Application()
        app.router.add_route("POST", "/{tail:.*}", self._handle)
        runner = web.AppRunner(app, access_log=None)
        loop.run_until_complete(runner.setup())
        loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", self.port, backlog=1024).start())
        self._started.set()
        loop.run_forever()
        loop.run_until_complete(runner.cleanup())
        loop.close()

    def start(self) -> Receiver:
        self._thread = threading.Thread(target=self._run, name="bench-receiver", daemon=True)
        self._thread.start()
        if not self._started.wait(10):
            raise TimeoutError("receiver did not start")
        return self

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)

    def count(self, keys: list[str]) -> int:
        with self._lock:
            return sum(1 for k in keys if k in self.arrived)

    def times(self, keys: list[str]) -> dict[str, float]:
        with self._lock:
            return {k: self.arrived[k] for k in keys if k in self.arrived}


# ------------------------------------------------------------------------------------ deliveries topic
class DeliveryWatcher:
    """Reads the deliveries topic from the beginning (no group) and notes each intent's DeliveryRecorded."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.bootstrap, self.topic = bootstrap, topic
        self.recorded: dict[str, tuple[float, int]] = {}  # intent id -> (arrival, outcome)
        self._task: asyncio.Task | None = None
        self._consumer = None

    async def start(self) -> None:
        from aiokafka import AIOKafkaConsumer, TopicPartition

        self._consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, enable_auto_commit=False)
        await self._consumer.start()
        await self._consumer._client.force_metadata_update()
        partitions = self._consumer.partitions_for_topic(self.topic) or set()
        if not partitions:
            raise RuntimeError(f"topic {self.topic} does not exist")
        tps = [TopicPartition(self.topic, p) for p in sorted(partitions)]
        self._consumer.assign(tps)
        await self._consumer.seek_to_beginning(*tps)
        self._task = asyncio.create_task(self._watch())

    async def _watch(self) -> None:
        from switchboard.events.v1 import notification_pb2

        while True:
            batch = await self._consumer.getmany(timeout_ms=100, max_records=5000)
            now = time.time()
            for records in batch.values():
                for r in records:
                    event = notification_pb2.DeliveryRecorded.FromString(r.value)
                    self.recorded.setdefault(event.intent_id, (now, event.outcome))

    def count(self, intents: list[str]) -> int:
        return sum(1 for i in intents if i in self.recorded)

    def outcomes(self, intents: list[str]) -> dict[str, int]:
        from switchboard.events.v1 import notification_pb2

        out: dict[str, int] = {}
        for i in intents:
            if i in self.recorded:
                name = notification_pb2.DeliveryOutcome.Name(self.recorded[i][1]).removeprefix("DELIVERY_OUTCOME_")
                out[name.lower()] = out.get(name.lower(), 0) + 1
        return out

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        if self._consumer is not None:
            await self._consumer.stop()


# ------------------------------------------------------------------------------------ the process
def write_config(folder: Path, receiver: str, source: Path = DEFAULT_CONFIG) -> tuple[Path, Path, dict]:
    """`source` (config/default/notifier.yaml) with every endpoint on the local receiver; the secrets file."""
    config = yaml.safe_load(source.read_text())
    config["public_base_url"] = "http://127.0.0.1:8080"
    for channel, endpoint in config["customer_channels"].items():
        endpoint["base_url"] = f"{receiver}/{endpoint['api'] if endpoint['api'] != 'webhook' else channel}"
    config["smtp"].update(host="127.0.0.1", port=2, starttls=False, username_secret=None, password_secret=None)
    (folder / "notifier.yaml").write_text(yaml.safe_dump(config))
    secrets = {"global": {"telegram_bot_token": TELEGRAM_TOKEN, "slack_ops_webhook_url": receiver + SLACK_PATH,
                          "slack_leads_webhook_url": receiver + "/slack/leads", "crm_webhook_url": receiver + "/crm",
                          "crm_webhook_signing_secret": "bench-signing-key"}, "brands": {}}
    (folder / "secrets.yaml").write_text(yaml.safe_dump(secrets))
    return folder, folder / "secrets.yaml", config


# ------------------------------------------------------------------------------------ traffic
def customer_message(run: str, n: int):
    from switchboard.events.v1 import common_pb2, notification_pb2

    chat = str(700_000_000 + n)
    conversation = common_pb2.ConversationSnapshot(
        conversation_id=f"{run}-c{n}", customer_id=f"{run}-cu{n}", channel=common_pb2.CHANNEL_TELEGRAM,
        language="en", customer_name="Ana", status=common_pb2.CONVERSATION_STATUS_ASSIGNED,
        reply_handle=common_pb2.ContactHandle(kind=common_pb2.HANDLE_KIND_TELEGRAM_ID, value=chat))
    return notification_pb2.NotificationRequested(
        brand_id=BRAND, intent_id=f"{run}-m{n}", kind=notification_pb2.NOTIFICATION_KIND_AGENT_REPLY,
        conversation=conversation, language="en", channel=common_pb2.CHANNEL_TELEGRAM,
        text=f"Hi Ana, your order A-{1000 + n} left our warehouse today; tracking follows by email.",
        recipient=common_pb2.ContactHandle(kind=common_pb2.HANDLE_KIND_TELEGRAM_ID, value=chat))


def escalation(run: str, n: int):
    from google.protobuf.timestamp_pb2 import Timestamp
    from switchboard.events.v1 import common_pb2, escalation_pb2, sla_pb2

    now = datetime.now(UTC)

    def ts(dt: datetime) -> Timestamp:
        out = Timestamp()
        out.FromDatetime(dt)
        return out

    conversation = common_pb2.ConversationSnapshot(
        conversation_id=f"{run}-e{n}", customer_id=f"{run}-cu{n}", channel=common_pb2.CHANNEL_CHAT,
        language="en", customer_name="Ana", queue="returns", priority=common_pb2.PRIORITY_HIGH,
        status=common_pb2.CONVERSATION_STATUS_QUEUED)
    return escalation_pb2.EscalationRaised(
        brand_id=BRAND, escalation_id=f"{run}-e{n}:FIRST_RESPONSE:1:1", conversation=conversation, level=1,
        level_name="assignee", reason=escalation_pb2.ESCALATION_REASON_SLA_BREACHED,
        metric=sla_pb2.SLA_METRIC_FIRST_RESPONSE, instance=1, deadline=ts(now - timedelta(seconds=95)),
        breached_at=ts(now - timedelta(seconds=95)), raised_at=ts(now), target_seconds=120,
        recipients=["{assignee}"])


class Bench:
    def __init__(self, args, folder: Path) -> None:
        self.args = args
        self.folder = folder
        self.run = uuid.uuid4().hex[:6]
        self.sent_at: dict[str, float] = {}  # outbox id (= Idempotency-Key) -> ce_time
        self.n = 0
        self.pids: dict[str, int] = {}
        self.profiles: dict[str, list[str]] = {}

    async def publish_messages(self, count: int, rate: float | None = None) -> tuple[list[str], list[str]]:
        """Publishes `count` customer messages (at `rate` per second, or at once). Returns (keys, intents)."""
        keys, intents = [], []
        started = time.perf_counter()
        for i in range(count):
            if rate:
                delay = started + i / rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
            n = self.n = self.n + 1
            request = customer_message(self.run, n)
            now = datetime.now(UTC)
            key = f"{request.intent_id}|telegram:telegram"
            self.sent_at[key] = now.timestamp()
            await self.producer.publish(self.topics.notifications, request, key=request.conversation.conversation_id,
                                        event_id=f"{self.run}-req-{n}", time=now)
            keys.append(key)
            intents.append(request.intent_id)
        await self.producer.drain()
        return keys, intents

    async def publish_escalations(self, count: int) -> tuple[list[str], list[str]]:
        keys, intents = [], []
        for _ in range(count):
            n = self.n = self.n + 1
            event = escalation(self.run, n)
            now = datetime.now(UTC)
            key = f"{event.escalation_id}|slack:ops-slack"
            self.sent_at[key] = now.timestamp()
            await self.producer.publish(self.topics.escalations, event, key=event.conversation.conversation_id,
                                        event_id=f"{self.run}-esc-{n}", time=now)
            keys.append(key)
            intents.append(event.escalation_id)
        await self.producer.drain()
        return keys, intents

    async def wait_done(self, keys: list[str], intents: list[str], timeout: float, what: str) -> tuple[float, float]:
        """Waits until every key arrived at the receiver and every intent has its DeliveryRecorded.
        Returns the wall-clock times (time.time()) of the last arrival and of the last record."""
        deadline = time.monotonic() + timeout
        last_log = time.monotonic()
        while True:
            arrived, recorded = self.receiver.count(keys), self.watcher.count(intents)
            if arrived >= len(keys) and recorded >= len(intents):
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"{what}: {arrived}/{len(keys)} arrived, {recorded}/{len(intents)} "
                                   f"DeliveryRecorded within {timeout:.0f}s; see {self.folder / 'notifier.log'}")
            if time.monotonic() - last_log > 10:
                last_log = time.monotonic()
                say(f"    ... {arrived}/{len(keys)} arrived, {recorded}/{len(intents)} recorded")
            await asyncio.sleep(0.05)
        arrivals = self.receiver.times(keys)
        return max(arrivals.values()), max(self.watcher.recorded[i][0] for i in intents)

    def cpu(self) -> dict[str, float]:
        return {name: proc_stat(pid)[0] for name, pid in self.pids.items()}

    def profile(self, phase: str, seconds: float) -> list[tuple[str, subprocess.Popen]]:
        """py-spy on the notifier and on nx-27017 (a Python process too) for one phase."""
        if self.args.profile is None:
            return []
        self.args.profile.mkdir(parents=True, exist_ok=True)
        spy = str(Path(sys.executable).parent / "py-spy")
        return [(name, subprocess.Popen([spy, "record", "--pid", str(self.pids[name]), "--duration",
                                         str(max(1, int(seconds))), "--rate", "100", "--format", "raw", "--output",
                                         str(self.args.profile / f"{name}-{phase}.txt"), "--nonblocking"],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
                for name in ("notifier", "nx-27017")]

    def profile_summary(self, phase: str, spies: list[tuple[str, subprocess.Popen]], top: int = 6) -> None:
        for name, spy in spies:
            spy.send_signal(signal.SIGINT)  # the phase is over: py-spy writes what it sampled and exits
            try:
                spy.wait(30)
            except subprocess.TimeoutExpired:
                spy.kill()
            path = self.args.profile / f"{name}-{phase}.txt"
            if not path.exists():
                continue
            self.profiles[f"{name} {phase}"] = self_time(path, top)

    async def burst(self, name: str, publish, count: int, timeout: float) -> dict:
        cpu_before = self.cpu()
        spy = self.profile(name, timeout) if not name.startswith("warm-up") else []
        started = time.time()
        keys, intents = await publish(count)
        produced = time.time() - started
        last_arrival, last_record = await self.wait_done(keys, intents, timeout, name)
        self.profile_summary(name, spy)
        elapsed = max(last_arrival, last_record) - started
        busy = {k: round((v - cpu_before[k]) / elapsed, 2) for k, v in self.cpu().items()}
        outcomes = self.watcher.outcomes(intents)
        say(f"  {name}: {count} produced in {produced:.2f}s, all delivered after {last_arrival - started:.2f}s, "
            f"all recorded after {last_record - started:.2f}s -> {count / elapsed:.1f}/s; outcomes {outcomes}; "
            f"CPU cores busy {busy}")
        return {"count": count, "rate": count / elapsed, "produced_s": produced, "arrived_s": last_arrival - started,
                "recorded_s": last_record - started, "outcomes": outcomes, "busy": busy}

    async def paced(self, rate: float, seconds: float) -> dict:
        count = max(20, int(rate * seconds))
        keys, intents = await self.publish_messages(count, rate)
        await self.wait_done(keys, intents, 120, "paced run")
        arrivals = self.receiver.times(keys)
        latencies = [(arrivals[k] - self.sent_at[k]) * 1000 for k in keys]
        return {"count": count, "p50": percentile(latencies, 50), "p99": percentile(latencies, 99),
                "max": max(latencies)}

    async def main(self) -> dict:
        from switchboard.common import processes
        from switchboard.common.admin import ensure_topics
        from switchboard.common.producer import EventProducer
        from switchboard.common.settings import KafkaSettings
        from switchboard.common.topics import TopicNames

        folder, args = self.folder, self.args
        broker = processes.broker(processes.free_port(), folder).start()
        mongo = processes.mongo(processes.free_port(), folder / "bench.db", folder).start()
        self.receiver = Receiver(processes.free_port()).start()
        service = None
        self.producer = None
        self.watcher = None
        try:
            namespace = "bench" + self.run
            bootstrap = f"127.0.0.1:{broker.port}"
            kafka = KafkaSettings(bootstrap_servers=bootstrap, topic_prefix=f"{namespace}.", linger_ms=5)
            self.topics = TopicNames(kafka.topic_prefix)
            await ensure_topics(kafka, self.topics)
            mongo_uri = processes.mongo_uri(mongo.port)
            ceiling = await mongo_ceiling(mongo_uri, namespace)
            say(f"nx-27017 insert_many ceiling: {ceiling} docs/s")
            config_dir, secrets_file, config = write_config(folder, self.receiver.origin, self.args.config)
            port = processes.free_port()
            env = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHBOARD_")}
            env.update(SERVICE_ENV)
            env.update({"SWITCHBOARD_KAFKA__BOOTSTRAP_SERVERS": bootstrap,
                        "SWITCHBOARD_KAFKA__TOPIC_PREFIX": kafka.topic_prefix,
                        "SWITCHBOARD_MONGO__URI": mongo_uri, "SWITCHBOARD_MONGO__DATABASE": namespace,
                        "SWITCHBOARD_HTTP__HOST": "127.0.0.1", "SWITCHBOARD_HTTP__PORT": str(port),
                        "SWITCHBOARD_CONFIG_DIR": str(config_dir), "SWITCHBOARD_SECRETS_FILE": str(secrets_file)})
            service = processes.ManagedProcess("notifier", [sys.executable, "-m", "switchboard.notifier.entrypoint"],
                                               port, folder / "notifier.log", env=env)
            await asyncio.to_thread(service.start, 90, lambda: http_ready(port))
            self.pids = {"notifier": service.proc.pid, "nx-27017": mongo.proc.pid, "tansu": broker.proc.pid,
                         "bench": os.getpid()}
            self.producer = EventProducer(kafka, source="/bench/notifier")
            await self.producer.start()
            self.watcher = DeliveryWatcher(bootstrap, self.topics.deliveries)
            await self.watcher.start()

            say("warm-up (group join, connections)")
            await self.burst("warm-up messages", self.publish_messages, 50, 90)
            await self.burst("warm-up escalations", self.publish_escalations, 10, 90)
            say(f"escalations on a small outbox ({self.n} entries): backlog of {args.escalations}")
            fresh_outbox = self.n
            escalations_fresh = await self.burst("escalations-small-outbox", self.publish_escalations,
                                                 args.escalations, args.timeout)
            say(f"customer messages: backlog of {args.messages}")
            messages = await self.burst("messages", self.publish_messages, args.messages, args.timeout)
            rate = messages["rate"] / 2
            say(f"latency at 50%: {rate:.1f} messages/s for {args.latency_seconds:.0f}s")
            latency = await self.paced(rate, args.latency_seconds)
            say(f"  p50 {latency['p50']:.0f} ms, p99 {latency['p99']:.0f} ms, max {latency['max']:.0f} ms")
            say(f"escalations on a bigger outbox ({self.n} entries): backlog of {args.escalations}")
            big_outbox = self.n
            escalations = await self.burst("escalations", self.publish_escalations, args.escalations, args.timeout)
            _, hwm = proc_stat(service.proc.pid)
            telegram = config["customer_channels"]["telegram"]
            slack = next(d for d in config["destinations"] if d["id"] == "ops-slack")
            return {
                "benchmark": "notifier_deliveries",
                "customer_messages": args.messages,
                "customer_deliveries_per_s": round(messages["rate"], 1),
                "customer_all_delivered_s": round(messages["arrived_s"], 2),
                "customer_all_recorded_s": round(messages["recorded_s"], 2),
                "customer_outcomes": json.dumps(messages["outcomes"], sort_keys=True),
                "latency_rate_per_s": round(rate, 1),
                "latency_messages": latency["count"],
                "intent_to_delivery_ms_p50": round(latency["p50"], 1),
                "intent_to_delivery_ms_p99": round(latency["p99"], 1),
                "intent_to_delivery_ms_max": round(latency["max"], 1),
                "escalations": args.escalations,
                "escalations_per_s_small_outbox": round(escalations_fresh["rate"], 1),
                "outbox_entries_small": fresh_outbox,
                "escalations_per_s": round(escalations["rate"], 1),
                "outbox_entries_before_escalations": big_outbox,
                "escalations_all_delivered_s": round(escalations["arrived_s"], 2),
                "escalations_all_recorded_s": round(escalations["recorded_s"], 2),
                "escalation_outcomes": json.dumps(escalations["outcomes"], sort_keys=True),
                "telegram_pool_concurrency": telegram.get("concurrency", 8),
                "slack_pool_concurrency": slack.get("concurrency", 4),
                "receiver_resends": self.receiver.resends,
                "cpu_cores_busy_messages": json.dumps(messages["busy"], sort_keys=True),
                "cpu_cores_busy_escalations": json.dumps(escalations["busy"], sort_keys=True),
                **run_context(hwm, ceiling),
                **({"profile_self_time": json.dumps(self.profiles)} if self.profiles else {}),
            }
        except BaseException:
            log = folder / "notifier.log"
            if log.exists():
                say(f"notifier log (tail):\n{log.read_text(errors='replace')[-3000:]}")
            raise
        finally:
            if self.watcher is not None:
                await self.watcher.stop()
            if self.producer is not None:
                await self.producer.stop()
            if service is not None:
                await asyncio.to_thread(service.stop)
            self.receiver.stop()
            mongo.stop()
            broker.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python benchmarks/notifier.py", description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000, help="customer messages in the backlog")
    parser.add_argument("--escalations", type=int, default=300, help="escalations in the backlog")
    parser.add_argument("--latency-seconds", type=float, default=20.0, help="length of the paced run")
    parser.add_argument("--timeout", type=float, default=120.0, help="longest wait for one backlog")
    parser.add_argument("--profile", type=Path, default=None, help="py-spy the notifier; collapsed stacks here")
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help="the notifier.yaml to measure")
    args = parser.parse_args(argv)
    return print_result(lambda tmp: Bench(args, tmp).main(), "notifier-bench-")


if __name__ == "__main__":
    raise SystemExit(main())
