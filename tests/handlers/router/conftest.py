"""Fixtures of the router handler tier (helpers in router_handler_kit.py)."""
from __future__ import annotations

import pytest
from router_handler_kit import RouterKit, start_router
from switchboard.router import ownership


@pytest.fixture
async def router(monkeypatch) -> RouterKit:
    """Both router stages' handlers as bootstrap builds them, with in-memory ports: no broker, no store."""
    monkeypatch.setattr(ownership, "LOST_BACKOFF_SECONDS", 0)  # a lost scope's pause, not what these tests time
    return await start_router()
