"""Composition root: config, secrets, templates, MongoDB outbox, Kafka in/out, senders, dispatcher."""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta

from switchboard.common.bus import ConsumerRunner, EventProducer, ensure_topics
from switchboard.common.clock import Clock, SystemClock
from switchboard.common.cloudevents import Envelope
from switchboard.common.config import Secrets
from switchboard.common.http import HttpServer, ops_app
from switchboard.common.mongo import MongoComponent
from switchboard.common.service import Service
from switchboard.common.topics import TopicNames
from switchboard.notifier.adapters.outbox import MongoOutbox
from switchboard.notifier.adapters.senders import HttpPort, HttpSender, SmtpPort, SmtpSender
from switchboard.notifier.adapters.template_files import load_catalog
from switchboard.notifier.config import NotifierConfig, load_notifier_config
from switchboard.notifier.dispatcher import Dispatcher
from switchboard.notifier.handlers import NotifierHandlers
from switchboard.notifier.housekeeping import OutboxHousekeeping
from switchboard.notifier.settings import DEMO_INBOX_DEFAULT, NotifierSettings


def apply_overrides(settings: NotifierSettings, config: NotifierConfig, secrets: Secrets) -> tuple[
        NotifierConfig, Secrets]:
    """Environment overrides: public_base_url, and the demo inbox origin/SMTP port of `make run`."""
    data = config.model_dump()
    if settings.public_base_url:
        data["public_base_url"] = settings.public_base_url
    if settings.demo_inbox_smtp_port:
        data["smtp"]["port"] = settings.demo_inbox_smtp_port
    origin = (settings.demo_inbox_http or "").rstrip("/")
    if origin:
        def move(url):
            return origin + url[len(DEMO_INBOX_DEFAULT):] if isinstance(url, str) and \
                url.startswith(DEMO_INBOX_DEFAULT) else url
        for dest in data["destinations"]:
            dest["url"] = move(dest["url"])
        for endpoint in data["customer_channels"].values():
            endpoint["base_url"] = move(endpoint["base_url"])
        raw = {"global": {k: move(v) for k, v in secrets._global.items()},
               "brands": {b: {k: move(v) for k, v in values.items()} for b, values in secrets._brands.items()}}
        secrets = Secrets(raw)
    return NotifierConfig.model_validate(data), secrets


@dataclass
class _Lifecycle:
    """Starts what must exist before consuming: topics, indexes; closes the HTTP client last."""

    settings: NotifierSettings
    names: TopicNames
    outbox: MongoOutbox
    http: HttpPort
    name: str = "setup"
    ready: bool = False

    async def start(self) -> None:
        if self.settings.kafka.create_topics:
            await ensure_topics(self.settings.kafka, self.names)
        await self.outbox.ensure_indexes()
        self.ready = True

    async def stop(self) -> None:
        close = getattr(self.http, "close", None)
        if close is not None:
            await close()


@dataclass
class NotifierService:
    service: Service
    handlers: NotifierHandlers
    dispatcher: Dispatcher
    housekeeping: OutboxHousekeeping
    outbox: MongoOutbox
    mongo: MongoComponent
    producer: EventProducer


def bootstrap(settings: NotifierSettings, *, clock: Clock | None = None, config: NotifierConfig | None = None,
              secrets: Secrets | None = None, http: HttpPort | None = None, smtp: SmtpPort | None = None,
              rng: random.Random | None = None, with_http: bool = True) -> NotifierService:
    clock = clock or SystemClock()
    config = config or load_notifier_config(settings.config_dir)
    secrets = secrets or Secrets.load(settings.secrets_file)
    config, secrets = apply_overrides(settings, config, secrets)
    catalog = load_catalog(settings.config_dir)
    names = TopicNames(settings.kafka.topic_prefix)
    mongo = MongoComponent(settings.mongo)
    outbox = MongoOutbox(mongo.db, f"{settings.collection_prefix}notifier_outbox")
    producer = EventProducer(settings.kafka, source="/switchboard/notifier", clock=clock)
    http = http or HttpSender(clock.now)
    if smtp is None:
        def smtp_secret(name):
            return str(secrets.global_(name)) if name and secrets.global_(name) else None
        smtp = SmtpSender(host=config.smtp.host, port=config.smtp.port, starttls=config.smtp.starttls,
                          use_tls=config.smtp.use_tls, validate_certs=config.smtp.validate_certs,
                          username=smtp_secret(config.smtp.username_secret),
                          password=smtp_secret(config.smtp.password_secret), ca_file=config.smtp.ca_file)
    handlers = NotifierHandlers(config=config, secrets=secrets, catalog=catalog, outbox=outbox, producer=producer,
                                topics=names, clock=clock, http=http, smtp=smtp, rng=rng)
    dispatcher = Dispatcher(handlers)
    housekeeping = OutboxHousekeeping(outbox, clock, retention=timedelta(days=settings.outbox_retention_days),
                                      interval=settings.mongo.sweep_interval_seconds)

    async def handle(batch: list[Envelope]) -> None:
        await handlers.intake(batch)
        dispatcher.poke()
        dispatcher.report_wake.set()

    consumer = ConsumerRunner(name="notifier", kafka=settings.kafka, consumer=settings.consumer,
                              topics=[names.notifications, names.escalations],
                              group_id=f"{settings.kafka.topic_prefix}{settings.consumer_group}", handler=handle,
                              producer=producer)
    lifecycle = _Lifecycle(settings, names, outbox, http)
    components: list = [mongo, lifecycle, producer, dispatcher, housekeeping, consumer]
    service = Service("notifier", components)
    if with_http:
        components.append(HttpServer(ops_app("notifier", service.readiness), settings.http))
    return NotifierService(service, handlers, dispatcher, housekeeping, outbox, mongo, producer)
