"""Generic CloudEvents 1.0 over HTTP for order events: structured, binary and batch modes.

Authenticated by the brand's `cloudevents_token`, sent as `Authorization: Bearer <token>` or as the
`access_token` query parameter (both are allowed by the CloudEvents Webhook spec). Binary-mode
`ce-*` header values are percent-decoded (HTTP protocol binding). The Webhook spec's OPTIONS
abuse-protection handshake is answered by `handshake_headers` for the origins the brand lists in
`cloudevents_allowed_origins`.
"""
from __future__ import annotations

from typing import ClassVar
from urllib.parse import unquote

from switchboard.ingest.adapters.codec import wire
from switchboard.ingest.domain import orders
from switchboard.ingest.domain.errors import BadRequest, InvalidField, SignatureMismatch, UnsupportedMediaType
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
    """ce-* headers -> attributes. The HTTP binding percent-encodes values (space, '"', '%' and
    non-ASCII as UTF-8 octets); raw UTF-8 header bytes are read as UTF-8 too."""
    attrs = {}
    for name, value in headers.items():
        if not name.startswith("ce-"):
            continue
        try:
            text = value.encode("latin-1").decode("utf-8")  # HTTP header bytes arrive as Latin-1 text
            attrs[name[3:]] = unquote(text, errors="strict")
        except UnicodeError:
            raise BadRequest(f"header {name} is not percent-encoded UTF-8", field=name) from None
    return attrs


def handshake_headers(request: WebhookRequest, ctx: AdapterContext) -> dict[str, str]:
    """CloudEvents Webhook spec, abuse protection: OPTIONS with WebHook-Request-Origin (and optionally
    WebHook-Request-Rate) -> WebHook-Allowed-Origin (and WebHook-Allowed-Rate) for an allowed origin."""
    ctx.secret("cloudevents_token")  # 404 unless CloudEvents are configured for the brand
    origin = (request.header("webhook-request-origin") or "").strip()
    if not origin:
        raise BadRequest("WebHook-Request-Origin header is required for the OPTIONS handshake",
                         field="WebHook-Request-Origin")
    configured = ctx.secrets.get("cloudevents_allowed_origins") or []
    allowed = {str(a).strip().lower() for a in (configured.split(",") if isinstance(configured, str) else configured)}
    if "*" not in allowed and origin.lower() not in allowed:
        raise SignatureMismatch(f"origin {origin!r} is not in cloudevents_allowed_origins of brand {ctx.brand_id}",
                                field="WebHook-Request-Origin")
    headers = {"WebHook-Allowed-Origin": origin, "Allow": "POST, OPTIONS"}
    rate = request.header("webhook-request-rate")
    if rate is not None:
        if not rate.strip().isdigit() or int(rate) <= 0:
            raise BadRequest("WebHook-Request-Rate must be a positive integer (requests per minute)",
                             field="WebHook-Request-Rate")
        # No per-publisher limit here: ingest sheds load with 503 + Retry-After instead.
        headers["WebHook-Allowed-Rate"] = str(int(rate))
    return headers


class CloudEventsHttp(NoHandshake):
    name: ClassVar[str] = "cloudevents"
    media_type: ClassVar[str] = STRUCTURED
    summary: ClassVar[str] = "Order events as CloudEvents 1.0 (structured, binary with ce-* headers, or batch)"
    example: ClassVar[dict] = EXAMPLE

    def verify(self, request: WebhookRequest, ctx: AdapterContext) -> None:
        token = request.query_value("access_token")
        authorization = request.header("authorization") or (f"Bearer {token}" if token else None)
        verify_bearer(authorization, ctx.secret("cloudevents_token"))

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
        elif request.content_type and not request.content_type.endswith("json"):
            raise UnsupportedMediaType(f"Content-Type {request.content_type!r} is not supported: send {STRUCTURED}, "
                                       f"{BATCH}, or binary mode (ce-* headers) with application/json data",
                                       field="Content-Type")
        else:
            raise BadRequest(f"Content-Type must be {STRUCTURED} or {BATCH}, or send binary mode with ce-* headers",
                             field="Content-Type")
        return WebhookOutcome(events=[wire(e) for e in events], reply={"accepted": len(events)})
