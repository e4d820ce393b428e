"""Helpers of the notifier handler tier: the handlers and dispatcher as bootstrap builds them, with the
in-memory ports of fakes.py and a ManualClock: no broker, no store, no sleeps."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from google.protobuf.timestamp_pb2 import Timestamp
from switchboard.common.clock import ManualClock
from switchboard.common.cloudevents import Envelope, event_type
from switchboard.common.config import Secrets
from switchboard.common.dlq_replay import replay_headers
from switchboard.events.v1 import common_pb2, escalation_pb2, notification_pb2, sla_pb2
from switchboard.notifier.adapters.template_files import load_catalog
from switchboard.notifier.bootstrap import NotifierApp, bootstrap
from switchboard.notifier.config import NotifierConfig
from switchboard.notifier.settings import NotifierSettings

ROOT = Path(__file__).resolve().parents[3]
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
K = notification_pb2.NotificationKind
TOPIC = "t.switchboard.notifications.v1"
ESCALATIONS = "t.switchboard.escalations.v1"


import notifier_fakes as fakes  # noqa: E402 - one fakes module per tier, named apart (one test run holds them all)

CATALOG = load_catalog()  # the packaged templates, compiled once for the whole tier

CONFIG = {
    "public_base_url": "https://sb.test", "console_base_url": "https://console.sb.test",
    "brands": {"acme": {"name": "ACME Store"}, "globex": {"name": "Globex"}},
    "destinations": [
        {"id": "ops-slack", "type": "slack", "url": "https://hooks.slack.test/ops", "concurrency": 2},
        {"id": "crm", "type": "webhook", "url": "https://crm.test/hook", "signing_secret": "crm_key"},
        {"id": "globex-desk", "type": "webhook", "url": "https://globex.test/desk", "signing_secret": "crm_key"},
        {"id": "agents-mail", "type": "email", "address": "{agent_id}@acme.example"},
    ],
    "escalation_routing": {"default": {1: ["ops-slack"], 2: ["ops-slack", "crm"]}, "globex": {}},
    "assignment_notices": {"acme": ["agents-mail"], "globex": ["globex-desk"]},
    "customer_channels": {"telegram": {"api": "telegram", "base_url": "https://tg.test", "concurrency": 2,
                                       "timeout_seconds": 1}},
    "retry": {"max_attempts": 3, "base_backoff_seconds": 1, "max_backoff_seconds": 2, "total_seconds": 60},
    "scheduler": {"poll_seconds": 0.02, "lease_seconds": 1, "reclaim_grace_seconds": 0, "send_first_seconds": 0.2},
}
SECRETS = {"global": {"crm_key": "crm-s3cret"}, "brands": {"acme": {"telegram_bot_token": "1:tg"}}}


@dataclass
class Notifier:
    app: NotifierApp
    outbox: object
    publisher: object
    http: object
    smtp: object
    clock: ManualClock

    @property
    def handlers(self):
        return self.app.handlers

    @property
    def dispatcher(self):
        return self.app.dispatcher

    async def intake(self, *envelopes: Envelope) -> None:
        await self.handlers.intake(list(envelopes))

    async def consume(self, *envelopes: Envelope) -> None:
        """A consumed batch as bootstrap's consumer handler takes it: intake with the running
        dispatcher (due entries go in claimed for it), then the dispatcher and reporter woken."""
        await self.handlers.intake(list(envelopes), local=self.dispatcher)
        self.dispatcher.poke()
        self.dispatcher.report_wake.set()

    async def report(self) -> None:
        await self.handlers.report(await self.outbox.unreported(500))


def make_notifier(**config: object) -> Notifier:
    outbox, publisher, http, smtp = fakes.FakeOutbox(), fakes.Publisher(), fakes.FakeHttp(), fakes.FakeSmtp()
    clock = ManualClock(T0)
    settings = NotifierSettings(config_dir=ROOT / "config" / "demo", group_id="notifier",
                                kafka={"topic_prefix": "t."})
    app = bootstrap(settings, clock=clock, config=NotifierConfig.model_validate({**CONFIG, **config}),
                    secrets=Secrets(SECRETS), catalog=CATALOG, outbox=outbox, publisher=publisher, http_sender=http,
                    smtp_sender=smtp, http=False)
    return Notifier(app, outbox, publisher, http, smtp, clock)


def envelope(payload, event_id: str, *, offset: int = 0, topic: str = TOPIC,
             headers: list[tuple[str, bytes]] | None = None) -> Envelope:
    env = Envelope(payload=payload, id=event_id, type=event_type(payload), source="/tests", time=T0,
                   key=b"c-1", topic=topic, partition=0, offset=offset)
    env.raw_headers = headers if headers is not None else env.headers()
    return env


def replay_of(env: Envelope, dlq_offset: int, destination: str | None = None) -> Envelope:
    """The same record as `switchboard-admin replay-dlq` re-publishes it from `<topic>.dlq`."""
    failed = [("dlq_reason", b"delivery_failed")] + ([("dlq_destination", destination.encode())] if destination else [])
    headers = replay_headers(env.headers() + failed, f"{env.topic}.dlq", 0, dlq_offset, T0)
    return envelope(env.payload, env.id, offset=env.offset + 1000, topic=env.topic, headers=headers)


def ts(dt: datetime) -> Timestamp:
    t = Timestamp()
    t.FromDatetime(dt)
    return t


def telegram_reply(intent_id: str, *, conversation_id: str = "c-1", text: str = "Thanks for waiting",
                   kind=K.NOTIFICATION_KIND_AGENT_REPLY, chat_id: str = "42"):
    conv = common_pb2.ConversationSnapshot(conversation_id=conversation_id, channel=common_pb2.CHANNEL_TELEGRAM,
                                           language="en")
    return notification_pb2.NotificationRequested(
        brand_id="acme", intent_id=intent_id, kind=kind, conversation=conv, text=text,
        channel=common_pb2.CHANNEL_TELEGRAM,
        recipient=common_pb2.ContactHandle(kind=common_pb2.HANDLE_KIND_TELEGRAM_ID, value=chat_id))


def email_request(intent_id: str, kind, *, email: str = "ana@example.com", conversation_id: str = "c-1",
                  variables: dict | None = None, channel=common_pb2.CHANNEL_EMAIL,
                  handle_kind=common_pb2.HANDLE_KIND_EMAIL, text: str = ""):
    conv = common_pb2.ConversationSnapshot(conversation_id=conversation_id, channel=channel, language="en")
    return notification_pb2.NotificationRequested(
        brand_id="acme", intent_id=intent_id, kind=kind, conversation=conv, channel=channel,
        recipient=common_pb2.ContactHandle(kind=handle_kind, value=email), variables=variables or {}, text=text)


def escalation(escalation_id: str, *, brand_id: str = "acme", level: int = 2):
    conv = common_pb2.ConversationSnapshot(conversation_id="c-9", channel=common_pb2.CHANNEL_EMAIL,
                                           priority=common_pb2.PRIORITY_HIGH, customer_name="Ana")
    return escalation_pb2.EscalationRaised(
        brand_id=brand_id, escalation_id=escalation_id, conversation=conv, level=level, level_name="team lead",
        reason=escalation_pb2.ESCALATION_REASON_SLA_BREACHED, metric=sla_pb2.SLA_METRIC_FIRST_RESPONSE,
        target_seconds=120, deadline=ts(T0), raised_at=ts(T0))


def assignment(intent_id: str, *, brand_id: str, agent_id: str = "maria"):
    conv = common_pb2.ConversationSnapshot(conversation_id="c-5", channel=common_pb2.CHANNEL_CHAT,
                                           priority=common_pb2.PRIORITY_NORMAL, queue="billing")
    return notification_pb2.NotificationRequested(
        brand_id=brand_id, intent_id=intent_id, kind=K.NOTIFICATION_KIND_AGENT_ASSIGNED, conversation=conv,
        assignment=notification_pb2.AgentAssignment(agent_id=agent_id, agent_name="Maria", rule="longest_idle"))
