"""Send first (issue 15): new due entries are sent before they are stored, so a notification delivered
at its first attempt is one outbox write, the entry in its final state.

- Intake hands the dispatcher entries it found not stored (one `_id $in` read); they are claimed in
  memory (token, lease) and sent. Intake waits until each has an outcome or `send_first_seconds`
  passed: an outcome that came in time is the entry's first write (recorder.py: group-committed,
  reported first, retried while the store is away, insert-if-absent); an entry still sending (or
  queued) is then inserted claimed through the same recorder, and its outcome updates it as before.
  Intake returns (the runner commits the offsets) only once every entry is stored.
- A crash before that write: nothing is stored and nothing committed, so the record is redelivered and
  sent again: the same at-least-once window as a crash between a send and its outcome write.
- An entry being sent here but not stored yet is never handed out again: a redelivered intent is not
  sent again (intake's read finds it stored, or it is one of these), and the scanner never sees it.
"""
from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass

from switchboard.notifier.adapters.ports import DeliveryRecords, Entry, Sending
from switchboard.notifier.recorder import OutcomeRecorder

OutcomeOp = Callable[[bool, Entry | None], object]  # (reported, whole) -> the outbox write of an outcome
Admit = Callable[[list[Entry]], list[Entry]]  # claims in memory and queues those its pools have room for


@dataclass(eq=False)
class Unstored:
    doc: Entry                                  # as claimed in memory (in_flight, token, lease)
    decided: asyncio.Future                     # set once its first write is chosen
    write: asyncio.Future | None = None         # its first write: its outcome, or claimed at the deadline


class SendFirst:
    """The entries this dispatcher sends before they are stored, and their first writes."""

    def __init__(self, outbox: DeliveryRecords, recorder: OutcomeRecorder) -> None:
        self.outbox = outbox
        self.recorder = recorder
        self.unstored: dict[str, Unstored] = {}

    def track(self, doc: Entry) -> Unstored:
        entry = Unstored(doc, asyncio.get_running_loop().create_future())
        self.unstored[doc["_id"]] = entry
        return entry

    def sending(self, ids: list[str]) -> list[Unstored]:
        """Those of `ids` sent here and not stored yet."""
        return [self.unstored[i] for i in ids if i in self.unstored]

    def start(self, entries: list[Entry], admit: Admit) -> Sending:
        """Sends the entries its pools have room for (`admit` claims them in memory and queues them);
        the others wait for room. Ones already being sent here are part of the result, not sent again."""
        ids = [e["_id"] for e in entries]
        sending = Sending(frozenset(ids), self.sending(ids))
        sending.waiting = self._admit([e for e in entries if e["_id"] not in self.unstored], admit, sending)
        return sending

    async def admit_waiting(self, sending: Sending, deadline: float, admit: Admit, room: asyncio.Event) -> None:
        """In a burst the pools have room for part of a batch: the rest is admitted as sends finish, until
        `deadline` (loop time). What is still waiting then is intake's to insert (pending), unsent."""
        loop = asyncio.get_running_loop()
        while sending.waiting and (left := deadline - loop.time()) > 0:
            room.clear()  # before admitting: a slot freed meanwhile wakes the wait below
            sending.waiting = self._admit(sending.waiting, admit, sending)
            if sending.waiting:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(left):
                        await room.wait()

    def _admit(self, entries: list[Entry], admit: Admit, sending: Sending) -> list[Entry]:
        """Admits what fits; returns the entries still waiting."""
        claimed = {doc["_id"]: doc for doc in admit(entries)} if entries else {}
        sending.entries.extend(self.track(doc) for doc in claimed.values())
        return [e for e in entries if e["_id"] not in claimed]

    async def record(self, doc: Entry, op: OutcomeOp, report: Entry | None) -> None:
        """Records an outcome: as the entry's first write while intake still waits for it, else as an
        update (after the entry's claimed insert, for one sent first)."""
        entry = self.unstored.get(doc["_id"])
        if entry is not None and entry.write is None:
            await asyncio.shield(self._first_write(entry, lambda reported: op(reported, doc), report))
            return
        if entry is not None:
            await asyncio.shield(entry.write)  # inserted claimed at the deadline: update it once that is in
        await self.recorder.record(doc, lambda reported: op(reported, None), report)

    async def settle(self, entries: list[Unstored], seconds: float) -> None:
        """Waits up to `seconds` for the outcomes, inserts the rest claimed, and returns once every
        entry is stored. Raises if one could not be (shutdown during a store outage): not committed."""
        if not entries:
            return
        undecided = [e.decided for e in entries if e.write is None]
        if undecided and seconds > 0:
            await asyncio.wait(undecided, timeout=seconds)
        for entry in entries:
            if entry.write is None:  # still sending or queued: in as claimed, one write as before
                self._first_write(entry, lambda _reported, doc=entry.doc: self.outbox.insert_op(doc), None)
        await asyncio.wait([e.write for e in entries])
        for entry in entries:
            entry.write.result()

    def _first_write(self, entry: Unstored, op: Callable[[bool], object], report: Entry | None) -> asyncio.Future:
        entry.write = asyncio.ensure_future(self.recorder.record(entry.doc, op, report))
        if not entry.decided.done():
            entry.decided.set_result(None)
        entry_id = entry.doc["_id"]

        def stored(done: asyncio.Future) -> None:
            if self.unstored.get(entry_id) is entry:
                del self.unstored[entry_id]
            if not done.cancelled():
                done.exception()  # retrieved: settle / record raise it where someone waits for it

        entry.write.add_done_callback(stored)
        return entry.write

