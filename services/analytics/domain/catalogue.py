"""Every metric analytics exports, as plain data: name, kind, help, labels, buckets.

Bucket bounds are chosen so the consumer expectations and typical targets fall exactly on a bound
(9 min phone, 1 h chat, 2.5 h email, 12/24 h cross-border email KPI, days for resolution), which
keeps histogram_quantile() and "share within target" queries exact at the targets.
"""

from __future__ import annotations

from dataclasses import dataclass

MINUTE = 60
HOUR = 3600
DAY = 86400

# First / next / agent-first response: 30 s .. 7 d.
RESPONSE_BUCKETS = (30, 60, 2 * MINUTE, 3 * MINUTE, 5 * MINUTE, 9 * MINUTE, 10 * MINUTE, 15 * MINUTE, 30 * MINUTE,
                    HOUR, 2 * HOUR, 2.5 * HOUR, 4 * HOUR, 8 * HOUR, 12 * HOUR, DAY, 2 * DAY, 3 * DAY, 7 * DAY)
# Phone answer: seconds .. 1 h (9 min is the consumer expectation).
PHONE_ANSWER_BUCKETS = (10, 20, 30, 60, 2 * MINUTE, 3 * MINUTE, 5 * MINUTE, 9 * MINUTE, 15 * MINUTE, 30 * MINUTE, HOUR)
# Resolution: minutes .. 30 d.
RESOLUTION_BUCKETS = (MINUTE, 5 * MINUTE, 15 * MINUTE, 30 * MINUTE, HOUR, 2 * HOUR, 4 * HOUR, 8 * HOUR, 12 * HOUR,
                      DAY, 2 * DAY, 3 * DAY, 5 * DAY, 7 * DAY, 14 * DAY, 30 * DAY)
# Queue -> agent assignment wait: seconds .. 1 d.
ASSIGNMENT_WAIT_BUCKETS = (5, 10, 30, 60, 2 * MINUTE, 5 * MINUTE, 9 * MINUTE, 15 * MINUTE, 30 * MINUTE, HOUR,
                           2 * HOUR, 4 * HOUR, 12 * HOUR, DAY)

COMMON = ("brand", "channel", "queue", "priority")
DELIVERY = ("brand", "channel", "kind")


@dataclass(frozen=True)
class MetricSpec:
    name: str
    kind: str  # counter | histogram | gauge
    help: str
    labels: tuple[str, ...]
    buckets: tuple[float, ...] = ()


SLA_HISTOGRAMS = {
    # SlaMetric word -> histogram name (observed from SlaFulfilled, calendar seconds the customer waited)
    "first_response": "switchboard_sla_first_response_seconds",
    "next_response": "switchboard_sla_next_response_seconds",
    "resolution": "switchboard_sla_resolution_seconds",
    "phone_answer": "switchboard_sla_phone_answer_seconds",
    "agent_first_response": "switchboard_sla_agent_first_response_seconds",
}
_SLA_BUCKETS = {"resolution": RESOLUTION_BUCKETS, "phone_answer": PHONE_ANSWER_BUCKETS}

METRICS: tuple[MetricSpec, ...] = (
    *(
        MetricSpec(
            name,
            "histogram",
            f"Calendar seconds until the {metric.replace('_', ' ')} SLA clock was fulfilled.",
            COMMON,
            _SLA_BUCKETS.get(metric, RESPONSE_BUCKETS),
        )
        for metric, name in SLA_HISTOGRAMS.items()
    ),
    MetricSpec(
        "switchboard_sla_events_total",
        "counter",
        "SLA clock outcomes: fulfilled (within target), fulfilled_late, breached, warning. "
        "Attainment = fulfilled / (fulfilled + breached).",
        (*COMMON, "metric", "outcome"),
    ),
    MetricSpec("switchboard_conversation_opened_total", "counter", "Conversations opened.", COMMON),
    MetricSpec(
        "switchboard_conversation_resolved_total",
        "counter",
        "Conversations resolved; resolver is bot or human.",
        (*COMMON, "resolver"),
    ),
    MetricSpec("switchboard_conversation_reopened_total", "counter", "Resolved conversations reopened.", COMMON),
    MetricSpec(
        "switchboard_conversation_messages_total",
        "counter",
        "Messages in conversations by author (customer, bot, agent).",
        (*COMMON, "author"),
    ),
    MetricSpec(
        "switchboard_conversation_chats_ended_total",
        "counter",
        "Live chats ended; transcript_requested true|false.",
        (*COMMON, "transcript_requested"),
    ),
    MetricSpec(
        "switchboard_assignment_wait_seconds",
        "histogram",
        "Seconds a conversation waited in a queue before an agent was assigned.",
        COMMON,
        ASSIGNMENT_WAIT_BUCKETS,
    ),
    MetricSpec(
        "switchboard_bot_contained_total",
        "counter",
        "Conversations resolved without any human involvement (bot containment).",
        COMMON,
    ),
    MetricSpec("switchboard_bot_handoffs_total", "counter", "Bot to human handoffs by reason.", (*COMMON, "reason")),
    MetricSpec(
        "switchboard_repeat_contacts_total",
        "counter",
        "Repeat contacts on an unresolved problem (the polite loop).",
        COMMON,
    ),
    MetricSpec(
        "switchboard_escalations_total",
        "counter",
        "Escalations raised by level, reason and SLA metric.",
        (*COMMON, "level", "reason", "metric"),
    ),
    MetricSpec(
        "switchboard_escalations_acknowledged_total", "counter", "Escalations acknowledged by an agent.", COMMON
    ),
    MetricSpec(
        "switchboard_csat_responses_total", "counter", "CSAT survey responses by score (1-5).", (*COMMON, "score")
    ),
    MetricSpec(
        "switchboard_delivery_outcomes_total",
        "counter",
        "Notification delivery outcomes recorded by the notifier (delivered, failed, skipped).",
        (*DELIVERY, "outcome"),
    ),
    MetricSpec(
        "switchboard_customer_messages_sent_total",
        "counter",
        "Messages delivered to customers by kind (transcript, proactive_update, csat_survey ...).",
        DELIVERY,
    ),
    # Gauges: computed at scrape time from the open-conversation projection (rebuilt at start-up).
    MetricSpec("switchboard_backlog_conversations", "gauge", "Open conversations by status.", (*COMMON, "status")),
    MetricSpec(
        "switchboard_backlog_at_risk_conversations",
        "gauge",
        "Open conversations with a running SLA clock that has less than 25% of its budget left.",
        COMMON,
    ),
    MetricSpec(
        "switchboard_backlog_overdue_conversations",
        "gauge",
        "Open conversations with a running SLA clock past its deadline.",
        COMMON,
    ),
    MetricSpec(
        "switchboard_backlog_oldest_waiting_seconds",
        "gauge",
        "Age of the oldest customer message still waiting for an answer.",
        COMMON,
    ),
    MetricSpec("switchboard_queue_depth", "gauge", "Conversations waiting in a queue for an agent.", COMMON),
    MetricSpec(
        "switchboard_agent_assigned_conversations", "gauge", "Open conversations assigned to an agent.", ("brand",)
    ),
    MetricSpec(
        "switchboard_agent_working_agents",
        "gauge",
        "Agents holding at least one assigned open conversation.",
        ("brand",),
    ),
    MetricSpec(
        "switchboard_agent_occupancy_ratio",
        "gauge",
        "Assigned conversations / (working agents x configured concurrent capacity).",
        ("brand",),
    ),
)

SPECS = {spec.name: spec for spec in METRICS}
GAUGES = tuple(spec for spec in METRICS if spec.kind == "gauge")
