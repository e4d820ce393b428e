"""Request handlers: authenticate -> normalize (pure adapters) -> dedupe -> durable publish -> mark seen.

The rules: an event is marked seen only after the broker acknowledged it (publish, then mark), so a
503 leaves nothing marked and the retry publishes; a duplicate answers like the original and
publishes nothing; an agent command for another brand's conversation is a 404 and publishes nothing.
"""
from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from switchboard.common import metrics as bus_metrics
from switchboard.common.clock import Clock
from switchboard.common.cloudevents import Envelope, derived_id
from switchboard.common.config import Secrets
from switchboard.common.logging import get_logger
from switchboard.ingest import metrics
from switchboard.ingest.adapters.codec import wire
from switchboard.ingest.adapters.ports import BrokerUnavailable, ConversationBrandLookup, Dedupe, Publisher
from switchboard.ingest.adapters.providers.base import AdapterContext, ProviderAdapter, normalize_checked
from switchboard.ingest.domain import api_events
from switchboard.ingest.domain.agent import Command
from switchboard.ingest.domain.errors import NotFound
from switchboard.ingest.domain.model import Outgoing, WebhookOutcome, WebhookRequest
from switchboard.ingest.settings import IngestConfig

log = get_logger(__name__)


class StoreUnavailable(BrokerUnavailable):
    """The dedupe record could not be read: refuse (503) rather than risk a second event."""


@dataclass(slots=True)
class IngestDeps:
    secrets: Secrets
    providers: Mapping[str, ProviderAdapter]
    publisher: Publisher
    dedupe: Dedupe
    clock: Clock
    config: IngestConfig
    public_base_url: str | None = None
    # None: commands are not checked against the conversation's brand (no store to ask).
    conversation_brands: ConversationBrandLookup | None = None


@dataclass(slots=True)
class Accepted:
    published: int
    duplicates: int


def event_id(brand_id: str, dedupe_id: str) -> str:
    """Deterministic per (brand, provider, provider message id): retries map onto the same event id."""
    return derived_id("ingest", brand_id, dedupe_id)


def require_brand(deps: IngestDeps, brand_id: str) -> None:
    if not deps.secrets.has_brand(brand_id):
        raise NotFound(f"unknown brand {brand_id!r}", field="brand_id")


def context(deps: IngestDeps, brand_id: str) -> AdapterContext:
    require_brand(deps, brand_id)
    return AdapterContext(brand_id=brand_id, secrets=_BrandSecrets(deps.secrets, brand_id), now=deps.clock.now(),
                          replay_window=timedelta(seconds=deps.config.replay_window_seconds))


class _BrandSecrets:
    """Read-only view of one brand's secrets; looked up only when an adapter asks."""

    __slots__ = ("_secrets", "_brand")

    def __init__(self, secrets: Secrets, brand_id: str) -> None:
        self._secrets, self._brand = secrets, brand_id

    def get(self, name: str, default=None):
        return self._secrets.brand(self._brand, name, default)


async def accept(deps: IngestDeps, brand_id: str, events: list[Outgoing], *, provider: str) -> Accepted:
    """Publishes the events not seen before; returns only after the broker acknowledged them."""
    unique: dict[str, Outgoing] = {}
    for event in events:
        unique.setdefault(event_id(brand_id, event.dedupe_id), event)
    if not unique:
        return Accepted(0, 0)
    owned, others = deps.dedupe.claim(unique)
    try:
        if others and not all(await asyncio.gather(*others)):
            # The concurrent copy of this request was not stored: let the provider retry.
            raise BrokerUnavailable("concurrent copy of this message failed")
        try:
            seen = await deps.dedupe.seen(owned) if owned else set()
        except Exception as exc:
            raise StoreUnavailable(type(exc).__name__) from exc
        fresh = [i for i in owned if i not in seen]
        await deps.publisher.publish(brand_id, [unique[i] for i in fresh], fresh)
        deps.dedupe.mark(fresh)
    except BaseException:
        deps.dedupe.release(owned, accepted=False)
        raise
    deps.dedupe.release(owned, accepted=True)
    duplicates = len(events) - len(fresh)
    brand = bus_metrics.brand_label(brand_id)
    for i in fresh:
        metrics.child(metrics.EVENTS_PUBLISHED, provider, unique[i].stream, brand).inc()
    if duplicates:
        metrics.child(metrics.DUPLICATES, provider, brand).inc(duplicates)
    return Accepted(len(fresh), duplicates)


def adapter_for(deps: IngestDeps, provider: str) -> ProviderAdapter:
    adapter = deps.providers.get(provider)
    if adapter is None:
        raise NotFound(f"unknown provider {provider!r}", field="provider")
    return adapter


async def handle_webhook(deps: IngestDeps, provider: str, brand_id: str,
                         request: WebhookRequest) -> tuple[WebhookOutcome, Accepted]:
    adapter = adapter_for(deps, provider)
    ctx = context(deps, brand_id)
    adapter.verify(request, ctx)          # nothing is parsed or published before the signature holds
    outcome = normalize_checked(adapter, request, ctx)
    accepted = await accept(deps, brand_id, outcome.events, provider=provider)
    return outcome, accepted


def handle_handshake(deps: IngestDeps, provider: str, brand_id: str, request: WebhookRequest) -> WebhookOutcome:
    return adapter_for(deps, provider).handshake(request, context(deps, brand_id))


async def accept_api_event(deps: IngestDeps, brand_id: str, event: Outgoing, *, provider: str) -> Accepted:
    """One event of our own JSON APIs (chat, web form, CSAT), as the domain built it."""
    return await accept(deps, brand_id, [wire(event)], provider=provider)


async def handle_agent_command(deps: IngestDeps, brand_id: str, agent_id: str, command: Command, *,
                               idempotency_key: str | None) -> Accepted:
    conversation_id = getattr(command, "conversation_id", None)
    # Another brand's conversation answers like an unknown one: a key never learns what other brands hold.
    if conversation_id is not None and deps.conversation_brands is not None and \
            await deps.conversation_brands.brand_of(conversation_id) != brand_id:
        raise NotFound(f"no conversation {conversation_id!r} in brand {brand_id!r}", field="conversation_id")
    event = api_events.agent_command(brand_id, agent_id, command, idempotency_key=idempotency_key,
                                     now=deps.clock.now())
    return await accept(deps, brand_id, [wire(event)], provider="agent")


async def forward_orders(deps: IngestDeps, batch: list[Envelope]) -> None:
    """orders.external records, decoded into order events by the consumer's decode hook
    (adapters/orders_external.py) -> the orders topic: publish the ones not seen before, then mark them."""
    unique: dict[str, Envelope] = {}
    for env in batch:
        unique.setdefault(event_id(env.brand_id, env.payload.dedupe_id), env)
    try:
        seen = await deps.dedupe.seen(list(unique)) if unique else set()
    except Exception as exc:
        raise StoreUnavailable(type(exc).__name__) from exc
    fresh = [i for i in unique if i not in seen]
    by_brand: dict[str, list[str]] = defaultdict(list)
    for i in fresh:
        by_brand[unique[i].brand_id].append(i)
    await asyncio.gather(*(deps.publisher.publish(brand, [unique[i].payload for i in ids], ids)
                           for brand, ids in by_brand.items()))
    deps.dedupe.mark(fresh)
    metrics.ORDERS_EXTERNAL.labels("forwarded").inc(len(fresh))
    metrics.ORDERS_EXTERNAL.labels("duplicate").inc(len(unique) - len(fresh))
