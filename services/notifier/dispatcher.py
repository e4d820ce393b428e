"""Delivers due outbox entries through per-destination worker pools, and reports final outcomes.

One scan loop claims due work only for pools with free slots, so a slow or dead destination
fills its own pool and nothing else; each send runs in its own task with the pool's timeout.
"""
from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta

import structlog

from switchboard.common.logging import get_logger, mask_string
from switchboard.notifier import metrics
from switchboard.notifier.adapters.outbox import DELIVERED, FAILED, PENDING
from switchboard.notifier.handlers import NotifierHandlers
from switchboard.notifier.domain.model import SendOutcome

log = get_logger(__name__)


class Dispatcher:
    name = "dispatcher"

    def __init__(self, handlers: NotifierHandlers) -> None:
        self.h = handlers
        self.outbox = handlers.outbox
        self.clock = handlers.clock
        self.cfg = handlers.config.scheduler
        self.active: dict[str, int] = {}
        self.running: dict[str, asyncio.Task] = {}  # outbox id -> send task
        self.wake = asyncio.Event()
        self.report_wake = asyncio.Event()
        self.task: asyncio.Task | None = None
        self._reporter: asyncio.Task | None = None
        self._stopping = False
        self._last_gauge = 0.0

    @property
    def ready(self) -> bool:
        return self.task is not None and not self.task.done()

    def poke(self) -> None:
        """New work may be due (intake, a freed slot)."""
        self.wake.set()

    async def start(self) -> None:
        self.task = asyncio.create_task(self._scan_loop(), name="notifier-dispatch")
        self._reporter = asyncio.create_task(self._report_loop(), name="notifier-report")

    async def stop(self) -> None:
        self._stopping = True
        for task in (self.task, self._reporter):
            if task is not None:
                task.cancel()
                try:
                    await task
                except (asyncio.CancelledError, Exception):
                    pass
        # Sends in progress finish (each is bounded by its destination timeout) and get recorded.
        if self.running:
            await asyncio.wait(list(self.running.values()), timeout=max(
                (self.h.pool(p).timeout for p in self.active), default=1.0) + 1)
        try:
            await self._report_once()
        except Exception as exc:
            log.warning("final_report_failed", error=mask_string(repr(exc)))

    async def _scan_loop(self) -> None:
        while True:
            try:
                next_due = await self._scan_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # store hiccup: back off, never die
                log.warning("dispatch_scan_failed", error=mask_string(repr(exc)))
                next_due = None
                await asyncio.sleep(self.cfg.poll_seconds)
            self.wake.clear()
            await self._sleep(next_due)

    async def _sleep(self, next_due: datetime | None) -> None:
        waiters = [asyncio.ensure_future(self.wake.wait()),
                   asyncio.ensure_future(asyncio.sleep(self.cfg.poll_seconds))]
        if next_due is not None:
            waiters.append(asyncio.ensure_future(self.clock.sleep_until(next_due)))
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waiters:
                w.cancel()

    def _full_pools(self) -> list[str]:
        return [p for p, n in self.active.items() if n >= self.h.pool(p).concurrency]

    async def _scan_once(self) -> datetime | None:
        now = self.clock.now()
        await self._update_gauge()
        full = self._full_pools()
        candidates = await self.outbox.candidates(now, full, list(self.running), self.cfg.claim_batch)
        # Respect each pool's free slots before claiming anything.
        free: dict[str, int] = {}
        chosen = []
        for c in candidates:
            pool = c["pool"]
            if pool not in free:
                free[pool] = self.h.pool(pool).concurrency - self.active.get(pool, 0)
            if free[pool] > 0:
                free[pool] -= 1
                chosen.append(c)
        leases = {c["pool"]: self.h.pool(c["pool"]).timeout + self.cfg.lease_seconds for c in chosen}
        claimed = await self.outbox.claim(chosen, now, leases)
        for doc in claimed:
            self.active[doc["pool"]] = self.active.get(doc["pool"], 0) + 1
            metrics.IN_FLIGHT.labels(doc["destination_type"]).inc()
            self.running[doc["_id"]] = asyncio.create_task(self._deliver(doc), name=f"send:{doc['pool']}")
        if len(candidates) >= self.cfg.claim_batch and claimed:
            self.wake.set()  # more due work behind this page
        return await self.outbox.next_due(self._full_pools())

    async def _update_gauge(self) -> None:
        if time.monotonic() - self._last_gauge >= 1.0:
            self._last_gauge = time.monotonic()
            metrics.OUTBOX_PENDING.set(await self.outbox.count_open())

    async def _deliver(self, doc: dict) -> None:
        pool = doc["pool"]
        try:
            with structlog.contextvars.bound_contextvars(conversation_id=doc.get("conversation_id"),
                                                         event_id=doc.get("event_id"), intent_id=doc["intent_id"],
                                                         destination=doc["destination"]):
                await self._attempt(doc)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            # Store trouble while recording: the lease expires and the entry is retried.
            log.error("delivery_record_failed", error=mask_string(repr(exc)))
        finally:
            self.active[pool] -= 1
            self.running.pop(doc["_id"], None)
            metrics.IN_FLIGHT.labels(doc["destination_type"]).dec()
            self.wake.set()

    async def _attempt(self, doc: dict) -> None:
        started_at = self.clock.now()
        t0 = time.monotonic()
        try:
            outcome, language = await self.h.send(doc, started_at)
        except Exception as exc:  # a bug in composing or sending: count it as a transient failure
            outcome, language = SendOutcome.retry(f"unexpected error: {type(exc).__name__}: {exc}"), ""
        metrics.DELIVERY_SECONDS.labels(doc["destination_type"]).observe(time.monotonic() - t0)
        metrics.ATTEMPTS.labels(doc["destination_type"], outcome.outcome.value).inc()
        now = self.clock.now()
        attempt = doc.get("attempts", 0) + 1
        first = doc.get("first_attempt_at") or started_at
        state, delay = self.h.next_step({**doc, "first_attempt_at": first}, outcome, attempt, now)
        if state == PENDING:
            log.info("delivery_retry_scheduled", attempt=attempt, delay_seconds=round(delay, 3),
                     detail=mask_string(outcome.detail))
            await self.outbox.reschedule(doc["_id"], doc["claim"], now + timedelta(seconds=delay), now, attempt,
                                         mask_string(outcome.detail), first)
            return
        detail = outcome.detail
        if state == FAILED and outcome.outcome.value == "retry":
            detail = f"retry budget exhausted after {attempt} attempts: {outcome.detail}"
        await self.outbox.finish(doc["_id"], doc["claim"], state, now, attempt, mask_string(detail),
                                 outcome.provider_message_id, first)
        if language and language != doc.get("language"):
            await self.outbox.collection.update_one({"_id": doc["_id"]}, {"$set": {"language": language}})
        (log.info if state == DELIVERED else log.warning)("delivery_finished", state=state, attempts=attempt,
                                                           detail=mask_string(detail))
        self.report_wake.set()

    async def _report_loop(self) -> None:
        while True:
            try:
                more = await self._report_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("report_failed", error=mask_string(repr(exc)))
                more = False
                await asyncio.sleep(self.cfg.poll_seconds)
            if more:
                continue
            self.report_wake.clear()
            try:
                await asyncio.wait_for(self.report_wake.wait(), self.cfg.poll_seconds)
            except TimeoutError:
                pass

    async def _report_once(self, limit: int = 500) -> bool:
        docs = await self.outbox.unreported(limit)
        if not docs:
            return False
        reported = await self.h.report(docs)
        await self.outbox.mark_reported(reported)
        return len(docs) >= limit
