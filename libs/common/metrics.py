"""Prometheus metrics every service exposes about its bus traffic (names switchboard_bus_*).

Labels stay bounded: topic, group, partition, reason. Never ids.
"""
from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

RECORDS_CONSUMED = Counter("switchboard_bus_records_consumed", "Records read from Kafka and handled",
                           ["topic", "group"])
RECORDS_PRODUCED = Counter("switchboard_bus_records_produced", "Records acknowledged by Kafka", ["topic"])
PRODUCE_ERRORS = Counter("switchboard_bus_produce_errors", "Sends that Kafka did not acknowledge", ["topic"])
HANDLER_DURATION = Histogram("switchboard_bus_handler_duration_seconds",
                             "Time to handle one consumed batch, producer drain and commit included",
                             ["topic", "group"], buckets=LATENCY_BUCKETS)
BATCH_RECORDS = Histogram("switchboard_bus_batch_records", "Records per consumed batch", ["group"],
                          buckets=(1, 5, 10, 50, 100, 250, 500, 1000, 2500))
RECORD_AGE = Histogram("switchboard_bus_record_age_seconds",
                       "Event age when handled: now - ce_time (includes upstream latency)",
                       ["topic", "group"], buckets=LATENCY_BUCKETS + (60.0, 300.0, 3600.0))
HANDLER_ERRORS = Counter("switchboard_bus_handler_errors", "Handler failures by kind (transient|permanent|unknown)",
                         ["topic", "group", "kind"])
DLQ_RECORDS = Counter("switchboard_bus_dlq_records", "Records sent to <topic>.dlq, by reason", ["topic", "reason"])
DUPLICATES_SKIPPED = Counter("switchboard_bus_duplicates_skipped",
                             "Redelivered records skipped because their event id was already processed",
                             ["topic", "group"])
COMMIT_FAILURES = Counter("switchboard_bus_commit_failures", "Offset commits refused (e.g. during a rebalance)",
                          ["group"])
CONSUMER_LAG = Gauge("switchboard_bus_consumer_lag",
                     "High watermark minus committed offset. Exact on Apache Kafka; on the embedded Tansu "
                     "broker the high watermark can be off by a batch (see docs/operations.md).",
                     ["topic", "partition", "group"])
ASSIGNED_PARTITIONS = Gauge("switchboard_bus_assigned_partitions", "Partitions this consumer owns", ["group"])
