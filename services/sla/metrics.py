"""The SLA service's own Prometheus metrics (switchboard_sla_*). Labels are bounded; never ids.

`brand` is one of the configured brands or "other" (switchboard.common.metrics.brand_label).
The clock events counter is `switchboard_sla_clock_events_total`, not `switchboard_sla_events_total`:
that name is analytics' SLA outcome counter (labels metric/outcome), which the recording rules sum.
"""
from prometheus_client import Counter, Gauge, Histogram
from switchboard.common.metrics import brand_label as brand  # noqa: F401 - configured brands or "other"

OPEN_TIMERS = Gauge("switchboard_sla_open_timers", "Pending SLA timers held in memory by this worker")
TIMER_LATENESS = Histogram(
    "switchboard_sla_timer_lateness_seconds", "Firing time minus due time of SLA timers (processing lateness)",
    ["kind"], buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 60.0, 600.0))
TIMERS_FIRED = Counter("switchboard_sla_timers_fired", "SLA timers fired, by kind (warn|breach|escalate|proactive)",
                       ["kind", "brand"])
TIMERS_STALE = Counter("switchboard_sla_timers_stale", "Timers that came due but no longer applied",
                       ["kind", "brand"])
CLOCK_EVENTS = Counter("switchboard_sla_clock_events",
                       "SlaEvents emitted by the SLA service (applied, warning, breached, fulfilled, paused, resumed, "
                       "reapplied, cancelled)", ["event", "metric", "channel", "priority", "brand"])
ESCALATIONS = Counter("switchboard_sla_escalations", "Escalations raised", ["level", "reason", "brand"])
PROACTIVE = Counter("switchboard_sla_proactive_requests", "Proactive customer updates requested",
                    ["template", "brand"])
BREACH_LATE = Histogram("switchboard_sla_breach_detection_delay_seconds",
                        "Breach detected_at minus deadline (how late breaches are reported)",
                        buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 60.0))
TIMERS_LOADED = Counter("switchboard_sla_timers_loaded", "Pending timers loaded from MongoDB on partition assignment")
TIMERS_FAILED = Counter("switchboard_sla_timers_failed",
                        "Timers whose firing raised an error (kept in the conversation's failed_timers, not retried)",
                        ["kind", "brand"])
