"""The analytics service on the real Tansu broker and nx-27017.

Input events are published with the shared producer exactly as the router / SLA service / notifier
publish them. The restart test compares the backlog gauges with the open conversations in the
router's `conversations` collection (written here the way the router stores them).
"""

from __future__ import annotations

import asyncio
import sys
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer
from prometheus_client import CollectorRegistry

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "unit" / "analytics"))
from analytics_events import T0, conversation, delivery, escalation, fulfilled, sla  # noqa: E402
from switchboard.analytics.bootstrap import bootstrap  # noqa: E402
from switchboard.analytics.settings import AnalyticsSettings  # noqa: E402
from switchboard.common import metrics as bus_metrics  # noqa: E402
from switchboard.common.clock import ManualClock  # noqa: E402
from switchboard.common.testing import wait_for  # noqa: E402
from switchboard.common.testing.helpers import read_raw  # noqa: E402
from switchboard.events.v1 import common_pb2, conversation_pb2, notification_pb2  # noqa: E402

STATUS = {
    common_pb2.CONVERSATION_STATUS_QUEUED: "queued",
    common_pb2.CONVERSATION_STATUS_ASSIGNED: "assigned",
    common_pb2.CONVERSATION_STATUS_BOT: "bot",
    common_pb2.CONVERSATION_STATUS_WAITING_ON_CUSTOMER: "waiting_on_customer",
}
CHANNELS = {common_pb2.CHANNEL_EMAIL: "email", common_pb2.CHANNEL_CHAT: "chat", common_pb2.CHANNEL_PHONE: "phone"}


class Running:
    """An analytics service running in this event loop with its own metrics registry."""

    def __init__(self, settings: AnalyticsSettings, clock: ManualClock) -> None:
        self.registry = CollectorRegistry()
        self.app = bootstrap(settings, clock=clock, http=False, registry=self.registry)
        self.task: asyncio.Task | None = None

    async def __aenter__(self) -> Running:
        self.task = asyncio.create_task(self.app.service.run())
        await wait_for(lambda: all(self.app.service.readiness().values()) or self.task.done(), timeout=30)
        assert not self.task.done(), "analytics stopped during start-up"
        return self

    async def __aexit__(self, *exc) -> None:
        self.app.service.request_stop()
        assert await asyncio.wait_for(self.task, 30) == 0

    def gauge(self, name: str, **labels) -> float:
        total = 0.0
        for family in self.registry.collect():
            for sample in family.samples:
                if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                    total += sample.value
        return total

    def backlog_by(self) -> Counter:
        out: Counter = Counter()
        for family in self.registry.collect():
            for s in family.samples:
                if s.name == "switchboard_backlog_conversations" and s.value:
                    out[(s.labels["brand"], s.labels["channel"], s.labels["queue"], s.labels["status"])] += s.value
        return out


async def true_open_counts(mongo_db) -> Counter:
    """What the router's `conversations` collection says is open, grouped like the gauges."""
    counts: Counter = Counter()
    async for doc in mongo_db["conversations"].find({"status": {"$ne": "resolved"}}):
        counts[(doc["brand_id"], doc["channel"], doc["queue"], doc["status"])] += 1
    return counts


async def publish_conversation(producer, topics, mongo_db, event) -> None:
    """Publish a ConversationEvent and store the conversation the way the router does."""
    snap = event.conversation
    await producer.publish(topics.conversations, event, key=snap.conversation_id)
    await mongo_db["conversations"].replace_one(
        {"_id": snap.conversation_id},
        # _id repeated in the document: nx-27017 ignores the filter's _id on an upsert
        {
            "_id": snap.conversation_id,
            "brand_id": event.brand_id,
            "status": "resolved" if snap.status == common_pb2.CONVERSATION_STATUS_RESOLVED else STATUS[snap.status],
            "channel": CHANNELS[snap.channel],
            "queue": snap.queue,
            "priority": snap.priority,
        },
        upsert=True,
    )


@pytest.fixture
def settings(service_settings):
    return service_settings(AnalyticsSettings)


async def test_backlog_gauges_after_restart_equal_the_true_open_counts_in_mongodb(settings, producer, topics, mongo_db):
    clock = ManualClock(T0 + timedelta(hours=1))
    brands, channels = ("acme", "globex"), list(CHANNELS)
    statuses = list(STATUS)
    async with Running(settings, clock) as first:
        for i in range(60):
            kw = dict(
                brand=brands[i % 2],
                channel=channels[i % 3],
                status=statuses[i % 4],
                queue="vip" if i % 5 == 0 else "general",
                assignee_id=f"agent-{i % 7}" if statuses[i % 4] == common_pb2.CONVERSATION_STATUS_ASSIGNED else "",
            )
            await publish_conversation(
                producer,
                topics,
                mongo_db,
                conversation("conversation_opened", f"c{i}", T0 + timedelta(seconds=i), **kw),
            )
            if i % 4 == 3:  # a quarter of them get resolved
                kw["status"] = common_pb2.CONVERSATION_STATUS_RESOLVED
                await publish_conversation(
                    producer,
                    topics,
                    mongo_db,
                    conversation("conversation_resolved", f"c{i}", T0 + timedelta(minutes=30), **kw),
                )
        await producer.drain()
        truth = await true_open_counts(mongo_db)
        assert sum(truth.values()) == 45
        await wait_for(lambda: first.backlog_by() == truth, timeout=30, message="gauges follow the events")
        oldest_before = first.gauge("switchboard_backlog_oldest_waiting_seconds", brand="acme", channel="email")

    async with Running(settings, clock) as second:
        # Straight after start-up, before any new event: rebuilt from analytics_open_conversations.
        assert second.backlog_by() == truth
        assert second.gauge("switchboard_queue_depth") == sum(v for k, v in truth.items() if k[3] == "queued")
        assert (
            second.gauge("switchboard_backlog_oldest_waiting_seconds", brand="acme", channel="email") == oldest_before
        )
        assert second.gauge("switchboard_agent_assigned_conversations") == sum(
            v for k, v in truth.items() if k[3] == "assigned"
        )
        # ... and it keeps following the stream: resolve three more, open one.
        for i in (0, 1, 2):
            await publish_conversation(
                producer,
                topics,
                mongo_db,
                conversation(
                    "conversation_resolved",
                    f"c{i}",
                    T0 + timedelta(hours=1),
                    brand=brands[i % 2],
                    channel=channels[i % 3],
                    queue="vip" if i % 5 == 0 else "general",
                    status=common_pb2.CONVERSATION_STATUS_RESOLVED,
                ),
            )
        await publish_conversation(
            producer,
            topics,
            mongo_db,
            conversation(
                "conversation_opened", "c-new", T0 + timedelta(hours=1), brand="acme", channel=common_pb2.CHANNEL_CHAT
            ),
        )
        await producer.drain()
        truth = await true_open_counts(mongo_db)
        assert sum(truth.values()) == 43
        await wait_for(lambda: second.backlog_by() == truth, timeout=30)


async def test_sla_figures_at_risk_and_breaches_follow_the_clock(settings, producer, topics, stored_open):
    clock = ManualClock(T0)
    async with Running(settings, clock) as running:
        chat = dict(channel=common_pb2.CHANNEL_CHAT)
        await producer.publish(topics.conversations, conversation("conversation_opened", "s1", T0, **chat), key="s1")
        await producer.publish(
            topics.sla,
            sla("sla_applied", "s1", deadline=T0 + timedelta(hours=1), target_seconds=3600, **chat),
            key="s1",
        )
        await producer.publish(topics.sla, fulfilled("s2", 300, **chat), key="s2")
        await producer.publish(topics.sla, sla("sla_breached", "s3", deadline=T0, **chat), key="s3")
        await producer.drain()
        await wait_for(lambda: running.gauge("switchboard_sla_events_total", outcome="breached") == 1, timeout=30)
        await wait_for(
            lambda: "s1" in running.app.projection.open and running.app.projection.open["s1"].clocks, timeout=30
        )
        assert running.gauge("switchboard_sla_events_total", channel="chat", outcome="fulfilled") == 1
        assert running.gauge("switchboard_sla_first_response_seconds_bucket", channel="chat", le="300.0") == 1
        assert running.gauge("switchboard_sla_first_response_seconds_bucket", channel="chat", le="180.0") == 0
        assert running.gauge("switchboard_backlog_at_risk_conversations", channel="chat") == 0
        await clock.advance(timedelta(minutes=46))  # 14 of 60 minutes left: < 25%
        assert running.gauge("switchboard_backlog_at_risk_conversations", channel="chat") == 1
        assert running.gauge("switchboard_backlog_oldest_waiting_seconds", channel="chat") == 46 * 60
        await clock.advance(timedelta(minutes=15))
        assert running.gauge("switchboard_backlog_at_risk_conversations", channel="chat") == 0
        assert running.gauge("switchboard_backlog_overdue_conversations", channel="chat") == 1
        stored = (await stored_open())["s1"]
        assert stored["status"] == "queued" and stored["sla"][0]["target_seconds"] == 3600
        assert stored["sla_next_deadline"] == T0 + timedelta(hours=1)


async def test_escalations_deliveries_and_csat_are_counted(settings, producer, topics):
    async with Running(settings, ManualClock(T0)) as running:
        await producer.publish(topics.escalations, escalation("e1", level=2), key="e1")
        await producer.publish(topics.deliveries, delivery("e1"), key="e1")
        await producer.publish(
            topics.deliveries,
            delivery(
                "e1",
                kind=notification_pb2.NOTIFICATION_KIND_PROACTIVE_UPDATE,
                outcome=notification_pb2.DELIVERY_OUTCOME_FAILED,
            ),
            key="e1",
        )
        await producer.publish(
            topics.conversations,
            conversation("csat_recorded", "e1", T0, body=conversation_pb2.CsatRecorded(score=5)),
            key="e1",
        )
        await producer.drain()
        await wait_for(lambda: running.gauge("switchboard_csat_responses_total", score="5") == 1, timeout=30)
        await wait_for(lambda: running.gauge("switchboard_delivery_outcomes_total") == 2, timeout=30)
        assert running.gauge("switchboard_escalations_total", level="2", reason="sla_breached") == 1
        assert running.gauge("switchboard_customer_messages_sent_total", kind="transcript") == 1
        assert running.gauge("switchboard_customer_messages_sent_total", kind="proactive_update") == 0
        assert running.gauge("switchboard_delivery_outcomes_total", kind="proactive_update", outcome="failed") == 1


async def test_poison_records_go_to_the_dlq_and_the_consumer_keeps_going(settings, producer, topics, kafka_bootstrap):
    async with Running(settings, ManualClock(T0)) as running:
        raw = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
        await raw.start()
        await raw.send_and_wait(topics.conversations, b"\x00garbage", key=b"p1", headers=[("ce_specversion", b"1.0")])
        await raw.stop()
        # valid protobuf, but no conversation id: rejected by the projection
        await producer.publish(topics.conversations, conversation("conversation_opened", "", T0), key="p2")
        await producer.publish(topics.conversations, conversation("conversation_opened", "p3", T0), key="p3")
        await producer.drain()
        await wait_for(lambda: "p3" in running.app.projection.open, timeout=30)
        dead = await read_raw(kafka_bootstrap, topics.dlq("conversations"), min_count=2, timeout=20)
        reasons = sorted(dict(record.headers)["dlq_reason"].decode() for record in dead)
        assert reasons == ["rejected", "undecodable"]
        assert bus_metrics.DLQ_RECORDS.labels(topics.conversations, "rejected")._value.get() == 1
