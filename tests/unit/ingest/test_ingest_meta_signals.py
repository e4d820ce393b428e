"""Meta receipts, reactions and unsupported-message notices, on the shapes Meta documents.

Messenger: https://developers.facebook.com/docs/messenger-platform/reference/webhook-events/message-reads
(`read: {watermark}`), .../message-deliveries (`delivery: {mids?, watermark}`), .../message-reactions
(`reaction: {reaction, emoji, action: react|unreact, mid}`). WhatsApp Cloud API: the `reaction`
messages webhook (no `emoji` when the reaction is removed) and the `unsupported` messages webhook
(`errors[]` with code/title/error_data, `unsupported.type`).
"""
from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from ingest_unit_helpers import CTX, as_json
from switchboard.events.v1 import common_pb2, inbound_pb2
from switchboard.ingest.adapters.providers import registry
from switchboard.ingest.domain.errors import InvalidField

MESSENGER = registry.PROVIDERS["meta_messenger"]
WHATSAPP = registry.PROVIDERS["meta_whatsapp"]
PAGE, PSID = "109934567890123", "6783451234567890"
WATERMARK_MS = 1767603600123


def messenger(*items: dict) -> list:
    body = {"object": "page", "entry": [{"id": PAGE, "time": 1767603601000, "messaging": list(items)}]}
    return MESSENGER.normalize(as_json(body), CTX).events


def from_user(**event) -> dict:
    return {"sender": {"id": PSID}, "recipient": {"id": PAGE}, "timestamp": 1767603601000, **event}


def whatsapp(*messages: dict) -> list:
    body = {"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [{
        "field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
            "contacts": [{"profile": {"name": "Sheena Nelson"}, "wa_id": "16505551234"}],
            "messages": list(messages)}}]}]}
    # json.dumps escapes non-ASCII as Meta does ("\\uD83D\\uDE00" for an emoji)
    return WHATSAPP.normalize(as_json(json.dumps(body).encode()), CTX).events


# ------------------------------------------------------------------------------ Messenger receipts
def test_a_messenger_read_receipt_carries_its_watermark_and_the_reader():
    (event,) = messenger(from_user(read={"watermark": WATERMARK_MS}))
    report = event.payload.delivery_status_reported
    assert report.state == inbound_pb2.DELIVERY_STATE_READ and report.provider_message_id == ""
    assert report.watermark.ToDatetime(tzinfo=UTC) == datetime.fromtimestamp(WATERMARK_MS / 1000, UTC)
    assert report.recipient.kind == common_pb2.HANDLE_KIND_MESSENGER_PSID and report.recipient.value == PSID
    assert report.channel == common_pb2.CHANNEL_MESSENGER and event.key == f"acme/{PSID}"
    assert event.dedupe_id == f"meta_messenger:{PAGE}:{PSID}:read:{WATERMARK_MS}"


def test_a_watermark_only_delivery_receipt_is_a_watermark_not_an_empty_message_id():
    (event,) = messenger(from_user(delivery={"watermark": WATERMARK_MS}))
    report = event.payload.delivery_status_reported
    assert report.state == inbound_pb2.DELIVERY_STATE_DELIVERED and report.HasField("watermark")
    assert event.dedupe_id == f"meta_messenger:{PAGE}:{PSID}:delivery:{WATERMARK_MS}"


def test_a_delivery_receipt_reports_every_listed_mid_and_its_watermark():
    events = messenger(from_user(delivery={"mids": ["mid.1", "mid.2"], "watermark": WATERMARK_MS}))
    reports = [e.payload.delivery_status_reported for e in events]
    assert [r.provider_message_id for r in reports] == ["mid.1", "mid.2", ""]
    assert [r.HasField("watermark") for r in reports] == [False, False, True]
    assert len({e.dedupe_id for e in events}) == 3


def test_two_pages_watermarks_of_one_instant_are_different_events():
    one = messenger(from_user(read={"watermark": WATERMARK_MS}))[0]
    other = messenger({**from_user(read={"watermark": WATERMARK_MS}), "recipient": {"id": "OTHER_PAGE"}})[0]
    assert one.dedupe_id != other.dedupe_id


# ------------------------------------------------------------------------------ reactions, notices
def test_a_messenger_reaction_is_a_reaction_to_the_message_it_names():
    (event,) = messenger(from_user(reaction={"reaction": "love", "emoji": "\u2764\ufe0f", "action": "react",
                                             "mid": "m_reacted"}))
    received = event.payload.message_received
    assert received.WhichOneof("signal") == "reaction" and received.text == ""
    assert received.reaction.reacted_provider_message_id == "m_reacted"
    assert received.reaction.emoji == "\u2764\ufe0f" and not received.reaction.removed
    assert received.sender.value == PSID and received.channel == common_pb2.CHANNEL_MESSENGER


def test_a_messenger_unreact_removes_the_reaction_and_is_its_own_event():
    react = messenger(from_user(reaction={"reaction": "like", "emoji": "👍", "action": "react", "mid": "m1"}))[0]
    (unreact,) = messenger(from_user(reaction={"reaction": "like", "emoji": "👍", "action": "unreact", "mid": "m1"}))
    assert unreact.payload.message_received.reaction.removed
    assert unreact.payload.message_received.reaction.emoji == ""
    assert unreact.dedupe_id != react.dedupe_id


def test_a_messenger_reaction_with_an_unknown_action_is_a_clear_400():
    with pytest.raises(InvalidField, match="action"):
        messenger(from_user(reaction={"emoji": "👍", "action": "shrug", "mid": "m1"}))


def test_a_whatsapp_reaction_names_the_emoji_and_the_message_reacted_to():
    (event,) = whatsapp({"from": "16505551234", "id": "wamid.REACTION", "timestamp": "1749854575", "type": "reaction",
                         "reaction": {"message_id": "wamid.OURS", "emoji": "😀"}})
    received = event.payload.message_received
    assert received.WhichOneof("signal") == "reaction" and received.text == ""
    assert received.reaction.reacted_provider_message_id == "wamid.OURS" and received.reaction.emoji == "😀"
    assert received.provider_message_id == "wamid.REACTION" and event.dedupe_id == "meta_whatsapp:wamid.REACTION"


def test_a_whatsapp_reaction_without_emoji_is_the_reaction_removed():
    (event,) = whatsapp({"from": "16505551234", "id": "wamid.R2", "timestamp": "1749854580", "type": "reaction",
                         "reaction": {"message_id": "wamid.OURS"}})
    assert event.payload.message_received.reaction.removed


def test_a_whatsapp_unsupported_message_is_a_notice_with_the_providers_error():
    (event,) = whatsapp({
        "from": "16505551234", "id": "wamid.U", "timestamp": "1750090702", "type": "unsupported",
        "errors": [{"code": 131051, "title": "Message type unknown", "message": "Message type unknown",
                    "error_data": {"details": "Message type is currently not supported."}}],
        "unsupported": {"type": "edit"}})
    received = event.payload.message_received
    assert received.WhichOneof("signal") == "notice" and received.text == ""
    assert received.notice.code == "131051" and received.notice.title == "Message type unknown"
    assert "not supported" in received.notice.detail and "edit" in received.notice.detail


def test_an_ordinary_whatsapp_message_carries_no_signal():
    (event,) = whatsapp({"from": "16505551234", "id": "wamid.T", "timestamp": "1749416383", "type": "text",
                         "text": {"body": "hi"}})
    assert event.payload.message_received.WhichOneof("signal") is None
