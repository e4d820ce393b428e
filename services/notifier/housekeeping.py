"""Outbox housekeeping, off the delivery path: the open-entries gauge and the retention sweep.

- Gauge: `switchboard_notifier_outbox_pending` is refreshed every GAUGE_SECONDS by its own task, so
  no scan or send ever waits for a count.
- Retention: finished entries (delivered/failed/skipped, already reported) are deleted
  `retention` after they finished, every `interval` seconds, through the `finished_at` index.
  Not a MongoDB TTL index: nx-27017 runs a full purge scan on every read of a TTL-indexed
  collection. While an entry exists, a repeated request for its intent changes nothing; after the
  sweep it would be delivered again, so the retention is the outbox's duplicate-detection window.
"""
from __future__ import annotations

import asyncio
from datetime import timedelta

from switchboard.common.clock import Clock
from switchboard.common.logging import get_logger, mask_string
from switchboard.common.service import Task
from switchboard.notifier import metrics
from switchboard.notifier.adapters.ports import DeliveryRecords

log = get_logger(__name__)
GAUGE_SECONDS = 5.0


class OutboxHousekeeping(Task):
    def __init__(self, outbox: DeliveryRecords, clock: Clock, *, retention: timedelta, interval: float) -> None:
        super().__init__("outbox-housekeeping", self._run)
        self.outbox = outbox
        self.clock = clock
        self.retention = retention
        self.interval = interval

    async def sweep_once(self) -> int:
        """Deletes reported entries that finished more than `retention` ago (by the injected clock)."""
        deleted = await self.outbox.sweep_finished(self.clock.now() - self.retention)
        if deleted:
            log.info("outbox_finished_entries_swept", deleted=deleted,
                     retention_days=self.retention / timedelta(days=1))
        return deleted

    async def refresh_gauge(self) -> None:
        metrics.OUTBOX_PENDING.set(await self.outbox.count_open())

    async def _run(self) -> None:
        await asyncio.gather(self._every(GAUGE_SECONDS, self.refresh_gauge, "outbox_gauge_failed"),
                             self._every(self.interval, self.sweep_once, "outbox_sweep_failed"))

    @staticmethod
    async def _every(seconds: float, job, failure: str) -> None:
        while True:
            try:
                await job()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - the store may be away for a moment: next round
                log.warning(failure, error=mask_string(repr(exc)))
            await asyncio.sleep(seconds)
