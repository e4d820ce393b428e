"""Notifier handlers: intake (requests -> durable outbox), compose+send one delivery, report outcomes.

intake() runs inside the Kafka consumer and only writes the outbox, so consuming never waits on
a destination; the dispatcher delivers from the outbox; report() publishes DeliveryRecorded and
DLQ records for final states.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import structlog
from google.protobuf.timestamp_pb2 import Timestamp
from switchboard.common.bus import EventProducer, PermanentError
from switchboard.common.clock import Clock, utc
from switchboard.common.cloudevents import Envelope, derived_id
from switchboard.common.config import Secrets
from switchboard.common.logging import get_logger
from switchboard.common.topics import TopicNames
from switchboard.events.v1 import common_pb2, escalation_pb2, notification_pb2, sla_pb2
from switchboard.notifier import metrics
from switchboard.notifier.adapters.outbox import (
    DELIVERED,
    FAILED,
    PENDING,
    SKIPPED,
    MongoOutbox,
    outbox_id,
)
from switchboard.notifier.adapters.senders import HttpPort, SmtpPort
from switchboard.notifier.config import NotifierConfig
from switchboard.notifier.domain.email_message import build_email, deterministic_message_id, reply_subject
from switchboard.notifier.domain.escalation_messages import (
    format_duration,
    signed_webhook_request,
    slack_payload,
    slack_request,
    webhook_payload,
)
from switchboard.notifier.domain.model import EscalationView, Outcome, SendOutcome
from switchboard.notifier.domain.providers import ProviderConfigError, build_send_request
from switchboard.notifier.domain.routing import escalation_destinations
from switchboard.notifier.domain.templates import TemplateCatalog, TemplateError, normalize_language
from switchboard.notifier.domain.variables import csat_links, template_variables

log = get_logger(__name__)
K = notification_pb2.NotificationKind
DEFAULT_TEMPLATE = {K.NOTIFICATION_KIND_TRANSCRIPT: "transcript", K.NOTIFICATION_KIND_CSAT_SURVEY: "csat_survey",
                    K.NOTIFICATION_KIND_QUEUE_POSITION: "queue_position",
                    K.NOTIFICATION_KIND_PROACTIVE_UPDATE: "still_working"}
EMAIL_CHANNELS = {common_pb2.CHANNEL_EMAIL, common_pb2.CHANNEL_WEB_FORM}
SECRET_NAMES = ("twilio_account_sid", "twilio_auth_token", "twilio_from", "meta_access_token",
                "meta_phone_number_id", "meta_page_id", "vk_access_token", "telegram_bot_token", "webhook_token")


class ComposeError(ValueError):
    """The delivery cannot be built (missing secret, endpoint, template): retrying will not help."""


def kind_name(kind: int) -> str:
    return K.Name(kind).removeprefix("NOTIFICATION_KIND_").lower()


def channel_name(channel: int) -> str:
    return common_pb2.Channel.Name(channel).removeprefix("CHANNEL_").lower()


def _ts(value: Timestamp) -> datetime | None:
    return utc(value.ToDatetime()) if value.seconds or value.nanos else None


def _timestamp(dt: datetime) -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(dt)
    return ts


@dataclass(frozen=True, slots=True)
class Pool:
    """A destination's worker pool: how many sends at once, and how long one may take."""

    concurrency: int
    timeout: float


class NotifierHandlers:
    def __init__(self, *, config: NotifierConfig, secrets: Secrets, catalog: TemplateCatalog, outbox: MongoOutbox,
                 producer: EventProducer, topics: TopicNames, clock: Clock, http: HttpPort, smtp: SmtpPort,
                 rng: random.Random | None = None) -> None:
        self.config = config
        self.secrets = secrets
        self.catalog = catalog
        self.outbox = outbox
        self.producer = producer
        self.topics = topics
        self.clock = clock
        self.http = http
        self.smtp = smtp
        self.policy = config.retry.policy()
        self.rng = rng or random.Random()

    # ---------------------------------------------------------------- pools
    def pool(self, name: str) -> Pool:
        dest_type, _, rest = name.partition(":")
        if dest_type in ("slack", "webhook", "email"):
            cfg = self.config.destination(rest)
            if cfg:
                return Pool(cfg.concurrency, cfg.timeout_seconds)
        elif dest_type == "smtp":
            return Pool(self.config.smtp.concurrency, self.config.smtp.timeout_seconds)
        elif rest:
            endpoint = self.config.customer_channels.get(rest)
            if endpoint:
                return Pool(endpoint.concurrency, endpoint.timeout_seconds)
        return Pool(1, 5.0)

    def secret(self, brand_id: str, name: str) -> str | None:
        value = self.secrets.brand(brand_id, name) or self.secrets.global_(name)
        return str(value) if value else None

    # ---------------------------------------------------------------- intake
    async def intake(self, batch: list[Envelope]) -> None:
        """Turns requests into outbox entries. Once this returns, the outbox owns the work."""
        now = self.clock.now()
        docs: list[dict[str, Any]] = []
        for env in batch:
            with structlog.contextvars.bound_contextvars(event_id=env.id):
                docs.extend(self._plan(env, now))
        await self._apply_once_per_conversation(docs)
        refused = await self.outbox.add(docs)
        if refused:  # lost a race on once_key: record the skip so the intent still has an outcome
            skipped = [self._as_skipped(d, "survey already sent for this conversation") for d in docs
                       if d["_id"] in refused]
            await self.outbox.add(skipped)
        newest: dict[str, dict[str, Any]] = {}
        for doc in docs:  # batch order is partition order: the last one is the newest
            if doc.get("supersede_key") and doc["state"] == PENDING:
                newest[doc["supersede_key"]] = doc
        if newest:
            await self.outbox.supersede(list(newest.values()), now, "superseded by a newer queue position")
        log.debug("intake_recorded", intents=len(docs))

    def _plan(self, env: Envelope, now: datetime) -> list[dict[str, Any]]:
        payload = env.payload
        if isinstance(payload, escalation_pb2.EscalationRaised):
            return self._plan_escalation(env, payload, payload.escalation_id, now)
        if not isinstance(payload, notification_pb2.NotificationRequested):
            raise PermanentError(f"notifier does not handle {payload.DESCRIPTOR.full_name}")
        if payload.kind == K.NOTIFICATION_KIND_ESCALATION:
            if not payload.HasField("escalation"):
                raise PermanentError("ESCALATION notification without `escalation`")
            return self._plan_escalation(env, payload.escalation, payload.intent_id or payload.escalation.escalation_id,
                                         now)
        return [self._plan_customer(env, payload, now)]

    def _base_doc(self, env: Envelope, *, intent_id: str, destination: str, destination_type: str, kind: int,
                  brand_id: str, conversation_id: str, channel: int, language: str, message_type: str,
                  message: bytes, due_at: datetime, now: datetime) -> dict[str, Any]:
        return {
            "_id": outbox_id(intent_id, destination), "intent_id": intent_id, "destination": destination,
            "destination_type": destination_type, "pool": destination, "kind": kind, "brand_id": brand_id,
            "conversation_id": conversation_id, "channel": channel, "language": language,
            "message_type": message_type, "message": message, "state": PENDING, "due_at": due_at.timestamp(),
            "attempts": 0, "created_at": now.timestamp(), "updated_at": now.timestamp(), "report_due": False,
            "event_id": env.id,
            "source": {"topic": env.topic or "", "partition": env.partition or 0, "offset": env.offset or 0,
                       "key": env.key, "value": env.payload.SerializeToString(),
                       "headers": [[k, v] for k, v in (env.raw_headers or env.headers())]},
        }

    def _as_skipped(self, doc: dict[str, Any], detail: str) -> dict[str, Any]:
        doc = {k: v for k, v in doc.items() if k != "once_key"}
        doc.update(state=SKIPPED, detail=detail, report_due=True, finished_at=doc["created_at"])
        return doc

    def _plan_escalation(self, env: Envelope, esc: escalation_pb2.EscalationRaised, intent_id: str,
                         now: datetime) -> list[dict[str, Any]]:
        if not intent_id:
            raise PermanentError("escalation_id is required (it is the intent id)")
        if not esc.brand_id:
            raise PermanentError("brand_id is required")
        targets = escalation_destinations(esc.brand_id, esc.level, list(esc.destinations),
                                          self.config.escalation_routing)
        common = {"intent_id": intent_id, "kind": K.NOTIFICATION_KIND_ESCALATION, "brand_id": esc.brand_id,
                      "conversation_id": esc.conversation.conversation_id, "channel": esc.conversation.channel,
                      "language": "en", "message_type": "escalation", "message": esc.SerializeToString(),
                      "due_at": now, "now": now}
        if not targets:
            doc = self._base_doc(env, destination="none", destination_type="none", **common)
            return [self._as_skipped(doc, f"no destination routed for brand {esc.brand_id} level {esc.level}")]
        docs = []
        for target in targets:
            cfg = self.config.destination(target)
            dest_type = cfg.type if cfg else "unknown"
            doc = self._base_doc(env, destination=f"{dest_type}:{target}", destination_type=dest_type, **common)
            doc["destination_id"] = target
            docs.append(doc)
        return docs

    def _plan_customer(self, env: Envelope, req: notification_pb2.NotificationRequested,
                       now: datetime) -> dict[str, Any]:
        if not req.intent_id:
            raise PermanentError("intent_id is required")
        if not req.brand_id:
            raise PermanentError("brand_id is required")
        if req.kind == K.NOTIFICATION_KIND_UNSPECIFIED:
            raise PermanentError("kind is required")
        if not req.template and not req.text and req.kind not in DEFAULT_TEMPLATE:
            raise PermanentError(f"{kind_name(req.kind)} needs a template or literal text")
        if req.template and not self.catalog.has(req.template):
            raise PermanentError(f"unknown template '{req.template}'")
        conv = req.conversation
        recipient = req.recipient if req.recipient.value else conv.reply_handle
        channel = req.channel or conv.channel
        if req.kind in (K.NOTIFICATION_KIND_TRANSCRIPT,):
            channel = common_pb2.CHANNEL_EMAIL  # transcripts go by email, whatever the chat channel
            if recipient.kind != common_pb2.HANDLE_KIND_EMAIL:
                email = req.variables.get("customer_email", "")
                recipient = common_pb2.ContactHandle(kind=common_pb2.HANDLE_KIND_EMAIL, value=email)
        if channel == common_pb2.CHANNEL_UNSPECIFIED:
            raise PermanentError("channel is required (on the request or its conversation)")
        endpoint_channel = channel_name(channel)
        if endpoint_channel == "phone" and "phone" not in self.config.customer_channels:
            endpoint_channel = "sms"  # after a call, written follow-ups (CSAT, updates) go by SMS
        if channel in EMAIL_CHANNELS:
            destination, dest_type = "smtp", "smtp"
        else:
            endpoint = self.config.customer_channels.get(endpoint_channel)
            dest_type = endpoint.api if endpoint else "unconfigured"
            destination = f"{dest_type}:{endpoint_channel}"
        not_before = _ts(req.not_before)
        due_at = not_before if not_before and not_before > now else now
        doc = self._base_doc(env, intent_id=req.intent_id, destination=destination, destination_type=dest_type,
                             kind=req.kind, brand_id=req.brand_id, conversation_id=conv.conversation_id,
                             channel=channel, language=normalize_language(req.language or conv.language),
                             message_type="notification", message=req.SerializeToString(), due_at=due_at, now=now)
        doc["endpoint_channel"] = endpoint_channel
        doc["recipient_kind"] = recipient.kind
        doc["recipient"] = recipient.value
        skip = None
        if not recipient.value:
            skip = "no address to send to" if req.kind != K.NOTIFICATION_KIND_TRANSCRIPT else \
                "no email address for the transcript"
        elif channel in EMAIL_CHANNELS and recipient.kind != common_pb2.HANDLE_KIND_EMAIL:
            skip = "email requested but the recipient handle is not an email address"
        elif req.kind == K.NOTIFICATION_KIND_TRANSCRIPT and \
                req.variables.get(self.config.transcript.opt_out_variable, "").lower() in ("1", "true", "yes"):
            skip = "customer opted out of transcripts"
        if skip:
            return self._as_skipped(doc, skip)
        if req.kind == K.NOTIFICATION_KIND_QUEUE_POSITION and conv.conversation_id:
            # A backlog (provider outage) must not replay stale positions: a newer one replaces them.
            doc["supersede_key"] = f"queue|{req.brand_id}|{conv.conversation_id}"
        if req.kind == K.NOTIFICATION_KIND_CSAT_SURVEY and self.config.csat.once_per_conversation:
            doc["once_key"] = f"csat|{req.brand_id}|{conv.conversation_id or req.intent_id}"
        return doc

    async def _apply_once_per_conversation(self, docs: list[dict[str, Any]]) -> None:
        keyed = [d for d in docs if d.get("once_key")]
        if not keyed:
            return
        # The same intent redelivered keeps its own key; another intent for the conversation is skipped.
        existing = await self.outbox.collection.find(
            {"once_key": {"$in": [d["once_key"] for d in keyed]}}, {"once_key": 1}).to_list(None)
        owner = {d["once_key"]: d["_id"] for d in existing}
        for i, doc in enumerate(docs):
            key = doc.get("once_key")
            if not key:
                continue
            if owner.setdefault(key, doc["_id"]) != doc["_id"]:
                docs[i] = self._as_skipped(doc, "survey already sent for this conversation")

    # ---------------------------------------------------------------- delivery
    async def send(self, doc: dict[str, Any], now: datetime) -> tuple[SendOutcome, str]:
        """One attempt at one destination. Returns the outcome and the language actually used."""
        try:
            if doc["message_type"] == "escalation":
                return await self._send_escalation(doc, now), "en"
            return await self._send_customer(doc, now)
        except (ComposeError, ProviderConfigError, TemplateError, ValueError) as exc:
            return SendOutcome.failed(f"cannot build the message: {exc}"), doc.get("language", "")

    def _escalation_view(self, esc: escalation_pb2.EscalationRaised) -> EscalationView:
        conv = esc.conversation
        link = self.config.conversation_link.format(public_base_url=self.config.public_base_url.rstrip("/"),
                                                    conversation_id=conv.conversation_id, brand_id=esc.brand_id)
        return EscalationView(
            brand_id=esc.brand_id, brand_name=self.config.brand_name(esc.brand_id), escalation_id=esc.escalation_id,
            conversation_id=conv.conversation_id, customer_id=conv.customer_id, customer_name=conv.customer_name,
            channel=channel_name(conv.channel), level=esc.level, level_name=esc.level_name,
            reason=escalation_pb2.EscalationReason.Name(esc.reason).removeprefix("ESCALATION_REASON_"),
            metric=sla_pb2.SlaMetric.Name(esc.metric).removeprefix("SLA_METRIC_"),
            target_seconds=esc.target_seconds, deadline=_ts(esc.deadline), breached_at=_ts(esc.breached_at),
            raised_at=_ts(esc.raised_at), priority=common_pb2.Priority.Name(conv.priority).removeprefix("PRIORITY_"),
            queue=conv.queue, assignee_id=conv.assignee_id, recipients=tuple(esc.recipients), detail=esc.detail,
            link=link)

    async def _send_escalation(self, doc: dict[str, Any], now: datetime) -> SendOutcome:
        esc = escalation_pb2.EscalationRaised.FromString(doc["message"])
        cfg = self.config.destination(doc.get("destination_id", ""))
        if cfg is None:
            raise ComposeError(f"destination '{doc.get('destination_id')}' is not in notifier.yaml")
        view = self._escalation_view(esc)
        pool = self.pool(doc["pool"])
        if cfg.type in ("slack", "webhook"):
            url = cfg.url or (self.secret(esc.brand_id, cfg.url_secret) if cfg.url_secret else None)
            if not url:
                raise ComposeError(f"destination {cfg.id}: secret '{cfg.url_secret}' is not set")
            if cfg.type == "slack":
                request = slack_request(url, slack_payload(view), doc["_id"])
            else:
                keys = []
                for name in (cfg.signing_secret or "").split(","):
                    if name.strip():
                        value = self.secret(esc.brand_id, name.strip())
                        if not value:
                            raise ComposeError(f"destination {cfg.id}: signing secret '{name.strip()}' is not set")
                        keys.append(value)
                request = signed_webhook_request(url, webhook_payload(view), keys, int(now.timestamp()), doc["_id"])
            return await self.http.send(request, timeout=pool.timeout, api="http", pool=doc["pool"],
                                        concurrency=pool.concurrency)
        overdue = (view.raised_at - view.deadline).total_seconds() if view.raised_at and view.deadline else None
        sla = f"{view.metric.lower()} target {format_duration(view.target_seconds)}"
        if overdue is not None:
            sla += f", overdue by {format_duration(overdue)}"
        rendered = self.catalog.render("escalation", "en", {
            "brand_name": view.brand_name, "level": view.level, "level_name": view.level_name, "reason": view.reason,
            "conversation_id": view.conversation_id, "channel": view.channel,
            "customer": view.customer_name or view.customer_id, "sla": sla, "link": view.link})
        message = self._email(doc, esc.brand_id, cfg.address or "", rendered.subject, rendered.text, rendered.html,
                              "en", now)
        return await self.smtp.send(message, timeout=pool.timeout)

    def _email(self, doc, brand_id, to, subject, text, html, language, now, in_reply_to="", references=None):
        brand = self.config.brands.get(brand_id)
        from_address = (brand.from_address if brand and brand.from_address else None) or \
            self.config.smtp.from_address
        from_name = ((brand.from_name if brand and brand.from_name else None) or self.config.smtp.from_name).format(
            brand_name=self.config.brand_name(brand_id))
        message_id = deterministic_message_id(doc["_id"], self.config.smtp.message_id_domain)
        return build_email(from_address=from_address, from_name=from_name, to_address=to, subject=subject, text=text,
                           html=html, message_id=message_id,
                           date=now, language=language, in_reply_to=in_reply_to, references=references,
                           extra_headers={"X-Switchboard-Intent": doc["intent_id"]})

    async def _send_customer(self, doc: dict[str, Any], now: datetime) -> tuple[SendOutcome, str]:
        req = notification_pb2.NotificationRequested.FromString(doc["message"])
        conv = req.conversation
        threading = conv.email_threading
        csat = None
        if req.kind == K.NOTIFICATION_KIND_CSAT_SURVEY:
            csat = csat_links(self.config.public_base_url, req.brand_id, req.intent_id, self.config.csat.min_score,
                              self.config.csat.max_score, conv.conversation_id)
        variables = template_variables(
            brand_name=self.config.brand_name(req.brand_id), customer_name=conv.customer_name,
            order_ids=list(conv.order_ids), conversation_id=conv.conversation_id, text=req.text,
            reply_subject=reply_subject(threading.subject), extra=dict(req.variables),
            csat=csat,
            csat_range=(self.config.csat.min_score, self.config.csat.max_score))
        if req.kind == K.NOTIFICATION_KIND_TRANSCRIPT and not variables.get("transcript"):
            variables["transcript"] = req.text
        template = req.template or DEFAULT_TEMPLATE.get(req.kind, "reply")
        rendered = self.catalog.render(template, doc["language"], variables)
        pool = self.pool(doc["pool"])
        if doc["destination"] == "smtp":
            subject = rendered.subject or variables["reply_subject"] or self.config.brand_name(req.brand_id)
            message = self._email(doc, req.brand_id, doc["recipient"], subject,
                                  rendered.text, rendered.html, rendered.language, now,
                                  in_reply_to=threading.message_id, references=list(threading.references))
            return await self.smtp.send(message, timeout=pool.timeout), rendered.language
        endpoint_channel = doc.get("endpoint_channel") or channel_name(doc["channel"])
        endpoint = self.config.customer_channels.get(endpoint_channel)
        if endpoint is None:
            raise ComposeError(f"no provider endpoint configured for channel {endpoint_channel} "
                               f"(notifier.yaml customer_channels)")
        credentials = {name: v for name in SECRET_NAMES if (v := self.secret(req.brand_id, name))}
        request = build_send_request(api=endpoint.api, channel=endpoint_channel, base_url=endpoint.base_url,
                                     credentials=credentials, recipient=doc["recipient"], text=rendered.text,
                                     idempotency_key=doc["_id"])
        outcome = await self.http.send(request, timeout=pool.timeout, api=endpoint.api, pool=doc["pool"],
                                       concurrency=pool.concurrency)
        return outcome, rendered.language

    def next_step(self, doc: dict[str, Any], outcome: SendOutcome, attempt: int, now: datetime) -> tuple[str, float]:
        """Final state (delivered/failed) or (pending, delay seconds) after an attempt."""
        if outcome.outcome is Outcome.DELIVERED:
            return DELIVERED, 0.0
        if outcome.outcome is Outcome.FAILED:
            return FAILED, 0.0
        first = doc.get("first_attempt_at") or now.timestamp()
        delay = self.policy.next_delay(attempt, now.timestamp() - first, outcome.retry_after_seconds, self.rng)
        return (FAILED, 0.0) if delay is None else (PENDING, delay)

    # ---------------------------------------------------------------- reporting
    async def report(self, docs: list[dict[str, Any]]) -> list[str]:
        """Publishes DeliveryRecorded (and DLQ records for failures); returns the ids reported.

        Ids are deterministic, so a report repeated after a crash is a duplicate analytics can drop.
        """
        now = self.clock.now()
        for doc in docs:
            outcome = {DELIVERED: notification_pb2.DELIVERY_OUTCOME_DELIVERED,
                       FAILED: notification_pb2.DELIVERY_OUTCOME_FAILED,
                       SKIPPED: notification_pb2.DELIVERY_OUTCOME_SKIPPED}[doc["state"]]
            event = notification_pb2.DeliveryRecorded(
                brand_id=doc["brand_id"], intent_id=doc["intent_id"], kind=doc["kind"],
                conversation_id=doc["conversation_id"], destination=doc["destination"], channel=doc["channel"],
                outcome=outcome, attempts=doc.get("attempts", 0), detail=(doc.get("detail") or "")[:500],
                recorded_at=_timestamp(datetime.fromtimestamp(doc["finished_at"], UTC) if doc.get("finished_at")
                                       else now),
                provider_message_id=doc.get("provider_message_id") or "", language=doc.get("language") or "")
            await self.producer.publish(self.topics.deliveries, event, key=doc["conversation_id"] or doc["intent_id"],
                                        event_id=derived_id("delivery", doc["_id"], doc["state"]),
                                        subject=doc["conversation_id"] or None, brand_id=doc["brand_id"])
            metrics.DELIVERIES.labels(kind_name(doc["kind"]), doc["destination_type"], doc["state"]).inc()
            if doc["state"] == FAILED:
                source = doc.get("source") or {}
                headers = [(k, bytes(v)) for k, v in source.get("headers", []) if not k.startswith("dlq_")]
                headers += [("dlq_reason", b"delivery_failed"),
                            ("dlq_error", (doc.get("detail") or "")[:1000].encode()),
                            ("dlq_destination", doc["destination"].encode()),
                            ("dlq_intent_id", doc["intent_id"].encode()),
                            ("dlq_attempts", str(doc.get("attempts", 0)).encode()),
                            ("dlq_topic", source.get("topic", "").encode()),
                            ("dlq_offset", str(source.get("offset", 0)).encode())]
                topic = source.get("topic") or self.topics.notifications
                key = source.get("key")
                await self.producer.send_raw(f"{topic}.dlq", source.get("value"),
                                             bytes(key) if key is not None else None, headers)
        await self.producer.drain()
        return [d["_id"] for d in docs]
