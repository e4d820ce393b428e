"""Notifier handlers: intake (requests -> durable outbox), compose + send one delivery, report outcomes.

intake() runs inside the Kafka consumer and only writes the outbox, so consuming never waits on a
destination; the dispatcher delivers from the outbox through send(); report() publishes
DeliveryRecorded and DLQ records for final states (report_now before the outcome write, report()
for what is left to the reporter). Every dependency is a port (adapters/ports.py).
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from switchboard.common.clock import Clock
from switchboard.common.config import Secrets
from switchboard.common.topics import TopicNames
from switchboard.notifier.adapters import codec
from switchboard.notifier.adapters.ports import HttpPort, Outbox, Publisher, SmtpPort
from switchboard.notifier.config import NotifierConfig
from switchboard.notifier.domain.model import DELIVERED, FAILED, PENDING, Outcome, SendOutcome
from switchboard.notifier.domain.providers import ProviderConfigError
from switchboard.notifier.domain.templates import TemplateCatalog, TemplateError
from switchboard.notifier.handlers.customer import ComposeError, CustomerMessages
from switchboard.notifier.handlers.intake import Intake
from switchboard.notifier.handlers.people import PeopleMessages
from switchboard.notifier.handlers.reporting import report_acknowledged, report_outcomes

__all__ = ["ComposeError", "NotifierHandlers", "Pool"]


@dataclass(frozen=True, slots=True)
class Pool:
    """A destination's worker pool: how many sends at once, and how long one may take."""

    concurrency: int
    timeout: float


class NotifierHandlers(Intake, CustomerMessages, PeopleMessages):
    def __init__(self, *, config: NotifierConfig, secrets: Secrets, catalog: TemplateCatalog, outbox: Outbox,
                 publisher: Publisher, topics: TopicNames, clock: Clock, http: HttpPort, smtp: SmtpPort,
                 group_id: str = "notifier", rng: random.Random | None = None) -> None:
        self.config = config
        self.secrets = secrets
        self.catalog = catalog
        self.outbox = outbox
        self.publisher = publisher
        self.topics = topics
        self.clock = clock
        self.http = http
        self.smtp = smtp
        self.group_id = group_id  # named in the DLQ records of failed deliveries (dlq_group)
        self.policy = config.retry.policy()
        self.rng = rng or random.Random()

    def pool(self, name: str) -> Pool:
        dest_type, _, rest = name.partition(":")
        if dest_type in ("slack", "webhook", "email"):
            cfg = self.config.destination(rest)
            if cfg:
                return Pool(cfg.concurrency, cfg.timeout_seconds)
        if dest_type == "smtp":
            return Pool(self.config.smtp.concurrency, self.config.smtp.timeout_seconds)
        if rest:  # a customer channel; "webhook:chat" is the chat widget's endpoint, not a destination
            endpoint = self.config.customer_channels.get(rest)
            if endpoint:
                return Pool(endpoint.concurrency, endpoint.timeout_seconds)
        return Pool(1, 5.0)

    def secret(self, brand_id: str, name: str) -> str | None:
        value = self.secrets.brand(brand_id, name) or self.secrets.global_(name)
        return str(value) if value else None

    async def send(self, doc: dict[str, Any], now: datetime) -> tuple[SendOutcome, str]:
        """One attempt at one destination. Returns the outcome and the language actually used."""
        try:
            if doc["message_type"] == codec.ESCALATION_MESSAGE:
                return await self._send_escalation(doc, now), "en"
            if doc["message_type"] == codec.ASSIGNMENT_MESSAGE:
                return await self._send_assignment(doc, now), "en"
            return await self._send_customer(doc, now)
        except (ComposeError, ProviderConfigError, TemplateError, ValueError) as exc:
            return SendOutcome.failed(f"cannot build the message: {exc}"), doc.get("language", "")

    def next_step(self, doc: dict[str, Any], outcome: SendOutcome, attempt: int, now: datetime) -> tuple[str, float]:
        """Final state (delivered/failed) or (pending, delay seconds) after an attempt."""
        if outcome.outcome is Outcome.DELIVERED:
            return DELIVERED, 0.0
        if outcome.outcome is Outcome.FAILED:
            return FAILED, 0.0
        first = doc.get("first_attempt_at") or now.timestamp()
        delay = self.policy.next_delay(attempt, now.timestamp() - first, outcome.retry_after_seconds, self.rng)
        return (FAILED, 0.0) if delay is None else (PENDING, delay)

    async def report(self, docs: list[dict[str, Any]]) -> list[str]:
        """Publishes DeliveryRecorded (and DLQ records for failures); returns the ids reported."""
        return await report_outcomes(self, docs)

    async def report_now(self, docs: list[dict[str, Any]]) -> None:
        """Publishes the reports of outcomes about to be written and waits for their acks (raises if
        one was not acknowledged): the outcome is then written as already reported."""
        await report_acknowledged(self, docs)
