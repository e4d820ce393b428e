"""Meta WhatsApp Cloud API webhooks: messages, reactions, unsupported-message notices and message statuses
(sent, delivered, read, failed)."""
from __future__ import annotations

from typing import ClassVar

from switchboard.events.v1 import common_pb2, inbound_pb2
from switchboard.ingest.adapters.codec import HK, handle
from switchboard.ingest.domain.location import location_text
from switchboard.ingest.domain.model import Outgoing, WebhookOutcome, WebhookRequest

from .base import AdapterContext, as_dict, as_list, as_str, parse_json_object, unix_time
from .meta import MetaWebhook

DS = inbound_pb2.DeliveryState
STATUS = {"sent": DS.DELIVERY_STATE_SENT, "delivered": DS.DELIVERY_STATE_DELIVERED,
          "read": DS.DELIVERY_STATE_READ, "failed": DS.DELIVERY_STATE_FAILED}
MEDIA_TYPES = ("image", "audio", "video", "document", "sticker")
# Types carried as a customer message; `reaction`, `system`, `unsupported` and any type Meta adds later
# travel as a reaction or a notice (never as an empty message that would move an SLA clock).
KNOWN_TYPES = ("text", "button", "interactive", "location", "contacts", "order", "reaction", "system",
               *MEDIA_TYPES)

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
    summary: ClassVar[str] = "Meta WhatsApp Cloud API: messages, reactions, notices, delivery/read statuses"
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
        signal = self._signal(message, kind, where)  # a reaction or a notice has no text of its own
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
            text = location_text(name=loc.get("name"), address=loc.get("address"),
                                 latitude=loc.get("latitude"), longitude=loc.get("longitude"))
        elif kind == "contacts":
            text = contacts_text(as_list(message.get("contacts"), f"{where}.contacts"))
        elif kind == "order":
            text = order_text(as_dict(message.get("order"), f"{where}.order"))
        received = inbound_pb2.MessageReceived(
            channel=common_pb2.CHANNEL_WHATSAPP, provider=self.name, provider_message_id=message_id,
            sender=handle(HK.HANDLE_KIND_WHATSAPP_ID, wa_id), display_name=names.get(wa_id, ""), text=text,
            attachments=attachments, postback_payload=payload, **(signal or {}))
        if business:
            received.recipient_address.CopyFrom(handle(HK.HANDLE_KIND_WHATSAPP_ID, business))
        received.sent_at.FromDatetime(sent)
        return Outgoing(stream="inbound", key=f"{ctx.brand_id}/{wa_id}",
                        payload=inbound_pb2.InboundEvent(brand_id=ctx.brand_id, message_received=received),
                        dedupe_id=f"{self.name}:{message_id}", time=sent)

    @staticmethod
    def _signal(message: dict, kind: str, where: str) -> dict | None:
        """`reaction` (emoji absent or empty = the reaction was removed) and `unsupported` (`unknown` before
        Graph v15: errors[] says what could not be carried) as what they are, never as an empty message."""
        if kind == "reaction":
            reaction = as_dict(message.get("reaction"), f"{where}.reaction")
            emoji = str(reaction.get("emoji") or "")
            return {"reaction": inbound_pb2.Reaction(
                reacted_provider_message_id=as_str(reaction.get("message_id"), f"{where}.reaction.message_id"),
                emoji=emoji, removed=not emoji)}
        if kind == "system":  # e.g. user_changed_number: a fact for the agent, not a customer turn
            system = as_dict(message.get("system"), f"{where}.system")
            return {"notice": inbound_pb2.ProviderNotice(
                code=str(system.get("type") or "system"), title=str(system.get("body") or ""),
                detail=str(system.get("wa_id") or system.get("new_wa_id") or ""))}
        if kind not in KNOWN_TYPES and kind not in ("unsupported", "unknown"):
            return {"notice": inbound_pb2.ProviderNotice(code="unhandled_type", title=f"WhatsApp {kind} message",
                                                         detail=kind)}
        if kind in ("unsupported", "unknown"):
            errors = as_list(message.get("errors"), f"{where}.errors")
            first = errors[0] if errors and isinstance(errors[0], dict) else {}
            details = first.get("error_data") if isinstance(first.get("error_data"), dict) else {}
            unsupported = message.get("unsupported") if isinstance(message.get("unsupported"), dict) else {}
            detail = " ".join(str(x) for x in (details.get("details"), unsupported.get("type")) if x)
            return {"notice": inbound_pb2.ProviderNotice(
                code=str(first.get("code") or ""), title=str(first.get("title") or first.get("message") or ""),
                detail=detail)}
        return None

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


def contacts_text(cards: list) -> str:
    """Shared contact cards as one line each: formatted name, phones, emails (what an agent needs)."""
    lines = []
    for card in cards:
        if not isinstance(card, dict):
            continue
        name = card.get("name") if isinstance(card.get("name"), dict) else {}
        phones = [str(p.get("phone") or p.get("wa_id") or "") for p in card.get("phones") or [] if isinstance(p, dict)]
        emails = [str(e.get("email") or "") for e in card.get("emails") or [] if isinstance(e, dict)]
        parts = [str(name.get("formatted_name") or name.get("first_name") or ""), *phones, *emails]
        lines.append("Shared contact: " + ", ".join(p for p in parts if p))
    return "\n".join(lines)


def order_text(order: dict) -> str:
    """A catalog order as text: the items (SKU x quantity @ price currency) and the customer's note."""
    items = []
    for item in order.get("product_items") or []:
        if isinstance(item, dict):
            items.append(f"{item.get('quantity', 1)} x {item.get('product_retailer_id', '?')}"
                         f" @ {item.get('item_price', '?')} {item.get('currency', '')}".rstrip())
    head = f"Catalog order ({order.get('catalog_id', '')}): " if order.get("catalog_id") else "Catalog order: "
    note = str(order.get("text") or "")
    return head + "; ".join(items) + (f"\n{note}" if note else "")
