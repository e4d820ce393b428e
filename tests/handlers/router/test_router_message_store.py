"""A bot answer saved inside the customer message it answers, through the routing handler with the
in-memory store (router_fakes.py): one document per answered message, and a watermark receipt loaded
from that document and written back into it (adapters/message_docs.py)."""
from __future__ import annotations

from datetime import timedelta

from router_handler_kit import T0, email, ts
from switchboard.events.v1 import common_pb2, inbound_pb2
from switchboard.router.adapters.message_docs import BOT_REPLY, PARENT


def read_up_to(seconds: int, recipient: str) -> inbound_pb2.InboundEvent:
    d = inbound_pb2.DeliveryStatusReported(
        channel=common_pb2.CHANNEL_EMAIL, provider="test", state=inbound_pb2.DELIVERY_STATE_READ,
        recipient=common_pb2.ContactHandle(kind=common_pb2.HANDLE_KIND_EMAIL, value=recipient))
    d.watermark.CopyFrom(ts(T0 + timedelta(seconds=seconds)))
    d.occurred_at.CopyFrom(ts(T0 + timedelta(seconds=seconds)))
    return inbound_pb2.InboundEvent(brand_id="acme", delivery_status_reported=d)


async def test_an_answered_message_is_one_document_and_a_receipt_updates_the_answer_inside_it(router):
    await router.route(email("How long does shipping take?", "ann@example.com"))
    assert "NOTIFICATION_KIND_BOT_ANSWER" in router.cases()
    (doc,) = router.store.docs("conversation_messages").values()
    assert doc["author"] == "customer" and doc[BOT_REPLY]["author"] == "bot"
    assert doc[BOT_REPLY]["answers"] == doc["_id"] and "delivery_state" not in doc[BOT_REPLY]

    await router.route(read_up_to(60, "ann@example.com"))
    (doc,) = router.store.docs("conversation_messages").values()
    assert doc[BOT_REPLY]["delivery_state"] == "read" and PARENT not in doc[BOT_REPLY]
    assert "delivery_state" not in doc  # the customer's own message is not ours: untouched
