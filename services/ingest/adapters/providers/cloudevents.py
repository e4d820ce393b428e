"""Generic CloudEvents 1.0 over HTTP for order events: structured, binary and batch modes.

Authenticated by `Authorization: Bearer <cloudevents_token>` of the brand.
"""
from __future__ import annotations

from typing import ClassVar

from switchboard.ingest.domain import orders
from switchboard.ingest.domain.errors import BadRequest, InvalidField
from switchboard.ingest.domain.model import WebhookOutcome, WebhookRequest
from switchboard.ingest.domain.signatures import verify_bearer

from .base import AdapterContext, NoHandshake

STRUCTURED = "application/cloudevents+json"
BATCH = "application/cloudevents-batch+json"
MAX_BATCH = 500

EXAMPLE = {
    "specversion": "1.0", "id": "evt-7f3c2a91", "source": "//oms.brand.example/orders",
    "type": "com.brand.order.shipped",
    "time": "2026-01-05T09:00:00Z", "subject": "1001", "datacontenttype": "application/json",
    "data": {"order_id": "1001", "order_number": "#1001", "customer": {"email": "anna@example.de", "name": "Anna"},
             "currency": "EUR", "total": "59.90", "carrier": "DHL", "tracking_number": "00340434161234567890",
             "tracking_url": "https://www.dhl.de/track?id=00340434161234567890",
             "estimated_delivery": "2026-01-08T18:00:00Z"},
}


def binary_attributes(headers) -> dict[str, str]:
    attrs = {name[3:]: value for name, value in headers.items() if name.startswith("ce-")}
    return attrs


class CloudEventsHttp(NoHandshake):
    name: ClassVar[str] = "cloudevents"
    media_type: ClassVar[str] = STRUCTURED
    summary: ClassVar[str] = "Order events as CloudEvents 1.0 (structured, binary with ce-* headers, or batch)"
    example: ClassVar[dict] = EXAMPLE

    def verify(self, request: WebhookRequest, ctx: AdapterContext) -> None:
        verify_bearer(request.header("authorization"), ctx.secret("cloudevents_token"))

    def normalize(self, request: WebhookRequest, ctx: AdapterContext) -> WebhookOutcome:
        if request.content_type == BATCH:
            batch = orders.parse_json(request.body)
            if not isinstance(batch, list):
                raise InvalidField("a batch must be a JSON array of CloudEvents", field="body")
            if len(batch) > MAX_BATCH:
                raise InvalidField(f"a batch holds at most {MAX_BATCH} events", field="body")
            # All or nothing: one invalid event rejects the batch, so a retry never half-applies.
            events = [orders.structured(item, brand_id=ctx.brand_id, now=ctx.now, where=f"[{i}]")
                      for i, item in enumerate(batch)]
        elif request.content_type == STRUCTURED:
            events = [orders.structured(orders.parse_json(request.body), brand_id=ctx.brand_id, now=ctx.now)]
        elif request.header("ce-specversion") is not None:
            attrs = binary_attributes(request.headers)
            attrs["datacontenttype"] = request.content_type or "application/json"
            events = [orders.binary(attrs, request.body, brand_id=ctx.brand_id, now=ctx.now)]
        else:
            raise BadRequest(f"Content-Type must be {STRUCTURED} or {BATCH}, or send binary mode with ce-* headers",
                             field="Content-Type")
        return WebhookOutcome(events=events, reply={"accepted": len(events)})
