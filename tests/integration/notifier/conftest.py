"""Real local peers for notifier tests: an aiohttp receiver, an aiosmtpd server, the notifier itself."""
from __future__ import annotations

import asyncio
import email
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from email import policy

import pytest
from aiohttp import web
from aiosmtpd.controller import Controller
from switchboard.common import processes
from switchboard.common.config import Secrets
from switchboard.notifier.bootstrap import bootstrap
from switchboard.notifier.config import NotifierConfig
from switchboard.notifier.settings import NotifierSettings


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    form: dict[str, str] | None = None


@dataclass
class Receiver:
    """A real HTTP server. `behave[path_prefix](n)` returns (status, headers, body) for the n-th call
    (1-based), or None to hang until the client gives up."""

    base_url: str = ""
    requests: list[Received] = field(default_factory=list)
    calls: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    behave: dict[str, Callable[[int], tuple[int, dict, bytes] | None]] = field(default_factory=dict)
    verify: Callable[[Received], str | None] | None = None  # returns an error -> 401
    delay: float = 0.0  # seconds before every answer (a slow provider)
    dedupe_by_key: bool = False  # behave like Twilio/Stripe: a repeated Idempotency-Key is not a new message
    raw_count: int = 0
    in_flight: int = 0
    seen_keys: set[str] = field(default_factory=set)

    def at(self, prefix: str) -> list[Received]:
        return [r for r in self.requests if r.path.startswith(prefix)]

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        form = None
        if request.content_type == "application/x-www-form-urlencoded":
            form = dict(await request.post())
        rec = Received(request.path, dict(request.headers), body, form)
        self.raw_count += 1
        if self.delay:
            self.in_flight += 1
            try:
                await asyncio.sleep(self.delay)
            finally:
                self.in_flight -= 1
        if self.dedupe_by_key:
            key = rec.headers.get("Idempotency-Key", "")
            if key in self.seen_keys:
                return web.json_response({"ok": True, "result": {"message_id": 0}, "duplicate": True})
            self.seen_keys.add(key)
        prefix = next((p for p in sorted(self.behave, key=len, reverse=True) if request.path.startswith(p)), None)
        self.calls[prefix or request.path] += 1
        if self.verify is not None:
            problem = self.verify(rec)
            if problem:
                return web.Response(status=401, text=problem)
        if prefix is not None:
            answer = self.behave[prefix](self.calls[prefix])
            if answer is None:
                await asyncio.Event().wait()  # stuck: never answers
            status, headers, payload = answer
            if 200 <= status < 300:
                self.requests.append(rec)
            return web.Response(status=status, headers=headers, body=payload)
        self.requests.append(rec)
        return web.json_response({"ok": True, "id": f"r{len(self.requests)}"})


@pytest.fixture
async def receiver():
    rec = Receiver()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", rec.handle)
    runner = web.AppRunner(app, shutdown_timeout=0.5)
    await runner.setup()
    port = processes.free_port()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    rec.base_url = f"http://127.0.0.1:{port}"
    yield rec
    await runner.cleanup()


class _MailHandler:
    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.envelopes: list = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        self.messages.append(email.message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


@pytest.fixture
def smtp_server():
    handler = _MailHandler()
    port = processes.free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    controller.port_number = port
    handler.port = port
    yield handler
    controller.stop()


class RunningNotifier:
    def __init__(self, svc) -> None:
        self.svc = svc
        self.started: list = []

    async def start(self) -> RunningNotifier:
        for component in self.svc.service.components:
            await component.start()
            self.started.append(component)
        return self

    async def stop(self) -> None:
        for component in reversed(self.started):
            await component.stop()
        self.started.clear()


@pytest.fixture
async def start_notifier(service_settings, namespace):
    running: list[RunningNotifier] = []

    async def start(config: NotifierConfig, secrets: Secrets, clock=None, **settings_overrides) -> RunningNotifier:
        # nx-27017 shares same-named collections across databases: isolate by collection prefix.
        settings_overrides.setdefault("collection_prefix", f"{namespace}_")
        settings = service_settings(NotifierSettings, **settings_overrides)
        svc = bootstrap(settings, clock=clock, config=config, secrets=secrets, http=False)
        notifier = await RunningNotifier(svc).start()
        running.append(notifier)
        return notifier

    yield start
    for notifier in reversed(running):
        await notifier.stop()
