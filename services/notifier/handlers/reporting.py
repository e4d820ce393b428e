"""Publishing final outcomes: DeliveryRecorded for every final entry, the request to `<topic>.dlq` for
failed ones; and recognising requests re-published from the DLQ (`switchboard-admin replay-dlq`)."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from switchboard.common.cloudevents import Envelope, derived_id
from switchboard.common.deadletters import dead_letter_headers, dlq_topic
from switchboard.common.dlq_replay import replay_marker
from switchboard.notifier import metrics
from switchboard.notifier.adapters import codec
from switchboard.notifier.domain.model import FAILED

DELIVERY_FAILED = "delivery_failed"  # dlq_reason of a request whose delivery failed for good


def replayed_entries(env: Envelope, planned: list[dict[str, Any]]) -> dict[str, str]:
    """{outbox id: replay token} for a request re-published from the DLQ; {} for an ordinary one.
    A replay of a failure at one destination (an escalation fans out) revives only that one."""
    marker = replay_marker(env.raw_headers)
    if marker is None:
        return {}
    return {d["_id"]: marker.token for d in planned if marker.destination in (None, d["destination"])}


def delivery_event_id(doc: dict[str, Any]) -> str:
    """Deterministic per outcome (a report repeated after a crash is dropped downstream); an outcome
    after a DLQ replay is a new fact, so its replay count is part of the id."""
    replays = doc.get("replays") or 0
    if replays:
        return derived_id("delivery", doc["_id"], doc["state"], replays)
    return derived_id("delivery", doc["_id"], doc["state"])


def dlq_headers(doc: dict[str, Any], group: str) -> list[tuple[str, bytes]]:
    """The shared dead-letter headers (switchboard.common.deadletters) plus which destination and
    intent failed after how many attempts (`replay-dlq` revives only that destination)."""
    source = doc.get("source") or {}
    return dead_letter_headers(
        source.get("headers", []), reason=DELIVERY_FAILED, error=doc.get("detail") or "",
        topic=source.get("topic", ""), partition=source.get("partition", 0), offset=source.get("offset", 0),
        group=group, extra=[("dlq_destination", doc["destination"]), ("dlq_intent_id", doc["intent_id"]),
                            ("dlq_attempts", str(doc.get("attempts", 0)))])


async def report_outcomes(h, docs: list[dict[str, Any]]) -> list[str]:
    """Publishes DeliveryRecorded (and DLQ records for failures); returns the ids reported.
    `h` is the NotifierHandlers (publisher, topics, clock, group_id)."""
    now = h.clock.now()
    for doc in docs:
        finished = datetime.fromtimestamp(doc["finished_at"], UTC) if doc.get("finished_at") else now
        await h.publisher.publish(h.topics.deliveries, codec.encode_delivery(doc, finished),
                                  key=doc["conversation_id"] or doc["intent_id"], event_id=delivery_event_id(doc),
                                  subject=doc["conversation_id"] or None, brand_id=doc["brand_id"])
        metrics.DELIVERIES.labels(codec.kind_name(doc["kind"]), doc["destination_type"], doc["state"],
                                  metrics.brand(doc.get("brand_id"))).inc()
        if doc["state"] == FAILED:
            source = doc.get("source") or {}
            key = source.get("key")
            await h.publisher.send_raw(dlq_topic(source.get("topic") or h.topics.notifications), source.get("value"),
                                       bytes(key) if key is not None else None, dlq_headers(doc, h.group_id))
    await h.publisher.drain()
    return [d["_id"] for d in docs]
