"""Chat transcript, agent reply, CSAT survey and answer, phone calls and delivery states on the real
broker and store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from router_it_kit import T0, brand_of, handle, inbound_message, presence, resolve, running_router, ts
from switchboard.common.testing import read_topic, wait_for
from switchboard.events.v1 import agent_pb2, common_pb2, inbound_pb2, notification_pb2


async def send(producer, topic, payload, key):
    await producer.publish(topic, payload, key=key)
    await producer.drain()


async def test_chat_reply_transcript_and_csat(service_settings, namespace, producer, topics, mongo_db, kafka_bootstrap):
    brand = brand_of(namespace)
    started = inbound_pb2.ChatSessionStarted(chat_session_id="sess-1", customer_name="Ann", email="Ann@Example.com")
    started.started_at.CopyFrom(ts(T0))
    async with running_router(service_settings, namespace):
        await send(
            producer, topics.agent_commands, presence("alice", agent_pb2.PRESENCE_ONLINE, brand=brand), "agent/alice"
        )
        await send(
            producer,
            topics.inbound,
            inbound_pb2.InboundEvent(brand_id=brand, chat_session_started=started),
            f"{brand}/sess-1",
        )
        await send(
            producer,
            topics.inbound,
            inbound_message(
                "I need a human, the parcel arrived broken",
                channel="chat",
                sender=("chat_session", "sess-1"),
                chat_session_id="sess-1",
                at=T0 + timedelta(seconds=5),
                brand=brand,
            ),
            f"{brand}/sess-1",
        )
        conv = await wait_for(
            lambda: mongo_db["conversations"].find_one({"brand_id": brand, "status": "assigned"}), timeout=20
        )
        reply = agent_pb2.AgentCommand(
            brand_id=brand,
            agent_id="alice",
            reply_to_conversation=agent_pb2.ReplyToConversation(
                conversation_id=conv["_id"], text="Sorry about that, Ann. A replacement is on its way.", reply_id="r-1"
            ),
        )
        await send(producer, topics.agent_commands, reply, conv["_id"])
        await wait_for(
            lambda: mongo_db["conversations"].find_one({"_id": conv["_id"], "human_involved": True}), timeout=20
        )  # commands and inbound are separate topics: let the reply land first
        ended = inbound_pb2.ChatSessionEnded(chat_session_id="sess-1", ended_by="customer")
        ended.ended_at.CopyFrom(ts(datetime.now(UTC)))  # the late reply below carries the producer's time
        await send(
            producer,
            topics.inbound,
            inbound_pb2.InboundEvent(brand_id=brand, chat_session_ended=ended),
            f"{brand}/sess-1",
        )
        # A last reply consumed after the close, within the demo's 3 s grace: still in the transcript.
        late = agent_pb2.AgentCommand(
            brand_id=brand, agent_id="alice",
            reply_to_conversation=agent_pb2.ReplyToConversation(
                conversation_id=conv["_id"], text="Have a good day!", reply_id="r-2"),
        )
        await send(producer, topics.agent_commands, late, conv["_id"])
        await send(producer, topics.agent_commands, resolve("alice", conv["_id"], brand=brand), conv["_id"])
        await wait_for(
            lambda: mongo_db["conversations"].find_one({"_id": conv["_id"], "status": "resolved"}), timeout=20
        )
        # The chat's end schedules the transcript (3 s grace in the demo config): the contact stage's timer ...
        await wait_for(lambda: mongo_db["conversations"].find_one({"_id": conv["_id"], "contact_due_ts": {"$gt": 0}}),
                       timeout=20)

        async def transcript_sent() -> bool:  # ... and its tick sends it once the grace has passed
            doc = await mongo_db["conversations"].find_one({"_id": conv["_id"]})
            return doc["pending_transcripts"] == [] and doc["contact_due_ts"] is None

        await wait_for(transcript_sent, timeout=20)
        answered = inbound_pb2.CsatAnswered(conversation_id=conv["_id"], score=5)
        await send(
            producer,
            topics.inbound,
            inbound_pb2.InboundEvent(brand_id=brand, csat_answered=answered),
            f"{brand}/sess-1",
        )
        await wait_for(lambda: mongo_db["conversations"].find_one({"_id": conv["_id"], "csat_score": 5}), timeout=20)
    notices: dict = {}
    for n in await read_topic(kafka_bootstrap, topics.notifications, 3, timeout=10):
        notices.setdefault(n.payload.kind, n.payload)  # the first of each kind
    agent_reply = notices[notification_pb2.NOTIFICATION_KIND_AGENT_REPLY]
    assert agent_reply.text.startswith("Sorry about that") and agent_reply.recipient.value == "sess-1"
    transcript = notices[notification_pb2.NOTIFICATION_KIND_TRANSCRIPT]
    assert transcript.recipient.kind == common_pb2.HANDLE_KIND_EMAIL and transcript.recipient.value == "ann@example.com"
    assert "Customer: I need a human" in transcript.text and "Agent (alice): Sorry about that" in transcript.text
    assert "Agent (alice): Have a good day!" in transcript.text
    transcripts = [n for n in await read_topic(kafka_bootstrap, topics.notifications, 1, timeout=10)
                   if n.payload.kind == notification_pb2.NOTIFICATION_KIND_TRANSCRIPT]
    assert len(transcripts) == 1  # sent once
    survey = notices[notification_pb2.NOTIFICATION_KIND_CSAT_SURVEY]
    assert survey.not_before.ToDatetime() - survey.requested_at.ToDatetime() == timedelta(seconds=30)  # demo delay
    events = [e.case for e in await read_topic(kafka_bootstrap, topics.conversations, 8, timeout=10)]
    assert {"agent_replied", "chat_ended", "conversation_resolved", "csat_recorded"} <= set(events)


async def test_a_phone_call_opens_a_conversation_goes_to_a_person_and_is_answered(
    service_settings, namespace, producer, topics, mongo_db, kafka_bootstrap
):
    brand = brand_of(namespace)

    def call(state: int, seconds: int, agent_id: str = "") -> inbound_pb2.InboundEvent:
        status = inbound_pb2.CallStatusReported(
            provider="twilio", call_id="CA-1", state=state, caller=handle("phone", "+4915100000001"), agent_id=agent_id
        )
        status.occurred_at.CopyFrom(ts(T0 + timedelta(seconds=seconds)))
        return inbound_pb2.InboundEvent(brand_id=brand, call_status_reported=status)

    async with running_router(service_settings, namespace):
        await send(producer, topics.inbound, call(inbound_pb2.CALL_STATE_RINGING, 0), f"{brand}/+4915100000001")
        conv = await wait_for(
            lambda: mongo_db["conversations"].find_one({"brand_id": brand, "status": "queued"}), timeout=20
        )
        await send(
            producer,
            topics.inbound,
            call(inbound_pb2.CALL_STATE_IN_PROGRESS, 25, agent_id="alice"),
            f"{brand}/+4915100000001",
        )
        conv = await wait_for(
            lambda: mongo_db["conversations"].find_one({"_id": conv["_id"], "assignee_id": "alice"}), timeout=20
        )
    assert conv["channel"] == "phone" and conv["queue"] == "general"
    events = [e for e in await read_topic(kafka_bootstrap, topics.conversations, 5, timeout=10)]
    answered = next(e.payload.call_answered for e in events if e.case == "call_answered")
    assert (answered.answered_at.ToDatetime() - answered.ringing_at.ToDatetime()) == timedelta(seconds=25)
    handed = next(e.payload.conversation_handed_off for e in events if e.case == "conversation_handed_off")
    assert handed.reason == 5  # HANDOFF_REASON_NO_BOT_FOR_CHANNEL: callers never meet the bot


async def test_delivery_states_are_recorded_and_never_regress(service_settings, namespace, producer, topics, mongo_db):
    brand = brand_of(namespace)

    def status(state: int) -> inbound_pb2.InboundEvent:
        d = inbound_pb2.DeliveryStatusReported(
            channel=common_pb2.CHANNEL_WHATSAPP, provider="meta_whatsapp", provider_message_id="wamid.1", state=state
        )
        return inbound_pb2.InboundEvent(brand_id=brand, delivery_status_reported=d)

    async with running_router(service_settings, namespace):
        for state in (
            inbound_pb2.DELIVERY_STATE_SENT,
            inbound_pb2.DELIVERY_STATE_READ,
            inbound_pb2.DELIVERY_STATE_DELIVERED,
        ):
            await send(producer, topics.inbound, status(state), f"{brand}/wamid.1")
            await wait_for(
                lambda: mongo_db["message_deliveries"].find_one({"_id": f"{brand}/meta_whatsapp/wamid.1"}), timeout=20
            )
        await wait_for(lambda: _count_consumed(mongo_db, brand), timeout=20)
        doc = await mongo_db["message_deliveries"].find_one({"_id": f"{brand}/meta_whatsapp/wamid.1"})
    assert doc["state"] == "read"


async def _count_consumed(db, brand) -> bool:
    return (
        await db["processed_events"].count_documents({"_id": {"$regex": f"^{brand.removeprefix('acme-')}-router"}}) >= 3
    )
