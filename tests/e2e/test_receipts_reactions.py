"""Messenger watermark receipts, and WhatsApp reactions and unsupported-message notices, from the
provider's signed webhook through ingest and the router into the store (issue 16, items 1 and 6).

Ingest and the router run as real processes on the real broker and MongoDB-wire store; requests are
the payload shapes Meta documents, signed with X-Hub-Signature-256.
"""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
import uuid

import harness
import httpx
import pytest
from switchboard.common.testing import wait_for
from switchboard.router.adapters.message_docs import unfold
from switchboard.router.domain.transcript import timeline_key

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]


@pytest.fixture
async def stack(kafka_bootstrap, mongo_uri, namespace, bus_topics, tmp_path):
    config = harness.prepare_config(tmp_path / "config")
    s = harness.proof_stack(kafka_bootstrap, mongo_uri, namespace, config, tmp_path)
    await asyncio.to_thread(s.start, ("ingest", "router"))
    yield s
    await asyncio.to_thread(s.stop)


async def post_meta(stack: harness.Stack, provider: str, body: dict) -> None:
    raw = json.dumps(body).encode()  # non-ASCII escaped, as Meta sends it
    secret = harness.secrets_of(stack.config_dir)["meta_app_secret"].encode()
    signature = "sha256=" + hmac.new(secret, raw, hashlib.sha256).hexdigest()
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.post(
            f"http://127.0.0.1:{stack.services['ingest'].port}/v1/brands/{harness.BRAND}/webhooks/{provider}",
            content=raw, headers={"Content-Type": "application/json", "X-Hub-Signature-256": signature})
    assert response.status_code == 200, response.text


def messenger(page: str, psid: str, **event) -> dict:
    item = {"sender": {"id": psid}, "recipient": {"id": page}, "timestamp": int(time.time() * 1000), **event}
    return {"object": "page", "entry": [{"id": page, "time": item["timestamp"], "messaging": [item]}]}


def whatsapp(wa_id: str, message: dict) -> dict:
    return {"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [{
        "field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
            "contacts": [{"profile": {"name": "Sheena Nelson"}, "wa_id": wa_id}],
            "messages": [{"from": wa_id, **message}]}}]}]}


async def history_of(mongo_db, provider_message_id: str) -> tuple[str, list[dict]]:
    """The conversation of the customer message with this provider id, and its messages in order."""
    messages = mongo_db["conversation_messages"]
    found: dict = {}

    async def stored() -> bool:
        found["doc"] = await messages.find_one({"provider_message_id": provider_message_id})
        return found["doc"] is not None

    await wait_for(stored, timeout=60, message=f"message {provider_message_id} stored by the router")
    conversation_id = found["doc"]["conversation_id"]
    # A bot answer is stored inside the message it answers: read through the router's own unfolding.
    stored = [d async for d in messages.find({"conversation_id": conversation_id})]
    return conversation_id, sorted(unfold(stored), key=timeline_key)


async def bot_answers(mongo_db, conversation_id: str, count: int) -> list[dict]:
    messages = mongo_db["conversation_messages"]

    async def answered() -> list[dict]:
        stored = [d async for d in messages.find({"conversation_id": conversation_id})]
        docs = [d for d in unfold(stored) if d["author"] == "bot"]
        return docs if len(docs) >= count else []

    await wait_for(answered, timeout=60, message=f"{count} bot answer(s) stored")
    return sorted(await answered(), key=lambda d: d["at"])


async def test_a_messenger_read_watermark_marks_what_we_sent_up_to_it_read(stack, mongo_db):
    page, psid = "109934567890123", str(uuid.uuid4().int)[:16]
    start_ms = int(time.time() * 1000) - 120_000
    for n, text in enumerate(("how long does shipping take?", "how do I return an item?")):
        body = messenger(page, psid, message={"mid": f"m_{psid}_{n}", "text": text})
        body["entry"][0]["messaging"][0]["timestamp"] = start_ms + n * 60_000  # sent a minute apart
        await post_meta(stack, "meta_messenger", body)
    conversation_id, _ = await history_of(mongo_db, f"m_{psid}_1")
    first, second = await bot_answers(mongo_db, conversation_id, 2)

    # Read up to 30 s after the first answer; later, everything delivered (a watermark-only delivery).
    await post_meta(stack, "meta_messenger", messenger(page, psid, read={"watermark": start_ms + 30_000}))
    await post_meta(stack, "meta_messenger", messenger(page, psid, delivery={"watermark": start_ms + 90_000}))

    async def states() -> bool:
        stored = [d async for d in mongo_db["conversation_messages"].find({"conversation_id": conversation_id})]
        docs = {d["_id"]: d for d in unfold(stored)}
        return (docs[first["_id"]].get("delivery_state"), docs[second["_id"]].get("delivery_state")) == \
            ("read", "delivered")

    await wait_for(states, timeout=60, message="first answer read, second delivered (never the reverse)")
    assert await mongo_db["conversation_messages"].count_documents(
        {"conversation_id": conversation_id, "author": "customer"}) == 2


async def test_whatsapp_reactions_and_notices_are_kept_but_are_no_customer_message(stack, mongo_db, kafka_bootstrap):
    wa_id = "1" + str(uuid.uuid4().int)[:10]
    sent = int(time.time()) - 60
    await post_meta(stack, "meta_whatsapp", whatsapp(wa_id, {
        "id": f"wamid.{wa_id}.1", "timestamp": str(sent), "type": "text",
        "text": {"body": "how long does shipping take?"}}))
    conversation_id, _ = await history_of(mongo_db, f"wamid.{wa_id}.1")
    await bot_answers(mongo_db, conversation_id, 1)
    await post_meta(stack, "meta_whatsapp", whatsapp(wa_id, {
        "id": f"wamid.{wa_id}.2", "timestamp": str(sent + 5), "type": "reaction",
        "reaction": {"message_id": "wamid.OUR_ANSWER", "emoji": "👍"}}))
    await post_meta(stack, "meta_whatsapp", whatsapp(wa_id, {
        "id": f"wamid.{wa_id}.3", "timestamp": str(sent + 6), "type": "unsupported",
        "errors": [{"code": 131051, "title": "Message type unknown", "message": "Message type unknown",
                    "error_data": {"details": "Message type is currently not supported."}}],
        "unsupported": {"type": "poll"}}))
    await history_of(mongo_db, f"wamid.{wa_id}.3")
    _, history = await history_of(mongo_db, f"wamid.{wa_id}.2")

    kinds = [(d["author"], d.get("kind", "")) for d in history]
    assert kinds == [("customer", ""), ("bot", ""), ("customer", "reaction"), ("customer", "notice")]
    reaction, notice = history[2], history[3]
    assert reaction["emoji"] == "👍" and reaction["reacted_provider_message_id"] == "wamid.OUR_ANSWER"
    assert notice["notice"]["code"] == "131051" and "poll" in notice["notice"]["detail"]
    conv = await mongo_db["conversations"].find_one({"_id": conversation_id})
    assert conv["message_count"] == 1 and len(conv["bot_answer_keys"]) == 1  # no contact, no bot turn
    assert conv["contacts_since_human_reply"] == 0 and len(conv["recent_customer_times"]) == 1

    events, _ = await harness.distinct_events(kafka_bootstrap, stack.topics.conversations)
    cases = [e.payload.WhichOneof("event") for e in events.values()
             if e.payload.conversation.conversation_id == conversation_id]
    assert cases.count("customer_message_appended") == 1
    assert cases.count("customer_reaction_added") == 1 and cases.count("provider_notice_added") == 1
