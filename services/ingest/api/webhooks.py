"""Provider webhooks: one documented route per provider (plus Meta's GET verification handshake), and
FastWebhooks, the fast path that serves the same POSTs without FastAPI's per-request machinery."""
import re
from typing import Annotated
from urllib.parse import parse_qsl

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from starlette.datastructures import Headers as StarletteHeaders
from switchboard.ingest.adapters.ports import BrokerUnavailable
from switchboard.ingest.api.deps import ApiContext, BrandId, too_large
from switchboard.ingest.api.schemas import BRAND_PARAMETER, ERRORS
from switchboard.ingest.domain.errors import IngestError, NotFound
from switchboard.ingest.domain.model import WebhookOutcome, WebhookRequest
from switchboard.ingest.handlers import handle_handshake

WEBHOOK_PATH = re.compile(r"^/v1/brands/([A-Za-z0-9_-]{1,64})/(?:webhooks/([a-z_]+)|events)$")
STORED = {200: {"description": "Stored (or a duplicate of a stored message), or ignored"}, **ERRORS}


def webhook_request(scope, headers, body: bytes, base_url: str | None) -> WebhookRequest:
    """Built straight from the ASGI scope: Starlette's URL and QueryParams objects cost more than the
    signature check on this path. The URL is the one the provider called (Twilio signs it)."""
    content_type = headers.get("content-type", "")
    query_string = scope.get("query_string", b"").decode("latin-1")
    path = (scope.get("raw_path") or scope["path"].encode()).decode("latin-1").split("?", 1)[0]
    url = (base_url or f"{scope.get('scheme', 'http')}://{headers.get('host', '')}") + path
    if query_string:
        url += "?" + query_string
    query = tuple(parse_qsl(query_string, keep_blank_values=True)) if query_string else ()
    return WebhookRequest(method=scope["method"], url=url, headers=headers, query=query, body=body,
                          content_type=content_type.split(";")[0].strip().lower(), content_type_header=content_type)


def reply(outcome: WebhookOutcome) -> Response:
    if isinstance(outcome.reply, dict):
        return JSONResponse(outcome.reply)
    return Response(outcome.reply or "", media_type=outcome.media_type)


def request_body_doc(adapter) -> dict:
    """The OpenAPI request body of a provider's webhook: its media type and documented example."""
    if adapter.media_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        schema = {"type": "object", "properties": {k: {"type": "string"} for k in adapter.example},
                  "additionalProperties": {"type": "string"}}
    else:
        schema = {"type": "object"}
    return {adapter.media_type: {"schema": schema, "example": adapter.example}}


def webhook_poster(api: ApiContext, name: str):
    # brand_id is read from the path directly (it is checked against the known brands anyway): keeping
    # FastAPI's parameter machinery off the hottest route is worth ~5% of throughput.
    async def post(request: Request) -> Response:
        webhook = webhook_request(request.scope, request.headers, await request.body(), api.base_url)
        return reply(await api.process_webhook(name, request.path_params["brand_id"], webhook))
    return post


def webhooks_router(api: ApiContext, name: str, adapter) -> APIRouter:
    """The documented route of one provider (cloudevents: see api/cloudevents.py)."""
    router = APIRouter()
    path = f"/v1/brands/{{brand_id}}/webhooks/{name}"
    extra = {"requestBody": {"required": True, "content": request_body_doc(adapter)},
             "parameters": [BRAND_PARAMETER]}
    router.add_api_route(path, webhook_poster(api, name), methods=["POST"], tags=["webhooks"],
                         summary=adapter.summary, openapi_extra=extra, responses=STORED, name=f"webhook_{name}")
    if name.startswith("meta_"):
        async def handshake(brand_id: BrandId, request: Request,
                            hub_mode: Annotated[str, Query(alias="hub.mode", examples=["subscribe"])],
                            hub_verify_token: Annotated[str, Query(alias="hub.verify_token")],
                            hub_challenge: Annotated[str, Query(alias="hub.challenge", examples=["1158201444"])]
                            ) -> Response:
            webhook = WebhookRequest(method="GET", url=str(request.url), headers=request.headers,
                                     query=tuple(request.query_params.multi_items()), body=b"")
            return reply(handle_handshake(api.deps, name, brand_id, webhook))

        router.add_api_route(path, handshake, methods=["GET"], tags=["webhooks"], response_class=Response,
                             summary=f"{adapter.summary}: verification handshake (echoes hub.challenge)",
                             responses={200: {"content": {"text/plain": {"example": "1158201444"}}}, **ERRORS},
                             name=f"handshake_{name}")
    return router


def unknown_provider_router(api: ApiContext) -> APIRouter:
    router = APIRouter()

    @router.api_route("/v1/brands/{brand_id}/webhooks/{provider}", methods=["GET", "POST"], include_in_schema=False)
    async def unknown_provider(brand_id: str, provider: str) -> Response:
        if provider in api.deps.providers:
            return JSONResponse({"error": "method_not_allowed", "message": f"{provider} webhooks are POSTed"},
                                status_code=405, headers={"Allow": "POST"})
        raise NotFound(f"unknown provider {provider!r}; known: {', '.join(sorted(api.deps.providers))}",
                       field="provider")

    return router


class FastWebhooks:
    """Provider webhook POSTs go straight to the handler, skipping FastAPI's routing, dependency solving
    and middleware stack: that framework work was the largest cost of a durable webhook. Same handler,
    same answers as the documented FastAPI routes (which serve the OpenAPI schema and everything else)."""

    def __init__(self, app, api: ApiContext) -> None:
        self.app = app
        self._api = api
        self._providers = set(api.deps.providers)
        self._limit = api.limit

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope["method"] == "POST":
            match = WEBHOOK_PATH.match(scope["path"])
            if match is not None:
                provider = match.group(2) or "cloudevents"
                if provider in self._providers:
                    return await self._webhook(scope, receive, send, match.group(1), provider)
        return await self.app(scope, receive, send)

    async def _webhook(self, scope, receive, send, brand_id: str, provider: str) -> None:
        headers = StarletteHeaders(scope=scope)
        declared = headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self._limit:
            return await too_large(self._limit)(scope, receive, send)
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self._limit:
                return await too_large(self._limit)(scope, receive, send)
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        webhook = webhook_request(scope, headers, body, self._api.base_url)
        try:
            response = reply(await self._api.process_webhook(provider, brand_id, webhook))
        except (IngestError, BrokerUnavailable, UnicodeError) as exc:
            response = self._api.error_response(exc)
        await response(scope, receive, send)
