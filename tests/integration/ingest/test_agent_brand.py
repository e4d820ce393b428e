"""An agent command for a conversation outside the caller's brand is refused at the door (404), never
accepted and then dead-lettered by the router; an unknown conversation likewise."""
from __future__ import annotations

import uuid

import ingest_requests as p
from ingest_requests import records

B = f"/v1/brands/{p.BRAND}"
AGENT = {"Authorization": "Bearer agent-key-1"}
REPLY = {"agent_id": "a-17", "reply_id": "r-1", "text": "Your parcel left today."}


async def test_command_for_another_brands_conversation_is_404_and_nothing_reaches_the_bus(
        ingest, kafka_bootstrap, mongo_db):
    own, foreign = "conv-" + uuid.uuid4().hex[:8], "conv-" + uuid.uuid4().hex[:8]
    # As the router stores them (ingest only reads this collection).
    await mongo_db["conversations"].insert_many([{"_id": own, "brand_id": p.BRAND},
                                                 {"_id": foreign, "brand_id": "globex"}])
    crossed = await ingest.client.post(f"{B}/agent/conversations/{foreign}/reply", json=REPLY, headers=AGENT)
    unknown = await ingest.client.post(f"{B}/agent/conversations/conv-missing/resolve",
                                       json={"agent_id": "a-17", "resolution_code": "x"}, headers=AGENT)
    accepted = await ingest.client.post(f"{B}/agent/conversations/{own}/reply", json=REPLY, headers=AGENT)

    assert crossed.status_code == 404, crossed.text
    assert crossed.json()["field"] == "conversation_id"
    assert unknown.status_code == 404
    # Same answer for "another brand's" and "does not exist": a key learns nothing about other brands.
    assert crossed.json()["error"] == unknown.json()["error"] and "globex" not in crossed.text
    assert accepted.status_code == 202, accepted.text
    commands = await records(kafka_bootstrap, ingest.names.agent_commands, min_count=1)
    assert [r.key.decode() for r in commands] == [own]
    assert await records(kafka_bootstrap, ingest.names.dlq("agent_commands"), timeout=1.0) == []


async def test_the_brand_lookup_is_cached_so_a_known_conversation_costs_no_second_read(ingest, mongo_db):
    conv = "conv-" + uuid.uuid4().hex[:8]
    await mongo_db["conversations"].insert_one({"_id": conv, "brand_id": p.BRAND})
    first = await ingest.client.post(f"{B}/agent/conversations/{conv}/notes",
                                     json={"agent_id": "a-17", "text": "called back"}, headers=AGENT)
    await mongo_db["conversations"].delete_one({"_id": conv})  # a second lookup would now miss
    second = await ingest.client.post(f"{B}/agent/conversations/{conv}/notes",
                                      json={"agent_id": "a-17", "text": "called again"}, headers=AGENT)
    assert (first.status_code, second.status_code) == (202, 202)


async def test_a_conversation_stored_a_moment_after_the_command_arrives_is_accepted(ingest, mongo_db):
    """The router publishes a conversation's events just before it stores it: a desk that learned the
    id from the bus may ask first."""
    import asyncio

    conv = "conv-" + uuid.uuid4().hex[:8]

    async def router_stores_it_late() -> None:
        await asyncio.sleep(0.15)
        await mongo_db["conversations"].insert_one({"_id": conv, "brand_id": p.BRAND})

    late = asyncio.create_task(router_stores_it_late())
    response = await ingest.client.post(f"{B}/agent/conversations/{conv}/reply", json=REPLY, headers=AGENT)
    await late
    assert response.status_code == 202, response.text
