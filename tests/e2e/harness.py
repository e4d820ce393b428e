"""Shared harness for end-to-end proofs: services as real processes, kill -9 and restart, real
local receivers, traffic and verification queries.

Used by tests/e2e/test_crash.py, test_overload.py, test_poison.py and by benchmarks/pipeline.py
(which puts this folder on sys.path). No pytest import here: the benchmark runs without pytest.

Tansu caveat (docs: /work/shared/ENVIRONMENT.md): if every member of a consumer group leaves at the
same moment the group never assigns again, so `Stack.stop()` stops services one after another and
every test uses a fresh namespace (topic prefix, group prefix and database name).
"""
from __future__ import annotations

import asyncio
import base64
import email
import hashlib
import hmac
import json
import os
import shutil
import sys
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import policy as email_policy
from pathlib import Path
from urllib.parse import urlencode

import yaml
from aiokafka import AIOKafkaConsumer, TopicPartition
from google.protobuf.timestamp_pb2 import Timestamp
from switchboard.common import processes
from switchboard.common.cloudevents import derived_id
from switchboard.common.producer import EventProducer
from switchboard.common.settings import KafkaSettings
from switchboard.common.testing.benchkit import http_ready, peak_rss_bytes, percentile  # noqa: F401 - tests use them via harness
from switchboard.common.testing.plugin import make_test_settings, settings_env
from switchboard.common.topics import TopicNames
from switchboard.events.v1 import common_pb2, inbound_pb2

REPO = Path(__file__).resolve().parents[2]
SERVICES = ("ingest", "router", "sla", "notifier", "analytics")  # data flows in this order
CONSOLE = "console"  # optional: start it with the others, e.g. stack.start((*SERVICES, CONSOLE))
READ_API_TOKEN = "e2e-read-api-token"  # console -> router / SLA read APIs (set when the console runs)
BRAND = "acme"
DEMO_INBOX = "http://127.0.0.1:8025"
DEMO_SMTP_PORT = 2525

# Secrets ingest needs to verify the providers' signatures (test values, written into a tmp copy).
INGEST_SECRETS = {"telegram_secret_token": "e2e-telegram-secret", "meta_app_secret": "e2e-meta-secret",
                  "mailgun_signing_key": "e2e-mailgun-key", "twilio_auth_token": "demo-twilio-token",
                  "cloudevents_token": "e2e-cloudevents-token", "meta_verify_token": "e2e-verify"}


REPLICA = "#"  # "sla#2": another replica of sla (same entrypoint, settings and consumer group)


def base_name(name: str) -> str:
    return name.partition(REPLICA)[0]


def short_first_response_sla(seconds: float) -> str:
    """sla.yaml for proofs under load: one short first-response target on every channel, so every
    conversation's clock comes due during the run; one warning; no escalation ladder (escalation
    delivery is proven in test_poison / test_notifier_flows; here it would only queue thousands of
    Slack posts behind the customers' replies); everything else far away."""
    return f"""\
version: 1
priority_multipliers: {{urgent: 1.0, high: 1.0, normal: 1.0, low: 1.0}}
calendars: []
default_calendar: 24x7
defaults:
  warnings: {{fractions: [0.5]}}
  reopen: resume
  repeat_contact_threshold: 3
  reassignment_threshold: 3
  proactive_update_after: 2h
  escalation:
    ack_timeout: 2h
    levels: []
policies:
  - id: all
    channels: [email, web_form, chat, sms, whatsapp, messenger, vk, telegram, marketplace, phone]
    targets:
      first_response: {{within: {seconds}s, hours: calendar}}
      resolution: {{within: 2h, hours: calendar}}
default_policy:
  targets:
    first_response: {{within: {seconds}s, hours: calendar}}
    resolution: {{within: 2h, hours: calendar}}
"""


def consumer_groups(namespace: str) -> dict[str, str]:
    """The consumer group of each consuming service in this namespace, and what it consumes."""
    return {"router": f"{namespace}.switchboard-router", "contact": f"{namespace}.switchboard-router.contact",
            "routing": f"{namespace}.switchboard-router.routing",
            "sla": f"{namespace}.sla",
            "analytics": f"{namespace}.analytics", "notifier": f"{namespace}.notifier"}


CONSUMED = {"router": ("inbound", "orders", "agent_commands"), "contact": ("contacts",), "routing": ("routing",),
            "sla": ("conversations",),
            "analytics": ("conversations", "sla", "escalations", "deliveries"),
            "notifier": ("notifications", "escalations")}


# ------------------------------------------------------------------------------------ config
def prepare_config(target: Path, *, inbox_http: str | None = None, smtp_port: int | None = None,
                   sla_yaml: str | None = None, routing_overrides: dict | None = None) -> Path:
    """A copy of config/demo with this run's receivers, ingest's secrets and optional SLA policies."""
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(REPO / "config" / "demo", target)
    for path in target.rglob("*.yaml"):
        text = path.read_text(encoding="utf-8")
        if inbox_http:
            text = text.replace(DEMO_INBOX, inbox_http)
        if smtp_port:
            text = text.replace(f"port: {DEMO_SMTP_PORT}", f"port: {smtp_port}")
        path.write_text(text, encoding="utf-8")
    secrets = yaml.safe_load((target / "secrets.yaml").read_text()) or {}
    brand = secrets.setdefault("brands", {}).setdefault(BRAND, {})
    for name, value in INGEST_SECRETS.items():
        brand.setdefault(name, value)
    (target / "secrets.yaml").write_text(yaml.safe_dump(secrets, allow_unicode=True))
    if sla_yaml is not None:
        (target / "sla.yaml").write_text(sla_yaml)
    if routing_overrides:
        routing = yaml.safe_load((target / "routing.yaml").read_text())
        routing.setdefault("defaults", {}).update(routing_overrides)
        (target / "routing.yaml").write_text(yaml.safe_dump(routing, allow_unicode=True))
    return target


def secrets_of(config_dir: Path) -> dict[str, str]:
    return (yaml.safe_load((config_dir / "secrets.yaml").read_text()) or {})["brands"][BRAND]


# ------------------------------------------------------------------------------------ processes
@dataclass
class ServiceProcess:
    name: str
    proc: processes.ManagedProcess
    port: int
    starts: int = 0
    kills: int = 0

    def start(self, timeout: float = 90.0) -> ServiceProcess:
        self.proc.start(timeout=timeout, ready=lambda: http_ready(self.port))
        self.starts += 1
        return self

    def kill(self) -> None:
        """kill -9 (the whole process group), like a crashed pod."""
        self.proc.kill()
        self.kills += 1

    def stop(self) -> None:
        self.proc.stop()

    @property
    def running(self) -> bool:
        return self.proc.running

    @property
    def pid(self) -> int | None:
        return self.proc.proc.pid if self.proc.proc else None

    def peak_rss_bytes(self) -> int | None:
        """VmHWM of the running process (the peak resident set since it started)."""
        return peak_rss_bytes(self.pid) if self.running else None


class PortTaken(RuntimeError):
    """A service could not bind the port picked for it: another process took it first."""


@dataclass
class Stack:
    """Switchboard services as real processes against one broker and one MongoDB-wire server."""

    bootstrap: str
    mongo_uri: str
    namespace: str
    config_dir: Path
    log_dir: Path
    extra_env: dict[str, str] = field(default_factory=dict)
    service_env: dict[str, dict[str, str]] = field(default_factory=dict)
    services: dict[str, ServiceProcess] = field(default_factory=dict)
    # Set when the stack owns its (embedded) broker: supervise_broker() then restarts broker and services
    # after the broker died, as `make run` does (processes.BrokerSupervisor).
    broker: processes.ManagedProcess | None = None
    supervisor: processes.BrokerSupervisor | None = None
    _supervising: threading.Event = field(default_factory=threading.Event)

    def supervise_broker(self) -> processes.BrokerSupervisor:
        """Starts a thread that checks the owned broker every 0.1 s; stop() ends it."""
        from switchboard.common.admin import ensure_topics

        def kill_services() -> None:
            for service in self.services.values():
                if service.running:
                    service.kill()

        self.supervisor = processes.BrokerSupervisor(
            self.broker, kill_services=kill_services, start_services=lambda: self.start(list(self.services)),
            prepare_broker=lambda: asyncio.run(ensure_topics(self.kafka, self.topics)))

        def watch() -> None:
            while not self._supervising.wait(0.1):
                self.supervisor.check()

        threading.Thread(target=watch, name="broker-supervisor", daemon=True).start()
        return self.supervisor

    @property
    def topics(self) -> TopicNames:
        return TopicNames(f"{self.namespace}.")

    @property
    def kafka(self) -> KafkaSettings:
        return make_test_settings(self.bootstrap, self.mongo_uri, self.namespace).kafka

    def env(self, name: str, port: int) -> dict[str, str]:
        name = base_name(name)
        settings = make_test_settings(self.bootstrap, self.mongo_uri, self.namespace, config_dir=self.config_dir,
                                      secrets_file=self.config_dir / "secrets.yaml",
                                      http={"host": "127.0.0.1", "port": port})
        base = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHBOARD_")}
        env = {**base, **settings_env(settings), "SWITCHBOARD_LOG_LEVEL": "WARNING"}
        if name == "router":
            env["SWITCHBOARD_GROUP_ID"] = consumer_groups(self.namespace)["router"]
        if name in ("ingest", "notifier") and "ingest" in self.services:
            env["SWITCHBOARD_PUBLIC_BASE_URL"] = f"http://127.0.0.1:{self.services['ingest'].port}"
        env.update(self._console_env(name))
        env.update(self.extra_env)
        env.update(self.service_env.get(name, {}))
        return env

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.services[name].port}"

    def _console_env(self, name: str) -> dict[str, str]:
        """With the console in the stack: its peers' URLs, the read-API token it shares with router
        and SLA, and the notifier's links to it."""
        if CONSOLE not in self.services:
            return {}
        if name == CONSOLE:
            peers = {f"SWITCHBOARD_{peer.upper()}_URL": self.url(peer) for peer in ("router", "sla", "ingest")
                     if peer in self.services}
            return {**peers, "SWITCHBOARD_READ_API_TOKEN": READ_API_TOKEN,
                    "SWITCHBOARD_SESSION_SECRET": f"e2e-session-{self.namespace}"}
        if name in ("router", "sla"):
            return {"SWITCHBOARD_READ_API_TOKEN": READ_API_TOKEN}
        if name == "notifier":
            return {"SWITCHBOARD_CONSOLE_BASE_URL": self.url(CONSOLE)}
        return {}

    def add(self, name: str) -> ServiceProcess:
        port = processes.free_port()
        entrypoint = Path(sys.executable).parent / f"switchboard-{base_name(name)}"
        proc = processes.ManagedProcess(name, [str(entrypoint)], port, self.log_dir / f"{name}.log", env=None)
        service = ServiceProcess(name, proc, port)
        self.services[name] = service
        proc.env = self.env(name, port)
        return service

    def start(self, names: Iterable[str] = SERVICES, timeout: float = 90.0) -> None:
        """Starts the services (all at once, then waits until each reports ready on /readyz). A port
        picked free can be taken by another process before the service binds it (parallel tests): then
        every service of this start gets new ports and starts again, three times at most."""
        names = list(names)
        for attempt in range(3):
            try:
                return self._start_once(names, timeout)
            except PortTaken:
                if attempt == 2:
                    raise
                for name in names:
                    self.services.pop(name).stop()
                    log = self.log_dir / f"{name}.log"  # appended to: keep this attempt's apart
                    if log.exists():
                        log.rename(log.with_suffix(f".attempt{attempt + 1}.log"))

    def _start_once(self, names: list[str], timeout: float) -> None:
        for name in names:
            if name not in self.services:
                self.add(name)
        for name in names:  # env again: ingest's port is known now
            self.services[name].proc.env = self.env(name, self.services[name].port)
            self.services[name].proc.start(timeout=timeout, ready=lambda: True)
            self.services[name].starts += 1
        deadline = time.monotonic() + timeout
        for name in names:
            service = self.services[name]
            while not http_ready(service.port):
                if not service.running:
                    tail = self.tail(name)
                    error = PortTaken if "already in use" in tail else RuntimeError
                    raise error(f"{name} exited with {service.proc.proc.returncode}: {tail}")
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{name} not ready within {timeout:.0f}s: {self.tail(name)}")
                time.sleep(0.1)

    def restart(self, name: str, timeout: float = 90.0) -> None:
        service = self.services[name]
        if service.running:
            service.kill()
        service.start(timeout)

    def stop(self) -> None:
        """One after another, in reverse flow order (Tansu never re-balances a group left all at once)."""
        self._supervising.set()
        for name in reversed(list(self.services)):
            self.services[name].stop()

    def tail(self, name: str, chars: int = 3000) -> str:
        path = self.log_dir / f"{name}.log"
        return path.read_text(errors="replace")[-chars:] if path.exists() else "(no log)"

    def peak_rss(self) -> dict[str, int | None]:
        return {name: s.peak_rss_bytes() for name, s in self.services.items()}


# ------------------------------------------------------------------------------------ receivers
@dataclass
class Received:
    via: str          # http | smtp
    path: str
    key: str          # Idempotency-Key (HTTP) or Message-ID (SMTP)
    recipient: str
    body: str
    at: float


API_REPLIES = {  # what each provider API answers on success (the notifier reads these shapes)
    "twilio": lambda n: {"sid": f"SM{n:032d}", "status": "queued"},
    "meta": lambda n: {"messaging_product": "whatsapp", "messages": [{"id": f"wamid.{n}"}]},
    "telegram": lambda n: {"ok": True, "result": {"message_id": n}},
    "vk": lambda n: {"response": n},
}


class Receivers:
    """A real SMTP server (aiosmtpd) and a real HTTP receiver (aiohttp) on 127.0.0.1, in their own
    thread and event loop so a test that blocks (starting processes) never stalls a delivery.

    Like Twilio and a well-behaved chat widget, the HTTP receiver honours `Idempotency-Key`: a
    resend of a key already accepted is answered 200 again but counted as a `resend`, not as a
    second message the customer sees.
    """

    def __init__(self) -> None:
        self.http_port = processes.free_port()
        self.smtp_port = processes.free_port()
        self.received: list[Received] = []
        self.resends: Counter[str] = Counter()
        self._keys: set[str] = set()
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._started = threading.Event()
        self._smtp = None

    @property
    def http_origin(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def _keep(self, item: Received) -> bool:
        with self._lock:
            if item.key and item.key in self._keys:
                self.resends[item.key] += 1
                return False
            if item.key:
                self._keys.add(item.key)
            self.received.append(item)
            return True

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd hook)
        message = email.message_from_bytes(envelope.content, policy=email_policy.default)
        body = message.get_body(preferencelist=("plain", "html"))
        self._keep(Received("smtp", "smtp", str(message["Message-ID"] or ""), ",".join(envelope.rcpt_tos),
                            body.get_content() if body else "", time.time()))
        return "250 OK"

    async def _receive(self, request):
        from aiohttp import web

        raw = await request.read()
        key = request.headers.get("Idempotency-Key") or request.headers.get("X-Switchboard-Event-Id") or ""
        text = raw.decode(errors="replace")
        recipient = _recipient_of(request.path, text, request.content_type)
        if request.content_type == "application/x-www-form-urlencoded":
            from urllib.parse import unquote_plus

            text = unquote_plus(text)
        self._keep(Received("http", request.path, key, recipient, text, time.time()))
        with self._lock:
            n = len(self.received)
        for prefix, reply in (("/twilio", "twilio"), ("/meta", "meta"), ("/telegram", "telegram"), ("/vk", "vk")):
            if request.path.startswith(prefix):
                return web.json_response(API_REPLIES[reply](n))
        return web.json_response({"ok": True, "id": f"r{n}"})

    def _run(self) -> None:
        from aiohttp import web
        from aiosmtpd.controller import Controller

        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        self._smtp = Controller(self, hostname="127.0.0.1", port=self.smtp_port)
        self._smtp.start()
        app = web.Application(client_max_size=4 << 20)
        app.router.add_route("POST", "/{tail:.*}", self._receive)
        runner = web.AppRunner(app, access_log=None)
        loop.run_until_complete(runner.setup())
        loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", self.http_port, backlog=1024).start())
        self._runner = runner
        self._started.set()
        loop.run_forever()
        loop.run_until_complete(runner.cleanup())
        loop.close()

    def start(self) -> Receivers:
        self._thread = threading.Thread(target=self._run, name="receivers", daemon=True)
        self._thread.start()
        if not self._started.wait(10):
            raise TimeoutError("receivers did not start")
        return self

    def stop(self) -> None:
        if self._smtp is not None:
            self._smtp.stop()
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)

    def snapshot(self) -> list[Received]:
        with self._lock:
            return list(self.received)


def _recipient_of(path: str, body: str, content_type: str) -> str:
    try:
        if content_type == "application/json":
            data = json.loads(body)
            for name in ("to", "chat_id", "recipient", "user_id", "peer_id", "session_id", "chat_session_id"):
                value = data.get(name) if isinstance(data, dict) else None
                if isinstance(value, dict):
                    value = value.get("id") or value.get("value")
                if value:
                    return str(value)
        elif content_type == "application/x-www-form-urlencoded":
            from urllib.parse import parse_qs

            form = parse_qs(body)
            for name in ("To", "peer_id", "user_id"):
                if form.get(name):
                    return form[name][0]
    except ValueError:
        pass
    return path


# ------------------------------------------------------------------------------------ traffic
CHANNELS = {  # channel -> (enum, handle kind, provider)
    "chat": (common_pb2.CHANNEL_CHAT, common_pb2.HANDLE_KIND_CHAT_SESSION, "chat"),
    "sms": (common_pb2.CHANNEL_SMS, common_pb2.HANDLE_KIND_PHONE, "twilio"),
    "email": (common_pb2.CHANNEL_EMAIL, common_pb2.HANDLE_KIND_EMAIL, "mailgun"),
    "whatsapp": (common_pb2.CHANNEL_WHATSAPP, common_pb2.HANDLE_KIND_WHATSAPP_ID, "meta_whatsapp"),
    "telegram": (common_pb2.CHANNEL_TELEGRAM, common_pb2.HANDLE_KIND_TELEGRAM_ID, "telegram"),
}
TEXTS = ["Hi, where is my order {n}?", "Hello, my parcel {n} has not arrived yet, can you check?",
         "Hallo, wo ist meine Bestellung {n}?", "Bonjour, où est ma commande {n} ?",
         "Hola, ¿dónde está mi pedido {n}?"]


@dataclass(frozen=True)
class Sent:
    """One inbound message we know was accepted (acked by the broker or answered 2xx by ingest)."""
    provider_message_id: str
    channel: str
    handle: str
    via: str          # topic | http
    sent_at: float


def handle_value(channel: str, n: int, run: str) -> str:
    if channel == "chat":
        return f"{run}-chat-{n}"
    if channel == "sms":
        return f"+4915{int(run[-6:], 16) % 1000:03d}{n:06d}"
    if channel == "email":
        return f"customer{n}.{run}@example.com"
    if channel == "whatsapp":
        return f"49160{int(run[-6:], 16) % 1000:03d}{n:06d}"
    return str(700_000_000 + (int(run[-6:], 16) % 1000) * 1_000_000 + n)


def message_received(channel: str, handle: str, text: str, provider_message_id: str,
                     sent_at: datetime) -> inbound_pb2.InboundEvent:
    enum, kind, provider = CHANNELS[channel]
    ts = Timestamp()
    ts.FromDatetime(sent_at)
    event = inbound_pb2.InboundEvent(brand_id=BRAND)
    m = event.message_received
    m.channel, m.provider, m.provider_message_id, m.text = enum, provider, provider_message_id, text
    m.sender.kind, m.sender.value = kind, handle
    m.sent_at.CopyFrom(ts)
    m.language_hint = "en"
    if channel == "chat":
        m.chat_session_id = handle
    if channel == "email":
        m.email.message_id = f"<{provider_message_id}@mail.example>"
        m.email.subject = f"Order question {provider_message_id[-6:]}"
        m.recipient_address.kind, m.recipient_address.value = common_pb2.HANDLE_KIND_EMAIL, "support@acme.example"
    return event


class TopicTraffic:
    """MessageReceived records straight onto the inbound topic, as ingest would publish them."""

    def __init__(self, producer: EventProducer, topics: TopicNames, run: str | None = None) -> None:
        self.producer = producer
        self.topics = topics
        self.run = run or uuid.uuid4().hex[:8]
        self.sent: list[Sent] = []

    async def send(self, n: int, channel: str, *, text: str | None = None, wait: bool = False) -> Sent:
        handle = handle_value(channel, n, self.run)
        pmid = f"{self.run}-{channel}-{n}"
        now = datetime.now(UTC)
        event = message_received(channel, handle, text or TEXTS[n % len(TEXTS)].format(n=1000 + n), pmid, now)
        future = await self.producer.publish(self.topics.inbound, event, key=f"{BRAND}/{handle}",
                                             event_id=derived_id("ingest", BRAND, f"{channel}:{pmid}"), time=now)
        sent = Sent(pmid, channel, handle, "topic", now.timestamp())
        if wait:
            await future
        self.sent.append(sent)
        return sent


class HttpTraffic:
    """Signed provider webhooks through ingest's HTTP API, retried until accepted (as providers do)."""

    def __init__(self, base_url: str, secrets: dict[str, str], run: str | None = None) -> None:
        import httpx

        self.base = base_url.rstrip("/")
        self.secrets = secrets
        self.run = run or uuid.uuid4().hex[:8]
        self.client = httpx.AsyncClient(timeout=10)
        self.sent: list[Sent] = []
        self.retries = 0

    async def close(self) -> None:
        await self.client.aclose()

    async def _post(self, path: str, deadline: float = 120.0, **kwargs) -> None:
        import httpx

        give_up = time.monotonic() + deadline
        while True:
            try:
                response = await self.client.post(self.base + path, **kwargs)
                if response.status_code < 300:
                    return
                if response.status_code < 500 and response.status_code not in (408, 429):
                    raise AssertionError(f"{path}: {response.status_code} {response.text[:300]}")
            except httpx.TransportError:
                pass  # ingest is down (killed): the provider retries later
            self.retries += 1
            if time.monotonic() > give_up:
                raise AssertionError(f"{path}: not accepted within {deadline}s")
            await asyncio.sleep(0.2)

    async def telegram(self, n: int, text: str) -> Sent:
        chat_id = int(handle_value("telegram", n, self.run))
        now = int(time.time())
        update = {"update_id": n + 1, "message": {
            "message_id": n + 1, "date": now, "text": text,
            "from": {"id": chat_id, "is_bot": False, "first_name": f"Customer{n}", "language_code": "en"},
            "chat": {"id": chat_id, "type": "private", "first_name": f"Customer{n}"}}}
        await self._post(f"/v1/brands/{BRAND}/webhooks/telegram", json=update,
                         headers={"X-Telegram-Bot-Api-Secret-Token": self.secrets["telegram_secret_token"]})
        return self._keep(f"{n + 1}", "telegram", str(chat_id))

    async def sms(self, n: int, text: str) -> Sent:
        phone = handle_value("sms", n, self.run)
        sid = f"SM{self.run}{n:024d}"
        path = f"/v1/brands/{BRAND}/webhooks/twilio"
        params = {"MessageSid": sid, "AccountSid": "ACdemo", "From": phone, "To": "+15005550006", "Body": text,
                  "NumMedia": "0", "SmsStatus": "received"}
        payload = self.base + path + "".join(k + params[k] for k in sorted(params))
        signature = base64.b64encode(hmac.new(self.secrets["twilio_auth_token"].encode(), payload.encode(),
                                              hashlib.sha1).digest()).decode()
        await self._post(path, content=urlencode(params),
                         headers={"Content-Type": "application/x-www-form-urlencoded",
                                  "X-Twilio-Signature": signature})
        return self._keep(sid, "sms", phone)

    def _keep(self, pmid: str, channel: str, handle: str) -> Sent:
        sent = Sent(pmid, channel, handle, "http", time.time())
        self.sent.append(sent)
        return sent


# ------------------------------------------------------------------------------------ verification
async def _consumer(bootstrap: str, group: str | None = None) -> AIOKafkaConsumer:
    # 10 ms, not the services' 100: an observer must not add its own wait to the latencies it measures
    # (the embedded broker holds an empty fetch for the whole wait).
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False,
                                max_partition_fetch_bytes=8 << 20, fetch_max_wait_ms=10)
    await consumer.start()
    return consumer


async def _partitions(consumer: AIOKafkaConsumer, topic: str) -> list[TopicPartition]:
    # A consumer with an assignment refreshes metadata only for its assigned topics: ask for this one.
    await consumer._client.add_topic(topic)
    await consumer._client.force_metadata_update()
    return [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]


async def _drain(consumer: AIOKafkaConsumer, tps: list[TopicPartition], keep: list | None, idle_polls: int = 3,
                 timeout: float = 60.0) -> dict[TopicPartition, int]:
    """Polls until every partition reached its (lower-bound) end and then `idle_polls` came back empty.
    Returns the true next offset per partition."""
    lower = await consumer.end_offsets(tps)
    ends = {tp: 0 for tp in tps}
    idle, deadline = 0, time.monotonic() + timeout
    while idle < idle_polls:
        batch = await consumer.getmany(*tps, timeout_ms=300, max_records=20_000)
        for tp, records in batch.items():
            ends[tp] = max(ends[tp], records[-1].offset + 1)
            if keep is not None:
                keep.extend(records)
        reached = all(ends[tp] >= lower[tp] for tp in tps)
        if reached and keep is None:
            return ends  # a snapshot: the last batch of every partition as of the ListOffsets call
        idle = idle + 1 if not batch and reached else 0
        if time.monotonic() > deadline:
            raise TimeoutError(f"could not read {tps[0].topic} to its end within {timeout}s")
    return ends


async def partition_ends(bootstrap: str, topic: str, consumer: AIOKafkaConsumer | None = None) -> dict[int, int]:
    """The true next offset per partition. Tansu's ListOffsets(latest) answers the base offset of
    the last batch + 1, a lower bound: fetching from just below it returns that last batch whole."""
    own = consumer is None
    consumer = consumer or await _consumer(bootstrap)
    try:
        tps = await _partitions(consumer, topic)
        if not tps:
            return {}
        consumer.assign(tps)
        lower = await consumer.end_offsets(tps)
        for tp in tps:
            consumer.seek(tp, max(0, lower[tp] - 1))
        return {tp.partition: n for tp, n in (await _drain(consumer, tps, None)).items()}
    finally:
        if own:
            await consumer.stop()


async def read_all(bootstrap: str, topic: str) -> list:
    """Every record of `topic` (no consumer group)."""
    consumer = await _consumer(bootstrap)
    try:
        tps = await _partitions(consumer, topic)
        if not tps:
            return []
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        records: list = []
        await _drain(consumer, tps, records)
        return records
    finally:
        await consumer.stop()


async def committed(consumer: AIOKafkaConsumer, topic: str, partitions: Iterable[int]) -> dict[int, int]:
    return {p: await consumer.committed(TopicPartition(topic, p)) or 0 for p in partitions}


async def lag(bootstrap: str, topics: TopicNames, namespace: str,
              services: Iterable[str] = ("router", "contact", "routing", "sla", "analytics", "notifier"),
              ) -> dict[str, int]:
    """Records each group has not committed yet, per "service:topic" (0 everywhere = caught up).
    Expected ends come from what is on the topics (read, not ListOffsets)."""
    groups = consumer_groups(namespace)
    reader = await _consumer(bootstrap)
    out = {}
    try:
        ends_of = {}
        for service in services:
            for logical in CONSUMED[service]:
                if logical not in ends_of:
                    ends_of[logical] = await partition_ends(bootstrap, topics.of(logical), reader)
        for service in services:
            member = await _consumer(bootstrap, groups[service])
            try:
                for logical in CONSUMED[service]:
                    ends = ends_of[logical]
                    done = await committed(member, topics.of(logical), ends.keys())
                    out[f"{service}:{logical}"] = sum(max(0, ends[p] - done.get(p, 0)) for p in ends)
            finally:
                await member.stop()
    finally:
        await reader.stop()
    return out


async def distinct_events(bootstrap: str, topic: str) -> tuple[dict[str, object], Counter]:
    """Decoded events by ce_id, and how often each id was written (redeliveries keep the id)."""
    from switchboard.common.cloudevents import decode

    by_id: dict[str, object] = {}
    copies: Counter[str] = Counter()
    for r in await read_all(bootstrap, topic):
        env = decode(r.value, r.headers, key=r.key, topic=r.topic, partition=r.partition, offset=r.offset)
        by_id.setdefault(env.id, env)
        copies[env.id] += 1
    return by_id, copies


def duplicates(items: Iterable) -> dict:
    return {k: n for k, n in Counter(items).items() if n > 1}


def group_by(items: Iterable, key) -> dict:
    out = defaultdict(list)
    for item in items:
        out[key(item)].append(item)
    return out


def utc_ts(seconds_from_now: float = 0.0) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=seconds_from_now)


def proof_stack(bootstrap: str, mongo_uri: str, namespace: str, config_dir: Path, work: Path, *,
                env: dict[str, str] | None = None, router_env: dict[str, str] | None = None) -> Stack:
    """The stack an end-to-end proof starts: topics made by the test session (not by each service) and
    no language detection in the router (start-up and restart speed matter in proofs; detection is
    exercised by its own tests). `env` goes to every service, `router_env` to the router."""
    return Stack(bootstrap, mongo_uri, namespace, config_dir, work / "logs",
                 extra_env={"SWITCHBOARD_KAFKA__CREATE_TOPICS": "false", **(env or {})},
                 service_env={"router": {"SWITCHBOARD_DETECT_LANGUAGE": "false", **(router_env or {})}})
