"""From ingest webhooks to the customer's inbox: ingest, router and notifier run as real processes.

A chat starts, the customer writes, an agent replies through the agent API (delivered to the chat
widget endpoint), the chat ends -> the transcript arrives by email (SMTP);
an agent resolves -> after the (shortened) CSAT delay the survey arrives once; the customer
clicks a score link -> ingest publishes CsatAnswered and the router records it.
"""
from __future__ import annotations

import asyncio
import email
import re
import shutil
import sys
from email import policy
from pathlib import Path

import httpx
import pytest
import yaml
from aiohttp import web
from aiosmtpd.controller import Controller
from switchboard.common import processes
from switchboard.common.testing import read_topic, wait_for
from switchboard.common.testing.benchkit import http_ready as ready
from switchboard.common.testing.plugin import make_test_settings, settings_env
from switchboard.events.v1 import notification_pb2

REPO = Path(__file__).resolve().parents[2]
AGENT_KEY = "e2e-agent-key"

pytestmark = pytest.mark.slow


class Inbox:
    def __init__(self) -> None:
        self.mails: list[email.message.EmailMessage] = []
        self.http: list[tuple[str, bytes]] = []

    async def handle_DATA(self, server, session, envelope):
        self.mails.append(email.message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"

    async def receive(self, request: web.Request) -> web.Response:
        self.http.append((request.path, await request.read()))
        return web.json_response({"ok": True, "id": f"m{len(self.http)}"})

    def texts(self) -> list[str]:
        out = [m.get_body(("plain",)).get_content() for m in self.mails]
        return out + [body.decode(errors="replace") for _, body in self.http]


@pytest.fixture
async def inbox():
    box = Inbox()
    smtp_port = processes.free_port()
    controller = Controller(box, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    app = web.Application()
    app.router.add_route("POST", "/{tail:.*}", box.receive)
    runner = web.AppRunner(app)
    await runner.setup()
    http_port = processes.free_port()
    await web.TCPSite(runner, "127.0.0.1", http_port).start()
    box.smtp_port, box.http_origin = smtp_port, f"http://127.0.0.1:{http_port}"
    yield box
    await runner.cleanup()
    controller.stop()


@pytest.fixture
def config_dir(tmp_path):
    """The demo configuration with a 2 s CSAT delay and an agent API key for brand acme."""
    target = tmp_path / "config"
    shutil.copytree(REPO / "config" / "demo", target)
    routing = (target / "routing.yaml").read_text()
    (target / "routing.yaml").write_text(re.sub(r"csat_delay: *\w+", "csat_delay: 2s", routing))
    secrets = yaml.safe_load((target / "secrets.yaml").read_text()) or {}
    secrets.setdefault("brands", {}).setdefault("acme", {})["agent_api_keys"] = [AGENT_KEY]
    (target / "secrets.yaml").write_text(yaml.safe_dump(secrets))
    return target


async def test_transcript_after_chat_end_and_csat_after_resolution_start_from_ingest_webhooks(
        kafka_bootstrap, mongo_uri, namespace, bus_topics, inbox, config_dir, tmp_path):
    for name in ("ingest", "router"):
        if not (REPO / "services" / name / "entrypoint.py").exists():
            pytest.skip(f"{name} service is not built yet")
    ports = {name: processes.free_port() for name in ("ingest", "router", "notifier")}
    started: list[processes.ManagedProcess] = []
    try:
        for name in ("ingest", "router", "notifier"):
            settings = make_test_settings(kafka_bootstrap, mongo_uri, namespace, config_dir=config_dir,
                                          secrets_file=config_dir / "secrets.yaml",
                                          http={"host": "127.0.0.1", "port": ports[name]})
            env = {"PATH": "/usr/bin:/bin", **settings_env(settings),
                   "SWITCHBOARD_PUBLIC_BASE_URL": f"http://127.0.0.1:{ports['ingest']}",
                   "SWITCHBOARD_DEMO_INBOX_HTTP": inbox.http_origin,
                   "SWITCHBOARD_DEMO_INBOX_SMTP_PORT": str(inbox.smtp_port),
                   # nx-27017 shares same-named collections across databases
                   "SWITCHBOARD_COLLECTION_PREFIX": f"{namespace}_"}
            proc = processes.ManagedProcess(name, [sys.executable, "-m", f"switchboard.{name}.entrypoint"],
                                            ports[name], tmp_path / f"{name}.log", env=env)
            started.append(proc.start(timeout=60, ready=lambda p=ports[name]: ready(p)))

        ingest = f"http://127.0.0.1:{ports['ingest']}/v1/brands/acme"
        async with httpx.AsyncClient(timeout=10) as client:
            response = await client.post(f"{ingest}/chat/sessions", json={
                "name": "Ana Weber", "email": "ana@example.com", "language": "de", "client_session_id": "e2e-1"})
            assert response.status_code == 201, response.text
            session = response.json()["session_id"]
            response = await client.post(f"{ingest}/chat/sessions/{session}/messages", json={
                "client_message_id": "m-1", "text": "Hallo, wo ist meine Bestellung A-1001? Sie ist noch nicht da."})
            assert response.status_code == 202, response.text
            conversations = await read_topic(kafka_bootstrap, bus_topics.conversations, min_count=1, timeout=30)
            conversation_id = conversations[0].payload.conversation.conversation_id
            # An agent answers through the agent actions API: the notifier carries it to the chat widget.
            reply_text = "Ihr Paket ist heute losgeschickt worden."
            response = await client.post(f"{ingest}/agent/conversations/{conversation_id}/reply",
                                         json={"agent_id": "alice", "reply_id": "r-1", "text": reply_text},
                                         headers={"Authorization": f"Bearer {AGENT_KEY}"})
            assert response.status_code == 202, response.text
            await wait_for(lambda: any(path.endswith("/chat/messages") and reply_text.encode() in body
                                       for path, body in inbox.http), timeout=60, message="agent reply on chat")
            response = await client.post(f"{ingest}/chat/sessions/{session}/end", json={"ended_by": "customer"})
            assert response.status_code == 202, response.text

            def transcript_mail():
                return next((m for m in inbox.mails if "Bestellung A-1001" in m.get_body(("plain",)).get_content()),
                            None)

            mail = await wait_for(transcript_mail, timeout=60, message="transcript email")
            assert mail["To"] == "ana@example.com"
            assert mail["Subject"] == "Ihr Chat mit ACME Store" and mail["Content-Language"] == "de"
            assert reply_text in mail.get_body(("plain",)).get_content()  # the agent's answer is in the transcript

            response = await client.post(f"{ingest}/agent/conversations/{conversation_id}/resolve",
                                         json={"agent_id": "alice", "resolution_code": "answered"},
                                         headers={"Authorization": f"Bearer {AGENT_KEY}"})
            assert response.status_code == 202, response.text

            def csat_link():
                for text in inbox.texts():
                    found = re.search(r"http://127\.0\.0\.1:\d+/v1/brands/acme/csat/[^\s\"'<>?]+"
                                      r"\?score=5[^\s\"'<>]*", text)
                    if found:
                        return found.group(0)
                return None

            link = await wait_for(csat_link, timeout=60, message="CSAT survey")
            assert sum("/csat/" in t for t in inbox.texts()) == 1
            response = await client.get(link)
            assert response.status_code == 200, response.text

        def csat_recorded():
            return read_topic(kafka_bootstrap, bus_topics.conversations, min_count=1, timeout=5)

        async def recorded_score():
            events = await csat_recorded()
            return next((e.payload.csat_recorded.score for e in events
                         if e.payload.WhichOneof("event") == "csat_recorded"), None)

        assert await wait_for(recorded_score, timeout=60, interval=0.5, message="csat_recorded event") == 5
        deliveries = await read_topic(kafka_bootstrap, bus_topics.deliveries, min_count=2, timeout=30)
        outcomes = {(d.payload.kind, d.payload.outcome) for d in deliveries}
        assert (notification_pb2.NOTIFICATION_KIND_TRANSCRIPT, notification_pb2.DELIVERY_OUTCOME_DELIVERED) in outcomes
        assert (notification_pb2.NOTIFICATION_KIND_CSAT_SURVEY, notification_pb2.DELIVERY_OUTCOME_DELIVERED) in outcomes
        assert (notification_pb2.NOTIFICATION_KIND_AGENT_REPLY, notification_pb2.DELIVERY_OUTCOME_DELIVERED) in outcomes
    finally:
        for proc in reversed(started):
            proc.stop()
            await asyncio.sleep(0)
