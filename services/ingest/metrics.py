"""Ingest metrics (switchboard_ingest_*). Labels: provider (from the registry), outcome, stream, brand
(switchboard.common.metrics.brand_label: configured brands or "other")."""
from prometheus_client import Counter, Histogram
from switchboard.common.metrics import LATENCY_BUCKETS

REQUESTS = Counter("switchboard_ingest_requests", "Requests answered, by provider, outcome "
                   "(accepted, duplicate, ignored, rejected_signature, rejected_input, unavailable) and brand "
                   "(configured brands, else 'other')", ["provider", "outcome", "brand"])
EVENTS_PUBLISHED = Counter("switchboard_ingest_events_published", "Events durably acknowledged by the broker, "
                           "by provider, stream and brand", ["provider", "stream", "brand"])
DUPLICATES = Counter("switchboard_ingest_duplicates", "Events not published again because their provider "
                     "message was already accepted, by provider and brand", ["provider", "brand"])
REQUEST_DURATION = Histogram("switchboard_ingest_request_duration_seconds",
                             "Time from request to durable acknowledgement", ["provider"], buckets=LATENCY_BUCKETS)
ORDERS_EXTERNAL = Counter("switchboard_ingest_orders_external_records",
                          "Records read from the orders.external topic, by outcome (forwarded, duplicate, dlq)",
                          ["outcome"])


# labels() takes a lock and hashes the label tuple on every call; the hot path reuses the children.
_children: dict[tuple, object] = {}


def child(metric, *labels):
    key = (id(metric), labels)
    found = _children.get(key)
    if found is None:
        found = _children[key] = metric.labels(*labels)
    return found
