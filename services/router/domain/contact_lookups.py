"""What the store holds of the documents that decide an input's key (domain/contact_key.py), as the intake
reads them (adapters/contact_keys.py) or as the contact stage's loaded Workspace already holds them
(`from_workspace`). Pure."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from . import identity
from .model import Handle
from .workspace import Workspace


def brand_key(brand_id: str) -> str:
    """Inputs of a whole brand (an agent's presence, the router's tick): no customer."""
    return f"brand/{brand_id}"


@dataclass(frozen=True, slots=True)
class StoredCustomer:
    brand_id: str
    handles: frozenset[Handle]
    merged_into: str = ""


@dataclass(frozen=True, slots=True)
class StoredConversation:
    brand_id: str
    customer_id: str


@dataclass(frozen=True, slots=True)
class StoredSession:
    customer_id: str
    email: str = ""


@dataclass
class Names:
    """Documents to read, by what names them. `handles`: (brand, handle) -> its index document;
    `customers` carries the seed-derived ids of those handles too."""

    handles: set[tuple[str, Handle]] = field(default_factory=set)
    customers: set[str] = field(default_factory=set)
    conversations: set[str] = field(default_factory=set)
    sessions: set[str] = field(default_factory=set)  # "<brand>/<chat session id>"
    threads: set[tuple[str, str]] = field(default_factory=set)  # (brand, thread key)
    orders: set[str] = field(default_factory=set)  # "<brand>/<order id>"

    def __bool__(self) -> bool:
        return any((self.handles, self.customers, self.conversations, self.sessions, self.threads, self.orders))

    def read_now(self) -> Names:
        """What to read in this round: customers wait while other collections are wanted, since the
        documents those return name customers (owners of index documents, conversations, sessions,
        orders), and one request then reads them with the seed-derived ids."""
        if self.handles or self.conversations or self.sessions or self.threads or self.orders:
            return Names(self.handles, set(), self.conversations, self.sessions, self.threads, self.orders)
        return self


@dataclass
class Lookups:
    """What the store holds of the names asked so far (a name asked and absent is not stored)."""

    index: dict[tuple[str, Handle], str] = field(default_factory=dict)  # customer_handles: -> customer id
    customers: dict[str, StoredCustomer] = field(default_factory=dict)
    conversations: dict[str, StoredConversation] = field(default_factory=dict)
    sessions: dict[str, StoredSession] = field(default_factory=dict)
    threads: dict[tuple[str, str], str] = field(default_factory=dict)  # conversation_threads: -> conversation
    orders: dict[str, str] = field(default_factory=dict)  # -> its customer id ("" when none)
    asked: Names = field(default_factory=Names)


def from_workspace(ws: Workspace, read: Names, derive: Callable[..., str]) -> Lookups:
    """What a Workspace loaded for a batch (before any input was applied to it) tells of the names `read`
    (those its load looked up, whether found or not) and of everything it holds, as Lookups: names not
    read and not held stay unasked, so `plan` and `place` ask for them.

    `read.handles`: handles whose index document and seed-derived customers were read (ws.handles holds
    their owner, index documents winning, which `_owner` takes as it takes an index document); the seed
    ids of those handles count as read customers. Customers, conversations, sessions and orders the
    Workspace holds are stored ones; a thread key read and absent from ws.thread_index names no loaded
    conversation (the conversation it would have opened is then asked for)."""
    lk = Lookups()
    lk.index = {(b, h): c for (b, h), c in ws.handles.items()}
    lk.customers = {c.id: StoredCustomer(c.brand_id, frozenset(Handle(h["kind"], h["value"]) for h in c.handles),
                                         c.merged_into) for c in ws.customers.values()}
    lk.conversations = {c.id: StoredConversation(c.brand_id, c.customer_id) for c in ws.conversations.values()}
    lk.sessions = {k: StoredSession(s.customer_id, s.email) for k, s in ws.sessions.items()}
    lk.threads = {k: ws.thread_index[k] for k in read.threads if k in ws.thread_index}
    lk.orders = {k: o.customer_id for k, o in ws.orders.items()}
    seeds = {identity.seed_id(derive, b, h) for b, h in read.handles}
    lk.asked = Names(
        handles=set(read.handles) | set(ws.handles),
        customers=set(read.customers) | seeds | set(lk.customers),
        conversations=set(read.conversations) | set(lk.conversations),
        sessions=set(read.sessions) | set(lk.sessions),
        threads=set(read.threads),
        orders=set(read.orders) | set(lk.orders),
    )
    return lk
