"""Dashboard "Switchboard / Platform health": consumer lag, throughput, handler latency, errors and
dead-letter queues of every service (bus metrics: no brand or channel selection)."""

from __future__ import annotations

from frame import dashboard
from presets import RI, Layout, bus_quantile, increase, target, timeseries

FILE = "platform-health.json"
UID, TITLE = "switchboard-platform-health", "Switchboard / Platform health"
DESCRIPTION = (
    "Consumer lag, throughput, handler latency, errors and dead-letter queues of every service."
)
HANDLER_DURATION = "switchboard_bus_handler_duration_seconds"


def _consumers(grid: Layout) -> None:
    grid.row("Kafka consumers (every service)")
    grid.add(timeseries("Consumer lag by group and topic",
                        "High watermark - committed offset. Exact on Apache Kafka; on the embedded Tansu broker "
                        "it can be off by up to one producer batch per partition.",
                        target("sum by (group, topic) (switchboard_bus_consumer_lag)", "{{group}} {{topic}}")),
             12, 8)
    grid.add(timeseries("Records consumed / produced per second", "",
                        target(f"sum by (group) (rate(switchboard_bus_records_consumed_total[{RI}]))",
                               "consumed {{group}}"),
                        target(f"sum by (topic) (rate(switchboard_bus_records_produced_total[{RI}]))",
                               "produced {{topic}}")), 12, 8)
    grid.add(timeseries("Batch handling latency p50 / p99",
                        "Per consumed batch, producer drain and commit included.",
                        target(bus_quantile(0.99, HANDLER_DURATION), "p99 {{group}}"),
                        target(bus_quantile(0.5, HANDLER_DURATION), "p50 {{group}}"), unit="s"), 12, 8)
    grid.add(timeseries("Event age when handled, p90", "now - ce_time: end-to-end delay through the pipeline.",
                        target(bus_quantile(0.9, "switchboard_bus_record_age_seconds"), "{{group}}"), unit="s"),
             12, 8)


def _errors(grid: Layout) -> None:
    grid.row("Errors and dead letters")
    grid.add(timeseries("Handler errors by kind (per minute)",
                        "transient: retried without commit; permanent / unknown: isolated, then dead-lettered.",
                        target(f"sum by (group, kind) (rate(switchboard_bus_handler_errors_total[{RI}])) * 60",
                               "{{group}} {{kind}}")), 8, 8)
    grid.add(timeseries("Dead-lettered records per hour", "Each is a missing effect until replayed.",
                        target("sum by (topic, reason) (increase(switchboard_bus_dlq_records_total[1h]))",
                               "{{topic}} {{reason}}")), 8, 8)
    grid.add(timeseries("Failed notification deliveries (per hour)", "Gave up after the retry budget.",
                        target(increase("switchboard_delivery_outcomes_total", "kind", extra=',outcome="failed"'),
                               "{{kind}}")), 8, 8)


def _processes(grid: Layout) -> None:
    grid.row("Processes")
    grid.add(timeseries("Assigned partitions by group", "0 for a group that should consume: a stuck join.",
                        target("sum by (group) (switchboard_bus_assigned_partitions)", "{{group}}")), 8, 7)
    grid.add(timeseries("Resident memory by job", "",
                        target("sum by (job) (process_resident_memory_bytes)", "{{job}}"), unit="bytes"), 8, 7)
    grid.add(timeseries("CPU by job", "",
                        target(f"sum by (job) (rate(process_cpu_seconds_total[{RI}]))", "{{job}}"),
                        unit="percentunit"), 8, 7)
    grid.add(timeseries("Router ownership: scopes owned, fenced and re-keyed",
                        "Summed over replicas: brands owned by routing stages (= the brands) and contacts partitions "
                        "owned by contact stages (= 12). Fenced: batches a revoked owner gave up; re-keyed: inputs a "
                        "contact stage sent on to their customer's partition (both per minute).",
                        target("sum(switchboard_router_routing_scopes_owned)", "brands owned"),
                        target("sum(switchboard_router_contact_partitions_owned)", "contacts partitions owned"),
                        target(f"sum(rate(switchboard_router_routing_fenced_writes_total[{RI}])) * 60",
                               "fenced batches / min"),
                        target(f"sum(rate(switchboard_router_contact_rekeyed_total[{RI}])) * 60",
                               "re-keyed inputs / min")), 24, 7)


def build() -> dict:
    return dashboard(UID, TITLE, DESCRIPTION, (_consumers, _errors, _processes))
