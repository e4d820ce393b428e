"""The intake's keys for the contacts topic: the customer each input resolves to (domain/contact_key.py),
read from the store the way RouterStore.load reads identity (adapters/store.py): `customer_handles` by
_id and `customers` by seed-derived id (index documents win), `merged_into` followed.

A batch costs a few rounds of batched `_id $in` reads, however many inputs it holds: first the handle
index, conversations, chat sessions, thread keys and orders the inputs name; then the customers (seed
ids, and the owners those documents name) in one request; more rounds only for what those name in turn
(a merged customer's survivor; a chat session's email when none of the message's own handles has an
owner). Reads only, with projections; the intake writes nothing.

The contact stage keys its batch again (`placed`) from the Workspace RouterStore.load made for it:
what that load read (adapters/batch_names.py `names_of`, and the emails of the sessions it found) counts
as read, so a batch costs no request more; only what the Workspace lacks is read here, in the same rounds
(a conversation it did not find, a merge chain longer than it followed, the customer of an order without
handles, the handle of a chat ended without a stored session).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import TypeVar

from switchboard.common.cloudevents import derived_id
from switchboard.router.adapters.batch_names import names_of
from switchboard.router.adapters.rounds import find_ids
from switchboard.router.adapters.store_writes import handle_id, thread_id
from switchboard.router.domain import contact_key as ck
from switchboard.router.domain.inputs import Input
from switchboard.router.domain.model import EMAIL, Handle
from switchboard.router.domain.workspace import Workspace

T = TypeVar("T")

MAX_ROUNDS = 6  # typically 2; each further one follows one more merge (chains are short)


class ContactKeys:
    def __init__(self, db, derive: Callable[..., str] = derived_id) -> None:
        """`derive`: the contact stage's id derivation (customer ids derive from their seed handle)."""
        self.derive = derive
        self.handles = db["customer_handles"]
        self.customers = db["customers"]
        self.conversations = db["conversations"]
        self.sessions = db["chat_sessions"]
        self.threads = db["conversation_threads"]
        self.orders = db["orders"]

    async def keys(self, inputs: list[Input]) -> list[str]:
        """For each input, the id of the customer the contact stage will resolve it to (or what stands
        in for one: domain/contact_key.py)."""
        return await self._rounds(lambda lk: ck.plan(inputs, lk, self.derive), ck.Lookups())

    async def placed(self, inputs: list[Input], ws: Workspace, mine: Callable[[str], bool],
                     pinned: Sequence[bool] = ()) -> list[ck.Placed]:
        """The contact stage's batch keyed again (domain/contact_key.py `place`; `inputs` in the order it
        applies them) from `ws`, the Workspace RouterStore.load made for exactly these inputs, before any
        of them was applied."""
        names = names_of(inputs)
        emails = {(s.brand_id, Handle(EMAIL, s.email)) for s in ws.sessions.values() if s.email}
        read = ck.Names(handles=names.handles | emails, customers=set(names.customer_ids),
                        sessions=set(names.session_ids), threads=set(names.keys), orders=set(names.order_ids))
        return await self._rounds(lambda lk: ck.place(inputs, lk, self.derive, mine, pinned),
                                  ck.from_workspace(ws, read, self.derive))

    async def _rounds(self, decide: Callable[[ck.Lookups], tuple[T, ck.Names]], lookups: ck.Lookups) -> T:
        for _ in range(MAX_ROUNDS):
            decided, want = decide(lookups)
            if not want:
                return decided
            await self._read(lookups, want.read_now())
        return decide(lookups)[0]  # a longer merge chain: stop where it was read to

    async def _read(self, lk: ck.Lookups, want: ck.Names) -> None:
        handle_ids = {handle_id(b, h): (b, h) for b, h in want.handles}
        thread_ids = {thread_id(b, k): (b, k) for b, k in want.threads}
        handle_docs, customer_docs, conversation_docs, session_docs, thread_docs, order_docs = await asyncio.gather(
            find_ids(self.handles, handle_ids, {"customer_id": 1}),
            find_ids(self.customers, want.customers, {"brand_id": 1, "handles": 1, "merged_into": 1}),
            find_ids(self.conversations, want.conversations, {"brand_id": 1, "customer_id": 1}),
            find_ids(self.sessions, want.sessions, {"customer_id": 1, "email": 1}),
            find_ids(self.threads, thread_ids, {"conversation_id": 1}),
            find_ids(self.orders, want.orders, {"customer_id": 1}),
        )
        for doc in handle_docs:
            lk.index[handle_ids[doc["_id"]]] = doc["customer_id"]
        for doc in customer_docs:
            lk.customers[doc["_id"]] = ck.StoredCustomer(
                brand_id=doc.get("brand_id", ""),
                handles=frozenset(Handle(h["kind"], h["value"]) for h in doc.get("handles") or ()),
                merged_into=doc.get("merged_into") or "",
            )
        for doc in conversation_docs:
            lk.conversations[doc["_id"]] = ck.StoredConversation(doc.get("brand_id", ""), doc.get("customer_id") or "")
        for doc in session_docs:
            lk.sessions[doc["_id"]] = ck.StoredSession(doc.get("customer_id") or "", doc.get("email") or "")
        for doc in thread_docs:
            lk.threads[thread_ids[doc["_id"]]] = doc["conversation_id"]
        for doc in order_docs:
            lk.orders[doc["_id"]] = doc.get("customer_id") or ""
        asked = lk.asked
        asked.handles |= want.handles
        asked.customers |= want.customers
        asked.conversations |= want.conversations
        asked.sessions |= want.sessions
        asked.threads |= want.threads
        asked.orders |= want.orders
