"""Composition root: settings + real peers -> a runnable Service."""

from __future__ import annotations

from dataclasses import dataclass

from switchboard.common.bus import ConsumerRunner, EventProducer, ensure_topics
from switchboard.common.clock import Clock, SystemClock
from switchboard.common.cloudevents import derived_id
from switchboard.common.dedupe import DedupeStore
from switchboard.common.expiry import Sweeper
from switchboard.common.http import HttpServer, ops_app
from switchboard.common.mongo import MongoComponent
from switchboard.common.service import Service
from switchboard.common.topics import TopicNames
from switchboard.router.adapters.config_files import load_router_config
from switchboard.router.adapters.language import LanguageDetector, LinguaDetector
from switchboard.router.adapters.store import RouterStore
from switchboard.router.domain.config import RouterConfig
from switchboard.router.domain.engine import Engine
from switchboard.router.handlers import RouterHandler
from switchboard.router.settings import RouterSettings


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
        await r.store.ensure_indexes()
        await r.store.prepare()
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
    mongo: MongoComponent
    store: RouterStore
    dedupe: DedupeStore
    producer: EventProducer
    runner: ConsumerRunner
    service: Service


def bootstrap(
    settings: RouterSettings,
    *,
    clock: Clock | None = None,
    detector: LanguageDetector | None = None,
    config: RouterConfig | None = None,
    with_http: bool = True,
) -> Router:
    clock = clock or SystemClock()
    config = config or load_router_config(settings.config_dir)
    topics = TopicNames(settings.kafka.topic_prefix)
    mongo = MongoComponent(settings.mongo)
    store = RouterStore(mongo.db, transactions=settings.mongo_transactions)
    dedupe = DedupeStore(mongo.db, settings.consumer_group, ttl_days=settings.consumer.dedupe_ttl_days, clock=clock)
    producer = EventProducer(settings.kafka, source="/switchboard/router", clock=clock)
    if detector is None:
        detector = LinguaDetector() if settings.detect_language else _NoDetection()
    handler = RouterHandler(
        engine=Engine(config, derived_id),
        store=store,
        producer=producer,
        topics=topics,
        detector=detector,
        clock=clock,
        dedupe=dedupe,
    )
    runner = ConsumerRunner(
        name="router",
        kafka=settings.kafka,
        consumer=settings.consumer,
        topics=[topics.inbound, topics.orders, topics.agent_commands],
        group_id=settings.consumer_group,
        handler=handler,
        producer=producer,
        dedupe=dedupe,
        handler_marks_processed=True,
    )
    router = Router(settings, config, topics, mongo, store, dedupe, producer, runner, service=None)  # type: ignore[arg-type]
    sweeper = Sweeper(mongo.db, [dedupe.expiry], interval=settings.mongo.sweep_interval_seconds, clock=clock)
    components: list = [mongo, _Prepare(router), sweeper, producer, runner]
    service = Service("router", components)
    if with_http:
        components.insert(0, HttpServer(ops_app("router", service.readiness), settings.http))
    router.service = service
    return router
