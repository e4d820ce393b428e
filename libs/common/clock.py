"""An injected clock: services read time only through it, so tests can drive time."""
from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...

    async def sleep_until(self, when: datetime, wake: asyncio.Event | None = None) -> None:
        """Returns at `when`, or earlier when `wake` is set (a new, earlier deadline arrived)."""


async def _wait(wake: asyncio.Event | None, timeout: float) -> None:
    if wake is None:
        await asyncio.sleep(timeout)
        return
    try:
        await asyncio.wait_for(wake.wait(), timeout)
    except TimeoutError:
        pass


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    async def sleep_until(self, when: datetime, wake: asyncio.Event | None = None) -> None:
        await _wait(wake, max(0.0, (when - self.now()).total_seconds()))


class ManualClock:
    """Time stands still until a test calls advance() or set(); sleepers wake when their time comes."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
        self._sleepers: list[tuple[datetime, asyncio.Future[None]]] = []

    def now(self) -> datetime:
        return self._now

    async def advance(self, delta: timedelta | float) -> None:
        await self.set(self._now + (delta if isinstance(delta, timedelta) else timedelta(seconds=delta)))

    async def set(self, when: datetime) -> None:
        if when < self._now:
            raise ValueError("a ManualClock never goes backwards")
        self._now = when
        for due, future in self._sleepers:
            if due <= when and not future.done():
                future.set_result(None)
        for _ in range(3):  # let woken sleepers run before the test looks
            await asyncio.sleep(0)

    async def sleep_until(self, when: datetime, wake: asyncio.Event | None = None) -> None:
        if self._now >= when:
            return
        entry = (when, asyncio.get_running_loop().create_future())
        self._sleepers.append(entry)
        waiters: list[asyncio.Future] = [entry[1]]
        if wake is not None:
            waiters.append(asyncio.ensure_future(wake.wait()))
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
            self._sleepers.remove(entry)


def utc(dt: datetime) -> datetime:
    """Naive datetimes are UTC by convention (nx-27017 returns naive UTC without tz_aware)."""
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


ZERO = timedelta(0)
