"""Composition root of the console: settings + clock (+ optional users/secrets) -> a runnable Service.

Components, started in order: MongoDB, topics, indexes, expiry sweeper, producer (DLQ only),
consumer (conversations + sla + escalations -> projection), HTTP clients, the live tail, HTTP server.
"""
from __future__ import annotations

import secrets as token_source
from dataclasses import dataclass
from datetime import timedelta

import httpx
from fastapi import FastAPI
from switchboard.common.clock import Clock, SystemClock
from switchboard.common.config import Secrets
from switchboard.common.consumer import ConsumerRunner
from switchboard.common.dedupe import DedupeStore
from switchboard.common.expiry import Sweeper
from switchboard.common.http import HttpServer
from switchboard.common.logging import get_logger
from switchboard.common.mongo import MongoComponent
from switchboard.common.producer import EventProducer
from switchboard.common.service import Service
from switchboard.common.startup import Startup, Step, topics_step
from switchboard.common.topics import TopicNames
from switchboard.console.adapters.activity import ActivityStore
from switchboard.console.adapters.peers import IngestAgentApi, RouterReader, SlaReader
from switchboard.console.adapters.store import ConversationStore
from switchboard.console.adapters.users import UserDirectory, load_users
from switchboard.console.handlers import ProjectionHandler
from switchboard.console.settings import ConsoleSettings
from switchboard.console.web.app import create_app
from switchboard.console.web.context import WebDeps
from switchboard.console.web.live import ActivityTail, LiveHub

SOURCE = "/switchboard/console"
CONSUMED = ("conversations", "sla", "escalations")
log = get_logger(__name__)


def indexes_step(*stores) -> Step:
    async def create() -> None:
        for store in stores:
            await store.ensure_indexes()
    return ("indexes", create)


class _HttpClient:
    """One pooled httpx client for the router, SLA and ingest calls; closed on stop."""

    name = "peers"

    def __init__(self, timeout: float) -> None:
        self.client = httpx.AsyncClient(timeout=timeout, limits=httpx.Limits(max_connections=50))

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        await self.client.aclose()


@dataclass
class ConsoleApp:
    service: Service
    web: FastAPI
    deps: WebDeps
    handler: ProjectionHandler
    consumer: ConsumerRunner
    store: ConversationStore
    activity: ActivityStore
    hub: LiveHub
    tail: ActivityTail
    mongo: MongoComponent
    topics: TopicNames


def session_secret(settings: ConsoleSettings) -> bytes:
    if settings.session_secret is not None:
        return settings.session_secret.get_secret_value().encode()
    log.warning("console_session_secret_missing",
                hint="set SWITCHBOARD_SESSION_SECRET (the same on every replica); sessions end on restart")
    return token_source.token_bytes(32)


def bootstrap(settings: ConsoleSettings, *, clock: Clock | None = None, users: UserDirectory | None = None,
              secrets: Secrets | None = None, http: bool = True) -> ConsoleApp:
    clock = clock or SystemClock()
    users = users or load_users(settings.config_dir / settings.console_file,
                                require_passwords=settings.auth.mode == "password")
    secrets = secrets or Secrets.load(settings.secrets_file)
    topics = TopicNames(settings.kafka.topic_prefix)
    mongo = MongoComponent(settings.mongo)
    store, activity = ConversationStore(mongo.db), ActivityStore(mongo.db)
    group_id = settings.kafka.topic_prefix + settings.group_id
    dedupe = DedupeStore(mongo.db, group_id, ttl_days=settings.consumer.dedupe_ttl_days, clock=clock)
    handler = ProjectionHandler(store, activity, clock, noise_ttl=timedelta(hours=settings.noise_ttl_hours))
    producer = EventProducer(settings.kafka, source=SOURCE, clock=clock)  # carries poison records to DLQs only
    consumer = ConsumerRunner(name="console", kafka=settings.kafka, consumer=settings.consumer,
                              topics=[topics.of(t) for t in CONSUMED], group_id=group_id, handler=handler.handle,
                              producer=producer, dedupe=dedupe)
    peers = _HttpClient(settings.peer_timeout_seconds)
    token = settings.read_api_token.get_secret_value() if settings.read_api_token else None
    hub = LiveHub()
    deps = WebDeps(settings=settings, users=users, store=store, activity=activity,
                   router=RouterReader(peers.client, settings.router_url, token),
                   sla=SlaReader(peers.client, settings.sla_url, token),
                   ingest=IngestAgentApi(peers.client, settings.ingest_url, secrets),
                   clock=clock, secret=session_secret(settings), live=hub)
    tail = ActivityTail(activity, hub, clock, settings.tail_interval_seconds)
    sweeper = Sweeper(mongo.db, [dedupe.expiry, activity.expiry], interval=settings.mongo.sweep_interval_seconds,
                      clock=clock)
    startup = Startup(topics_step(settings.kafka, topics), indexes_step(store, activity, dedupe))
    components: list = [mongo, startup, sweeper, producer, consumer, peers, tail]
    service = Service("console", components)
    web = create_app(deps, hub, service.readiness)
    if http:
        service.components.append(HttpServer(web, settings.http))
    return ConsoleApp(service=service, web=web, deps=deps, handler=handler, consumer=consumer, store=store,
                      activity=activity, hub=hub, tail=tail, mongo=mongo, topics=topics)
