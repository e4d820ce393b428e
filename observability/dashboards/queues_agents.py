"""Dashboard "Switchboard / Queues & agents": queue depth and assignment wait, agent occupancy,
response and resolution times, escalations and repeat contacts."""

from __future__ import annotations

from frame import dashboard
from presets import (
    BLUE,
    SEL,
    Layout,
    bargauge,
    gauge,
    increase,
    now,
    quantile,
    target,
    thresholds,
    timeseries,
)

FILE = "queues-agents.json"
UID, TITLE = "switchboard-queues-agents", "Switchboard / Queues & agents"
DESCRIPTION = (
    "Queue depth and assignment wait, agent occupancy, response and resolution times, "
    "escalations and repeat contacts."
)
ASSIGNMENT_WAIT = "switchboard_assignment_wait_seconds"
RESOLUTION = "switchboard_sla_resolution_seconds"


def _queues(grid: Layout) -> None:
    grid.row("Queues")
    grid.add(timeseries("Queue depth by queue", "Conversations waiting in a queue for an agent.",
                        target(f"sum by (queue) (switchboard_queue_depth{{{SEL}}})", "{{queue}}")), 12, 8)
    grid.add(timeseries("Assignment wait p50 / p90 by queue", "Time in queue until an agent was assigned.",
                        target(quantile(0.9, ASSIGNMENT_WAIT, "queue"), "p90 {{queue}}"),
                        target(quantile(0.5, ASSIGNMENT_WAIT, "queue"), "p50 {{queue}}"), unit="s"), 12, 8)
    grid.add(timeseries("Opened vs resolved per hour", "Arrivals above resolutions grow the backlog.",
                        *(target(increase(f"switchboard_conversation_{what}_total"), what)
                          for what in ("opened", "resolved", "reopened"))), 12, 8)
    grid.add(bargauge("Open conversations by queue and priority", "",
                      now(f"sum by (queue, priority) (switchboard_backlog_conversations{{{SEL}}})",
                          "{{queue}} / {{priority}}"), steps=BLUE), 12, 8)


def _agents(grid: Layout) -> None:
    grid.row("Agents")
    grid.add(gauge("Agent occupancy",
                   "Assigned conversations / (working agents x concurrent capacity). "
                   "Above 85% for long, quality and response times suffer. "
                   "One analytics replica reports it (the owner of conversations partition 0): max, not sum.",
                   now('max by (brand) (switchboard_agent_occupancy_ratio{brand=~"$brand"})', "{{brand}}"),
                   unit="percentunit", minimum=0, maximum=1,
                   steps=thresholds(("blue", None), ("green", 0.6), ("orange", 0.85), ("red", 0.95))), 8, 7)
    grid.add(timeseries("Working agents and assigned conversations",
                        "Counted over every partition by one analytics replica: max per brand (during a hand-over "
                        "two replicas may both report it for a moment), then summed over brands.",
                        target('sum(max by (brand) (switchboard_agent_working_agents{brand=~"$brand"}))',
                               "working agents"),
                        target('sum(max by (brand) (switchboard_agent_assigned_conversations{brand=~"$brand"}))',
                               "assigned conversations")), 8, 7)
    grid.add(timeseries("Next response p90 and resolution p50 / p90", "Calendar time, per channel.",
                        target(quantile(0.9, "switchboard_sla_next_response_seconds", "channel"),
                               "next response p90 {{channel}}"),
                        target(quantile(0.5, RESOLUTION, "channel"), "resolution p50 {{channel}}"),
                        target(quantile(0.9, RESOLUTION, "channel"), "resolution p90 {{channel}}"), unit="s"), 8, 7)


def _escalations(grid: Layout) -> None:
    grid.row("Escalations and the polite loop")
    grid.add(timeseries("Escalations per hour by level and reason", "Level 1 assignee, 2 team lead, 3 manager.",
                        target(increase("switchboard_escalations_total", "level, reason"), "L{{level}} {{reason}}")),
             12, 8)
    grid.add(timeseries("Repeat contacts and reopened conversations per hour",
                        "Customers chasing an unresolved problem: fast replies that solve nothing.",
                        target(increase("switchboard_repeat_contacts_total", "channel"), "repeat {{channel}}"),
                        target(increase("switchboard_conversation_reopened_total", "channel"), "reopened {{channel}}")),
             12, 8)


def build() -> dict:
    return dashboard(UID, TITLE, DESCRIPTION, (_queues, _agents, _escalations))
