"""A third SLA worker joins two that hold armed timers: the partitions it takes are revoked from
live workers, whose timers for them stop there and fire on the newcomer, each exactly once.

(tests/e2e/test_replicas.py covers kill -9 of one of two SLA processes; test_sla_rebalance.py a
worker that leaves.)
"""
from __future__ import annotations

from sla_kit import T0, conversation_event, seconds
from switchboard.common.testing import wait_for
from switchboard.sla.bootstrap import bootstrap
from switchboard.sla.settings import SlaSettings
from test_sla_rebalance import start, stop

CONVERSATIONS = 60


def disjoint_and_complete(apps) -> bool:
    owned = [app.engine.heap.partitions for app in apps]
    return all(owned) and sum(len(p) for p in owned) == len(set().union(*owned)) == 12


async def test_a_joining_worker_takes_over_armed_timers_and_each_fires_once(service_settings, bus_topics, bus, clock):
    settings = service_settings(SlaSettings)
    workers = [bootstrap(settings, clock=clock, http=False) for _ in range(3)]
    started: list[list] = []
    try:
        for app in workers[:2]:
            started.append(await start(app))
        await wait_for(lambda: disjoint_and_complete(workers[:2]), timeout=30, message="two workers split 12")
        conversations = [f"rep-{i}" for i in range(CONVERSATIONS)]
        for cid in conversations:
            await bus.send(conversation_event(cid, "conversation_opened", T0))
        timers = 2 * CONVERSATIONS  # first response + resolution: one pending timer per clock
        await wait_for(lambda: sum(len(app.engine.heap) for app in workers[:2]) == timers, timeout=30,
                       message="every timer armed on the two workers")
        before = [set(app.engine.heap.partitions) for app in workers[:2]]

        started.append(await start(workers[2]))
        await wait_for(lambda: disjoint_and_complete(workers)
                       and sum(len(app.engine.heap) for app in workers) == timers,
                       timeout=30, message="three workers split 12 and hold every timer once")
        assert len(workers[2].engine.heap) > 0, "the newcomer took no armed timer over"
        # Partitions that changed hands between live workers: held (with their timers) only by the new owner.
        moved = [p for i, owned_before in enumerate(before) for p in owned_before
                 if p not in workers[i].engine.heap.partitions]
        assert moved, "no partition was revoked from a live worker"
        held = [len(app.engine.heap) for app in workers]

        await clock.set(T0 + seconds(20))
        breaches = await bus.sla_events(case="sla_breached", min_count=CONVERSATIONS)
        await wait_for(lambda: all((app.engine.heap.next_due() or float("inf")) > 1000 * clock.now().timestamp()
                                   for app in workers), timeout=20, message="nothing due left on any worker")
        breaches = await bus.sla_events(case="sla_breached")
        assert sorted(e.subject for e in breaches) == sorted(conversations)  # each once: no copy at all
        print(f"timers held per worker after the join: {held}; partitions revoked from live workers: {len(moved)}")
    finally:
        for one in reversed(started):  # one after another: the group keeps assigning
            await stop(one)
