"""Consumes CloudEvents that other systems publish on Kafka (orders.external) and forwards valid ones.

The shared ConsumerRunner expects Switchboard's own protobuf envelopes, while these records are
foreign CloudEvents (binary mode with ce_* headers and JSON data, or structured JSON), so this is
a small dedicated loop with the same guarantees: batch -> validate -> publish valid ones to
`orders` and invalid ones to `orders.external.dlq` with the reason -> wait for every ack ->
mark dedupe -> commit. A failure before the commit rewinds and retries the batch; the output
event ids are deterministic, so a retried batch cannot create second events downstream.
"""
from __future__ import annotations

import asyncio
import json

from aiokafka import AIOKafkaConsumer, TopicPartition
from switchboard.common.bus import EventProducer, connection_options
from switchboard.common.logging import get_logger, mask_string
from switchboard.common.topics import TopicNames
from switchboard.ingest import metrics
from switchboard.ingest.domain import orders
from switchboard.ingest.domain.errors import BadRequest, IngestError, InvalidField
from switchboard.ingest.domain.model import Outgoing

log = get_logger(__name__)
STRUCTURED = "application/cloudevents+json"


def validate_record(value: bytes | None, headers, *, known_brand, now) -> tuple[str, Outgoing]:
    """One Kafka record -> (brand_id, order Outgoing). Raises IngestError naming what is wrong."""
    attrs: dict[str, str] = {}
    for name, raw in headers or ():
        try:
            attrs[name.lower()] = (raw or b"").decode("utf-8")
        except UnicodeDecodeError:
            raise BadRequest(f"header {name} is not UTF-8", field=name) from None
    content_type = attrs.get("content-type", "").split(";")[0].strip().lower()
    if content_type == STRUCTURED:
        try:
            event = json.loads(value or b"")
        except (ValueError, UnicodeDecodeError):
            raise BadRequest("structured CloudEvent is not valid JSON", field="value") from None
        brand = event.get("brandid") if isinstance(event, dict) else None
        brand = _brand(brand, known_brand)
        return brand, orders.structured(event, brand_id=brand, now=now)
    if "ce_specversion" in attrs:
        ce = {name[3:]: v for name, v in attrs.items() if name.startswith("ce_")}
        ce["datacontenttype"] = content_type or "application/json"
        brand = _brand(ce.get("brandid"), known_brand)
        return brand, orders.binary(ce, value or b"", brand_id=brand, now=now)
    raise BadRequest("record is neither binary mode (ce_specversion header) nor structured "
                     f"(content-type {STRUCTURED})", field="headers")


def _brand(brand: object, known_brand) -> str:
    if not isinstance(brand, str) or not brand:
        raise InvalidField("brandid extension attribute is required (ce_brandid header or brandid field)",
                           field="brandid")
    if not known_brand(brand):
        raise InvalidField(f"brandid {brand!r} is not a known brand", field="brandid")
    return brand


class OrdersExternalConsumer:
    name = "orders_external"

    def __init__(self, *, settings, names: TopicNames, producer: EventProducer, deps, group_id: str) -> None:
        self._settings = settings
        self._names = names
        self._producer = producer
        self._deps = deps
        self.group_id = group_id
        self._consumer: AIOKafkaConsumer | None = None
        self._stopping = asyncio.Event()
        self._joined = False
        self.task: asyncio.Task | None = None

    @property
    def ready(self) -> bool:
        return self.task is not None and not self.task.done()

    async def start(self) -> None:
        kafka = self._settings.kafka
        self._consumer = AIOKafkaConsumer(
            self._names.orders_external, **connection_options(kafka), group_id=self.group_id,
            enable_auto_commit=False, auto_offset_reset="earliest", session_timeout_ms=kafka.session_timeout_ms,
            heartbeat_interval_ms=kafka.heartbeat_interval_ms, max_poll_interval_ms=kafka.max_poll_interval_ms,
            fetch_max_wait_ms=self._settings.consumer.fetch_max_wait_ms)
        # Joining the group takes a while; the HTTP front door must not wait for it.
        self.task = asyncio.create_task(self._run(), name="consumer:orders_external")

    async def stop(self) -> None:
        self._stopping.set()
        if self.task is not None and not self._joined:
            self.task.cancel()  # still starting: nothing consumed, nothing to finish
        if self.task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self.task), self._settings.consumer.shutdown_timeout_seconds)
            except TimeoutError:
                self.task.cancel()
            except (Exception, asyncio.CancelledError):
                pass
        if self._consumer is not None:
            consumer, self._consumer = self._consumer, None
            try:
                await consumer.stop()
            except (Exception, asyncio.CancelledError) as exc:  # aiokafka's fetcher can cancel itself at close
                log.warning("orders_external_stop_failed", error=type(exc).__name__)

    async def _run(self) -> None:
        assert self._consumer is not None
        await self._consumer.start()
        self._joined = True
        settings = self._settings.consumer
        failures = 0
        while not self._stopping.is_set():
            batch = await self._consumer.getmany(timeout_ms=settings.poll_timeout_ms,
                                                 max_records=settings.max_batch_records)
            if not batch:
                continue
            try:
                await self._process(batch)
                failures = 0
            except Exception as exc:  # broker or store trouble: rewind, back off, read the batch again
                failures += 1
                log.warning("orders_external_batch_retry", attempt=failures, error=mask_string(repr(exc)))
                for tp, records in batch.items():
                    self._consumer.seek(tp, records[0].offset)
                await asyncio.sleep(min(settings.retry_backoff_max_ms, settings.retry_backoff_ms * 2 ** failures)
                                    / 1000)

    async def _process(self, batch: dict) -> None:
        deps = self._deps
        from switchboard.ingest.handlers import event_id  # handlers import adapters, not the reverse at import
        valid: dict[str, tuple[str, Outgoing]] = {}
        now = deps.clock.now()
        sends = []
        for records in batch.values():
            for record in records:
                try:
                    brand, event = validate_record(record.value, record.headers,
                                                   known_brand=deps.secrets.has_brand, now=now)
                except Exception as error:  # a poison record goes to the DLQ; it never stalls the consumer
                    reason = b"rejected" if isinstance(error, IngestError | UnicodeError) else b"failed"
                    exc = error if isinstance(error, IngestError) else BadRequest(
                        "record contains invalid Unicode (an unpaired surrogate escape)" if isinstance(
                            error, UnicodeError) else f"{type(error).__name__}: {error}", field="value")
                    if reason == b"failed":
                        log.error("orders_external_validation_crashed", error=mask_string(repr(error)))
                    metrics.ORDERS_EXTERNAL.labels("dlq").inc()
                    headers = [h for h in record.headers if not h[0].startswith("dlq_")] + [
                        ("dlq_reason", reason), ("dlq_error", mask_string(exc.message)[:1000].encode()),
                        ("dlq_field", (exc.field or "").encode()), ("dlq_topic", record.topic.encode()),
                        ("dlq_partition", str(record.partition).encode()),
                        ("dlq_offset", str(record.offset).encode()), ("dlq_group", self.group_id.encode())]
                    sends.append(await self._producer.send_raw(self._names.dlq("orders_external"), record.value,
                                                               record.key, headers))
                    continue
                valid.setdefault(event_id(brand, event.dedupe_id), (brand, event))
        seen = await deps.dedupe.seen(list(valid)) if valid else set()
        fresh = [i for i in valid if i not in seen]
        for i in fresh:
            brand, event = valid[i]
            sends.append(await self._producer.publish(
                self._names.orders, event.payload, key=event.key, event_id=i, time=event.time,
                subject=event.subject, brand_id=brand))
        await asyncio.gather(*sends)
        deps.dedupe.mark(fresh)
        metrics.ORDERS_EXTERNAL.labels("forwarded").inc(len(fresh))
        metrics.ORDERS_EXTERNAL.labels("duplicate").inc(len(valid) - len(fresh))
        await self._consumer.commit({tp: records[-1].offset + 1 for tp, records in batch.items()})


__all__ = ["OrdersExternalConsumer", "TopicPartition", "validate_record"]
