"""Replaying a dead-letter topic: `switchboard-admin replay-dlq --topic T --since S [--until U] [--dry-run]`.

Reads `<topic>.dlq` (no consumer group, nothing committed, so it can be run again), keeps the
records written in [since, until] (until: at most the moment the command started), strips the
`dlq_*` failure headers, marks each copy as a replay and publishes it to the topic it came from
(`dlq_topic` header), with the same key, value and CloudEvents headers (same event id). Consumers
stay idempotent: a replay of something already done changes nothing, and the notifier revives only
intents whose delivery failed (docs/notifier.md).

The start is found with offsets_for_times (record timestamps are the DLQ write time). The end is
not taken from ListOffsets: the embedded broker (Tansu) answers it wrong, so reading stops at the
first record after the window or after `idle_seconds` without a record on any partition.
"""
from __future__ import annotations

import asyncio
import re
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError
from switchboard.common.settings import KafkaSettings, connection_options
from switchboard.common.topics import TopicNames, registry

# Headers a replayed record carries (a consumer tells a replay from an ordinary duplicate by them).
REPLAYED_AT = "dlq_replayed_at"       # when it was replayed (RFC 3339)
REPLAY_OF = "dlq_replay_of"           # "<dlq topic>/<partition>/<offset>": which DLQ record this is a copy of
REPLAY_DESTINATION = "dlq_replay_destination"  # the DLQ record's dlq_destination, when it named one
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)([smhd])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True, slots=True)
class ReplayMarker:
    token: str                 # REPLAY_OF: unique per DLQ record
    destination: str | None    # the one destination that failed, if the DLQ record said so


def replay_marker(headers: list[tuple[str, bytes]] | tuple) -> ReplayMarker | None:
    """The replay headers of a consumed record, or None for an ordinary (non-replayed) record."""
    values = {name: value for name, value in headers if name in (REPLAYED_AT, REPLAY_OF, REPLAY_DESTINATION)}
    if REPLAY_OF not in values:
        return None
    destination = values.get(REPLAY_DESTINATION)
    return ReplayMarker(bytes(values[REPLAY_OF]).decode(errors="replace"),
                        bytes(destination).decode(errors="replace") if destination else None)


def parse_instant(value: str, now: datetime) -> datetime:
    """An ISO 8601 time (UTC if no offset) or a duration back from now: 90s, 30m, 2h, 7d."""
    text = value.strip()
    match = _DURATION.match(text)
    if match:
        return now - timedelta(seconds=float(match.group(1)) * _UNITS[match.group(2)])
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{value!r} is neither an ISO time (2026-05-01T12:00:00Z) nor a duration (90s, 30m, 2h, "
                         f"7d)") from None
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def resolve_topic(topic: str, names: TopicNames) -> str:
    """Registry name (notifications), full name (switchboard.notifications.v1, with or without this
    deployment's prefix) or the DLQ name itself -> the original topic's concrete name."""
    topic = topic.removesuffix(".dlq")
    if topic in registry():
        return names.of(topic)
    concrete = {names.of(logical) for logical in registry()}
    if names.prefix and topic not in concrete and names.prefix + topic in concrete:
        return names.prefix + topic
    return topic


def replay_headers(headers: list[tuple[str, bytes]], dlq_topic: str, partition: int, offset: int,
                   now: datetime) -> list[tuple[str, bytes]]:
    """The original headers without the failure (dlq_*) headers, plus the replay marker."""
    failed = dict(headers).get("dlq_destination")
    out = [(k, v) for k, v in headers if not k.startswith("dlq_")]
    out += [(REPLAYED_AT, now.isoformat().replace("+00:00", "Z").encode()),
            (REPLAY_OF, f"{dlq_topic}/{partition}/{offset}".encode())]
    if failed:
        out.append((REPLAY_DESTINATION, bytes(failed)))
    return out


@dataclass
class ReplaySummary:
    dlq_topic: str
    read: int = 0
    replayed: Counter = field(default_factory=Counter)     # target topic -> records
    skipped: Counter = field(default_factory=Counter)      # why -> records
    reasons: Counter = field(default_factory=Counter)      # dlq_reason of the replayed records

    def lines(self, dry_run: bool) -> list[str]:
        verb = "would replay" if dry_run else "replayed"
        out = [f"{self.dlq_topic}: read {self.read} records in the window, {verb} {sum(self.replayed.values())}"]
        out += [f"  -> {topic}: {n}" for topic, n in sorted(self.replayed.items())]
        out += [f"  reason {reason}: {n}" for reason, n in sorted(self.reasons.items())]
        out += [f"  skipped ({why}): {n}" for why, n in sorted(self.skipped.items())]
        return out


async def _partitions(consumer: AIOKafkaConsumer, topic: str) -> list[TopicPartition]:
    await consumer._client.add_topic(topic)
    await consumer._client.force_metadata_update()
    return [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]


async def _seek_to(consumer: AIOKafkaConsumer, tps: list[TopicPartition], since: datetime) -> list[TopicPartition]:
    """Positions every partition at its first record at/after `since`; returns those that have one."""
    found = await consumer.offsets_for_times({tp: int(since.timestamp() * 1000) for tp in tps})
    live = []
    for tp in tps:
        hit = found.get(tp)
        if hit is not None:
            consumer.seek(tp, hit.offset)
            live.append(tp)
    return live


async def replay_dlq(kafka: KafkaSettings, topic: str, *, since: datetime, until: datetime | None = None,
                     dry_run: bool = False, reasons: set[str] | None = None, idle_seconds: float = 3.0,
                     now: datetime | None = None) -> ReplaySummary:
    """Re-publishes the DLQ records of `topic` written in [since, until] to their original topic."""
    names = TopicNames(kafka.topic_prefix)
    original = resolve_topic(topic, names)
    dlq_topic = f"{original}.dlq"
    summary = ReplaySummary(dlq_topic)
    now = now or datetime.now(UTC)
    since_ms = int(since.timestamp() * 1000)
    # Never past the start of this run: a replay that fails again is dead-lettered again, and reading
    # on would replay it once more, without end.
    until_ms = int(min(until or now, now).timestamp() * 1000)
    consumer = AIOKafkaConsumer(**connection_options(kafka), enable_auto_commit=False, group_id=None,
                                auto_offset_reset="earliest")
    producer = None if dry_run else AIOKafkaProducer(**connection_options(kafka), acks="all",
                                                     enable_idempotence=kafka.idempotent_producer)
    try:
        await consumer.start()
        if producer is not None:
            await producer.start()
        tps = await _partitions(consumer, dlq_topic)
        if not tps:
            raise LookupError(f"topic {dlq_topic} does not exist (check --topic and SWITCHBOARD_KAFKA__TOPIC_PREFIX)")
        consumer.assign(tps)
        live = set(await _seek_to(consumer, tps, since))
        acks = []
        idle_until = time.monotonic() + idle_seconds
        while live and time.monotonic() < idle_until:
            batch = await consumer.getmany(*live, timeout_ms=200, max_records=2000)
            if batch:
                idle_until = time.monotonic() + idle_seconds
            for tp, records in batch.items():
                for record in records:
                    if record.timestamp > until_ms:
                        live.discard(tp)  # past the window on this partition
                        break
                    if record.timestamp < since_ms:  # offsets_for_times is a lower bound on some brokers
                        continue
                    summary.read += 1
                    acks += await _replay_one(record, original, producer, summary, reasons, now)
        if acks:
            await asyncio.gather(*acks)
    finally:
        await consumer.stop()
        if producer is not None:
            await producer.stop()
    return summary


async def _replay_one(record, original: str, producer: AIOKafkaProducer | None, summary: ReplaySummary,
                      reasons: set[str] | None, now: datetime) -> list:
    headers = list(record.headers or ())
    values = dict(headers)
    reason = bytes(values.get("dlq_reason") or b"unknown").decode(errors="replace")
    if reasons and reason not in reasons:
        summary.skipped[f"reason {reason} not selected"] += 1
        return []
    target = bytes(values.get("dlq_topic") or original.encode()).decode(errors="replace") or original
    if target != original:  # a record another topic's consumer put here: not ours to route
        summary.skipped[f"dlq_topic {target} is not {original}"] += 1
        return []
    summary.replayed[target] += 1
    summary.reasons[reason] += 1
    if producer is None:
        return []
    copy = replay_headers(headers, record.topic, record.partition, record.offset, now)
    return [await producer.send(target, value=record.value, key=record.key, headers=copy)]


# ------------------------------------------------------------------------------ command line
def add_replay_parser(sub) -> None:
    cmd = sub.add_parser("replay-dlq", help="re-publish a topic's dead-lettered records to the topic (after a fix)",
                         description="Reads <topic>.dlq from --since to --until (or its end), strips the dlq_* "
                                     "headers, marks each record as a replay and publishes it to its original "
                                     "topic. Safe to run twice: consumers dedupe.")
    cmd.add_argument("--topic", required=True,
                     help="registry name (notifications) or full topic name; the .dlq suffix is optional")
    cmd.add_argument("--since", required=True, help="ISO time (2026-05-01T12:00:00Z) or duration back (30m, 2h, 7d)")
    cmd.add_argument("--until", help="ISO time or duration back; default (and latest): now")
    cmd.add_argument("--reason", action="append", dest="reasons",
                     help="only records with this dlq_reason (repeatable), e.g. delivery_failed")
    cmd.add_argument("--idle-seconds", type=float, default=3.0,
                     help="stop after this long without a new record (default 3)")
    cmd.add_argument("--dry-run", action="store_true", help="count what would be replayed, publish nothing")


def run_replay(args, kafka: KafkaSettings) -> int:
    now = datetime.now(UTC)
    try:
        since = parse_instant(args.since, now)
        until = parse_instant(args.until, now) if args.until else None
    except ValueError as exc:
        print(f"replay-dlq: {exc}", file=sys.stderr)
        return 2
    if until is not None and until < since:
        print("replay-dlq: --until is before --since", file=sys.stderr)
        return 2
    try:
        summary = asyncio.run(replay_dlq(kafka, args.topic, since=since, until=until, dry_run=args.dry_run,
                                         reasons=set(args.reasons or ()), idle_seconds=args.idle_seconds, now=now))
    except (LookupError, KafkaError) as exc:
        print(f"replay-dlq: {exc!r}" if isinstance(exc, KafkaError) else f"replay-dlq: {exc}", file=sys.stderr)
        return 1
    for line in summary.lines(args.dry_run):
        print(line)
    return 0
