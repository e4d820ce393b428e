"""The notifier's handler rules, with in-memory ports (fakes.py) and a ManualClock: intake's skip
rules and exactly-once per intent id, DLQ replays, assignment-notice routing, what a failure puts on
the DLQ, and the dispatcher holding an outcome while the store is away (sent once, never again)."""
from __future__ import annotations

import asyncio

import pytest
from notifier_handler_kit import (
    ESCALATIONS,
    TOPIC,
    K,
    assignment,
    email_request,
    envelope,
    escalation,
    make_notifier,
    replay_of,
    telegram_reply,
)
from switchboard.common.consumer import PermanentError
from switchboard.common.testing import wait_for
from switchboard.events.v1 import common_pb2, notification_pb2
from switchboard.notifier.domain.model import SendOutcome
from switchboard.notifier.domain.signature import verify_signature

DELIVERIES = "t.switchboard.deliveries.v1"


def outcomes(notifier) -> dict[str, int]:
    """{intent id: DeliveryOutcome} of every DeliveryRecorded published so far."""
    return {p.payload.intent_id: p.payload.outcome for p in notifier.publisher.on(DELIVERIES)}


# ------------------------------------------------------------------ intake: skip rules
@pytest.mark.parametrize(("request_", "reason"), [
    (email_request("tr-1", K.NOTIFICATION_KIND_TRANSCRIPT, email=""), "no email address for the transcript"),
    (email_request("tr-2", K.NOTIFICATION_KIND_TRANSCRIPT, variables={"transcript_opt_out": "true"}),
     "customer opted out of transcripts"),
    (email_request("ag-1", K.NOTIFICATION_KIND_AGENT_REPLY, email="+4915112345678", text="hi",
                   handle_kind=common_pb2.HANDLE_KIND_PHONE),
     "email requested but the recipient handle is not an email address"),
    (telegram_reply("tg-1", chat_id=""), "no address to send to"),
])
async def test_a_request_that_cannot_be_sent_is_recorded_as_skipped_and_reported(request_, reason):
    notifier = make_notifier()
    await notifier.intake(envelope(request_, "ev-1"))
    [entry] = notifier.outbox.docs.values()
    assert (entry["state"], entry["detail"]) == ("skipped", reason)
    await notifier.report()
    assert outcomes(notifier) == {request_.intent_id: notification_pb2.DELIVERY_OUTCOME_SKIPPED}
    assert notifier.publisher.raw == []  # a skip is no failure: nothing dead-lettered


async def test_a_second_csat_survey_for_a_conversation_is_skipped_but_the_same_intent_again_is_not():
    notifier = make_notifier()
    first = email_request("csat-1", K.NOTIFICATION_KIND_CSAT_SURVEY)
    await notifier.intake(envelope(first, "ev-1"), envelope(first, "ev-1-again", offset=1))
    await notifier.intake(envelope(email_request("csat-2", K.NOTIFICATION_KIND_CSAT_SURVEY), "ev-2", offset=2))
    assert notifier.outbox.states() == {"csat-1|smtp": "pending", "csat-2|smtp": "skipped"}
    assert notifier.outbox.docs["csat-2|smtp"]["detail"] == "survey already sent for this conversation"


async def test_a_newer_queue_position_skips_the_older_one_still_waiting():
    notifier = make_notifier()
    older = telegram_reply("qp-1", kind=K.NOTIFICATION_KIND_QUEUE_POSITION)
    newer = telegram_reply("qp-2", kind=K.NOTIFICATION_KIND_QUEUE_POSITION)
    await notifier.intake(envelope(older, "ev-1", offset=1))
    await notifier.intake(envelope(newer, "ev-2", offset=2))
    states = notifier.outbox.states()
    assert (states["qp-1|telegram:telegram"], states["qp-2|telegram:telegram"]) == ("skipped", "pending")


@pytest.mark.parametrize(("request_", "error"), [
    (telegram_reply(""), "intent_id is required"),
    (notification_pb2.NotificationRequested(brand_id="acme", intent_id="x", kind=K.NOTIFICATION_KIND_AGENT_REPLY,
                                            template="no_such_template"), "unknown template 'no_such_template'"),
    (notification_pb2.NotificationRequested(brand_id="acme", intent_id="x", kind=K.NOTIFICATION_KIND_AGENT_REPLY,
                                            text="hi"), "channel is required"),
    (notification_pb2.NotificationRequested(brand_id="acme", intent_id="x", kind=K.NOTIFICATION_KIND_ESCALATION),
     "ESCALATION notification without `escalation`"),
    (assignment("as-1", brand_id="acme", agent_id=""), "AGENT_ASSIGNED needs assignment.agent_id"),
    (common_pb2.ContactHandle(value="x"), "notifier does not handle switchboard.events.v1.ContactHandle"),
])
async def test_a_bad_request_is_refused_for_the_dlq_and_writes_nothing(request_, error):
    notifier = make_notifier()
    with pytest.raises(PermanentError, match=error.replace("(", r"\(").replace(")", r"\)")):
        await notifier.intake(envelope(request_, "ev-bad"))
    assert notifier.outbox.docs == {}


# ------------------------------------------------------------------ exactly once per intent id
async def test_a_repeated_intent_changes_nothing_whatever_its_event_id_or_state():
    notifier = make_notifier()
    request = telegram_reply("once-1")
    await notifier.intake(envelope(request, "ev-1"))
    entry = notifier.outbox.docs["once-1|telegram:telegram"]
    entry.update(state="delivered", attempts=1)
    await notifier.intake(envelope(request, "ev-2", offset=5), envelope(request, "ev-1", offset=6))
    assert notifier.outbox.states() == {"once-1|telegram:telegram": "delivered"}
    assert notifier.outbox.docs["once-1|telegram:telegram"]["event_id"] == "ev-1"


# ------------------------------------------------------------------ DLQ replay
async def test_a_dlq_replay_revives_only_failed_reported_entries_and_once_per_dlq_record():
    notifier = make_notifier()
    failed, delivered, waiting = (envelope(telegram_reply(i), f"ev-{i}", offset=n)
                                  for n, i in enumerate(("dead", "done", "open")))
    await notifier.intake(failed, delivered, waiting)
    notifier.outbox.docs["dead|telegram:telegram"].update(state="failed", attempts=3, report_due=False)
    notifier.outbox.docs["done|telegram:telegram"].update(state="delivered", report_due=False)

    await notifier.intake(failed, delivered)  # an ordinary duplicate revives nothing
    assert notifier.outbox.docs["dead|telegram:telegram"]["state"] == "failed"

    await notifier.intake(replay_of(failed, 7), replay_of(delivered, 8), replay_of(waiting, 9))
    assert notifier.outbox.states() == {"dead|telegram:telegram": "pending", "done|telegram:telegram": "delivered",
                                        "open|telegram:telegram": "pending"}
    revived = notifier.outbox.docs["dead|telegram:telegram"]
    assert (revived["attempts"], revived["replays"]) == (0, 1)

    revived.update(state="failed", report_due=False)  # fails again; the same DLQ record replayed twice
    await notifier.intake(replay_of(failed, 7))
    assert revived["state"] == "failed"
    await notifier.intake(replay_of(failed, 11))  # its new DLQ record revives it again
    assert (revived["state"], revived["replays"]) == ("pending", 2)


async def test_a_replay_of_one_failed_destination_of_an_escalation_resends_only_that_destination():
    notifier = make_notifier()
    raised = envelope(escalation("esc-1"), "ev-esc", topic=ESCALATIONS)
    await notifier.intake(raised)
    for entry in notifier.outbox.docs.values():
        entry.update(state="failed", report_due=False)
    await notifier.intake(replay_of(raised, 3, destination="slack:ops-slack"))
    assert notifier.outbox.states() == {"esc-1|slack:ops-slack": "pending", "esc-1|webhook:crm": "failed"}


# ------------------------------------------------------------------ people: routing
async def test_an_assignment_notice_goes_to_the_brands_own_destination_signed():
    notifier = make_notifier()
    await notifier.intake(envelope(assignment("as-g", brand_id="globex"), "ev-g"))
    [entry] = notifier.outbox.docs.values()
    assert entry["destination"] == "webhook:globex-desk"
    outcome, _ = await notifier.handlers.send(entry, notifier.clock.now())
    assert outcome.outcome == "delivered"
    [request] = notifier.http.requests
    assert request.url == "https://globex.test/desk"
    verify_signature(request.headers["X-Switchboard-Signature"], "crm-s3cret", request.content,
                     notifier.clock.now().timestamp())
    assert request.headers["Idempotency-Key"] == "as-g|webhook:globex-desk"


async def test_an_assignment_notice_by_email_names_the_agent_and_a_brand_without_destinations_is_skipped():
    notifier = make_notifier(assignment_notices={"acme": ["agents-mail"]})
    await notifier.intake(envelope(assignment("as-a", brand_id="acme", agent_id="maria"), "ev-a"),
                          envelope(assignment("as-n", brand_id="globex"), "ev-n", offset=1))
    assert notifier.outbox.states() == {"as-a|email:agents-mail": "pending", "as-n|none": "skipped"}
    await notifier.handlers.send(notifier.outbox.docs["as-a|email:agents-mail"], notifier.clock.now())
    [mail] = notifier.smtp.messages
    assert mail["To"] == "maria@acme.example"
    assert "https://console.sb.test/conversations/c-5" in mail.get_body(("plain",)).get_content()


async def test_an_escalation_fans_out_by_level_and_one_with_nothing_routed_is_skipped():
    notifier = make_notifier(escalation_routing={"acme": {2: ["ops-slack", "crm"]}})
    await notifier.intake(envelope(escalation("esc-2"), "ev-1", topic=ESCALATIONS),
                          envelope(escalation("esc-3", brand_id="globex"), "ev-2", topic=ESCALATIONS, offset=1))
    assert notifier.outbox.states() == {"esc-2|slack:ops-slack": "pending", "esc-2|webhook:crm": "pending",
                                        "esc-3|none": "skipped"}
    await notifier.handlers.send(notifier.outbox.docs["esc-2|slack:ops-slack"], notifier.clock.now())
    [slack] = notifier.http.requests
    assert slack.url == "https://hooks.slack.test/ops"
    assert "FIRST RESPONSE target 2m" in str(slack.json) and "https://console.sb.test/conversations/c-9" in \
        str(slack.json)


# ------------------------------------------------------------------ failures and the DLQ
async def test_a_failed_delivery_is_reported_and_its_request_dead_lettered_with_the_shared_headers():
    notifier = make_notifier()
    request = envelope(telegram_reply("dead-1"), "ev-1", offset=41)
    await notifier.intake(request)
    notifier.outbox.docs["dead-1|telegram:telegram"].update(
        state="failed", attempts=3, report_due=True, finished_at=notifier.clock.now().timestamp(),
        detail="http 400: chat not found for ana@example.com")
    await notifier.report()
    assert outcomes(notifier) == {"dead-1": notification_pb2.DELIVERY_OUTCOME_FAILED}
    [dead] = notifier.publisher.raw
    headers = dict(dead.headers)
    assert dead.topic == f"{TOPIC}.dlq" and dead.value == request.payload.SerializeToString()
    assert headers["ce_id"] == b"ev-1"  # the original event, so a replay is recognised downstream
    assert {k: headers[k] for k in ("dlq_reason", "dlq_topic", "dlq_partition", "dlq_offset", "dlq_group",
                                    "dlq_destination", "dlq_intent_id", "dlq_attempts")} == {
        "dlq_reason": b"delivery_failed", "dlq_topic": TOPIC.encode(), "dlq_partition": b"0", "dlq_offset": b"41",
        "dlq_group": b"t.notifier", "dlq_destination": b"telegram:telegram", "dlq_intent_id": b"dead-1",
        "dlq_attempts": b"3"}
    assert headers["dlq_error"].startswith(b"http 400: chat not found for ") and b"ana@example.com" not in \
        headers["dlq_error"]


# ------------------------------------------------------------------ dispatcher: the store away
async def test_an_outcome_is_held_while_the_store_is_away_and_the_message_is_never_sent_again():
    # One send at a time, so the messages queue locally behind each other.
    notifier = make_notifier(customer_channels={"telegram": {"api": "telegram", "base_url": "https://tg.test",
                                                             "concurrency": 1, "timeout_seconds": 1}})
    outbox, dispatcher = notifier.outbox, notifier.dispatcher
    await notifier.intake(*(envelope(telegram_reply(f"m{n}"), f"ev-{n}", offset=n) for n in (1, 2, 3)))
    answered, second_may_answer = [], asyncio.Event()

    async def answer(request):
        answered.append(request.headers["Idempotency-Key"])
        if len(answered) == 1:
            outbox.down = True  # the store goes away while the first send is on its way back
        else:
            await second_may_answer.wait()  # the second send is out when the outage is noticed
        return SendOutcome.delivered(f"p-{len(answered)}")

    notifier.http.answer = answer
    await dispatcher.start()
    try:
        await wait_for(lambda: dispatcher.recording_failed and len(answered) == 2, timeout=5)
        second_may_answer.set()
        await wait_for(lambda: dispatcher.unrecorded == 2, timeout=5, message="both outcomes held")
        await notifier.clock.advance(60)  # every lease runs out meanwhile
        assert answered == ["m1|telegram:telegram", "m2|telegram:telegram"]  # the third waits: not recordable
        outbox.down = False
        await wait_for(lambda: outbox.states() == dict.fromkeys(("m1|telegram:telegram", "m2|telegram:telegram",
                                                                 "m3|telegram:telegram"), "delivered"), timeout=5)
        await wait_for(lambda: len(outcomes(notifier)) == 3, timeout=5, message="all reported")
    finally:
        await dispatcher.stop()
    assert sorted(answered) == ["m1|telegram:telegram", "m2|telegram:telegram", "m3|telegram:telegram"]  # once each


async def test_a_retryable_failure_is_rescheduled_and_the_exhausted_budget_fails_it_for_the_dlq():
    notifier = make_notifier()
    notifier.http.answer = lambda request: SendOutcome.retry("http 503")
    await notifier.intake(envelope(telegram_reply("flaky-1"), "ev-1"))
    await notifier.dispatcher.start()
    try:
        for attempt in (1, 2):
            await wait_for(lambda a=attempt: notifier.outbox.docs["flaky-1|telegram:telegram"]["attempts"] == a,
                           timeout=5)
            assert notifier.outbox.docs["flaky-1|telegram:telegram"]["state"] == "pending"
            await notifier.clock.advance(10)  # past the backoff (at most 2 s here)
        await wait_for(lambda: len(notifier.publisher.raw) == 1, timeout=5, message="dead-lettered")
    finally:
        await notifier.dispatcher.stop()
    entry = notifier.outbox.docs["flaky-1|telegram:telegram"]
    assert (entry["state"], entry["detail"]) == ("failed", "retry budget exhausted after 3 attempts: http 503")
    assert len(notifier.http.requests) == 3
