"""The live tail's cursor, driven by a manual clock over an in-memory activity source (no I/O)."""
from __future__ import annotations

from switchboard.common.clock import ManualClock
from switchboard.console.web.live import PAGE, ActivityTail, LiveHub


class ActivityInMemory:
    """What ActivityTail reads of the activity store: facts recorded strictly after a cursor, oldest first."""

    def __init__(self) -> None:
        self.docs: list[dict] = []

    def record(self, doc_id: str, recorded_ms: int, brand: str = "acme") -> None:
        self.docs.append({"_id": doc_id, "brand_id": brand, "conversation_id": f"c-{doc_id}",
                          "kind": "conversation_assigned", "at": None, "recorded_ms": recorded_ms})

    async def recorded_since(self, since_ms: int, limit: int = 1000) -> list[dict]:
        return sorted((d for d in self.docs if d["recorded_ms"] > since_ms), key=lambda d: d["recorded_ms"])[:limit]


def now_ms(clock: ManualClock) -> int:
    return int(clock.now().timestamp() * 1000)


def drain(queue) -> list[dict]:
    return [queue.get_nowait() for _ in range(queue.qsize())]


async def test_a_fact_recorded_in_the_same_millisecond_as_a_burst_resync_still_reaches_the_browser():
    clock, activity, hub = ManualClock(), ActivityInMemory(), LiveHub()
    tail = ActivityTail(activity, hub, clock, interval=1.0)
    await tail.start()
    await tail.stop()  # driven by hand below
    queue = hub.subscribe(("acme",))
    for i in range(PAGE + 10):
        activity.record(f"burst-{i}", now_ms(clock))
    await clock.advance(0.5)
    assert await tail.poll_once() == 0
    assert drain(queue) == [{"kind": "resync"}]

    activity.record("same-ms", now_ms(clock))  # recorded right after the resync, same millisecond
    assert await tail.poll_once() == 1
    assert [e["id"] for e in drain(queue)] == ["same-ms"]
    assert await tail.poll_once() == 0  # passed on once


async def test_events_recorded_within_the_lookback_by_a_late_replica_are_passed_on_once_and_other_brands_never():
    clock, activity, hub = ManualClock(), ActivityInMemory(), LiveHub()
    tail = ActivityTail(activity, hub, clock, interval=1.0)
    await tail.start()
    await tail.stop()
    queue = hub.subscribe(("acme",))
    start = now_ms(clock)
    activity.record("a", start + 100)
    activity.record("g", start + 150, brand="globex")
    await clock.advance(1)
    assert await tail.poll_once() == 2
    activity.record("late", start + 50)  # another replica's write, landing after we read past it
    activity.record("b", start + 1200)
    await clock.advance(1)
    assert await tail.poll_once() == 2
    assert [e["id"] for e in drain(queue)] == ["a", "late", "b"]
