"""Composition root of the analytics service: settings + clock -> a runnable Service."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import REGISTRY, CollectorRegistry
from switchboard.analytics.adapters.metrics import AnalyticsMetrics
from switchboard.analytics.adapters.store import MongoOpenConversationStore
from switchboard.analytics.domain.backlog import BacklogIndex
from switchboard.analytics.domain.labels import LabelGuard, Labeller
from switchboard.analytics.domain.projection import Projection
from switchboard.analytics.handlers import AnalyticsHandler, ProjectionLoader
from switchboard.analytics.settings import AnalyticsSettings
from switchboard.common.bus import ConsumerRunner, EventProducer, TopicSetup
from switchboard.common.clock import Clock, SystemClock
from switchboard.common.http import HttpServer, ops_app
from switchboard.common.mongo import MongoComponent
from switchboard.common.service import Service
from switchboard.common.topics import TopicNames

SOURCE = "/switchboard/analytics"
CONSUMED = ("conversations", "sla", "escalations", "deliveries")


@dataclass
class AnalyticsApp:
    service: Service
    projection: Projection
    handler: AnalyticsHandler
    metrics: AnalyticsMetrics
    consumer: ConsumerRunner
    mongo: MongoComponent
    topics: TopicNames


def bootstrap(
    settings: AnalyticsSettings,
    *,
    clock: Clock | None = None,
    http: bool = True,
    registry: CollectorRegistry = REGISTRY,
) -> AnalyticsApp:
    clock = clock or SystemClock()
    topics = TopicNames(settings.kafka.topic_prefix)
    mongo = MongoComponent(settings.mongo)
    store = MongoOpenConversationStore(mongo.db)
    labeller = Labeller(brands=LabelGuard(settings.max_brands), queues=LabelGuard(settings.max_queues))
    backlog = BacklogIndex(labeller, settings.at_risk_fraction)
    projection = Projection(labeller, on_change=backlog.update)
    metrics = AnalyticsMetrics(backlog, clock, agent_capacity=settings.agent_capacity, registry=registry)
    handler = AnalyticsHandler(projection, store, metrics)
    # Analytics produces nothing; the producer only carries poison records to <topic>.dlq.
    producer = EventProducer(settings.kafka, source=SOURCE, clock=clock)
    consumer = ConsumerRunner(
        name="analytics",
        kafka=settings.kafka,
        consumer=settings.consumer,
        topics=[topics.of(t) for t in CONSUMED],
        group_id=settings.kafka.topic_prefix + settings.group_id,
        handler=handler.handle,
        producer=producer,
    )
    components: list = [
        mongo,
        TopicSetup(settings.kafka, topics),
        ProjectionLoader(projection, store),
        metrics,
        producer,
        consumer,
    ]
    service = Service("analytics", components)
    if http:
        service.components.append(HttpServer(ops_app("analytics", service.readiness), settings.http))
    return AnalyticsApp(
        service=service,
        projection=projection,
        handler=handler,
        metrics=metrics,
        consumer=consumer,
        mongo=mongo,
        topics=topics,
    )
