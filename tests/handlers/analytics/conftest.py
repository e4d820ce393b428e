"""Fixtures of the analytics handler tier (helpers in analytics_handler_kit.py)."""
from __future__ import annotations

import pytest
from analytics_handler_kit import Replica, fakes


@pytest.fixture
def store():
    return fakes.MemoryOpenConversationStore()


@pytest.fixture
def ledger():
    return fakes.MemorySlotLedger()


@pytest.fixture
async def replicas(store, ledger):
    """Two analytics replicas sharing one (in-memory) store and slot ledger."""
    made = [Replica(store, ledger), Replica(store, ledger)]
    for replica in made:
        await replica.app.metrics.start()
    yield made
    for replica in made:
        await replica.app.metrics.stop()
