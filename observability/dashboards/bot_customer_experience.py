"""Dashboard "Switchboard / Bot & customer experience": containment and handoffs, CSAT, transcripts,
proactive updates and delivery outcomes."""

from __future__ import annotations

from frame import dashboard
from presets import (
    BLUE,
    Layout,
    bargauge,
    increase,
    now,
    per_minute,
    quantile,
    stat,
    target,
    thresholds,
    timeseries,
)

FILE = "bot-customer-experience.json"
UID, TITLE = "switchboard-bot-cx", "Switchboard / Bot & customer experience"
DESCRIPTION = (
    "Bot containment and handoffs, CSAT, transcripts, proactive updates and delivery outcomes."
)
SENT = "switchboard_customer_messages_sent_total"
CSAT = "switchboard_csat_responses_total"
SATISFIED, SCORED = ',score=~"4|5"', ',score=~"[1-5]"'
TRANSCRIPT, PROACTIVE = ',kind="transcript"', ',kind="proactive_update"'


def _bot(grid: Layout) -> None:
    grid.row("Bot")
    grid.add(stat("Bot containment, last 1 d",
                  "Resolved without any human / all resolved. Higher is not "
                  "always better: check CSAT and repeat contacts beside it.",
                  now(f"{increase('switchboard_bot_contained_total', window='1d')} / "
                      f"{increase('switchboard_conversation_resolved_total', window='1d')}", "contained"),
                  unit="percentunit", decimals=1, steps=BLUE), 6, 5)
    grid.add(stat("Handoffs to a human, last 1 d", "Every handoff, any reason.",
                  now(increase("switchboard_bot_handoffs_total", window="1d"), "handoffs"),
                  decimals=0, steps=BLUE), 6, 5)
    grid.add(stat("Agent first response after handoff, p90",
                  "How long customers wait for a human once the bot gave up or they asked for one.",
                  now(quantile(0.9, "switchboard_sla_agent_first_response_seconds", "channel", "1h"), "{{channel}}"),
                  unit="s", steps=thresholds(("green", None), ("orange", 120), ("red", 540))), 12, 5)
    grid.add(timeseries("Handoffs by reason per hour",
                        "requested_human, unmatched_twice, angry_or_urgent ... "
                        "A high requested_human share means the bot is in the way.",
                        target(increase("switchboard_bot_handoffs_total", "reason"), "{{reason}}")), 12, 8)
    grid.add(timeseries("Messages by author (per minute)", "Customer, bot and agent messages.",
                        target(per_minute("switchboard_conversation_messages_total", "author"), "{{author}}")),
             12, 8)


def _satisfaction(grid: Layout) -> None:
    grid.row("Customer experience")
    grid.add(stat("CSAT: satisfied (4-5), last 1 d", "Share of survey responses scoring 4 or 5.",
                  now(f"{increase(CSAT, window='1d', extra=SATISFIED)} / {increase(CSAT, window='1d', extra=SCORED)}",
                      "CSAT"),
                  unit="percentunit", decimals=1, steps=thresholds(("red", None), ("orange", 0.7), ("green", 0.85))),
             6, 6)
    grid.add(bargauge("CSAT responses by score, last 1 d", "",
                      now(increase(CSAT, "score", window="1d"), "{{score}}"), decimals=0, steps=BLUE), 6, 6)


def _messages_sent(grid: Layout) -> None:
    grid.add(stat("Chat transcripts sent / chats ended, last 1 d",
                  "55% of companies send no transcript "
                  "after a chat; this should be close to 100% of chats whose customer wanted one.",
                  now(f"{increase(SENT, window='1d', extra=TRANSCRIPT)} / "
                      f"{increase('switchboard_conversation_chats_ended_total', window='1d')}", "transcripts"),
                  unit="percentunit", decimals=1, steps=thresholds(("red", None), ("orange", 0.8), ("green", 0.95))),
             6, 6)
    grid.add(stat("Proactive updates sent, last 1 d", "Scheduled 'no update in N hours' messages delivered.",
                  now(increase(SENT, window="1d", extra=PROACTIVE), "proactive"),
                  decimals=0, steps=BLUE), 6, 6)
    grid.add(timeseries("Messages sent to customers by kind (per hour)",
                        "Agent replies, bot answers, transcripts, CSAT surveys, proactive and queue-position updates.",
                        target(increase(SENT, "kind"), "{{kind}}")), 12, 8)
    grid.add(timeseries("Delivery outcomes (per minute)", "delivered, failed (after retries), skipped.",
                        target(per_minute("switchboard_delivery_outcomes_total", "outcome"), "{{outcome}}")), 12, 8)


def build() -> dict:
    return dashboard(UID, TITLE, DESCRIPTION, (_bot, _satisfaction, _messages_sent))
