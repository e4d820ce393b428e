"""Fixtures of the SLA handler tier (helpers in sla_handler_kit.py)."""
from __future__ import annotations

import pytest
from sla_handler_kit import Sla, start_sla


@pytest.fixture
async def sla() -> Sla:
    """The SLA handlers as bootstrap builds them, with in-memory ports: no broker, no store."""
    return await start_sla()
