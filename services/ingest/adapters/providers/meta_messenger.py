"""Facebook Messenger Platform webhooks: messages, echoes, quick replies, postbacks, delivery and read."""
from __future__ import annotations

from typing import ClassVar

from switchboard.events.v1 import common_pb2, inbound_pb2
from switchboard.ingest.domain.contacts import HK, handle
from switchboard.ingest.domain.model import Outgoing, WebhookOutcome, WebhookRequest

from .base import AdapterContext, as_dict, as_list, as_str, parse_json_object, unix_time
from .meta import MetaWebhook

DS = inbound_pb2.DeliveryState

EXAMPLE = {
    "object": "page",
    "entry": [{"id": "109934567890123", "time": 1767603600000, "messaging": [{
        "sender": {"id": "6783451234567890"}, "recipient": {"id": "109934567890123"},
        "timestamp": 1767603600000,
        "message": {"mid": "m_AG5Hz2Uq7tuwNEhXfYYKj8mJEM_QPpz5jdCK48PnKAjSdjfipqxqMvK8ma6AC8fplwlqLP_5cgXIbu7I3rBN0P",
                    "text": "Привет! 我的订单在哪里? 📦"}}]}],
}


class MetaMessenger(MetaWebhook):
    name: ClassVar[str] = "meta_messenger"
    media_type: ClassVar[str] = "application/json"
    summary: ClassVar[str] = "Facebook Messenger: messages, echoes, postbacks, delivery and read receipts"
    example: ClassVar[dict] = EXAMPLE

    def normalize(self, request: WebhookRequest, ctx: AdapterContext) -> WebhookOutcome:
        body = parse_json_object(request.body)
        events: list[Outgoing] = []
        for e, entry in enumerate(as_list(body.get("entry"), "entry")):
            for i, item in enumerate(as_list(as_dict(entry, f"entry[{e}]").get("messaging"),
                                             f"entry[{e}].messaging")):
                where = f"entry[{e}].messaging[{i}]"
                event = self._one(as_dict(item, where), where, ctx)
                if event is not None:
                    events.append(event)
        return WebhookOutcome(events=events, reply={"status": "accepted"},
                              ignored=None if events else "no messages, postbacks or receipts")

    def _one(self, item: dict, where: str, ctx: AdapterContext) -> Outgoing | None:
        sender = as_str(as_dict(item.get("sender"), f"{where}.sender").get("id"), f"{where}.sender.id")
        page = as_str(as_dict(item.get("recipient"), f"{where}.recipient").get("id"), f"{where}.recipient.id")
        when = unix_time(item.get("timestamp"), f"{where}.timestamp", millis=True)
        if "message" in item or "postback" in item:
            message = as_dict(item.get("message") or {}, f"{where}.message")
            postback = as_dict(item.get("postback") or {}, f"{where}.postback")
            echo = bool(message.get("is_echo"))
            customer, brand_side = (page, sender) if echo else (sender, page)
            mid = as_str(message.get("mid") or postback.get("mid"), f"{where}.message.mid")
            quick = message.get("quick_reply") if isinstance(message.get("quick_reply"), dict) else {}
            attachments = []
            for a, att in enumerate(as_list(message.get("attachments"), f"{where}.message.attachments")):
                att = as_dict(att, f"{where}.message.attachments[{a}]")
                payload = att.get("payload") if isinstance(att.get("payload"), dict) else {}
                attachments.append(common_pb2.AttachmentRef(
                    url=str(payload.get("url") or ""), content_type=str(att.get("type") or "")))
            received = inbound_pb2.MessageReceived(
                channel=common_pb2.CHANNEL_MESSENGER, provider=self.name, provider_message_id=mid,
                sender=handle(HK.HANDLE_KIND_MESSENGER_PSID, customer),
                recipient_address=handle(HK.HANDLE_KIND_MESSENGER_PSID, brand_side),
                text=str(message.get("text") or postback.get("title") or ""), attachments=attachments,
                is_echo=echo, postback_payload=str(postback.get("payload") or quick.get("payload") or ""))
            received.sent_at.FromDatetime(when)
            return Outgoing(stream="inbound", key=f"{ctx.brand_id}/{customer}",
                            payload=inbound_pb2.InboundEvent(brand_id=ctx.brand_id, message_received=received),
                            dedupe_id=f"{self.name}:{mid}" + (":postback" if postback else ""), time=when)
        for field, state in (("delivery", DS.DELIVERY_STATE_DELIVERED), ("read", DS.DELIVERY_STATE_READ)):
            if field in item:
                receipt = as_dict(item.get(field), f"{where}.{field}")
                watermark = unix_time(receipt.get("watermark"), f"{where}.{field}.watermark", millis=True)
                mids = [str(m) for m in as_list(receipt.get("mids"), f"{where}.{field}.mids")]
                # Read receipts carry only a watermark: everything sent before it was read.
                report = inbound_pb2.DeliveryStatusReported(
                    channel=common_pb2.CHANNEL_MESSENGER, provider=self.name,
                    provider_message_id=mids[0] if mids else "", state=state,
                    recipient=handle(HK.HANDLE_KIND_MESSENGER_PSID, sender))
                report.occurred_at.FromDatetime(watermark)
                return Outgoing(stream="inbound", key=f"{ctx.brand_id}/{sender}",
                                payload=inbound_pb2.InboundEvent(brand_id=ctx.brand_id,
                                                                 delivery_status_reported=report),
                                dedupe_id=f"{self.name}:{sender}:{field}:{receipt.get('watermark')}:"
                                          f"{','.join(mids)}", time=watermark)
        return None  # typing indicators, reactions, referrals: not conversation events
