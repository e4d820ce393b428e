"""Issue 16, items 2 and 3 end to end: signed provider webhooks -> ingest -> router -> MongoDB, with
ingest and the router running as real processes on the real broker and store.

- VK group chats: two chats' messages with the same conversation_message_id (and `id` 0) are two
  stored messages; VK's retry of one of them is not a third.
- Raw MIME email: a Mailgun `body-mime` email and a SendGrid raw (`email`) reply to it are stored
  with their text, and the reply threads into the first one's conversation by Message-ID /
  In-Reply-To (the SendGrid reply comes from another address, so only the headers can thread it).
"""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import sys
import time
import uuid
from pathlib import Path

import harness
import httpx
import pytest
from switchboard.common.testing import wait_for
from switchboard.events.v1 import inbound_pb2

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit" / "ingest"))
from provider_payloads import (  # noqa: E402
    MIME_REPLY_TEXT,
    mime_html_only,
    mime_reply,
    multipart,
    vk_group_chat_message,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]
B = f"/v1/brands/{harness.BRAND}/webhooks"


@pytest.fixture
async def stack(kafka_bootstrap, mongo_uri, namespace, bus_topics, tmp_path):
    config = harness.prepare_config(tmp_path / "config")
    s = harness.proof_stack(kafka_bootstrap, mongo_uri, namespace, config, tmp_path)
    await asyncio.to_thread(s.start, ["ingest", "router"])
    yield s
    await asyncio.to_thread(s.stop)


async def stored_messages(db, provider: str, ids: set[str]) -> list[dict]:
    return [m async for m in db["conversation_messages"].find(
        {"brand_id": harness.BRAND, "provider": provider, "provider_message_id": {"$in": sorted(ids)}})]


async def test_vk_group_chats_with_the_same_cmid_are_two_stored_messages(stack, mongo_db):
    secrets = harness.secrets_of(stack.config_dir)
    run = int(uuid.uuid4().hex[:6], 16)
    chats = {2000000000 + run: "Где мой заказ 1001?", 2000000000 + run + 1: "Заказ 1002 не пришёл"}
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{stack.services['ingest'].port}", timeout=10) as client:
        for n, (peer_id, text) in enumerate(chats.items()):
            payload = vk_group_chat_message(peer_id=peer_id, cmid=15, text=text, from_id=700_000_000 + run * 2 + n)
            for _ in range(2):  # VK retries until it reads "ok": the second copy must not be a second message
                response = await client.post(f"{B}/vk", json={**payload, "secret": secrets["vk_secret"]})
                assert response.status_code == 200 and response.text == "ok", response.text
    ids = {f"192837465:{peer}:c15" for peer in chats}
    found = await wait_for(lambda: _at_least(stored_messages(mongo_db, "vk", ids), 2), timeout=60,
                           message="both VK chat messages stored by the router")
    assert sorted(m["text"] for m in found) == sorted(chats.values())
    assert len({m["conversation_id"] for m in found}) == 2
    # Ingest published each chat's message once: VK's retries were answered "ok" and not published again.
    published = [inbound_pb2.InboundEvent.FromString(r.value).message_received
                 for r in await harness.read_all(stack.bootstrap, stack.topics.inbound)]
    assert sorted(m.provider_message_id for m in published if m.provider == "vk") == sorted(ids)


async def test_raw_mime_emails_are_stored_with_text_and_thread_by_message_id(stack, mongo_db):
    secrets = harness.secrets_of(stack.config_dir)
    run = uuid.uuid4().hex[:10]
    first_id, reply_id = f"<{run}-1@mail.example.de>", f"<{run}-2@mail.example.ru>"
    ts, token = str(int(time.time())), uuid.uuid4().hex
    signature = hmac.new(secrets["mailgun_signing_key"].encode(), (ts + token).encode(), hashlib.sha256).hexdigest()
    mailgun_body, mailgun_type = multipart([
        ("recipient", "support@brand.example"), ("sender", "joerg@example.de"),
        ("body-mime", mime_reply(first_id.strip("<>"), "order-1001@brand.example")),
        ("timestamp", ts), ("token", token), ("signature", signature)])
    sendgrid_body, sendgrid_type = multipart([
        ("email", mime_html_only(reply_id.strip("<>"), first_id.strip("<>"), f"Ich schließe mich an ({run})")),
        ("to", "support@brand.example"), ("from", "Ivan <ivan@example.ru>"), ("subject", "Re: Bestellung #1001"),
        ("envelope", json.dumps({"to": ["support@brand.example"], "from": "ivan@example.ru"})),
        ("charsets", json.dumps({"to": "UTF-8", "from": "UTF-8", "subject": "UTF-8"})), ("spam_score", "0.0")])
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{stack.services['ingest'].port}", timeout=10) as client:
        response = await client.post(f"{B}/mailgun", content=mailgun_body, headers={"Content-Type": mailgun_type})
        assert response.status_code == 200, response.text
        first = await wait_for(lambda: _at_least(stored_messages(mongo_db, "mailgun", {first_id}), 1), timeout=60,
                               message="the Mailgun raw email stored by the router")
        response = await client.post(f"{B}/sendgrid", params={"token": secrets["sendgrid_webhook_secret"]},
                                     content=sendgrid_body, headers={"Content-Type": sendgrid_type})
        assert response.status_code == 200, response.text
    reply = await wait_for(lambda: _at_least(stored_messages(mongo_db, "sendgrid", {reply_id}), 1), timeout=60,
                           message="the SendGrid raw email stored by the router")
    assert first[0]["text"].strip() == MIME_REPLY_TEXT
    assert first[0]["email"]["message_id"] == first_id and first[0]["attachments"]
    assert reply[0]["text"].startswith(f"Ich schließe mich an ({run})")
    assert reply[0]["email"]["in_reply_to"] == first_id
    assert reply[0]["conversation_id"] == first[0]["conversation_id"]  # threaded by In-Reply-To


async def _at_least(query, n: int) -> list[dict] | None:
    found = await query
    return found if len(found) >= n else None
