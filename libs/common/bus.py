"""The Kafka bus: an async batching producer and a consumer runner.

ConsumerRunner guarantees, per consumed batch:
  decode (undecodable -> DLQ) -> skip already-processed event ids -> handler(batch) ->
  wait until every record the handler produced is acknowledged -> mark ids processed ->
  commit offsets.
A crash anywhere before the commit redelivers the batch; handlers make effects idempotent and
emit deterministic ids (cloudevents.derived_id), so redelivery changes nothing downstream.
"""
from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import CommitFailedError, IllegalStateError, KafkaError, TopicAlreadyExistsError
from google.protobuf.message import Message
from pymongo.errors import ConnectionFailure
from switchboard.common import metrics
from switchboard.common.clock import Clock, SystemClock
from switchboard.common.cloudevents import Envelope, EnvelopeError, decode, event_type, new_id
from switchboard.common.logging import get_logger, mask_string
from switchboard.common.settings import ConsumerSettings, KafkaSettings
from switchboard.common.topics import TopicNames

log = get_logger(__name__)

# Infrastructure trouble: retried without limit (and without committing) instead of dead-lettering
# good records because a database or broker blinked.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (ConnectionFailure, KafkaError, ConnectionError, TimeoutError)


class PermanentError(Exception):
    """The record itself is bad (validation, unknown reference): retrying cannot help, DLQ it."""


def connection_options(kafka: KafkaSettings) -> dict:
    options: dict = {"bootstrap_servers": kafka.bootstrap_servers, "security_protocol": kafka.security_protocol,
                     "client_id": kafka.client_id, "request_timeout_ms": kafka.request_timeout_ms}
    if kafka.security_protocol in ("SSL", "SASL_SSL"):
        from aiokafka.helpers import create_ssl_context

        options["ssl_context"] = create_ssl_context(cafile=str(kafka.ssl_cafile) if kafka.ssl_cafile else None)
    if kafka.security_protocol.startswith("SASL"):
        options["sasl_mechanism"] = kafka.sasl_mechanism or "SCRAM-SHA-512"
        options["sasl_plain_username"] = kafka.sasl_username
        options["sasl_plain_password"] = kafka.sasl_password.get_secret_value() if kafka.sasl_password else None
    return options


async def ensure_topics(kafka: KafkaSettings, names: TopicNames) -> list[str]:
    """Creates registry topics (and their DLQs) that do not exist yet. Returns the created names."""
    admin = AIOKafkaAdminClient(**connection_options(kafka))
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [NewTopic(name, spec.partitions, kafka.replication_factor,
                           topic_configs={"retention.ms": str(spec.retention_ms)})
                  for name, spec in names.all_topics() if name not in existing]
        if wanted:
            try:
                await admin.create_topics(wanted)
            except TopicAlreadyExistsError:  # another service won the race
                pass
        return [t.name for t in wanted]
    finally:
        await admin.close()


class EventProducer:
    """acks=all, batched (linger), idempotence a setting. publish() enqueues and returns the ack future."""

    def __init__(self, kafka: KafkaSettings, *, source: str, clock: Clock | None = None) -> None:
        self._kafka = kafka
        self.source = source
        self._clock = clock or SystemClock()
        self._producer: AIOKafkaProducer | None = None
        self._pending: set[asyncio.Future] = set()

    async def start(self) -> None:
        self._producer = AIOKafkaProducer(
            **connection_options(self._kafka), acks="all", linger_ms=self._kafka.linger_ms,
            max_batch_size=self._kafka.max_batch_bytes, enable_idempotence=self._kafka.idempotent_producer,
        )
        await self._producer.start()

    async def stop(self) -> None:
        if self._producer is not None:
            try:
                await self.drain()
            finally:
                await self._producer.stop()
                self._producer = None

    @property
    def ready(self) -> bool:
        return self._producer is not None

    def envelope(self, payload: Message, *, cause: Envelope | None = None, event_id: str | None = None,
                 time: datetime | None = None, subject: str | None = None, brand_id: str | None = None) -> Envelope:
        return Envelope(
            payload=payload, id=event_id or new_id(), type=event_type(payload), source=self.source,
            time=time or self._clock.now(), brand_id=brand_id or getattr(payload, "brand_id", "") or
            (cause.brand_id if cause else ""), subject=subject,
            correlation_id=(cause.correlation_id or cause.id) if cause else None,
            causation_id=cause.id if cause else None,
        )

    async def publish(self, topic: str, payload: Message, *, key: str | bytes | None, cause: Envelope | None = None,
                      event_id: str | None = None, time: datetime | None = None, subject: str | None = None,
                      brand_id: str | None = None) -> asyncio.Future:
        env = self.envelope(payload, cause=cause, event_id=event_id, time=time, subject=subject, brand_id=brand_id)
        return await self.send_raw(topic, payload.SerializeToString(), key, env.headers())

    async def publish_and_wait(self, topic: str, payload: Message, **kwargs) -> Envelope:
        """Durable publish: returns only after the broker acknowledged (acks=all)."""
        env = self.envelope(payload, cause=kwargs.pop("cause", None), event_id=kwargs.pop("event_id", None),
                            time=kwargs.pop("time", None), subject=kwargs.pop("subject", None),
                            brand_id=kwargs.pop("brand_id", None))
        await (await self.send_raw(topic, payload.SerializeToString(), kwargs.pop("key", None), env.headers()))
        return env

    async def send_raw(self, topic: str, value: bytes | None, key: str | bytes | None,
                       headers: list[tuple[str, bytes]]) -> asyncio.Future:
        if self._producer is None:
            raise RuntimeError("EventProducer.start() was not called")
        key_bytes = key.encode() if isinstance(key, str) else key
        future = await self._producer.send(topic, value=value, key=key_bytes, headers=headers)
        self._pending.add(future)
        future.add_done_callback(lambda f, t=topic: self._settled(f, t))
        return future

    def _settled(self, future: asyncio.Future, topic: str) -> None:
        self._pending.discard(future)
        if future.cancelled() or future.exception() is not None:
            metrics.PRODUCE_ERRORS.labels(topic).inc()
        else:
            metrics.RECORDS_PRODUCED.labels(topic).inc()

    async def drain(self) -> None:
        """Waits until every record sent so far is acknowledged; raises if any was not."""
        while self._pending:
            await asyncio.gather(*list(self._pending))


Handler = Callable[[list[Envelope]], Awaitable[None]]
PartitionHook = Callable[[set[TopicPartition]], Awaitable[None]]


class _Rebalance(ConsumerRebalanceListener):
    def __init__(self, runner: ConsumerRunner) -> None:
        self._runner = runner

    async def on_partitions_revoked(self, revoked) -> None:
        # Let the batch in flight finish and commit before the partitions move.
        async with self._runner._processing:
            self._runner.assigned -= set(revoked)
            metrics.ASSIGNED_PARTITIONS.labels(self._runner.group_id).set(len(self._runner.assigned))
            if self._runner.on_revoked and revoked:
                await self._runner.on_revoked(set(revoked))

    async def on_partitions_assigned(self, assigned) -> None:
        self._runner.assigned = set(assigned)
        metrics.ASSIGNED_PARTITIONS.labels(self._runner.group_id).set(len(assigned))
        if self._runner.on_assigned and assigned:
            await self._runner.on_assigned(set(assigned))


class ConsumerRunner:
    """Consumes topics in batches with manual commits, bounded retries, DLQ and idempotency."""

    def __init__(self, *, name: str, kafka: KafkaSettings, consumer: ConsumerSettings, topics: Sequence[str],
                 group_id: str, handler: Handler, producer: EventProducer, dedupe=None,
                 handler_marks_processed: bool = False,
                 on_assigned: PartitionHook | None = None, on_revoked: PartitionHook | None = None,
                 transient_errors: tuple[type[BaseException], ...] = TRANSIENT_ERRORS) -> None:
        self.name = name
        self.group_id = group_id
        self.topics = list(topics)
        self.on_assigned = on_assigned
        self.on_revoked = on_revoked
        self.assigned: set[TopicPartition] = set()
        self._kafka = kafka
        self._settings = consumer
        self._handler = handler
        self._producer = producer
        self._dedupe = dedupe
        # True: the handler writes the dedupe records itself, in the same transaction as its state,
        # and the runner only looks them up (marking again would be a wasted round trip).
        self._handler_marks = handler_marks_processed
        self._transient = transient_errors
        # A record of another type on a registry topic is refused, never executed: only ingest's
        # authenticated agent API may put an AgentCommand on the bus, not whoever can write to inbound.
        names = TopicNames(kafka.topic_prefix)
        self._expected_type = {t: names.message_type(t) for t in self.topics}
        self._consumer: AIOKafkaConsumer | None = None
        self._processing = asyncio.Lock()
        self._stopping = asyncio.Event()
        self.task: asyncio.Task | None = None

    @property
    def ready(self) -> bool:
        return self.task is not None and not self.task.done()

    async def start(self) -> None:
        self._consumer = AIOKafkaConsumer(
            **connection_options(self._kafka), group_id=self.group_id, enable_auto_commit=False,
            auto_offset_reset="earliest", session_timeout_ms=self._kafka.session_timeout_ms,
            heartbeat_interval_ms=self._kafka.heartbeat_interval_ms,
            max_poll_interval_ms=self._kafka.max_poll_interval_ms,
            fetch_max_wait_ms=self._settings.fetch_max_wait_ms,
        )
        self._consumer.subscribe(self.topics, listener=_Rebalance(self))
        await self._consumer.start()
        self.task = asyncio.create_task(self._run(), name=f"consumer:{self.name}")

    async def stop(self) -> None:
        self._stopping.set()
        if self.task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self.task), self._settings.shutdown_timeout_seconds)
            except TimeoutError:
                log.warning("consumer_shutdown_timeout", consumer=self.name)
                self.task.cancel()
            except Exception:  # already logged by _run
                pass
        if self._consumer is not None:
            await self._consumer.stop()
            self._consumer = None

    async def _run(self) -> None:
        assert self._consumer is not None
        try:
            while not self._stopping.is_set():
                batch = await self._consumer.getmany(timeout_ms=self._settings.poll_timeout_ms,
                                                     max_records=self._settings.max_batch_records)
                if batch and self._settings.top_up_ms:
                    await self._top_up(batch)
                if batch:
                    async with self._processing:
                        await self._process(batch)
        except Exception:
            log.exception("consumer_crashed", consumer=self.name)
            raise

    async def _top_up(self, batch: dict) -> None:
        room = self._settings.max_batch_records - sum(len(records) for records in batch.values())
        if room <= 0:
            return
        more = await self._consumer.getmany(timeout_ms=self._settings.top_up_ms, max_records=room)
        for tp, records in more.items():
            batch.setdefault(tp, []).extend(records)  # later offsets of the same partition

    async def _process(self, batch: dict) -> None:
        consumer = self._consumer
        assert consumer is not None
        started = asyncio.get_running_loop().time()
        first: dict[TopicPartition, int] = {}
        next_offsets: dict[TopicPartition, int] = {}
        envelopes: list[Envelope] = []
        for tp, records in batch.items():
            first[tp] = records[0].offset
            next_offsets[tp] = records[-1].offset + 1
            expected = self._expected_type.get(tp.topic)
            for record in records:
                try:
                    env = decode(record.value, record.headers, key=record.key, topic=record.topic,
                                 partition=record.partition, offset=record.offset)
                    if expected and env.payload.DESCRIPTOR.full_name != expected:
                        raise EnvelopeError(f"{tp.topic} carries {expected}, not {env.payload.DESCRIPTOR.full_name}")
                    envelopes.append(env)
                except EnvelopeError as exc:
                    await self._dead_letter(record.topic, record.partition, record.offset, record.key,
                                            record.value, list(record.headers), "undecodable", str(exc))
        try:
            fresh = await self._skip_processed(envelopes)
            handled = await self._handle(fresh)
            try:
                await self._producer.drain()
            except Exception as exc:
                log.warning("produce_failed_rewinding", consumer=self.name, error=mask_string(repr(exc)))
                raise _Abort() from exc
            if self._dedupe is not None and handled and not self._handler_marks:
                await self._dedupe.mark([env.id for env in handled])
        except _Abort:
            # Stopping mid-outage, or Kafka refused our output: nothing is committed, so rewind and
            # let this consumer (or the next owner) read the batch again.
            for tp, offset in first.items():
                if tp in self.assigned:
                    consumer.seek(tp, offset)
            return
        try:
            await consumer.commit(next_offsets)
        except (CommitFailedError, IllegalStateError) as exc:
            metrics.COMMIT_FAILURES.labels(self.group_id).inc()
            log.warning("commit_refused", consumer=self.name, error=str(exc))
        elapsed = asyncio.get_running_loop().time() - started
        self._observe(batch, next_offsets, elapsed)
        now = time.time()
        for env in envelopes:
            metrics.RECORD_AGE.labels(env.topic, self.group_id).observe(max(0.0, now - env.time.timestamp()))

    def _observe(self, batch: dict, next_offsets: dict[TopicPartition, int], elapsed: float) -> None:
        assert self._consumer is not None
        metrics.BATCH_RECORDS.labels(self.group_id).observe(sum(len(r) for r in batch.values()))
        for tp, records in batch.items():
            metrics.RECORDS_CONSUMED.labels(tp.topic, self.group_id).inc(len(records))
            metrics.HANDLER_DURATION.labels(tp.topic, self.group_id).observe(elapsed)
            highwater = self._consumer.highwater(tp)
            if highwater is not None:
                metrics.CONSUMER_LAG.labels(tp.topic, str(tp.partition), self.group_id).set(
                    max(0, highwater - next_offsets[tp]))

    async def _skip_processed(self, envelopes: list[Envelope]) -> list[Envelope]:
        seen: set[str] = set()
        if self._dedupe is not None and envelopes:
            seen = await self._retry_transient(lambda: self._dedupe.seen([e.id for e in envelopes]), "dedupe")
        fresh = []
        for env in envelopes:
            if env.id in seen:
                metrics.DUPLICATES_SKIPPED.labels(env.topic, self.group_id).inc()
                continue
            seen.add(env.id)  # the same id twice in one batch is a duplicate too
            fresh.append(env)
        return fresh

    async def _handle(self, envelopes: list[Envelope]) -> list[Envelope]:
        """Returns the envelopes handled successfully (the rest went to the DLQ)."""
        if not envelopes:
            return []
        try:
            await self._retry_transient(lambda: self._handler(envelopes), envelopes[0].topic)
            return envelopes
        except _Abort:
            raise
        except Exception as exc:  # isolate the bad record: replay the batch one record at a time
            log.info("batch_failed_isolating", consumer=self.name, records=len(envelopes), error=mask_string(str(exc)))
        handled = []
        for env in envelopes:
            if await self._handle_one(env):
                handled.append(env)
        return handled

    async def _handle_one(self, env: Envelope) -> bool:
        for attempt in range(1, self._settings.max_attempts + 1):
            try:
                await self._retry_transient(lambda: self._handler([env]), env.topic)
                return True
            except _Abort:
                raise
            except PermanentError as exc:
                metrics.HANDLER_ERRORS.labels(env.topic, self.group_id, "permanent").inc()
                await self._dead_letter_envelope(env, "rejected", str(exc))
                return False
            except Exception as exc:
                metrics.HANDLER_ERRORS.labels(env.topic, self.group_id, "unknown").inc()
                if attempt == self._settings.max_attempts:
                    log.error("record_dead_lettered", consumer=self.name, event_id=env.id, attempts=attempt,
                              error=mask_string(repr(exc)))
                    await self._dead_letter_envelope(env, "failed", f"{type(exc).__name__}: {exc}")
                    return False
                await asyncio.sleep(self._backoff(attempt))
        return False

    async def _retry_transient(self, call: Callable[[], Awaitable], topic: str | None):
        attempt = 0
        while True:
            try:
                return await call()
            except self._transient as exc:
                attempt += 1
                metrics.HANDLER_ERRORS.labels(topic or "", self.group_id, "transient").inc()
                if self._stopping.is_set():
                    raise _Abort() from exc
                log.warning("transient_error_retrying", consumer=self.name, attempt=attempt,
                            error=mask_string(repr(exc)))
                await asyncio.sleep(self._backoff(attempt))

    def _backoff(self, attempt: int) -> float:
        base = self._settings.retry_backoff_ms * (2 ** (attempt - 1))
        return random.uniform(0.5, 1.0) * min(base, self._settings.retry_backoff_max_ms) / 1000

    async def _dead_letter_envelope(self, env: Envelope, reason: str, error: str) -> None:
        await self._dead_letter(env.topic or "", env.partition or 0, env.offset or 0, env.key,
                                env.payload.SerializeToString(), env.raw_headers or env.headers(), reason, error)

    async def _dead_letter(self, topic: str, partition: int, offset: int, key: bytes | None, value: bytes | None,
                           headers: list[tuple[str, bytes]], reason: str, error: str) -> None:
        metrics.DLQ_RECORDS.labels(topic, reason).inc()
        dlq_headers = [h for h in headers if not h[0].startswith("dlq_")] + [
            ("dlq_reason", reason.encode()), ("dlq_error", mask_string(error)[:1000].encode()),
            ("dlq_topic", topic.encode()), ("dlq_partition", str(partition).encode()),
            ("dlq_offset", str(offset).encode()), ("dlq_group", self.group_id.encode()),
        ]
        await self._producer.send_raw(f"{topic}.dlq", value, key, dlq_headers)


class _Abort(Exception):
    """Internal: give the batch up without committing."""


class TopicSetup:
    """Start-up component: creates registry topics when SWITCHBOARD_KAFKA__CREATE_TOPICS is on
    (off for clusters that forbid it; the Helm Job or Strimzi creates them there)."""

    name = "topics"

    def __init__(self, kafka: KafkaSettings, names: TopicNames) -> None:
        self._kafka = kafka
        self._names = names

    async def start(self) -> None:
        if self._kafka.create_topics:
            created = await ensure_topics(self._kafka, self._names)
            if created:
                log.info("topics_created", count=len(created))

    async def stop(self) -> None:
        return None
