"""Fires SLA timers at their due time: sleeps on the injected clock until the earliest due timer
(or until a new, earlier one is armed), then fires everything due in batches."""
from __future__ import annotations

import asyncio
import contextlib

from switchboard.common.clock import Clock
from switchboard.common.consumer import TRANSIENT_ERRORS
from switchboard.common.logging import get_logger, mask_string
from switchboard.sla.domain.effects import from_epoch_ms
from switchboard.sla.handlers import SlaEngine

log = get_logger(__name__)


class Scheduler:
    name = "sla-scheduler"

    def __init__(self, engine: SlaEngine, clock: Clock, *, batch_size: int = 1000) -> None:
        self.engine = engine
        self.clock = clock
        self.batch_size = batch_size
        self.task: asyncio.Task | None = None

    async def start(self) -> None:
        self.task = asyncio.create_task(self.run(), name=self.name)

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task

    @property
    def ready(self) -> bool:
        return self.task is not None and not self.task.done()

    async def run(self) -> None:
        wake = self.engine.wake
        failures = 0
        while True:
            wake.clear()  # no await between here and the sleep: an arm in between cannot be missed
            next_due = self.engine.heap.next_due()
            if next_due is None:
                await wake.wait()
                continue
            when = from_epoch_ms(next_due)
            if when > self.clock.now():
                await self.clock.sleep_until(when, wake)
                continue
            try:
                await self.engine.fire_due(self.batch_size)
                failures = 0
            except asyncio.CancelledError:
                raise
            except TRANSIENT_ERRORS as exc:  # broker or store blinked: the timers were put back
                failures += 1
                log.warning("sla_fire_retrying", attempt=failures, error=mask_string(repr(exc)))
                await asyncio.sleep(min(5.0, 0.1 * 2 ** failures))
            except Exception as exc:
                failures += 1
                log.exception("sla_fire_failed", attempt=failures, error=mask_string(repr(exc)))
                await asyncio.sleep(min(5.0, 0.1 * 2 ** failures))
