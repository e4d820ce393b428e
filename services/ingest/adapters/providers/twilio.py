"""Twilio Messaging: inbound SMS / MMS / WhatsApp and message status callbacks.

Form-encoded POSTs signed with X-Twilio-Signature (HMAC-SHA1 over the URL + sorted params,
keyed by the account auth token). Inbound messages and status callbacks share one webhook URL;
a status callback carries MessageStatus and no Body.
"""
from __future__ import annotations

from typing import ClassVar

from switchboard.events.v1 import common_pb2, inbound_pb2
from switchboard.ingest.adapters.codec import HK, handle
from switchboard.ingest.domain.contacts import e164
from switchboard.ingest.domain.errors import InvalidField
from switchboard.ingest.domain.forms import Form, parse_form
from switchboard.ingest.domain.location import location_text
from switchboard.ingest.domain.model import Outgoing, WebhookOutcome, WebhookRequest
from switchboard.ingest.domain.signatures import verify_twilio

from .base import AdapterContext, NoHandshake

DS = inbound_pb2.DeliveryState
STATUS = {
    "accepted": DS.DELIVERY_STATE_QUEUED, "scheduled": DS.DELIVERY_STATE_QUEUED,
    "queued": DS.DELIVERY_STATE_QUEUED, "sending": DS.DELIVERY_STATE_QUEUED,
    "sent": DS.DELIVERY_STATE_SENT, "delivered": DS.DELIVERY_STATE_DELIVERED,
    "read": DS.DELIVERY_STATE_READ, "undelivered": DS.DELIVERY_STATE_FAILED,
    "failed": DS.DELIVERY_STATE_FAILED, "canceled": DS.DELIVERY_STATE_FAILED,
}
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'

EXAMPLE = {
    "MessageSid": "SM1f0e8ae6ade43cb3c0ce4525424e404f", "SmsSid": "SM1f0e8ae6ade43cb3c0ce4525424e404f",
    "AccountSid": "ACXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX", "MessagingServiceSid": "",
    "From": "+14155550100", "To": "+14155550199", "Body": "Where is my order #1001?",
    "NumMedia": "0", "NumSegments": "1", "FromCountry": "US", "ApiVersion": "2010-04-01",
}


def twilio_params(request: WebhookRequest) -> tuple[Form, list[tuple[str, str]]]:
    form = parse_form(request.body, request.content_type, request.content_type_header)
    return form, form.fields


def address(raw: str | None, field: str) -> tuple[int, str, common_pb2.Channel]:
    """Twilio addresses are E.164 phones, prefixed "whatsapp:" for WhatsApp."""
    value = raw or ""
    if value.startswith("whatsapp:"):
        phone = e164(value[9:], field)
        return HK.HANDLE_KIND_WHATSAPP_ID, phone.lstrip("+"), common_pb2.CHANNEL_WHATSAPP
    return HK.HANDLE_KIND_PHONE, e164(value, field), common_pb2.CHANNEL_SMS


def _text(form: Form) -> str:
    """Body, or for a WhatsApp location (Latitude, Longitude, Address, Label; empty Body) the place as
    text, written as the Meta adapter writes it."""
    location = ""
    if form.get("Latitude") and form.get("Longitude"):
        location = location_text(name=form.get("Label"), address=form.get("Address"),
                                 latitude=form.get("Latitude"), longitude=form.get("Longitude"))
    return "\n".join(part for part in (form.get("Body") or "", location) if part)


class TwilioSigned(NoHandshake):
    """Every Twilio webhook (Messaging and Voice): form-encoded, X-Twilio-Signature over URL + params."""

    media_type: ClassVar[str] = "application/x-www-form-urlencoded"

    def verify(self, request: WebhookRequest, ctx: AdapterContext) -> None:
        _, params = twilio_params(request)
        verify_twilio(request.url, params, request.header("x-twilio-signature"), ctx.secret("twilio_auth_token"))


class TwilioMessaging(TwilioSigned):
    name: ClassVar[str] = "twilio"
    summary: ClassVar[str] = "Twilio Messaging (SMS, MMS, WhatsApp): inbound messages and status callbacks"
    example: ClassVar[dict] = EXAMPLE

    def normalize(self, request: WebhookRequest, ctx: AdapterContext) -> WebhookOutcome:
        form, _ = twilio_params(request)
        sid = form.get("MessageSid") or form.get("SmsSid")
        if not sid:
            raise InvalidField("MessageSid is required", field="MessageSid")
        status = form.get("MessageStatus") or form.get("SmsStatus")
        if status and form.get("Body") is None and status not in ("received", "receiving"):
            return WebhookOutcome(events=[self._status(form, sid, status, ctx)], reply="", media_type="text/plain")
        return WebhookOutcome(events=[self._inbound(form, sid, ctx)], reply=EMPTY_TWIML, media_type="text/xml")

    def _inbound(self, form: Form, sid: str, ctx: AdapterContext) -> Outgoing:
        kind, value, channel = address(form.get("From"), "From")
        _, to_value, _ = address(form.get("To"), "To")
        if kind == HK.HANDLE_KIND_WHATSAPP_ID and form.get("WaId"):
            value = form.get("WaId") or value
        try:
            num_media = int(form.get("NumMedia") or "0")
        except ValueError:
            raise InvalidField("NumMedia must be an integer", field="NumMedia") from None
        if not 0 <= num_media <= 10:
            raise InvalidField("NumMedia must be between 0 and 10", field="NumMedia")
        attachments = []
        for i in range(num_media):
            url = form.get(f"MediaUrl{i}")
            if not url:
                raise InvalidField(f"MediaUrl{i} is required when NumMedia is {num_media}", field=f"MediaUrl{i}")
            attachments.append(common_pb2.AttachmentRef(
                url=url, content_type=form.get(f"MediaContentType{i}") or "",
                provider_media_id=url.rstrip("/").rsplit("/", 1)[-1]))
        received = inbound_pb2.MessageReceived(
            channel=channel, provider=self.name, provider_message_id=sid, sender=handle(kind, value),
            display_name=form.get("ProfileName") or "", text=_text(form), attachments=attachments,
            recipient_address=handle(kind, to_value), postback_payload=form.get("ButtonPayload") or "")
        # Twilio sends no event time with inbound messages: receipt time is the closest we have.
        received.sent_at.FromDatetime(ctx.now)
        return Outgoing(stream="inbound", key=f"{ctx.brand_id}/{value}",
                        payload=inbound_pb2.InboundEvent(brand_id=ctx.brand_id, message_received=received),
                        dedupe_id=f"twilio:{sid}", time=ctx.now)

    def _status(self, form: Form, sid: str, status: str, ctx: AdapterContext) -> Outgoing:
        state = STATUS.get(status)
        if state is None:
            raise InvalidField(f"MessageStatus {status!r} is not a Twilio message status", field="MessageStatus")
        kind, value, channel = address(form.get("To"), "To")
        report = inbound_pb2.DeliveryStatusReported(
            channel=channel, provider=self.name, provider_message_id=sid, state=state,
            recipient=handle(kind, value), error_code=form.get("ErrorCode") or "")
        report.occurred_at.FromDatetime(ctx.now)
        return Outgoing(stream="inbound", key=f"{ctx.brand_id}/{value}",
                        payload=inbound_pb2.InboundEvent(brand_id=ctx.brand_id, delivery_status_reported=report),
                        dedupe_id=f"twilio:{sid}:{status}", time=ctx.now)
