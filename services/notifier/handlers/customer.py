"""Customer messages: render the template in the customer's language and send it back on their
channel, by email (threaded under their last message) or through the channel's provider API.

A mixin of NotifierHandlers: it uses the handlers' config, secrets, catalog, senders and pools.
"""
from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage
from typing import Any

from switchboard.notifier.adapters import codec
from switchboard.notifier.domain.email_message import build_email, deterministic_message_id, reply_subject
from switchboard.notifier.domain.model import SendOutcome
from switchboard.notifier.domain.providers import build_send_request
from switchboard.notifier.domain.requests import Notification
from switchboard.notifier.domain.variables import csat_links, template_variables
from switchboard.notifier.handlers.intake import DEFAULT_TEMPLATE

SECRET_NAMES = ("twilio_account_sid", "twilio_auth_token", "twilio_from", "meta_access_token",
                "meta_phone_number_id", "meta_page_id", "vk_access_token", "telegram_bot_token", "webhook_token")


class ComposeError(ValueError):
    """The delivery cannot be built (missing secret, endpoint, template): retrying will not help."""


class CustomerMessages:
    """Composing and sending customer messages (mixed into NotifierHandlers)."""

    def _email(self, doc, brand_id, to, subject, text, html, language, now, in_reply_to="",
               references=None) -> EmailMessage:
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

    def _customer_variables(self, req: Notification) -> dict[str, Any]:
        conv = req.conversation
        csat = None
        if req.kind == "csat_survey":
            csat = csat_links(self.config.public_base_url, req.brand_id, req.intent_id, self.config.csat.min_score,
                              self.config.csat.max_score, conv.conversation_id)
        variables = template_variables(
            brand_name=self.config.brand_name(req.brand_id), customer_name=conv.customer_name,
            order_ids=list(conv.order_ids), conversation_id=conv.conversation_id, text=req.text,
            reply_subject=reply_subject(conv.email_thread.subject), extra=dict(req.variables), csat=csat,
            csat_range=(self.config.csat.min_score, self.config.csat.max_score))
        if req.kind == "transcript" and not variables.get("transcript"):
            variables["transcript"] = req.text
        return variables

    async def _send_customer(self, doc: dict[str, Any], now: datetime) -> tuple[SendOutcome, str]:
        req = codec.decode_stored(doc["message_type"], doc["message"])
        variables = self._customer_variables(req)
        rendered = self.catalog.render(req.template or DEFAULT_TEMPLATE.get(req.kind, "reply"), doc["language"],
                                       variables)
        pool = self.pool(doc["pool"])
        if doc["destination"] == "smtp":
            thread = req.conversation.email_thread
            subject = rendered.subject or variables["reply_subject"] or self.config.brand_name(req.brand_id)
            message = self._email(doc, req.brand_id, doc["recipient"], subject,
                                  rendered.text, rendered.html, rendered.language, now,
                                  in_reply_to=thread.message_id, references=list(thread.references))
            return await self.smtp.send(message, timeout=pool.timeout), rendered.language
        endpoint_channel = doc.get("endpoint_channel") or codec.channel_name(doc["channel"])
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
