"""ConsumerRunner: consumes topics in batches with manual commits, bounded retries, DLQ and idempotency.

Per consumed batch:
  decode (undecodable -> DLQ) -> skip already-processed event ids -> handler(batch) ->
  wait until every record the handler produced is acknowledged -> mark ids processed ->
  commit offsets.
A crash anywhere before the commit redelivers the batch; handlers make effects idempotent and
emit deterministic ids (cloudevents.derived_id), so redelivery changes nothing downstream.

Broker sessions: offsets are only committed by the session that fetched them. When a connection of
the consumer's client breaks, or the group generation/member changes, between the fetch and the
commit, the commit is skipped and the consumer seeks back to its committed offsets (or the start of
the log when the group has none, as on a restarted embedded broker) and reads again; the dedupe of
event ids absorbs the redelivery. Real Kafka refuses a stale member's commit itself; the embedded
broker accepts it after a restart, which used to skip records (docs/operations.md).

Records that are not Switchboard's protobuf envelopes (e.g. foreign CloudEvents with JSON data) use
the same runner with a `decode=` hook: record -> Envelope (its payload whatever the handler expects).
The hook raises PermanentError for bad input (DLQ reason "rejected"), EnvelopeError for an
unreadable record ("undecodable"); anything else it raises dead-letters as "failed".
"""
from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Sequence

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError, KafkaError
from pymongo.errors import ConnectionFailure
from switchboard.common import metrics
from switchboard.common.broker_session import BrokerSession, Mark
from switchboard.common.cloudevents import Envelope, EnvelopeError, decode
from switchboard.common.deadletters import dead_letter_headers, dlq_topic
from switchboard.common.health import broker_reachable
from switchboard.common.logging import get_logger, mask_string
from switchboard.common.producer import EventProducer
from switchboard.common.rebalance import RebalanceListener, Rewinds
from switchboard.common.settings import ConsumerSettings, KafkaSettings, connection_options
from switchboard.common.topics import TopicNames

log = get_logger(__name__)

# Infrastructure trouble: retried without limit (and without committing) instead of dead-lettering
# good records because a database or broker blinked.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (ConnectionFailure, KafkaError, ConnectionError, TimeoutError)


class PermanentError(Exception):
    """The record itself is bad (validation, unknown reference): retrying cannot help, DLQ it.
    `field` (optional) names what is wrong; it travels as the dlq_field header."""

    def __init__(self, message: str = "", *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


Handler = Callable[[list[Envelope]], Awaitable[None]]
Decode = Callable[[ConsumerRecord], Envelope]
PartitionHook = Callable[[set[TopicPartition]], Awaitable[None]]
# May return where the service's own state of partitions ends, to be read again from there (rebalance.py).
AssignHook = Callable[[set[TopicPartition]], Awaitable[dict[TopicPartition, int] | None]]


class ConsumerRunner:
    """Consumes topics in batches with manual commits, bounded retries, DLQ and idempotency."""

    def __init__(self, *, name: str, kafka: KafkaSettings, consumer: ConsumerSettings, topics: Sequence[str],
                 group_id: str, handler: Handler, producer: EventProducer, dedupe=None,
                 handler_marks_processed: bool = False,
                 on_assigned: AssignHook | None = None, on_revoked: PartitionHook | None = None,
                 transient_errors: tuple[type[BaseException], ...] = TRANSIENT_ERRORS,
                 assignors: tuple = (), decode: Decode | None = None) -> None:
        self.name = name
        self.group_id = group_id
        self.topics = list(topics)
        self.on_assigned = on_assigned
        self.on_revoked = on_revoked
        self.assigned: set[TopicPartition] = set()
        self.assignments = 0  # group assignments completed (the on_assigned hook included), maybe empty
        self.revocations = 0  # rebalances that took partitions away (aiokafka's are eager: all of them)
        self.assigning = False  # from a revocation until the next assignment's hook is done
        self.rewinds = Rewinds()  # partitions the assignment hook had read again (rebalance.py)
        self._kafka = kafka
        self._settings = consumer
        self._handler = handler
        self._producer = producer
        self._dedupe = dedupe
        # True: the handler writes the dedupe records itself, in the same transaction as its state,
        # and the runner only looks them up (marking again would be a wasted round trip).
        self._handler_marks = handler_marks_processed
        self._transient = transient_errors
        self._assignors = assignors  # partition_assignment_strategy; () = aiokafka's default (round robin)
        # A record of another type on a registry topic is refused, never executed: only ingest's
        # authenticated agent API may put an AgentCommand on the bus, not whoever can write to inbound.
        names = TopicNames(kafka.topic_prefix)
        self._expected_type = {t: names.message_type(t) for t in self.topics} if decode is None else {}
        self._decode = decode or self._decode_envelope
        self._consumer: AIOKafkaConsumer | None = None
        self._session: BrokerSession | None = None
        self._synced_epoch = 0
        self._rewind_needed = False
        self._processing = asyncio.Lock()
        self._stopping = asyncio.Event()
        self.task: asyncio.Task | None = None

    @property
    def ready(self) -> bool:
        return self.task is not None and not self.task.done()

    async def probe(self) -> bool:
        """Readiness: the loop runs, the broker answers this consumer's client, and it is in its group."""
        if not self.ready or self._consumer is None or self._session is None:
            return False
        return await broker_reachable(self._consumer._client) and self._session.in_group(time.monotonic())

    async def start(self) -> None:
        self._consumer = AIOKafkaConsumer(
            **connection_options(self._kafka), group_id=self.group_id, enable_auto_commit=False,
            auto_offset_reset="earliest", session_timeout_ms=self._kafka.session_timeout_ms,
            heartbeat_interval_ms=self._kafka.heartbeat_interval_ms,
            max_poll_interval_ms=self._kafka.max_poll_interval_ms,
            fetch_max_wait_ms=self._settings.fetch_max_wait_ms,
            **({"partition_assignment_strategy": self._assignors} if self._assignors else {}),
        )
        self._session = BrokerSession(self._consumer, max(10.0, 3 * self._kafka.session_timeout_ms / 1000))
        self._consumer.subscribe(self.topics, listener=RebalanceListener(self))
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
            consumer, self._consumer = self._consumer, None
            try:
                await consumer.stop()
            except (Exception, asyncio.CancelledError) as exc:  # broker gone, or aiokafka's fetcher cancelled
                if isinstance(exc, asyncio.CancelledError) and asyncio.current_task().cancelling():
                    raise  # we are being cancelled ourselves
                log.warning("consumer_stop_failed", consumer=self.name, error=type(exc).__name__)

    async def _run(self) -> None:
        assert self._consumer is not None
        try:
            while not self._stopping.is_set():
                if self._rewind_needed or self._session.epoch != self._synced_epoch:
                    await self._rewind_to_committed()
                mark, moves = self._session.mark(), (self.revocations, self.assignments)
                batch = await self._consumer.getmany(timeout_ms=self._settings.poll_timeout_ms,
                                                     max_records=self._settings.max_batch_records)
                if batch and self._settings.top_up_ms:
                    await self._top_up(batch)
                if batch:
                    async with self._processing:
                        if self.assigning or (self.revocations, self.assignments) != moves:
                            self._drop_moved(batch)
                            continue
                        await self._process(batch, mark)
        except Exception:
            log.exception("consumer_crashed", consumer=self.name)
            raise

    def _drop_moved(self, batch: dict) -> None:
        """A rebalance began after this batch was fetched: handling it would apply records of
        partitions this replica may no longer own, and the group still accepts the old generation's commit
        until the rejoin completes (records skipped as not owned would be committed, i.e. lost). Nothing
        of it is handled or committed; nor is a batch fetched before the assignment hook was done, which may
        hold records from before the hook's seek. A partition assigned here is read again from the batch's
        first offset (or the hook's start, if earlier); one that moved is read by its new owner from the
        commits. Nothing is skipped: every record below a batch's first offset was handled by this member
        or committed by another."""
        assigned = self._consumer.assignment()
        for tp, records in batch.items():
            if tp in assigned:
                self._consumer.seek(tp, self.rewinds.start(tp, records[0].offset))
        metrics.BATCHES_DROPPED_REBALANCE.labels(self.group_id).inc()
        log.info("batch_dropped_partitions_moved", consumer=self.name, records=sum(map(len, batch.values())))

    async def _rewind_to_committed(self) -> None:
        """After the broker session broke: drop what was fetched and read again from the committed
        offsets (the log's start where the group has none, e.g. a restarted embedded broker)."""
        consumer = self._consumer
        epoch = self._session.epoch
        try:
            async with asyncio.timeout(self._kafka.request_timeout_ms / 1000):
                for tp in consumer.assignment():
                    offset = await consumer.committed(tp)
                    if offset is None or offset < 0:
                        await consumer.seek_to_beginning(tp)
                    else:  # a partition being read again is not caught up to its commit yet
                        consumer.seek(tp, self.rewinds.start(tp, offset))
        except (*self._transient, IllegalStateError) as exc:
            log.info("rewind_deferred", consumer=self.name, error=mask_string(repr(exc)))
            await asyncio.sleep(self._backoff(1))
            return
        log.warning("broker_session_changed_rewound", consumer=self.name)
        self._synced_epoch, self._rewind_needed = epoch, False

    async def _top_up(self, batch: dict) -> None:
        room = self._settings.max_batch_records - sum(len(records) for records in batch.values())
        if room <= 0:
            return
        more = await self._consumer.getmany(timeout_ms=self._settings.top_up_ms, max_records=room)
        for tp, records in more.items():
            batch.setdefault(tp, []).extend(records)  # later offsets of the same partition

    async def _process(self, batch: dict, mark: Mark) -> None:
        consumer = self._consumer
        assert consumer is not None
        started = asyncio.get_running_loop().time()
        first: dict[TopicPartition, int] = {}
        next_offsets: dict[TopicPartition, int] = {}
        envelopes: list[Envelope] = []
        for tp, records in batch.items():
            first[tp] = records[0].offset
            next_offsets[tp] = records[-1].offset + 1
            for record in records:
                env = await self._decoded(record)
                if env is not None:
                    envelopes.append(env)
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
        self.rewinds.handled(next_offsets)
        await self._commit(next_offsets, mark)
        elapsed = asyncio.get_running_loop().time() - started
        metrics.observe_batch(self._consumer, self.group_id, batch, next_offsets, elapsed, handled)
        now = time.time()
        for env in envelopes:
            metrics.RECORD_AGE.labels(env.topic, self.group_id).observe(max(0.0, now - env.time.timestamp()))

    def _decode_envelope(self, record: ConsumerRecord) -> Envelope:
        env = decode(record.value, record.headers, key=record.key, topic=record.topic,
                     partition=record.partition, offset=record.offset)
        expected = self._expected_type.get(record.topic)
        if expected and env.payload.DESCRIPTOR.full_name != expected:
            raise EnvelopeError(f"{record.topic} carries {expected}, not {env.payload.DESCRIPTOR.full_name}")
        return env

    async def _decoded(self, record: ConsumerRecord) -> Envelope | None:
        """The record's envelope, or None when it went to the DLQ instead (a poison record never stalls)."""
        try:
            return self._decode(record)
        except EnvelopeError as exc:
            reason, error, field = "undecodable", str(exc), None
        except PermanentError as exc:
            reason, error, field = "rejected", str(exc), exc.field
        except Exception as exc:  # a decode hook crashed on this record: it is the record's fault
            reason, error, field = "failed", f"{type(exc).__name__}: {exc}", None
        await self._dead_letter(record.topic, record.partition, record.offset, record.key, record.value,
                                list(record.headers), reason, error, field)
        return None

    async def _commit(self, offsets: dict[TopicPartition, int], mark: Mark) -> None:
        """Commits only offsets fetched in the current broker session, and gives up rather than wait
        out an outage (a commit held until the broker is back would land in its new session)."""
        if not self._session.unchanged_since(mark):
            metrics.COMMITS_FENCED.labels(self.group_id).inc()
            log.warning("commit_fenced_broker_session_changed", consumer=self.name)
            self._rewind_needed = True
            return
        try:
            async with asyncio.timeout(self._kafka.request_timeout_ms / 1000):
                await self._consumer.commit(offsets)
        except (CommitFailedError, IllegalStateError) as exc:
            metrics.COMMIT_FAILURES.labels(self.group_id).inc()
            log.warning("commit_refused", consumer=self.name, error=str(exc))
        except TimeoutError:
            metrics.COMMITS_FENCED.labels(self.group_id).inc()
            log.warning("commit_timed_out_rewinding", consumer=self.name)
            self._rewind_needed = True

    async def _skip_processed(self, envelopes: list[Envelope]) -> list[Envelope]:
        seen: set[str] = set()
        if self._dedupe is not None and envelopes:
            seen = await self._retry_transient(lambda: self._dedupe.seen([e.id for e in envelopes]), "dedupe")
        fresh = []
        for env in envelopes:
            if env.id in seen:
                metrics.DUPLICATES_SKIPPED.labels(env.topic, self.group_id).inc()
                metrics.BRAND_EVENTS.labels(env.topic, self.group_id, metrics.brand_label(env.brand_id),
                                            "duplicate").inc()
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
        value = env.raw_value if env.raw_value is not None else env.payload.SerializeToString()
        await self._dead_letter(env.topic or "", env.partition or 0, env.offset or 0, env.key, value,
                                env.raw_headers or env.headers(), reason, error)

    async def _dead_letter(self, topic: str, partition: int, offset: int, key: bytes | None, value: bytes | None,
                           headers: list[tuple[str, bytes]], reason: str, error: str,
                           field: str | None = None) -> None:
        metrics.DLQ_RECORDS.labels(topic, reason).inc()
        brand = next((v.decode(errors="replace") for k, v in headers if k == "ce_brandid" and v), "")
        metrics.BRAND_EVENTS.labels(topic, self.group_id, metrics.brand_label(brand), "dead_lettered").inc()
        dlq_headers = dead_letter_headers(headers, reason=reason, error=error, topic=topic, partition=partition,
                                          offset=offset, group=self.group_id,
                                          extra=[("dlq_field", field)] if field is not None else ())
        await self._producer.send_raw(dlq_topic(topic), value, key, dlq_headers)


class _Abort(Exception):
    """Internal: give the batch up without committing."""


# A handler raises it to give its batch up uncommitted and without retries or DLQ (for example it lost
# ownership of a scope to another replica): the batch is read again, by this consumer or the next owner.
BatchAbandoned = _Abort
