"""Notifier metrics (labels bounded: kind, destination_type, outcome, brand)."""
from prometheus_client import Counter, Gauge, Histogram
from switchboard.common.metrics import brand_label as brand  # noqa: F401 - configured brands or "other"

DELIVERIES = Counter("switchboard_notifier_deliveries", "Final delivery outcomes per intent and destination",
                     ["kind", "destination_type", "outcome", "brand"])
ATTEMPTS = Counter("switchboard_notifier_delivery_attempts", "Send attempts, by result (delivered|retry|failed)",
                   ["destination_type", "outcome", "brand"])
DELIVERY_SECONDS = Histogram("switchboard_notifier_delivery_seconds", "Duration of one send attempt",
                             ["destination_type"],
                             buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60))
OUTBOX_PENDING = Gauge("switchboard_notifier_outbox_pending", "Outbox entries pending or in flight")
IN_FLIGHT = Gauge("switchboard_notifier_in_flight", "Sends in progress, per destination type", ["destination_type"])
OUTCOMES_UNRECORDED = Gauge("switchboard_notifier_outcomes_unrecorded",
                            "Send outcomes held in memory because the outbox write failed (store away); retried "
                            "until recorded")
OUTCOMES_LOST = Counter("switchboard_notifier_outcomes_lost",
                        "Outcomes that could not be recorded (the claim was taken over, or shutdown during a store "
                        "outage): the entry may be sent again", ["reason"])
DLQ_REPLAYS = Counter("switchboard_notifier_dlq_replays",
                      "Outbox entries named by requests replayed from the DLQ: revived (was failed) or ignored "
                      "(delivered, still open, or already revived by this DLQ record)", ["outcome"])
CLAIMS = Counter("switchboard_notifier_claims",
                 "Outbox entries claimed for sending, by who claimed them: intake (inserted already claimed) or "
                 "scanner (a second write: not due at insert, pool full, a retry, an expired lease)", ["by"])
REPORTS_DEFERRED = Counter("switchboard_notifier_reports_deferred",
                           "Final outcomes written as still to report because their DeliveryRecorded was not "
                           "acknowledged in time (broker away or slow); the reporter publishes them")
