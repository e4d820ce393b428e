"""The stack under traffic, scraped by a real Prometheus (Debian package).

Every service runs as a real process (analytics is required; ingest, router, sla and notifier are
started too when they come up). Real traffic goes through ingest's chat and agent APIs for brand
acme; synthetic events for brand globex cover what that traffic cannot (phone, escalations,
failed deliveries, a poison record). Then:
  * every dashboard panel query, every dashboard variable and every recording rule returns data;
  * every service's /metrics page passes `promtool check metrics`;
  * analytics is killed (kill -9) and restarted: straight after start-up its backlog gauges for
    acme equal the open conversations in the router's `conversations` collection.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import subprocess
import sys
import time
import urllib.parse
import urllib.request
import warnings
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import yaml
from aiohttp import web
from aiokafka import AIOKafkaProducer
from aiosmtpd.controller import Controller
from pymongo import AsyncMongoClient
from switchboard.common import processes
from switchboard.common.admin import ensure_topics
from switchboard.common.producer import EventProducer
from switchboard.common.testing import wait_for
from switchboard.common.testing.plugin import make_test_settings, settings_env
from switchboard.common.topics import TopicNames
from switchboard.events.v1 import common_pb2, conversation_pb2, notification_pb2, sla_pb2

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "unit" / "analytics"))
from analytics_events import conversation, delivery, escalation, fulfilled, sla  # noqa: E402

PROMETHEUS, PROMTOOL = shutil.which("prometheus"), shutil.which("promtool")
OPTIONAL = ("ingest", "router", "sla", "notifier")
AGENT_KEY = "e2e-prometheus-agent-key"

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not (PROMETHEUS and PROMTOOL), reason="apt-get install prometheus")]


# ------------------------------------------------------------------------------------------ helpers


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return response.status == 200
    except OSError:
        return False


def prom_query(port: int, expr: str) -> list:
    url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    with urllib.request.urlopen(url, timeout=10) as response:
        body = json.loads(response.read())
    assert body["status"] == "success", body
    return body["data"]["result"]


def expand(expr: str) -> str:
    """Grafana's variables as "All" and its default rate interval."""
    return expr.replace("$__rate_interval", "1m").replace("$brand", ".*").replace("$channel", ".*")


def dashboard_queries() -> list[tuple[str, str]]:
    out = []
    for path in sorted((REPO / "observability" / "dashboards").glob("*.json")):
        board = json.loads(path.read_text())
        panels = [p for top in board["panels"] for p in ([top] + top.get("panels", []))]
        for panel in panels:
            for target in panel.get("targets", []):
                out.append((f"{board['title']} / {panel['title']} / {target['refId']}", expand(target["expr"])))
        for var in board["templating"]["list"]:
            if var["type"] == "query":
                selector = re.match(r"label_values\((.*), (\w+)\)$", var["definition"])
                out.append(
                    (
                        f"{board['title']} / variable {var['name']}",
                        f"count by ({selector.group(2)}) ({expand(selector.group(1))})",
                    )
                )
    return out


def recording_rules() -> list[str]:
    names = []
    for path in sorted((REPO / "observability" / "rules").glob("*.yaml")):
        for group in yaml.safe_load(path.read_text())["groups"]:
            names += [r["record"] for r in group["rules"] if "record" in r and r["record"] not in names]
    return names


def backlog_from_page(text: str, brand: str) -> Counter:
    counts: Counter = Counter()
    for line in text.splitlines():
        if line.startswith("switchboard_backlog_conversations{"):
            labels = dict(re.findall(r'(\w+)="([^"]*)"', line))
            value = float(line.rsplit(" ", 1)[1])
            if labels["brand"] == brand and value:
                counts[(labels["channel"], labels["status"])] += value
    return counts


class Inbox:
    """SMTP and HTTP receivers for the notifier (customer emails, Slack, webhooks, providers)."""

    def __init__(self) -> None:
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        return "250 OK"

    async def receive(self, request: web.Request) -> web.Response:
        self.count += 1
        await request.read()
        return web.json_response({"ok": True, "id": f"m{self.count}"})


@pytest.fixture
async def inbox():
    box = Inbox()
    box.smtp_port = processes.free_port()
    controller = Controller(box, hostname="127.0.0.1", port=box.smtp_port)
    controller.start()
    app = web.Application()
    app.router.add_route("POST", "/{tail:.*}", box.receive)
    runner = web.AppRunner(app)
    await runner.setup()
    http_port = processes.free_port()
    await web.TCPSite(runner, "127.0.0.1", http_port).start()
    box.http_origin = f"http://127.0.0.1:{http_port}"
    yield box
    await runner.cleanup()
    controller.stop()


@pytest.fixture
def mongo(tmp_path):
    """Own nx-27017: with a file database it shares same-named collections across databases."""
    server = processes.mongo(processes.free_port(), tmp_path / "e2e.db", tmp_path).start()
    yield processes.mongo_uri(server.port)
    server.stop()


class Stack:
    def __init__(self, tmp_path: Path, bootstrap: str, mongo_uri: str, namespace: str, inbox: Inbox):
        self.tmp = tmp_path
        self.config_dir = tmp_path / "config"
        shutil.copytree(REPO / "config" / "demo", self.config_dir)
        secrets = yaml.safe_load((self.config_dir / "secrets.yaml").read_text()) or {}
        secrets.setdefault("brands", {}).setdefault("acme", {})["agent_api_keys"] = [AGENT_KEY]
        (self.config_dir / "secrets.yaml").write_text(yaml.safe_dump(secrets))
        self.bootstrap, self.mongo_uri, self.namespace, self.inbox = bootstrap, mongo_uri, namespace, inbox
        self.ports = {name: processes.free_port() for name in ("analytics", *OPTIONAL)}
        self.procs: dict[str, processes.ManagedProcess] = {}
        self.failed: dict[str, str] = {}

    def settings(self, name: str):
        return make_test_settings(
            self.bootstrap,
            self.mongo_uri,
            self.namespace,
            config_dir=self.config_dir,
            secrets_file=self.config_dir / "secrets.yaml",
            http={"host": "127.0.0.1", "port": self.ports[name]},
        )

    def start(self, name: str, required: bool) -> None:
        env = {
            "PATH": "/usr/bin:/bin",
            **settings_env(self.settings(name)),
            "SWITCHBOARD_PUBLIC_BASE_URL": f"http://127.0.0.1:{self.ports['ingest']}",
            "SWITCHBOARD_DEMO_INBOX_HTTP": self.inbox.http_origin,
            "SWITCHBOARD_DEMO_INBOX_SMTP_PORT": str(self.inbox.smtp_port),
        }
        proc = processes.ManagedProcess(
            name,
            [sys.executable, "-m", f"switchboard.{name}.entrypoint"],
            self.ports[name],
            self.tmp / f"{name}.log",
            env=env,
        )
        port = self.ports[name]
        try:
            self.procs[name] = proc.start(timeout=90, ready=lambda: http_ok(f"http://127.0.0.1:{port}/readyz"))
        except Exception as exc:
            if required:
                raise
            self.failed[name] = str(exc)
            warnings.warn(f"{name} did not start, not scraped: {exc}", stacklevel=2)

    def stop(self) -> None:
        for proc in reversed(list(self.procs.values())):
            proc.stop()


@pytest.fixture
def stack(tmp_path, kafka_bootstrap, mongo, namespace, inbox):
    s = Stack(tmp_path, kafka_bootstrap, mongo, namespace, inbox)
    yield s
    s.stop()


def start_prometheus(tmp_path: Path, targets: dict[str, int]) -> tuple[processes.ManagedProcess, int]:
    port = processes.free_port()
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s", "scrape_timeout": "900ms"},
        "rule_files": [str(REPO / "observability" / "rules" / "*.yaml")],
        "scrape_configs": [
            {"job_name": f"switchboard-{name}", "static_configs": [{"targets": [f"127.0.0.1:{p}"]}]}
            for name, p in targets.items()
        ],
    }
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    proc = processes.ManagedProcess(
        "prometheus",
        [
            PROMETHEUS,
            f"--config.file={tmp_path / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        port,
        tmp_path / "prometheus.log",
    )
    proc.start(timeout=30, ready=lambda: http_ok(f"http://127.0.0.1:{port}/-/ready"))
    return proc, port


# ------------------------------------------------------------------------------------------ traffic


async def chat_traffic(stack: Stack, conversations_topic: str) -> None:
    """Real conversations for brand acme through ingest -> router (-> sla, notifier, analytics)."""
    base = f"http://127.0.0.1:{stack.ports['ingest']}/v1/brands/acme"
    auth = {"Authorization": f"Bearer {AGENT_KEY}"}
    async with httpx.AsyncClient(timeout=15) as client:
        sessions = []
        for i in range(6):
            r = await client.post(
                f"{base}/chat/sessions",
                json={
                    "name": f"Customer {i}",
                    "email": f"customer{i}@example.com",
                    "language": "en",
                    "client_session_id": f"{stack.namespace}-s{i}",
                },
            )
            assert r.status_code == 201, r.text
            sessions.append(r.json()["session_id"])
            text = "I want to talk to a human agent please" if i % 2 else "Where is my order A-100?"
            r = await client.post(
                f"{base}/chat/sessions/{sessions[-1]}/messages", json={"client_message_id": f"m{i}", "text": text}
            )
            assert r.status_code == 202, r.text
        r = await client.post(
            f"{base}/forms/submissions",
            json={
                "submission_id": f"{stack.namespace}-f1",
                "email": "form@example.com",
                "subject": "Refund",
                "message": "I want my money back for order A-200",
            },
        )
        assert r.status_code == 202, r.text

        async def acme_conversations():
            client_db = AsyncMongoClient(stack.mongo_uri, tz_aware=True)
            try:
                docs = await client_db[stack.namespace]["conversations"].find({"brand_id": "acme"}).to_list()
                return docs if len(docs) >= 7 else None
            finally:
                await client_db.close()

        docs = await wait_for(acme_conversations, timeout=60, interval=0.5, message="router stored 7 conversations")
        ids = sorted(d["_id"] for d in docs)
        for n, conversation_id in enumerate(ids):
            path = f"{base}/agent/conversations/{conversation_id}"
            calls = []
            if n % 3 == 0:
                calls += [
                    ("assign", {"agent_id": "lead", "assignee_id": "alice"}),
                    ("reply", {"agent_id": "alice", "reply_id": f"r{n}", "text": "Your parcel is on its way."}),
                ]
            if n % 3 == 1:
                calls.append(("resolve", {"agent_id": "alice", "resolution_code": "answered"}))
            for action, body in calls:
                r = await client.post(f"{path}/{action}", json=body, headers=auth)
                assert r.status_code == 202, f"{action}: {r.status_code} {r.text}"
        for session in sessions[:3]:
            r = await client.post(f"{base}/chat/sessions/{session}/end", json={"ended_by": "customer"})
            assert r.status_code == 202, r.text


async def synthetic_wave(producer: EventProducer, topics: TopicNames, wave: int) -> None:
    """Brand globex events straight onto analytics' input topics (what sla/notifier would publish)."""
    now = datetime.now(UTC)
    g = {"brand": "globex"}
    for n, channel in enumerate((common_pb2.CHANNEL_EMAIL, common_pb2.CHANNEL_CHAT, common_pb2.CHANNEL_PHONE)):
        cid = f"g{wave}-{n}"
        kw = {**g, "channel": channel, "queue": "general"}
        q, a = common_pb2.CONVERSATION_STATUS_QUEUED, common_pb2.CONVERSATION_STATUS_ASSIGNED
        events = [
            conversation(
                "conversation_opened", cid, now - timedelta(minutes=5), status=common_pb2.CONVERSATION_STATUS_BOT, **kw
            ),
            conversation("customer_message_appended", cid, now, status=common_pb2.CONVERSATION_STATUS_BOT, **kw),
            conversation("bot_replied", cid, now, status=common_pb2.CONVERSATION_STATUS_BOT, **kw),
            conversation(
                "conversation_handed_off",
                cid,
                now,
                status=q,
                **kw,
                body=conversation_pb2.ConversationHandedOff(reason=conversation_pb2.HANDOFF_REASON_REQUESTED_HUMAN),
            ),
            conversation("conversation_queued", cid, now - timedelta(seconds=40), status=q, **kw),
            conversation("conversation_assigned", cid, now, status=a, assignee_id=f"agent-{n}", **kw),
            conversation("agent_replied", cid, now, status=a, assignee_id=f"agent-{n}", **kw),
            conversation("repeat_contact_detected", cid, now, status=a, assignee_id=f"agent-{n}", **kw),
            conversation(
                "chat_ended",
                cid,
                now,
                status=a,
                assignee_id=f"agent-{n}",
                **kw,
                body=conversation_pb2.ChatEnded(transcript_requested=True),
            ),
            conversation("escalation_acknowledged", cid, now, status=a, assignee_id=f"agent-{n}", **kw),
        ]
        if n == 0:
            events += [
                conversation(
                    "conversation_resolved",
                    cid,
                    now,
                    status=common_pb2.CONVERSATION_STATUS_RESOLVED,
                    human_involved=True,
                    **kw,
                ),
                conversation("conversation_reopened", cid, now, status=q, **kw),
                conversation("csat_recorded", cid, now, status=q, **kw, body=conversation_pb2.CsatRecorded(score=5)),
                conversation("csat_recorded", cid, now, status=q, **kw, body=conversation_pb2.CsatRecorded(score=3)),
            ]
        bot = f"gb{wave}-{n}"
        events += [
            conversation("conversation_opened", bot, now, status=common_pb2.CONVERSATION_STATUS_BOT, **kw),
            conversation(
                "conversation_resolved",
                bot,
                now,
                status=common_pb2.CONVERSATION_STATUS_RESOLVED,
                **kw,
                body=conversation_pb2.ConversationResolved(resolved_by="bot"),
            ),
        ]
        for event in events:
            await producer.publish(topics.conversations, event, key=event.conversation.conversation_id)
        slas = [
            sla("sla_applied", cid, deadline=now + timedelta(minutes=2), target_seconds=600, **kw),
            sla("sla_warning_raised", cid, deadline=now, **kw),
            sla("sla_breached", cid, deadline=now, **kw),
            fulfilled(cid, 700, breached=True, **kw),
        ]
        for metric, seconds in (
            (sla_pb2.SLA_METRIC_FIRST_RESPONSE, 240 + 60 * wave),
            (sla_pb2.SLA_METRIC_NEXT_RESPONSE, 900),
            (sla_pb2.SLA_METRIC_RESOLUTION, 7200),
            (sla_pb2.SLA_METRIC_AGENT_FIRST_RESPONSE, 90),
            (sla_pb2.SLA_METRIC_PHONE_ANSWER, 45),
        ):
            slas.append(fulfilled(f"gf{wave}-{n}", seconds, metric=metric, **kw))
        for event in slas:
            await producer.publish(topics.sla, event, key=event.conversation.conversation_id)
        await producer.publish(topics.escalations, escalation(cid, level=1 + n % 2, **kw), key=cid)
        for kind, outcome in (
            (notification_pb2.NOTIFICATION_KIND_TRANSCRIPT, notification_pb2.DELIVERY_OUTCOME_DELIVERED),
            (notification_pb2.NOTIFICATION_KIND_PROACTIVE_UPDATE, notification_pb2.DELIVERY_OUTCOME_DELIVERED),
            (notification_pb2.NOTIFICATION_KIND_AGENT_REPLY, notification_pb2.DELIVERY_OUTCOME_FAILED),
        ):
            await producer.publish(
                topics.deliveries, delivery(cid, kind=kind, outcome=outcome, channel=channel, brand="globex"), key=cid
            )
    await producer.drain()


async def poison(bootstrap: str, topics: TopicNames, producer: EventProducer) -> None:
    raw = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await raw.start()
    await raw.send_and_wait(
        topics.deliveries, b"\x00not a cloudevent", key=b"poison", headers=[("ce_specversion", b"1.0")]
    )
    await raw.stop()
    await producer.publish(topics.conversations, conversation("conversation_opened", "", datetime.now(UTC)), key="x")
    await producer.drain()


# ------------------------------------------------------------------------------------------ the test


async def test_dashboards_and_recording_rules_return_data_and_backlog_survives_a_crash(
    stack, tmp_path, kafka_bootstrap, namespace
):
    topics = TopicNames(f"{namespace}.")
    await ensure_topics(stack.settings("analytics").kafka, topics)
    stack.start("analytics", required=True)
    for name in OPTIONAL:
        stack.start(name, required=False)
    prometheus, prom_port = start_prometheus(tmp_path, {n: stack.ports[n] for n in stack.procs})
    producer = EventProducer(stack.settings("analytics").kafka, source="/tests/e2e")
    await producer.start()
    try:

        def scraped():
            return len([r for r in prom_query(prom_port, "up == 1")]) == len(stack.procs)

        await wait_for(scraped, timeout=30, interval=0.5, message="Prometheus scrapes every service")
        real_traffic = {"ingest", "router"} <= stack.procs.keys()
        if real_traffic:
            await chat_traffic(stack, topics.conversations)
        await poison(kafka_bootstrap, topics, producer)
        for wave in range(4):
            await synthetic_wave(producer, topics, wave)
            await asyncio.sleep(1.5)  # spread increases over several scrapes so rate() has something to see

        # Every dashboard query, variable and recording rule returns data (polled: rules evaluate each 1 s).
        pending = {f"recording rule {name}": name for name in recording_rules()} | dict(dashboard_queries())
        deadline = time.monotonic() + 60
        while pending and time.monotonic() < deadline:
            for title, expr in list(pending.items()):
                if prom_query(prom_port, expr):
                    del pending[title]
            if pending:
                await asyncio.sleep(1)
        print(
            f"services scraped: {sorted(stack.procs)}; not started: {stack.failed}; "
            f"queries checked: {len(dashboard_queries())}, recording rules: {len(recording_rules())}"
        )
        assert not pending, "no data for:\n" + "\n".join(f"{t}: {e}" for t, e in pending.items())

        # Every /metrics page passes promtool's linter.
        async with httpx.AsyncClient(timeout=10) as client:
            for name in stack.procs:
                page = (await client.get(f"http://127.0.0.1:{stack.ports[name]}/metrics")).text
                lint = subprocess.run([PROMTOOL, "check", "metrics"], input=page, capture_output=True, text=True)
                assert lint.returncode == 0, f"{name}: {lint.stdout}{lint.stderr}"

        # Crash analytics; straight after restart the acme backlog equals the router's open conversations.
        if real_traffic:
            client_db = AsyncMongoClient(stack.mongo_uri, tz_aware=True)
            router_conversations = client_db[namespace]["conversations"]

            async def truth() -> Counter:
                counts: Counter = Counter()
                async for doc in router_conversations.find({"brand_id": "acme", "status": {"$ne": "resolved"}}):
                    counts[(doc["channel"], doc["status"])] += 1
                return counts

            async def page() -> str:
                async with httpx.AsyncClient(timeout=5) as client:
                    return (await client.get(f"http://127.0.0.1:{stack.ports['analytics']}/metrics")).text

            async def settled():
                first = await truth()
                return first and backlog_from_page(await page(), "acme") == first == await truth()

            await wait_for(settled, timeout=60, interval=0.5, message="analytics agrees with the router")
            expected = await truth()
            stack.procs["analytics"].kill()
            stack.start("analytics", required=True)
            assert backlog_from_page(await page(), "acme") == expected
            assert sum(expected.values()) > 0
            print(f"acme open conversations by (channel, status) after kill -9 + restart: {dict(expected)}")
            await client_db.close()
        else:
            warnings.warn(
                f"ingest/router not running ({stack.failed}); crash check against the router skipped", stacklevel=2
            )
    finally:
        await producer.stop()
        prometheus.stop()
