"""Fixtures for the SLA service on the real Tansu broker and nx-27017."""
from __future__ import annotations

import pytest
from sla_kit import T0, Bus, running_sla
from switchboard.common.clock import ManualClock
from switchboard.sla.settings import SlaSettings


@pytest.fixture
def bus(producer, bus_topics, kafka_bootstrap) -> Bus:
    return Bus(producer, bus_topics, kafka_bootstrap)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
async def sla_app(service_settings, bus_topics, clock):
    """The SLA service in this process (demo policies), driven by a ManualClock."""
    async with running_sla(service_settings(SlaSettings), clock) as app:
        yield app
