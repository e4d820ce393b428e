"""Meta WhatsApp Cloud API webhooks: messages and message statuses (sent, delivered, read, failed)."""
from __future__ import annotations

from typing import ClassVar

from switchboard.events.v1 import common_pb2, inbound_pb2
from switchboard.ingest.domain.contacts import HK, handle
from switchboard.ingest.domain.model import Outgoing, WebhookOutcome, WebhookRequest

from .base import AdapterContext, as_dict, as_list, as_str, parse_json_object, unix_time
from .meta import MetaWebhook

DS = inbound_pb2.DeliveryState
STATUS = {"sent": DS.DELIVERY_STATE_SENT, "delivered": DS.DELIVERY_STATE_DELIVERED,
          "read": DS.DELIVERY_STATE_READ, "failed": DS.DELIVERY_STATE_FAILED}
MEDIA_TYPES = ("image", "audio", "video", "document", "sticker")

EXAMPLE = {
    "object": "whatsapp_business_account",
    "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
        "contacts": [{"profile": {"name": "Sheena Nelson"}, "wa_id": "16505551234"}],
        "messages": [{"from": "16505551234", "id": "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=",
                      "timestamp": "1749416383", "type": "text", "text": {"body": "Does it ship to Berlin?"}}],
    }}]}],
}


class MetaWhatsApp(MetaWebhook):
    name: ClassVar[str] = "meta_whatsapp"
    media_type: ClassVar[str] = "application/json"
    summary: ClassVar[str] = "Meta WhatsApp Cloud API: messages and delivery/read statuses"
    example: ClassVar[dict] = EXAMPLE

    def normalize(self, request: WebhookRequest, ctx: AdapterContext) -> WebhookOutcome:
        body = parse_json_object(request.body)
        events: list[Outgoing] = []
        for e, entry in enumerate(as_list(body.get("entry"), "entry")):
            for c, change in enumerate(as_list(as_dict(entry, f"entry[{e}]").get("changes"), f"entry[{e}].changes")):
                where = f"entry[{e}].changes[{c}].value"
                value = as_dict(as_dict(change, f"entry[{e}].changes[{c}]").get("value"), where)
                metadata = value.get("metadata") if isinstance(value.get("metadata"), dict) else {}
                business = str(metadata.get("display_phone_number") or "")
                names = {str(ct.get("wa_id")): str(ct["profile"].get("name") or "")
                         for ct in as_list(value.get("contacts"), f"{where}.contacts")
                         if isinstance(ct, dict) and isinstance(ct.get("profile"), dict)}
                for m, message in enumerate(as_list(value.get("messages"), f"{where}.messages")):
                    events.append(self._message(as_dict(message, f"{where}.messages[{m}]"),
                                                f"{where}.messages[{m}]", names, business, ctx))
                for s, status in enumerate(as_list(value.get("statuses"), f"{where}.statuses")):
                    events.append(self._status(as_dict(status, f"{where}.statuses[{s}]"),
                                               f"{where}.statuses[{s}]", ctx))
        return WebhookOutcome(events=events, reply={"status": "accepted"},
                              ignored=None if events else "no messages or statuses in this notification")

    def _message(self, message: dict, where: str, names: dict[str, str], business: str,
                 ctx: AdapterContext) -> Outgoing:
        wa_id = as_str(message.get("from"), f"{where}.from")
        message_id = as_str(message.get("id"), f"{where}.id")
        sent = unix_time(message.get("timestamp"), f"{where}.timestamp")
        kind = as_str(message.get("type"), f"{where}.type", required=False) or "text"
        text, payload, attachments = "", "", []
        if kind == "text":
            text = str(as_dict(message.get("text") or {}, f"{where}.text").get("body") or "")
        elif kind in MEDIA_TYPES:
            media = as_dict(message.get(kind), f"{where}.{kind}")
            text = str(media.get("caption") or "")
            attachments.append(common_pb2.AttachmentRef(
                provider_media_id=as_str(media.get("id"), f"{where}.{kind}.id"),
                content_type=str(media.get("mime_type") or ""), filename=str(media.get("filename") or "")))
        elif kind == "button":
            button = as_dict(message.get("button"), f"{where}.button")
            text, payload = str(button.get("text") or ""), str(button.get("payload") or "")
        elif kind == "interactive":
            interactive = as_dict(message.get("interactive"), f"{where}.interactive")
            reply = interactive.get("button_reply") or interactive.get("list_reply") or {}
            if isinstance(reply, dict):
                text, payload = str(reply.get("title") or ""), str(reply.get("id") or "")
        elif kind == "location":
            loc = as_dict(message.get("location"), f"{where}.location")
            text = " ".join(str(loc.get(k)) for k in ("name", "address", "latitude", "longitude") if loc.get(k))
        received = inbound_pb2.MessageReceived(
            channel=common_pb2.CHANNEL_WHATSAPP, provider=self.name, provider_message_id=message_id,
            sender=handle(HK.HANDLE_KIND_WHATSAPP_ID, wa_id), display_name=names.get(wa_id, ""), text=text,
            attachments=attachments, postback_payload=payload)
        if business:
            received.recipient_address.CopyFrom(handle(HK.HANDLE_KIND_WHATSAPP_ID, business))
        received.sent_at.FromDatetime(sent)
        return Outgoing(stream="inbound", key=f"{ctx.brand_id}/{wa_id}",
                        payload=inbound_pb2.InboundEvent(brand_id=ctx.brand_id, message_received=received),
                        dedupe_id=f"{self.name}:{message_id}", time=sent)

    def _status(self, status: dict, where: str, ctx: AdapterContext) -> Outgoing:
        message_id = as_str(status.get("id"), f"{where}.id")
        name = as_str(status.get("status"), f"{where}.status")
        state = STATUS.get(name)
        if state is None:
            from switchboard.ingest.domain.errors import InvalidField
            raise InvalidField(f"{where}.status {name!r} is not sent/delivered/read/failed", field=f"{where}.status")
        recipient = as_str(status.get("recipient_id"), f"{where}.recipient_id")
        occurred = unix_time(status.get("timestamp"), f"{where}.timestamp")
        errors = status.get("errors") if isinstance(status.get("errors"), list) else []
        code = str(errors[0].get("code", "")) if errors and isinstance(errors[0], dict) else ""
        report = inbound_pb2.DeliveryStatusReported(
            channel=common_pb2.CHANNEL_WHATSAPP, provider=self.name, provider_message_id=message_id, state=state,
            recipient=handle(HK.HANDLE_KIND_WHATSAPP_ID, recipient), error_code=code)
        report.occurred_at.FromDatetime(occurred)
        return Outgoing(stream="inbound", key=f"{ctx.brand_id}/{recipient}",
                        payload=inbound_pb2.InboundEvent(brand_id=ctx.brand_id, delivery_status_reported=report),
                        dedupe_id=f"{self.name}:{message_id}:{name}", time=occurred)
