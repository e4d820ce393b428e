"""The names the console uses on the wire, in MongoDB and in the pages (lower-case, stable)."""
from __future__ import annotations

STATUSES = ("bot", "queued", "assigned", "waiting_on_customer", "waiting_on_third_party", "resolved")
OPEN_STATUSES = tuple(s for s in STATUSES if s != "resolved")
PRIORITIES = ("low", "normal", "high", "urgent")
CHANNELS = ("email", "chat", "phone", "sms", "whatsapp", "messenger", "vk", "telegram", "web_form", "marketplace")
SLA_STATES = ("running", "at_risk", "breached", "paused")
METRICS = ("first_response", "next_response", "resolution", "phone_answer", "agent_first_response")
PRESENCES = ("online", "away", "offline")
ROLES = ("agent", "supervisor")

# Agent-settable statuses (ingest's agent API accepts exactly these).
SETTABLE_STATUSES = ("waiting_on_customer", "waiting_on_third_party", "assigned")


def priority_rank(priority: str) -> int:
    """urgent sorts first on the board; unknown priorities rank as normal."""
    return PRIORITIES.index(priority) if priority in PRIORITIES else 1
