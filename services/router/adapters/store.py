"""MongoDB persistence of the router's state: batched $in loads into a Workspace, bulk writes back.

The routing stage owns each routing scope (brand) it was assigned, alone (adapters/journal.py fences
a revoked owner's writes), so the state every batch of a brand needs whatever it contains - agents,
queue entries, queue statistics, and the queued conversations - stays resident
between batches instead of being re-read (which cost O(queue length) per batch). It is refreshed
from the workspace after each committed save and dropped on any failure, merge, claim or restart:
the next batch reads it afresh.

Collections (indexes in README):
  customers, customer_handles (unique brand_id+kind+value), conversations, conversation_messages,
  agents, queue_entries, queue_stats, orders, chat_sessions, message_deliveries.

Identity: a handle's owner is read in one round from both the handle index (`customer_handles` by
_id) and `customers` by the ids derived from the handles (a customer created from a handle has the
id derived from it and no index document for it: domain/identity.py). Index documents win.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from switchboard.common.cloudevents import derived_id
from switchboard.common.logging import get_logger
from switchboard.common.mongo import find_each
from switchboard.router.adapters import message_docs
from switchboard.router.adapters.batch_names import BatchNames, names_of
from switchboard.router.adapters.journal import Journal
from switchboard.router.adapters.rounds import BulkWrites, IdReads
from switchboard.router.adapters.store_setup import StoreSetup
from switchboard.router.adapters.store_writes import (
    CONTACT,
    CONTACT_DUE_TS,
    CONTACT_PENDING,
    TIMER_DUE_TS,
    WHOLE,
    StoreWrites,
    handle_id,
    thread_id,
)
from switchboard.router.domain import identity, receipts, threads
from switchboard.router.domain.engine import Workspace
from switchboard.router.domain.inputs import ChatEndIn, DeliveryIn, Input, TickIn
from switchboard.router.domain.model import (
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


@dataclass
class Resident:
    """Router-owned state kept between batches (see the module docstring)."""

    brands: set[str] = field(default_factory=set)  # brands whose agents, queue and stats are loaded
    agents: dict[str, dict[str, Agent]] = field(default_factory=dict)
    queue: dict[str, dict[str, QueueEntry]] = field(default_factory=dict)
    stats: dict[str, QueueStats] = field(default_factory=dict)
    lines: dict = field(default_factory=dict)  # brand -> WaitingLine, the queue's serving-order index
    conversations: dict[str, Conversation] = field(default_factory=dict)  # the queued ones


class RouterStore(StoreSetup, StoreWrites):
    """Loads (this module) and writes (store_writes.py) the router's state."""

    def __init__(self, db, *, transactions: bool | None = None, derive: Callable[..., str] = derived_id,
                 role: str = WHOLE) -> None:
        """`transactions`: None chooses at prepare() from what the server supports. `derive`: the
        Engine's id derivation (customer ids derive from their seed handle). `role`: which half of a
        conversation this store writes (store_writes.py WHOLE, CONTACT, ROUTING); a contact stage's keeps
        no routing state (agents, queues) resident and never reads it."""
        self.db = db
        self.role = role
        self.derive = derive
        self.transactions = transactions
        # Scopes (brands; None = the unscoped slot) whose last save failed half-way: replayed before reading.
        self._replay_due: set[str | None] = set() if transactions else {None}
        self.epochs: dict[str, int] = {}  # routing scopes this process owns -> the epoch it claimed
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
        self.scope_journal = Journal(db)
        self.id_reads, self.bulk_writes = IdReads(), BulkWrites()

    # ------------------------------------------------------------------ load
    async def load(self, inputs: list[Input], message_ids: list[str] = ()) -> Workspace:
        """`message_ids`: ids the inputs' messages would get; those already stored mark inputs applied."""
        await self._replay_pending()
        ws = Workspace()
        names = names_of(inputs)
        # A conversation is named by the thread key that opened it: load those the batch's keys name.
        names.named = {(b, k): threads.opened_by(self.derive, b, k) for b, k in names.keys | names.own_keys}
        names.conv_ids.update(names.named.values())
        threaded = await self._load_named(ws, names, message_ids)
        touched, touched_customers = await self._load_touched(ws, names, threaded)
        # Orders the bot may talk about, and message history for chat transcripts.
        wanted_orders = {f"{c.brand_id}/{o}" for c in touched.values() for o in c.order_ids}
        wanted_orders |= {f"{c.brand_id}/{o}" for c in touched_customers.values() for o in c.order_ids[-5:]}
        wanted_orders -= ws.orders.keys()
        ended = {
            ws.thread_index.get((i.brand_id, threads.chat_key(i.chat_session_id)))
            for i in inputs
            if isinstance(i, ChatEndIn)
        } - {None}
        order_more, _ = await asyncio.gather(
            self._find(self.orders, {"_id": {"$in": sorted(wanted_orders)}}),
            self._load_history(ws, ended),
        )
        for doc in order_more:
            ws.orders[doc["_id"]] = OrderRecord.from_doc(doc)
        watermarked = {c.id for i in inputs if isinstance(i, DeliveryIn) and i.watermark is not None
                       and (c := receipts.watermark_conversation(ws, i))}
        await self._load_history(ws, watermarked)  # receipts.covered_by_watermark picks our unread ones
        await self._load_due(ws, [i for i in inputs if isinstance(i, TickIn)])
        return ws

    async def _load_named(self, ws: Workspace, names: BatchNames, message_ids: list[str]) -> dict:
        """What the inputs name (one $in per collection), and the resident state of brands not loaded
        yet. Returns the stored thread key -> conversation mapping of the keys looked up."""
        unloaded = sorted(names.brands - self.resident.brands) if self.role != CONTACT else []
        (
            stored_messages,
            handle_docs,
            seeded_docs,
            thread_docs,
            id_convs,
            session_docs,
            agent_docs,
            queue_docs,
            stats_docs,
            order_docs,
            delivery_docs,
        ) = await asyncio.gather(
            # Customer messages' ids: always a document's own _id (only bot answers are stored inside another).
            self._find(self.messages, {"_id": {"$in": list(message_ids)}}, {"_id": 1}),
            self._find(self.handles, {"_id": {"$in": sorted(names.handle_ids)}}),
            self._find(self.customers, {"_id": {"$in": self._seed_ids(names.handles)}}),
            self._find(self.threads, {"_id": {"$in": sorted(thread_id(b, k) for b, k in names.keys)}}),
            self._find(self.conversations, {"_id": {"$in": sorted(names.conv_ids)}}),
            self._find(self.sessions, {"_id": {"$in": sorted(names.session_ids)}}),
            *self._routing_state_reads(unloaded),
            self._find(self.orders, {"_id": {"$in": sorted(names.order_ids)}}),
            self._find(self.deliveries, {"_id": {"$in": sorted(names.delivery_ids)}}),
        )
        ws.stored_message_ids.update(d["_id"] for d in stored_messages)
        self._add_owners(ws, names.handles, handle_docs, seeded_docs)
        self._make_resident(ws, unloaded, agent_docs, queue_docs, stats_docs)
        for doc in order_docs:
            ws.orders[doc["_id"]] = OrderRecord.from_doc(doc)
        for doc in session_docs:
            ws.sessions[doc["_id"]] = ChatSession.from_doc(doc)
        # A chat message also presents the email its session was started with: look that handle up too.
        emails = {(s.brand_id, Handle(EMAIL, s.email)) for s in ws.sessions.values() if s.email}
        emails = {(b, h) for b, h in emails if handle_id(b, h) not in names.handle_ids}
        if emails:
            handle_docs, seeded_docs = await asyncio.gather(
                self._find(self.handles, {"_id": {"$in": sorted(handle_id(b, h) for b, h in emails)}}),
                self._find(self.customers, {"_id": {"$in": self._seed_ids(emails)}}),
            )
            self._add_owners(ws, emails, handle_docs, seeded_docs)
        for doc in delivery_docs:
            ws.deliveries[doc["_id"]] = doc
        self._add_conversations(ws, id_convs)
        threaded = {(d["brand_id"], d["key"]): d["conversation_id"] for d in thread_docs}
        found = {d["_id"] for d in id_convs}
        for brand_key in names.keys:  # an index document (a key re-pointed to a later conversation) wins
            if brand_key not in threaded and names.named[brand_key] in found:
                threaded[brand_key] = names.named[brand_key]
        return threaded

    def _seed_ids(self, handles: Iterable[tuple[str, Handle]]) -> list[str]:
        return sorted({identity.seed_id(self.derive, brand, h) for brand, h in handles})

    def _add_owners(self, ws: Workspace, handles: Iterable[tuple[str, Handle]], handle_docs: list[dict],
                    seeded_docs: list[dict]) -> None:
        """Owners of `handles`: customers found by seed-derived id that still hold the handle, then the
        stored index documents, which win (data written before seeds, handles re-pointed by merges).
        Every customer found is kept, holder or not: a new customer must not take a stored one's id."""
        self._add_customers(ws, seeded_docs)
        held = {d["_id"]: [Handle(h["kind"], h["value"]) for h in d.get("handles", ())] for d in seeded_docs}
        by_brand: dict[str, list[Handle]] = defaultdict(list)
        for brand, h in handles:
            by_brand[brand].append(h)
        for brand, hs in sorted(by_brand.items()):
            for h, customer_id in identity.owners_by_seed(self.derive, brand, hs, held).items():
                ws.handles[(brand, h)] = customer_id
        for doc in handle_docs:
            ws.handles[(doc["brand_id"], Handle(doc["kind"], doc["value"]))] = doc["customer_id"]

    def _routing_state_reads(self, brands: list[str]) -> list:
        """The brands' agents, queue entries and statistics, to gather (no request for no brand: _find)."""
        return [self._find(c, {"brand_id": {"$in": brands}}) for c in (self.agents, self.queue, self.stats)]

    def _make_resident(self, ws: Workspace, unloaded: list[str], agent_docs: list[dict], queue_docs: list[dict],
                       stats_docs: list[dict]) -> None:
        resident = self.resident
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
        ws.agents, ws.queue, ws.stats, ws.lines = resident.agents, resident.queue, resident.stats, resident.lines
        ws.persisted.update("queue/" + c for queue in resident.queue.values() for c in queue)

    async def _load_touched(
        self, ws: Workspace, names: BatchNames, threaded: dict
    ) -> tuple[dict[str, Conversation], dict[str, Customer]]:
        """Customers and conversations the batch may touch; returns those read for it (not resident)."""
        resident = self.resident
        # Customers named by handles, sessions, conversations and commands (following merges).
        customer_ids = set(names.customer_ids)
        customer_ids.update(ws.handles.values())
        customer_ids.update(s.customer_id for s in ws.sessions.values() if s.customer_id)
        customer_ids.update(c.customer_id for c in ws.conversations.values())
        await self._load_customers(ws, customer_ids)
        # Conversations the batch may touch: customers' latest, merged customers', and (resident, for
        # routing) the queued ones.
        queued = {c for brand in names.brands for c in resident.queue.get(brand, {})}
        wanted = {c.last_conversation_id for c in ws.customers.values() if c.last_conversation_id} | queued
        wanted |= set(threaded.values())
        wanted -= ws.conversations.keys()
        from_resident = wanted & resident.conversations.keys()
        wanted -= from_resident  # the rest: not resident yet (first batch after a (re)load)
        queries = [self._find(self.conversations, {"_id": {"$in": sorted(wanted)}})] if wanted else []
        if names.merged_customer_ids:
            queries.append(self._find(
                self.conversations, {"customer_id": {"$in": names.merged_customer_ids}, "status": {"$ne": "resolved"}}
            ))
        for docs in await asyncio.gather(*queries):
            self._add_conversations(ws, docs)
        touched = dict(ws.conversations)  # read for this batch (queued ones included on a first load)
        await self._load_customers(ws, {c.customer_id for c in touched.values()})
        touched_customers = dict(ws.customers)
        for conv_id in sorted(from_resident):
            conv = resident.conversations[conv_id]
            if conv_id not in ws.conversations:
                self._add_conversations(ws, [conv], persisted=True)
        # The stored key -> conversation mapping wins over keys listed in conversation documents (a
        # chat session or call key moves to the newest conversation that uses it).
        ws.thread_index.update((k, c) for k, c in threaded.items() if c in ws.conversations)
        ws.stored_threads = dict(ws.thread_index)
        return touched, touched_customers

    async def load_routing(self, brands: set[str], conversation_ids: set[str]) -> Workspace:
        """For the routing stage replaying deltas (domain/delta.py): the brands' resident routing state and
        the conversations the deltas name, as this stage last wrote them (their contact fields come with
        each step)."""
        await self._replay_pending()
        ws = Workspace()
        resident = self.resident
        unloaded = sorted(brands - resident.brands)
        agent_docs, queue_docs, stats_docs = await asyncio.gather(*self._routing_state_reads(unloaded))
        self._make_resident(ws, unloaded, agent_docs, queue_docs, stats_docs)
        queued = {c for brand in brands for c in resident.queue.get(brand, {})}
        wanted = (set(conversation_ids) | queued) - {""}
        from_resident = wanted & resident.conversations.keys()
        missing = sorted(wanted - from_resident)
        self._add_conversations(ws, await self._find(self.conversations, {"_id": {"$in": missing}}))
        self._add_conversations(ws, [resident.conversations[c] for c in sorted(from_resident)], persisted=True)
        return ws

    async def contact_due(self, now) -> dict[str, str]:
        """For the contact stage's tick: conversation id -> customer id of every conversation whose chat
        transcript is due (one indexed range; the tick then loads those of the partitions it owns)."""
        await self._replay_pending()
        docs = await self._find(self.conversations, {CONTACT_DUE_TS: {"$lte": now.timestamp()}}, {"customer_id": 1})
        return {d["_id"]: d.get("customer_id") or "" for d in docs}

    async def load_contact_due(self, conversation_ids: list[str]) -> Workspace:
        """Those due conversations (contact_due) with their customers and message history."""
        ws = Workspace()
        self._add_conversations(ws, await self._find(self.conversations, {"_id": {"$in": sorted(conversation_ids)}}))
        await self._load_customers(ws, {c.customer_id for c in ws.conversations.values()})
        await self._load_history(ws, set(ws.conversations))
        return ws

    async def _replay_pending(self) -> None:
        if self._replay_due and not self.transactions:  # the last save failed half-way: finish it first
            for scope in sorted(self._replay_due, key=str):
                await self._apply(await self.scope_journal.pending(scope), self.epochs.get(scope or ""))
            self._replay_due.clear()

    async def _load_due(self, ws: Workspace, ticks: list[TickIn]) -> None:
        """For the router's tick: conversations whose timer is due, those held by agents who are not
        online (domain/reassignment.py), their customers, and the history of due transcripts."""
        if not ticks:
            return
        brands, now = sorted({t.brand_id for t in ticks}), max(t.at for t in ticks)
        held = {c for b in brands for a in ws.agents.get(b, {}).values() if a.presence != "online" for c in a.active}
        due, absent = await asyncio.gather(
            self._find(self.conversations, {TIMER_DUE_TS: {"$lte": now.timestamp()}}),
            self._find(self.conversations, {"_id": {"$in": sorted(held - ws.conversations.keys())}}),
        )
        # One indexed range over every brand (nx-27017 reads the whole collection for `brand_id $in` + a
        # range); due conversations of brands another replica owns are few and left to their owner.
        loaded = [d for d in due if d.get("brand_id") in brands] + absent
        self._add_conversations(ws, loaded)
        # Customers of what the tick may act on, not of every resident queued conversation (routing needs none).
        ids = {d["_id"] for d in loaded}
        await self._load_customers(ws, {c.customer_id for c in ws.conversations.values()
                                        if c.id in ids or c.pending_transcripts})
        await self._load_history(ws, {c.id for c in ws.conversations.values() if c.pending_transcripts})

    async def _load_history(self, ws: Workspace, conversation_ids: set) -> None:
        """Every message of these conversations not loaded yet: for chat transcripts (ended chats, due
        transcripts) and watermark receipts (receipts.covered_by_watermark picks our unread ones). One
        indexed equality per conversation (mongo.find_each): `$in` there reads every message stored."""
        wanted = sorted(c for c in conversation_ids if c and c not in ws.history)
        for doc in message_docs.unfold(await find_each(self.messages, "conversation_id", wanted)):
            ws.history.setdefault(doc["conversation_id"], []).append(doc)

    async def _load_customers(self, ws: Workspace, ids: set[str]) -> None:
        """`ids` and the customers they were merged into (some may be loaded already: seed lookups)."""
        for _ in range(3):  # merged_into chains are short; follow a few hops
            missing = sorted(i for i in ids if i and i not in ws.customers)
            if missing:
                self._add_customers(ws, await self._find(self.customers, {"_id": {"$in": missing}}))
            ids = {c.merged_into for c in ws.customers.values() if c.merged_into}
            if not ids - ws.customers.keys():
                return

    @staticmethod
    def _add_customers(ws: Workspace, docs: list[dict]) -> None:
        for doc in docs:
            if doc["_id"] not in ws.customers:
                ws.customers[doc["_id"]] = Customer.from_doc(doc)
                ws.persisted.add("customer/" + doc["_id"])

    def _add_conversations(self, ws: Workspace, docs: list, persisted: bool = False) -> None:
        """`docs`: stored documents, or resident Conversation objects (`persisted=True`). The contact stage
        skips a document whose contact half was never written (store_writes.CONTACT_PENDING)."""
        for doc in docs:
            if not persisted and self.role == CONTACT and doc.get(CONTACT_PENDING):
                continue
            conv = doc if persisted else None
            if (conv.id if conv else doc["_id"]) in ws.conversations:
                continue
            conv = conv or Conversation.from_doc(doc)
            ws.conversations[conv.id] = conv
            ws.persisted.add("conversation/" + conv.id)
            for key in conv.thread_keys:
                ws.thread_index[(conv.brand_id, key)] = conv.id

    async def _find(self, collection, query: dict, projection: dict | None = None) -> list[dict]:
        return await self.id_reads.query(collection, query, projection)  # (rounds.py)

    def remember(self, ws: Workspace) -> None:
        """After a committed save: the queued conversations stay resident (routing needs nothing of their
        customers: a queue-exit offer reads the conversation's `reachable_on`)."""
        if ws.merges:  # merges re-point documents server-side (update_many): read everything afresh
            self.forget()
            return
        resident = self.resident
        conversations: dict[str, Conversation] = {}
        for queue in resident.queue.values():
            for conv_id in queue:  # brands this batch did not touch keep what they had
                conv = ws.conversations.get(conv_id) or resident.conversations.get(conv_id)
                if conv is None:
                    self.forget()  # not expected; the next batch reads the queue afresh
                    return
                conversations[conv_id] = conv
        resident.conversations = conversations

    def forget(self) -> None:
        """Drops the resident state (a failed batch may have changed it half-way)."""
        self.resident = Resident()
