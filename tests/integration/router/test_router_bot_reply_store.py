"""The bot's answer stored inside the customer message it answers (issue 15, adapters/message_docs.py),
on the real broker and store: one `conversation_messages` document per answered customer message;
the read API and the transcript still show both messages, question first; a delivery receipt for
the embedded answer changes its state; and a batch cut after its journal is finished whole by the
next owner (nothing lost, nothing doubled)."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from prometheus_client import REGISTRY
from router_it_kit import T0, brand_of, demo_config_for, inbound_message, running_router, ts
from switchboard.common.cloudevents import derived_id
from switchboard.common.testing import read_topic, wait_for
from switchboard.events.v1 import common_pb2, inbound_pb2, notification_pb2
from switchboard.router.adapters import message_docs
from switchboard.router.adapters.store import RouterStore
from switchboard.router.domain.engine import Engine
from switchboard.router.domain.inputs import DeliveryIn, MessageIn
from switchboard.router.domain.model import Handle

QUESTION = "How long does shipping take to Berlin?"  # the demo bot answers it (intent shipping_time)


async def send(producer, topic, payload, key) -> None:
    await producer.publish(topic, payload, key=key)
    await producer.drain()


def messages_written() -> float:
    """`conversation_messages` documents the in-process router wrote (switchboard.common.mongo_writes)."""
    value = REGISTRY.get_sample_value("switchboard_mongo_documents_written_total",
                                      {"collection": "conversation_messages"})
    return value or 0.0


def messenger(text: str, psid: str, brand: str) -> inbound_pb2.InboundEvent:
    event = inbound_message(text, channel="chat", sender=("chat_session", psid), brand=brand, at=T0)
    event.message_received.channel = common_pb2.CHANNEL_MESSENGER
    event.message_received.sender.kind = common_pb2.HANDLE_KIND_MESSENGER_PSID
    return event


def read_watermark(psid: str, brand: str, seconds: int) -> inbound_pb2.InboundEvent:
    """Messenger `read: {watermark}`: everything we sent this person up to T0 + seconds was read."""
    d = inbound_pb2.DeliveryStatusReported(
        channel=common_pb2.CHANNEL_MESSENGER, provider="meta_messenger", state=inbound_pb2.DELIVERY_STATE_READ,
        recipient=common_pb2.ContactHandle(kind=common_pb2.HANDLE_KIND_MESSENGER_PSID, value=psid))
    d.watermark.CopyFrom(ts(T0 + timedelta(seconds=seconds)))
    d.occurred_at.CopyFrom(ts(T0 + timedelta(seconds=seconds)))
    return inbound_pb2.InboundEvent(brand_id=brand, delivery_status_reported=d)


@pytest.mark.parametrize("transactions", [True, False], ids=["one-transaction", "journal"])
async def test_an_answered_message_is_one_document_read_as_two_and_a_receipt_reaches_the_answer(
    service_settings, namespace, producer, topics, mongo_db, transactions
):
    brand, psid = brand_of(namespace), "6783451234567890"
    written_before = messages_written()
    async with running_router(service_settings, namespace, with_http=True, mongo_transactions=transactions) as router:
        await send(producer, topics.inbound, messenger(QUESTION, psid, brand), f"{brand}/{psid}")
        stored = await wait_for(lambda: mongo_db["conversation_messages"].find_one({"brand_id": brand}), timeout=20,
                                message="the customer's message stored")
        cid = stored["conversation_id"]
        await wait_for(lambda: messages_written() > written_before, timeout=5, message="the write counted")
        assert await mongo_db["conversation_messages"].count_documents({"brand_id": brand}) == 1
        assert messages_written() - written_before == 1  # one insert for the question and its answer
        assert stored["author"] == "customer" and stored[message_docs.BOT_REPLY]["author"] == "bot"

        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{router.settings.http.port}", timeout=10) as client:
            async def timeline() -> list[dict]:
                answer = await client.get(f"/v1/brands/{brand}/conversations/{cid}")
                assert answer.status_code == 200, answer.text
                return answer.json()["messages"]

            question, reply = await timeline()
            assert (question["author"], question["text"], question["channel"]) == ("customer", QUESTION, "messenger")
            assert (reply["author"], reply["channel"], reply["delivery_state"]) == ("bot", "messenger", "")
            assert "3" in reply["text"] and "8" in reply["text"]  # the demo FAQ: 3-8 days
            assert reply["id"] == stored[message_docs.BOT_REPLY]["_id"] and "_in" not in reply

            before_receipt = messages_written()
            await send(producer, topics.inbound, read_watermark(psid, brand, 60), f"{brand}/{psid}")
            async def answer_read() -> bool:
                return [m["delivery_state"] for m in await timeline()] == ["", "read"]

            await wait_for(answer_read, timeout=20, message="the embedded answer read, as the read API shows it")
            await wait_for(lambda: messages_written() > before_receipt, timeout=5, message="the write counted")
    assert messages_written() - before_receipt == 1  # the parent's embedded answer, set in place
    assert await mongo_db["conversation_messages"].count_documents({"brand_id": brand}) == 1


async def test_the_transcript_shows_the_question_then_the_bots_answer(
    service_settings, namespace, producer, topics, mongo_db, kafka_bootstrap
):
    brand = brand_of(namespace)
    started = inbound_pb2.ChatSessionStarted(chat_session_id="sess-1", customer_name="Ann", email="ann@example.com")
    started.started_at.CopyFrom(ts(T0))
    ended = inbound_pb2.ChatSessionEnded(chat_session_id="sess-1", ended_by="customer")
    ended.ended_at.CopyFrom(ts(T0 + timedelta(seconds=30)))
    async with running_router(service_settings, namespace):
        await send(producer, topics.inbound, inbound_pb2.InboundEvent(brand_id=brand, chat_session_started=started),
                   f"{brand}/sess-1")
        asked = inbound_message(QUESTION, channel="chat", sender=("chat_session", "sess-1"), chat_session_id="sess-1",
                                at=T0 + timedelta(seconds=5), brand=brand)
        await send(producer, topics.inbound, asked, f"{brand}/sess-1")
        await wait_for(lambda: mongo_db["conversation_messages"].find_one({"brand_id": brand}), timeout=20)
        await send(producer, topics.inbound, inbound_pb2.InboundEvent(brand_id=brand, chat_session_ended=ended),
                   f"{brand}/sess-1")

        async def transcript() -> str:
            return next((n.payload.text for n in await read_topic(kafka_bootstrap, topics.notifications, 0, timeout=1)
                         if n.payload.kind == notification_pb2.NOTIFICATION_KIND_TRANSCRIPT), "")

        text = await wait_for(transcript, timeout=20, message="the transcript sent after the demo's 3 s grace")
    assert await mongo_db["conversation_messages"].count_documents({"brand_id": brand}) == 1
    lines = text.splitlines()
    assert len(lines) == 2 and lines[0].endswith(f"Customer: {QUESTION}") and "] Bot: " in lines[1], text


class DiesAfterTheJournal(RouterStore):
    """A router process that stops right after a batch's commit point (its journal), before any write."""

    die = False

    async def _apply(self, stages, epoch):
        if self.die:
            raise SystemExit("killed after the journal")
        await super()._apply(stages, epoch)


async def _batch_cut_after_its_journal(store: DiesAfterTheJournal, engine: Engine, brand: str, inp, message_ids=()):
    ws = await store.load([inp], list(message_ids))
    engine.apply(ws, inp)
    store.die = True
    with pytest.raises(SystemExit):
        await store.save(ws, scope=brand)
    store.die = False
    return ws


async def test_a_batch_cut_after_its_journal_is_replayed_into_the_same_documents(mongo_db, namespace):
    brand = brand_of(namespace)
    engine = Engine(demo_config_for(brand), derived_id)
    store = DiesAfterTheJournal(mongo_db, transactions=False)
    await store.ensure_indexes()
    await store.claim(brand)
    psid = Handle("messenger_psid", "6783451234567890")
    question = MessageIn(f"{namespace}-e1", brand, "messenger", "meta_messenger", f"{namespace}-mid-1", psid, T0,
                         text=QUESTION, language="en")
    ws = await _batch_cut_after_its_journal(store, engine, brand, question, [engine.message_id_for(question)])
    conv_id = next(iter(ws.conversations))
    assert await mongo_db["conversation_messages"].count_documents({"conversation_id": conv_id}) == 0
    expected = message_docs.fold(ws.new_messages)  # what the batch would have written

    successor = RouterStore(mongo_db, transactions=False)  # the next owner of the brand replays the journal
    await successor.claim(brand)
    stored = [d async for d in mongo_db["conversation_messages"].find({"conversation_id": conv_id})]
    assert stored == expected and len(stored) == 1
    redelivered = await successor.load([question], [engine.message_id_for(question)])
    assert engine.message_id_for(question) in redelivered.stored_message_ids  # recognised as applied

    # A read receipt for the embedded answer, cut after its journal the same way, then replayed twice.
    receipt = DeliveryIn(f"{namespace}-e2", brand, "meta_messenger", "", "read", T0 + timedelta(minutes=1),
                         channel="messenger", recipient=psid, watermark=T0 + timedelta(minutes=1))
    store = DiesAfterTheJournal(mongo_db, transactions=False)
    await store.claim(brand)
    await _batch_cut_after_its_journal(store, engine, brand, receipt)
    (parent,) = [d async for d in mongo_db["conversation_messages"].find({"conversation_id": conv_id})]
    assert "delivery_state" not in parent[message_docs.BOT_REPLY]
    journaled = await store.scope_journal.pending(brand)
    successor = RouterStore(mongo_db, transactions=False)
    await successor.claim(brand)
    await successor._apply(journaled, successor.epochs[brand])  # a second replay changes nothing
    (parent,) = [d async for d in mongo_db["conversation_messages"].find({"conversation_id": conv_id})]
    question_doc, answer = message_docs.unfold([parent])
    assert question_doc == {k: v for k, v in expected[0].items() if k != message_docs.BOT_REPLY}
    assert (answer["author"], answer["delivery_state"], answer["_in"]) == ("bot", "read", parent["_id"])
    assert {k: v for k, v in answer.items() if k not in ("delivery_state", "delivery_watermark", "_in")} == \
        expected[0][message_docs.BOT_REPLY]
