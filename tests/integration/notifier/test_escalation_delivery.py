"""Escalations reach real Slack-format and signed-webhook receivers, and a real SMTP server."""
from __future__ import annotations

import json
import time

from events import escalation
from notifier_it_config import notifier_config, notifier_secrets
from switchboard.common.testing import read_topic, wait_for
from switchboard.events.v1 import notification_pb2
from switchboard.notifier.domain.signature import SignatureError, verify_signature


async def test_escalation_reaches_slack_and_signed_webhook_and_email(
        receiver, smtp_server, start_notifier, producer, bus_topics, kafka_bootstrap):
    def verify(rec):
        if rec.path.startswith("/crm"):
            try:  # the receiver checks the signature exactly as docs/webhook-signature.md tells integrators
                verify_signature(rec.headers["X-Switchboard-Signature"], "crm-s3cret", rec.body, time.time())
            except (KeyError, SignatureError) as exc:
                return f"bad signature: {exc}"
        return None

    receiver.verify = verify
    await start_notifier(notifier_config(receiver.base_url, smtp_server.port), notifier_secrets(receiver.base_url))
    esc = escalation(level=3)
    await producer.publish(bus_topics.escalations, esc, key="c-1", event_id="esc-evt-1")
    await producer.drain()

    await wait_for(lambda: receiver.at("/slack/ops") and receiver.at("/crm") and smtp_server.messages, timeout=20)
    slack = json.loads(receiver.at("/slack/ops")[0].body)
    assert "c-1" in slack["text"] and "Ana" in slack["text"] and "chat" in slack["text"]
    assert "overdue by 1m 3" in slack["text"]
    assert slack["blocks"][-1]["elements"][0]["url"] == "https://console.sb.test/conversations/c-1"

    hook = receiver.at("/crm")[0]
    body = json.loads(hook.body)
    assert body["type"] == "escalation.raised" and body["id"] == esc.escalation_id and body["level"] == 3
    assert body["sla"]["target_seconds"] == 120

    mail = smtp_server.messages[0]
    assert mail["To"] == "managers@acme.example" and "Escalation L3" in mail["Subject"]
    assert "https://console.sb.test/conversations/c-1" in mail.get_body(("plain",)).get_content()

    records = await read_topic(kafka_bootstrap, bus_topics.deliveries, min_count=3, timeout=15)
    outcomes = {r.payload.destination: r.payload.outcome for r in records}
    assert outcomes == {"slack:ops-slack": notification_pb2.DELIVERY_OUTCOME_DELIVERED,
                        "webhook:crm": notification_pb2.DELIVERY_OUTCOME_DELIVERED,
                        "email:managers": notification_pb2.DELIVERY_OUTCOME_DELIVERED}
    assert {r.payload.intent_id for r in records} == {esc.escalation_id}


async def test_explicit_destinations_override_level_routing_and_redelivery_sends_once(
        receiver, smtp_server, start_notifier, producer, bus_topics):
    await start_notifier(notifier_config(receiver.base_url, smtp_server.port), notifier_secrets(receiver.base_url))
    esc = escalation(escalation_id="c-9:RESOLUTION:0:1", level=1, destinations=["crm"], conversation_id="c-9")
    # The same escalation published twice (a producer retry, a replay) under different event ids.
    await producer.publish(bus_topics.escalations, esc, key="c-9", event_id="e-1")
    await producer.publish(bus_topics.escalations, esc, key="c-9", event_id="e-2")
    await producer.drain()
    await wait_for(lambda: receiver.at("/crm"), timeout=20)
    second = escalation(escalation_id="c-9:RESOLUTION:0:2", level=1, destinations=["crm"], conversation_id="c-9")
    await producer.publish(bus_topics.escalations, second, key="c-9", event_id="e-3")
    await producer.drain()
    await wait_for(lambda: len(receiver.at("/crm")) == 2, timeout=20)
    assert [json.loads(r.body)["id"] for r in receiver.at("/crm")] == [esc.escalation_id, second.escalation_id]
    assert receiver.at("/slack") == []
