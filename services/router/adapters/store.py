"""MongoDB persistence of the router's state: batched $in loads into a Workspace, bulk writes back.

The router is the only writer of its collections (one replica, Recreate strategy), so the state
every batch needs whatever it contains - agents, queue entries, queue statistics, and the queued
conversations with their customers - stays resident between batches instead of being re-read
(which cost O(queue length) per batch). It is refreshed from the workspace after each committed
save and dropped on any failure, merge or restart: the next batch reads it afresh.

Collections (indexes in README):
  customers, customer_handles (unique brand_id+kind+value), conversations, conversation_messages,
  agents, queue_entries, queue_stats, orders, chat_sessions, message_deliveries.
"""

from __future__ import annotations

import asyncio
import base64
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

import bson
from bson.codec_options import CodecOptions
from pymongo import ASCENDING, DeleteOne, ReplaceOne, UpdateOne
from pymongo.errors import BulkWriteError, CollectionInvalid, DocumentTooLarge
from switchboard.common.dedupe import DedupeStore
from switchboard.common.logging import get_logger
from switchboard.router.domain import identity, threads
from switchboard.router.domain.config import RouterConfig
from switchboard.router.domain.engine import Workspace
from switchboard.router.domain.inputs import (
    CallIn,
    ChatEndIn,
    ChatStartIn,
    CommandIn,
    CsatIn,
    DeliveryIn,
    Input,
    MessageIn,
    OrderIn,
)
from switchboard.router.domain.model import (
    CHAT_SESSION,
    EMAIL,
    Agent,
    ChatSession,
    Conversation,
    Customer,
    Handle,
    OrderRecord,
    QueueEntry,
    QueueStats,
)

log = get_logger(__name__)
DUPLICATE_KEY = 11000
_TZ_AWARE = CodecOptions(tz_aware=True)
# Write kinds. Each is idempotent, which is what makes replaying a journal safe.
INSERT = "insert"      # new documents; one already stored is kept
REPLACE = "replace"    # whole-document images, upserted
DELETE = "delete"      # by _id
REASSIGN = "reassign"  # {brand_id, from, to}: documents of a merged customer move to the surviving one


@dataclass(frozen=True, slots=True)
class Write:
    collection: str
    kind: str
    docs: list  # documents; _ids for DELETE; {brand_id, from, to} for REASSIGN


def handle_id(brand_id: str, h: Handle) -> str:
    return f"{brand_id}|{h.kind}|{h.value}"


def thread_id(brand_id: str, key: str) -> str:
    return f"{brand_id}|{key}"


def _thread_doc(brand_key: tuple[str, str], conversation_id: str) -> dict:
    brand_id, key = brand_key
    return {"_id": thread_id(brand_id, key), "brand_id": brand_id, "key": key, "conversation_id": conversation_id}


def _norm(handles: Iterable[Handle]) -> list[Handle]:
    out = []
    for h in handles:
        try:
            out.append(identity.normalize(h.kind, h.value))
        except identity.InvalidHandle:
            continue
    return identity.expand(out)


@dataclass
class Resident:
    """Router-owned state kept between batches (see the module docstring)."""

    brands: set[str] = field(default_factory=set)  # brands whose agents, queue and stats are loaded
    agents: dict[str, dict[str, Agent]] = field(default_factory=dict)
    queue: dict[str, dict[str, QueueEntry]] = field(default_factory=dict)
    stats: dict[str, QueueStats] = field(default_factory=dict)
    conversations: dict[str, Conversation] = field(default_factory=dict)  # the queued ones
    customers: dict[str, Customer] = field(default_factory=dict)  # their customers


class RouterStore:
    def __init__(self, db, *, transactions: bool | None = None) -> None:
        """`transactions`: None chooses at prepare() from what the server supports."""
        self.db = db
        self.transactions = transactions
        self._replay_due = not transactions  # a journal may hold a batch a dead predecessor left half-written
        self.resident = Resident()
        self.customers = db["customers"]
        self.handles = db["customer_handles"]
        self.conversations = db["conversations"]
        self.messages = db["conversation_messages"]
        self.agents = db["agents"]
        self.queue = db["queue_entries"]
        self.stats = db["queue_stats"]
        self.orders = db["orders"]
        self.sessions = db["chat_sessions"]
        self.deliveries = db["message_deliveries"]
        self.threads = db["conversation_threads"]
        self.journal = db["router_journal"]

    async def ensure_indexes(self) -> None:
        # Every collection exists before the first transaction: nx-27017 remembers a collection first
        # created inside a transaction that was then rolled back, and fails every later write to it.
        existing = set(await self.db.list_collection_names())
        for collection in (self.customers, self.handles, self.conversations, self.messages, self.agents,
                           self.queue, self.stats, self.orders, self.sessions, self.deliveries, self.threads,
                           self.journal, self.db[DedupeStore.COLLECTION]):
            if collection.name not in existing:
                try:
                    await self.db.create_collection(collection.name)
                except CollectionInvalid:
                    pass  # created meanwhile by another replica
        await asyncio.gather(
            self.handles.create_index(
                [("brand_id", ASCENDING), ("kind", ASCENDING), ("value", ASCENDING)], unique=True
            ),
            self.handles.create_index("customer_id"),
            self.conversations.create_index("customer_id"),
            self.conversations.create_index([("brand_id", ASCENDING), ("status", ASCENDING)]),
            self.messages.create_index([("conversation_id", ASCENDING), ("at", ASCENDING)]),
            self.agents.create_index("brand_id"),
            self.queue.create_index("brand_id"),
            self.stats.create_index("brand_id"),
            self.orders.create_index("customer_id"),
        )

    async def index_threads(self) -> int:
        """Builds `conversation_threads` from the conversations' thread keys when it is empty but
        conversations exist (a store written before the collection existed). Newest conversation wins."""
        if await self.threads.find_one({}, {"_id": 1}) or not await self.conversations.find_one({}, {"_id": 1}):
            return 0
        latest: dict[tuple[str, str], tuple] = {}
        async for doc in self.conversations.find({}, {"brand_id": 1, "thread_keys": 1, "opened_at": 1}):
            for key in doc.get("thread_keys") or ():
                candidate = (str(doc.get("opened_at") or ""), doc["_id"])
                latest[(doc["brand_id"], key)] = max(latest.get((doc["brand_id"], key), candidate), candidate)
        ops = [ReplaceOne({"_id": thread_id(*k)}, _thread_doc(k, v[1]), upsert=True) for k, v in latest.items()]
        for start in range(0, len(ops), 1000):
            await self.threads.bulk_write(ops[start:start + 1000], ordered=False)
        return len(ops)

    async def bootstrap_agents(self, config: RouterConfig) -> int:
        """Skills and capacity come from routing.yaml (the source of truth); presence, load and held
        conversations are runtime state and survive restarts."""
        ops = []
        for brand_id, brand in config.routing.items():
            if brand_id == "*":
                continue
            for a in brand.agents:
                ops.append(
                    UpdateOne(
                        {"_id": f"{brand_id}/{a.agent_id}"},
                        {
                            "$set": {
                                "brand_id": brand_id,
                                "agent_id": a.agent_id,
                                "name": a.name,
                                "queues": list(a.queues),
                                "languages": list(a.languages),
                                "channels": list(a.channels),
                                "product_lines": list(a.product_lines),
                                "vip": a.vip,
                                "capacity": dict(a.capacity),
                            },
                            "$setOnInsert": {"presence": a.presence, "load": {}, "active": [], "idle_since": None},
                        },
                        upsert=True,
                    )
                )
        if ops:
            await self.agents.bulk_write(ops, ordered=False)
        return len(ops)

    # ------------------------------------------------------------------ load
    async def load(self, inputs: list[Input], message_ids: list[str] = ()) -> Workspace:
        """`message_ids`: ids the inputs' messages would get; those already stored mark inputs applied."""
        if self._replay_due and not self.transactions:  # the last save failed half-way: finish it first
            await self._replay_journal()
            self._replay_due = False
        ws = Workspace()
        brands: set[str] = set()
        handle_ids: set[str] = set()
        keys: set[tuple[str, str]] = set()  # (brand, thread key)
        conv_ids: set[str] = set()
        session_ids: set[str] = set()
        customer_ids: set[str] = set()
        order_ids: set[str] = set()
        delivery_ids: set[str] = set()
        for inp in inputs:
            brand = inp.brand_id
            brands.add(brand)
            if isinstance(inp, MessageIn):
                hs = [inp.sender, *inp.extra_handles]
                if inp.chat_session_id:
                    hs.append(Handle(CHAT_SESSION, inp.chat_session_id))
                    session_ids.add(f"{brand}/{inp.chat_session_id}")
                handle_ids.update(handle_id(brand, h) for h in _norm(hs))
                keys.update(
                    (brand, k)
                    for k in threads.lookup_keys(
                        email_in_reply_to=inp.email_in_reply_to,
                        email_references=inp.email_references,
                        chat_session_id=inp.chat_session_id,
                    )
                )
            elif isinstance(inp, CallIn):
                keys.add((brand, threads.call_key(inp.call_id)))
                if inp.caller:
                    handle_ids.update(handle_id(brand, h) for h in _norm([inp.caller]))
            elif isinstance(inp, ChatStartIn):
                hs = [Handle(CHAT_SESSION, inp.chat_session_id)] + ([Handle(EMAIL, inp.email)] if inp.email else [])
                handle_ids.update(handle_id(brand, h) for h in _norm(hs))
                session_ids.add(f"{brand}/{inp.chat_session_id}")
            elif isinstance(inp, ChatEndIn):
                keys.add((brand, threads.chat_key(inp.chat_session_id)))
                session_ids.add(f"{brand}/{inp.chat_session_id}")
            elif isinstance(inp, CsatIn):
                conv_ids.add(inp.conversation_id)
            elif isinstance(inp, DeliveryIn):
                delivery_ids.add(f"{brand}/{inp.provider}/{inp.provider_message_id}")
            elif isinstance(inp, OrderIn):
                order_ids.add(f"{brand}/{inp.order_id}")
                handle_ids.update(handle_id(brand, h) for h in _norm(inp.handles))
            elif isinstance(inp, CommandIn):
                if inp.conversation_id:
                    conv_ids.add(inp.conversation_id)
                for name in ("surviving_customer_id", "merged_customer_id"):
                    if inp.fields.get(name):
                        customer_ids.add(inp.fields[name])

        resident = self.resident
        unloaded = sorted(brands - resident.brands)
        (
            stored_messages,
            handle_docs,
            thread_docs,
            id_convs,
            session_docs,
            agent_docs,
            queue_docs,
            stats_docs,
            order_docs,
            delivery_docs,
        ) = await asyncio.gather(
            self._find(self.messages, {"_id": {"$in": list(message_ids)}}, {"_id": 1}) if message_ids else _none(),
            self._find(self.handles, {"_id": {"$in": sorted(handle_ids)}}),
            self._find(self.threads, {"_id": {"$in": sorted(thread_id(b, k) for b, k in keys)}}) if keys
            else _none(),
            self._find(self.conversations, {"_id": {"$in": sorted(conv_ids)}}),
            self._find(self.sessions, {"_id": {"$in": sorted(session_ids)}}),
            self._find(self.agents, {"brand_id": {"$in": unloaded}}) if unloaded else _none(),
            self._find(self.queue, {"brand_id": {"$in": unloaded}}) if unloaded else _none(),
            self._find(self.stats, {"brand_id": {"$in": unloaded}}) if unloaded else _none(),
            self._find(self.orders, {"_id": {"$in": sorted(order_ids)}}),
            self._find(self.deliveries, {"_id": {"$in": sorted(delivery_ids)}}),
        )
        ws.stored_message_ids.update(d["_id"] for d in stored_messages)
        for doc in handle_docs:
            ws.handles[(doc["brand_id"], Handle(doc["kind"], doc["value"]))] = doc["customer_id"]
        for brand in unloaded:
            resident.agents.setdefault(brand, {})
            resident.queue.setdefault(brand, {})
        for doc in agent_docs:
            agent = Agent.from_doc(doc)
            resident.agents[agent.brand_id][agent.agent_id] = agent
        for doc in queue_docs:
            entry = QueueEntry.from_doc(doc)
            resident.queue[entry.brand_id][entry.id] = entry
        for doc in stats_docs:
            resident.stats[doc["_id"]] = QueueStats.from_doc(doc)
        resident.brands.update(unloaded)
        # The engine works on the resident objects themselves; a failed batch drops them (forget()).
        ws.agents, ws.queue, ws.stats = resident.agents, resident.queue, resident.stats
        ws.persisted.update("queue/" + c for queue in resident.queue.values() for c in queue)
        for doc in order_docs:
            ws.orders[doc["_id"]] = OrderRecord.from_doc(doc)
        for doc in session_docs:
            ws.sessions[doc["_id"]] = ChatSession.from_doc(doc)
        # A chat message also presents the email its session was started with: look that handle up too.
        session_emails = sorted({handle_id(s.brand_id, Handle(EMAIL, s.email)) for s in ws.sessions.values()
                                 if s.email} - handle_ids)
        for doc in await self._find(self.handles, {"_id": {"$in": session_emails}}):
            ws.handles[(doc["brand_id"], Handle(doc["kind"], doc["value"]))] = doc["customer_id"]
        for doc in delivery_docs:
            ws.deliveries[doc["_id"]] = doc
        self._add_conversations(ws, id_convs)
        threaded = {(d["brand_id"], d["key"]): d["conversation_id"] for d in thread_docs}

        # Customers named by handles, sessions, conversations and commands (following merges).
        customer_ids.update(ws.handles.values())
        customer_ids.update(s.customer_id for s in ws.sessions.values() if s.customer_id)
        customer_ids.update(c.customer_id for c in ws.conversations.values())
        await self._load_customers(ws, customer_ids)
        # Conversations the batch may touch: customers' latest, merged customers', and (resident, for
        # routing) the queued ones.
        queued = {c for brand in brands for c in resident.queue.get(brand, {})}
        wanted = {c.last_conversation_id for c in ws.customers.values() if c.last_conversation_id} | queued
        wanted |= set(threaded.values())
        wanted -= ws.conversations.keys()
        from_resident = wanted & resident.conversations.keys()
        wanted -= from_resident  # the rest: not resident yet (first batch after a (re)load)
        queries = [self._find(self.conversations, {"_id": {"$in": sorted(wanted)}})] if wanted else []
        merged = [
            i.fields["merged_customer_id"]
            for i in inputs
            if isinstance(i, CommandIn) and i.kind == "merge_customers" and i.fields.get("merged_customer_id")
        ]
        if merged:
            queries.append(
                self._find(self.conversations, {"customer_id": {"$in": merged}, "status": {"$ne": "resolved"}})
            )
        for docs in await asyncio.gather(*queries):
            self._add_conversations(ws, docs)
        touched = dict(ws.conversations)  # read for this batch (queued ones included on a first load)
        await self._load_customers(ws, {c.customer_id for c in touched.values()})
        touched_customers = dict(ws.customers)
        for conv_id in sorted(from_resident):
            conv = resident.conversations[conv_id]
            if conv_id not in ws.conversations:
                self._add_conversations(ws, [conv], persisted=True)
                customer = resident.customers.get(conv.customer_id)
                if customer is not None and customer.id not in ws.customers:
                    ws.customers[customer.id] = customer
                    ws.persisted.add("customer/" + customer.id)
        # The stored key -> conversation mapping wins over keys listed in conversation documents (a
        # chat session or call key moves to the newest conversation that uses it).
        ws.thread_index.update((k, c) for k, c in threaded.items() if c in ws.conversations)
        ws.stored_threads = dict(ws.thread_index)
        # Orders the bot may talk about, and message history for chat transcripts.
        wanted_orders = {f"{c.brand_id}/{o}" for c in touched.values() for o in c.order_ids}
        wanted_orders |= {f"{c.brand_id}/{o}" for c in touched_customers.values() for o in c.order_ids[-5:]}
        wanted_orders -= ws.orders.keys()
        ended = {
            ws.thread_index.get((i.brand_id, threads.chat_key(i.chat_session_id)))
            for i in inputs
            if isinstance(i, ChatEndIn)
        } - {None}
        order_more, history = await asyncio.gather(
            self._find(self.orders, {"_id": {"$in": sorted(wanted_orders)}}) if wanted_orders else _none(),
            self._find(self.messages, {"conversation_id": {"$in": sorted(ended)}}) if ended else _none(),
        )
        for doc in order_more:
            ws.orders[doc["_id"]] = OrderRecord.from_doc(doc)
        for doc in history:
            ws.history.setdefault(doc["conversation_id"], []).append(doc)
        return ws

    async def _load_customers(self, ws: Workspace, ids: set[str]) -> None:
        for _ in range(3):  # merged_into chains are short; follow a few hops
            missing = sorted(i for i in ids if i and i not in ws.customers)
            if not missing:
                return
            for doc in await self._find(self.customers, {"_id": {"$in": missing}}):
                ws.customers[doc["_id"]] = Customer.from_doc(doc)
                ws.persisted.add("customer/" + doc["_id"])
            ids = {c.merged_into for c in ws.customers.values() if c.merged_into}

    @staticmethod
    def _add_conversations(ws: Workspace, docs: list, persisted: bool = False) -> None:
        """`docs`: stored documents, or resident Conversation objects (`persisted=True`)."""
        for doc in docs:
            conv = doc if persisted else None
            if (conv.id if conv else doc["_id"]) in ws.conversations:
                continue
            conv = conv or Conversation.from_doc(doc)
            ws.conversations[conv.id] = conv
            ws.persisted.add("conversation/" + conv.id)
            for key in conv.thread_keys:
                ws.thread_index[(conv.brand_id, key)] = conv.id

    @staticmethod
    async def _find(collection, query: dict, projection: dict | None = None) -> list[dict]:
        """Skips the round trip when a condition can match nothing (an empty `$in`): the store
        serves one request at a time, and a batch's empty lookups used to wait in line like real ones."""
        if any(isinstance(c, dict) and c.get("$in") == [] for c in query.values()):
            return []
        return [doc async for doc in collection.find(query, projection)]

    def remember(self, ws: Workspace) -> None:
        """After a committed save: the queued conversations and their customers stay resident."""
        if ws.merges:  # merges re-point documents server-side (update_many): read everything afresh
            self.forget()
            return
        resident = self.resident
        conversations: dict[str, Conversation] = {}
        customers: dict[str, Customer] = {}
        for queue in resident.queue.values():
            for conv_id in queue:  # brands this batch did not touch keep what they had
                conv = ws.conversations.get(conv_id) or resident.conversations.get(conv_id)
                customer = conv and (ws.customers.get(conv.customer_id) or resident.customers.get(conv.customer_id))
                if conv is None or customer is None:
                    self.forget()  # not expected; the next batch reads the queue afresh
                    return
                conversations[conv_id] = conv
                customers[customer.id] = customer
        resident.conversations, resident.customers = conversations, customers

    def forget(self) -> None:
        """Drops the resident state (a failed batch may have changed it half-way)."""
        self.resident = Resident()

    # ------------------------------------------------------------------ save
    async def prepare(self) -> None:
        """Chooses how batches are written, then finishes a batch a dead predecessor left half-written.
        Runs at start-up before anything else writes (bootstrap_agents must not be overwritten by
        images of an older configuration)."""
        if self.transactions is None:
            hello = await self.db.client.admin.command("hello")
            # MongoDB runs transactions on replica sets and through mongos only. nx-27017 accepts them
            # but keeps a dead client's transaction open on its one SQLite connection: its writes stay
            # visible, and nothing written after it is committed.
            self.transactions = bool(hello.get("setName") or hello.get("msg") == "isdbgrid")
        log.info("router_write_mode", mode="transaction" if self.transactions else "journal")
        if not self.transactions:
            await self._replay_journal()
            await self.journal.delete_many({})  # replayed: a later failure must not bring these images back
        self._replay_due = False

    async def save(self, ws: Workspace, processed: list[dict] | None = None) -> None:
        """Writes the batch so that a process dying half-way leaves no half-applied batch behind.

        With transactions (replica set): everything commits or nothing does. Without: the batch's
        whole write set is first stored in one journal document (the commit point), then written; a
        restart, or the next batch after a failed save, replays the journal before reading anything.
        Every write is an image, an insert-if-absent, a delete or a $set, so replaying is idempotent.
        Messages and order histories still go last: they are how a redelivered input is recognised
        as applied."""
        stages = self._writes(ws, processed)
        if not stages:
            return
        if self.transactions:
            # New documents go in with plain inserts (2-3x cheaper than upserts). A duplicate key
            # aborts the transaction; it is then written again with $setOnInsert upserts, which
            # keep whatever is already stored (a record applied by a process that died before it
            # could commit its offsets, for instance).
            try:
                await self._transaction(stages, insert=_insert_strict)
            except BulkWriteError as exc:
                errors = exc.details.get("writeErrors", [])
                if any(e.get("code") != DUPLICATE_KEY for e in errors):
                    raise
                duplicate = str(errors[0].get("errmsg", ""))[:120] if errors else ""
                log.info("batch_rewritten_as_upserts", duplicate=duplicate)
                await self._transaction(stages, insert=_upsert_new)
            return
        self._replay_due = True  # until every write below is done
        await self._write_journal(stages)
        await self._apply(stages)
        self._replay_due = False

    async def _transaction(self, stages: list[list[Write]], insert) -> None:
        async with self.db.client.start_session() as session:
            async with await session.start_transaction():
                for stage in stages:
                    for write in stage:
                        await self._execute(write, insert, session)  # one session: one after another

    async def _apply(self, stages: list[list[Write]]) -> None:
        for stage in stages:
            await asyncio.gather(*(self._execute(write, _insert_new) for write in stage))

    async def _execute(self, write: Write, insert, session=None) -> None:
        collection = self.db[write.collection]
        if write.kind == INSERT:
            await insert(collection, write.docs, session)
        elif write.kind == REPLACE:
            ops = [ReplaceOne({"_id": d["_id"]}, d, upsert=True) for d in write.docs]
            await collection.bulk_write(ops, ordered=False, session=session)
        elif write.kind == DELETE:
            await collection.bulk_write([DeleteOne({"_id": i}) for i in write.docs], ordered=False, session=session)
        else:  # REASSIGN: a merged customer's documents now belong to the surviving one
            for m in write.docs:
                await collection.update_many({"brand_id": m["brand_id"], "customer_id": m["from"]},
                                             {"$set": {"customer_id": m["to"]}}, session=session)

    # ------------------------------------------------------------------ journal
    async def _write_journal(self, stages: list[list[Write]]) -> None:
        """Stores the write set in fixed slots, part 0 last: part 0 names the batch and is the commit
        point. Parts beyond 0 exist only when the set is larger than one document may be."""
        entries = [{"stage": n, "collection": w.collection, "kind": w.kind, "docs": w.docs}
                   for n, stage in enumerate(stages) for w in stage]
        batch = uuid.uuid4().hex
        parts = _split(entries, 1)
        while True:
            docs = [{"_id": f"part/{i}", "batch": batch, "parts": len(parts), "entries": _pack(part)}
                    for i, part in enumerate(parts)]
            try:
                if len(docs) > 1:
                    await self.journal.bulk_write([ReplaceOne({"_id": d["_id"]}, d, upsert=True) for d in docs[1:]],
                                                  ordered=False)
                await self.journal.replace_one({"_id": "part/0"}, docs[0], upsert=True)
                return
            except DocumentTooLarge:
                if len(parts) >= sum(len(e["docs"]) for e in entries):
                    raise  # one document per part and still too large: no write could store it
                parts = _split(entries, len(parts) * 2)

    async def _replay_journal(self) -> None:
        head = await self.journal.find_one({"_id": "part/0"})
        if head is None:
            return
        rest = [d async for d in self.journal.find({"_id": {"$in": [f"part/{i}" for i in range(1, head["parts"])]}})]
        if len(rest) != head["parts"] - 1 or any(d["batch"] != head["batch"] for d in rest):
            return  # a later batch began overwriting the slots: the named batch was written in full
        entries = [e for d in [head, *sorted(rest, key=lambda d: int(d["_id"][5:]))] for e in _unpack(d["entries"])]
        stages: list[list[Write]] = [[] for _ in range(1 + max((e["stage"] for e in entries), default=0))]
        for e in entries:
            stages[e["stage"]].append(Write(e["collection"], e["kind"], e["docs"]))
        await self._apply(stages)
        log.info("journal_replayed", batch=head["batch"], writes=len(entries))

    def _writes(self, ws: Workspace, processed: list[dict] | None) -> list[list[Write]]:
        """The batch's writes in three stages: state, then customer merges (after the handles of this
        batch exist), then the applied-markers (stored messages, order histories, dedupe records)."""
        state: list[Write] = []
        merges: list[Write] = []
        markers: list[Write] = []

        def add(target: list[Write], collection, kind: str, docs: list) -> None:
            if docs:
                target.append(Write(collection.name, kind, docs))

        def upsert(collection, kind: str, docs: list[dict]) -> None:
            """Documents new in this batch are inserted (cheaper than upserts); known ones replaced."""
            add(state, collection, REPLACE, [d for d in docs if f"{kind}/{d['_id']}" in ws.persisted])
            add(state, collection, INSERT, [d for d in docs if f"{kind}/{d['_id']}" not in ws.persisted])

        upsert(
            self.conversations,
            "conversation",
            [ws.conversations[i].to_doc() for i in sorted(ws.dirty_conversations) if ws.conversations[i].id],
        )
        upsert(self.customers, "customer", [ws.customers[i].to_doc() for i in sorted(ws.dirty_customers)])
        add(state, self.agents, REPLACE, [ws.agents[b][a].to_doc() for b, a in sorted(ws.dirty_agents)])
        add(state, self.stats, REPLACE, [ws.stats[i].to_doc() for i in sorted(ws.dirty_stats)])
        add(state, self.sessions, REPLACE, [ws.sessions[i].to_doc() for i in sorted(ws.dirty_sessions)])
        add(state, self.deliveries, REPLACE, [ws.deliveries[i] for i in sorted(ws.dirty_deliveries)])
        add(state, self.queue, REPLACE,
            [ws.queue[b][c].to_doc() for b, c in sorted(ws.dirty_queue) if c in ws.queue.get(b, {})])
        add(state, self.queue, DELETE, [c for _, c in sorted(ws.removed_queue) if "queue/" + c in ws.persisted])
        # Thread keys: new ones inserted, re-pointed ones replaced.
        changed = [(k, c) for k, c in sorted(ws.thread_index.items()) if ws.stored_threads.get(k) != c]
        add(state, self.threads, REPLACE, [_thread_doc(k, c) for k, c in changed if k in ws.stored_threads])
        add(state, self.threads, INSERT, [_thread_doc(k, c) for k, c in changed if k not in ws.stored_threads])
        # An existing handle mapping is never overwritten (no silent re-pointing of identities).
        add(state, self.handles, INSERT,
            [{"_id": handle_id(b, h), "brand_id": b, "kind": h.kind, "value": h.value, "customer_id": cid}
             for b, h, cid in ws.new_handles])
        reassigned = [{"brand_id": b, "from": m, "to": v} for b, m, v in ws.merges]
        add(merges, self.handles, REASSIGN, reassigned)
        add(merges, self.conversations, REASSIGN, reassigned)
        add(markers, self.orders, REPLACE, [ws.orders[i].to_doc() for i in sorted(ws.dirty_orders)])
        add(markers, self.messages, INSERT, ws.new_messages)
        add(markers, self.db[DedupeStore.COLLECTION], INSERT, processed or [])
        return [stage for stage in (state, merges, markers) if stage]


def _pack(entries: list[dict]) -> str:
    """One opaque string: a store writes it 3x faster than the same entries as nested documents
    (nx-27017 walks every nested value; it cannot store binary at all)."""
    return base64.b64encode(bson.encode({"entries": entries})).decode("ascii")


def _unpack(packed: str) -> list[dict]:
    return bson.decode(base64.b64decode(packed), codec_options=_TZ_AWARE)["entries"]


def _split(entries: list[dict], parts: int) -> list[list[dict]]:
    """`entries` in about `parts` slices of similar document counts; an entry with many documents is
    cut into several (every write is per document, so cutting one changes nothing)."""
    total = sum(len(e["docs"]) for e in entries)
    per_part = max(1, -(-total // parts))
    out: list[list[dict]] = [[]]
    room = per_part
    for e in entries:
        docs = e["docs"]
        while docs:
            if room == 0:
                out.append([])
                room = per_part
            take, docs = docs[:room], docs[room:]
            out[-1].append({**e, "docs": take})
            room -= len(take)
    return out


async def _insert_strict(collection, docs: list[dict], session=None) -> None:
    await collection.insert_many(docs, ordered=False, session=session)


async def _upsert_new(collection, docs: list[dict], session=None) -> None:
    """$setOnInsert upserts: keep whatever is already stored."""
    ops = [UpdateOne({"_id": d["_id"]}, {"$setOnInsert": {k: v for k, v in d.items() if k != "_id"}}, upsert=True)
           for d in docs]
    await collection.bulk_write(ops, ordered=False, session=session)


async def _insert_new(collection, docs: list[dict], session=None) -> None:
    """insert_many that ignores documents already stored."""
    try:
        await collection.insert_many(docs, ordered=False, session=session)
    except BulkWriteError as exc:
        if any(e.get("code") != DUPLICATE_KEY for e in exc.details.get("writeErrors", [])):
            raise


async def _none() -> list[dict]:
    return []
