"""Outcome writes of the dispatcher: group-committed, reported first, never dropped.

- Sends finishing together share one bulk_write (group commit).
- A final outcome (delivered / failed / skipped) is reported before it is written: its
  DeliveryRecorded (and, for a failure, the DLQ record) is published and acknowledged by the broker,
  then the outcome is written with `report_due: False`. One outbox write per outcome instead of two
  (the write, then the reporter's mark). The event id is deterministic per outcome, so a crash
  between the ack and the write (the entry is sent again after its lease) reports the same id again.
- Broker away or slow (no ack within `ack_seconds`): the outcome is written with `report_due: True`
  and the reporter publishes it later. Reports before the write then stay off until a reporter round
  succeeds, so a broker outage adds `ack_seconds` to one write, not to every one.
- An outcome is never dropped: if the write fails (store away) the batch is kept in memory and written
  again with backoff (<= 1 s) until the store answers; its report is not published again.
- Entries sent before they were stored (send_first.py) have their first write here too: an
  insert-if-absent of the whole entry (its outcome, or claimed), with the same retries and group commit.
"""
from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from switchboard.common.logging import get_logger, mask_string
from switchboard.notifier import metrics
from switchboard.notifier.adapters.ports import DeliveryRecords, Entry, WriteRefused

log = get_logger(__name__)
RECORD_RETRY_MAX_SECONDS = 1.0  # outcome writes are retried at least this often while the store is away


def as_finished(doc: Entry, state: str, now: datetime, attempts: int, detail: str, provider_message_id: str,
                language: str) -> Entry:
    """The entry as its final write leaves it (adapters/store.py finish_change): what its report says."""
    return {**doc, "state": state, "attempts": attempts, "detail": detail, "provider_message_id": provider_message_id,
            "finished_at": now.timestamp(), "language": language or doc.get("language", "")}


@dataclass(eq=False)
class _Outcome:
    entry_id: str
    claim: str
    op: Callable[[bool], object]  # the outbox write, given whether the report is out
    report: Entry | None          # a final outcome's entry, to report; None for a retry
    done: asyncio.Future
    reported: bool | None = None  # None: not tried yet; False: left to the reporter


class OutcomeRecorder:
    def __init__(self, outbox: DeliveryRecords, report: Callable[[list[Entry]], Awaitable[None]], *,
                 ack_seconds: float, on_recovered: Callable[[], None], on_unreported: Callable[[], None]) -> None:
        self.outbox = outbox
        self._report = report            # publishes and waits for the broker's acks; raises if one fails
        self.ack_seconds = ack_seconds
        self._on_recovered = on_recovered  # writes work again: start the sends held meanwhile
        self._on_unreported = on_unreported  # outcomes left to the reporter: wake it
        self.report_first = True         # off after a failed report, on again after a reporter round
        self.failed = False              # the last write failed: hold new sends until one succeeds
        self._records: list[_Outcome] = []
        self._writing = 0                # outcomes in the write now in flight
        self._wake = asyncio.Event()

    @property
    def unrecorded(self) -> int:
        """Finished sends whose outcome is not durable yet (held, or in the write now in flight)."""
        return len(self._records) + self._writing

    @property
    def holding(self) -> bool:
        return bool(self._records)

    async def record(self, doc: Entry, op: Callable[[bool], object], report: Entry | None = None) -> None:
        """Returns once the outcome is durable. Never fails on store trouble: the write is retried."""
        outcome = _Outcome(doc["_id"], doc["claim"], op, report, asyncio.get_running_loop().create_future())
        self._records.append(outcome)
        self._wake.set()
        await outcome.done

    def poke(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        delay = 0.0
        while True:
            if not self._records:
                await self._wake.wait()
            self._wake.clear()
            await asyncio.sleep(delay)  # 0 normally: sends finishing in the same tick join this write
            try:
                await self._flush()
                delay = 0.0
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - the store is away: keep the outcomes, write them again
                if not self.failed:
                    log.warning("outcome_write_failed_retrying", held=len(self._records),
                                error=mask_string(repr(exc)))
                self.failed = True
                metrics.OUTCOMES_UNRECORDED.set(self.unrecorded)
                delay = min(RECORD_RETRY_MAX_SECONDS, max(0.05, delay * 2))

    async def _flush(self) -> None:
        batch, self._records = self._records, []
        if not batch:
            return
        self._writing = len(batch)
        try:
            await self._report_first(batch)
            matched = await self.outbox.write([o.op(bool(o.reported)) for o in batch])
        except WriteRefused as exc:  # the store answered and refused some ops: retrying cannot help
            log.error("outcome_write_refused", error=mask_string(str(exc)))
            matched = None
        except BaseException:
            self._records = batch + self._records  # oldest first, retried by the record loop
            raise
        finally:
            self._writing = 0
        if matched is not None and matched < len(batch):
            try:
                await self._check_taken_over(batch)
            except Exception as exc:  # noqa: BLE001 - only a diagnosis: the outcomes are written
                log.warning("outcome_takeover_check_failed", error=mask_string(repr(exc)))
        for outcome in batch:
            if not outcome.done.done():
                outcome.done.set_result(None)
        if any(o.reported is False for o in batch):
            self._on_unreported()
        if self.failed:
            log.info("outcome_writes_recovered", written=len(batch))
            self.failed = False
            metrics.OUTCOMES_UNRECORDED.set(self.unrecorded)
            self._on_recovered()

    async def _report_first(self, batch: list[_Outcome]) -> None:
        """Publishes the batch's final outcomes not tried yet and waits for the acks (bounded); what is
        not acknowledged in time is written as still to report."""
        todo = [o for o in batch if o.report is not None and o.reported is None]
        if not todo:
            return
        ok = False
        if self.report_first:
            # asyncio.wait, not wait_for: on 3.11 wait_for can swallow a cancel (stop) that lands as
            # the report completes.
            acked = asyncio.ensure_future(self._report([o.report for o in todo]))
            try:
                done, _ = await asyncio.wait([acked], timeout=self.ack_seconds)
            finally:
                if not acked.done():
                    acked.cancel()
            error = acked.exception() if done and not acked.cancelled() else f"no ack within {self.ack_seconds}s"
            ok = error is None
            if not ok:  # broker away or slow: the reporter publishes them later
                log.warning("report_before_write_failed", entries=len(todo), error=mask_string(repr(error)))
                self.report_first = False
        for outcome in todo:
            outcome.reported = ok
        if not ok:
            metrics.REPORTS_DEFERRED.inc(len(todo))

    async def _check_taken_over(self, batch: list[_Outcome]) -> None:
        """Some guarded writes matched nothing: already applied (a retry after a lost reply), or
        another worker claimed the entry meanwhile. Only the latter is worth an alarm."""
        claims = {o.entry_id: o.claim for o in batch}
        now_claimed = await self.outbox.claims(list(claims))
        lost = [doc_id for doc_id, claim in claims.items() if now_claimed.get(doc_id, claim) != claim]
        if lost:
            metrics.OUTCOMES_LOST.labels("claim_taken_over").inc(len(lost))
            log.error("outcome_lost_claim_taken_over", entries=len(lost))

    def give_up(self, reason: str) -> None:
        batch, self._records = self._records, []
        if batch:
            metrics.OUTCOMES_LOST.labels(reason).inc(len(batch))
            log.error("outcomes_not_recorded", reason=reason, entries=len(batch))
        for outcome in batch:
            if not outcome.done.done():
                outcome.done.set_exception(ConnectionError(f"outcome not recorded ({reason})"))
