"""Composition root: settings + real peers -> a runnable Service.

Ports (the store, the producer, the dedupe store) are parameters: None builds the real adapter
(MongoDB, Kafka). The handler tier (tests/handlers/router) passes in-memory ones."""

from __future__ import annotations

from dataclasses import dataclass

from switchboard.common import metrics as bus_metrics
from switchboard.common.admin import ensure_topics
from switchboard.common.clock import Clock, SystemClock
from switchboard.common.cloudevents import derived_id
from switchboard.common.consumer import ConsumerRunner
from switchboard.common.dedupe import DedupeStore
from switchboard.common.expiry import Sweeper
from switchboard.common.http import HttpServer, ops_app
from switchboard.common.mongo import MongoComponent
from switchboard.common.producer import EventProducer
from switchboard.common.service import Service
from switchboard.common.topics import TopicNames, registry
from switchboard.router import metrics
from switchboard.router.adapters.config_files import load_router_config
from switchboard.router.adapters.contact_keys import ContactKeys
from switchboard.router.adapters.language import LanguageDetector, LinguaDetector
from switchboard.router.adapters.ports import Publisher
from switchboard.router.adapters.read_api import mount_read_api
from switchboard.router.adapters.store import RouterStore
from switchboard.router.adapters.store_writes import CONTACT, ROUTING, WHOLE
from switchboard.router.contact_stage import ContactHandler
from switchboard.router.domain.config import RouterConfig
from switchboard.router.domain.engine import Engine
from switchboard.router.handlers import RouterHandler
from switchboard.router.intake import IntakeHandler
from switchboard.router.ownership import ScopeOwnership, contact_partition, contact_scope
from switchboard.router.settings import RouterSettings
from switchboard.router.ticker import Ticker

# What each SWITCHBOARD_ROUTER_STAGE runs (docs/router.md "Three stages").
STAGES = {"all": ("intake", "contact", "routing"), "intake": ("intake",), "contact": ("contact",),
          "routing": ("routing",)}


class _NoDetection:
    def detect(self, text: str) -> str:
        return ""


class _Prepare:
    """Creates topics and indexes and seeds agents before the consumer starts."""

    name = "prepare"

    def __init__(self, router: Router) -> None:
        self._router = router
        self.ready = False

    async def start(self) -> None:
        r = self._router
        if r.settings.kafka.create_topics:
            await ensure_topics(r.settings.kafka, r.topics)
        if r.settings.router_stage == "intake":  # writes nothing to MongoDB
            self.ready = True
            return
        await r.store.ensure_indexes()
        await r.store.prepare()
        if r.contact_store is not None:
            await r.contact_store.prepare()
        await r.store.index_threads()
        await r.dedupe.ensure_indexes()
        await r.store.bootstrap_agents(r.config)
        self.ready = True

    async def stop(self) -> None:
        self.ready = False


@dataclass
class Router:
    settings: RouterSettings
    config: RouterConfig
    topics: TopicNames
    mongo: MongoComponent | None  # None: store and dedupe were given (no MongoDB client of its own)
    store: RouterStore
    dedupe: DedupeStore
    producer: Publisher
    runner: ConsumerRunner  # the routing stage's when this process runs it, else the intake's
    service: Service
    ticker: Ticker | None = None
    intake: ConsumerRunner | None = None
    ownership: ScopeOwnership | None = None
    handler: RouterHandler | None = None  # the routing stage's batch handler when this process runs it
    intake_handler: IntakeHandler | None = None  # the intake stage's, likewise
    contact_store: RouterStore | None = None  # the contact stage's (its half of each conversation)
    contact_handler: ContactHandler | None = None
    contact: ConsumerRunner | None = None
    contact_ownership: ScopeOwnership | None = None
    contact_ticker: Ticker | None = None


def bootstrap(
    settings: RouterSettings,
    *,
    clock: Clock | None = None,
    detector: LanguageDetector | None = None,
    config: RouterConfig | None = None,
    with_http: bool = True,
    store: RouterStore | None = None,
    producer: Publisher | None = None,
    dedupe: DedupeStore | None = None,
) -> Router:
    clock = clock or SystemClock()
    bus_metrics.use_brands(bus_metrics.brands_from_config(settings.config_dir))  # brand label values
    config = config or load_router_config(settings.config_dir)
    topics = TopicNames(settings.kafka.topic_prefix)
    mongo = MongoComponent(settings.mongo) if store is None or dedupe is None else None
    stages = STAGES[settings.router_stage]
    transactions = store.transactions if store is not None else settings.mongo_transactions
    store = store or RouterStore(mongo.db, transactions=transactions, role=ROUTING if "contact" in stages else WHOLE)
    own_producer = producer is None
    producer = producer or EventProducer(settings.kafka, source="/switchboard/router", clock=clock)
    stage = settings.router_stage
    if detector is None and stage != "routing":  # languages are detected at intake
        detector = LinguaDetector() if settings.detect_language else _NoDetection()
    routing_group = f"{settings.group_id}.routing"
    own_dedupe = dedupe is None
    dedupe = dedupe or DedupeStore(mongo.db, routing_group, ttl_days=settings.consumer.dedupe_ttl_days, clock=clock)
    intake = intake_handler = None
    if "intake" in stages:
        intake_handler = IntakeHandler(producer, topics, detector, ContactKeys(store.db))
        intake = ConsumerRunner(
            name="router-intake",
            kafka=settings.kafka,
            consumer=settings.consumer,
            topics=[topics.inbound, topics.orders, topics.agent_commands],
            group_id=settings.group_id,
            handler=intake_handler,
            producer=producer,
        )
    router = Router(settings, config, topics, mongo, store, dedupe, producer, intake, service=None,  # type: ignore[arg-type]
                    intake=intake, intake_handler=intake_handler)
    prepare = _Prepare(router)
    components: list = [*([mongo] if mongo else []), prepare, *([producer] if own_producer else []),
                         *([intake] if intake else [])]
    if "contact" in stages:
        components += _contact_stage(router, clock, store.db, transactions, own_dedupe)
    if "routing" in stages:
        components += _routing_stage(router, clock, routing_group, prepare, sweep=own_dedupe)
    service = Service("router", components)
    if with_http:
        app = ops_app("router", service.check_readiness)
        if "intake" in stages:  # the read API is served where the console reaches the router: the intake's pods
            app = mount_read_api(app, store, config, clock, settings.read_api_token)
        components.insert(0, HttpServer(app, settings.http))
    router.service = service
    return router


def _contact_stage(router: Router, clock: Clock, db, transactions: bool | None, own: bool) -> list:
    """The contacts topic's consumer (one owner per partition: its customers) and its timers."""
    settings, topics, config = router.settings, router.topics, router.config
    group = f"{settings.group_id}.contact"
    store = router.contact_store = RouterStore(db, transactions=transactions, role=CONTACT)
    dedupe = DedupeStore(db, group, ttl_days=settings.consumer.dedupe_ttl_days, clock=clock)
    partitions = registry()["contacts"].partitions
    handler = ContactHandler(engine=Engine(config, derived_id, deferred_routing=True), store=store,
                             producer=router.producer, topics=topics, partitions=partitions,
                             keys=ContactKeys(db), clock=clock, dedupe=dedupe, group=group)
    ownership = ScopeOwnership(store, topics.contacts, partitions, [contact_scope(p) for p in range(partitions)],
                               handler.lock, partition=contact_partition, gauge=metrics.CONTACT_PARTITIONS_OWNED)
    handler.ownership = ownership
    runner = _owning_runner("router-contact", settings, topics.contacts, group, handler, router.producer, dedupe,
                            ownership)
    ticker = Ticker(handler, clock, settings.tick_interval_seconds, brands=ownership.owned,
                    ready=lambda: runner.ready)
    router.contact, router.contact_handler, router.contact_ownership = runner, handler, ownership
    router.contact_ticker = ticker
    if not own:  # a given dedupe store's records are the giver's to expire
        return [runner, ticker]
    return [Sweeper(db, [dedupe.expiry], interval=settings.mongo.sweep_interval_seconds, clock=clock), runner, ticker]


def _routing_stage(router: Router, clock: Clock, group: str, prepare: _Prepare, sweep: bool) -> list:
    """The routing topic's consumer (one owner per brand), its timers and its dedupe expiry."""
    settings, topics, store, config = router.settings, router.topics, router.store, router.config
    handler = RouterHandler(engine=Engine(config, derived_id), store=store, producer=router.producer,
                            topics=topics, clock=clock, dedupe=router.dedupe, group=group,
                            split=store.role == ROUTING)
    ownership = ScopeOwnership(store, topics.routing, registry()["routing"].partitions, config.routing,
                               handler.lock)
    handler.ownership = ownership
    runner = _owning_runner("router-routing", settings, topics.routing, group, handler, router.producer,
                            router.dedupe, ownership)
    ticker = Ticker(handler, clock, settings.tick_interval_seconds, brands=ownership.owned,
                    ready=lambda: prepare.ready)
    router.runner, router.ownership, router.ticker, router.handler = runner, ownership, ticker, handler
    if not sweep:  # a given dedupe store's records are the giver's to expire
        return [runner, ticker]
    sweeper = Sweeper(router.mongo.db, [router.dedupe.expiry], interval=settings.mongo.sweep_interval_seconds,
                      clock=clock)
    return [sweeper, runner, ticker]


def _owning_runner(name: str, settings: RouterSettings, topic: str, group: str, handler, producer, dedupe,
                   ownership: ScopeOwnership) -> ConsumerRunner:
    """A stage's consumer whose handler owns scopes: it claims them on assignment and writes its own dedupe
    records with its state."""
    return ConsumerRunner(name=name, kafka=settings.kafka, consumer=settings.consumer, topics=[topic],
                          group_id=group, handler=handler, producer=producer, dedupe=dedupe,
                          handler_marks_processed=True, on_assigned=ownership.on_assigned,
                          on_revoked=ownership.on_revoked)
