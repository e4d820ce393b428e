"""Messages to people, not customers: escalations and assignment notices, to the destinations of
notifier.yaml (Slack incoming webhooks, signed generic webhooks, email). Both link to the
conversation's console page (`conversation_link`).

A mixin of NotifierHandlers: it uses the handlers' config, secrets, catalog, senders and pools.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from switchboard.notifier.adapters import codec
from switchboard.notifier.config import DestinationConfig
from switchboard.notifier.domain.assignment_messages import (
    AssignmentView,
    agent_address,
    assignment_slack_payload,
    assignment_webhook_payload,
)
from switchboard.notifier.domain.escalation_messages import (
    format_duration,
    signed_webhook_request,
    slack_payload,
    slack_request,
    webhook_payload,
)
from switchboard.notifier.domain.model import EscalationView, HttpRequestSpec, SendOutcome
from switchboard.notifier.domain.requests import Escalation, Notification


class PeopleComposeError(ValueError):
    """A person's message cannot be built (missing destination, secret): retrying will not help."""


def _shown(name: str) -> str:
    """An enum name as people's messages show it: "FIRST_RESPONSE", "UNSPECIFIED" when unset."""
    return (name or "unspecified").upper()


class PeopleMessages:
    """Composing and sending escalations and assignment notices (mixed into NotifierHandlers)."""

    def _destination_of(self, doc: dict[str, Any]) -> DestinationConfig:
        cfg = self.config.destination(doc.get("destination_id", ""))
        if cfg is None:
            raise PeopleComposeError(f"destination '{doc.get('destination_id')}' is not in notifier.yaml")
        return cfg

    def _url_of(self, cfg: DestinationConfig, brand_id: str) -> str:
        url = cfg.url or (self.secret(brand_id, cfg.url_secret) if cfg.url_secret else None)
        if not url:
            raise PeopleComposeError(f"destination {cfg.id}: secret '{cfg.url_secret}' is not set")
        return url

    def _signing_keys(self, cfg: DestinationConfig, brand_id: str) -> list[str]:
        keys = []
        for name in (cfg.signing_secret or "").split(","):
            if name.strip():
                value = self.secret(brand_id, name.strip())
                if not value:
                    raise PeopleComposeError(f"destination {cfg.id}: signing secret '{name.strip()}' is not set")
                keys.append(value)
        return keys

    async def _post(self, doc: dict[str, Any], request: HttpRequestSpec) -> SendOutcome:
        pool = self.pool(doc["pool"])
        return await self.http.send(request, timeout=pool.timeout, api="http", pool=doc["pool"],
                                    concurrency=pool.concurrency)

    async def _mail(self, doc: dict[str, Any], brand_id: str, to: str, rendered, now: datetime) -> SendOutcome:
        message = self._email(doc, brand_id, to, rendered.subject, rendered.text, rendered.html, "en", now)
        return await self.smtp.send(message, timeout=self.pool(doc["pool"]).timeout)

    async def _to_destination(self, doc: dict[str, Any], cfg: DestinationConfig, brand_id: str,
                              slack: Callable[[], dict], webhook: Callable[[], dict],
                              now: datetime) -> SendOutcome | None:
        """Posts to a Slack or signed-webhook destination; None for an email destination."""
        if cfg.type == "slack":
            return await self._post(doc, slack_request(self._url_of(cfg, brand_id), slack(), doc["_id"]))
        if cfg.type == "webhook":
            return await self._post(doc, signed_webhook_request(
                self._url_of(cfg, brand_id), webhook(), self._signing_keys(cfg, brand_id), int(now.timestamp()),
                doc["_id"]))
        return None

    # ---------------------------------------------------------------- escalations
    def _escalation_view(self, esc: Escalation) -> EscalationView:
        conv = esc.conversation
        return EscalationView(
            brand_id=esc.brand_id, brand_name=self.config.brand_name(esc.brand_id), escalation_id=esc.escalation_id,
            conversation_id=conv.conversation_id, customer_id=conv.customer_id, customer_name=conv.customer_name,
            channel=conv.channel or "unspecified", level=esc.level, level_name=esc.level_name,
            reason=_shown(esc.reason), metric=_shown(esc.metric), target_seconds=esc.target_seconds,
            deadline=esc.deadline, breached_at=esc.breached_at, raised_at=esc.raised_at,
            priority=_shown(conv.priority), queue=conv.queue, assignee_id=conv.assignee_id,
            recipients=esc.recipients, detail=esc.detail, link=self.config.link(conv.conversation_id, esc.brand_id))

    async def _send_escalation(self, doc: dict[str, Any], now: datetime) -> SendOutcome:
        esc = codec.decode_stored(doc["message_type"], doc["message"])
        cfg = self._destination_of(doc)
        view = self._escalation_view(esc)
        outcome = await self._to_destination(doc, cfg, esc.brand_id, lambda: slack_payload(view),
                                             lambda: webhook_payload(view), now)
        if outcome is not None:
            return outcome
        overdue = (view.raised_at - view.deadline).total_seconds() if view.raised_at and view.deadline else None
        sla = f"{view.metric.lower()} target {format_duration(view.target_seconds)}"
        if overdue is not None:
            sla += f", overdue by {format_duration(overdue)}"
        rendered = self.catalog.render("escalation", "en", {
            "brand_name": view.brand_name, "level": view.level, "level_name": view.level_name, "reason": view.reason,
            "conversation_id": view.conversation_id, "channel": view.channel,
            "customer": view.customer_name or view.customer_id, "sla": sla, "link": view.link})
        return await self._mail(doc, esc.brand_id, cfg.address or "", rendered, now)

    # ---------------------------------------------------------------- assignment notices
    def _assignment_view(self, req: Notification) -> AssignmentView:
        conv, who = req.conversation, req.assignment
        return AssignmentView(
            intent_id=req.intent_id, brand_id=req.brand_id, brand_name=self.config.brand_name(req.brand_id),
            agent_id=who.agent_id, agent_name=who.agent_name or who.agent_id, rule=who.rule,
            explanation=who.explanation, previous_agent_id=who.previous_agent_id,
            conversation_id=conv.conversation_id, customer_id=conv.customer_id, customer_name=conv.customer_name,
            channel=conv.channel or "-", priority=conv.priority.upper(), queue=conv.queue,
            language=conv.language, assigned_at=req.requested_at,
            link=self.config.link(conv.conversation_id, req.brand_id))

    async def _send_assignment(self, doc: dict[str, Any], now: datetime) -> SendOutcome:
        req = codec.decode_stored(doc["message_type"], doc["message"])
        cfg = self._destination_of(doc)
        view = self._assignment_view(req)
        rendered = self.catalog.render("agent_assigned", "en", view.template_variables())
        outcome = await self._to_destination(
            doc, cfg, req.brand_id, lambda: assignment_slack_payload(view, rendered.text.splitlines()[0]),
            lambda: assignment_webhook_payload(view, rendered.text), now)
        if outcome is not None:
            return outcome
        return await self._mail(doc, req.brand_id, agent_address(cfg.address or "", view.agent_id), rendered, now)
