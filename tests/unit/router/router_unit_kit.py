"""Pure-domain fixtures: config from inline documents, an engine with deterministic ids, input builders."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from switchboard.router.adapters.config_files import load_templates
from switchboard.router.domain.config import RouterConfig, parse_bot, parse_routing
from switchboard.router.domain.engine import Engine, Workspace
from switchboard.router.domain.inputs import COMMAND_KINDS, CommandIn, MessageIn, OrderIn, TickIn
from switchboard.router.domain.model import Agent, Handle

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)

ROUTING = {
    "version": 1,
    "defaults": {
        "windows": {"reopen": "1h", "eta": "10m", "eta_default_per_position": "60s", "csat_delay": "30m"},
        "queues": [{"name": "general", "match": {}}],
    },
    "brands": {
        "acme": {
            "vip_customers": ["vip@example.com"],
            "queues": [
                {"name": "vip", "match": {"vip": True}},
                {"name": "zh", "match": {"languages": ["zh"]}},
                {"name": "general", "match": {}},
            ],
            "agents": [
                {
                    "id": "alice",
                    "queues": ["general", "vip"],
                    "languages": ["en", "de"],
                    "channels": ["chat", "email"],
                    "capacity": {"chat": 2, "email": 2},
                    "vip": True,
                },
                {
                    "id": "bob",
                    "queues": ["general", "zh"],
                    "languages": ["en", "zh"],
                    "channels": ["chat", "email"],
                    "capacity": {"chat": 1, "email": 1},
                },
                {
                    "id": "chen",
                    "queues": ["zh"],
                    "languages": ["zh"],
                    "channels": ["chat", "email", "phone"],
                    "capacity": {"chat": 1, "email": 1, "phone": 1},
                },
            ],
        }
    },
}

BOT = {
    "version": 1,
    "defaults": {
        "keywords": {
            "human": [
                "human",
                "agent",
                "representative",
                "人工",
                "人工服务",
                "客服",
                "оператор",
                "humano",
                "Mensch",
                "conseiller",
                "operatore",
                "オペレーター",
                "상담원",
                "atendente",
            ],
            "angry": ["ridiculous", "scam", "Betrug", "骗子"],
            "urgent": ["urgent", "срочно"],
        },
        "repeated_messages": {"count": 3, "window": "2m"},
        "intents": {
            "order_status": ["where is my order", "my order", "mi pedido", "订单"],
            "shipping_time": ["how long", "cuánto tarda"],
            "return_policy": ["return", "refund", "devolución", "退货"],
        },
        "faq": {
            "return_days": 45,
            "return_url": "https://acme.example/returns",
            "shipping_days_min": 3,
            "shipping_days_max": 8,
        },
    },
    "brands": {"acme": {}},
}


@pytest.fixture(scope="session")
def templates():
    return load_templates()


@pytest.fixture
def config(templates) -> RouterConfig:
    return RouterConfig(routing=parse_routing(ROUTING), bot=parse_bot(BOT, templates))


def derive(*parts) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "|".join(str(p) for p in parts)))


@pytest.fixture(params=["in_line", "deferred", "split"], ids=lambda mode: f"routing_{mode}")
def engine(config, request) -> Engine:
    """Every engine test runs three ways: routing steps run as the contact side asks for them; deferred
    (recorded, then replayed on the same workspace: routing_ops.py); and split, the routing side on a
    workspace of its own fed only by the recorded steps (split_kit.py): how a stage keyed by customer
    would hand each input to the routing stage."""
    if request.param == "split":
        from split_kit import SplitEngine

        return SplitEngine(config, derive)
    return Engine(config, derive, deferred_routing=request.param == "deferred")


def agents_for(config: RouterConfig, brand: str = "acme", online: tuple[str, ...] = ()) -> dict[str, Agent]:
    out = {}
    for i, a in enumerate(config.brand_routing(brand).agents):
        out[a.agent_id] = Agent(
            id=f"{brand}/{a.agent_id}",
            brand_id=brand,
            agent_id=a.agent_id,
            queues=list(a.queues),
            languages=list(a.languages),
            channels=list(a.channels),
            product_lines=list(a.product_lines),
            vip=a.vip,
            capacity=dict(a.capacity),
            presence="online" if a.agent_id in online else "offline",
            idle_since=T0 - timedelta(minutes=10 - i) if a.agent_id in online else None,
        )
    return out


@pytest.fixture
def ws(config) -> Workspace:
    w = Workspace()
    w.agents["acme"] = agents_for(config)
    return w


_ids = itertools.count(1)


def message(
    text: str,
    *,
    sender: Handle | None = None,
    channel: str = "chat",
    at: datetime = T0,
    language: str = "en",
    event_id: str | None = None,
    **kw,
) -> MessageIn:
    return MessageIn(
        event_id=event_id or f"in-{next(_ids)}",
        brand_id="acme",
        channel=channel,
        provider="test",
        provider_message_id=f"pm-{next(_ids)}",
        sender=sender or Handle("email", "ann@example.com"),
        sent_at=at,
        text=text,
        language=language,
        **kw,
    )


def command(kind: str, *, agent_id: str = "", at: datetime = T0, event_id: str | None = None, **fields) -> CommandIn:
    """A typed agent command named by its AgentCommand case, e.g. command("resolve_conversation", ...)."""
    command_type = {name: type_ for type_, name in COMMAND_KINDS.items()}[kind]
    return CommandIn(
        event_id=event_id or f"cmd-{next(_ids)}", brand_id="acme", agent_id=agent_id, at=at,
        command=command_type(**fields),
    )


def order(order_id: str, kind: str, *handles: Handle, at: datetime = T0, **kw) -> OrderIn:
    return OrderIn(
        event_id=f"ord-{next(_ids)}",
        brand_id="acme",
        order_id=order_id,
        kind=kind,
        occurred_at=at,
        handles=tuple(handles),
        **kw,
    )


def cases(ws: Workspace, topic: str = "conversations") -> list[str]:
    return [e.case for e in ws.effects if e.topic == topic]


def tick(at: datetime, brand: str = "acme") -> TickIn:
    """The router's periodic input at router-clock time `at`."""
    return TickIn(event_id=f"tick-{brand}-{at.isoformat()}", brand_id=brand, at=at)
