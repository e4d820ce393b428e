"""Threading without an index document for the key that opened a conversation (real broker and store).

A conversation is named by the thread key of the contact that opened it (domain/threads.py `opened_by`): a
later contact with that key finds it by id, and the opening key writes nothing to `conversation_threads`.
"""

from __future__ import annotations

from datetime import timedelta

from router_it_kit import T0, brand_of, inbound_message, resolve, running_router
from switchboard.common.cloudevents import derived_id
from switchboard.common.testing import wait_for
from switchboard.events.v1 import common_pb2
from switchboard.router.domain import threads


async def _send(producer, topic, payload, key) -> None:
    await producer.publish(topic, payload, key=key)
    await producer.drain()


async def _send_email(producer, topics, text: str, sender: str, brand: str, *, at=T0, message_id: str,
                      in_reply_to: str = "") -> None:
    """An email on the inbound topic, keyed by its sender as ingest keys it."""
    threading = common_pb2.EmailThreading(message_id=message_id, in_reply_to=in_reply_to, subject="Parcel")
    await _send(producer, topics.inbound,
                inbound_message(text, channel="email", sender=("email", sender), at=at, email=threading, brand=brand),
                f"{brand}/{sender}")


async def test_a_reply_finds_the_conversation_its_email_opened_without_a_thread_document(
    service_settings, namespace, producer, topics, mongo_db
):
    brand = brand_of(namespace)
    opened_by = threads.opened_by(derived_id, brand, threads.email_key("<m1@mail.example>"))
    async with running_router(service_settings, namespace):
        await _send_email(producer, topics, "Where is my parcel?", "ann@example.com", brand,
                          message_id="<m1@mail.example>")
        conv = await wait_for(lambda: mongo_db["conversations"].find_one({"_id": opened_by}), timeout=20,
                              message="the conversation named by the email's Message-ID")
        # A colleague answers in the thread from another address: only the key can place it.
        await _send_email(producer, topics, "Adding my colleague's order number: 1234", "bob@example.com", brand,
                          at=T0 + timedelta(minutes=5), message_id="<m2@mail.example>",
                          in_reply_to="<M1@mail.example>")
        await wait_for(lambda: mongo_db["conversations"].find_one({"_id": conv["_id"], "message_count": 2}),
                       timeout=20, message="the reply appended to the opened conversation")
    assert await mongo_db["conversations"].count_documents({"brand_id": brand}) == 1
    keys = sorted([d["key"] async for d in mongo_db["conversation_threads"].find({"brand_id": brand})])
    assert keys == [threads.email_key("<m2@mail.example>")]  # the reply's own key; the opening one is derived


async def test_the_same_message_id_long_after_its_conversation_closed_opens_a_new_one(
    service_settings, namespace, producer, topics, mongo_db
):
    """A Message-ID seen again (re-sent weeks later): the name is taken, so the new conversation is named by
    its input and the closed one is left as it was."""
    brand = brand_of(namespace)
    first_id = threads.opened_by(derived_id, brand, threads.email_key("<again@mail.example>"))
    async with running_router(service_settings, namespace):
        await _send_email(producer, topics, "My parcel is late", "kim@example.com", brand,
                          message_id="<again@mail.example>")
        await wait_for(lambda: mongo_db["conversations"].find_one({"_id": first_id}), timeout=20)
        await _send(producer, topics.agent_commands, resolve("alice", first_id, brand=brand), first_id)
        await wait_for(lambda: mongo_db["conversations"].find_one({"_id": first_id, "status": "resolved"}),
                       timeout=20, message="the first conversation resolved")
        await _send_email(producer, topics, "My parcel is late", "kim@example.com", brand,
                          at=T0 + timedelta(days=40), message_id="<again@mail.example>")
        async def second_routed():  # both halves written: the routing stage's status too
            doc = await mongo_db["conversations"].find_one({"brand_id": brand, "_id": {"$ne": first_id}})
            return doc if doc and doc.get("status") else None

        second = await wait_for(second_routed, timeout=20, message="a second conversation")
    first = await mongo_db["conversations"].find_one({"_id": first_id})
    assert first["status"] == "resolved" and first["message_count"] == 1
    assert second["message_count"] == 1 and second["status"] != "resolved"


async def test_a_chat_session_used_again_after_its_conversation_closed_is_pointed_at_the_new_one(
    service_settings, namespace, producer, topics, mongo_db
):
    """The session's first conversation is found by name; once the session opens a second one (the name
    is taken), an index document points the key there, and the session's next message follows it."""
    brand = brand_of(namespace)
    first_id = threads.opened_by(derived_id, brand, threads.chat_key("s-back"))

    def chat(text: str, at):
        return inbound_message(text, channel="chat", sender=("chat_session", "s-back"), at=at, brand=brand,
                               chat_session_id="s-back")

    async with running_router(service_settings, namespace):
        await _send(producer, topics.inbound, chat("Hello, is my parcel on its way?", T0), f"{brand}/s-back")
        await wait_for(lambda: mongo_db["conversations"].find_one({"_id": first_id}), timeout=20)
        await _send(producer, topics.inbound, chat("It was order 1234", T0 + timedelta(minutes=1)), f"{brand}/s-back")
        await wait_for(lambda: mongo_db["conversations"].find_one({"_id": first_id, "message_count": 2}), timeout=20,
                       message="the session's second message found the conversation by name")
        assert await mongo_db["conversation_threads"].count_documents({"brand_id": brand}) == 0
        await _send(producer, topics.agent_commands, resolve("alice", first_id, brand=brand), first_id)
        await wait_for(lambda: mongo_db["conversations"].find_one({"_id": first_id, "status": "resolved"}),
                       timeout=20)
        await _send(producer, topics.inbound, chat("Back again, new question", T0 + timedelta(days=40)),
                    f"{brand}/s-back")
        async def second_routed():  # both halves written: the routing stage's status too
            doc = await mongo_db["conversations"].find_one({"brand_id": brand, "_id": {"$ne": first_id}})
            return doc if doc and doc.get("status") else None

        second = await wait_for(second_routed, timeout=20, message="a second conversation")
        await _send(producer, topics.inbound, chat("and one more thing", T0 + timedelta(days=40, minutes=1)),
                    f"{brand}/s-back")
        await wait_for(lambda: mongo_db["conversations"].find_one({"_id": second["_id"], "message_count": 2}),
                       timeout=20, message="the session's next message went to the new conversation")
    pointer = await mongo_db["conversation_threads"].find_one({"brand_id": brand})
    assert pointer["key"] == threads.chat_key("s-back") and pointer["conversation_id"] == second["_id"]
    assert (await mongo_db["conversations"].find_one({"_id": first_id}))["message_count"] == 2
