"""Projection rules (pure): newest snapshot per conversation, row fields, activity documents."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from switchboard.console.domain.projection import (
    ConversationFact,
    EscalationFact,
    SlaEventFact,
    Snapshot,
    Version,
    activity_document,
    from_ms,
    is_newer,
    newest_snapshots,
    row_fields,
    to_ms,
)
from switchboard.console.domain.sla import SlaFact

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
TTL = timedelta(hours=24)


def fact(event_id: str, at: datetime, kind="status_changed", cid="c1", offset=-1, partition=0,
         **snap) -> ConversationFact:
    return ConversationFact(event_id=event_id, brand_id="acme", kind=kind, occurred_at=at,
                            snapshot=Snapshot(conversation_id=cid, **snap), partition=partition, offset=offset)


def test_the_newest_snapshot_of_each_conversation_wins_whatever_the_arrival_order():
    late = fact("e2", T0 + timedelta(minutes=1), status="assigned")
    early = fact("e1", T0, status="queued")
    other = fact("e3", T0, cid="c2")
    newest = newest_snapshots([late, early, other])
    assert newest == {"c1": late, "c2": other}


def test_events_of_one_input_share_a_time_and_the_offset_orders_them_not_the_event_id():
    # One webhook: opened, handed off, queued, assigned all carry the same occurred_at; the event ids
    # are random. The row must end on the last one (assigned to alice), whatever the ids say.
    events = [fact(eid, T0, offset=10 + i, status=status, assignee_id=who)
              for i, (eid, status, who) in enumerate([("f", "bot", ""), ("a", "queued", ""), ("z", "queued", ""),
                                                      ("b", "assigned", "alice")])]
    assert newest_snapshots(events)["c1"].snapshot.assignee_id == "alice"
    assert newest_snapshots(list(reversed(events)))["c1"].snapshot.assignee_id == "alice"
    assert not is_newer(Version(to_ms(T0), 0, 10), Version(to_ms(T0), 0, 13))


def test_a_whole_second_provider_time_after_a_precise_one_is_newer_by_offset():
    # A WhatsApp message sent 0.5 s after an email is stamped 07:27:59, the email 07:27:59.011.
    email = Version(to_ms(T0 + timedelta(milliseconds=11)), partition=2, offset=40)
    whatsapp = Version(to_ms(T0), partition=2, offset=41)
    assert is_newer(whatsapp, email)
    # Replayed after a crash, the email would win back for a moment by its time; the replay goes on
    # in partition order and the WhatsApp record (read after it) wins again.
    assert is_newer(email, whatsapp) and is_newer(whatsapp, email)


def test_the_same_record_again_is_never_newer():
    stored = Version(to_ms(T0), partition=1, offset=7)
    assert not is_newer(Version(to_ms(T0), 1, 7), stored)
    assert not is_newer(Version(to_ms(T0 - timedelta(seconds=1)), 1, 5), stored)  # older, read earlier


def test_after_a_broker_restart_offsets_start_again_and_a_later_time_still_wins():
    before_restart = Version(to_ms(T0), partition=0, offset=5000)
    after_restart = Version(to_ms(T0 + timedelta(seconds=3)), partition=0, offset=2)
    assert is_newer(after_restart, before_restart)
    # Another partition (or an unknown place) compares by time only.
    assert is_newer(Version(to_ms(T0) + 1, 3, 0), before_restart)
    assert not is_newer(Version(to_ms(T0), -1, -1), before_restart)
    assert is_newer(Version(to_ms(T0)), None)


def test_row_fields_carry_search_text_and_open_flag():
    snap = Snapshot(conversation_id="c1", customer_name="Анна Иванова", handle_value="Anna@Example.ru",
                    status="resolved", priority="urgent", opened_at=T0)
    row = row_fields(snap, "acme", at=T0, event_id="e1")
    assert row["search"] == "анна иванова\nanna@example.ru"
    assert row["open"] is False and row["priority_rank"] == 3
    assert from_ms(row["updated_ms"]) == T0 and row["snap_id"] == "e1" and row["cid"] == "c1"
    assert row["reply_channel"] == ""  # no channel known at all
    seeded = row_fields(snap, "acme", at=T0, event_id="", version=Version(0))
    assert (seeded["snap_ms"], seeded["snap_partition"], seeded["snap_offset"]) == (0, -1, -1)
    placed = row_fields(snap, "acme", at=T0, event_id="e1", version=Version(to_ms(T0), 3, 17))
    assert (placed["snap_partition"], placed["snap_offset"]) == (3, 17)


def test_the_reply_goes_to_the_chosen_channel_else_the_latest_one():
    assert row_fields(Snapshot("c1", channel="whatsapp"), "acme", at=T0, event_id="e")["reply_channel"] == "whatsapp"
    chosen = Snapshot("c1", channel="chat", reply_channel="sms")
    assert row_fields(chosen, "acme", at=T0, event_id="e")["reply_channel"] == "sms"


def test_ms_round_trip():
    assert from_ms(to_ms(T0)) == T0 and to_ms(None) is None and from_ms(None) is None


def test_timeline_facts_are_kept_and_wake_ups_expire():
    now = T0 + timedelta(seconds=5)
    assigned = activity_document(fact("e1", T0, kind="conversation_assigned"), recorded_at=now, noise_ttl=TTL)
    moved = activity_document(fact("e2", T0, kind="queue_position_changed"), recorded_at=now, noise_ttl=TTL)
    assert assigned["timeline"] and "expire_at" not in assigned and assigned["_id"] == "e1"
    placed = activity_document(fact("e3", T0, kind="conversation_queued", offset=42), recorded_at=now, noise_ttl=TTL)
    assert placed["seq"] == 42
    assert not moved["timeline"] and moved["expire_at"] == now + TTL
    # A customer message's fact is no timeline line, but it places the message in the timeline: kept.
    message = activity_document(fact("e4", T0, kind="customer_message_appended"), recorded_at=now, noise_ttl=TTL)
    assert not message["timeline"] and "expire_at" not in message


def test_sla_and_escalation_activity():
    snap = Snapshot(conversation_id="c1")
    clock = SlaFact(kind="breached", metric="first_response", instance=1, policy_id="p", deadline=T0,
                    target_seconds=60, at=T0)
    breach = activity_document(SlaEventFact("s1", "acme", snap, clock, T0), recorded_at=T0, noise_ttl=TTL)
    assert breach["kind"] == "sla_breached" and breach["timeline"] and breach["detail"]["metric"] == "first_response"
    esc = EscalationFact("x1", "acme", snap, "c1:first_response:1:2", 2, "team lead", "sla_breached",
                         "first_response", T0)
    doc = activity_document(esc, recorded_at=T0, noise_ttl=TTL)
    assert doc["kind"] == "escalation_raised" and doc["detail"]["level"] == 2
