"""What a DLQ replay looks like on the bus, and how the notifier tells it from an ordinary duplicate
(pure functions: no broker, no store)."""
from datetime import UTC, datetime, timedelta

import pytest
from switchboard.common.cloudevents import Envelope
from switchboard.common.dlq_replay import (
    REPLAY_DESTINATION,
    REPLAY_OF,
    REPLAYED_AT,
    parse_instant,
    replay_headers,
    replay_marker,
    resolve_topic,
)
from switchboard.common.topics import TopicNames
from switchboard.events.v1 import notification_pb2
from switchboard.notifier.handlers.reporting import delivery_event_id, replayed_entries

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
DLQ_RECORD_HEADERS = [("ce_id", b"ev-1"), ("ce_type", b"switchboard.notification.v1.NotificationRequested"),
                      ("dlq_reason", b"delivery_failed"), ("dlq_error", b"retry budget exhausted"),
                      ("dlq_destination", b"slack:ops-slack"), ("dlq_topic", b"p.switchboard.escalations.v1"),
                      ("dlq_offset", b"17")]


def test_a_replayed_copy_drops_the_failure_headers_and_says_which_dlq_record_it_copies():
    headers = replay_headers(DLQ_RECORD_HEADERS, "p.switchboard.escalations.v1.dlq", 2, 41, NOW)
    names = [name for name, _ in headers]
    assert names[:2] == ["ce_id", "ce_type"]  # the event itself is unchanged: same id, consumers still dedupe
    assert not {"dlq_reason", "dlq_error", "dlq_topic", "dlq_offset", "dlq_destination"} & set(names)
    values = dict(headers)
    assert values[REPLAY_OF] == b"p.switchboard.escalations.v1.dlq/2/41"
    assert values[REPLAYED_AT] == b"2026-05-01T12:00:00Z"
    assert values[REPLAY_DESTINATION] == b"slack:ops-slack"
    marker = replay_marker(headers)
    assert marker.token == "p.switchboard.escalations.v1.dlq/2/41" and marker.destination == "slack:ops-slack"


def test_an_ordinary_record_is_no_replay():
    assert replay_marker([("ce_id", b"ev-1")]) is None
    assert replay_marker(DLQ_RECORD_HEADERS) is None  # a DLQ record itself is not a replay either


def _envelope(headers) -> Envelope:
    return Envelope(payload=notification_pb2.NotificationRequested(), id="ev-1", type="t", source="s", time=NOW,
                    raw_headers=headers)


def test_a_replay_of_one_failed_destination_revives_only_that_destination():
    planned = [{"_id": "esc-1|slack:ops-slack", "destination": "slack:ops-slack"},
               {"_id": "esc-1|webhook:crm", "destination": "webhook:crm"}]
    replay = replay_headers(DLQ_RECORD_HEADERS, "x.dlq", 0, 5, NOW)
    assert replayed_entries(_envelope(replay), planned) == {"esc-1|slack:ops-slack": "x.dlq/0/5"}
    without_destination = [h for h in replay if h[0] != REPLAY_DESTINATION]
    assert set(replayed_entries(_envelope(without_destination), planned)) == {p["_id"] for p in planned}
    assert replayed_entries(_envelope([("ce_id", b"ev-1")]), planned) == {}  # a duplicate revives nothing


def test_an_outcome_after_a_replay_is_a_new_delivery_event_but_a_repeated_report_is_not():
    doc = {"_id": "n-1|telegram:telegram", "state": "failed"}
    first_failure = delivery_event_id(doc)
    assert delivery_event_id(dict(doc)) == first_failure  # reported again after a crash: same id, deduped
    assert delivery_event_id({**doc, "replays": 1}) != first_failure  # failed again after a replay: counted


@pytest.mark.parametrize("text, expected", [
    ("2h", NOW - timedelta(hours=2)), ("30m", NOW - timedelta(minutes=30)), ("90s", NOW - timedelta(seconds=90)),
    ("7d", NOW - timedelta(days=7)), ("2026-04-30T08:00:00Z", datetime(2026, 4, 30, 8, tzinfo=UTC)),
    ("2026-04-30T10:00:00+02:00", datetime(2026, 4, 30, 8, tzinfo=UTC)),
    ("2026-04-30T08:00:00", datetime(2026, 4, 30, 8, tzinfo=UTC)),
])
def test_since_and_until_take_iso_times_or_durations_back(text, expected):
    assert parse_instant(text, NOW) == expected


def test_an_unreadable_time_says_what_is_expected():
    with pytest.raises(ValueError, match="neither an ISO time .* nor a duration"):
        parse_instant("yesterday", NOW)


def test_topic_by_registry_name_full_name_or_dlq_name():
    names = TopicNames("prod.")
    assert resolve_topic("notifications", names) == "prod.switchboard.notifications.v1"
    assert resolve_topic("switchboard.notifications.v1", names) == "prod.switchboard.notifications.v1"
    assert resolve_topic("prod.switchboard.notifications.v1.dlq", names) == "prod.switchboard.notifications.v1"
    assert resolve_topic("orders_external", TopicNames("")) == "switchboard.orders.external.v1"
    assert resolve_topic("legacy.topic", names) == "legacy.topic"  # not in the registry: taken as given
