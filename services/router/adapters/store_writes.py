"""How the router writes a batch: one transaction, or a journal then the writes; per routing scope,
fenced by the scope's epoch (journal.py). RouterStore (store.py) inherits these."""

from __future__ import annotations

import asyncio

from pymongo import DeleteOne, InsertOne, ReplaceOne, UpdateOne
from pymongo.errors import BulkWriteError
from switchboard.common.dedupe import DedupeStore
from switchboard.common.logging import get_logger
from switchboard.common.mongo import refused_as_duplicates
from switchboard.router.adapters import message_docs
from switchboard.router.adapters.journal import FENCED_COLLECTIONS, Fenced, Write
from switchboard.router.domain import threads, transcript
from switchboard.router.domain.engine import Workspace
from switchboard.router.domain.model import PEOPLE, Handle
from switchboard.router.domain.workspace import ROUTING_FIELDS

log = get_logger(__name__)
# Write kinds. Each is idempotent, which is what makes replaying a journal safe.
INSERT = "insert"      # new documents; one already stored is kept
REPLACE = "replace"    # whole-document images, upserted
DELETE = "delete"      # by _id
REASSIGN = "reassign"  # {brand_id, from, to}: documents of a merged customer move to the surviving one
SET = "set"            # {_id, set: {field: value}}: fields of a stored document; none is created
# {_id, set: {...}, on_insert: {...}}: one stage's own fields of a conversation both router stages write
# (the contact stage its contact fields, the routing stage its routing fields); whichever writes first
# creates the document with the other's fields as it knows them.
UPSERT_SET = "upsert_set"

# Who writes a conversation document, and so which of its fields (RouterStore(role=...)): the whole image
# (one process decides both sides: the routing stage applying inputs in line), or one stage's half.
WHOLE, CONTACT, ROUTING = "whole", "contact", "routing"


def handle_id(brand_id: str, h: Handle) -> str:
    return f"{brand_id}|{h.kind}|{h.value}"


def thread_id(brand_id: str, key: str) -> str:
    return f"{brand_id}|{key}"


# The tick finds due conversations by this number (epoch seconds), not by `timer_due_at`: nx-27017 answers a
# range on a datetime by reading every document of the collection, on a number through its index
# (docs/performance.md, "Queries the embedded store scans").
TIMER_DUE_TS = "timer_due_ts"
# The contact stage's tick finds due chat transcripts by this number (its own timer; `timer_due_ts` is the
# routing stage's silence timer when the stages are split).
CONTACT_DUE_TS = "contact_due_ts"
# Set on a conversation document the routing stage created before the contact stage wrote its half: the
# contact stage reads it as not there yet (a redelivered input opens it again, under the same id).
CONTACT_PENDING = "contact_pending"
# A conversation's fields the routing stage writes; every other field is the contact stage's.
_ROUTING_DOC_FIELDS = frozenset({*ROUTING_FIELDS, "status", "timer_due_at", TIMER_DUE_TS})


def conversation_doc(conv) -> dict:
    doc = conv.to_doc()
    doc[TIMER_DUE_TS] = conv.timer_due_at.timestamp() if conv.timer_due_at is not None else None
    due = transcript.next_due(conv)  # (a contact stage, if there is one, fires the transcripts)
    doc[CONTACT_DUE_TS] = due.timestamp() if due is not None else None
    return doc


def conversation_half(conv, role: str) -> dict:
    """The UPSERT_SET write of `role`'s half of the conversation: its own fields set, the other half's (as
    this stage's copy has them) only if the document is new."""
    doc = conversation_doc(conv)
    routing = {k: v for k, v in doc.items() if k in _ROUTING_DOC_FIELDS}
    contact = {k: v for k, v in doc.items() if k not in _ROUTING_DOC_FIELDS and k != "_id"}
    if role == CONTACT:
        contact[CONTACT_PENDING] = False
        if conv.phase != PEOPLE:  # with the bot or resolved: the status is the phase, whatever routing holds
            contact["status"] = conv.phase
        # Never changes, and sorts a customer's conversations: set once, so it stays a datetime on nx-27017
        # (model.stored_time).
        # The routing fields, and the status of a conversation with people, are the routing stage's alone: a
        # reader never sees this stage's guess of them (queued, say, for one the routing stage assigns at once).
        # A new document gets the routing fields as nothing routed yet (this copy's, all empty), whole.
        on_insert = {k: v for k, v in routing.items() if k != "status"}
        return {"_id": conv.id, "set": contact, "on_insert": {**on_insert, "opened_at": contact.pop("opened_at")}}
    # Created by the routing stage (its delta came before the contact stage's write, or that write died
    # with its process): what finds and shows it, and a mark that its contact half is still to come.
    on_insert = {k: contact[k] for k in ("brand_id", "customer_id", "channel", "opened_at")}
    return {"_id": conv.id, "set": routing, "on_insert": {**on_insert, CONTACT_PENDING: True}}


def _thread_doc(brand_key: tuple[str, str], conversation_id: str) -> dict:
    brand_id, key = brand_key
    return {"_id": thread_id(brand_id, key), "brand_id": brand_id, "key": key, "conversation_id": conversation_id}


class StoreWrites:
    """The write half of RouterStore (attributes set by RouterStore.__init__)."""

    async def prepare(self) -> None:
        """Chooses how batches are written, then finishes an unscoped batch a dead predecessor left
        half-written (scoped journals are replayed by whoever claims the scope: `claim`). Runs at
        start-up before anything else writes."""
        if self.transactions is None:
            hello = await self.db.client.admin.command("hello")
            # MongoDB runs transactions on replica sets and through mongos only. nx-27017 accepts them
            # but keeps a dead client's transaction open on its one SQLite connection: its writes stay
            # visible, and nothing written after it is committed.
            self.transactions = bool(hello.get("setName") or hello.get("msg") == "isdbgrid")
        log.info("router_write_mode", mode="transaction" if self.transactions else "journal")
        if not self.transactions:
            await self._apply(await self.scope_journal.pending(None), None)
            await self.scope_journal.drop_unscoped()
        self._replay_due.clear()

    async def claim(self, brand: str) -> int:
        """Takes the routing scope over: raises its epoch (a revoked owner's writes match nothing from
        here on), stamps the scope's agents, queue entries and statistics with it, finishes the last
        journaled batch of the scope, and drops resident state so the next batch rebuilds it."""
        epoch = await self.scope_journal.claim(brand)
        self.epochs[brand] = epoch
        await asyncio.gather(*(self.db[name].update_many({"brand_id": brand}, {"$set": {"epoch": epoch}})
                               for name in sorted(FENCED_COLLECTIONS)))
        if not self.transactions:
            await self._apply(await self.scope_journal.pending(brand), epoch)
        await self.stamp_due_times(brand)  # after the replay: a journal of an older replica has no due number
        self._replay_due.discard(brand)
        self.forget()
        return epoch

    def release(self, brands: set[str]) -> None:
        for brand in brands:
            self.epochs.pop(brand, None)
            self._replay_due.discard(brand)
        self.forget()

    async def save(self, ws: Workspace, processed: list[dict] | None = None, scope: str | None = None,
                   whole: bool = False) -> None:
        """Writes the batch so that a process dying half-way leaves no half-applied batch behind.

        With transactions (replica set): everything commits or nothing does. Without: the batch's
        whole write set is first stored in one journal (the commit point), then written; a claim of
        the scope, a restart, or the next batch after a failed save replays it before reading
        anything. Every write is an image, an insert-if-absent, a delete or a $set, so replaying is
        idempotent. Messages and order histories still go last: they are how a redelivered input
        is recognised as applied. `scope`: the brand whose owner writes (fenced by its epoch). `whole`:
        whole conversation images whatever this store's role (inputs the routing stage applied in line).
        Raises Fenced when another replica claimed the scope since."""
        stages = self._writes(ws, processed, WHOLE if whole else self.role)
        if not stages:
            return
        epoch = self.epochs.get(scope) if scope else None
        if scope and epoch is None:
            raise Fenced(f"routing scope {scope!r} is not owned by this replica")
        if self.transactions:
            await self._save_in_transaction(stages, scope, epoch)
            return
        self._replay_due.add(scope)  # until every write below is done
        await self.scope_journal.write(stages, (scope, epoch) if scope else None)
        await self._apply(stages, epoch)
        self._replay_due.discard(scope)

    async def _save_in_transaction(self, stages: list[list[Write]], scope: str | None, epoch: int | None) -> None:
        # New documents go in with plain inserts (2-3x cheaper than upserts). A duplicate key aborts
        # the transaction; it is then written again with $setOnInsert upserts, which keep whatever is
        # already stored (a record applied by a process that died before it could commit its offsets).
        try:
            await self._transaction(stages, _insert_strict, scope, epoch)
        except BulkWriteError as exc:
            errors = refused_as_duplicates(exc)
            duplicate = str(errors[0].get("errmsg", ""))[:120] if errors else ""
            log.info("batch_rewritten_as_upserts", duplicate=duplicate)
            await self._transaction(stages, _upsert_new, scope, epoch)

    async def _transaction(self, stages: list[list[Write]], insert, scope: str | None, epoch: int | None) -> None:
        async with self.db.client.start_session() as session:
            async with await session.start_transaction():
                if scope and epoch is not None:
                    await self.scope_journal.check(scope, epoch, session)
                for stage in stages:
                    for write in stage:
                        await self._execute(write, insert, epoch, session)  # one session: one after another

    async def _apply(self, stages: list[list[Write]], epoch: int | None) -> None:
        """Without a transaction: each stage's writes at once, sent together with the same writes of the
        other scopes saving now (rounds.py), which go to other documents."""
        for stage in stages:
            await asyncio.gather(*(self._execute(write, None, epoch) for write in stage))

    async def _execute(self, write: Write, insert, epoch: int | None, session=None) -> None:
        """`insert`: how a transaction inserts (strictly, or as upserts after a duplicate); None outside one:
        insert-if-absent, in a round with the other scopes' writes."""
        collection = self.db[write.collection]
        fenced = epoch is not None and write.collection in FENCED_COLLECTIONS
        if write.kind == REASSIGN:  # a merged customer's documents now belong to the surviving one
            for m in write.docs:
                await collection.update_many({"brand_id": m["brand_id"], "customer_id": m["from"]},
                                             {"$set": {"customer_id": m["to"]}}, session=session)
            return
        if write.kind == INSERT and insert is not None:
            await insert(collection, write.docs, session)
            return
        ops = _ops(write, epoch if fenced else None)
        try:
            if session is not None:
                await collection.bulk_write(ops, ordered=False, session=session)
            else:
                await self.bulk_writes.write(collection, ops)
        except BulkWriteError as exc:
            if write.kind == INSERT:
                refused_as_duplicates(exc)  # documents already stored (a redelivery's) stay as they are
            elif write.kind == REPLACE and fenced:
                refused_as_duplicates(exc)  # a refused image finds its _id taken: the writer lost the scope
                raise Fenced(f"{collection.name}: written by a later owner of the scope (epoch > {epoch})") from None
            else:
                raise

    def _writes(self, ws: Workspace, processed: list[dict] | None, role: str | None = None) -> list[list[Write]]:
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

        dirty = [ws.conversations[i] for i in sorted(ws.dirty_conversations) if ws.conversations[i].id]
        role = role or self.role
        if role == WHOLE:
            upsert(self.conversations, "conversation", [conversation_doc(c) for c in dirty])
        else:  # each stage writes its half (the other's may be ahead of this stage's copy)
            add(state, self.conversations, UPSERT_SET, [conversation_half(c, role) for c in dirty])
        upsert(self.customers, "customer", [ws.customers[i].to_doc() for i in sorted(ws.dirty_customers)])
        add(state, self.agents, REPLACE, [ws.agents[b][a].to_doc() for b, a in sorted(ws.dirty_agents)])
        add(state, self.stats, REPLACE, [ws.stats[i].to_doc() for i in sorted(ws.dirty_stats)])
        add(state, self.sessions, REPLACE, [ws.sessions[i].to_doc() for i in sorted(ws.dirty_sessions)])
        add(state, self.deliveries, REPLACE, [ws.deliveries[i] for i in sorted(ws.dirty_deliveries)])
        add(state, self.queue, REPLACE,
            [ws.queue[b][c].to_doc() for b, c in sorted(ws.dirty_queue) if c in ws.queue.get(b, {})])
        add(state, self.queue, DELETE, [c for _, c in sorted(ws.removed_queue) if "queue/" + c in ws.persisted])
        # Thread keys: new ones inserted, re-pointed ones replaced.
        # A key naming the conversation its email opened needs no document: the id is derived from it.
        changed = [(k, c) for k, c in sorted(ws.thread_index.items()) if ws.stored_threads.get(k) != c
                   and not (k not in ws.stored_threads and c == threads.opened_by(self.derive, *k))]
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
        # A bot answer goes into the document of the question it answers when both are new (message_docs.py).
        add(markers, self.messages, INSERT, message_docs.fold(ws.new_messages))
        new_ids = {d["_id"] for d in ws.new_messages}  # inserted with their state already
        # Stored ones that changed: $set, not a whole image, which would drop an answer stored inside.
        add(markers, self.messages, SET,
            message_docs.changes(d for i, d in sorted(ws.updated_messages.items()) if i not in new_ids))
        add(markers, self.db[DedupeStore.COLLECTION], INSERT, processed or [])
        return [stage for stage in (state, merges, markers) if stage]


def _set_parts(d: dict) -> dict:
    update = {"$set": d["set"]}
    if d["on_insert"]:
        update["$setOnInsert"] = d["on_insert"]
    return update


def _ops(write: Write, epoch: int | None) -> list:
    """The bulk-write operations of one write. `epoch` (fenced collections: brand-wide routing state): a
    later owner's document is left alone; images match only while no later owner stamped the document."""
    where = {"epoch": {"$lte": epoch}} if epoch is not None else {}
    if write.kind == INSERT:
        return [InsertOne(d) for d in write.docs]
    if write.kind == REPLACE and epoch is not None:
        return [ReplaceOne({"_id": d["_id"], "epoch": {"$lte": epoch}}, {**d, "epoch": epoch}, upsert=True)
                for d in write.docs]
    if write.kind == REPLACE:
        return [ReplaceOne({"_id": d["_id"]}, d, upsert=True) for d in write.docs]
    if write.kind == DELETE:
        return [DeleteOne({"_id": i, **where}) for i in write.docs]
    if write.kind == UPSERT_SET:
        return [UpdateOne({"_id": d["_id"]}, _set_parts(d), upsert=True) for d in write.docs]
    if write.kind == SET:
        return [UpdateOne({"_id": d["_id"], **where}, {"$set": d["set"]}) for d in write.docs]
    raise ValueError(f"unknown write kind {write.kind!r}")


async def _insert_strict(collection, docs: list[dict], session=None) -> None:
    await collection.insert_many(docs, ordered=False, session=session)


async def _upsert_new(collection, docs: list[dict], session=None) -> None:
    """$setOnInsert upserts: keep whatever is already stored."""
    ops = [UpdateOne({"_id": d["_id"]}, {"$setOnInsert": {k: v for k, v in d.items() if k != "_id"}}, upsert=True)
           for d in docs]
    await collection.bulk_write(ops, ordered=False, session=session)
