"""VK Callback API: the confirmation handshake and message_new events.

VK POSTs JSON; `type: confirmation` must be answered with the community's confirmation code,
every other event carries the `secret` configured in the community and must be answered "ok".
Message ids: `{group}:{id}` for a dialog message, `{group}:{peer_id}:c{conversation_message_id}` in a
group chat (where `id` is 0).
"""
from __future__ import annotations

from typing import ClassVar

from switchboard.events.v1 import common_pb2, inbound_pb2
from switchboard.ingest.adapters.codec import HK, handle
from switchboard.ingest.domain.model import Outgoing, WebhookOutcome, WebhookRequest
from switchboard.ingest.domain.signatures import verify_shared_secret

from .base import AdapterContext, NoHandshake, as_dict, as_list, as_str, parse_json_object, unix_time

EXAMPLE = {
    "type": "message_new", "group_id": 192837465, "event_id": "1d3f0a8c2b7e4f6a9c8d7e6f5a4b3c2d1e0f9a8b",
    "v": "5.199", "secret": "<vk_secret>",
    "object": {"message": {"id": 4512, "date": 1767603600, "from_id": 246813579, "peer_id": 246813579,
                           "out": 0, "text": "Здравствуйте! Когда придёт заказ? 🙏", "conversation_message_id": 77,
                           "attachments": []},
               "client_info": {"lang_id": 0, "keyboard": True}},
}


def _attachment(att: dict) -> common_pb2.AttachmentRef:
    kind = str(att.get("type") or "")
    body = att.get(kind) if isinstance(att.get(kind), dict) else {}
    url = str(body.get("url") or "")
    sizes = body.get("sizes")
    if not url and isinstance(sizes, list) and sizes and isinstance(sizes[-1], dict):
        url = str(sizes[-1].get("url") or "")
    media_id = f"{kind}{body.get('owner_id', '')}_{body.get('id', '')}" if body.get("id") is not None else ""
    return common_pb2.AttachmentRef(url=url, content_type=kind, filename=str(body.get("title") or ""),
                                    provider_media_id=media_id)


def _message_id(message: dict, from_id: str) -> str:
    """`id` is unique in the community's dialogs but is 0 in group chats, where only
    `conversation_message_id` is given and it is unique only within its chat: the chat (`peer_id`)
    is then part of the id, so two chats' messages with the same cmid stay two messages."""
    if message.get("id") not in (None, 0, "0", ""):
        return as_str(message.get("id"), "object.message.id")
    cmid = as_str(message.get("conversation_message_id"), "object.message.conversation_message_id")
    peer = as_str(message.get("peer_id"), "object.message.peer_id", required=False) or from_id
    return f"{peer}:c{cmid}"


class VK(NoHandshake):
    name: ClassVar[str] = "vk"
    media_type: ClassVar[str] = "application/json"
    summary: ClassVar[str] = "VK Callback API: confirmation and message_new"
    example: ClassVar[dict] = EXAMPLE

    def verify(self, request: WebhookRequest, ctx: AdapterContext) -> None:
        body = parse_json_object(request.body)
        if body.get("type") == "confirmation":
            return  # VK sends no secret with the handshake; answering it only reveals the public code
        secret = body.get("secret")
        verify_shared_secret(secret if isinstance(secret, str) else None, ctx.secret("vk_secret"), field="secret")

    def normalize(self, request: WebhookRequest, ctx: AdapterContext) -> WebhookOutcome:
        body = parse_json_object(request.body)
        kind = as_str(body.get("type"), "type")
        if kind == "confirmation":
            return WebhookOutcome(reply=ctx.secret("vk_confirmation_code"), media_type="text/plain",
                                  ignored="confirmation handshake")
        if kind != "message_new":
            return WebhookOutcome(reply="ok", media_type="text/plain", ignored=f"event type {kind} not used")
        obj = as_dict(body.get("object"), "object")
        message = as_dict(obj.get("message", obj), "object.message")  # API < 5.103 put the message in object
        from_id = as_str(message.get("from_id"), "object.message.from_id")
        message_id = _message_id(message, from_id)
        sent = unix_time(message.get("date"), "object.message.date")
        group = str(body.get("group_id") or "")
        attachments = [_attachment(as_dict(a, f"object.message.attachments[{i}]"))
                       for i, a in enumerate(as_list(message.get("attachments"), "object.message.attachments"))]
        received = inbound_pb2.MessageReceived(
            channel=common_pb2.CHANNEL_VK, provider=self.name, provider_message_id=f"{group}:{message_id}",
            sender=handle(HK.HANDLE_KIND_VK_ID, from_id), text=str(message.get("text") or ""),
            attachments=attachments, postback_payload=str(message.get("payload") or ""))
        if group:
            received.recipient_address.CopyFrom(handle(HK.HANDLE_KIND_VK_ID, f"-{group}"))
        received.sent_at.FromDatetime(sent)
        event = Outgoing(stream="inbound", key=f"{ctx.brand_id}/{from_id}",
                         payload=inbound_pb2.InboundEvent(brand_id=ctx.brand_id, message_received=received),
                         dedupe_id=f"vk:{group}:{message_id}", time=sent)
        return WebhookOutcome(events=[event], reply="ok", media_type="text/plain")
