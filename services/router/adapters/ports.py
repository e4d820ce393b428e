"""What the router's handlers (intake.py, handlers.py, ticker.py) depend on: small Protocols.

Production implements them with MongoDB (adapters/store.py RouterStore), Kafka
(switchboard.common.producer.EventProducer), the runner's dedupe store (switchboard.common.dedupe) and
ownership.py (ScopeOwnership); tests/handlers/router implements them in memory.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Protocol

from switchboard.common.cloudevents import Envelope
from switchboard.router.domain.contact_key import Placed
from switchboard.router.domain.engine import Workspace
from switchboard.router.domain.inputs import Input


class RoutingState(Protocol):
    """The routing stage's state: loaded per batch into a Workspace, written back once it was published.

    Part of it (a brand's agents, queue and statistics) stays resident between batches; the handler
    drops it with `forget` whenever a batch fails, since the engine changes it in place."""

    async def load(self, inputs: list[Input], message_ids: Sequence[str] = ()) -> Workspace:
        """Everything the inputs need. `message_ids`: ids their messages would get; stored ones mark
        inputs already applied (ws.stored_message_ids)."""

    async def save(self, ws: Workspace, processed: list[dict] | None = None, scope: str | None = None,
                   whole: bool = False) -> None:
        """Writes the batch's changes and `processed` (dedupe records) all or nothing. `scope`: the brand
        whose owner writes; raises journal.Fenced when another replica claimed it since. `whole`: whole
        conversation images (inputs applied in line), else the half of this store's stage."""

    def remember(self, ws: Workspace) -> None:
        """After a committed save: keeps the state of queued conversations resident."""

    def forget(self) -> None:
        """Drops the resident state (a failed batch may have changed it half-way)."""


class ContactState(RoutingState, Protocol):
    """The contact stage's state (customers, conversations' contact fields, messages ...): `load` as
    above; `save` writes the conversations' contact half only."""

    async def contact_due(self, now: datetime) -> dict[str, str]:
        """Conversation id -> customer id of every conversation whose chat transcript is due."""

    async def load_contact_due(self, conversation_ids: list[str]) -> Workspace:
        """Those conversations, with their customers and message history."""


class DeltaState(RoutingState, Protocol):
    """The routing stage's state when it replays the contact stage's deltas."""

    async def load_routing(self, brands: set[str], conversation_ids: set[str]) -> Workspace:
        """The brands' resident routing state and the named conversations (their routing half)."""


class Keys(Protocol):
    """The contacts topic's key of each input (adapters/contact_keys.py ContactKeys)."""

    async def keys(self, inputs: list[Input]) -> list[str]:
        """The customer each input resolves to, from the store as it is now (the intake's)."""


class LoadedKeys(Keys, Protocol):
    """The contact stage's: its batch keyed again, from the Workspace it loaded."""

    async def placed(self, inputs: list[Input], ws: Workspace, mine: Callable[[str], bool],
                     pinned: Sequence[bool] = ()) -> list[Placed]:
        """Each input's key now and whether it is applied here (domain/contact_key.py `place`); `inputs` in
        the order they are applied, `ws` loaded for them and not changed yet."""


class Publisher(Protocol):
    async def publish(self, topic: str, payload: Any, *, key: str | bytes | None, cause: Envelope | None = None,
                      event_id: str | None = None, time: datetime | None = None, subject: str | None = None,
                      brand_id: str | None = None) -> asyncio.Future: ...

    async def send_raw(self, topic: str, value: bytes | None, key: str | bytes | None,
                       headers: list[tuple[str, bytes]]) -> asyncio.Future:
        """A record as is (the DLQ of a rejected input)."""

    async def drain(self) -> None:
        """Returns once the broker acknowledged every record published so far (raises if one failed)."""


class Dedupe(Protocol):
    def records(self, event_ids: list[str], at: datetime) -> list[dict]:
        """The runner's dedupe documents of these event ids, for the handler to save with its state."""


class Ownership(Protocol):
    """Which routing scopes (brands) this replica owns (ownership.py)."""

    def owned(self) -> set[str]: ...

    async def ensure(self, brand: str) -> None:
        """Claims `brand` unless owned; raises BatchAbandoned while it is known lost to another replica."""

    async def lost(self, brand: str) -> None:
        """A write of `brand` was fenced: stop owning it."""
