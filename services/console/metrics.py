"""Prometheus metrics of the console (labels bounded: peer, outcome, action)."""
from prometheus_client import Counter, Gauge, Histogram

PEER_SECONDS = Histogram("switchboard_console_peer_request_seconds",
                         "Time of the console's calls to router/SLA read APIs and ingest's agent API",
                         ["peer", "outcome"], buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))
ACTIONS = Counter("switchboard_console_actions", "Agent actions sent through ingest, by outcome",
                  ["action", "outcome"])
LIST_SECONDS = Histogram("switchboard_console_list_seconds", "Time of one inbox list query",
                         buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1))
SSE_CLIENTS = Gauge("switchboard_console_sse_clients", "Browsers subscribed to live updates")
LIVE_EVENTS = Counter("switchboard_console_live_events", "Activity facts pushed to subscribed browsers")
LOGINS = Counter("switchboard_console_logins", "Login attempts by outcome", ["outcome"])
