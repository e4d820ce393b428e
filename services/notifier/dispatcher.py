"""Delivers due outbox entries through per-destination worker pools, and reports final outcomes.

- The scanner claims due entries (two indexed queries + one bulk claim per round) for pools that have
  room, into a small local queue per pool (at most `concurrency * prefetch` held per pool).
- Each pool runs at most `concurrency` sends at once, each bounded by the pool's timeout, so a
  slow or dead destination fills its own pool and nothing else.
- Outcomes are group-committed: sends finishing together share one bulk_write. A send slot is
  free again when the send returns; the entry stays held (never re-claimed) until its record is
  durable, and held entries per pool are capped, so recording latency cannot pile up unbounded.
- An outcome is never dropped: if the outbox write fails (store away), the batch is kept in memory
  and written again with backoff (<= 1 s) until the store answers. Meanwhile no new send starts
  (what cannot be recorded is not sent), a queued claim whose lease ran out is given up unsent, and
  expired leases are taken over only after `reclaim_grace_seconds` of being seen expired, so the
  holder writes its outcome before anyone could send the entry again.
- The reporter publishes DeliveryRecorded / DLQ records for final states, in batches.
"""
from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections import deque
from collections.abc import Callable
from datetime import datetime, timedelta

import structlog
from switchboard.common.logging import get_logger, mask_string
from switchboard.notifier import metrics
from switchboard.notifier.adapters.ports import DeliveryRecords, WriteRefused
from switchboard.notifier.domain.model import FAILED, IN_FLIGHT, PENDING, Outcome, SendOutcome
from switchboard.notifier.handlers import NotifierHandlers

log = get_logger(__name__)
PREFETCH = 4  # claimed entries a pool may hold per send slot (queued locally + running)
RECORD_RETRY_MAX_SECONDS = 1.0  # outcome writes are retried at least this often while the store is away
STOP_FLUSH_SECONDS = 5.0  # at shutdown, how long unrecorded outcomes wait for the store


class Dispatcher:
    name = "dispatcher"

    def __init__(self, handlers: NotifierHandlers) -> None:
        self.h = handlers
        self.outbox: DeliveryRecords = handlers.outbox
        self.clock = handlers.clock
        self.cfg = handlers.config.scheduler
        self.queues: dict[str, deque[dict]] = {}
        self.active: dict[str, int] = {}       # sends running per pool
        self.held: dict[str, dict] = {}        # outbox id -> claimed doc (queued, running or being recorded)
        self.sends: set[asyncio.Task] = set()
        self.wake = asyncio.Event()
        self.report_wake = asyncio.Event()
        self.task: asyncio.Task | None = None
        self._reporter: asyncio.Task | None = None
        self._recorder: asyncio.Task | None = None
        self._records: list[tuple[object, asyncio.Future, str, str]] = []  # op, waiter, id, claim
        self._writing = 0  # outcomes in the write now in flight (out of _records until it succeeds or fails)
        self._record_wake = asyncio.Event()
        self.recording_failed = False  # the last outcome write failed: hold new sends until one succeeds
        self.scan_failed = False  # the last scan failed: hold new sends until one succeeds
        self._expired_seen: dict[tuple[str, float], float] = {}  # (id, lease_until) -> first seen (monotonic)
        self._unconfirmed_claims: list[str] = []  # claim tokens whose write failed: maybe applied, never sent

    @property
    def ready(self) -> bool:
        return self.task is not None and not self.task.done()

    def poke(self) -> None:
        """New work may be due (intake, a freed slot)."""
        self.wake.set()

    async def start(self) -> None:
        self._recorder = asyncio.create_task(self._record_loop(), name="notifier-record")
        self.task = asyncio.create_task(self._scan_loop(), name="notifier-dispatch")
        self._reporter = asyncio.create_task(self._report_loop(), name="notifier-report")

    async def stop(self) -> None:
        for task in (self.task, self._reporter):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        # Queued (not started) claims go back to pending at once; running sends finish (each is
        # bounded by its pool's timeout) and get recorded.
        queued = [doc for q in self.queues.values() for doc in q]
        for q in self.queues.values():
            q.clear()
        if self.sends:
            timeout = max((self.h.pool(p).timeout for p in self.active), default=1.0) + 1
            await asyncio.wait(list(self.sends), timeout=timeout)
        await self._flush_before_exit(queued)
        if self._recorder is not None:
            self._recorder.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._recorder
        self._give_up_records("shutdown")

    async def _flush_before_exit(self, queued: list[dict]) -> None:
        deadline = time.monotonic() + STOP_FLUSH_SECONDS
        try:
            await self.outbox.write([self.outbox.release_op(d["_id"], d["claim"]) for d in queued])
        except Exception as exc:  # noqa: BLE001 - shutting down: their leases run out, they are sent later
            log.warning("final_release_failed", error=mask_string(repr(exc)))
        while self._records and time.monotonic() < deadline:
            self._record_wake.set()
            await asyncio.sleep(0.05)  # the recorder keeps retrying the write
        try:
            await self._report_once()
        except Exception as exc:  # noqa: BLE001 - the reporter of the next start publishes them
            log.warning("final_report_failed", error=mask_string(repr(exc)))

    # ------------------------------------------------------------------ scanning
    async def _scan_loop(self) -> None:
        while True:
            self.wake.clear()
            try:
                next_due = await self._scan_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - store hiccup: back off, never die
                log.warning("dispatch_scan_failed", error=mask_string(repr(exc)))
                self.scan_failed = True  # the store is likely away: start no send we could not record
                next_due = None
                await asyncio.sleep(self.cfg.poll_seconds)
                continue
            if self.scan_failed:
                self.scan_failed = False
                for pool in list(self.queues):
                    self._start_sends(pool)
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

    def _room(self, pool: str) -> int:
        held = sum(1 for d in self.held.values() if d["pool"] == pool)
        return self.h.pool(pool).concurrency * PREFETCH - held

    async def _scan_once(self) -> datetime | None:
        now = self.clock.now()
        if self._unconfirmed_claims:
            released = await self.outbox.release_claims(self._unconfirmed_claims, now)
            log.info("unconfirmed_claims_released", entries=released)
            self._unconfirmed_claims.clear()
        pools = {d["pool"] for d in self.held.values()}
        full = [p for p in pools if self._room(p) <= 0]
        candidates = await self.outbox.candidates(now, full, list(self.held), self.cfg.claim_batch)
        room: dict[str, int] = {}
        chosen = []
        for c in self._past_grace(candidates):
            pool = c["pool"]
            if pool not in room:
                room[pool] = self._room(pool)
            if room[pool] > 0:
                room[pool] -= 1
                chosen.append(c)
        # The lease covers the wait in the local queue plus the send itself.
        leases = {c["pool"]: self.h.pool(c["pool"]).timeout * (PREFETCH + 1) + self.cfg.lease_seconds
                  for c in chosen}
        token = uuid.uuid4().hex
        try:
            claimed = await self.outbox.claim(chosen, now, leases, token)
        except Exception:
            self._unconfirmed_claims.append(token)  # it may have been applied: released on the next round
            raise
        for doc in claimed:
            self.held[doc["_id"]] = doc
            self.queues.setdefault(doc["pool"], deque()).append(doc)
        for pool in {d["pool"] for d in claimed}:
            self._start_sends(pool)
        if claimed and len(candidates) >= self.cfg.claim_batch:
            self.wake.set()  # more due work behind this page
        return await self.outbox.next_due([p for p in {d["pool"] for d in self.held.values()}
                                           if self._room(p) <= 0])

    def _past_grace(self, candidates: list[dict]) -> list[dict]:
        """Due entries, and expired leases seen expired (same lease) for `reclaim_grace_seconds`."""
        now, grace = time.monotonic(), self.cfg.reclaim_grace_seconds
        seen: dict[tuple[str, float], float] = {}
        ripe = []
        for c in candidates:
            if c["state"] != IN_FLIGHT:
                ripe.append(c)
                continue
            key = (c["_id"], c.get("lease_until", 0.0))
            seen[key] = self._expired_seen.get(key, now)
            if now - seen[key] >= grace:
                ripe.append(c)
        self._expired_seen = seen
        return ripe

    def _start_sends(self, pool: str) -> None:
        queue = self.queues.get(pool)
        limit = self.h.pool(pool).concurrency
        while queue and self.active.get(pool, 0) < limit and not (self.recording_failed or self.scan_failed):
            doc = queue.popleft()
            if doc["lease_until"] <= self.clock.now().timestamp():
                # Waited past its lease (store outage): another worker may own it now. Not sent here.
                self.held.pop(doc["_id"], None)
                self.wake.set()
                continue
            self.active[pool] = self.active.get(pool, 0) + 1
            metrics.IN_FLIGHT.labels(doc["destination_type"]).inc()
            task = asyncio.create_task(self._deliver(doc), name=f"send:{pool}")
            self.sends.add(task)
            task.add_done_callback(self.sends.discard)

    # ------------------------------------------------------------------ sending
    async def _deliver(self, doc: dict) -> None:
        pool = doc["pool"]
        slot = [True]  # the send slot is given back as soon as the send returns, before recording
        try:
            with structlog.contextvars.bound_contextvars(conversation_id=doc.get("conversation_id"),
                                                         event_id=doc.get("event_id"), intent_id=doc["intent_id"],
                                                         destination=doc["destination"]):
                await self._attempt(doc, lambda: self._free_slot(doc, slot))
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - store trouble while recording: the lease expires, it reruns
            log.error("delivery_record_failed", error=mask_string(repr(exc)))
        finally:
            self._free_slot(doc, slot)
            self.held.pop(doc["_id"], None)  # only now may the entry be claimed again
            if len(self.queues.get(pool) or ()) < self.h.pool(pool).concurrency:
                self.wake.set()  # running low: claim more

    def _free_slot(self, doc: dict, slot: list[bool]) -> None:
        if slot[0]:
            slot[0] = False
            self.active[doc["pool"]] -= 1
            metrics.IN_FLIGHT.labels(doc["destination_type"]).dec()
            self._start_sends(doc["pool"])

    async def _attempt(self, doc: dict, sent: Callable[[], None]) -> None:
        started_at = self.clock.now()
        t0 = time.monotonic()
        try:
            outcome, language = await self.h.send(doc, started_at)
        except Exception as exc:  # noqa: BLE001 - a bug composing/sending counts as transient
            outcome, language = SendOutcome.retry(f"unexpected error: {type(exc).__name__}: {exc}"), ""
        sent()
        metrics.DELIVERY_SECONDS.labels(doc["destination_type"]).observe(time.monotonic() - t0)
        metrics.ATTEMPTS.labels(doc["destination_type"], outcome.outcome.value,
                                metrics.brand(doc.get("brand_id"))).inc()
        now = self.clock.now()
        attempt = doc.get("attempts", 0) + 1
        first = doc.get("first_attempt_at") or started_at.timestamp()
        state, delay = self.h.next_step({**doc, "first_attempt_at": first}, outcome, attempt, now)
        if state == PENDING:
            log.info("delivery_retry_scheduled", attempt=attempt, delay_seconds=round(delay, 3),
                     detail=mask_string(outcome.detail))
            await self._record(doc, self.outbox.reschedule_op(doc["_id"], doc["claim"],
                                                              now + timedelta(seconds=delay), now, attempt,
                                                              mask_string(outcome.detail), first))
            return
        detail = outcome.detail
        if state == FAILED and outcome.outcome is Outcome.RETRY:
            detail = f"retry budget exhausted after {attempt} attempts: {outcome.detail}"
        await self._record(doc, self.outbox.finish_op(doc["_id"], doc["claim"], state, now, attempt,
                                                      mask_string(detail), outcome.provider_message_id, first,
                                                      language))
        if state == FAILED:
            log.warning("delivery_failed", attempts=attempt, detail=mask_string(detail))
        else:
            log.debug("delivery_finished", state=state, attempts=attempt)
        self.report_wake.set()

    # ------------------------------------------------------------------ recording (group commit)
    async def _record(self, doc: dict, op: object) -> None:
        """Returns once the outcome is durable. Never fails on store trouble: the write is retried."""
        future = asyncio.get_running_loop().create_future()
        self._records.append((op, future, doc["_id"], doc["claim"]))
        self._record_wake.set()
        await future

    async def _record_loop(self) -> None:
        delay = 0.0
        while True:
            if not self._records:
                await self._record_wake.wait()
            self._record_wake.clear()
            await asyncio.sleep(delay)  # 0 normally: sends finishing in the same tick join this write
            try:
                await self._flush_records()
                delay = 0.0
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - the store is away: keep the outcomes, write them again
                if not self.recording_failed:
                    log.warning("outcome_write_failed_retrying", held=len(self._records),
                                error=mask_string(repr(exc)))
                self.recording_failed = True
                metrics.OUTCOMES_UNRECORDED.set(self.unrecorded)
                delay = min(RECORD_RETRY_MAX_SECONDS, max(0.05, delay * 2))

    @property
    def unrecorded(self) -> int:
        """Finished sends whose outcome is not durable yet (held, or in the write now in flight)."""
        return len(self._records) + self._writing

    async def _flush_records(self) -> None:
        batch, self._records = self._records, []
        if not batch:
            return
        self._writing = len(batch)
        try:
            matched = await self.outbox.write([op for op, *_ in batch])
        except WriteRefused as exc:  # the store answered and refused some ops: retrying cannot help
            log.error("outcome_write_refused", error=mask_string(str(exc)))
            matched = None
        except Exception:
            self._records = batch + self._records  # oldest first, retried by the record loop
            raise
        finally:
            self._writing = 0
        if matched is not None and matched < len(batch):
            try:
                await self._check_taken_over(batch)
            except Exception as exc:  # noqa: BLE001 - only a diagnosis: the outcomes are written
                log.warning("outcome_takeover_check_failed", error=mask_string(repr(exc)))
        for _, future, *_ in batch:
            if not future.done():
                future.set_result(None)
        if self.recording_failed:
            log.info("outcome_writes_recovered", written=len(batch))
            self.recording_failed = False
            metrics.OUTCOMES_UNRECORDED.set(self.unrecorded)
            for pool in list(self.queues):
                self._start_sends(pool)

    async def _check_taken_over(self, batch: list) -> None:
        """Some guarded writes matched nothing: already applied (a retry after a lost reply), or
        another worker claimed the entry meanwhile. Only the latter is worth an alarm."""
        claims = {doc_id: claim for _, _, doc_id, claim in batch}
        now_claimed = await self.outbox.claims(list(claims))
        lost = [doc_id for doc_id, claim in claims.items() if now_claimed.get(doc_id, claim) != claim]
        if lost:
            metrics.OUTCOMES_LOST.labels("claim_taken_over").inc(len(lost))
            log.error("outcome_lost_claim_taken_over", entries=len(lost))

    def _give_up_records(self, reason: str) -> None:
        batch, self._records = self._records, []
        if batch:
            metrics.OUTCOMES_LOST.labels(reason).inc(len(batch))
            log.error("outcomes_not_recorded", reason=reason, entries=len(batch))
        for _, future, *_ in batch:
            if not future.done():
                future.set_exception(ConnectionError(f"outcome not recorded ({reason})"))

    # ------------------------------------------------------------------ reporting
    async def _report_loop(self) -> None:
        while True:
            # Cleared before the round, not after: an outcome recorded during the round sets it
            # again, and its DeliveryRecorded goes out in the next round instead of a poll later.
            self.report_wake.clear()
            try:
                more = await self._report_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - Kafka or store trouble: retry on the next round
                log.warning("report_failed", error=mask_string(repr(exc)))
                more = False
                await asyncio.sleep(self.cfg.poll_seconds)
            if more:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.report_wake.wait(), self.cfg.poll_seconds)

    async def _report_once(self, limit: int = 500) -> bool:
        docs = await self.outbox.unreported(limit)
        if not docs:
            return False
        reported = await self.h.report(docs)
        await self.outbox.mark_reported(reported)
        return len(docs) >= limit
