"""Issue 15's proof: two replicas each of router (its three stages: intake, contact keyed by customer,
routing keyed by brand), SLA and analytics; one of each killed with kill -9 mid-run and started again.

Services run as real processes on the real broker and a MongoDB-wire store of their own. SCALE_CONVERSATIONS
(default 2,000) customers of three brands ask for a person on chat, faster than the agents (4 per
brand, 4 chats each: 60 slots) can take them; a resolver plays the agents, resolving each assigned
conversation shortly after its ConversationAssigned (all but ~1% it keeps, so the end state is not
empty). Brands hash to routing partitions owned by both router replicas. Afterwards:

1. nothing lost: every message stored once, one conversation per customer, one customer per person
   (decided by one contact-stage owner at a time), every conversation resolved (or held by its
   agent), no queue entry left, every consumer group caught up;
2. no customer message duplicated (stored once; one ConversationOpened per conversation);
3. no agent above capacity at any moment: the assignment and resolution events of the
   conversations topic (first copy of each event id), replayed per brand in the order the routing
   stage decided them (the routing-topic offset of their cause; resolutions before assignments of
   the same cause), never give an agent a fifth chat;
4. gauges equal the truth in MongoDB: analytics' backlog summed over both replicas equals the open
   conversations by (channel, status); the router's queue-depth gauges summed over both replicas
   equal the queue entries per brand; each brand and each contacts partition has exactly one owner.

Bounded: ~90-150 s on 2 cores (SCALE_CONVERSATIONS scales it).
"""
from __future__ import annotations

import asyncio
import hashlib
import os
import re
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime

import harness
import httpx
import pytest
import yaml
from aiokafka import TopicPartition
from switchboard.common import processes
from switchboard.common.cloudevents import decode, derived_id
from switchboard.common.producer import EventProducer
from switchboard.common.testing import wait_for
from switchboard.common.topics import registry
from switchboard.events.v1 import agent_pb2

# `make test` runs it on its own after the other tiers (marker `scale_out`, deselected from their
# parallel run): its 9 processes (2 replicas of each stage) with 3 kill -9s take both CI cores for a
# minute, and beside other e2e tests they would slow each other past their deadlines.
pytestmark = [pytest.mark.slow, pytest.mark.scale_out, pytest.mark.timeout(420)]

CONVERSATIONS = int(os.environ.get("SCALE_CONVERSATIONS", "2000"))
TRAFFIC_SECONDS = 30.0
BRANDS = ("acme", "globex", "hooli")  # routing partitions 0, 1, 3: both replicas own one at least
AGENTS_PER_BRAND, CHAT_CAPACITY = 5, 4
RESOLVE_AFTER_S = 0.1
SETTLE_SECONDS = float(os.environ.get("SCALE_SETTLE_SECONDS", "240"))  # after the traffic; 2 loaded cores
REPLICATED = ("router", "sla", "analytics")
CONTACT_PARTITIONS = registry()["contacts"].partitions
SECOND = f"{harness.REPLICA}2"

SLA_YAML = """\
version: 1
priority_multipliers: {urgent: 1.0, high: 1.0, normal: 1.0, low: 1.0}
calendars: []
default_calendar: 24x7
defaults:
  warnings: {fractions: [0.9]}
  reopen: resume
  proactive_update_after: 24h
  escalation: {ack_timeout: 2h, levels: []}
policies: []
default_policy:
  targets:
    first_response: {within: 2h, hours: calendar}
    resolution: {within: 24h, hours: calendar}
"""


def routing_yaml() -> dict:
    agents = [{"id": f"agent{i}", "name": f"Agent {i}", "queues": ["general"], "languages": ["*"],
               "channels": ["chat"], "capacity": {"chat": CHAT_CAPACITY}, "presence": "online"}
              for i in range(AGENTS_PER_BRAND)]
    return {"version": 1,
            "defaults": {"default_language": "en",
                         "windows": {"reopen": "1h", "eta": "5m", "eta_default_per_position": "30s",
                                     "csat_delay": "1h", "transcript_grace": "3s"},
                         # nobody is moved by a timer in this run: capacity changes come from events only
                         "reassignment": {"offline_grace": "2h", "after_away": {"chat": "2h", "phone": "2h",
                                                                                "messaging": "2h", "email": "off"},
                                          "after_silence": {"chat": "2h", "phone": "2h", "messaging": "2h",
                                                            "email": "2h"}},
                         "default_capacity": {"chat": CHAT_CAPACITY},
                         "queues": [{"name": "general", "match": {}}], "agents": []},
            "brands": {brand: {"queues": [{"name": "general", "match": {}}], "agents": agents} for brand in BRANDS}}


def held(conversation_id: str) -> bool:
    """~1% of conversations stay with their agent, so the final gauges are not all zero."""
    return int(hashlib.sha1(conversation_id.encode()).hexdigest(), 16) % 100 == 0


@pytest.fixture(scope="module")
def mongo_uri(tmp_path_factory):
    """A store of its own (nx-27017 serves one request at a time; see test_crash)."""
    server = processes.mongo(processes.free_port(), "memory", tmp_path_factory.mktemp("scale-out-store")).start()
    yield processes.mongo_uri(server.port)
    server.stop()


@pytest.fixture
async def stack(kafka_bootstrap, mongo_uri, namespace, bus_topics, tmp_path):
    config = harness.prepare_config(tmp_path / "config", sla_yaml=SLA_YAML)
    (config / "routing.yaml").write_text(yaml.safe_dump(routing_yaml()))
    s = harness.Stack(kafka_bootstrap, mongo_uri, namespace, config, tmp_path / "logs",
                      extra_env={"SWITCHBOARD_KAFKA__CREATE_TOPICS": "false"},
                      service_env={"router": {"SWITCHBOARD_DETECT_LANGUAGE": "false",
                                              "SWITCHBOARD_TICK_INTERVAL_SECONDS": "1",
                                              "SWITCHBOARD_LOG_LEVEL": "INFO"},  # claims, releases
                                   "analytics": {"SWITCHBOARD_LOG_LEVEL": "INFO"}})  # slot claims
    await asyncio.to_thread(s.start, [name + suffix for name in REPLICATED for suffix in ("", SECOND)])
    yield s
    await asyncio.to_thread(s.stop)


async def metric_pages(stack: harness.Stack, service: str, *, deadline: float = 60) -> list[str]:
    """Both replicas' /metrics. A replica restarted after its kill -9 may still be binding its port on a
    loaded machine: retried until `deadline`, then the connection error stands."""
    async def pages() -> list[str]:
        async with httpx.AsyncClient(timeout=10) as client:
            return [(await client.get(f"{stack.url(name)}/metrics")).text for name in (service, service + SECOND)]

    end = asyncio.get_running_loop().time() + deadline
    while True:
        try:
            return await pages()
        except httpx.TransportError:
            if asyncio.get_running_loop().time() > end:
                raise
            await asyncio.sleep(0.5)


def summed(pages: list[str], name: str, key) -> Counter:
    out: Counter = Counter()
    for page in pages:
        for line in page.splitlines():
            if line.startswith((name + "{", name + " ")):
                labels = dict(re.findall(r'(\w+)="([^"]*)"', line.split("}")[0])) if "{" in line else {}
                value = float(line.rsplit(" ", 1)[1])
                if value:
                    out[key(labels)] += value
    return out


class Resolver:
    """Plays the agents: resolves each assigned conversation RESOLVE_AFTER_S after its assignment."""

    def __init__(self, stack: harness.Stack, producer: EventProducer) -> None:
        self.stack, self.producer = stack, producer
        self.requested: set[str] = set()
        self.stop = asyncio.Event()
        self.pending: set[asyncio.Task] = set()

    async def run(self) -> None:
        topic = self.stack.topics.conversations
        consumer = await harness._consumer(self.stack.bootstrap)
        try:
            tps = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or range(12))]
            consumer.assign(tps)
            await consumer.seek_to_beginning(*tps)
            while not self.stop.is_set():
                batch = await consumer.getmany(timeout_ms=100, max_records=2000)
                for records in batch.values():
                    for r in records:
                        if dict(r.headers).get("ce_type", b"").endswith(b".conversation_assigned"):
                            await self._assigned(decode(r.value, r.headers).payload)
        finally:
            await consumer.stop()

    async def _assigned(self, event) -> None:
        conversation = event.conversation.conversation_id
        if conversation in self.requested or held(conversation):
            return
        self.requested.add(conversation)
        command = agent_pb2.AgentCommand(brand_id=event.brand_id, agent_id=event.conversation_assigned.assignee_id)
        command.resolve_conversation.conversation_id = conversation
        command.resolve_conversation.resolution_code = "solved"

        async def later() -> None:
            await asyncio.sleep(RESOLVE_AFTER_S)
            await self.producer.publish(self.stack.topics.agent_commands, command, key=conversation,
                                        event_id=derived_id("scale-resolve", conversation))

        task = asyncio.get_running_loop().create_task(later())
        self.pending.add(task)
        task.add_done_callback(self.pending.discard)


async def send_traffic(stack: harness.Stack, producer: EventProducer, run: str) -> list[str]:
    pmids = []
    started = time.perf_counter()
    for n in range(CONVERSATIONS):
        brand = BRANDS[n % len(BRANDS)]
        handle = f"{run}-chat-{n}"
        pmid = f"{run}-{n}"
        event = harness.message_received("chat", handle, f"I need a human please, order {n}", pmid,
                                         datetime.now(UTC))
        event.brand_id = brand
        await producer.publish(stack.topics.inbound, event, key=f"{brand}/{handle}",
                               event_id=derived_id("scale", run, n))
        pmids.append(pmid)
        delay = started + (n + 1) * TRAFFIC_SECONDS / CONVERSATIONS - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
    await producer.drain()
    return pmids


DOWNTIME_SECONDS = 3.0  # longer than a group's session timeout: the survivor takes the partitions over


async def chaos(stack: harness.Stack, log: list) -> None:
    """kill -9 of the second replica of each service, one after another mid-traffic, each started again."""
    began = time.monotonic()
    for at, service in ((TRAFFIC_SECONDS * 0.3, "router"), (TRAFFIC_SECONDS * 0.45, "sla"),
                        (TRAFFIC_SECONDS * 0.6, "analytics")):
        await asyncio.sleep(max(0.0, began + at - time.monotonic()))
        replica = stack.services[service + SECOND]
        owned = None
        if service == "router":  # the brands and customers the killed replica owned move to the other one
            async with httpx.AsyncClient(timeout=10) as client:
                page = (await client.get(f"{stack.url(service + SECOND)}/metrics")).text
            owned = (summed([page], "switchboard_router_routing_scopes_owned", lambda _: 0)[0],
                     summed([page], "switchboard_router_contact_partitions_owned", lambda _: 0)[0])
        replica.kill()
        await asyncio.sleep(DOWNTIME_SECONDS)  # the fault itself: the replica stays dead this long
        await asyncio.to_thread(replica.start)
        log.append((service + SECOND, at, owned))


def capacity_violations(events: dict, routing_order: dict[str, tuple[int, int]]) -> tuple[list, dict, int]:
    """Replays assignments and resolutions per brand in decision order; returns the moments an agent
    held more chats than its capacity, the highest load per agent, and events whose cause is unknown."""
    per_brand: dict[str, list] = defaultdict(list)
    unknown = 0
    for env in events.values():
        case = env.payload.WhichOneof("event")
        if case not in ("conversation_assigned", "conversation_resolved"):
            continue
        order = routing_order.get(env.causation_id or "")
        if order is None:
            unknown += 1
            continue
        per_brand[env.payload.brand_id].append((order, 0 if case == "conversation_resolved" else 1, env.id, env))
    violations, peak = [], Counter()
    for brand, items in per_brand.items():
        load: Counter = Counter()
        holder: dict[str, str] = {}
        for _, _, _, env in sorted(items, key=lambda item: item[:3]):
            conversation = env.payload.conversation.conversation_id
            previous = holder.pop(conversation, None)
            if previous:
                load[previous] -= 1
            if env.payload.WhichOneof("event") == "conversation_assigned":
                agent = env.payload.conversation_assigned.assignee_id
                holder[conversation] = agent
                load[agent] += 1
                peak[(brand, agent)] = max(peak[(brand, agent)], load[agent])
                if load[agent] > CHAT_CAPACITY:
                    violations.append((brand, agent, load[agent], conversation))
    return violations, dict(peak), unknown


async def per_replica(stack: harness.Stack, mongo_db) -> None:
    """On a gauge mismatch: each replica's backlog and MongoDB's, by (brand, channel, status)."""
    def key(labels: dict) -> tuple:
        return labels["brand"], labels["channel"], labels["status"]

    for name, page in zip(("analytics", "analytics" + SECOND), await metric_pages(stack, "analytics"), strict=True):
        print(f"  {name}: {dict(summed([page], 'switchboard_backlog_conversations', key))}")
    truth: Counter = Counter()
    async for doc in mongo_db["conversations"].find({"status": {"$ne": "resolved"}}):
        truth[(doc["brand_id"], doc["channel"], doc["status"])] += 1
    print(f"  MongoDB: {dict(truth)}")


async def test_two_replicas_of_every_stage_survive_kill_9_without_loss_duplicates_or_over_assignment(
        stack, kafka_bootstrap, namespace, mongo_db):
    topics = stack.topics
    started = time.monotonic()

    def phase(what: str) -> None:
        print(f"  {time.monotonic() - started:6.1f}s {what}", flush=True)

    producer = EventProducer(stack.kafka, source="/tests/scale-out")
    await producer.start()
    resolver = Resolver(stack, producer)
    resolving = asyncio.create_task(resolver.run())
    kills: list = []
    try:
        chaos_task = asyncio.create_task(chaos(stack, kills))
        run = namespace[-8:]
        pmids = await send_traffic(stack, producer, run)
        await chaos_task
        phase(f"{len(pmids)} messages sent over 3 brands; killed and restarted (replica, at s, brands owned) {kills}")
        assert kills[0][2][0], "the killed router replica owned no brand: its kill proved nothing"
        assert kills[0][2][1], "the killed router replica owned no contacts partition: its kill proved nothing"

        # 1. nothing lost: every conversation resolved or held, no queue left
        conversations = mongo_db["conversations"]

        statuses: Counter = Counter()

        async def settled() -> bool:
            docs = [d async for d in conversations.find({}, {"status": 1})]
            pending = [d for d in docs if d["status"] != ("assigned" if held(d["_id"]) else "resolved")]
            statuses.clear()
            statuses.update(d["status"] for d in pending)
            return len(docs) == CONVERSATIONS and not pending

        try:
            await wait_for(settled, timeout=SETTLE_SECONDS, interval=2,
                           message="every conversation resolved or held by its agent")
        except AssertionError:
            print(f"not settled: conversations not yet where they should be, by status {dict(statuses)}; "
                  f"resolutions requested {len(resolver.requested)}")
            fields = ("status", "phase", "people_status", "assignee_id", "queue", "routed_inputs", "resolved_at",
                      "contact_pending", "handoffs")
            async for doc in conversations.find({}, {f: 1 for f in fields}):
                if doc["status"] != ("assigned" if held(doc["_id"]) else "resolved"):
                    print(f"  {doc['_id']}: requested {doc['_id'] in resolver.requested}, "
                          f"{ {f: doc.get(f) for f in fields} }")
            for name in ("router", "router" + SECOND):
                print(f"--- {name} log ---\n{stack.tail(name, 4000)}")
            raise
        phase("every conversation resolved or held")

        async def caught_up() -> bool:
            return not any((await harness.lag(kafka_bootstrap, topics, namespace,
                                              ("router", "contact", "routing", "sla", "analytics"))).values())

        await wait_for(caught_up, timeout=60, interval=2, message="consumer groups caught up")
    finally:
        resolver.stop.set()
        await resolving
        await asyncio.gather(*resolver.pending, return_exceptions=True)
        await producer.stop()
    phase("groups caught up")

    stored: Counter = Counter()
    async for doc in mongo_db["conversation_messages"].find({"provider_message_id": {"$in": pmids}},
                                                            {"provider_message_id": 1}):
        stored[doc["provider_message_id"]] += 1
    assert set(stored) == set(pmids), f"{len(set(pmids) - set(stored))} messages lost"
    # 2. no customer message duplicated
    assert not harness.duplicates(stored.elements()), "a customer message stored twice"
    assert await mongo_db["queue_entries"].count_documents({}) == 0
    events, _ = await harness.distinct_events(kafka_bootstrap, topics.conversations)
    opened = Counter(env.payload.conversation.conversation_id for env in events.values()
                     if env.payload.WhichOneof("event") == "conversation_opened")
    assert len(opened) == CONVERSATIONS and set(opened.values()) == {1}
    # one customer per person: two contact-stage owners never created the same person twice
    assert await mongo_db["customers"].count_documents({}) == CONVERSATIONS

    # 3. no agent above capacity at any moment, in the order the routing stage decided
    routing_order: dict[str, tuple[int, int]] = {}
    for r in await harness.read_all(kafka_bootstrap, topics.routing):
        event_id = dict(r.headers)["ce_id"].decode()
        routing_order[event_id] = min(routing_order.get(event_id, (r.partition, r.offset)), (r.partition, r.offset))
    violations, peak, unknown = capacity_violations(events, routing_order)
    assignments = sum(1 for env in events.values() if env.payload.WhichOneof("event") == "conversation_assigned")
    print(f"assignments {assignments}, highest load per agent {sorted(set(peak.values()))}, "
          f"events without a routing cause {unknown}")
    assert assignments >= CONVERSATIONS
    assert unknown == 0, "assignment or resolution events not caused by a routing-topic input"
    assert not violations, f"agents above capacity: {violations[:5]}"
    assert max(peak.values()) == CHAT_CAPACITY  # the agents were busy: the check could have failed

    # 4. gauges equal the truth in MongoDB, summed over both replicas
    async def open_truth() -> Counter:
        out: Counter = Counter()
        async for doc in conversations.find({"status": {"$ne": "resolved"}}, {"channel": 1, "status": 1}):
            out[(doc["channel"], doc["status"])] += 1
        return out

    seen: dict = {}

    async def analytics_agree() -> bool:
        seen["analytics"] = summed(await metric_pages(stack, "analytics"), "switchboard_backlog_conversations",
                                   lambda labels: (labels["channel"], labels["status"]))
        seen["mongo"] = await open_truth()
        return bool(seen["mongo"]) and seen["analytics"] == seen["mongo"]

    try:
        await wait_for(analytics_agree, timeout=30, interval=1, message="analytics backlog summed equals MongoDB")
    except AssertionError:
        await per_replica(stack, mongo_db)
        raise
    finally:
        # A batch taken just before a rebalance and handed over after it is given back (handlers.py).
        given_back = sum(stack.tail(name, 1 << 24).count("analytics_batch_given_back")
                         for name in ("analytics", "analytics" + SECOND))
        print(f"open conversations: analytics (both replicas) {dict(seen.get('analytics', {}))}, "
              f"MongoDB {dict(seen.get('mongo', {}))}; analytics batches given back {given_back}")
    queue_depth = summed(await metric_pages(stack, "router"), "switchboard_router_queue_depth",
                         lambda labels: labels["brand"])
    assert queue_depth == Counter(), f"router queue gauges {queue_depth}, MongoDB has no queue entry"
    # exactly one owner per brand: the replicas' owned scopes add up to the brands
    async def one_owner_each() -> bool:
        owned = summed(await metric_pages(stack, "router"), "switchboard_router_routing_scopes_owned", lambda _: 0)
        return owned[0] == len(BRANDS)

    await wait_for(one_owner_each, timeout=30, interval=1, message="each brand owned by exactly one replica")

    async def one_contact_owner_each() -> bool:
        owned = summed(await metric_pages(stack, "router"), "switchboard_router_contact_partitions_owned",
                       lambda _: 0)
        return owned[0] == CONTACT_PARTITIONS

    await wait_for(one_contact_owner_each, timeout=30, interval=1,
                   message="each contacts partition owned by exactly one replica")
    phase("verified")
