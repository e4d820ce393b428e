"""CloudEvents validation and the order data contract (docs/order-events.md)."""
from datetime import UTC, datetime

import pytest
from switchboard.events.v1 import orders_pb2
from switchboard.ingest.adapters.codec import wire
from switchboard.ingest.adapters.orders_external import validate_record
from switchboard.ingest.domain import orders
from switchboard.ingest.domain.errors import BadRequest, InvalidField

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
ATTRS = {"specversion": "1.0", "id": "e1", "source": "//oms", "type": "com.acme.order.refunded",
         "time": "2026-01-05T10:00:00+01:00"}


@pytest.mark.parametrize("ce_type, kind, wire_kind", [
    ("order.created", "created", orders_pb2.ORDER_EVENT_KIND_CREATED),
    ("com.x.orders.paid", "paid", orders_pb2.ORDER_EVENT_KIND_PAID),
    ("com.x.order.canceled", "cancelled", orders_pb2.ORDER_EVENT_KIND_CANCELLED),
    ("com.x.order.delayed", "delayed", orders_pb2.ORDER_EVENT_KIND_DELAYED)])
def test_order_kinds(ce_type, kind, wire_kind):
    assert orders.order_kind(ce_type) == kind
    out = orders.validate_cloudevent({**ATTRS, "type": ce_type}, {"order_id": "1"}, brand_id="acme", now=NOW)
    assert wire(out).payload.kind == wire_kind


def test_valid_event_normalizes_with_event_time_in_utc():
    out = orders.validate_cloudevent(ATTRS, {"order_id": "A-1", "currency": "JPY", "total": "1200"},
                                     brand_id="acme", now=NOW)
    assert out.payload.occurred_at == datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    assert out.payload.total_minor_units == 1200  # JPY has no minor unit
    assert out.dedupe_id == "cloudevents://oms:e1" and out.key == "acme/A-1"
    assert wire(out).payload.occurred_at.ToJsonString() == "2026-01-05T09:00:00Z"


@pytest.mark.parametrize("attrs, data, field", [
    ({**ATTRS, "specversion": "0.3"}, {"order_id": "1"}, "specversion"),
    ({k: v for k, v in ATTRS.items() if k != "source"}, {"order_id": "1"}, "source"),
    ({**ATTRS, "time": "yesterday"}, {"order_id": "1"}, "time"),
    (ATTRS, {"order_id": "1", "total": "1.999", "currency": "EUR"}, "data.total"),
    (ATTRS, {"order_id": "1", "total": "10"}, "data.currency"),
    (ATTRS, {"order_id": "1", "customer": {"phone": "0151 1234"}}, "data.customer.phone"),
    (ATTRS, {"order_id": "1", "customer": {"email": "nope"}}, "data.customer.email"),
    (ATTRS, [1, 2], "data"),
])
def test_invalid_events_name_the_attribute(attrs, data, field):
    with pytest.raises(InvalidField) as exc:
        orders.validate_cloudevent(attrs, data, brand_id="acme", now=NOW)
    assert exc.value.field == field


def test_kafka_binary_record():
    headers = [("ce_specversion", b"1.0"), ("ce_id", b"e1"), ("ce_source", b"//oms"),
               ("ce_type", b"order.shipped"), ("ce_brandid", b"acme"), ("content-type", b"application/json")]
    brand, out = validate_record(b'{"order_id": "9"}', headers, known_brand=lambda b: b == "acme", now=NOW)
    assert brand == "acme" and out.payload.kind == "shipped"
    assert wire(out).payload.kind == orders_pb2.ORDER_EVENT_KIND_SHIPPED
    with pytest.raises(InvalidField, match="brandid"):
        validate_record(b'{"order_id": "9"}', headers, known_brand=lambda b: False, now=NOW)
    with pytest.raises(BadRequest):
        validate_record(b"not json", headers, known_brand=lambda b: True, now=NOW)
