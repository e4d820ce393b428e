"""Customer messages: email in the customer's language with threading, provider API shapes,
CSAT held durably until due and sent once per conversation, transcripts, bad requests."""
from __future__ import annotations

import json
from datetime import timedelta

from events import K, email_handle, notification, snapshot
from notifier_it_config import notifier_config, notifier_secrets
from switchboard.common.clock import ManualClock
from switchboard.common.testing import read_topic, wait_for
from switchboard.common.testing.helpers import read_raw
from switchboard.events.v1 import common_pb2, notification_pb2


async def test_email_arrives_in_the_customers_language_threaded_under_their_message(
        receiver, smtp_server, start_notifier, producer, bus_topics, kafka_bootstrap):
    await start_notifier(notifier_config(receiver.base_url, smtp_server.port), notifier_secrets(receiver.base_url))
    conv = snapshot("c-de", channel=common_pb2.CHANNEL_EMAIL, language="de", customer_name="Jonas",
                    order_ids=["A-2002"], email_threading=common_pb2.EmailThreading(
                        message_id="<cust-2@mail.example>", references=["<cust-1@mail.example>"],
                        subject="Wo ist meine Bestellung?"))
    delayed = notification("upd-1", K.NOTIFICATION_KIND_PROACTIVE_UPDATE, template="order_delayed", language="de",
                           conversation=conv, recipient=email_handle("jonas@example.de"),
                           variables={"new_eta": "12.03.2026"})
    reply = notification("reply-de", K.NOTIFICATION_KIND_AGENT_REPLY, text="Die Rückerstattung ist unterwegs.",
                         language="de", conversation=conv, recipient=email_handle("jonas@example.de"))
    swahili = notification("upd-sw", K.NOTIFICATION_KIND_PROACTIVE_UPDATE, template="still_working", language="sw",
                           conversation=snapshot("c-sw", channel=common_pb2.CHANNEL_EMAIL, language="sw"),
                           recipient=email_handle("amani@example.ke"))
    for i, req in enumerate([delayed, reply, swahili]):
        await producer.publish(bus_topics.notifications, req, key=req.conversation.conversation_id, event_id=f"e{i}")
    await producer.drain()
    await wait_for(lambda: len(smtp_server.messages) == 3, timeout=20)
    by_to = {m["To"]: m for m in smtp_server.messages if m["To"] != "jonas@example.de"}
    jonas = [m for m in smtp_server.messages if m["To"] == "jonas@example.de"]
    update = next(m for m in jonas if "A-2002" in m["Subject"])
    assert update["Subject"] == "Neuigkeiten zu Ihrer Bestellung A-2002 - ACME Store"
    assert update["Content-Language"] == "de"
    assert "Hallo Jonas, Ihre Bestellung A-2002 verzögert sich; sie sollte jetzt bis 12.03.2026 ankommen" in \
        update.get_body(("plain",)).get_content()
    agent = next(m for m in jonas if m is not update)
    assert agent["Subject"] == "Re: Wo ist meine Bestellung?"
    assert agent["In-Reply-To"] == "<cust-2@mail.example>"
    assert agent["References"] == "<cust-1@mail.example> <cust-2@mail.example>"
    assert agent["From"] == "ACME Store Support <help@acme.example>"
    assert "Die Rückerstattung ist unterwegs." in agent.get_body(("plain",)).get_content()
    fallback = by_to["amani@example.ke"]
    assert fallback["Content-Language"] == "en" and "still working on your request" in \
        fallback.get_body(("plain",)).get_content()
    records = await read_topic(kafka_bootstrap, bus_topics.deliveries, min_count=3, timeout=10)
    assert {r.payload.intent_id: r.payload.language for r in records} == {"upd-1": "de", "reply-de": "de",
                                                                          "upd-sw": "en"}


async def test_messaging_channels_use_each_providers_send_message_shape(
        receiver, smtp_server, start_notifier, producer, bus_topics):
    await start_notifier(notifier_config(receiver.base_url, smtp_server.port), notifier_secrets(receiver.base_url))
    cases = [
        (common_pb2.CHANNEL_SMS, common_pb2.HANDLE_KIND_PHONE, "+4915112345678"),
        (common_pb2.CHANNEL_WHATSAPP, common_pb2.HANDLE_KIND_WHATSAPP_ID, "4915112345678"),
        (common_pb2.CHANNEL_VK, common_pb2.HANDLE_KIND_VK_ID, "1234"),
        (common_pb2.CHANNEL_TELEGRAM, common_pb2.HANDLE_KIND_TELEGRAM_ID, "42"),
        (common_pb2.CHANNEL_CHAT, common_pb2.HANDLE_KIND_CHAT_SESSION, "sess-1"),
        (common_pb2.CHANNEL_PHONE, common_pb2.HANDLE_KIND_PHONE, "+33612345678"),  # after a call: SMS
    ]
    for i, (channel, kind, value) in enumerate(cases):
        req = notification(f"q-{i}", K.NOTIFICATION_KIND_QUEUE_POSITION, channel=channel, language="fr",
                           recipient=common_pb2.ContactHandle(kind=kind, value=value),
                           variables={"position": "3", "eta_seconds": "240"})
        await producer.publish(bus_topics.notifications, req, key=f"c-{i}", event_id=f"q-{i}")
    await producer.drain()
    await wait_for(lambda: len(receiver.requests) == 6, timeout=20)
    text = "Vous êtes numéro 3 dans la file d'attente, environ 4 min."
    twilio = {r.form["To"]: r.form for r in receiver.at("/twilio/2010-04-01/Accounts/AC1/Messages.json")}
    assert twilio["+4915112345678"]["Body"].startswith(text) and twilio["+33612345678"]["Body"].startswith(text)
    meta = json.loads(receiver.at("/meta/v21.0/555/messages")[0].body)
    assert meta["to"] == "4915112345678" and meta["text"]["body"].startswith(text)
    vk = receiver.at("/vk/method/messages.send")[0].form
    assert vk["peer_id"] == "1234" and vk["message"].startswith(text) and vk["random_id"].isdigit()
    tg = json.loads(receiver.at("/telegram/bot1:tg/sendMessage")[0].body)
    assert tg["chat_id"] == "42" and tg["text"].startswith(text)
    chat = json.loads(receiver.at("/chat/messages")[0].body)
    assert chat["to"] == "sess-1" and chat["text"].startswith(text)


async def test_csat_is_held_durably_until_due_survives_a_restart_and_goes_once_per_conversation(
        receiver, smtp_server, start_notifier, producer, bus_topics, kafka_bootstrap):
    clock = ManualClock()
    config = notifier_config(receiver.base_url, smtp_server.port)
    first = await start_notifier(config, notifier_secrets(receiver.base_url), clock=clock)
    due = clock.now() + timedelta(minutes=30)
    conv = snapshot("c-csat", channel=common_pb2.CHANNEL_EMAIL, language="es", customer_name="Lucía")
    survey = notification("csat-c-csat", K.NOTIFICATION_KIND_CSAT_SURVEY, language="es", conversation=conv,
                          recipient=email_handle("lucia@example.es"), not_before=due)
    await producer.publish(bus_topics.notifications, survey, key="c-csat", event_id="csat-1")
    await producer.drain()
    outbox = first.svc.outbox
    await wait_for(lambda: outbox.get("csat-c-csat|smtp"), timeout=20)
    await clock.advance(timedelta(minutes=29))
    await first.stop()  # a restart while the survey waits
    assert smtp_server.messages == []

    second = await start_notifier(config, notifier_secrets(receiver.base_url), clock=clock)
    # Reopened and resolved again: the router asks for another survey; the customer gets one only.
    again = notification("csat-c-csat-2", K.NOTIFICATION_KIND_CSAT_SURVEY, language="es", conversation=conv,
                         recipient=email_handle("lucia@example.es"), not_before=due)
    await producer.publish(bus_topics.notifications, again, key="c-csat", event_id="csat-2")
    await producer.drain()
    await wait_for(lambda: second.svc.outbox.get("csat-c-csat-2|smtp"), timeout=20)
    assert smtp_server.messages == []
    await clock.advance(timedelta(minutes=1))
    await wait_for(lambda: smtp_server.messages, timeout=10)
    mail = smtp_server.messages[0]
    assert mail["Subject"] == "¿Qué tal lo hicimos? - ACME Store" and mail["Content-Language"] == "es"
    body = mail.get_body(("plain",)).get_content()
    assert "Hola Lucía" in body
    for score in range(1, 6):
        assert f"https://sb.test/v1/brands/acme/csat/csat-c-csat?score={score}&conversation_id=c-csat" in body
    html = mail.get_body(("html",)).get_content()
    assert 'href="https://sb.test/v1/brands/acme/csat/csat-c-csat?score=5&amp;conversation_id=c-csat"' in html
    records = await read_topic(kafka_bootstrap, bus_topics.deliveries, min_count=2, timeout=10)
    outcomes = {r.payload.intent_id: (r.payload.outcome, r.payload.detail) for r in records}
    assert outcomes["csat-c-csat"][0] == notification_pb2.DELIVERY_OUTCOME_DELIVERED
    assert outcomes["csat-c-csat-2"] == (notification_pb2.DELIVERY_OUTCOME_SKIPPED,
                                         "survey already sent for this conversation")
    assert len(smtp_server.messages) == 1


async def test_transcript_needs_an_address_and_respects_opt_out(
        receiver, smtp_server, start_notifier, producer, bus_topics, kafka_bootstrap):
    await start_notifier(notifier_config(receiver.base_url, smtp_server.port), notifier_secrets(receiver.base_url))
    chat = snapshot("c-chat", channel=common_pb2.CHANNEL_CHAT, language="it", customer_name="Giulia")
    session = common_pb2.ContactHandle(kind=common_pb2.HANDLE_KIND_CHAT_SESSION, value="sess-9")
    transcript = "Giulia: dov'è il mio ordine?\nAgente: è partito ieri."
    sent = notification("tr-1", K.NOTIFICATION_KIND_TRANSCRIPT, channel=common_pb2.CHANNEL_CHAT, language="it",
                        conversation=chat, recipient=email_handle("giulia@example.it"),
                        variables={"transcript": transcript})
    no_address = notification("tr-2", K.NOTIFICATION_KIND_TRANSCRIPT, channel=common_pb2.CHANNEL_CHAT,
                              conversation=chat, recipient=session, variables={"transcript": transcript})
    opted_out = notification("tr-3", K.NOTIFICATION_KIND_TRANSCRIPT, channel=common_pb2.CHANNEL_CHAT,
                             conversation=chat, recipient=email_handle("giulia@example.it"),
                             variables={"transcript": transcript, "transcript_opt_out": "true"})
    for i, req in enumerate([sent, no_address, opted_out]):
        await producer.publish(bus_topics.notifications, req, key="c-chat", event_id=f"tr-{i}")
    await producer.drain()
    records = await read_topic(kafka_bootstrap, bus_topics.deliveries, min_count=3, timeout=20)
    outcomes = {r.payload.intent_id: (r.payload.outcome, r.payload.detail) for r in records}
    assert outcomes["tr-1"][0] == notification_pb2.DELIVERY_OUTCOME_DELIVERED
    assert outcomes["tr-2"] == (notification_pb2.DELIVERY_OUTCOME_SKIPPED, "no email address for the transcript")
    assert outcomes["tr-3"] == (notification_pb2.DELIVERY_OUTCOME_SKIPPED, "customer opted out of transcripts")
    assert len(smtp_server.messages) == 1
    mail = smtp_server.messages[0]
    assert mail["Subject"] == "La tua chat con ACME Store"
    assert "è partito ieri." in mail.get_body(("plain",)).get_content()


async def test_bad_requests_go_to_the_dlq_and_do_not_stop_the_consumer(
        receiver, smtp_server, start_notifier, producer, bus_topics, kafka_bootstrap):
    await start_notifier(notifier_config(receiver.base_url, smtp_server.port), notifier_secrets(receiver.base_url))
    no_intent = notification("", K.NOTIFICATION_KIND_AGENT_REPLY, text="x")
    unknown_template = notification("bad-tpl", K.NOTIFICATION_KIND_PROACTIVE_UPDATE, template="does_not_exist")
    good = notification("good-1", K.NOTIFICATION_KIND_AGENT_REPLY, text="fine")
    for i, req in enumerate([no_intent, unknown_template, good]):
        await producer.publish(bus_topics.notifications, req, key="c-1", event_id=f"b-{i}")
    await producer.drain()
    await wait_for(lambda: smtp_server.messages, timeout=20)
    dlq = await read_raw(kafka_bootstrap, bus_topics.dlq("notifications"), min_count=2, timeout=10)
    errors = sorted(dict(r.headers)["dlq_error"].decode() for r in dlq)
    assert errors == ["intent_id is required", "unknown template 'does_not_exist'"]


async def test_after_an_outage_only_the_newest_queue_position_is_sent(
        receiver, smtp_server, start_notifier, producer, bus_topics, kafka_bootstrap):
    clock = ManualClock()
    down = [True]
    receiver.behave["/telegram"] = lambda n: (503, {}, b"down") if down[0] else \
        (200, {}, b'{"ok":true,"result":{"message_id":1}}')
    notifier = await start_notifier(notifier_config(receiver.base_url, smtp_server.port),
                                    notifier_secrets(receiver.base_url), clock=clock)
    outbox = notifier.svc.outbox
    tg = common_pb2.ContactHandle(kind=common_pb2.HANDLE_KIND_TELEGRAM_ID, value="42")
    conv = snapshot("c-q", channel=common_pb2.CHANNEL_TELEGRAM)
    for position in (5, 4, 3):
        req = notification(f"queue-{position}", K.NOTIFICATION_KIND_QUEUE_POSITION,
                           channel=common_pb2.CHANNEL_TELEGRAM, recipient=tg, conversation=conv,
                           variables={"position": str(position)})
        await producer.publish(bus_topics.notifications, req, key="c-q", event_id=f"q-{position}")
        await producer.drain()

        async def failed_once(intent=f"queue-{position}|telegram:telegram"):
            doc = await outbox.get(intent)
            return doc and doc["state"] == "pending" and doc["attempts"] == 1

        await wait_for(failed_once, timeout=20)  # the retry waits for the (manual) clock
    down[0] = False
    await clock.advance(60)
    await wait_for(lambda: receiver.at("/telegram"), timeout=20)
    records = await read_topic(kafka_bootstrap, bus_topics.deliveries, min_count=3, timeout=20)
    outcomes = {r.payload.intent_id: (r.payload.outcome, r.payload.detail) for r in records}
    superseded = (notification_pb2.DELIVERY_OUTCOME_SKIPPED, "superseded by a newer queue position")
    assert outcomes["queue-5"] == superseded and outcomes["queue-4"] == superseded
    assert outcomes["queue-3"][0] == notification_pb2.DELIVERY_OUTCOME_DELIVERED
    assert [json.loads(r.body)["text"].split(" in the queue")[0] for r in receiver.at("/telegram")] == \
        ["You are number 3"]
