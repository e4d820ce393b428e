"""The router's periodic tick: fires due timers (transcripts after their grace, reassignments) through
the handler's single-writer path, on the injected clock."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from datetime import timedelta
from typing import Protocol

from switchboard.common.clock import Clock
from switchboard.common.logging import get_logger

log = get_logger(__name__)


class Ticks(Protocol):
    async def tick(self, brands: set[str]) -> int:
        """Fires what is due for these brands (the owned ones); returns the number of effects."""


class Ticker:
    name = "ticker"

    def __init__(self, handler: Ticks, clock: Clock, interval: float, brands: Callable[[], set[str]],
                 ready: Callable[[], bool]) -> None:
        self._handler, self._clock, self._interval = handler, clock, timedelta(seconds=interval)
        self._brands, self._ready = brands, ready
        self._task: asyncio.Task | None = None
        self.ticks = 0

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="router-ticker")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            await self._clock.sleep_until(self._clock.now() + self._interval)
            if not self._ready():
                continue
            try:
                effects = await self._handler.tick(self._brands())
                self.ticks += 1
                if effects:
                    log.info("router_tick", effects=effects)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the next tick tries again from the stored state
                log.warning("router_tick_failed", error=type(exc).__name__, detail=str(exc)[:200])
