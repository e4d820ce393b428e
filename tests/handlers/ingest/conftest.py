from __future__ import annotations

from dataclasses import dataclass, field

import httpx
import ingest_fakes as fakes  # noqa: E402 - one fakes module per tier, named apart (one test run holds them all)
import pytest
from switchboard.common.clock import ManualClock
from switchboard.common.config import Secrets
from switchboard.ingest.bootstrap import IngestApp, bootstrap
from switchboard.ingest.settings import IngestConfig, IngestSettings

BRAND = "acme"
AGENT_KEY = "agent-key-1"
TELEGRAM_SECRET = "tg-secret"
SECRETS = {"brands": {BRAND: {"telegram_secret_token": TELEGRAM_SECRET, "agent_api_keys": [AGENT_KEY]},
                      "globex": {"agent_api_keys": ["globex-key"]}}}


@dataclass
class Ingest:
    app: IngestApp
    client: httpx.AsyncClient
    publisher: fakes.FakePublisher
    dedupe: fakes.FakeDedupe
    brands: fakes.FakeConversationBrands
    journal: list
    brand: str = BRAND
    agent_headers: dict = field(default_factory=lambda: {"Authorization": f"Bearer {AGENT_KEY}"})
    telegram_headers: dict = field(default_factory=lambda: {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET,
                                                            "Content-Type": "application/json"})


@pytest.fixture
async def ingest(tmp_path) -> Ingest:
    """ingest as bootstrap builds it, with in-memory ports and no HTTP server: requests go straight
    to the ASGI app. No broker, no store."""
    journal: list = []
    publisher, dedupe, brands = fakes.FakePublisher(journal), fakes.FakeDedupe(journal), fakes.FakeConversationBrands()
    (tmp_path / "routing.yaml").write_text(f"brands:\n  {BRAND}: {{}}\n")  # the brand label values
    settings = IngestSettings(config_dir=tmp_path)
    app = bootstrap(settings, clock=ManualClock(), secrets=Secrets(SECRETS), config=IngestConfig(),
                    publisher=publisher, dedupe=dedupe, conversation_brands=brands, http=False)
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app.app), base_url="http://ingest.test")
    yield Ingest(app, client, publisher, dedupe, brands, journal)
    await client.aclose()
