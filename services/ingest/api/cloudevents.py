"""Order events over HTTP (CloudEvents): the provider webhook address, the short documented address
for publishers, and the CloudEvents Webhook spec's OPTIONS abuse-protection handshake on both. The
decision lives in the adapter (adapters/providers/cloudevents.py); these routes translate HTTP."""
from typing import Annotated

from fastapi import APIRouter, Header, Path, Request
from fastapi.responses import Response
from switchboard.ingest.adapters.providers.cloudevents import handshake_headers
from switchboard.ingest.api.deps import ApiContext
from switchboard.ingest.api.schemas import BRAND_PARAMETER, ERRORS, PROBLEM
from switchboard.ingest.api.webhooks import STORED, request_body_doc, webhook_poster
from switchboard.ingest.domain.model import WebhookRequest
from switchboard.ingest.handlers import context

NAME = "cloudevents"
HandshakeBrand = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$", examples=["acme"])]
HANDSHAKE_PATHS = (("/v1/brands/{brand_id}/events", "cloudevents_handshake"),
                   ("/v1/brands/{brand_id}/webhooks/cloudevents", "cloudevents_webhook_handshake"))


def cloudevents_router(api: ApiContext, adapter) -> APIRouter:
    router = APIRouter()
    content = request_body_doc(adapter)
    content["application/cloudevents-batch+json"] = {"schema": {"type": "array", "items": {"type": "object"}},
                                                     "example": [adapter.example]}
    extra = {"requestBody": {"required": True, "content": content}, "parameters": [BRAND_PARAMETER]}
    post = webhook_poster(api, NAME)
    router.add_api_route(f"/v1/brands/{{brand_id}}/webhooks/{NAME}", post, methods=["POST"], tags=["webhooks"],
                         summary=adapter.summary, openapi_extra=extra, responses=STORED, name=f"webhook_{NAME}")
    # The short, documented address for publishers.
    router.add_api_route("/v1/brands/{brand_id}/events", post, methods=["POST"], tags=["order events"],
                         summary=adapter.summary, openapi_extra=extra,
                         responses={200: {"description": "Stored (or duplicates of stored events)"}, **ERRORS,
                                    415: {"description": "Data that is not JSON", **PROBLEM}},
                         name="cloudevents_events")

    async def handshake(brand_id: HandshakeBrand, request: Request,
                        origin: Annotated[str | None, Header(alias="WebHook-Request-Origin",
                                                             examples=["oms.brand.example"])] = None,
                        rate: Annotated[str | None, Header(alias="WebHook-Request-Rate", examples=["120"])] = None,
                        ) -> Response:
        webhook = WebhookRequest(method="OPTIONS", url=str(request.url), headers=request.headers,
                                 query=tuple(request.query_params.multi_items()), body=b"")
        return Response(status_code=200, headers=handshake_headers(webhook, context(api.deps, brand_id)))

    for path, name in HANDSHAKE_PATHS:
        router.add_api_route(path, handshake, methods=["OPTIONS"], tags=["order events"], response_class=Response,
                             summary="CloudEvents Webhook abuse-protection handshake (WebHook-Request-Origin); "
                                     "origins granted per brand by cloudevents_allowed_origins",
                             responses={200: {"description": "Origin allowed: WebHook-Allowed-Origin "
                                                             "(and WebHook-Allowed-Rate) headers"}, **ERRORS},
                             name=name)
    return router
