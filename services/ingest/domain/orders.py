"""Order events: CloudEvents 1.0 validation (HTTP and Kafka bindings) and the order data contract.

See docs/order-events.md for the publisher contract. Everything here raises InvalidField /
BadRequest with the offending attribute named, so the HTTP path answers 4xx and the Kafka path
sends the record to the DLQ with that reason.
"""
from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from .contacts import e164, email_address
from .errors import BadRequest, InvalidField, UnsupportedMediaType
from .events import Handle, Order
from .model import Outgoing

# The kind names of the wire's OrderEventKind; "canceled" is the American spelling of the same kind.
KINDS = {name: name for name in ("created", "paid", "shipped", "delayed", "delivered", "cancelled", "refunded")}
KINDS["canceled"] = "cancelled"
# A trailing version segment (com.shop.order.created.v1) is common and names the same kind.
_TYPE = re.compile(r"(?:^|\.)orders?\.([a-z]+)(?:\.v\d+(?:\.\d+)*)?$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
# ISO 4217 minor units that are not 2.
_EXPONENT = {"JPY": 0, "KRW": 0, "VND": 0, "CLP": 0, "ISK": 0, "HUF": 2, "BHD": 3, "KWD": 3, "OMR": 3,
             "JOD": 3, "TND": 3, "IQD": 3, "LYD": 3}
REQUIRED = ("id", "source", "specversion", "type")
MAX_ID = 256


def rfc3339(value: object, field: str) -> datetime:
    if not isinstance(value, str) or "T" not in value.upper():
        raise InvalidField(f"{field} must be an RFC 3339 timestamp", field=field)
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise InvalidField(f"{field} must be an RFC 3339 timestamp", field=field) from None
    if dt.tzinfo is None:
        raise InvalidField(f"{field} must carry a UTC offset", field=field)
    return dt.astimezone(UTC)


def order_kind(ce_type: str) -> str:
    match = _TYPE.search(ce_type)
    kind = KINDS.get(match.group(1)) if match else None
    if kind is None:
        raise InvalidField(
            "type must end in order.<created|paid|shipped|delayed|delivered|cancelled|refunded>, "
            f"got {ce_type!r}", field="type")
    return kind


def minor_units(total: object, currency: str, field: str) -> int:
    try:
        amount = Decimal(str(total))
    except InvalidOperation:
        raise InvalidField(f"{field} must be a decimal amount like \"19.99\"", field=field) from None
    if not amount.is_finite() or amount < 0 or isinstance(total, bool):
        raise InvalidField(f"{field} must be a non-negative amount", field=field)
    minor = amount.scaleb(_EXPONENT.get(currency, 2))
    if minor != minor.to_integral_value():
        raise InvalidField(f"{field} has more decimals than {currency} allows", field=field)
    if minor > 2**63 - 1:
        raise InvalidField(f"{field} is too large", field=field)
    return int(minor)


def _opt_str(data: Mapping, name: str, prefix: str = "data.", limit: int = 1000) -> str:
    value = data.get(name)
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise InvalidField(f"{prefix}{name} must be a string", field=f"{prefix}{name}")
    text = str(value)
    if len(text) > limit:
        raise InvalidField(f"{prefix}{name} is longer than {limit} characters", field=f"{prefix}{name}")
    return text


def order_from_data(*, brand_id: str, kind: str, data: object, occurred_at: datetime, source: str,
                    external_id: str, subject: str | None = None) -> Order:
    if not isinstance(data, Mapping):
        raise InvalidField("data must be a JSON object", field="data")
    order_id = _opt_str(data, "order_id", limit=200) or (subject or "")
    if not order_id:
        raise InvalidField("data.order_id is required", field="data.order_id")
    event = Order(
        brand_id=brand_id, order_id=order_id, kind=kind, occurred_at=occurred_at, source=source,
        external_event_id=external_id, order_number=_opt_str(data, "order_number", limit=200),
        carrier=_opt_str(data, "carrier", limit=200), tracking_number=_opt_str(data, "tracking_number", limit=200),
        tracking_url=_opt_str(data, "tracking_url", limit=2000), reason=_opt_str(data, "reason"))
    customer = data.get("customer")
    if customer is not None:
        if not isinstance(customer, Mapping):
            raise InvalidField("data.customer must be an object", field="data.customer")
        if customer.get("email"):
            address, _ = email_address(_opt_str(customer, "email", "data.customer."), "data.customer.email")
            event.customer_handles.append(Handle("email", address))
        if customer.get("phone"):
            event.customer_handles.append(Handle("phone", e164(
                _opt_str(customer, "phone", "data.customer."), "data.customer.phone")))
        event.customer_name = _opt_str(customer, "name", "data.customer.", limit=300)
    currency = _opt_str(data, "currency", limit=3).upper()
    if currency and not _CURRENCY.match(currency):
        raise InvalidField("data.currency must be an ISO 4217 code like EUR", field="data.currency")
    event.currency = currency
    if data.get("total_minor_units") is not None:
        value = data.get("total_minor_units")
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**63:
            raise InvalidField("data.total_minor_units must be a non-negative integer",
                               field="data.total_minor_units")
        event.total_minor_units = value
    elif data.get("total") is not None:
        if not currency:
            raise InvalidField("data.currency is required with data.total", field="data.currency")
        event.total_minor_units = minor_units(data.get("total"), currency, "data.total")
    if data.get("estimated_delivery") is not None:
        event.estimated_delivery = rfc3339(data.get("estimated_delivery"), "data.estimated_delivery")
    return event


def order_outgoing(event: Order, dedupe_id: str) -> Outgoing:
    return Outgoing(stream="orders", key=f"{event.brand_id}/{event.order_id}", payload=event,
                    dedupe_id=dedupe_id, time=event.occurred_at, subject=event.order_id)


def require_json_data(content_type: object) -> None:
    """Order data is JSON. Data of another declared type is a format we do not read (415), not a
    malformed request: the answer names what we accept."""
    if content_type is None:
        return
    if not isinstance(content_type, str):
        raise InvalidField("datacontenttype must be a string", field="datacontenttype")
    media_type = content_type.split(";")[0].strip().lower()
    if not media_type.endswith("json"):
        raise UnsupportedMediaType(
            f"datacontenttype {media_type!r} is not supported: order data must be JSON "
            "(application/json, or a +json type)", field="datacontenttype")


def validate_cloudevent(attributes: Mapping[str, object], data: object, *, brand_id: str,
                        now: datetime) -> Outgoing:
    """One CloudEvent (attributes as in structured mode, data already decoded) -> an order Outgoing."""
    for name in REQUIRED:
        value = attributes.get(name)
        if not isinstance(value, str) or not value:
            raise InvalidField(f"{name} is a required CloudEvents attribute", field=name)
    if attributes["specversion"] != "1.0":
        raise InvalidField(f"specversion must be 1.0, got {attributes['specversion']!r}", field="specversion")
    ce_id, source = str(attributes["id"]), str(attributes["source"])
    if len(ce_id) > MAX_ID or len(source) > 1024:
        raise InvalidField("id or source is too long", field="id")
    require_json_data(attributes.get("datacontenttype"))
    occurred = rfc3339(attributes["time"], "time") if attributes.get("time") is not None else now
    subject = attributes.get("subject")
    event = order_from_data(brand_id=brand_id, kind=order_kind(str(attributes["type"])), data=data,
                            occurred_at=occurred, source=source, external_id=ce_id,
                            subject=subject if isinstance(subject, str) else None)
    # CloudEvents: id is unique per source, so (source, id) identifies a publisher retry.
    return order_outgoing(event, f"cloudevents:{source}:{ce_id}")


def structured(event: object, *, brand_id: str, now: datetime, where: str = "") -> Outgoing:
    """Structured mode: one JSON object holding attributes and `data` (or `data_base64`)."""
    if not isinstance(event, Mapping):
        raise InvalidField(f"{where or 'body'} must be a CloudEvent JSON object", field=where or "body")
    try:
        require_json_data(event.get("datacontenttype"))
        if "data_base64" in event:
            import base64
            data = json.loads(base64.b64decode(str(event["data_base64"]), validate=True))
        else:
            data = event.get("data")
        return validate_cloudevent(event, data, brand_id=brand_id, now=now)
    except (InvalidField, UnsupportedMediaType) as exc:
        if where:
            exc.field = f"{where}.{exc.field}" if exc.field else where
            exc.message = f"{where}: {exc.message}"
        raise
    except (ValueError, TypeError):
        raise InvalidField(f"{where}data_base64 is not base64 JSON", field="data_base64") from None


def binary(attributes: Mapping[str, str], body: bytes, *, brand_id: str, now: datetime) -> Outgoing:
    """Binary mode: attributes from ce-* HTTP headers / ce_* Kafka headers, the body is the data."""
    require_json_data(attributes.get("datacontenttype"))
    try:
        data = json.loads(body) if body else None
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("event data is not valid JSON", field="data") from None
    return validate_cloudevent(attributes, data, brand_id=brand_id, now=now)


def parse_json(body: bytes, what: str = "body") -> object:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest(f"{what} is not valid JSON", field=what) from None
