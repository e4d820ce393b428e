"""The long-queue figure (part of `python benchmarks/router.py`): 2,000 customers wait, 1,000 arrive.

Pure domain, no broker or store: the router's decision for each arrival on a resident queue, as it
runs inside a batch. Half the waiting customers wrote by email and half by chat; every agent is busy.
Arrivals (one per second of event time, chat and email alternating) each queue a conversation; every
tenth arrival an agent resolves one conversation, which frees a slot and picks up the next in line.
Reported: queue-position notifications per arrival (mean and max, pickups included) and the engine's
time per arrival (p50/p99).
"""

from __future__ import annotations

import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta

T0 = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


def _config():
    from switchboard.router.adapters.config_files import load_templates
    from switchboard.router.domain.config import RouterConfig, parse_bot, parse_routing

    agents = [{"id": f"agent-{i}", "languages": ["*"], "channels": ["chat", "email"],
               "capacity": {"chat": 3, "email": 5}, "presence": "online"} for i in range(8)]
    routing = {"version": 1, "defaults": {"queues": [{"name": "general", "match": {}}]},
               "brands": {"bench": {"queues": [{"name": "general", "match": {}}], "agents": agents}}}
    bot_doc = {"version": 1, "defaults": {"keywords": {"human": ["human"]}}, "brands": {}}
    return RouterConfig(routing=parse_routing(routing), bot=parse_bot(bot_doc, load_templates()))


def _derive(*parts) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "|".join(str(p) for p in parts)))


def _message(i: int, channel: str, at: datetime):
    from switchboard.router.domain.inputs import MessageIn
    from switchboard.router.domain.model import Handle

    sender = Handle("email", f"c{i}@example.com") if channel == "email" else Handle("chat_session", f"s{i}")
    return MessageIn(event_id=f"in-{i}", brand_id="bench", channel=channel, provider="bench",
                     provider_message_id=f"pm-{i}", sender=sender, sent_at=at, text="human please", language="en")


def _agents(config):
    from switchboard.router.domain.model import Agent

    return {a.agent_id: Agent(id=f"bench/{a.agent_id}", brand_id="bench", agent_id=a.agent_id, queues=list(a.queues),
                              languages=list(a.languages), channels=list(a.channels), capacity=dict(a.capacity),
                              presence="online", idle_since=T0)
            for a in config.brand_routing("bench").agents}


def bench_queue(queued: int = 2000, arrivals: int = 1000) -> dict:
    from switchboard.router.domain.engine import Engine, Workspace
    from switchboard.router.domain.inputs import CommandIn, ResolveConversation

    config = _config()
    engine, ws = Engine(config, _derive), Workspace()
    ws.agents["bench"] = _agents(config)
    n = 0
    while len(ws.queue.get("bench", {})) < queued:  # the first 8 x 8 are assigned at once; the rest wait
        engine.apply(ws, _message(n, "email" if n % 2 else "chat", T0 + timedelta(milliseconds=n)))
        n += 1
    waiting = len(ws.queue["bench"])
    ws.effects.clear()
    per_arrival, timings = [], []
    for k in range(arrivals):
        at = T0 + timedelta(minutes=10, seconds=k)
        inputs = [_message(n, "chat" if k % 2 else "email", at)]
        n += 1
        if k % 10 == 9:
            conv = next(c for c in ws.conversations.values() if c.status == "assigned")
            inputs.append(CommandIn(event_id=f"cmd-{k}", brand_id="bench", agent_id=conv.assignee_id, at=at,
                                    command=ResolveConversation(conversation_id=conv.id)))
        before = len(ws.effects)
        started = time.perf_counter()
        for inp in inputs:
            engine.apply(ws, inp)
        timings.append((time.perf_counter() - started) * 1000 / len(inputs))
        per_arrival.append(sum(1 for e in ws.effects[before:] if e.case == "queue_position"))
    ordered = sorted(timings)
    return {
        "queued": waiting,
        "arrivals": arrivals,
        "resolutions": arrivals // 10,
        "notifications_per_arrival_mean": round(statistics.mean(per_arrival), 3),
        "notifications_per_arrival_max": max(per_arrival),
        "routing_ms_per_input_p50": round(statistics.median(timings), 4),
        "routing_ms_per_input_p99": round(ordered[min(len(ordered) - 1, int(0.99 * (len(ordered) - 1)))], 4),
    }
