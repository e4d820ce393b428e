"""Shopify order webhooks: X-Shopify-Hmac-Sha256 over the raw body, topic in X-Shopify-Topic.

X-Shopify-Webhook-Id is the same on every retry of one delivery, so it is the dedupe id.
Topics we do not map are acknowledged (200) and ignored, so Shopify does not disable the webhook.
"""
from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from switchboard.ingest.adapters.codec import wire
from switchboard.ingest.domain import orders
from switchboard.ingest.domain.errors import InvalidField
from switchboard.ingest.domain.model import WebhookOutcome, WebhookRequest
from switchboard.ingest.domain.signatures import verify_shopify

from .base import AdapterContext, NoHandshake, parse_json_object

TOPICS = {
    "orders/create": "created", "orders/paid": "paid", "orders/cancelled": "cancelled", "orders/fulfilled": "shipped",
    "fulfillments/create": "shipped", "fulfillments/update": "shipped", "refunds/create": "refunded",
}
SHIPMENT = {"delivered": "delivered", "failure": "delayed", "attempted_delivery": "delayed", "delayed": "delayed"}

EXAMPLE = {
    "id": 820982911946154508, "admin_graphql_api_id": "gid://shopify/Order/820982911946154508",
    "name": "#1001", "order_number": 1001, "email": "jon@example.com", "phone": None, "currency": "USD",
    "total_price": "403.00", "financial_status": "paid", "created_at": "2026-01-05T09:00:00-05:00",
    "updated_at": "2026-01-05T09:00:00-05:00", "cancel_reason": None,
    "customer": {"id": 115310627314723954, "email": "john@example.com", "first_name": "John", "last_name": "Smith",
                 "phone": "+16135551111"},
}


def _first(values: object) -> object:
    return values[0] if isinstance(values, list) and values else None


def _time(value: object, field: str) -> datetime | None:
    return orders.rfc3339(value, field) if value else None


class Shopify(NoHandshake):
    name: ClassVar[str] = "shopify"
    media_type: ClassVar[str] = "application/json"
    summary: ClassVar[str] = "Shopify order webhooks (orders/*, fulfillments/*, refunds/create)"
    example: ClassVar[dict] = EXAMPLE

    def verify(self, request: WebhookRequest, ctx: AdapterContext) -> None:
        verify_shopify(request.body, request.header("x-shopify-hmac-sha256"), ctx.secret("shopify_webhook_secret"))

    def normalize(self, request: WebhookRequest, ctx: AdapterContext) -> WebhookOutcome:
        topic = request.header("x-shopify-topic") or ""
        if not topic:
            raise InvalidField("X-Shopify-Topic header is required", field="X-Shopify-Topic")
        body = parse_json_object(request.body)
        kind = TOPICS.get(topic)
        if kind is None:
            return WebhookOutcome(reply={"status": "ignored"}, ignored=f"topic {topic} is not an order event")
        webhook_id = request.header("x-shopify-webhook-id") or request.header("x-shopify-event-id")
        if not webhook_id:
            raise InvalidField("X-Shopify-Webhook-Id header is required", field="X-Shopify-Webhook-Id")
        order = body
        data: dict = {}
        if topic.startswith("fulfillments/"):
            status = str(body.get("shipment_status") or "")
            kind = SHIPMENT.get(status, kind)
            data.update(order_id=body.get("order_id"), carrier=body.get("tracking_company"),
                        tracking_number=body.get("tracking_number"),
                        tracking_url=body.get("tracking_url") or _first(body.get("tracking_urls")),
                        reason=status if kind == "delayed" else None)
            order = {}
        elif topic == "refunds/create":
            amount = 0
            currency = ""
            for t, tx in enumerate(body.get("transactions") or []):
                if isinstance(tx, dict) and tx.get("kind") == "refund" and tx.get("amount") is not None:
                    currency = str(tx.get("currency") or currency).upper()
                    amount += orders.minor_units(tx.get("amount"), currency or "USD", f"transactions[{t}].amount")
            data.update(order_id=body.get("order_id"), reason=body.get("note"), currency=currency or None,
                        total_minor_units=amount if currency else None)
            order = {}
        else:
            customer = order.get("customer") if isinstance(order.get("customer"), dict) else {}
            name = " ".join(str(customer.get(k)) for k in ("first_name", "last_name") if customer.get(k))
            data.update(order_id=order.get("id"), order_number=order.get("name"), currency=order.get("currency"),
                        total=order.get("total_price"), reason=order.get("cancel_reason"),
                        customer={"email": order.get("email") or customer.get("email"),
                                  "phone": order.get("phone") or customer.get("phone"), "name": name or None})
        data = {k: v for k, v in data.items() if v is not None}
        if "order_id" not in data:
            raise InvalidField("order id is missing (id / order_id)", field="order_id")
        data["order_id"] = str(data["order_id"])
        occurred = _time(request.header("x-shopify-triggered-at"), "X-Shopify-Triggered-At") \
            or _time(body.get("updated_at") or body.get("created_at"), "updated_at") or ctx.now
        try:
            event = orders.order_from_data(
                brand_id=ctx.brand_id, kind=kind, data=data, occurred_at=occurred,
                source=f"shopify://{request.header('x-shopify-shop-domain') or 'shop'}", external_id=webhook_id)
        except InvalidField as exc:
            exc.field = (exc.field or "").removeprefix("data.")
            exc.message = exc.message.removeprefix("data.")
            raise
        return WebhookOutcome(events=[wire(orders.order_outgoing(event, f"shopify:{webhook_id}"))],
                              reply={"status": "accepted"})
