"""MongoDB collections the console owns: console_conversations (inbox rows) and console_escalations.

Writers never overwrite each other's fields: a conversation's snapshot fields come from the
conversations topic (conditional on version), its SLA fields from the sla topic (one partition, one
writer), escalation raises from the escalations topic and acknowledgements from the conversations
topic, each an atomic $set of its own fields. So two replicas owning the same conversation's
partitions of different topics cannot lose each other's updates.

Times updated in place are epoch milliseconds (see domain/projection.py).

Reads are index ranges: equality on brand and the filters, then the single-field keyset `sort_key`
(updated time + id) in the compound index, so a page never sorts or scans the matching rows.
A filter with several values (brands of a multi-brand agent, several statuses) runs one such range
per value and merges them: `$in` is not a range on nx-27017 (measured 234 ms vs 3 ms at 20k rows).
nx-27017 only keeps an equality sargable when a single-field index on that field exists, hence the
single-field indexes beside the compound ones (redundant on MongoDB, cheap).
"""
from __future__ import annotations

import heapq
import itertools
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

from pymongo import DESCENDING, UpdateOne
from switchboard.console.domain.filters import ListQuery
from switchboard.console.domain.projection import (
    LOWEST_VERSION,
    ConversationFact,
    EscalationFact,
    Version,
    from_ms,
    sort_key,
    to_ms,
)
from switchboard.console.domain.vocabulary import OPEN_STATUSES

CONVERSATIONS = "console_conversations"
CLOCK_TIMES = ("deadline", "breached_at")  # the datetime fields of a projected SLA clock
ESCALATIONS = "console_escalations"
SORT = [("sort_key", DESCENDING)]
FILTER_INDEXES = (("open",), ("queue", "open"), ("assignee_id", "open"), ("status",), ("sla_state",),
                  ("channel", "open"), ("priority", "open"), ("language", "open"), ())
EQUALITY_FIELDS = ("brand_id", "open", "queue", "assignee_id", "status", "sla_state", "channel", "priority",
                   "language", "customer_id")


@dataclass
class ProjectionWrites:
    """Everything one consumed batch changes, written as one bulk_write per collection."""

    snapshots: list[tuple[ConversationFact, dict]] = field(default_factory=list)  # (fact, row fields)
    seeds: dict[str, dict] = field(default_factory=dict)                         # cid -> row fields
    sla: dict[str, dict] = field(default_factory=dict)                           # cid -> sla fields
    raises: list[tuple[EscalationFact, dict]] = field(default_factory=list)
    acks: list[dict] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.snapshots or self.seeds or self.sla or self.raises or self.acks)


class ConversationStore:
    def __init__(self, db) -> None:
        self.rows = db[CONVERSATIONS]
        self.escalations = db[ESCALATIONS]

    async def ensure_indexes(self) -> None:
        for name in EQUALITY_FIELDS:
            await self.rows.create_index([(name, 1)])
        for fields in FILTER_INDEXES:
            await self.rows.create_index([("brand_id", 1), *[(f, 1) for f in fields], *SORT])
        await self.rows.create_index([("brand_id", 1), ("customer_id", 1)])
        await self.rows.create_index([("brand_id", 1), ("sla_state", 1), ("next_deadline_ms", 1)])
        for name in ("brand_id", "acknowledged", "conversation_id"):
            await self.escalations.create_index([(name, 1)])
        await self.escalations.create_index([("brand_id", 1), ("acknowledged", 1), ("raised_ms", 1)])

    async def sla_clocks(self, conversation_ids: list[str]) -> dict[str, dict]:
        cursor = self.rows.find({"_id": {"$in": conversation_ids}}, {"sla_clocks": 1})
        return {doc["_id"]: clocks_from_store(doc.get("sla_clocks")) async for doc in cursor}

    async def apply(self, writes: ProjectionWrites) -> None:
        ops: list[UpdateOne] = []
        for cid, fields in writes.seeds.items():
            ops.append(UpdateOne({"_id": cid}, {"$setOnInsert": fields}, upsert=True))
        for fact, fields in writes.snapshots:
            cid = fact.snapshot.conversation_id
            ops.append(UpdateOne({"_id": cid}, {"$setOnInsert": {
                "snap_ms": LOWEST_VERSION.at_ms, "snap_partition": LOWEST_VERSION.partition,
                "snap_offset": LOWEST_VERSION.offset, "snap_id": ""}}, upsert=True))
            # $and spelled out: nx-27017's bulk_write ignores `_id` beside a top-level $or (it updated
            # another document); MongoDB reads both forms the same.
            ops.append(UpdateOne({"$and": [{"_id": cid}, newer_than_stored(fact.version)]}, {"$set": fields}))
        for cid, fields in writes.sla.items():
            stored = {**fields, "sla_clocks": clocks_to_store(fields["sla_clocks"])}
            ops.append(UpdateOne({"_id": cid}, {"$set": stored}))
        if ops:
            await self.rows.bulk_write(ops, ordered=True)
        esc_ops = [UpdateOne({"_id": f.escalation_id}, {"$set": doc, "$setOnInsert": {"acknowledged": False}},
                             upsert=True) for f, doc in writes.raises]
        esc_ops += [UpdateOne({"_id": ack["_id"]}, {"$set": {k: v for k, v in ack.items() if k != "_id"}},
                              upsert=True) for ack in writes.acks]
        if esc_ops:
            await self.escalations.bulk_write(esc_ops, ordered=True)

    # -- reads ------------------------------------------------------------------------------------
    async def list(self, query: ListQuery) -> list[dict]:
        """Up to limit+1 rows, newest first (the extra one says whether there is a next page)."""
        wanted = query.limit + 1
        ranges = [await self.rows.find(flt).sort(SORT).limit(wanted).to_list() for flt in list_filters(query)]
        if len(ranges) == 1:
            return ranges[0]
        merged = heapq.merge(*ranges, key=lambda doc: doc["sort_key"], reverse=True)
        return list(itertools.islice(merged, wanted))

    async def get(self, conversation_id: str, brands: tuple[str, ...]) -> dict | None:
        doc = await self.rows.find_one({"_id": conversation_id})
        if doc is None or doc.get("brand_id") not in brands:
            return None
        return {**doc, "sla_clocks": clocks_from_store(doc.get("sla_clocks"))}

    async def customer_brand(self, customer_id: str, brands: tuple[str, ...]) -> str | None:
        for brand in brands:
            if await self.rows.find_one({"brand_id": brand, "customer_id": customer_id}, {"brand_id": 1}):
                return brand
        return None

    async def customer_names(self, conversation_ids: list[str]) -> dict[str, str]:
        if not conversation_ids:
            return {}
        cursor = self.rows.find({"_id": {"$in": conversation_ids}}, {"customer_name": 1})
        return {doc["_id"]: doc.get("customer_name", "") async for doc in cursor}

    async def in_sla_state(self, brands: tuple[str, ...], state: str, limit: int = 100) -> list[dict]:
        """Open conversations whose SLA is `state` now, next deadline first."""
        found = []
        for brand in brands:
            found += await self.rows.find({"brand_id": brand, "sla_state": state, "open": True}) \
                .sort([("next_deadline_ms", 1)]).limit(limit).to_list()
        return sorted(found, key=lambda doc: (doc.get("next_deadline_ms") or 0, doc["_id"]))[:limit]

    async def unacknowledged(self, brands: tuple[str, ...], limit: int = 100) -> list[dict]:
        found = []
        for brand in brands:
            found += await self.escalations.find({"brand_id": brand, "acknowledged": False}) \
                .sort([("raised_ms", 1)]).limit(limit).to_list()
        # An acknowledgement can arrive before its raise (other topic): such a record has no raise yet.
        found = [e for e in found if e.get("raised_ms") is not None]
        acked = await self.escalations.find({"conversation_id": {"$in": sorted({e["conversation_id"] for e in found})},
                                             "acknowledged": True}, {"level": 1}).to_list()
        covered = acknowledged_ladders(acked)
        # The SLA service stops a whole ladder on any acknowledgement: lower levels count as acknowledged.
        open_ones = [e for e in found if covered.get(ladder_of(e["_id"]), 0) < e.get("level", 0)]
        return sorted(open_ones, key=lambda e: e["raised_ms"])[:limit]


def clocks_to_store(clocks: dict[str, dict]) -> dict[str, dict]:
    """Clock times as epoch milliseconds: nx-27017's $set stores datetimes as strings."""
    return {key: {**clock, **{name: to_ms(as_datetime(clock.get(name))) for name in CLOCK_TIMES}}
            for key, clock in clocks.items()}


def clocks_from_store(stored: dict | None) -> dict[str, dict]:
    """Stored clocks -> the domain's (times as aware datetimes), whatever form a time was kept in:
    epoch ms (what this adapter writes), a datetime, or an ISO string (older rows, the $set quirk)."""
    return {key: {**clock, **{name: as_datetime(clock.get(name)) for name in CLOCK_TIMES}}
            for key, clock in (stored or {}).items()}


def as_datetime(value) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, int | float):
        return from_ms(int(value))
    try:
        return as_datetime(datetime.fromisoformat(str(value).replace("Z", "+00:00")))
    except ValueError:
        return None  # unreadable: shown as "no deadline" rather than taking the page down


def newer_than_stored(version: Version) -> dict:
    """The filter twin of domain.projection.is_newer: the stored row is older than `version`."""
    later_in_time = {"snap_ms": {"$lt": version.at_ms}}
    if version.partition < 0 or version.offset < 0:
        return later_in_time
    later_on_partition = {"snap_partition": version.partition, "snap_offset": {"$lt": version.offset, "$gte": 0}}
    # The same record again has the same partition, offset and time: neither branch matches it.
    return {"$or": [later_on_partition, later_in_time]}


def ladder_of(escalation_id: str) -> str:
    """conversation:metric:instance:level -> conversation:metric:instance (one escalation ladder)."""
    return escalation_id.rsplit(":", 1)[0]


def acknowledged_ladders(acked: list[dict]) -> dict[str, int]:
    """Highest acknowledged level per ladder. An acknowledgement that came before its raise has no
    level yet; it is read off its id."""
    covered: dict[str, int] = {}
    for e in acked:
        suffix = e["_id"].rsplit(":", 1)[-1]
        level = e.get("level") or (int(suffix) if suffix.isdigit() else 0)
        ladder = ladder_of(e["_id"])
        covered[ladder] = max(covered.get(ladder, 0), level)
    return covered


def list_filters(query: ListQuery) -> list[dict]:
    """One equality filter per (brand, status) combination the query asks for; see the module doc."""
    base: dict = {}
    statuses: tuple[str | None, ...] = (None,)
    if query.statuses == OPEN_STATUSES:
        base["open"] = True
    elif query.statuses:
        statuses = query.statuses
    for name, value in (("queue", query.queue), ("assignee_id", query.assignee), ("channel", query.channel),
                        ("priority", query.priority), ("language", query.language), ("sla_state", query.sla_state)):
        if value is not None:
            base[name] = value
    if query.q:
        base["search"] = {"$regex": re.escape(query.q)}
    if query.after is not None:
        base["sort_key"] = {"$lt": sort_key(query.after.updated_ms, query.after.conversation_id)}
    return [{"brand_id": brand, **({"status": status} if status else {}), **base}
            for brand in query.brands for status in statuses]


def next_cursor_row(rows: list[dict], limit: int) -> tuple[list[dict], tuple[int, str] | None]:
    """Splits the limit+1 rows into the page and the (updated_ms, cid) the next page starts after."""
    if len(rows) <= limit:
        return rows, None
    page = rows[:limit]
    return page, (page[-1]["updated_ms"], page[-1]["cid"])
