"""CloudEvents that other systems publish on Kafka (orders.external): the decode hook of the shared
ConsumerRunner for these foreign records (binary mode with ce_* headers and JSON data, or structured
JSON). A valid record becomes an order event (handlers.forward_orders publishes it to `orders`); an
invalid one goes to `orders.external.dlq` with the reason and the field (dlq_field). The runner
gives the usual guarantees: publish -> wait for every ack -> mark dedupe -> commit; the output
event ids are deterministic, so a re-read batch cannot create second events downstream.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime

from aiokafka import ConsumerRecord
from switchboard.common.clock import Clock
from switchboard.common.cloudevents import Envelope
from switchboard.common.consumer import PermanentError
from switchboard.ingest import metrics
from switchboard.ingest.adapters.codec import wire
from switchboard.ingest.domain import orders
from switchboard.ingest.domain.errors import BadRequest, IngestError, InvalidField
from switchboard.ingest.domain.model import Outgoing

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


def order_record_decoder(known_brand: Callable[[str], bool], clock: Clock) -> Callable[[ConsumerRecord], Envelope]:
    """decode= hook: one orders.external record -> an envelope whose payload is the (wire) order event."""
    def decode(record: ConsumerRecord) -> Envelope:
        try:
            brand, event = validate_record(record.value, record.headers, known_brand=known_brand, now=clock.now())
        except IngestError as exc:
            metrics.ORDERS_EXTERNAL.labels("dlq").inc()
            raise PermanentError(exc.message, field=exc.field or "") from exc
        except UnicodeError as exc:
            metrics.ORDERS_EXTERNAL.labels("dlq").inc()
            raise PermanentError("record contains invalid Unicode (an unpaired surrogate escape)",
                                 field="value") from exc
        except Exception:
            metrics.ORDERS_EXTERNAL.labels("dlq").inc()
            raise
        event = wire(event)
        return Envelope(payload=event, id=f"{record.topic}/{record.partition}/{record.offset}",
                        type="orders.external", source="/orders.external", time=_record_time(record), brand_id=brand,
                        subject=event.subject, key=record.key, topic=record.topic, partition=record.partition,
                        offset=record.offset, raw_headers=list(record.headers), raw_value=record.value)
    return decode


def _record_time(record: ConsumerRecord) -> datetime:
    """When the record was written (the runner's record-age metric); the order's own time is in the payload."""
    return datetime.fromtimestamp(record.timestamp / 1000, UTC)
