"""Builders of the real protobuf events the console consumes, and a real HTTP stand-in for its peers."""
from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx
from aiohttp import web
from google.protobuf.timestamp_pb2 import Timestamp
from switchboard.common import processes
from switchboard.common.config import Secrets
from switchboard.console.adapters.users import UserDirectory
from switchboard.console.domain.auth import User, hash_password
from switchboard.events.v1 import common_pb2, conversation_pb2, escalation_pb2, sla_pb2

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
AGENT_KEY = "console-test-agent-key"
CHANNELS = {"email": common_pb2.CHANNEL_EMAIL, "whatsapp": common_pb2.CHANNEL_WHATSAPP,
            "chat": common_pb2.CHANNEL_CHAT, "sms": common_pb2.CHANNEL_SMS, "telegram": common_pb2.CHANNEL_TELEGRAM}
STATUSES = {"bot": 1, "queued": 2, "assigned": 3, "waiting_on_customer": 4, "waiting_on_third_party": 5,
            "resolved": 6}
PRIORITIES = {"low": 1, "normal": 2, "high": 3, "urgent": 4}


def ts(when: datetime) -> Timestamp:
    out = Timestamp()
    out.FromDatetime(when)
    return out


def snapshot(cid: str, *, status="queued", channel="email", priority="normal", queue="general", language="en",
             assignee="", name="Customer", handle="c@example.com", customer_id=None) -> common_pb2.ConversationSnapshot:
    kind = common_pb2.HANDLE_KIND_EMAIL if "@" in handle else common_pb2.HANDLE_KIND_WHATSAPP_ID
    return common_pb2.ConversationSnapshot(
        conversation_id=cid, customer_id=customer_id or f"cust-{cid}", channel=CHANNELS[channel],
        status=STATUSES[status], priority=PRIORITIES[priority], queue=queue, language=language,
        assignee_id=assignee, opened_at=ts(T0), customer_name=name,
        reply_handle=common_pb2.ContactHandle(kind=kind, value=handle))


def conversation(kind: str, cid: str, at: datetime, *, brand="acme", body: dict | None = None,
                 **snap) -> conversation_pb2.ConversationEvent:
    event = conversation_pb2.ConversationEvent(brand_id=brand, conversation=snapshot(cid, **snap), occurred_at=ts(at))
    message_type = "".join(p.title() for p in kind.split("_"))
    getattr(event, kind).CopyFrom(getattr(conversation_pb2, message_type)(**(body or {})))
    return event


def sla(kind: str, cid: str, *, deadline: datetime, metric=sla_pb2.SLA_METRIC_FIRST_RESPONSE, brand="acme",
        body: dict | None = None, **snap) -> sla_pb2.SlaEvent:
    event = sla_pb2.SlaEvent(brand_id=brand, conversation=snapshot(cid, **snap), metric=metric, instance=1,
                             policy_id="email-standard", deadline=ts(deadline), target_seconds=3600)
    message_type = "".join(p.title() for p in kind.split("_"))
    getattr(event, kind).CopyFrom(getattr(sla_pb2, message_type)(**(body or {})))
    return event


def escalation(cid: str, level: int, at: datetime, *, brand="acme", **snap) -> escalation_pb2.EscalationRaised:
    return escalation_pb2.EscalationRaised(
        brand_id=brand, escalation_id=f"{cid}:first_response:1:{level}", conversation=snapshot(cid, **snap),
        level=level, level_name={1: "assignee", 2: "team lead"}.get(level, "manager"),
        reason=escalation_pb2.ESCALATION_REASON_SLA_BREACHED, metric=sla_pb2.SLA_METRIC_FIRST_RESPONSE, instance=1,
        raised_at=ts(at))


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict
    json: dict | None


@dataclass
class Peers:
    """A real local HTTP server answering the router and SLA read APIs (contract shapes, from the dicts
    below) and recording what arrives at ingest's agent API."""

    base_url: str = ""
    conversations: dict = field(default_factory=dict)   # (brand, cid) -> read API answer
    customers: dict = field(default_factory=dict)       # (brand, customer_id) -> answer
    queues: dict = field(default_factory=lambda: defaultdict(list))
    agents: dict = field(default_factory=lambda: defaultdict(list))
    clocks: dict = field(default_factory=dict)          # (brand, cid) -> SLA answer
    actions: list[Recorded] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        parts = request.path.strip("/").split("/")
        if request.method == "POST":
            if request.headers.get("Authorization") != f"Bearer {AGENT_KEY}":
                return web.json_response({"error": "unauthorized", "message": "bad key"}, status=401)
            self.actions.append(Recorded("POST", request.path, dict(request.headers), await request.json()))
            return web.json_response({"accepted": True, "event_id": f"e{len(self.actions)}"}, status=202)
        brand = parts[2] if len(parts) > 2 else ""
        found = None
        if parts[3:4] == ["conversations"] and parts[-1] == "sla":
            found = self.clocks.get((brand, parts[4]))
        elif parts[3:4] == ["conversations"]:
            found = self.conversations.get((brand, parts[4]))
        elif parts[3:4] == ["customers"]:
            found = self.customers.get((brand, parts[4]))
        elif parts[3:4] == ["queues"]:
            found = {"queues": self.queues[brand]}
        elif parts[3:4] == ["agents"]:
            found = {"agents": self.agents[brand]}
        if found is None:
            return web.json_response({"error": "not_found", "message": "not found"}, status=404)
        return web.json_response(found)


async def start_peers() -> tuple[Peers, web.AppRunner]:
    peers = Peers()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", peers.handle)
    runner = web.AppRunner(app, shutdown_timeout=0.5)
    await runner.setup()
    port = processes.free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    peers.base_url = f"http://127.0.0.1:{port}"
    return peers, runner


PASSWORDS = {"alice": "alice-pw", "bob": "bob-pw", "sam": "sam-pw", "olga": "olga-pw", "multi": "multi-pw"}


def _user(username: str, agent_id: str, brands: tuple[str, ...], role: str = "agent") -> User:
    return User(username=username, name=username.title(), agent_id=agent_id, brands=brands, role=role,
                password_hash=hash_password(PASSWORDS[username], iterations=1000))


USERS = UserDirectory([_user("alice", "alice", ("acme",)), _user("bob", "bob", ("acme",)),
                       _user("sam", "sam", ("acme",), "supervisor"), _user("olga", "olga", ("globex",)),
                       _user("multi", "multi", ("acme", "globex"), "supervisor")])
SECRETS = Secrets({"brands": {"acme": {"agent_api_keys": [AGENT_KEY]}, "globex": {"agent_api_keys": [AGENT_KEY]}}})


async def login(client: httpx.AsyncClient, username: str, password: str | None = None) -> httpx.Response:
    form = await client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
    return await client.post("/login", data={"username": username, "password": password or PASSWORDS[username],
                                             "csrf_token": token, "next": "/inbox"})


async def api_token(client: httpx.AsyncClient) -> str:
    return (await client.get("/api/v1/me")).json()["csrf_token"]
