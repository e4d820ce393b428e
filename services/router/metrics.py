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
FORWARDED = Counter(
    "switchboard_router_intake_forwarded", "Inputs the intake stage validated and forwarded to the routing topic"
)
SCOPES_OWNED = Gauge(
    "switchboard_router_routing_scopes_owned", "Routing scopes (brands) this routing-stage replica owns now"
)
CONTACT_PARTITIONS_OWNED = Gauge(
    "switchboard_router_contact_partitions_owned",
    "Contacts-topic partitions (customers) this contact-stage replica owns now",
)
DELTAS = Counter("switchboard_router_contact_deltas", "Deltas the contact stage sent the routing stage")
CONTACT_REKEYED = Counter(
    "switchboard_router_contact_rekeyed",
    "Inputs the contact stage found keyed by another partition's customer and re-published there (once each)",
)
SCOPE_CLAIMS = Counter(
    "switchboard_router_routing_scope_claims", "Routing scopes claimed (epoch raised, state rebuilt from MongoDB)"
)
FENCED = Counter(
    "switchboard_router_routing_fenced_writes",
    "Batches refused because another replica claimed the scope since (a revoked owner's late write)",
)


def forget_brands(brands: set[str]) -> None:
    """A released routing scope's queue gauges: its new owner reports them now (sums stay exact)."""
    for labels in [labels for labels in list(QUEUE_DEPTH._metrics) if labels[0] in brands]:
        QUEUE_DEPTH.remove(*labels)
