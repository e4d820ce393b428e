"""An agent is told about a new assignment on their brand's destinations (a real Slack-format
receiver and a real SMTP server), with the console link, once per intent whatever the redeliveries."""
from __future__ import annotations

import json

from events import snapshot
from notifier_it_config import notifier_config, notifier_secrets
from switchboard.common.testing import read_topic, wait_for
from switchboard.events.v1 import common_pb2, notification_pb2


def assignment_notice(intent_id: str, brand_id: str = "acme") -> notification_pb2.NotificationRequested:
    return notification_pb2.NotificationRequested(
        brand_id=brand_id, intent_id=intent_id, kind=notification_pb2.NOTIFICATION_KIND_AGENT_ASSIGNED,
        conversation=snapshot("c-42", channel=common_pb2.CHANNEL_WHATSAPP, customer_name="Li Wei"),
        assignment=notification_pb2.AgentAssignment(agent_id="bob", agent_name="Bob", rule="most_spare_capacity",
                                                    explanation="bob has the most spare chat capacity"))


async def test_assignment_reaches_the_agents_slack_and_their_own_mailbox_once(
        receiver, smtp_server, start_notifier, producer, bus_topics, kafka_bootstrap):
    config = notifier_config(
        receiver.base_url, smtp_server.port,
        destinations=[{"id": "agents-slack", "type": "slack", "url": f"{receiver.base_url}/slack/agents"},
                      {"id": "agent-mail", "type": "email", "address": "{agent_id}@agents.acme.example"}],
        escalation_routing={}, assignment_notices={"acme": ["agents-slack", "agent-mail"]})
    await start_notifier(config, notifier_secrets(receiver.base_url))
    notice = assignment_notice("assign-1")
    # The same request twice (a router replay republishes the same intent id under a new event id).
    await producer.publish(bus_topics.notifications, notice, key="c-42", event_id="e-1")
    await producer.publish(bus_topics.notifications, notice, key="c-42", event_id="e-2")
    await producer.drain()

    await wait_for(lambda: receiver.at("/slack/agents") and smtp_server.messages, timeout=20)
    slack = json.loads(receiver.at("/slack/agents")[0].body)
    assert slack["text"].startswith("Bob, a conversation was assigned to you: Li Wei on whatsapp")
    assert slack["blocks"][-1]["elements"][0]["url"] == "https://console.sb.test/conversations/c-42"
    mail = smtp_server.messages[0]
    assert mail["To"] == "bob@agents.acme.example" and "New conversation for you: Li Wei" in mail["Subject"]
    assert "https://console.sb.test/conversations/c-42" in mail.get_body(("plain",)).get_content()

    records = await read_topic(kafka_bootstrap, bus_topics.deliveries, min_count=2, timeout=15)
    assert {(r.payload.destination, r.payload.outcome) for r in records} == {
        ("slack:agents-slack", notification_pb2.DELIVERY_OUTCOME_DELIVERED),
        ("email:agent-mail", notification_pb2.DELIVERY_OUTCOME_DELIVERED)}
    assert {r.payload.kind for r in records} == {notification_pb2.NOTIFICATION_KIND_AGENT_ASSIGNED}
    assert len(receiver.at("/slack/agents")) == 1 and len(smtp_server.messages) == 1


async def test_a_brand_without_assignment_destinations_records_the_notice_as_skipped(
        receiver, smtp_server, start_notifier, producer, bus_topics, kafka_bootstrap):
    await start_notifier(notifier_config(receiver.base_url, smtp_server.port), notifier_secrets(receiver.base_url))
    await producer.publish(bus_topics.notifications, assignment_notice("assign-2", "globex"), key="c-42",
                           event_id="e-3")
    await producer.drain()
    (record,) = await read_topic(kafka_bootstrap, bus_topics.deliveries, min_count=1, timeout=15)
    assert record.payload.outcome == notification_pb2.DELIVERY_OUTCOME_SKIPPED
    assert "no assignment_notices destination for brand globex" in record.payload.detail
    assert receiver.requests == []
