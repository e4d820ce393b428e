"""Real ConversationEvent / SlaEvent / EscalationRaised records on the broker -> the console's projection."""
from __future__ import annotations

from datetime import timedelta

from console_kit import T0, conversation, escalation, sla
from switchboard.common.testing import read_topic, wait_for


async def publish(producer, topic: str, event, *, event_id: str) -> None:
    await producer.publish(topic, event, key=event.conversation.conversation_id, event_id=event_id)
    await producer.drain()


async def row(console, cid: str, predicate=lambda doc: True) -> dict:
    async def found():
        doc = await console.app.store.rows.find_one({"_id": cid})
        return doc if doc and predicate(doc) else None
    return await wait_for(found, timeout=15, message=f"row {cid}")


async def test_newest_snapshot_wins_and_a_redelivered_one_never_regresses_the_row(console, producer, topics,
                                                                                    kafka_bootstrap):
    cid = "c-regress"
    await publish(producer, topics.conversations, conversation("conversation_queued", cid, T0, status="queued",
                                                               body={"queue": "general"}), event_id="e-1")
    await publish(producer, topics.conversations, conversation(
        "conversation_assigned", cid, T0 + timedelta(minutes=5), status="assigned", assignee="alice",
        body={"assignee_id": "alice", "rule": "most_spare_capacity", "explanation": "alice had 2 free chat slots"}),
        event_id="e-2")
    await row(console, cid, lambda d: d.get("status") == "assigned")
    # The consumer gets the records again (a crash before its commit): the older one must not put the row
    # back to queued, and the same one again changes nothing.
    records = [e for e in await read_topic(kafka_bootstrap, topics.conversations, min_count=2)
               if e.key in (cid, cid.encode())]
    by_id = {e.id: e for e in records}
    await console.app.handler.handle([by_id["e-1"]])
    await console.app.handler.handle([by_id["e-2"], by_id["e-1"]])
    doc = await console.app.store.rows.find_one({"_id": cid})
    assert (doc["status"], doc["assignee_id"], doc["snap_id"]) == ("assigned", "alice", "e-2")
    assert doc["updated_ms"] == int((T0 + timedelta(minutes=5)).timestamp() * 1000)
    timeline = await console.app.activity.timeline(cid)
    assigned = next(a for a in timeline if a["kind"] == "conversation_assigned")
    assert assigned["detail"]["explanation"] == "alice had 2 free chat slots"
    assert assigned["detail"]["rule"] == "most_spare_capacity"


async def test_events_of_one_input_share_a_time_and_the_row_ends_on_the_last_one(console, producer, topics):
    """All events caused by one webhook carry one occurred_at; their ids are random. The row must end on
    the last one published (assigned to alice), not on whichever id sorts last."""
    cid = "c-one-input"
    steps = [("zz-opened", "conversation_opened", "bot", ""), ("yy-queued", "conversation_queued", "queued", ""),
             ("aa-assigned", "conversation_assigned", "assigned", "alice")]
    for event_id, kind, status, assignee in steps:
        await producer.publish(topics.conversations, conversation(kind, cid, T0, status=status, assignee=assignee),
                               key=cid, event_id=event_id)
    await producer.drain()
    await wait_for(lambda: console.app.store.rows.database["console_activity"].find_one({"_id": "aa-assigned"}),
                   timeout=15)
    doc = await console.app.store.rows.find_one({"_id": cid})
    assert (doc["status"], doc["assignee_id"], doc["snap_id"]) == ("assigned", "alice", "aa-assigned")
    # The timeline shows them in the order they happened, not by id.
    kinds = [a["kind"] for a in await console.app.activity.timeline(cid)]
    assert kinds == ["conversation_opened", "conversation_queued", "conversation_assigned"]


async def test_a_whole_second_provider_time_does_not_freeze_the_row(console, producer, topics):
    """A WhatsApp message 0.5 s after an email carries an earlier, whole-second time: later snapshots
    must still apply (the topic offset orders them)."""
    cid = "c-whole-second"
    await publish(producer, topics.conversations, conversation("conversation_assigned", cid,
                  T0 + timedelta(milliseconds=11), status="assigned", assignee="alice", channel="email"),
                  event_id="ws-1")
    await row(console, cid, lambda d: d.get("snap_id") == "ws-1")
    await publish(producer, topics.conversations, conversation("customer_message_appended", cid, T0,
                  status="assigned", assignee="alice", channel="whatsapp"), event_id="ws-2")
    doc = await row(console, cid, lambda d: d.get("snap_id") == "ws-2")
    assert doc["channel"] == doc["reply_channel"] == "whatsapp"
    # Redelivered, the email's record (an earlier offset) ... and then the WhatsApp one again: the row
    # ends where the partition's history ends.
    await publish(producer, topics.conversations, conversation("status_changed", cid, T0,
                  status="waiting_on_customer", assignee="alice", channel="whatsapp"), event_id="ws-3")
    doc = await row(console, cid, lambda d: d.get("snap_id") == "ws-3")
    assert doc["status"] == "waiting_on_customer"


async def test_sla_events_drive_state_and_next_deadline(console, producer, topics):
    cid = "c-sla"
    deadline = T0 + timedelta(hours=1)
    await publish(producer, topics.conversations, conversation("conversation_opened", cid, T0), event_id="o-1")
    await publish(producer, topics.sla, sla("sla_applied", cid, deadline=deadline), event_id="s-1")
    doc = await row(console, cid, lambda d: d.get("sla_state") == "running")
    assert doc["next_deadline_ms"] == int(deadline.timestamp() * 1000)
    await publish(producer, topics.sla, sla("sla_warning_raised", cid, deadline=deadline,
                                            body={"fraction_elapsed": 0.75}), event_id="s-2")
    await row(console, cid, lambda d: d.get("sla_state") == "at_risk")
    await publish(producer, topics.sla, sla("sla_breached", cid, deadline=deadline), event_id="s-3")
    await row(console, cid, lambda d: d.get("sla_state") == "breached")
    await publish(producer, topics.sla, sla("sla_fulfilled", cid, deadline=deadline), event_id="s-4")
    doc = await row(console, cid, lambda d: d.get("sla_state") == "")
    assert doc["next_deadline_ms"] is None
    # The snapshot fields came from the conversation event, not overwritten by the SLA snapshots.
    assert doc["status"] == "queued" and doc["snap_id"] == "o-1"


async def test_paused_clock_and_sla_event_before_any_conversation_event(console, producer, topics):
    cid = "c-paused"
    deadline = T0 + timedelta(hours=2)
    # The sla topic's partition may be consumed before the conversations one: the row is created from
    # the SLA event's snapshot, then the conversation event overrides it.
    await publish(producer, topics.sla, sla("sla_applied", cid, deadline=deadline, name="Li Wei",
                                            status="waiting_on_customer"), event_id="p-1")
    await publish(producer, topics.sla, sla("sla_paused", cid, deadline=deadline,
                                            body={"remaining_seconds": 1200}), event_id="p-2")
    doc = await row(console, cid, lambda d: d.get("sla_state") == "paused")
    assert doc["customer_name"] == "Li Wei" and doc["next_deadline_ms"] is None
    await publish(producer, topics.conversations, conversation("status_changed", cid, T0 + timedelta(minutes=1),
                                                               status="assigned", name="Li Wei (VIP)"),
                  event_id="p-3")
    doc = await row(console, cid, lambda d: d.get("status") == "assigned")
    assert doc["customer_name"] == "Li Wei (VIP)" and doc["sla_state"] == "paused"


async def test_escalations_are_listed_until_acknowledged(console, producer, topics):
    cid = "c-esc"
    await publish(producer, topics.conversations, conversation("conversation_opened", cid, T0), event_id="x-1")
    await publish(producer, topics.escalations, escalation(cid, 1, T0 + timedelta(hours=1)), event_id="x-2")
    await publish(producer, topics.escalations, escalation(cid, 2, T0 + timedelta(hours=2)), event_id="x-3")

    async def open_ids():
        return [e["_id"] for e in await console.app.store.unacknowledged(("acme",))]
    await wait_for(lambda: _len_is(open_ids, 2), timeout=15)
    await publish(producer, topics.conversations, conversation(
        "escalation_acknowledged", cid, T0 + timedelta(hours=2, minutes=5),
        body={"escalation_id": f"{cid}:first_response:1:1", "agent_id": "sam"}), event_id="x-4")
    await wait_for(lambda: _equals(open_ids, [f"{cid}:first_response:1:2"]), timeout=15)
    acked = await console.app.store.escalations.find_one({"_id": f"{cid}:first_response:1:1"})
    assert acked["acknowledged_by"] == "sam" and acked["level"] == 1
    # Acknowledging level 2 stops the whole ladder (as the SLA service does): nothing left open.
    await publish(producer, topics.conversations, conversation(
        "escalation_acknowledged", cid, T0 + timedelta(hours=2, minutes=6),
        body={"escalation_id": f"{cid}:first_response:1:2", "agent_id": "sam"}), event_id="x-5")
    await wait_for(lambda: _equals(open_ids, []), timeout=15)


async def test_acknowledging_a_higher_level_first_covers_the_lower_ones(console, producer, topics):
    cid = "c-ladder"
    await publish(producer, topics.conversations, conversation(
        "escalation_acknowledged", cid, T0, body={"escalation_id": f"{cid}:first_response:1:3", "agent_id": "lead"}),
        event_id="y-1")
    await publish(producer, topics.escalations, escalation(cid, 1, T0 - timedelta(minutes=30)), event_id="y-2")
    await publish(producer, topics.escalations, escalation(f"{cid}-other", 1, T0), event_id="y-3")
    await wait_for(lambda: console.app.store.escalations.find_one({"_id": f"{cid}-other:first_response:1:1"}),
                   timeout=15)
    await wait_for(lambda: console.app.store.escalations.find_one({"_id": f"{cid}:first_response:1:1"}), timeout=15)
    assert [e["_id"] for e in await console.app.store.unacknowledged(("acme",))] == [
        f"{cid}-other:first_response:1:1"]


async def test_redelivered_event_is_one_activity_document(console, producer, topics):
    cid = "c-dup"
    event = conversation("conversation_opened", cid, T0)
    for _ in range(3):
        await publish(producer, topics.conversations, event, event_id="dup-1")
    await row(console, cid)
    await publish(producer, topics.conversations, conversation("conversation_queued", cid, T0 + timedelta(seconds=1),
                                                               body={"queue": "general"}), event_id="dup-2")
    await wait_for(lambda: console.app.activity.collection.find_one({"_id": "dup-2"}), timeout=15)
    assert await console.app.activity.collection.count_documents({"conversation_id": cid}) == 2


async def _len_is(call, n: int) -> bool:
    return len(await call()) == n


async def _equals(call, expected) -> bool:
    return await call() == expected


async def test_a_clock_time_stored_as_a_string_neither_breaks_the_projection_nor_the_page(console, producer, topics):
    """nx-27017's $set once stored a clock's deadline as a string; the next SLA event must still fold
    (no TypeError) and the conversation still opens with its deadline."""
    cid = "c-string-deadline"
    deadline = T0 + timedelta(minutes=30)
    await console.app.store.rows.insert_one({
        "_id": cid, "cid": cid, "brand_id": "acme", "status": "assigned", "open": True, "customer_name": "Li Wei",
        "updated_ms": 1, "sort_key": "000000000000001|" + cid, "snap_ms": 1, "snap_partition": -1,
        "snap_offset": -1, "snap_id": "old",
        "sla_clocks": {"first_response_1": {"metric": "first_response", "instance": 1, "state": "running",
                                            "warned": False, "deadline": deadline.isoformat(), "breached_at": None,
                                            "remaining_seconds": None, "policy_id": "p", "target_seconds": 1800}}})
    breached = sla("sla_breached", cid, deadline=deadline)
    breached.ClearField("deadline")  # the event does not repeat it: the stored one is kept
    await publish(producer, topics.sla, breached, event_id="sd-1")
    doc = await row(console, cid, lambda d: d.get("sla_state") == "breached")
    assert doc["next_deadline_ms"] == int(deadline.timestamp() * 1000)
    assert doc["sla_clocks"]["first_response_1"]["deadline"] == int(deadline.timestamp() * 1000)
    async with console.client() as client:
        from console_kit import login
        await login(client, "alice")
        page = await client.get(f"/api/v1/conversations/{cid}")
    assert page.status_code == 200, page.text
    clock = page.json()["sla"]["clocks"][0]
    assert clock["state"] == "breached" and clock["deadline"].startswith("2026-12-01T09:30")
