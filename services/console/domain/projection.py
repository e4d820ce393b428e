"""The console's projection of the bus, as pure functions over plain facts.

- One inbox row per conversation from its newest ConversationSnapshot. Every record of a conversation
  is on one partition of the conversations topic, in order, so the Kafka offset orders its snapshots;
  occurred_at cannot (all events of one input share it, and providers stamp whole seconds, so a
  WhatsApp message sent after an email can carry an earlier time). See `is_newer`. SLA and escalation
  events create a missing row from their own snapshot at the lowest version, so any conversation
  event overrides it.
- One activity document per consumed event (`_id` = event id: idempotent). `timeline` marks the
  facts shown in a conversation's timeline; the rest (customer messages, which the timeline takes
  with their text from the router, queue moves, SLA bookkeeping) only wake live pages, and expire.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from switchboard.console.domain.sla import SlaFact
from switchboard.console.domain.vocabulary import priority_rank

# Times the console updates in place are epoch milliseconds (ints): nx-27017 turns a top-level
# datetime written by $set into a string, and ints sort and compare the same everywhere.


def to_ms(when: datetime | None) -> int | None:
    return None if when is None else int(when.timestamp() * 1000)


def from_ms(ms: int | None) -> datetime | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000, UTC)


def sort_key(updated_ms: int, conversation_id: str) -> str:
    """One string that sorts like (updated time, conversation id): the inbox's keyset. A single
    field keeps the page query one index range (no $or), on MongoDB and nx-27017 alike."""
    return f"{max(updated_ms, 0):015d}|{conversation_id}"

# Conversation event kinds (the oneof case names) shown in a timeline.
TIMELINE_KINDS = frozenset({
    "conversation_opened", "conversation_handed_off", "conversation_queued", "conversation_assigned",
    "status_changed", "priority_changed", "conversation_resolved", "conversation_reopened", "order_linked",
    "csat_recorded", "chat_ended", "call_answered", "escalation_acknowledged", "repeat_contact_detected",
    "customers_merged", "sla_warning", "sla_breached", "escalation_raised",
})


# Not shown in a timeline, but kept: they place each customer message in it (see domain/timeline.py).
PLACING_KINDS = frozenset({"customer_message_appended"})


@dataclass(frozen=True)
class Snapshot:
    conversation_id: str
    customer_id: str = ""
    customer_name: str = ""
    channel: str = ""
    status: str = ""
    priority: str = "normal"
    queue: str = ""
    language: str = ""
    assignee_id: str = ""
    opened_at: datetime | None = None
    reopen_count: int = 0
    handle_kind: str = ""
    handle_value: str = ""
    order_ids: tuple[str, ...] = ()
    reply_channel: str = ""  # where an agent's reply goes: the customer's chosen channel, else `channel`


@dataclass(frozen=True)
class ConversationFact:
    event_id: str
    brand_id: str
    kind: str
    occurred_at: datetime
    snapshot: Snapshot
    detail: dict = field(default_factory=dict)
    partition: int = -1  # where the record was read (conversations topic); -1 when unknown
    offset: int = -1

    @property
    def version(self) -> Version:
        return Version(to_ms(self.occurred_at), self.partition, self.offset)


@dataclass(frozen=True)
class SlaEventFact:
    event_id: str
    brand_id: str
    snapshot: Snapshot
    clock: SlaFact
    at: datetime


@dataclass(frozen=True)
class EscalationFact:
    event_id: str
    brand_id: str
    snapshot: Snapshot
    escalation_id: str
    level: int
    level_name: str
    reason: str
    metric: str
    raised_at: datetime
    detail: str = ""


Fact = ConversationFact | SlaEventFact | EscalationFact


@dataclass(frozen=True)
class Version:
    """Where a snapshot stands in its conversation's history: occurred_at (epoch ms) and the record's
    place on the conversations topic."""

    at_ms: int
    partition: int = -1
    offset: int = -1


LOWEST_VERSION = Version(0)  # rows seeded from SLA/escalation snapshots: any conversation event wins


def is_newer(candidate: Version, stored: Version | None) -> bool:
    """A snapshot is newer than the stored one if it was read later from the same partition (the
    offset orders a conversation's records), or if it happened strictly later: that second rule keeps
    the row moving after the embedded broker restarted and offsets began again at 0. The same record
    again (same offset) is never newer. (A replay after a crash can briefly apply an older record that
    carries a later occurred_at; the replay goes on in partition order and re-applies the later ones.)"""
    if stored is None:
        return True
    same_partition = candidate.partition == stored.partition and candidate.partition >= 0
    if same_partition and candidate.offset >= 0 and stored.offset >= 0:
        if candidate.offset == stored.offset:
            return False
        if candidate.offset > stored.offset:
            return True
    return candidate.at_ms > stored.at_ms


def newest_snapshots(facts: list[ConversationFact]) -> dict[str, ConversationFact]:
    """The newest conversation fact per conversation in a batch: one conditional write each."""
    newest: dict[str, ConversationFact] = {}
    for fact in facts:
        cid = fact.snapshot.conversation_id
        current = newest.get(cid)
        if current is None or is_newer(fact.version, current.version):
            newest[cid] = fact
    return newest


def row_fields(snapshot: Snapshot, brand_id: str, *, at: datetime, event_id: str,
               version: Version | None = None) -> dict:
    """The inbox row fields a snapshot sets (everything but SLA state and escalations). `version` is
    the snapshot's place in its history (default: its time, no offset)."""
    version = version or Version(to_ms(at))
    name = snapshot.customer_name
    return {
        "cid": snapshot.conversation_id,
        "brand_id": brand_id,
        "customer_id": snapshot.customer_id,
        "customer_name": name,
        "handle_kind": snapshot.handle_kind,
        "handle_value": snapshot.handle_value,
        # One lower-cased field for the text search (name or handle, prefix or substring).
        "search": f"{name}\n{snapshot.handle_value}".lower(),
        "status": snapshot.status,
        "open": snapshot.status != "resolved",
        "priority": snapshot.priority,
        "priority_rank": priority_rank(snapshot.priority),
        "queue": snapshot.queue,
        "assignee_id": snapshot.assignee_id,
        "channel": snapshot.channel,
        "reply_channel": snapshot.reply_channel or snapshot.channel,
        "language": snapshot.language,
        "opened_ms": to_ms(snapshot.opened_at),
        "reopen_count": snapshot.reopen_count,
        "order_ids": list(snapshot.order_ids),
        "updated_ms": to_ms(at),
        "sort_key": sort_key(to_ms(at), snapshot.conversation_id),
        "snap_ms": version.at_ms,
        "snap_partition": version.partition,
        "snap_offset": version.offset,
        "snap_id": event_id,  # for dedupe and diagnosis; the order is the version's
    }


def activity_document(fact: Fact, *, recorded_at: datetime, noise_ttl: timedelta) -> dict:
    """console_activity document of one consumed event."""
    seq = -1
    if isinstance(fact, ConversationFact):
        kind, at, detail, seq = fact.kind, fact.occurred_at, dict(fact.detail), fact.offset
    elif isinstance(fact, SlaEventFact):
        kind, at = f"sla_{fact.clock.kind}", fact.at
        detail = {"metric": fact.clock.metric, "instance": fact.clock.instance, "policy_id": fact.clock.policy_id,
                  "deadline": fact.clock.deadline}
    else:
        kind, at = "escalation_raised", fact.raised_at
        detail = {"escalation_id": fact.escalation_id, "level": fact.level, "level_name": fact.level_name,
                  "reason": fact.reason, "metric": fact.metric}
    doc = {"_id": fact.event_id, "brand_id": fact.brand_id, "conversation_id": fact.snapshot.conversation_id,
           # seq: the conversations topic offset; orders a conversation's facts that share one time.
           "kind": kind, "at": at, "seq": seq, "detail": detail, "timeline": kind in TIMELINE_KINDS,
           "recorded_at": recorded_at,
           # The live tail's cursor: nx-27017 misses sub-second $gt on an indexed datetime; ints compare exactly.
           "recorded_ms": to_ms(recorded_at)}
    if not doc["timeline"] and kind not in PLACING_KINDS:
        doc["expire_at"] = recorded_at + noise_ttl
    return doc


def escalation_document(fact: EscalationFact) -> dict:
    """Fields of console_escalations a raise sets (acknowledgement fields are set by the ack)."""
    return {"brand_id": fact.brand_id, "conversation_id": fact.snapshot.conversation_id, "level": fact.level,
            "level_name": fact.level_name, "reason": fact.reason, "metric": fact.metric,
            "raised_ms": to_ms(fact.raised_at), "detail": fact.detail}
