"""Delivers due outbox entries through per-destination worker pools, and reports final outcomes.

- New due entries are sent before they are stored as their pool has room (send_first.py): one write
  per first-attempt delivery. Those with a once_key / supersede_key go in claimed by intake (`reserve`
  / `hand_over`); only entries that insert created are handed over, not a redelivered stored one.
- The scanner claims due entries (two indexed queries + one bulk claim per round) for pools that have
  room, into a small local queue per pool (at most `concurrency * prefetch` held per pool).
- Each pool runs at most `concurrency` sends at once, each bounded by the pool's timeout, so a
  slow or dead destination fills its own pool and nothing else.
- Outcomes are written by recorder.py: group-committed, a final one's DeliveryRecorded published
  (and acknowledged) before its write, held in memory and written again while the store is away. A
  send slot is free again when the send returns; the entry stays held (never re-claimed) until its
  record is durable, and held entries per pool are capped, so recording latency cannot pile up.
- While an outcome write or a scan fails, no new send starts (what cannot be recorded is not sent),
  a queued claim whose lease ran out is given up unsent, and expired leases are taken over only after
  `reclaim_grace_seconds` of being seen expired, so the holder writes its outcome before anyone could
  send the entry again.
- The reporter publishes DeliveryRecorded / DLQ records of final states the recorder could not
  report (broker away) and of entries intake recorded as skipped, in batches.
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
from switchboard.notifier.adapters.ports import DeliveryRecords, Entry, Reservation, Sending
from switchboard.notifier.domain.model import FAILED, IN_FLIGHT, PENDING, Outcome, SendOutcome
from switchboard.notifier.handlers import NotifierHandlers
from switchboard.notifier.recorder import OutcomeRecorder, as_finished
from switchboard.notifier.send_first import SendFirst

log = get_logger(__name__)
PREFETCH = 4  # claimed entries a pool may hold per send slot (queued locally + running)
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
        self.room = asyncio.Event()  # a pool ran low on queued sends: it may take more
        self.report_wake = asyncio.Event()
        self.task: asyncio.Task | None = None
        self._reporter: asyncio.Task | None = None
        self._recorder: asyncio.Task | None = None
        self.recorder = OutcomeRecorder(self.outbox, handlers.report_now, ack_seconds=self.cfg.report_ack_seconds,
                                        on_recovered=self._start_all, on_unreported=self.report_wake.set)
        self.first = SendFirst(self.outbox, self.recorder)  # entries sent before they are stored
        self.scan_failed = False  # the last scan failed: hold new sends until one succeeds
        self._expired_seen: dict[tuple[str, float], float] = {}  # (id, lease_until) -> first seen (monotonic)
        self._unconfirmed_claims: list[str] = []  # claim tokens whose write failed: maybe applied, never sent

    @property
    def ready(self) -> bool:
        return self.task is not None and not self.task.done()

    @property
    def recording_failed(self) -> bool:
        """The last outcome write failed: no new send starts until one succeeds."""
        return self.recorder.failed

    @property
    def unrecorded(self) -> int:
        return self.recorder.unrecorded

    def poke(self) -> None:
        """New work may be due (intake, a freed slot)."""
        self.wake.set()

    async def start(self) -> None:
        self._recorder = asyncio.create_task(self.recorder.run(), name="notifier-record")
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
        self.recorder.give_up("shutdown")

    async def _flush_before_exit(self, queued: list[dict]) -> None:
        deadline = time.monotonic() + STOP_FLUSH_SECONDS
        try:
            await self.outbox.write([self.outbox.release_op(d["_id"], d["claim"]) for d in queued])
        except Exception as exc:  # noqa: BLE001 - shutting down: their leases run out, they are sent later
            log.warning("final_release_failed", error=mask_string(repr(exc)))
        while self.recorder.holding and time.monotonic() < deadline:
            self.recorder.poke()
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
                self._start_all()
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

    def _fitting(self, entries) -> list[Entry]:
        """The entries the pools have room for, in order (intake's reservations and the scanner's claims)."""
        room: dict[str, int] = {}
        fitting = []
        for entry in entries:
            pool = entry["pool"]
            if pool not in room:
                room[pool] = self._room(pool)
            if room[pool] > 0:
                room[pool] -= 1
                fitting.append(entry)
        return fitting

    def _lease(self, pool: str) -> float:
        """The lease covers the wait in the local queue plus the send itself."""
        return self.h.pool(pool).timeout * (PREFETCH + 1) + self.cfg.lease_seconds

    # ------------------------------------------------------------------ claimed at insert (intake)
    def reserve(self, entries: list[Entry], now: datetime) -> Reservation:
        """Claims, in memory, the new due entries its pools have room for: intake inserts them so
        (in_flight, this token, a lease), one write instead of insert + claim. They count as held at
        once, so neither the scanner nor another intake batch overfills a pool meanwhile."""
        reservation = Reservation(uuid.uuid4().hex)
        if not self.ready or self.recording_failed or self.scan_failed:
            return reservation  # inserted pending: the scanner claims them when sends may start
        fresh: dict[str, Entry] = {}
        for entry in entries:
            if entry["_id"] not in self.held:
                fresh.setdefault(entry["_id"], entry)
        for entry in self._fitting(fresh.values()):
            doc = {**entry, "state": IN_FLIGHT, "claim": reservation.token,
                   "lease_until": now.timestamp() + self._lease(entry["pool"])}
            reservation.claimed[entry["_id"]] = doc
            self.held[entry["_id"]] = doc
        return reservation

    def hand_over(self, reservation: Reservation, inserted: frozenset[str] | None) -> None:
        """Queues the reserved entries the insert created. One it found already stored (a redelivery)
        is someone else's to send. `inserted=None`: the insert failed but may have been applied, so
        its entries are released to pending by the next scan, never sent from here."""
        handed = []
        for entry_id, doc in reservation.claimed.items():
            if self.held.get(entry_id) is not doc:
                continue
            if inserted is None or entry_id not in inserted:
                del self.held[entry_id]
                continue
            handed.append(doc)
        if inserted is None and reservation.claimed:
            self._unconfirmed_claims.append(reservation.token)
            self.wake.set()
        self._queue(handed, "intake")

    def send_first(self, entries: list[Entry], now: datetime) -> Sending:  # `settle` stores them
        return self.first.start(entries, self._admit)

    async def settle(self, sending: Sending) -> list[Entry]:
        deadline = asyncio.get_running_loop().time() + self.cfg.send_first_seconds
        await self.first.admit_waiting(sending, deadline, self._admit, self.room)
        await self.first.settle(sending.entries, deadline - asyncio.get_running_loop().time())
        return sending.waiting

    def _admit(self, entries: list[Entry]) -> list[Entry]:
        """Claims in memory (like `reserve`) and queues the entries that fit; returns them."""
        claimed = list(self.reserve(entries, self.clock.now()).claimed.values())
        self._queue(claimed, "send_first")
        return claimed

    def _queue(self, claimed: list[Entry], by: str) -> None:
        """Claimed entries into their pools' local queues; the pools start what they have room for."""
        for doc in claimed:
            self.queues.setdefault(doc["pool"], deque()).append(doc)
        metrics.CLAIMS.labels(by).inc(len(claimed))
        for pool in {doc["pool"] for doc in claimed}:
            self._start_sends(pool)

    def _start_all(self) -> None:
        for pool in list(self.queues):
            self._start_sends(pool)

    async def _scan_once(self) -> datetime | None:
        now = self.clock.now()
        if self._unconfirmed_claims:
            released = await self.outbox.release_claims(self._unconfirmed_claims, now)
            log.info("unconfirmed_claims_released", entries=released)
            self._unconfirmed_claims.clear()
        pools = {d["pool"] for d in self.held.values()}
        full = [p for p in pools if self._room(p) <= 0]
        candidates = await self.outbox.candidates(now, full, list(self.held), self.cfg.claim_batch)
        chosen = self._fitting(self._past_grace(candidates))
        leases = {c["pool"]: self._lease(c["pool"]) for c in chosen}
        token = uuid.uuid4().hex
        try:
            claimed = await self.outbox.claim(chosen, now, leases, token)
        except Exception:
            self._unconfirmed_claims.append(token)  # it may have been applied: released on the next round
            raise
        for doc in claimed:
            self.held[doc["_id"]] = doc
        self._queue(claimed, "scanner")
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
                self.wake.set()  # running low: claim more (the scanner), admit more (send-first)
                self.room.set()

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
            due_at, retry_detail = now + timedelta(seconds=delay), mask_string(outcome.detail)

            def reschedule(_reported: bool, whole: Entry | None) -> object:
                return self.outbox.reschedule_op(doc["_id"], doc["claim"], due_at, now, attempt, retry_detail,
                                                 first, whole=whole)

            await self.first.record(doc, reschedule, None)
            return
        detail = outcome.detail
        if state == FAILED and outcome.outcome is Outcome.RETRY:
            detail = f"retry budget exhausted after {attempt} attempts: {outcome.detail}"
        detail, message_id = mask_string(detail), outcome.provider_message_id

        def finish(reported: bool, whole: Entry | None) -> object:
            return self.outbox.finish_op(doc["_id"], doc["claim"], state, now, attempt, detail, message_id, first,
                                         language, reported=reported, whole=whole)

        await self.first.record(doc, finish, as_finished({**doc, "first_attempt_at": first}, state, now,
                                                         attempt, detail, message_id, language))
        if state == FAILED:
            log.warning("delivery_failed", attempts=attempt, detail=detail)
        else:
            log.debug("delivery_finished", state=state, attempts=attempt)

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
            # asyncio.wait, not wait_for: on 3.11 wait_for swallows a cancel that lands as the event
            # is set, and stop() then waits forever for this task.
            woken = asyncio.ensure_future(self.report_wake.wait())
            try:
                await asyncio.wait([woken], timeout=self.cfg.poll_seconds)
            finally:
                woken.cancel()

    async def _report_once(self, limit: int = 500) -> bool:
        docs = await self.outbox.unreported(limit)
        if not docs:
            return False
        reported = await self.h.report(docs)
        await self.outbox.mark_reported(reported)
        self.recorder.report_first = True  # the broker acknowledges again: report before the write again
        return len(docs) >= limit
