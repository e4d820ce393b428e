"""Prometheus metrics every service exposes about its bus traffic (names switchboard_bus_*), and the
brand label every service uses on its per-event metrics.

Labels stay bounded: topic, group, partition, reason, brand. Never ids. A brand label is one of the
brands named in configuration (`brands:` of the config files) or "other": a record or request naming
an unknown brand cannot add series.
"""
from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Iterable
from pathlib import Path

import yaml
from prometheus_client import Counter, Gauge, Histogram

OTHER_BRAND = "other"
_brands: frozenset[str] = frozenset()


def use_brands(brands: Iterable[str]) -> None:
    """The brands that get their own label value (set once at start-up, from configuration)."""
    global _brands
    _brands = frozenset(brands)


def brands_from_config(config_dir: Path) -> list[str]:
    """Brand ids named by the configuration: the keys of every top-level `brands:` mapping in the
    YAML files of `config_dir` (routing.yaml, notifier.yaml, bot.yaml, secrets.yaml when mounted there)."""
    found: set[str] = set()
    for path in sorted(Path(config_dir).glob("*.yaml")):
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError):
            continue  # the file's owner reports it; a label list is no reason to refuse to start
        brands = data.get("brands") if isinstance(data, dict) else None
        if isinstance(brands, dict):
            found.update(str(b) for b in brands if b != "*")
    return sorted(found)


def brand_label(brand_id: str | None) -> str:
    return brand_id if brand_id in _brands else OTHER_BRAND

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
BRAND_EVENTS = Counter("switchboard_bus_brand_events",
                       "Consumed events per brand (configured brands, else 'other'), by outcome: handled, "
                       "duplicate (skipped by event id), dead_lettered", ["topic", "group", "brand", "outcome"])
COMMITS_FENCED = Counter("switchboard_bus_commits_fenced",
                         "Commits skipped because the broker session changed since the batch was fetched (or the "
                         "commit did not finish within the request timeout); the batch is read again", ["group"])
BATCHES_DROPPED_REBALANCE = Counter("switchboard_bus_batches_dropped_rebalance",
                                    "Batches fetched before a rebalance revoked partitions: neither handled nor "
                                    "committed, read again by each partition's owner", ["group"])
ASSIGNED_PARTITIONS = Gauge("switchboard_bus_assigned_partitions", "Partitions this consumer owns", ["group"])


def observe_batch(consumer, group: str, batch: dict, next_offsets: dict, elapsed: float, handled: list) -> None:
    """A handled and committed batch's figures: sizes, handled events per brand, duration and lag."""
    BATCH_RECORDS.labels(group).observe(sum(len(r) for r in batch.values()))
    per_brand = Tally((env.topic, brand_label(env.brand_id)) for env in handled)
    for (topic, brand), count in per_brand.items():
        BRAND_EVENTS.labels(topic, group, brand, "handled").inc(count)
    assigned = consumer.assignment()
    for tp, records in batch.items():
        RECORDS_CONSUMED.labels(tp.topic, group).inc(len(records))
        HANDLER_DURATION.labels(tp.topic, group).observe(elapsed)
        if tp not in assigned:  # moved meanwhile: aiokafka asserts on a partition it does not hold
            continue
        highwater = consumer.highwater(tp)
        if highwater is not None:
            CONSUMER_LAG.labels(tp.topic, str(tp.partition), group).set(max(0, highwater - next_offsets[tp]))
