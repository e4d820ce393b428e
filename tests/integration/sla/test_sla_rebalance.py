"""Two SLA workers share the partitions; when one leaves, the other loads its timers and fires them."""
from __future__ import annotations

import contextlib

from sla_kit import T0, conversation_event, seconds
from switchboard.common.testing import wait_for
from switchboard.sla.bootstrap import bootstrap
from switchboard.sla.settings import SlaSettings


async def start(app) -> list:
    started = []
    for component in app.service.components:
        await component.start()
        started.append(component)
    return started


async def stop(started: list) -> None:
    for component in reversed(started):
        with contextlib.suppress(Exception):
            await component.stop()


async def test_timers_move_with_their_partitions_and_fire_once(service_settings, bus_topics, bus, clock):
    settings = service_settings(SlaSettings)
    first, second = bootstrap(settings, clock=clock, http=False), bootstrap(settings, clock=clock, http=False)
    first_started = await start(first)
    second_started = []
    try:
        second_started = await start(second)
        await wait_for(lambda: first.engine.heap.partitions and second.engine.heap.partitions
                       and len(first.engine.heap.partitions | second.engine.heap.partitions) == 12,
                       timeout=30, message="both workers own partitions")
        conversations = [f"rb-{i}" for i in range(40)]
        for cid in conversations:
            await bus.send(conversation_event(cid, "conversation_opened", T0))
        # first response + resolution: one timer each at a time (the first warning)
        await wait_for(lambda: len(first.engine.heap) + len(second.engine.heap) == 2 * len(conversations),
                       timeout=30, message="all timers armed")
        assert len(first.engine.heap) and len(second.engine.heap)   # both hold some
        await stop(first_started)                                     # the first worker leaves
        first_started = []
        # the second worker takes every partition over and loads the first one's pending timers
        await wait_for(lambda: len(second.engine.heap.partitions) == 12
                       and len(second.engine.heap) == 2 * len(conversations), timeout=30,
                       message="the second worker owns every partition and every timer")
        await clock.set(T0 + seconds(20))
        breaches = await bus.sla_events(case="sla_breached", min_count=len(conversations))
        assert sorted(e.subject for e in breaches) == sorted(conversations)
        assert len({e.id for e in breaches}) == len(breaches) == len(conversations)
    finally:
        await stop(second_started)
        await stop(first_started)
