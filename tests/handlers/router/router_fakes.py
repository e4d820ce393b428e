"""In-memory fakes of the router's ports (switchboard.router.adapters.ports) for the handler tier.

FakeRouterStore is the real RouterStore over in-memory collections: its reads, its resident state
(remember / forget) and its scope claims run unchanged, so the Workspace a batch gets is the one
production would build; only the transaction is replaced, applying a batch's writes in memory with
the same rules (all or nothing; new documents inserted if absent; agents, queue entries and queue
statistics written only at an epoch no later owner raised; the scope's epoch checked first, else
Fenced). It shares one `journal` with the publisher, so a test can assert the order of effects
(load -> publish -> drain -> save)."""
from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator

from pymongo import ReturnDocument
from switchboard.common.testing.fakes import RecordingPublisher
from switchboard.router.adapters.journal import FENCED_COLLECTIONS, Fenced, Write
from switchboard.router.adapters.store import RouterStore
from switchboard.router.adapters.store_writes import DELETE, INSERT, REASSIGN, REPLACE, SET, UPSERT_SET
from switchboard.router.domain.config import RouterConfig

MISSING = object()


def _matches(doc: dict, query: dict) -> bool:
    """The query operators RouterStore reads with: equality, $in, $lte, $ne (top-level fields)."""
    for name, condition in query.items():
        value = doc.get(name, MISSING)
        if not isinstance(condition, dict):
            if value != condition:
                return False
            continue
        for op, operand in condition.items():
            if op == "$in":
                values = value if isinstance(value, list) else [value]
                if not any(v in operand for v in values):
                    return False
            elif op == "$lte":
                if value is MISSING or value is None or not value <= operand:
                    return False
            elif op == "$ne":
                if value == operand:
                    return False
            else:
                raise NotImplementedError(f"query operator {op} (RouterStore does not read with it)")
    return True


class Found:
    """What find() answers: iterated with `async for`, or read whole with to_list (mongo.find_each)."""

    def __init__(self, docs: list[dict]) -> None:
        self.docs = docs

    async def __aiter__(self) -> AsyncIterator[dict]:
        for doc in self.docs:
            yield doc

    async def to_list(self, length: int | None = None) -> list[dict]:
        return self.docs[:length] if length else list(self.docs)


class MemoryCollection:
    """One collection: documents by _id, copied in and out (a stored document never shares objects
    with the state a handler goes on changing)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.docs: dict[str, dict] = {}

    def find(self, query: dict, projection: dict | None = None) -> Found:
        return Found([copy.deepcopy(d) for d in self.docs.values() if _matches(d, query)])

    async def update_many(self, query: dict, update: dict, session=None) -> None:
        for doc in self.docs.values():
            if _matches(doc, query):
                doc.update(copy.deepcopy(update["$set"]))

    async def find_one_and_update(self, query: dict, update: dict, *, upsert: bool = False,
                                  return_document=ReturnDocument.BEFORE) -> dict | None:
        """By _id, with $inc: what a scope claim does (journal.Journal.claim)."""
        doc = self.docs.get(query["_id"])
        if doc is None and upsert:
            doc = self.docs[query["_id"]] = {"_id": query["_id"]}
        if doc is not None:
            for field, step in update["$inc"].items():
                doc[field] = doc.get(field, 0) + step
        return copy.deepcopy(doc)

    async def create_index(self, *args, **kwargs) -> None:
        return None


class MemoryDb:
    def __init__(self) -> None:
        self.collections: dict[str, MemoryCollection] = {}

    def __getitem__(self, name: str) -> MemoryCollection:
        return self.collections.setdefault(name, MemoryCollection(name))

    def copy(self) -> dict[str, dict[str, dict]]:
        return {name: copy.deepcopy(c.docs) for name, c in self.collections.items()}

    def restore(self, docs: dict[str, dict[str, dict]]) -> None:
        for name, by_id in docs.items():
            self[name].docs = by_id


class FakeRouterStore(RouterStore):
    def __init__(self, journal: list | None = None) -> None:
        super().__init__(MemoryDb(), transactions=True)
        self.journal = journal if journal is not None else []
        self.fail_next_save: BaseException | None = None  # the next write raises it, writing nothing

    # ------------------------------------------------------------------ what a test reads
    def docs(self, collection: str) -> dict[str, dict]:
        return self.db[collection].docs

    def scope_epoch(self, brand: str) -> int | None:
        return self.docs("routing_scopes").get(brand, {}).get("epoch")

    async def claimed_elsewhere(self, brand: str) -> None:
        """Another replica claims the brand (a rebalance this one has not noticed yet)."""
        await self.db["routing_scopes"].find_one_and_update({"_id": brand}, {"$inc": {"epoch": 1}}, upsert=True)
        for name in sorted(FENCED_COLLECTIONS):  # what its claim stamps
            await self.db[name].update_many({"brand_id": brand}, {"$set": {"epoch": self.scope_epoch(brand)}})

    # ------------------------------------------------------------------ the port, journaled
    async def load(self, inputs, message_ids=()):
        self.journal.append(("load", sorted({i.brand_id for i in inputs})))
        return await super().load(inputs, message_ids)

    def forget(self) -> None:
        self.journal.append(("forget",))
        super().forget()

    # ------------------------------------------------------------------ MongoDB replaced
    async def ensure_indexes(self) -> None:
        return None

    async def prepare(self) -> None:
        self.transactions = True
        self._replay_due.clear()

    async def index_threads(self) -> int:
        return 0

    async def bootstrap_agents(self, config: RouterConfig) -> int:
        """As the real one: skills and capacity from routing.yaml; presence, load and held
        conversations kept when the agent is stored already."""
        agents = self.docs("agents")
        count = 0
        for brand_id, brand in config.routing.items():
            for a in brand.agents if brand_id != "*" else ():
                doc = agents.setdefault(f"{brand_id}/{a.agent_id}", {
                    "_id": f"{brand_id}/{a.agent_id}", "presence": a.presence, "load": {}, "active": [],
                    "idle_since": None, "epoch": 0})
                doc.update(brand_id=brand_id, agent_id=a.agent_id, name=a.name, queues=list(a.queues),
                           languages=list(a.languages), channels=list(a.channels),
                           product_lines=list(a.product_lines), vip=a.vip, capacity=dict(a.capacity))
                count += 1
        return count

    async def _save_in_transaction(self, stages: list[list[Write]], scope: str | None, epoch: int | None) -> None:
        if self.fail_next_save is not None:
            error, self.fail_next_save = self.fail_next_save, None
            raise error
        if scope and epoch is not None and self.scope_epoch(scope) != epoch:
            raise Fenced(f"routing scope {scope!r} is no longer at epoch {epoch}")
        before = self.db.copy()
        try:
            for stage in stages:
                for write in stage:
                    _apply(self.db[write.collection].docs, write, epoch)
        except BaseException:
            self.db.restore(before)  # the transaction is aborted: nothing of it stays
            raise
        self.journal.append(("save", scope))


def _apply(docs: dict[str, dict], write: Write, epoch: int | None) -> None:
    fenced = epoch is not None and write.collection in FENCED_COLLECTIONS
    if write.kind == INSERT:  # a document already stored is kept (the upsert rewrite of a duplicate)
        for doc in write.docs:
            docs.setdefault(doc["_id"], copy.deepcopy(doc))
    elif write.kind == REPLACE:
        for doc in write.docs:
            stored = docs.get(doc["_id"])
            if fenced and stored is not None and not (stored.get("epoch") is not None and stored["epoch"] <= epoch):
                raise Fenced(f"{write.collection}: written by a later owner of the scope (epoch > {epoch})")
            docs[doc["_id"]] = copy.deepcopy({**doc, "epoch": epoch} if fenced else doc)
    elif write.kind == DELETE:
        for _id in write.docs:
            stored = docs.get(_id)
            if stored is not None and (not fenced or (stored.get("epoch") is not None and stored["epoch"] <= epoch)):
                del docs[_id]
    elif write.kind == SET:  # fields of a stored document; a missing one is not created
        for change in write.docs:
            stored = docs.get(change["_id"])
            if stored is not None and (not fenced or (stored.get("epoch") is not None and stored["epoch"] <= epoch)):
                stored.update(copy.deepcopy(change["set"]))
    elif write.kind == REASSIGN:
        for move in write.docs:
            for doc in docs.values():
                if doc.get("brand_id") == move["brand_id"] and doc.get("customer_id") == move["from"]:
                    doc["customer_id"] = move["to"]
    elif write.kind == UPSERT_SET:  # a router stage's half of a conversation, as MongoDB applies it
        for change in write.docs:
            both = change["set"].keys() & (change["on_insert"] or {}).keys()
            if both:  # MongoDB refuses a field named by both
                raise ValueError(f"{write.collection}: $set and $setOnInsert both name {sorted(both)}")
            stored = docs.get(change["_id"])
            if stored is None:
                stored = docs[change["_id"]] = {"_id": change["_id"], **copy.deepcopy(change["on_insert"] or {})}
            stored.update(copy.deepcopy(change["set"]))
    else:  # a write kind the store has and this fake has not learnt: never dropped silently
        raise NotImplementedError(f"write kind {write.kind!r}")


class Publisher(RecordingPublisher):
    """The shared recording publisher plus `send_raw` (a rejected input's DLQ record)."""

    def __init__(self, journal: list | None = None) -> None:
        super().__init__(journal)
        self.raw: list[tuple[str, bytes | None, bytes | str | None, dict[str, bytes]]] = []

    async def send_raw(self, topic: str, value: bytes | None, key: bytes | str | None,
                       headers: list[tuple[str, bytes]]) -> asyncio.Future:
        self.raw.append((topic, value, key, dict(headers)))
        self.journal.append(("send_raw", topic))
        done: asyncio.Future = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done
