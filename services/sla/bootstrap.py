"""Composition root of the SLA service: settings + clock (+ optional policy book) -> a runnable Service."""
from __future__ import annotations

from dataclasses import dataclass

from switchboard.common.bus import ConsumerRunner, EventProducer, ensure_topics
from switchboard.common.clock import Clock, SystemClock
from switchboard.common.config import ConfigError, load_yaml
from switchboard.common.expiry import Sweeper
from switchboard.common.http import HttpServer, ops_app
from switchboard.common.mongo import MongoComponent
from switchboard.common.service import Service
from switchboard.common.topics import TopicNames
from switchboard.sla.adapters.store import MongoStateStore, MongoTimerStore
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


class _Setup:
    """Start-up work that must finish before consuming: topics and indexes."""

    name = "setup"

    def __init__(self, settings: SlaSettings, topics: TopicNames, timers: MongoTimerStore,
                 states: MongoStateStore) -> None:
        self._settings, self._topics, self._timers, self._states = settings, topics, timers, states
        self.ready = False

    async def start(self) -> None:
        if self._settings.kafka.create_topics:
            await ensure_topics(self._settings.kafka, self._topics)
        await self._timers.ensure_indexes()
        await self._states.ensure_indexes()
        self.ready = True

    async def stop(self) -> None:
        self.ready = False


@dataclass
class SlaApp:
    service: Service
    engine: SlaEngine
    consumer: ConsumerRunner
    scheduler: Scheduler
    mongo: MongoComponent
    topics: TopicNames


def bootstrap(settings: SlaSettings, *, clock: Clock | None = None, policies: PolicyBook | None = None,
              http: bool = True) -> SlaApp:
    clock = clock or SystemClock()
    policies = policies or load_policies(settings)
    topics = TopicNames(settings.kafka.topic_prefix)
    mongo = MongoComponent(settings.mongo)
    timers = MongoTimerStore(mongo.db, fired_ttl_days=settings.fired_timer_ttl_days)
    producer = EventProducer(settings.kafka, source=SOURCE, clock=clock)
    states = MongoStateStore(mongo.db, resolved_retention_days=settings.resolved_state_retention_days)
    engine = SlaEngine(tracker=Tracker(policies), states=states, timers=timers, heap=TimerHeap(),
                       producer=producer, topics=topics, clock=clock)
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
    sweeper = Sweeper(mongo.db, [timers.expiry, states.expiry], interval=settings.mongo.sweep_interval_seconds,
                      clock=clock)
    components: list = [mongo, _Setup(settings, topics, timers, states), sweeper, producer, consumer, scheduler]
    service = Service("sla", components)
    if http:
        service.components.append(HttpServer(ops_app("sla", service.readiness), settings.http))
    return SlaApp(service=service, engine=engine, consumer=consumer, scheduler=scheduler, mongo=mongo, topics=topics)
