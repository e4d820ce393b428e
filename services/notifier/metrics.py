"""Notifier metrics (labels bounded: kind, destination_type, outcome)."""
from prometheus_client import Counter, Gauge, Histogram

DELIVERIES = Counter("switchboard_notifier_deliveries", "Final delivery outcomes per intent and destination",
                     ["kind", "destination_type", "outcome"])
ATTEMPTS = Counter("switchboard_notifier_delivery_attempts", "Send attempts, by result (delivered|retry|failed)",
                   ["destination_type", "outcome"])
DELIVERY_SECONDS = Histogram("switchboard_notifier_delivery_seconds", "Duration of one send attempt",
                             ["destination_type"],
                             buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60))
OUTBOX_PENDING = Gauge("switchboard_notifier_outbox_pending", "Outbox entries pending or in flight")
IN_FLIGHT = Gauge("switchboard_notifier_in_flight", "Sends in progress, per destination type", ["destination_type"])
