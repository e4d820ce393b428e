"""Composition root: config, secrets, templates, the outbox, Kafka in/out, senders, dispatcher.

Every port (outbox, publisher, HTTP and SMTP senders) is a parameter: None builds the real adapter;
the handler tier (tests/handlers/notifier) passes in-memory fakes."""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta

from switchboard.common import metrics as bus_metrics
from switchboard.common.clock import Clock, SystemClock
from switchboard.common.cloudevents import Envelope
from switchboard.common.config import Secrets
from switchboard.common.consumer import ConsumerRunner
from switchboard.common.http import HttpServer, ops_app
from switchboard.common.mongo import MongoComponent
from switchboard.common.producer import EventProducer
from switchboard.common.service import Service
from switchboard.common.startup import Startup, topics_step
from switchboard.common.topics import TopicNames
from switchboard.notifier.adapters.ports import HttpPort, Outbox, Publisher, SmtpPort
from switchboard.notifier.adapters.senders import HttpSender, SmtpSender
from switchboard.notifier.adapters.store import MongoOutbox
from switchboard.notifier.adapters.template_files import load_catalog
from switchboard.notifier.config import NotifierConfig, load_notifier_config
from switchboard.notifier.dispatcher import Dispatcher
from switchboard.notifier.domain.templates import TemplateCatalog
from switchboard.notifier.handlers import NotifierHandlers
from switchboard.notifier.housekeeping import OutboxHousekeeping
from switchboard.notifier.settings import DEMO_INBOX_DEFAULT, NotifierSettings


def apply_overrides(settings: NotifierSettings, config: NotifierConfig, secrets: Secrets) -> tuple[
        NotifierConfig, Secrets]:
    """Environment overrides: public_base_url, console_base_url, and the demo inbox origin/SMTP port of `make run`."""
    data = config.model_dump()
    if settings.public_base_url:
        data["public_base_url"] = settings.public_base_url
    if settings.console_base_url:
        data["console_base_url"] = settings.console_base_url
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
class NotifierApp:
    """What bootstrap returns: the runnable service and its parts (tests reach into these)."""

    service: Service
    handlers: NotifierHandlers
    dispatcher: Dispatcher
    housekeeping: OutboxHousekeeping
    outbox: Outbox
    publisher: Publisher


def _smtp_sender(config: NotifierConfig, secrets: Secrets) -> SmtpSender:
    def smtp_secret(name):
        return str(secrets.global_(name)) if name and secrets.global_(name) else None
    return SmtpSender(host=config.smtp.host, port=config.smtp.port, starttls=config.smtp.starttls,
                      use_tls=config.smtp.use_tls, validate_certs=config.smtp.validate_certs,
                      username=smtp_secret(config.smtp.username_secret),
                      password=smtp_secret(config.smtp.password_secret), ca_file=config.smtp.ca_file)


class _CloseSenders:
    """Closes the HTTP sender's connection pools once the dispatcher has stopped (components stop in
    reverse order: this one sits before the dispatcher)."""

    name = "senders"
    ready = True

    def __init__(self, sender: HttpPort) -> None:
        self.sender = sender

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        close = getattr(self.sender, "close", None)
        if close is not None:
            await close()


def bootstrap(settings: NotifierSettings, *, clock: Clock | None = None, config: NotifierConfig | None = None,
              secrets: Secrets | None = None, catalog: TemplateCatalog | None = None, outbox: Outbox | None = None,
              publisher: Publisher | None = None, http_sender: HttpPort | None = None,
              smtp_sender: SmtpPort | None = None,
              rng: random.Random | None = None, http: bool = True) -> NotifierApp:
    """Ports left None are built for real: MongoDB outbox, Kafka producer, httpx and SMTP senders.
    `config`, `secrets` and `catalog` default to the files of settings.config_dir / secrets_file.
    `http` serves /healthz, /readyz and /metrics."""
    clock = clock or SystemClock()
    bus_metrics.use_brands(bus_metrics.brands_from_config(settings.config_dir))  # brand label values
    config = config or load_notifier_config(settings.config_dir)
    secrets = secrets or Secrets.load(settings.secrets_file)
    config, secrets = apply_overrides(settings, config, secrets)
    names = TopicNames(settings.kafka.topic_prefix)
    group_id = f"{settings.kafka.topic_prefix}{settings.group_id}"
    mongo = MongoComponent(settings.mongo)
    outbox = outbox or MongoOutbox(mongo.db, f"{settings.collection_prefix}notifier_outbox")
    producer = EventProducer(settings.kafka, source="/switchboard/notifier", clock=clock)
    publisher = publisher or producer
    http_sender = http_sender or HttpSender(clock.now)
    handlers = NotifierHandlers(config=config, secrets=secrets, catalog=catalog or load_catalog(settings.config_dir),
                                outbox=outbox, publisher=publisher, topics=names, clock=clock, http=http_sender,
                                smtp=smtp_sender or _smtp_sender(config, secrets), group_id=group_id, rng=rng)
    dispatcher = Dispatcher(handlers)
    housekeeping = OutboxHousekeeping(outbox, clock, retention=timedelta(days=settings.outbox_retention_days),
                                      interval=settings.mongo.sweep_interval_seconds)

    async def handle(batch: list[Envelope]) -> None:
        await handlers.intake(batch, local=dispatcher)  # due entries go in claimed for this replica
        dispatcher.poke()
        dispatcher.report_wake.set()

    consumer = ConsumerRunner(name="notifier", kafka=settings.kafka, consumer=settings.consumer,
                              topics=[names.notifications, names.escalations], group_id=group_id, handler=handle,
                              producer=producer)
    startup = Startup(topics_step(settings.kafka, names), ("indexes", outbox.ensure_indexes))
    components: list = [mongo, startup, _CloseSenders(http_sender), producer, dispatcher, housekeeping, consumer]
    service = Service("notifier", components)
    if http:
        components.append(HttpServer(ops_app("notifier", service.check_readiness), settings.http))
    return NotifierApp(service, handlers, dispatcher, housekeeping, outbox, publisher)
