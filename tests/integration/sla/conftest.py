"""Fixtures for the SLA service on the real Tansu broker and nx-27017."""
from __future__ import annotations

import contextlib

import pytest
from sla_kit import T0, Bus
from switchboard.common.clock import ManualClock
from switchboard.common.testing import wait_for
from switchboard.sla.bootstrap import bootstrap
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
    settings = service_settings(SlaSettings)
    app = bootstrap(settings, clock=clock, http=False)
    started = []
    try:
        for component in app.service.components:
            await component.start()
            started.append(component)
        await wait_for(lambda: app.consumer.assigned, timeout=20, message="partitions assigned")
        yield app
    finally:
        for component in reversed(started):
            with contextlib.suppress(Exception):
                await component.stop()
