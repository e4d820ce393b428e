"""Composition root of the analytics service: settings (+ clock, store ports) -> a runnable AnalyticsApp."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass

from aiokafka.coordinator.assignors.range import RangePartitionAssignor
from prometheus_client import REGISTRY, CollectorRegistry
from switchboard.analytics.adapters.metrics import AnalyticsMetrics
from switchboard.analytics.adapters.ports import OpenConversationStore, SlotLedger
from switchboard.analytics.adapters.store import MongoOpenConversationStore, MongoSlotLedger
from switchboard.analytics.agents import AgentTally
from switchboard.analytics.checkpoint import Checkpointer
from switchboard.analytics.domain.backlog import BacklogIndex
from switchboard.analytics.domain.labels import LabelGuard, Labeller
from switchboard.analytics.domain.ownership import STATE_TOPICS
from switchboard.analytics.domain.partitions import PartitionedProjection
from switchboard.analytics.handlers import AnalyticsHandler
from switchboard.analytics.ownership import SlotOwner
from switchboard.analytics.settings import AnalyticsSettings
from switchboard.common import metrics as bus_metrics
from switchboard.common.clock import Clock, SystemClock
from switchboard.common.consumer import ConsumerRunner
from switchboard.common.http import HttpServer, ops_app
from switchboard.common.logging import get_logger
from switchboard.common.mongo import MongoComponent
from switchboard.common.producer import EventProducer
from switchboard.common.service import Service
from switchboard.common.startup import Startup, Step, topics_step
from switchboard.common.topics import TopicNames
from switchboard.common.topics import registry as topic_registry

log = get_logger(__name__)

SOURCE = "/switchboard/analytics"
CONSUMED = ("conversations", "sla", "escalations", "deliveries")


@dataclass
class AnalyticsApp:
    service: Service
    projection: PartitionedProjection
    handler: AnalyticsHandler
    owner: SlotOwner
    checkpointer: Checkpointer
    metrics: AnalyticsMetrics
    consumer: ConsumerRunner
    mongo: MongoComponent | None  # None when bootstrap was given both store ports
    topics: TopicNames


def projection_store_step(store: OpenConversationStore, partitions: int) -> Step:
    """Start-up step: the store's indexes, and partitions stamped on documents of an unpartitioned
    version (idempotent)."""

    async def prepare() -> None:
        await store.ensure_indexes()
        stamped = await store.stamp_partitions(partitions)
        if stamped:
            log.info("analytics_documents_partitioned", documents=stamped)

    return ("indexes", prepare)


def state_partitions() -> int:
    """Partitions of the co-partitioned topics whose events build the projection state."""
    counts = {topic_registry()[t].partitions for t in STATE_TOPICS}
    if len(counts) != 1:
        raise ValueError(f"analytics needs {STATE_TOPICS} co-partitioned; the registry gives {sorted(counts)}")
    return counts.pop()


def _consumer(settings: AnalyticsSettings, topics: TopicNames, handler: AnalyticsHandler,
              producer: EventProducer, owner: SlotOwner, checkpointer: Checkpointer) -> ConsumerRunner:
    consumer = ConsumerRunner(
        name="analytics",
        kafka=settings.kafka,
        consumer=settings.consumer,
        topics=[topics.of(t) for t in CONSUMED],
        group_id=settings.kafka.topic_prefix + settings.group_id,
        handler=handler.handle,
        producer=producer,
        on_assigned=owner.on_assigned,  # returns where each partition's stored state ends: read from there
        on_revoked=checkpointer.on_revoked,  # checkpoints the revoked slots before they move
        # conversations[p] and sla[p] hold the same conversations: one member must own both.
        assignors=(RangePartitionAssignor,),
    )
    owner.assignments = lambda: consumer.assignments
    owner.current = lambda: consumer.assigned
    owner.caught_up = lambda: consumer.rewinds.caught_up
    return consumer


Stores = tuple[OpenConversationStore, SlotLedger, MongoComponent | None]


def _stores(settings: AnalyticsSettings, store: OpenConversationStore | None, ledger: SlotLedger | None) -> Stores:
    """The store ports, the MongoDB adapters for those not given, and the client those need (None when
    both ports are given). No expiry sweep: resolved conversations leave no tombstones."""
    if store is not None and ledger is not None:
        return store, ledger, None
    mongo = MongoComponent(settings.mongo)
    store = store or MongoOpenConversationStore(mongo.db, chunks=settings.projection_chunks)
    ledger = ledger or MongoSlotLedger(mongo.db)
    return store, ledger, mongo


def bootstrap(
    settings: AnalyticsSettings,
    *,
    clock: Clock | None = None,
    store: OpenConversationStore | None = None,
    ledger: SlotLedger | None = None,
    http: bool = True,
    registry: CollectorRegistry = REGISTRY,
) -> AnalyticsApp:
    """`store`/`ledger`: the ports the handlers use (None = the MongoDB adapters)."""
    clock = clock or SystemClock()
    bus_metrics.use_brands(bus_metrics.brands_from_config(settings.config_dir))  # brand label values
    topics = TopicNames(settings.kafka.topic_prefix)
    store, ledger, mongo = _stores(settings, store, ledger)
    labeller = Labeller(brands=LabelGuard(settings.max_brands), queues=LabelGuard(settings.max_queues))
    backlog = BacklogIndex(labeller, settings.at_risk_fraction)
    projection = PartitionedProjection(labeller, on_change=backlog.update)
    owner = SlotOwner(projection, store, ledger, topics,
                      owner_id=f"{socket.gethostname()}:{os.getpid()}", consumed=CONSUMED)
    metrics = AnalyticsMetrics(backlog, clock, agent_capacity=settings.agent_capacity, registry=registry)
    partitions = state_partitions()
    agents = AgentTally(owner, store, labeller, partitions=partitions, interval_seconds=settings.agent_tally_seconds)
    metrics.backlog.agents = agents
    handler = AnalyticsHandler(owner)
    checkpointer = Checkpointer(owner, handler, store, ledger, metrics, interval_seconds=settings.checkpoint_seconds)
    # Analytics produces nothing; the producer only carries poison records to <topic>.dlq.
    producer = EventProducer(settings.kafka, source=SOURCE, clock=clock)
    consumer = _consumer(settings, topics, handler, producer, owner, checkpointer)
    components: list = [
        *([mongo] if mongo else []),
        Startup(topics_step(settings.kafka, topics), projection_store_step(store, partitions)),
        metrics,
        agents,
        producer,
        consumer,
        checkpointer,  # stopped before the consumer: the final checkpoint while the partitions are ours
        owner,  # ready once the first assignment's slots are loaded (and read up to the group's commits)
    ]
    service = Service("analytics", components)
    if http:
        service.components.append(HttpServer(ops_app("analytics", service.check_readiness), settings.http))
    return AnalyticsApp(
        service=service,
        projection=projection,
        handler=handler,
        owner=owner,
        checkpointer=checkpointer,
        metrics=metrics,
        consumer=consumer,
        mongo=mongo,
        topics=topics,
    )
