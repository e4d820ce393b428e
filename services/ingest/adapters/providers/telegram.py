"""Telegram Bot API webhooks (setWebhook with secret_token -> X-Telegram-Bot-Api-Secret-Token)."""
from __future__ import annotations

from typing import ClassVar

from switchboard.events.v1 import common_pb2, inbound_pb2
from switchboard.ingest.adapters.codec import HK, handle
from switchboard.ingest.domain.model import Outgoing, WebhookOutcome, WebhookRequest
from switchboard.ingest.domain.signatures import verify_shared_secret

from .base import AdapterContext, NoHandshake, as_dict, as_list, as_str, parse_json_object, unix_time

EXAMPLE = {
    "update_id": 918273645,
    "message": {"message_id": 1365, "date": 1767603600,
                "from": {"id": 1111111, "is_bot": False, "first_name": "李", "last_name": "雷",
                         "language_code": "zh-hans"},
                "chat": {"id": 1111111, "first_name": "李", "type": "private"},
                "text": "你好,我的包裹什么时候到?"},
}
MEDIA = ("document", "audio", "video", "voice", "video_note", "animation", "sticker")


class Telegram(NoHandshake):
    name: ClassVar[str] = "telegram"
    media_type: ClassVar[str] = "application/json"
    summary: ClassVar[str] = "Telegram Bot API update (message, edited_message, callback_query)"
    example: ClassVar[dict] = EXAMPLE

    def verify(self, request: WebhookRequest, ctx: AdapterContext) -> None:
        verify_shared_secret(request.header("x-telegram-bot-api-secret-token"), ctx.secret("telegram_secret_token"),
                             field="X-Telegram-Bot-Api-Secret-Token")

    def normalize(self, request: WebhookRequest, ctx: AdapterContext) -> WebhookOutcome:
        update = parse_json_object(request.body)
        update_id = as_str(update.get("update_id"), "update_id")
        payload = ""
        if "callback_query" in update:
            query = as_dict(update.get("callback_query"), "callback_query")
            message = as_dict(query.get("message") or {}, "callback_query.message")
            sender = as_dict(query.get("from"), "callback_query.from")
            payload = str(query.get("data") or "")
            where = "callback_query.message"
        else:
            field = next((f for f in ("message", "business_message") if f in update), None)
            if field is None:
                return WebhookOutcome(reply={"ok": True}, ignored="update carries no customer message")
            message = as_dict(update.get(field), field)
            sender = as_dict(message.get("from") or message.get("chat"), f"{field}.from")
            where = field
        chat = as_dict(message.get("chat") or sender, f"{where}.chat")
        chat_id = as_str(chat.get("id"), f"{where}.chat.id")
        message_id = as_str(message.get("message_id"), f"{where}.message_id") if "callback_query" not in update \
            else f"callback:{update_id}"
        sent = unix_time(message.get("date"), f"{where}.date") if "callback_query" not in update else ctx.now
        attachments = []
        photos = as_list(message.get("photo"), f"{where}.photo")
        if photos and isinstance(photos[-1], dict):  # largest size last
            size = photos[-1].get("file_size")
            attachments.append(common_pb2.AttachmentRef(
                provider_media_id=str(photos[-1].get("file_id") or ""), content_type="image/jpeg",
                size_bytes=size if isinstance(size, int) and 0 <= size < 2**62 else 0))
        for kind in MEDIA:
            media = message.get(kind)
            if isinstance(media, dict):
                size = media.get("file_size")
                attachments.append(common_pb2.AttachmentRef(
                    provider_media_id=str(media.get("file_id") or ""), content_type=str(media.get("mime_type") or kind),
                    filename=str(media.get("file_name") or ""),
                    size_bytes=size if isinstance(size, int) and 0 <= size < 2**62 else 0))
        name = " ".join(str(sender.get(k)) for k in ("first_name", "last_name") if sender.get(k))
        received = inbound_pb2.MessageReceived(
            channel=common_pb2.CHANNEL_TELEGRAM, provider=self.name, provider_message_id=f"{chat_id}:{message_id}",
            sender=handle(HK.HANDLE_KIND_TELEGRAM_ID, chat_id), display_name=name,
            text=str(message.get("text") or message.get("caption") or "") if not payload else str(payload),
            language_hint=str(sender.get("language_code") or ""), attachments=attachments, postback_payload=payload)
        received.sent_at.FromDatetime(sent)
        event = Outgoing(stream="inbound", key=f"{ctx.brand_id}/{chat_id}",
                         payload=inbound_pb2.InboundEvent(brand_id=ctx.brand_id, message_received=received),
                         dedupe_id=f"telegram:{chat_id}:{message_id}", time=sent)
        return WebhookOutcome(events=[event], reply={"ok": True})
