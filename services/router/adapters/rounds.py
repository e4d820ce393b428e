"""Store requests that run at the same time, sent as one.

A contact-stage batch holds inputs of up to 12 partitions, each a scope with its own state and journal,
decided and saved side by side (ownership.side_by_side). Each scope asked the store the same questions
and made the same kinds of writes as the others, in the same instant: at 115 inputs/s the router sent 6.9
requests per input. The store serves one request at a time (nx-27017), and each request costs the client
a few hundred microseconds of Python besides.

Here requests with the same key (collection and kind) made in one turn of the event loop form a round:
the first waits one turn for the others to join, then sends them as one request; each caller gets its own
part of the answer, or its own failure:
- `IdReads`: `_id $in` reads, as one `$in` of the union of their ids;
- `BulkWrites`: unordered bulk writes, as one unordered bulk write; an op's write error goes back to the
  caller whose op it was (as a BulkWriteError of its own ops), so a caller handles exactly what it would
  have had alone.
Writes of different callers in one round touch different documents (each scope writes its own
customers' documents), which is what unordered bulk writes of their own already assumed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from pymongo.errors import BulkWriteError

TURNS = 3  # turns of the event loop a round stays open: the scopes of a batch drift apart by a few
P = TypeVar("P")  # one caller's part of a round
A = TypeVar("A")  # the round's answer


@dataclass
class _Round(Generic[P]):
    parts: list[P]
    answer: asyncio.Future = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class Rounds(Generic[P, A]):
    def __init__(self) -> None:
        self._open: dict[Hashable, _Round[P]] = {}

    async def join(self, key: Hashable, part: P, send: Callable[[list[P]], Awaitable[A]]) -> tuple[A, int]:
        """Adds `part` to the open round of `key`, or opens one. Returns the round's answer (what `send` made
        of every part) and the position of this part in it."""
        joined = self._open.get(key)
        if joined is not None:
            joined.parts.append(part)
            position = len(joined.parts) - 1  # now: others join after this one
            # shield: one caller's cancel must not cancel the answer the others wait for
            return await asyncio.shield(joined.answer), position
        this = self._open[key] = _Round([part])
        this.answer.add_done_callback(_retrieved)
        try:
            for _ in range(TURNS):  # the requests made meanwhile join this one
                await asyncio.sleep(0)
            del self._open[key]     # later ones open a round of their own
            answer = await send(this.parts)
        except BaseException as exc:
            if self._open.get(key) is this:
                del self._open[key]
            if not this.answer.done():
                this.answer.set_exception(exc if isinstance(exc, Exception) else ConnectionError("request cancelled"))
            raise
        this.answer.set_result(answer)
        return answer, 0


async def find_ids(collection, ids, projection: dict | None = None) -> list[dict]:
    """Documents by `_id $in` (the one `$in` nx-27017 answers through its index); none asked, no request."""
    if not ids:
        return []
    return [d async for d in collection.find({"_id": {"$in": sorted(ids)}}, projection)]


def _retrieved(done: asyncio.Future) -> None:
    """A round nobody joined still has its failure looked at (no 'exception never retrieved' warning)."""
    if not done.cancelled():
        done.exception()


class IdReads:
    def __init__(self) -> None:
        self._rounds: Rounds[set, list[dict]] = Rounds()

    async def query(self, collection, query: dict, projection: dict | None = None) -> list[dict]:
        """Any read. One whose condition can match nothing (an empty `$in`) makes no request: the store
        serves one at a time, and a batch's empty lookups used to wait in line like real ones. One by
        `_id $in` goes in a round (`find`); any other alone."""
        if any(isinstance(c, dict) and c.get("$in") == [] for c in query.values()):
            return []
        if query.keys() == {"_id"} and isinstance(query["_id"], dict) and query["_id"].keys() == {"$in"}:
            return await self.find(collection, query["_id"]["$in"], projection)
        return [doc async for doc in collection.find(query, projection)]

    async def find(self, collection, ids, projection: dict | None = None) -> list[dict]:
        """The documents of `collection` whose `_id` is one of `ids` (none asked: no request)."""
        wanted = set(ids)
        if not wanted:
            return []

        async def send(parts: list[set]) -> list[dict]:
            return await find_ids(collection, set().union(*parts), projection)

        key = (collection.name, repr(sorted(projection.items())) if projection else "")
        docs, _ = await self._rounds.join(key, wanted, send)
        return [d for d in docs if d["_id"] in wanted]


class BulkWrites:
    def __init__(self) -> None:
        self._rounds: Rounds[Sequence, list[BulkWriteError | None]] = Rounds()

    async def write(self, collection, ops: Sequence) -> None:
        """`ops` as an unordered bulk write of `collection`. Raises a BulkWriteError of these ops' errors
        only (indexes into `ops`), or whatever failed the whole request."""
        if not ops:
            return

        async def send(parts: list[Sequence]) -> list[BulkWriteError | None]:
            try:
                await collection.bulk_write([op for part in parts for op in part], ordered=False)
            except BulkWriteError as exc:
                return _errors_by_part(exc, [len(part) for part in parts])
            return [None] * len(parts)

        errors, position = await self._rounds.join(collection.name, ops, send)
        if errors[position] is not None:
            raise errors[position]


def _errors_by_part(exc: BulkWriteError, sizes: list[int]) -> list[BulkWriteError | None]:
    """The write errors of one combined bulk write, each given back to its part with its own index."""
    starts = [sum(sizes[:i]) for i in range(len(sizes))]
    mine: list[list[dict]] = [[] for _ in sizes]
    for error in exc.details.get("writeErrors", []):
        index = error["index"]
        part = max(i for i, start in enumerate(starts) if start <= index)
        mine[part].append({**error, "index": index - starts[part]})
    concern = exc.details.get("writeConcernErrors", [])
    return [BulkWriteError({"writeErrors": errors, "writeConcernErrors": concern}) if errors or concern else None
            for errors in mine]
