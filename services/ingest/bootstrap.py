"""Composition root: settings + real peers -> a runnable IngestApp (HTTP API + orders.external consumer).

Ports (publisher, dedupe, conversation-brand lookup) are parameters: None builds the real adapter."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial

from switchboard.common import metrics as bus_metrics
from switchboard.common.clock import Clock, SystemClock
from switchboard.common.config import Secrets
from switchboard.common.consumer import TRANSIENT_ERRORS, ConsumerRunner
from switchboard.common.expiry import Sweeper
from switchboard.common.http import HttpServer
from switchboard.common.mongo import MongoComponent
from switchboard.common.producer import EventProducer
from switchboard.common.service import Service
from switchboard.common.startup import Startup, topics_step
from switchboard.common.topics import TopicNames
from switchboard.ingest.adapters.conversation_brands import ConversationBrands
from switchboard.ingest.adapters.dedupe import DedupeGate, MarkStore
from switchboard.ingest.adapters.orders_external import order_record_decoder
from switchboard.ingest.adapters.ports import BrokerUnavailable, ConversationBrandLookup, Dedupe, Publisher
from switchboard.ingest.adapters.providers.base import ProviderAdapter
from switchboard.ingest.adapters.providers.registry import PROVIDERS
from switchboard.ingest.adapters.publisher import DurablePublisher
from switchboard.ingest.api import build_app
from switchboard.ingest.handlers import IngestDeps, forward_orders
from switchboard.ingest.settings import IngestConfig, IngestSettings, load_ingest_config


@dataclass
class IngestApp:
    service: Service
    deps: IngestDeps
    app: object
    producer: EventProducer
    mongo: MongoComponent
    http: HttpServer | None
    orders_consumer: ConsumerRunner
    names: TopicNames


def bootstrap(settings: IngestSettings, *, clock: Clock | None = None, secrets: Secrets | None = None,
              config: IngestConfig | None = None, providers: Mapping[str, ProviderAdapter] | None = None,
              publisher: Publisher | None = None, dedupe: Dedupe | None = None,
              conversation_brands: ConversationBrandLookup | None = None, http: bool = True) -> IngestApp:
    clock = clock or SystemClock()
    bus_metrics.use_brands(bus_metrics.brands_from_config(settings.config_dir))  # brand label values
    config = config or load_ingest_config(settings)
    names = TopicNames(settings.kafka.topic_prefix)
    producer = EventProducer(settings.kafka, source="/switchboard/ingest", clock=clock)
    mongo = MongoComponent(settings.mongo)
    store = MarkStore(mongo.db, ttl_days=config.dedupe.ttl_days, clock=clock)
    gate = DedupeGate(store, clock=clock, cache_size=config.dedupe.cache_size, mode=config.dedupe.mode,
                      preload_hours=config.dedupe.preload_hours,
                      tail_interval_seconds=config.dedupe.tail_interval_seconds)
    deps = IngestDeps(
        secrets=secrets or Secrets.load(settings.secrets_file), providers=providers or PROVIDERS,
        publisher=publisher or DurablePublisher(producer, names, timeout_seconds=config.publish_timeout_seconds),
        dedupe=dedupe or gate, clock=clock, config=config, public_base_url=settings.public_base_url,
        conversation_brands=conversation_brands or ConversationBrands(mongo.db))
    orders_consumer = ConsumerRunner(
        name="orders_external", kafka=settings.kafka, consumer=settings.consumer, topics=[names.orders_external],
        group_id=f"{settings.kafka.topic_prefix}{config.orders_consumer_group}", handler=partial(forward_orders, deps),
        producer=producer, decode=order_record_decoder(deps.secrets.has_brand, clock),
        # The broker or the dedupe store not answering: read the batch again, never dead-letter it.
        transient_errors=(*TRANSIENT_ERRORS, BrokerUnavailable))
    sweeper = Sweeper(mongo.db, [store.expiry], interval=settings.mongo.sweep_interval_seconds, clock=clock)
    startup = Startup(topics_step(settings.kafka, names), ("indexes", store.ensure_indexes))
    # The gate preloads recent marks on start (a retry after a restart is still caught) and writes the
    # marks still in memory on stop, before the store client closes.
    components: list = [mongo, startup, gate, sweeper, producer, orders_consumer]
    service = Service("ingest", components)
    app = build_app(deps, service.check_readiness)
    server = None
    if http:
        server = HttpServer(app, settings.http)  # type: ignore[arg-type]
        service.components.append(server)
    return IngestApp(service=service, deps=deps, app=app, producer=producer, mongo=mongo, http=server,
                     orders_consumer=orders_consumer, names=names)

