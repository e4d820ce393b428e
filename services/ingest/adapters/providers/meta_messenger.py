"""Facebook Messenger Platform webhooks: messages, echoes, quick replies, postbacks, reactions, delivery
and read receipts."""
from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from switchboard.events.v1 import common_pb2, inbound_pb2
from switchboard.ingest.adapters.codec import HK, handle
from switchboard.ingest.domain.errors import InvalidField
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
    summary: ClassVar[str] = "Facebook Messenger: messages, echoes, postbacks, reactions, delivery and read receipts"
    example: ClassVar[dict] = EXAMPLE

    def normalize(self, request: WebhookRequest, ctx: AdapterContext) -> WebhookOutcome:
        body = parse_json_object(request.body)
        events: list[Outgoing] = []
        for e, entry in enumerate(as_list(body.get("entry"), "entry")):
            for i, item in enumerate(as_list(as_dict(entry, f"entry[{e}]").get("messaging"),
                                             f"entry[{e}].messaging")):
                where = f"entry[{e}].messaging[{i}]"
                events.extend(self._one(as_dict(item, where), where, ctx))
        return WebhookOutcome(events=events, reply={"status": "accepted"},
                              ignored=None if events else "no messages, postbacks, reactions or receipts")

    def _one(self, item: dict, where: str, ctx: AdapterContext) -> list[Outgoing]:
        sender = as_str(as_dict(item.get("sender"), f"{where}.sender").get("id"), f"{where}.sender.id")
        page = as_str(as_dict(item.get("recipient"), f"{where}.recipient").get("id"), f"{where}.recipient.id")
        when = unix_time(item.get("timestamp"), f"{where}.timestamp", millis=True)
        if "message" in item or "postback" in item:
            return [self._message(item, where, sender, page, when, ctx)]
        if "reaction" in item:
            return [self._reaction(item, where, sender, page, when, ctx)]
        for field, state in (("delivery", DS.DELIVERY_STATE_DELIVERED), ("read", DS.DELIVERY_STATE_READ)):
            if field in item:
                return self._receipt(item, where, field, state, sender, page, ctx)
        return []  # typing indicators, referrals, optins: not conversation events

    def _message(self, item: dict, where: str, sender: str, page: str, when: datetime,
                 ctx: AdapterContext) -> Outgoing:
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

    def _reaction(self, item: dict, where: str, sender: str, page: str, when: datetime,
                  ctx: AdapterContext) -> Outgoing:
        """message_reactions: {reaction, emoji, action: react|unreact, mid of the message reacted to}."""
        reaction = as_dict(item.get("reaction"), f"{where}.reaction")
        mid = as_str(reaction.get("mid"), f"{where}.reaction.mid")
        action = as_str(reaction.get("action"), f"{where}.reaction.action", required=False) or "react"
        if action not in ("react", "unreact"):
            raise InvalidField(f"{where}.reaction.action must be react or unreact", field=f"{where}.reaction.action")
        removed = action == "unreact"
        received = inbound_pb2.MessageReceived(
            channel=common_pb2.CHANNEL_MESSENGER, provider=self.name,
            sender=handle(HK.HANDLE_KIND_MESSENGER_PSID, sender),
            recipient_address=handle(HK.HANDLE_KIND_MESSENGER_PSID, page),
            reaction=inbound_pb2.Reaction(reacted_provider_message_id=mid, removed=removed,
                                          emoji="" if removed else str(reaction.get("emoji") or "")))
        received.sent_at.FromDatetime(when)
        # Messenger gives a reaction no id of its own: the person, the message, the action and its time name it.
        return Outgoing(stream="inbound", key=f"{ctx.brand_id}/{sender}",
                        payload=inbound_pb2.InboundEvent(brand_id=ctx.brand_id, message_received=received),
                        dedupe_id=f"{self.name}:{page}:{sender}:reaction:{mid}:{action}:{item.get('timestamp')}",
                        time=when)

    def _receipt(self, item: dict, where: str, field: str, state: int, sender: str, page: str,
                 ctx: AdapterContext) -> list[Outgoing]:
        """`delivery` {mids?, watermark} and `read` {watermark}: the watermark means "every message sent to
        this person up to this time", so it travels as such; the router applies it to the messages it
        covers. Each listed mid is also reported on its own."""
        receipt = as_dict(item.get(field), f"{where}.{field}")
        watermark = unix_time(receipt.get("watermark"), f"{where}.{field}.watermark", millis=True)
        mids = [as_str(m, f"{where}.{field}.mids[{n}]")
                for n, m in enumerate(as_list(receipt.get("mids"), f"{where}.{field}.mids"))]
        out = []
        for mid in [*mids, ""]:
            report = inbound_pb2.DeliveryStatusReported(
                channel=common_pb2.CHANNEL_MESSENGER, provider=self.name, provider_message_id=mid, state=state,
                recipient=handle(HK.HANDLE_KIND_MESSENGER_PSID, sender))
            report.occurred_at.FromDatetime(watermark)
            if not mid:
                report.watermark.FromDatetime(watermark)
            dedupe_id = (f"{self.name}:{mid}:{field}" if mid
                         else f"{self.name}:{page}:{sender}:{field}:{receipt.get('watermark')}")
            out.append(Outgoing(stream="inbound", key=f"{ctx.brand_id}/{sender}",
                                payload=inbound_pb2.InboundEvent(brand_id=ctx.brand_id,
                                                                 delivery_status_reported=report),
                                dedupe_id=dedupe_id, time=watermark))
        return out
