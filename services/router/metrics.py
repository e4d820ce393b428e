"""Router metrics (labels bounded: case, rule, reason, brand, queue)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

EVENTS = Counter("switchboard_router_conversation_events", "Conversation lifecycle events emitted", ["event"])
NOTIFICATIONS = Counter("switchboard_router_notifications_requested", "Notification requests emitted", ["kind"])
ASSIGNMENTS = Counter(
    "switchboard_router_assignments", "Conversations assigned, by the rule that chose the agent", ["rule"]
)
HANDOFFS = Counter("switchboard_router_bot_handoffs", "Bot handoffs to people, by reason", ["reason"])
QUEUE_DEPTH = Gauge(
    "switchboard_router_queue_depth",
    "Conversations waiting in a queue (as of the last batch that touched the brand)",
    ["brand", "queue"],
)
BATCH_SECONDS = Histogram(
    "switchboard_router_batch_duration_seconds",
    "Load, decide, write and enqueue one consumed batch",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
ASSIGNMENT_LATENCY = Histogram(
    "switchboard_router_assignment_latency_seconds",
    "From the record that made the assignment possible (its ce_time) to the router deciding it",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
