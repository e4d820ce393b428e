"""The console on the real broker and nx-27017, with a real local HTTP server standing in for the
router/SLA read APIs and ingest's agent API (it records every action that reaches it)."""
from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from switchboard.common.http import PortInUseError
from switchboard.console.bootstrap import ConsoleApp, bootstrap
from switchboard.console.settings import ConsoleSettings

sys.path.insert(0, str(Path(__file__).parent))
from console_kit import SECRETS, USERS, Peers, start_peers  # noqa: E402


@dataclass
class RunningConsole:
    app: ConsoleApp
    base_url: str
    started: list

    async def stop(self) -> None:
        for component in reversed(self.started):
            await component.stop()
        self.started.clear()

    def client(self, **kwargs) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.base_url, follow_redirects=False, timeout=10, **kwargs)


@pytest.fixture
async def peers():
    stand_in, runner = await start_peers()
    yield stand_in
    await runner.cleanup()


@pytest.fixture
async def start_console(service_settings, bus_topics, peers: Peers):
    running: list[RunningConsole] = []

    async def start(clock=None, users=None, **overrides) -> RunningConsole:
        options = {"router_url": peers.base_url, "sla_url": peers.base_url, "ingest_url": peers.base_url,
                   "session_secret": "integration-secret", "tail_interval_seconds": 0.05, **overrides}
        for attempt in range(3):
            settings = service_settings(ConsoleSettings, **options)  # a port picked free each time
            app = bootstrap(settings, clock=clock, users=users or USERS, secrets=SECRETS)
            console = RunningConsole(app, f"http://127.0.0.1:{settings.http.port}", [])
            try:
                for component in app.service.components:
                    await component.start()
                    console.started.append(component)
            except PortInUseError:  # a parallel test bound the port between picking and binding it
                await console.stop()
                if attempt == 2:
                    raise
                continue
            running.append(console)
            return console

    yield start
    for console in reversed(running):
        await console.stop()


@pytest.fixture
async def console(start_console) -> RunningConsole:
    return await start_console()
