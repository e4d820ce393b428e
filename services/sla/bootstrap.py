"""Composition root of the SLA service: settings + clock (+ optional policy book and ports) -> SlaApp.

Ports left None are built here (the MongoDB store, the Kafka producer) and run as components of the
service. Ports given by the caller (in-memory fakes in the handler tests) are the caller's: the
service neither starts them nor prepares them.
"""
from __future__ import annotations

from dataclasses import dataclass

from switchboard.common import metrics as bus_metrics
from switchboard.common.clock import Clock, SystemClock
from switchboard.common.config import ConfigError, load_yaml
from switchboard.common.consumer import ConsumerRunner
from switchboard.common.expiry import Sweeper
from switchboard.common.http import HttpServer, ops_app
from switchboard.common.mongo import MongoComponent
from switchboard.common.producer import EventProducer
from switchboard.common.service import Service
from switchboard.common.startup import Startup, topics_step
from switchboard.common.topics import TopicNames
from switchboard.sla.adapters.ports import Publisher, StateStore
from switchboard.sla.adapters.read_api import mount_read_api
from switchboard.sla.adapters.store import MongoStateStore
from switchboard.sla.domain.policy import PolicyBook, PolicyError, load_policy_book
from switchboard.sla.domain.tracker import Tracker
from switchboard.sla.handlers import SOURCE, SlaEngine
from switchboard.sla.scheduler import Scheduler
from switchboard.sla.settings import SlaSettings
from switchboard.sla.timerheap import TimerHeap


def load_policies(settings: SlaSettings) -> PolicyBook:
    path = settings.config_dir / settings.policy_file
    try:
        return load_policy_book(load_yaml(path))
    except PolicyError as exc:
        raise ConfigError(f"{path}: {str(exc).removeprefix('sla.yaml: ')}") from None


@dataclass
class SlaApp:
    service: Service
    engine: SlaEngine
    consumer: ConsumerRunner
    scheduler: Scheduler
    topics: TopicNames
    mongo: MongoComponent | None = None  # None when the caller gave the store


def _mongo_parts(settings: SlaSettings, clock: Clock) -> tuple[MongoComponent, MongoStateStore, list]:
    """The MongoDB client, the store, and the components that prepare and sweep it."""
    mongo = MongoComponent(settings.mongo)
    states = MongoStateStore(mongo.db, resolved_retention_days=settings.resolved_state_retention_days)

    async def prepare() -> None:
        await states.ensure_indexes()

    sweeper = Sweeper(mongo.db, [states.expiry], interval=settings.mongo.sweep_interval_seconds, clock=clock)
    return mongo, states, [("store", prepare), sweeper]


def bootstrap(settings: SlaSettings, *, clock: Clock | None = None, policies: PolicyBook | None = None,
              states: StateStore | None = None, publisher: Publisher | None = None, http: bool = True) -> SlaApp:
    clock = clock or SystemClock()
    bus_metrics.use_brands(bus_metrics.brands_from_config(settings.config_dir))  # brand label values
    policies = policies or load_policies(settings)
    topics = TopicNames(settings.kafka.topic_prefix)
    startup = Startup(topics_step(settings.kafka, topics))
    components: list = []
    mongo = None
    if states is None:
        mongo, states, (store_step, sweeper) = _mongo_parts(settings, clock)
        startup.then(*store_step)
        components += [mongo, startup, sweeper]
    else:
        components.append(startup)
    producer = publisher or EventProducer(settings.kafka, source=SOURCE, clock=clock)
    if publisher is None:
        components.append(producer)
    engine = SlaEngine(tracker=Tracker(policies), states=states, heap=TimerHeap(),
                       publisher=producer, topics=topics, clock=clock)
    conversations = topics.conversations

    async def on_assigned(tps) -> None:
        await engine.assign({tp.partition for tp in tps if tp.topic == conversations})

    async def on_revoked(tps) -> None:
        await engine.revoke({tp.partition for tp in tps if tp.topic == conversations})

    consumer = ConsumerRunner(name="sla", kafka=settings.kafka, consumer=settings.consumer,
                              topics=[conversations], group_id=settings.kafka.topic_prefix + settings.group_id,
                              handler=engine.handle, producer=producer, on_assigned=on_assigned,
                              on_revoked=on_revoked)
    scheduler = Scheduler(engine, clock, batch_size=settings.fire_batch_size)
    service = Service("sla", [*components, consumer, scheduler])
    if http:
        app = mount_read_api(ops_app("sla", service.check_readiness), states, policies, clock, settings.read_api_token)
        service.components.append(HttpServer(app, settings.http))
    return SlaApp(service=service, engine=engine, consumer=consumer, scheduler=scheduler, topics=topics, mongo=mongo)
