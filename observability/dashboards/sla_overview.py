"""Dashboard "Switchboard / SLA overview": attainment against the consumer expectations, breaches,
the backlog now (at risk, overdue, oldest waiting) and the same by brand."""

from __future__ import annotations

from frame import dashboard
from presets import (
    ATTAINMENT,
    BLUE,
    EXPECTATION_DASHES,
    RI,
    SEL,
    Layout,
    attainment,
    bargauge,
    expectation_line,
    now,
    quantile,
    stat,
    target,
    thresholds,
    timeseries,
    within_expectation,
)

FILE = "sla-overview.json"
UID, TITLE = "switchboard-sla-overview", "Switchboard / SLA overview"
DESCRIPTION = (
    "SLA attainment by channel against the 2.5 h / 1 h / 9 min consumer expectations, "
    "breaches, at-risk conversations, backlog and the oldest waiting customer."
)
FIRST_RESPONSE = "switchboard_sla_first_response_seconds"
# The two headline stats: window -> description.
RECENT_ATTAINMENT = {
    "1h": "Per channel. Objective 95%. From recording rule switchboard:sla_events:rate1h.",
    "1d": "Per channel, from switchboard:sla_events:rate1d.",
}


def _attainment(grid: Layout) -> None:
    grid.row("Attainment: share of SLA clocks met (fulfilled within target / fulfilled + breached)")
    for window, description in RECENT_ATTAINMENT.items():
        grid.add(stat(f"First-response attainment, last {window[:-1]} {window[-1]}", description,
                      now(attainment(window, "channel"), "{{channel}}"), **ATTAINMENT), 8, 5)
    grid.add(bargauge("Answered within what customers expect, last 1 d",
                      "Share of first responses within 2.5 h (email), 1 h (chat), 9 min (phone): the survey "
                      "figures, whatever the brand's own SLA says. Histogram bucket bounds sit on these values.",
                      now(within_expectation("1d"), "{{channel}}"), **ATTAINMENT), 8, 5)
    grid.add(timeseries("Attainment by channel and SLA metric (1 h window)",
                        "Every SLA metric: first response, next response, resolution, phone answer, agent first "
                        "response after a bot handoff. Dips below the 95% line spend error budget.",
                        target(attainment("1h", "channel, metric", ".+"), "{{channel}} {{metric}}"),
                        unit="percentunit", minimum=0, maximum=1, steps=ATTAINMENT["steps"],
                        options={"legend": {"displayMode": "table", "placement": "right",
                                            "calcs": ["lastNotNull", "min"]}}), 16, 9)
    grid.add(timeseries("First response p50 / p90 vs consumer expectation",
                        "Calendar time to first response (p90 dashed lines: 9 min phone, 1 h chat, 2.5 h email).",
                        target(quantile(0.9, FIRST_RESPONSE, "channel"), "p90 {{channel}}"),
                        target(quantile(0.5, FIRST_RESPONSE, "channel"), "p50 {{channel}}"),
                        expectation_line(), unit="s", overrides=EXPECTATION_DASHES), 8, 9)
    grid.add(timeseries("Breaches per hour by channel and metric",
                        "SLA clocks that ran past their deadline (counted once, when detected).",
                        target("sum by (channel, metric) "
                               f'(increase(switchboard_sla_events_total{{{SEL},outcome="breached"}}[1h]))',
                               "{{channel}} {{metric}}")), 12, 8)
    grid.add(timeseries("Warnings and breaches (rate per minute)",
                        "Warnings fire at 75% / 90% of a budget: a rising warning line predicts breaches.",
                        target("sum by (outcome) (rate(switchboard_sla_events_total"
                               f'{{{SEL},outcome=~"warning|breached|fulfilled_late"}}[{RI}])) * 60',
                               "{{outcome}}")), 12, 8)


def _backlog_now(grid: Layout) -> None:
    grid.row("Backlog now (rebuilt from MongoDB on restart)")
    grid.add(stat("Open conversations", "Not resolved, any status.",
                  now(f"sum(switchboard_backlog_conversations{{{SEL}}})", "open"), steps=BLUE), 6, 4)
    grid.add(stat("At risk", "Open with a running SLA clock that has less than 25% of its budget left.",
                  now(f"sum(switchboard_backlog_at_risk_conversations{{{SEL}}})", "at risk"),
                  steps=thresholds(("green", None), ("orange", 1), ("red", 20))), 6, 4)
    grid.add(stat("Overdue", "Open with a running SLA clock past its deadline.",
                  now(f"sum(switchboard_backlog_overdue_conversations{{{SEL}}})", "overdue"),
                  steps=thresholds(("green", None), ("red", 1))), 6, 4)
    grid.add(stat("Oldest waiting customer", "Age of the oldest unanswered customer message, per channel.",
                  now(f"max by (channel) (switchboard_backlog_oldest_waiting_seconds{{{SEL}}})", "{{channel}}"),
                  unit="s", steps=thresholds(("green", None), ("orange", 540), ("red", 3600))), 6, 4)
    grid.add(timeseries("Backlog by status", "Open conversations by status.",
                        target(f"sum by (status) (switchboard_backlog_conversations{{{SEL}}})", "{{status}}"),
                        options={"legend": {"displayMode": "list", "placement": "bottom"}}), 8, 8)
    grid.add(timeseries("At risk and overdue by channel", "",
                        target(f"sum by (channel) (switchboard_backlog_at_risk_conversations{{{SEL}}})",
                               "at risk {{channel}}"),
                        target(f"sum by (channel) (switchboard_backlog_overdue_conversations{{{SEL}}})",
                               "overdue {{channel}}")), 8, 8)
    grid.add(timeseries("Oldest waiting vs expectation", "Dashed: what customers expect on the channel.",
                        target(f"max by (channel) (switchboard_backlog_oldest_waiting_seconds{{{SEL}}})",
                               "{{channel}}"),
                        expectation_line(), unit="s", overrides=EXPECTATION_DASHES), 8, 8)


def _by_brand(grid: Layout) -> None:
    grid.row("By brand (outsourced centres serve several)")
    grid.add(bargauge("First-response attainment by brand and channel, last 1 d",
                      "One bar per brand and channel; red below 90%, green from the 95% objective.",
                      now(attainment("1d", "brand, channel"), "{{brand}} / {{channel}}"), **ATTAINMENT), 12, 8)
    grid.add(bargauge("Open and overdue conversations by brand", "",
                      now(f"sum by (brand) (switchboard_backlog_conversations{{{SEL}}})", "{{brand}} open"),
                      now(f"sum by (brand) (switchboard_backlog_overdue_conversations{{{SEL}}})",
                          "{{brand}} overdue"),
                      decimals=0, steps=BLUE), 12, 8)


def build() -> dict:
    return dashboard(UID, TITLE, DESCRIPTION, (_attainment, _backlog_now, _by_brand))
