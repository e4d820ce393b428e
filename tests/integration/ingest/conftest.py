from __future__ import annotations

import sys
from pathlib import Path

import httpx
import pytest
from switchboard.common.config import Secrets
from switchboard.common.http import PortInUseError
from switchboard.ingest.bootstrap import bootstrap
from switchboard.ingest.settings import IngestConfig, IngestSettings

sys.path.insert(0, str(Path(__file__).parent))
from ingest_requests import SECRETS  # noqa: E402


async def start(svc) -> list:
    started = []
    try:
        for component in svc.service.components:
            await component.start()
            started.append(component)
    except BaseException:
        await stop(started)
        raise
    return started


async def stop(started: list) -> None:
    for component in reversed(started):
        await component.stop()


@pytest.fixture
async def ingest_factory(service_settings, bus_topics):
    made: list = []

    async def make(config: IngestConfig | None = None, **overrides):
        for attempt in range(3):
            settings = service_settings(IngestSettings, **overrides)  # a port picked free each time
            svc = bootstrap(settings, secrets=Secrets(SECRETS), config=config or IngestConfig())
            try:
                svc.started = await start(svc)
                break
            except PortInUseError:  # a parallel test bound the port between picking and binding it
                if attempt == 2:
                    raise
        made.append(svc)
        svc.base_url = f"http://127.0.0.1:{settings.http.port}"
        svc.client = httpx.AsyncClient(base_url=svc.base_url, timeout=30)
        return svc

    yield make
    for svc in made:
        await svc.client.aclose()
        await stop(svc.started)


@pytest.fixture
async def ingest(ingest_factory):
    return await ingest_factory()
