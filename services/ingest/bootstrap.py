"""Composition root: settings + real peers -> a runnable Service (HTTP API + orders.external consumer)."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from switchboard.common.bus import EventProducer, ensure_topics
from switchboard.common.clock import Clock, SystemClock
from switchboard.common.config import Secrets
from switchboard.common.expiry import Sweeper
from switchboard.common.http import HttpServer
from switchboard.common.mongo import MongoComponent
from switchboard.common.service import Service
from switchboard.common.topics import TopicNames
from switchboard.ingest.adapters.dedupe import DedupeGate, MarkStore
from switchboard.ingest.adapters.orders_external import OrdersExternalConsumer
from switchboard.ingest.adapters.providers.base import ProviderAdapter
from switchboard.ingest.adapters.providers.registry import PROVIDERS
from switchboard.ingest.adapters.publisher import DurablePublisher
from switchboard.ingest.handlers import IngestDeps
from switchboard.ingest.http_api import build_app
from switchboard.ingest.settings import IngestConfig, IngestSettings, load_ingest_config


class _Topics:
    """Creates the registry topics at start-up when the settings ask for it (tests, `make run`)."""

    name = "topics"

    def __init__(self, settings: IngestSettings, names: TopicNames) -> None:
        self._settings, self._names = settings, names

    async def start(self) -> None:
        if self._settings.kafka.create_topics:
            await ensure_topics(self._settings.kafka, self._names)

    async def stop(self) -> None:
        return None


class _DedupeIndexes:
    name = "dedupe"

    def __init__(self, store: MarkStore, gate: DedupeGate) -> None:
        self._store, self.gate = store, gate

    async def start(self) -> None:
        await self._store.ensure_indexes()
        await self.gate.start()  # preload recent marks: a retry after a restart is still caught

    async def stop(self) -> None:
        await self.gate.stop()  # writes the remaining marks before the client closes


@dataclass
class IngestService:
    service: Service
    deps: IngestDeps
    app: object
    producer: EventProducer
    mongo: MongoComponent
    http: HttpServer
    orders_consumer: OrdersExternalConsumer
    names: TopicNames


def bootstrap(settings: IngestSettings, *, clock: Clock | None = None, secrets: Secrets | None = None,
              config: IngestConfig | None = None,
              providers: Mapping[str, ProviderAdapter] | None = None) -> IngestService:
    clock = clock or SystemClock()
    config = config or load_ingest_config(settings)
    secrets = secrets or Secrets.load(settings.secrets_file)
    names = TopicNames(settings.kafka.topic_prefix)
    producer = EventProducer(settings.kafka, source="/switchboard/ingest", clock=clock)
    mongo = MongoComponent(settings.mongo)
    store = MarkStore(mongo.db, ttl_days=config.dedupe.ttl_days, clock=clock)
    gate = DedupeGate(store, clock=clock, cache_size=config.dedupe.cache_size, mode=config.dedupe.mode,
                      preload_hours=config.dedupe.preload_hours,
                      tail_interval_seconds=config.dedupe.tail_interval_seconds)
    deps = IngestDeps(secrets=secrets, providers=providers or PROVIDERS,
                      publisher=DurablePublisher(producer, names, timeout_seconds=config.publish_timeout_seconds),
                      dedupe=gate, clock=clock, config=config, public_base_url=settings.public_base_url)
    orders_consumer = OrdersExternalConsumer(settings=settings, names=names, producer=producer, deps=deps,
                                             group_id=f"{settings.kafka.topic_prefix}{config.orders_consumer_group}")
    sweeper = Sweeper(mongo.db, [store.expiry], interval=settings.mongo.sweep_interval_seconds, clock=clock)
    components: list = [_Topics(settings, names), mongo, _DedupeIndexes(store, gate), sweeper, producer,
                        orders_consumer]
    service = Service("ingest", components)
    app = build_app(deps, service.readiness)
    http = HttpServer(app, settings.http)  # type: ignore[arg-type]
    service.components.append(http)
    return IngestService(service=service, deps=deps, app=app, producer=producer, mongo=mongo, http=http,
                         orders_consumer=orders_consumer, names=names)
