"""Publishing final outcomes: DeliveryRecorded for every final entry, the request to `<topic>.dlq` for
failed ones; and recognising requests re-published from the DLQ (`switchboard-admin replay-dlq`)."""
from __future__ import annotations

import asyncio
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


async def _publish(h, doc: dict[str, Any], now: datetime) -> list[asyncio.Future]:
    """DeliveryRecorded for a final entry, and its request to `<topic>.dlq` if it failed; the ack futures."""
    finished = datetime.fromtimestamp(doc["finished_at"], UTC) if doc.get("finished_at") else now
    acks = [await h.publisher.publish(h.topics.deliveries, codec.encode_delivery(doc, finished),
                                      key=doc["conversation_id"] or doc["intent_id"], event_id=delivery_event_id(doc),
                                      subject=doc["conversation_id"] or None, brand_id=doc["brand_id"])]
    if doc["state"] == FAILED:
        source = doc.get("source") or {}
        key = source.get("key")
        acks.append(await h.publisher.send_raw(dlq_topic(source.get("topic") or h.topics.notifications),
                                               source.get("value"), bytes(key) if key is not None else None,
                                               dlq_headers(doc, h.group_id)))
    return acks


def _count(docs: list[dict[str, Any]]) -> None:
    for doc in docs:
        metrics.DELIVERIES.labels(codec.kind_name(doc["kind"]), doc["destination_type"], doc["state"],
                                  metrics.brand(doc.get("brand_id"))).inc()


async def report_outcomes(h, docs: list[dict[str, Any]]) -> list[str]:
    """Publishes DeliveryRecorded (and DLQ records for failures); returns the ids reported.
    `h` is the NotifierHandlers (publisher, topics, clock, group_id)."""
    now = h.clock.now()
    for doc in docs:
        await _publish(h, doc, now)
    _count(docs)
    await h.publisher.drain()
    return [d["_id"] for d in docs]


async def report_acknowledged(h, docs: list[dict[str, Any]]) -> None:
    """Publishes the reports of outcomes about to be written and waits for the broker's ack of each
    (only these records: not a drain of everything the shared producer holds). Raises if one failed."""
    now = h.clock.now()
    acks = [ack for doc in docs for ack in await _publish(h, doc, now)]
    await asyncio.gather(*acks)
    _count(docs)
