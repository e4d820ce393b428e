"""Generates the Switchboard Grafana dashboards (committed JSON beside this file).

    python observability/dashboards/generate.py          # rewrite the JSON files
    python observability/dashboards/generate.py --check  # fail if the committed JSON is stale

Plain dictionaries, no SDK: the output is ordinary Grafana dashboard JSON (schemaVersion 39) with a
Prometheus datasource variable and `brand` / `channel` variables (multi-select, "All" = .*).
Every query is tested against a real Prometheus in tests/e2e/test_prometheus.py.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
DS = {"type": "prometheus", "uid": "${datasource}"}
SEL = 'brand=~"$brand",channel=~"$channel"'
RI = "$__rate_interval"
# Consumer expectations (DOMAIN.md survey figures): email 2.5 h, chat 1 h, phone 9 min.
EXPECTATIONS = {"email": 9000, "chat": 3600, "phone": 540}
OBJECTIVE = 0.95

# ---------------------------------------------------------------------------------------------
# PromQL helpers


def attainment(window: str, by: str, metric: str = "first_response") -> str:
    """fulfilled / (fulfilled + breached) from the recorded rates; 0 (not "no data") when all breached."""
    base = f'switchboard:sla_events:rate{window}{{{SEL},metric=~"{metric}"'
    return (
        f'(sum by ({by}) ({base},outcome="fulfilled"}}) or 0 * sum by ({by}) ({base},outcome="breached"}}))'
        f' / sum by ({by}) ({base},outcome=~"fulfilled|breached"}})'
    )


def quantile(q: float, metric: str, by: str, window: str = RI, selector: str = SEL) -> str:
    return f"histogram_quantile({q}, sum by ({by}, le) (rate({metric}_bucket{{{selector}}}[{window}])))"


def within_expectation(window: str) -> str:
    """Share of first responses within what customers expect on the channel (bucket bound = target)."""
    parts = []
    for channel, seconds in EXPECTATIONS.items():
        sel = f'brand=~"$brand",channel="{channel}",channel=~"$channel"'
        parts.append(
            "sum by (channel) (increase(switchboard_sla_first_response_seconds_bucket"
            f'{{{sel},le=~"{seconds}|{seconds}.0"}}[{window}]))'
            f" / sum by (channel) (increase(switchboard_sla_first_response_seconds_count{{{sel}}}[{window}]))"
        )
    return "\n  or\n".join(parts)


# ---------------------------------------------------------------------------------------------
# Panel builders


class Layout:
    """Places panels left to right on Grafana's 24-column grid."""

    def __init__(self) -> None:
        self.x = self.y = self.row_h = 0
        self.next_id = 1
        self.panels: list[dict] = []

    def add(self, panel: dict, w: int, h: int) -> None:
        if self.x + w > 24:
            self.x, self.y, self.row_h = 0, self.y + self.row_h, 0
        panel["id"] = self.next_id
        panel["gridPos"] = {"x": self.x, "y": self.y, "w": w, "h": h}
        self.next_id += 1
        self.x += w
        self.row_h = max(self.row_h, h)
        self.panels.append(panel)

    def row(self, title: str) -> None:
        if self.x:
            self.x, self.y, self.row_h = 0, self.y + self.row_h, 0
        self.panels.append(
            {
                "type": "row",
                "title": title,
                "id": self.next_id,
                "collapsed": False,
                "panels": [],
                "gridPos": {"x": 0, "y": self.y, "w": 24, "h": 1},
            }
        )
        self.next_id += 1
        self.y += 1


def target(expr: str, legend: str = "", ref: str = "A", instant: bool = False) -> dict:
    t = {
        "refId": ref,
        "datasource": DS,
        "expr": expr,
        "legendFormat": legend or "__auto",
        "range": not instant,
        "instant": instant,
    }
    return t


def thresholds(*steps: tuple[str, float | None]) -> dict:
    return {"mode": "absolute", "steps": [{"color": c, "value": v} for c, v in steps]}


def panel(
    kind: str,
    title: str,
    description: str,
    targets: list[dict],
    *,
    unit: str = "short",
    decimals: int | None = None,
    steps: dict | None = None,
    minimum: float | None = None,
    maximum: float | None = None,
    options: dict | None = None,
    overrides: list | None = None,
) -> dict:
    defaults: dict = {"unit": unit, "color": {"mode": "thresholds" if steps else "palette-classic"}}
    if steps:
        defaults["thresholds"] = steps
    if decimals is not None:
        defaults["decimals"] = decimals
    if minimum is not None:
        defaults["min"] = minimum
    if maximum is not None:
        defaults["max"] = maximum
    if kind == "timeseries":
        defaults["custom"] = {
            "drawStyle": "line",
            "lineWidth": 2,
            "fillOpacity": 10,
            "showPoints": "never",
            "spanNulls": True,
        }
    opts = (
        {
            "legend": {"displayMode": "table", "placement": "bottom", "calcs": ["lastNotNull", "max"]},
            "tooltip": {"mode": "multi", "sort": "desc"},
        }
        if kind == "timeseries"
        else {
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "orientation": "auto",
            "textMode": "auto",
            "colorMode": "background",
            "graphMode": "area",
            "justifyMode": "auto",
        }
    )
    if kind == "bargauge":
        opts.update({"displayMode": "gradient", "orientation": "horizontal", "showUnfilled": True})
    if options:
        opts.update(options)
    for i, t in enumerate(targets):
        t["refId"] = chr(ord("A") + i)
    return {
        "type": kind,
        "title": title,
        "description": description,
        "datasource": DS,
        "targets": targets,
        "fieldConfig": {"defaults": defaults, "overrides": overrides or []},
        "options": opts,
    }


PCT_STEPS = thresholds(("red", None), ("orange", 0.9), ("green", OBJECTIVE))


# ---------------------------------------------------------------------------------------------
# Dashboards


def sla_overview() -> dict:
    L = Layout()
    L.row("Attainment: share of SLA clocks met (fulfilled within target / fulfilled + breached)")
    L.add(
        panel(
            "stat",
            "First-response attainment, last 1 h",
            "Per channel. Objective 95%. From recording rule switchboard:sla_events:rate1h.",
            [target(attainment("1h", "channel"), "{{channel}}", instant=True)],
            unit="percentunit",
            decimals=1,
            steps=PCT_STEPS,
            minimum=0,
            maximum=1,
        ),
        8,
        5,
    )
    L.add(
        panel(
            "stat",
            "First-response attainment, last 1 d",
            "Per channel, from switchboard:sla_events:rate1d.",
            [target(attainment("1d", "channel"), "{{channel}}", instant=True)],
            unit="percentunit",
            decimals=1,
            steps=PCT_STEPS,
            minimum=0,
            maximum=1,
        ),
        8,
        5,
    )
    L.add(
        panel(
            "bargauge",
            "Answered within what customers expect, last 1 d",
            "Share of first responses within 2.5 h (email), 1 h (chat), 9 min (phone): the survey "
            "figures, whatever the brand's own SLA says. Histogram bucket bounds sit on these values.",
            [target(within_expectation("1d"), "{{channel}}", instant=True)],
            unit="percentunit",
            decimals=1,
            steps=PCT_STEPS,
            minimum=0,
            maximum=1,
        ),
        8,
        5,
    )
    L.add(
        panel(
            "timeseries",
            "Attainment by channel and SLA metric (1 h window)",
            "Every SLA metric: first response, next response, resolution, phone answer, agent first "
            "response after a bot handoff. Dips below the 95% line spend error budget.",
            [target(attainment("1h", "channel, metric", ".+"), "{{channel}} {{metric}}")],
            unit="percentunit",
            minimum=0,
            maximum=1,
            steps=PCT_STEPS,
            options={"legend": {"displayMode": "table", "placement": "right", "calcs": ["lastNotNull", "min"]}},
        ),
        16,
        9,
    )
    L.add(
        panel(
            "timeseries",
            "First response p50 / p90 vs consumer expectation",
            "Calendar time to first response (p90 dashed lines: 9 min phone, 1 h chat, 2.5 h email).",
            [
                target(quantile(0.9, "switchboard_sla_first_response_seconds", "channel"), "p90 {{channel}}"),
                target(quantile(0.5, "switchboard_sla_first_response_seconds", "channel"), "p50 {{channel}}"),
                target(
                    'max by (channel) (switchboard:sla_first_response_expectation:seconds{channel=~"$channel"})',
                    "expected {{channel}}",
                ),
            ],
            unit="s",
            overrides=[
                {
                    "matcher": {"id": "byRegexp", "options": "expected.*"},
                    "properties": [{"id": "custom.lineStyle", "value": {"fill": "dash", "dash": [10, 10]}}],
                }
            ],
        ),
        8,
        9,
    )
    L.add(
        panel(
            "timeseries",
            "Breaches per hour by channel and metric",
            "SLA clocks that ran past their deadline (counted once, when detected).",
            [
                target(
                    "sum by (channel, metric) "
                    f'(increase(switchboard_sla_events_total{{{SEL},outcome="breached"}}[1h]))',
                    "{{channel}} {{metric}}",
                )
            ],
        ),
        12,
        8,
    )
    L.add(
        panel(
            "timeseries",
            "Warnings and breaches (rate per minute)",
            "Warnings fire at 75% / 90% of a budget: a rising warning line predicts breaches.",
            [
                target(
                    "sum by (outcome) (rate(switchboard_sla_events_total"
                    f'{{{SEL},outcome=~"warning|breached|fulfilled_late"}}[{RI}])) * 60',
                    "{{outcome}}",
                )
            ],
        ),
        12,
        8,
    )
    L.row("Backlog now (rebuilt from MongoDB on restart)")
    L.add(
        panel(
            "stat",
            "Open conversations",
            "Not resolved, any status.",
            [target(f"sum(switchboard_backlog_conversations{{{SEL}}})", "open", instant=True)],
            steps=thresholds(("blue", None)),
        ),
        6,
        4,
    )
    L.add(
        panel(
            "stat",
            "At risk",
            "Open with a running SLA clock that has less than 25% of its budget left.",
            [target(f"sum(switchboard_backlog_at_risk_conversations{{{SEL}}})", "at risk", instant=True)],
            steps=thresholds(("green", None), ("orange", 1), ("red", 20)),
        ),
        6,
        4,
    )
    L.add(
        panel(
            "stat",
            "Overdue",
            "Open with a running SLA clock past its deadline.",
            [target(f"sum(switchboard_backlog_overdue_conversations{{{SEL}}})", "overdue", instant=True)],
            steps=thresholds(("green", None), ("red", 1)),
        ),
        6,
        4,
    )
    L.add(
        panel(
            "stat",
            "Oldest waiting customer",
            "Age of the oldest unanswered customer message, per channel.",
            [
                target(
                    f"max by (channel) (switchboard_backlog_oldest_waiting_seconds{{{SEL}}})",
                    "{{channel}}",
                    instant=True,
                )
            ],
            unit="s",
            steps=thresholds(("green", None), ("orange", 540), ("red", 3600)),
        ),
        6,
        4,
    )
    L.add(
        panel(
            "timeseries",
            "Backlog by status",
            "Open conversations by status.",
            [target(f"sum by (status) (switchboard_backlog_conversations{{{SEL}}})", "{{status}}")],
            options={"legend": {"displayMode": "list", "placement": "bottom"}},
        ),
        8,
        8,
    )
    L.add(
        panel(
            "timeseries",
            "At risk and overdue by channel",
            "",
            [
                target(f"sum by (channel) (switchboard_backlog_at_risk_conversations{{{SEL}}})", "at risk {{channel}}"),
                target(f"sum by (channel) (switchboard_backlog_overdue_conversations{{{SEL}}})", "overdue {{channel}}"),
            ],
        ),
        8,
        8,
    )
    L.add(
        panel(
            "timeseries",
            "Oldest waiting vs expectation",
            "Dashed: what customers expect on the channel.",
            [
                target(f"max by (channel) (switchboard_backlog_oldest_waiting_seconds{{{SEL}}})", "{{channel}}"),
                target(
                    'max by (channel) (switchboard:sla_first_response_expectation:seconds{channel=~"$channel"})',
                    "expected {{channel}}",
                ),
            ],
            unit="s",
            overrides=[
                {
                    "matcher": {"id": "byRegexp", "options": "expected.*"},
                    "properties": [{"id": "custom.lineStyle", "value": {"fill": "dash", "dash": [10, 10]}}],
                }
            ],
        ),
        8,
        8,
    )
    L.row("By brand (outsourced centres serve several)")
    L.add(
        panel(
            "bargauge",
            "First-response attainment by brand and channel, last 1 d",
            "One bar per brand and channel; red below 90%, green from the 95% objective.",
            [target(attainment("1d", "brand, channel"), "{{brand}} / {{channel}}", instant=True)],
            unit="percentunit",
            decimals=1,
            steps=PCT_STEPS,
            minimum=0,
            maximum=1,
        ),
        12,
        8,
    )
    L.add(
        panel(
            "bargauge",
            "Open and overdue conversations by brand",
            "",
            [
                target(f"sum by (brand) (switchboard_backlog_conversations{{{SEL}}})", "{{brand}} open", instant=True),
                target(
                    f"sum by (brand) (switchboard_backlog_overdue_conversations{{{SEL}}})",
                    "{{brand}} overdue",
                    instant=True,
                ),
            ],
            decimals=0,
            steps=thresholds(("blue", None)),
        ),
        12,
        8,
    )
    return dashboard(
        "switchboard-sla-overview",
        "Switchboard / SLA overview",
        L.panels,
        "SLA attainment by channel against the 2.5 h / 1 h / 9 min consumer expectations, "
        "breaches, at-risk conversations, backlog and the oldest waiting customer.",
    )


def queues_and_agents() -> dict:
    L = Layout()
    L.row("Queues")
    L.add(
        panel(
            "timeseries",
            "Queue depth by queue",
            "Conversations waiting in a queue for an agent.",
            [target(f"sum by (queue) (switchboard_queue_depth{{{SEL}}})", "{{queue}}")],
        ),
        12,
        8,
    )
    L.add(
        panel(
            "timeseries",
            "Assignment wait p50 / p90 by queue",
            "Time in queue until an agent was assigned.",
            [
                target(quantile(0.9, "switchboard_assignment_wait_seconds", "queue"), "p90 {{queue}}"),
                target(quantile(0.5, "switchboard_assignment_wait_seconds", "queue"), "p50 {{queue}}"),
            ],
            unit="s",
        ),
        12,
        8,
    )
    L.add(
        panel(
            "timeseries",
            "Opened vs resolved per hour",
            "Arrivals above resolutions grow the backlog.",
            [
                target(f"sum(increase(switchboard_conversation_opened_total{{{SEL}}}[1h]))", "opened"),
                target(f"sum(increase(switchboard_conversation_resolved_total{{{SEL}}}[1h]))", "resolved"),
                target(f"sum(increase(switchboard_conversation_reopened_total{{{SEL}}}[1h]))", "reopened"),
            ],
        ),
        12,
        8,
    )
    L.add(
        panel(
            "bargauge",
            "Open conversations by queue and priority",
            "",
            [
                target(
                    f"sum by (queue, priority) (switchboard_backlog_conversations{{{SEL}}})",
                    "{{queue}} / {{priority}}",
                    instant=True,
                )
            ],
            steps=thresholds(("blue", None)),
        ),
        12,
        8,
    )
    L.row("Agents")
    L.add(
        panel(
            "gauge",
            "Agent occupancy",
            "Assigned conversations / (working agents x concurrent capacity). "
            "Above 85% for long, quality and response times suffer.",
            [target('avg by (brand) (switchboard_agent_occupancy_ratio{brand=~"$brand"})', "{{brand}}", instant=True)],
            unit="percentunit",
            minimum=0,
            maximum=1,
            steps=thresholds(("blue", None), ("green", 0.6), ("orange", 0.85), ("red", 0.95)),
        ),
        8,
        7,
    )
    L.add(
        panel(
            "timeseries",
            "Working agents and assigned conversations",
            "",
            [
                target('sum(switchboard_agent_working_agents{brand=~"$brand"})', "working agents"),
                target('sum(switchboard_agent_assigned_conversations{brand=~"$brand"})', "assigned conversations"),
            ],
        ),
        8,
        7,
    )
    L.add(
        panel(
            "timeseries",
            "Next response p90 and resolution p50 / p90",
            "Calendar time, per channel.",
            [
                target(
                    quantile(0.9, "switchboard_sla_next_response_seconds", "channel"), "next response p90 {{channel}}"
                ),
                target(quantile(0.5, "switchboard_sla_resolution_seconds", "channel"), "resolution p50 {{channel}}"),
                target(quantile(0.9, "switchboard_sla_resolution_seconds", "channel"), "resolution p90 {{channel}}"),
            ],
            unit="s",
        ),
        8,
        7,
    )
    L.row("Escalations and the polite loop")
    L.add(
        panel(
            "timeseries",
            "Escalations per hour by level and reason",
            "Level 1 assignee, 2 team lead, 3 manager.",
            [
                target(
                    f"sum by (level, reason) (increase(switchboard_escalations_total{{{SEL}}}[1h]))",
                    "L{{level}} {{reason}}",
                )
            ],
        ),
        12,
        8,
    )
    L.add(
        panel(
            "timeseries",
            "Repeat contacts and reopened conversations per hour",
            "Customers chasing an unresolved problem: fast replies that solve nothing.",
            [
                target(
                    f"sum by (channel) (increase(switchboard_repeat_contacts_total{{{SEL}}}[1h]))", "repeat {{channel}}"
                ),
                target(
                    f"sum by (channel) (increase(switchboard_conversation_reopened_total{{{SEL}}}[1h]))",
                    "reopened {{channel}}",
                ),
            ],
        ),
        12,
        8,
    )
    return dashboard(
        "switchboard-queues-agents",
        "Switchboard / Queues & agents",
        L.panels,
        "Queue depth and assignment wait, agent occupancy, response and resolution times, "
        "escalations and repeat contacts.",
    )


def bot_and_cx() -> dict:
    L = Layout()
    L.row("Bot")
    L.add(
        panel(
            "stat",
            "Bot containment, last 1 d",
            "Resolved without any human / all resolved. Higher is not "
            "always better: check CSAT and repeat contacts beside it.",
            [
                target(
                    f"sum(increase(switchboard_bot_contained_total{{{SEL}}}[1d])) / "
                    f"sum(increase(switchboard_conversation_resolved_total{{{SEL}}}[1d]))",
                    "contained",
                    instant=True,
                )
            ],
            unit="percentunit",
            decimals=1,
            steps=thresholds(("blue", None)),
        ),
        6,
        5,
    )
    L.add(
        panel(
            "stat",
            "Handoffs to a human, last 1 d",
            "Every handoff, any reason.",
            [target(f"sum(increase(switchboard_bot_handoffs_total{{{SEL}}}[1d]))", "handoffs", instant=True)],
            decimals=0,
            steps=thresholds(("blue", None)),
        ),
        6,
        5,
    )
    L.add(
        panel(
            "stat",
            "Agent first response after handoff, p90",
            "How long customers wait for a human once the bot gave up or they asked for one.",
            [
                target(
                    quantile(0.9, "switchboard_sla_agent_first_response_seconds", "channel", "1h"),
                    "{{channel}}",
                    instant=True,
                )
            ],
            unit="s",
            steps=thresholds(("green", None), ("orange", 120), ("red", 540)),
        ),
        12,
        5,
    )
    L.add(
        panel(
            "timeseries",
            "Handoffs by reason per hour",
            "requested_human, unmatched_twice, angry_or_urgent ... "
            "A high requested_human share means the bot is in the way.",
            [target(f"sum by (reason) (increase(switchboard_bot_handoffs_total{{{SEL}}}[1h]))", "{{reason}}")],
        ),
        12,
        8,
    )
    L.add(
        panel(
            "timeseries",
            "Messages by author (per minute)",
            "Customer, bot and agent messages.",
            [
                target(
                    f"sum by (author) (rate(switchboard_conversation_messages_total{{{SEL}}}[{RI}])) * 60", "{{author}}"
                )
            ],
        ),
        12,
        8,
    )
    L.row("Customer experience")
    L.add(
        panel(
            "stat",
            "CSAT: satisfied (4-5), last 1 d",
            "Share of survey responses scoring 4 or 5.",
            [
                target(
                    f'sum(increase(switchboard_csat_responses_total{{{SEL},score=~"4|5"}}[1d])) / '
                    f'sum(increase(switchboard_csat_responses_total{{{SEL},score=~"[1-5]"}}[1d]))',
                    "CSAT",
                    instant=True,
                )
            ],
            unit="percentunit",
            decimals=1,
            steps=thresholds(("red", None), ("orange", 0.7), ("green", 0.85)),
        ),
        6,
        6,
    )
    L.add(
        panel(
            "bargauge",
            "CSAT responses by score, last 1 d",
            "",
            [
                target(
                    f"sum by (score) (increase(switchboard_csat_responses_total{{{SEL}}}[1d]))",
                    "{{score}}",
                    instant=True,
                )
            ],
            decimals=0,
            steps=thresholds(("blue", None)),
        ),
        6,
        6,
    )
    L.add(
        panel(
            "stat",
            "Chat transcripts sent / chats ended, last 1 d",
            "55% of companies send no transcript "
            "after a chat; this should be close to 100% of chats whose customer wanted one.",
            [
                target(
                    f'sum(increase(switchboard_customer_messages_sent_total{{{SEL},kind="transcript"}}[1d])) / '
                    f"sum(increase(switchboard_conversation_chats_ended_total{{{SEL}}}[1d]))",
                    "transcripts",
                    instant=True,
                )
            ],
            unit="percentunit",
            decimals=1,
            steps=thresholds(("red", None), ("orange", 0.8), ("green", 0.95)),
        ),
        6,
        6,
    )
    L.add(
        panel(
            "stat",
            "Proactive updates sent, last 1 d",
            "Scheduled 'no update in N hours' messages delivered.",
            [
                target(
                    f'sum(increase(switchboard_customer_messages_sent_total{{{SEL},kind="proactive_update"}}[1d]))',
                    "proactive",
                    instant=True,
                )
            ],
            decimals=0,
            steps=thresholds(("blue", None)),
        ),
        6,
        6,
    )
    L.add(
        panel(
            "timeseries",
            "Messages sent to customers by kind (per hour)",
            "Agent replies, bot answers, transcripts, CSAT surveys, proactive and queue-position updates.",
            [target(f"sum by (kind) (increase(switchboard_customer_messages_sent_total{{{SEL}}}[1h]))", "{{kind}}")],
        ),
        12,
        8,
    )
    L.add(
        panel(
            "timeseries",
            "Delivery outcomes (per minute)",
            "delivered, failed (after retries), skipped.",
            [
                target(
                    f"sum by (outcome) (rate(switchboard_delivery_outcomes_total{{{SEL}}}[{RI}])) * 60", "{{outcome}}"
                )
            ],
        ),
        12,
        8,
    )
    return dashboard(
        "switchboard-bot-cx",
        "Switchboard / Bot & customer experience",
        L.panels,
        "Bot containment and handoffs, CSAT, transcripts, proactive updates and delivery outcomes.",
    )


def platform_health() -> dict:
    L = Layout()
    L.row("Kafka consumers (every service)")
    L.add(
        panel(
            "timeseries",
            "Consumer lag by group and topic",
            "High watermark - committed offset. Exact on "
            "Apache Kafka; on the embedded Tansu broker it can be off by up to one producer batch per partition.",
            [target("sum by (group, topic) (switchboard_bus_consumer_lag)", "{{group}} {{topic}}")],
        ),
        12,
        8,
    )
    L.add(
        panel(
            "timeseries",
            "Records consumed / produced per second",
            "",
            [
                target(f"sum by (group) (rate(switchboard_bus_records_consumed_total[{RI}]))", "consumed {{group}}"),
                target(f"sum by (topic) (rate(switchboard_bus_records_produced_total[{RI}]))", "produced {{topic}}"),
            ],
        ),
        12,
        8,
    )
    L.add(
        panel(
            "timeseries",
            "Batch handling latency p50 / p99",
            "Per consumed batch, producer drain and commit included.",
            [
                target(
                    f"histogram_quantile(0.99, sum by (group, le) "
                    f"(rate(switchboard_bus_handler_duration_seconds_bucket[{RI}])))",
                    "p99 {{group}}",
                ),
                target(
                    f"histogram_quantile(0.5, sum by (group, le) "
                    f"(rate(switchboard_bus_handler_duration_seconds_bucket[{RI}])))",
                    "p50 {{group}}",
                ),
            ],
            unit="s",
        ),
        12,
        8,
    )
    L.add(
        panel(
            "timeseries",
            "Event age when handled, p90",
            "now - ce_time: end-to-end delay through the pipeline.",
            [
                target(
                    f"histogram_quantile(0.9, sum by (group, le) "
                    f"(rate(switchboard_bus_record_age_seconds_bucket[{RI}])))",
                    "{{group}}",
                )
            ],
            unit="s",
        ),
        12,
        8,
    )
    L.row("Errors and dead letters")
    L.add(
        panel(
            "timeseries",
            "Handler errors by kind (per minute)",
            "transient: retried without commit; permanent / unknown: isolated, then dead-lettered.",
            [
                target(
                    f"sum by (group, kind) (rate(switchboard_bus_handler_errors_total[{RI}])) * 60",
                    "{{group}} {{kind}}",
                )
            ],
        ),
        8,
        8,
    )
    L.add(
        panel(
            "timeseries",
            "Dead-lettered records per hour",
            "Each is a missing effect until replayed.",
            [
                target(
                    "sum by (topic, reason) (increase(switchboard_bus_dlq_records_total[1h]))", "{{topic}} {{reason}}"
                )
            ],
        ),
        8,
        8,
    )
    L.add(
        panel(
            "timeseries",
            "Failed notification deliveries (per hour)",
            "Gave up after the retry budget.",
            [
                target(
                    f'sum by (kind) (increase(switchboard_delivery_outcomes_total{{{SEL},outcome="failed"}}[1h]))',
                    "{{kind}}",
                )
            ],
        ),
        8,
        8,
    )
    L.row("Processes")
    L.add(
        panel(
            "timeseries",
            "Assigned partitions by group",
            "0 for a group that should consume: a stuck join.",
            [target("sum by (group) (switchboard_bus_assigned_partitions)", "{{group}}")],
        ),
        8,
        7,
    )
    L.add(
        panel(
            "timeseries",
            "Resident memory by job",
            "",
            [target("sum by (job) (process_resident_memory_bytes)", "{{job}}")],
            unit="bytes",
        ),
        8,
        7,
    )
    L.add(
        panel(
            "timeseries",
            "CPU by job",
            "",
            [target(f"sum by (job) (rate(process_cpu_seconds_total[{RI}]))", "{{job}}")],
            unit="percentunit",
        ),
        8,
        7,
    )
    return dashboard(
        "switchboard-platform-health",
        "Switchboard / Platform health",
        L.panels,
        "Consumer lag, throughput, handler latency, errors and dead-letter queues of every service.",
    )


def dashboard(uid: str, title: str, panels: list[dict], description: str) -> dict:
    variable_source = "switchboard_backlog_conversations"
    query_var = lambda name, query, label: {  # noqa: E731
        "name": name,
        "label": label,
        "type": "query",
        "datasource": DS,
        "query": {"query": query, "refId": f"{name}-variable", "qryType": 1},
        "definition": query,
        "refresh": 2,
        "includeAll": True,
        "multi": True,
        "allValue": ".*",
        "sort": 1,
        "regex": "",
        "hide": 0,
        "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
        "options": [],
    }
    return {
        "uid": uid,
        "title": title,
        "description": description,
        "tags": ["switchboard"],
        "schemaVersion": 39,
        "version": 1,
        "editable": True,
        "graphTooltip": 1,
        "timezone": "utc",
        "time": {"from": "now-24h", "to": "now"},
        "refresh": "1m",
        "fiscalYearStartMonth": 0,
        "links": [
            {
                "title": "Switchboard dashboards",
                "type": "dashboards",
                "tags": ["switchboard"],
                "asDropdown": True,
                "includeVars": True,
                "keepTime": True,
            }
        ],
        "annotations": {
            "list": [
                {
                    "builtIn": 1,
                    "datasource": {"type": "grafana", "uid": "-- Grafana --"},
                    "enable": True,
                    "hide": True,
                    "iconColor": "rgba(0, 211, 255, 1)",
                    "name": "Annotations & Alerts",
                    "type": "dashboard",
                }
            ]
        },
        "templating": {
            "list": [
                {
                    "name": "datasource",
                    "label": "Data source",
                    "type": "datasource",
                    "query": "prometheus",
                    "refresh": 1,
                    "regex": "",
                    "hide": 0,
                    "current": {},
                    "options": [],
                },
                query_var("brand", f"label_values({variable_source}, brand)", "Brand"),
                query_var("channel", f'label_values({variable_source}{{brand=~"$brand"}}, channel)', "Channel"),
            ]
        },
        "panels": panels,
    }


DASHBOARDS = {
    "sla-overview.json": sla_overview,
    "queues-agents.json": queues_and_agents,
    "bot-customer-experience.json": bot_and_cx,
    "platform-health.json": platform_health,
}


def render() -> dict[str, str]:
    return {name: json.dumps(build(), indent=2, ensure_ascii=False) + "\n" for name, build in DASHBOARDS.items()}


def main(argv: list[str]) -> int:
    stale = []
    for name, text in render().items():
        path = HERE / name
        if "--check" in argv:
            if not path.exists() or path.read_text() != text:
                stale.append(name)
        else:
            path.write_text(text)
    if stale:
        print(f"stale dashboards (run python {Path(__file__).relative_to(HERE.parents[1])}): {', '.join(stale)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
