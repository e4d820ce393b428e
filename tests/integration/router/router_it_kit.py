"""Helpers for router integration tests: build inbound/order/agent records, run the router in-process."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from google.protobuf.timestamp_pb2 import Timestamp
from switchboard.common.testing import wait_for
from switchboard.events.v1 import agent_pb2, common_pb2, inbound_pb2, orders_pb2
from switchboard.router.adapters.config_files import load_router_config
from switchboard.router.adapters.language import LinguaDetector
from switchboard.router.bootstrap import bootstrap
from switchboard.router.domain.config import RouterConfig
from switchboard.router.settings import RouterSettings

# Event times near the wall clock: agent commands carry the producer's time (ce_time).
REPO = Path(__file__).resolve().parents[3]
T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
_seq = itertools.count(1)
_detector = None


def detector() -> LinguaDetector:
    global _detector
    if _detector is None:
        _detector = LinguaDetector()
    return _detector


def ts(dt: datetime) -> Timestamp:
    t = Timestamp()
    t.FromDatetime(dt)
    return t


CHANNEL = {
    "email": common_pb2.CHANNEL_EMAIL,
    "chat": common_pb2.CHANNEL_CHAT,
    "whatsapp": common_pb2.CHANNEL_WHATSAPP,
    "sms": common_pb2.CHANNEL_SMS,
    "phone": common_pb2.CHANNEL_PHONE,
}
KIND = {
    "email": common_pb2.HANDLE_KIND_EMAIL,
    "phone": common_pb2.HANDLE_KIND_PHONE,
    "whatsapp_id": common_pb2.HANDLE_KIND_WHATSAPP_ID,
    "chat_session": common_pb2.HANDLE_KIND_CHAT_SESSION,
}


def handle(kind: str, value: str) -> common_pb2.ContactHandle:
    return common_pb2.ContactHandle(kind=KIND[kind], value=value)


def inbound_message(
    text: str, *, channel: str, sender: tuple[str, str], brand: str, at: datetime = T0, **kw
) -> inbound_pb2.InboundEvent:
    m = inbound_pb2.MessageReceived(
        channel=CHANNEL[channel],
        provider="test",
        provider_message_id=f"pm-{next(_seq)}",
        sender=handle(*sender),
        text=text,
        **kw,
    )
    m.sent_at.CopyFrom(ts(at))
    return inbound_pb2.InboundEvent(brand_id=brand, message_received=m)


def order_event(
    order_id: str, kind: int, *handles: tuple[str, str], brand: str, at: datetime = T0, **kw
) -> orders_pb2.OrderEvent:
    event = orders_pb2.OrderEvent(
        brand_id=brand, order_id=order_id, kind=kind, customer_handles=[handle(*h) for h in handles], **kw
    )
    event.occurred_at.CopyFrom(ts(at))
    return event


def presence(agent_id: str, value: int, *, brand: str) -> agent_pb2.AgentCommand:
    return agent_pb2.AgentCommand(
        brand_id=brand, agent_id=agent_id, set_agent_presence=agent_pb2.SetAgentPresence(presence=value)
    )


def resolve(agent_id: str, conversation_id: str, *, brand: str) -> agent_pb2.AgentCommand:
    return agent_pb2.AgentCommand(
        brand_id=brand,
        agent_id=agent_id,
        resolve_conversation=agent_pb2.ResolveConversation(conversation_id=conversation_id, resolution_code="solved"),
    )


def brand_of(namespace: str) -> str:
    """nx-27017 shares collections across database names, so tests isolate by brand as well."""
    return f"acme-{namespace}"


def demo_config_for(brand: str) -> RouterConfig:
    """The demo config (config/demo) with brand acme's queues, agents and FAQ under a test brand id."""
    config = load_router_config(REPO / "config" / "demo")
    routing = dict(config.routing, **{brand: replace(config.routing["acme"], brand_id=brand)})
    bot = dict(config.bot, **{brand: replace(config.bot["acme"], brand_id=brand)})
    return RouterConfig(routing=routing, bot=bot)


@contextlib.asynccontextmanager
async def running_router(service_settings, namespace: str, with_http: bool = False, clock=None, **overrides):
    overrides.setdefault("tick_interval_seconds", 0.5)
    settings = service_settings(RouterSettings, group_id=f"{namespace}-router", **overrides)
    router = bootstrap(settings, detector=detector(), with_http=with_http, config=demo_config_for(brand_of(namespace)),
                       clock=clock)
    task = asyncio.create_task(router.service.run())
    try:
        await wait_for(
            lambda: router.runner.ready and router.runner.assigned,
            timeout=30,
            message="router consumer joined its group",
        )
        yield router
    finally:
        router.service.request_stop()
        await asyncio.wait_for(task, 30)
