"""What every route of the ingest API shares: the brand path parameter, error answers, the body limit,
the request metric, and the agent API's key check (a FastAPI dependency).

Route modules do not use `from __future__ import annotations`: FastAPI reads their Annotated
parameters at import time."""
import time
from typing import Annotated

from fastapi import FastAPI, Header, HTTPException, Path, Request
from fastapi.responses import JSONResponse
from switchboard.common import metrics as bus_metrics
from switchboard.common.logging import get_logger
from switchboard.ingest import metrics
from switchboard.ingest.adapters.ports import BrokerUnavailable
from switchboard.ingest.domain.errors import IngestError, NotFound, SignatureMismatch, Unauthenticated
from switchboard.ingest.domain.model import Outgoing, WebhookRequest
from switchboard.ingest.domain.signatures import verify_bearer
from switchboard.ingest.handlers import Accepted, IngestDeps, accept_api_event, context, handle_webhook

BrandId = Annotated[str, Path(description="Brand id, as configured in the secrets file", examples=["acme"],
                              pattern=r"^[A-Za-z0-9_-]{1,64}$")]
log = get_logger(__name__)
BAD_UNICODE = {"error": "bad_request", "message": "text contains invalid Unicode (an unpaired surrogate escape)"}


class BodyTooLarge(HTTPException):
    """An HTTPException so FastAPI's body reader passes it through instead of answering 400."""

    def __init__(self) -> None:
        super().__init__(status_code=413, detail="body too large")


def too_large(limit: int) -> JSONResponse:
    return JSONResponse({"error": "payload_too_large", "message": f"body is larger than {limit} bytes"},
                        status_code=413)


class BodyLimit:
    """413 for bodies over the limit, by Content-Length up front or by counting streamed chunks."""

    def __init__(self, app, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared_too_large = int(value) > self.limit
                except ValueError:
                    declared_too_large = False
                if declared_too_large:
                    return await too_large(self.limit)(scope, receive, send)
        received = 0

        async def limited_receive():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise BodyTooLarge()
            return message

        return await self.app(scope, limited_receive, send)


class ApiContext:
    """The handlers' dependencies plus what the HTTP layer adds: error answers and the request metric."""

    def __init__(self, deps: IngestDeps) -> None:
        self.deps = deps
        self.limit = deps.config.max_body_bytes
        self.base_url = deps.public_base_url.rstrip("/") if deps.public_base_url else None

    def error_response(self, exc: Exception) -> JSONResponse:
        if isinstance(exc, IngestError):
            return JSONResponse(exc.as_dict(), status_code=exc.status,
                                headers={"WWW-Authenticate": "Bearer"} if exc.status == 401 else None)
        if isinstance(exc, BrokerUnavailable):
            return JSONResponse({"error": "unavailable", "message": "event could not be stored; retry later"},
                                status_code=503, headers={"Retry-After": str(self.deps.config.retry_after_seconds)})
        if isinstance(exc, UnicodeError):
            return JSONResponse(BAD_UNICODE, status_code=400)
        return too_large(self.limit)

    def install_error_handlers(self, app: FastAPI) -> None:
        async def answer(request: Request, exc: Exception) -> JSONResponse:
            # UnicodeError on our JSON APIs: "\ud800" parses to a str that protobuf (UTF-8) cannot carry.
            return self.error_response(exc)

        for error in (IngestError, BrokerUnavailable, UnicodeError, BodyTooLarge):
            app.add_exception_handler(error, answer)

    def record(self, provider: str, outcome: str, brand_id: str) -> None:
        metrics.child(metrics.REQUESTS, provider, outcome, bus_metrics.brand_label(brand_id)).inc()

    def answer(self, accepted: Accepted, provider: str, brand_id: str) -> dict:
        self.record(provider, "accepted" if accepted.published else "duplicate", brand_id)
        return {"status": "accepted" if accepted.published else "duplicate", "event_ids": accepted.published}

    async def publish_one(self, brand_id: str, event: Outgoing, provider: str) -> dict:
        return self.answer(await accept_api_event(self.deps, brand_id, event, provider=provider), provider, brand_id)

    async def process_webhook(self, provider: str, brand_id: str, webhook: WebhookRequest):
        """A provider webhook -> its outcome (the reply); records the request metric and logs rejections."""
        started = time.perf_counter()
        try:
            outcome, accepted = await handle_webhook(self.deps, provider, brand_id, webhook)
        except (Unauthenticated, SignatureMismatch) as exc:
            self.record(provider, "rejected_signature", brand_id)
            log.info("webhook_rejected", provider=provider, brand_id=brand_id, status=exc.status, field=exc.field)
            raise
        except NotFound:
            raise
        except IngestError as exc:
            self.record(provider, "rejected_input", brand_id)
            log.info("webhook_rejected", provider=provider, brand_id=brand_id, status=exc.status, field=exc.field)
            raise
        except BrokerUnavailable as exc:
            self.record(provider, "unavailable", brand_id)
            log.warning("webhook_unavailable", provider=provider, brand_id=brand_id, cause=str(exc))
            raise
        self.record(provider, "ignored" if outcome.ignored else "duplicate" if accepted.published == 0 else "accepted",
                    brand_id)
        metrics.child(metrics.REQUEST_DURATION, provider).observe(time.perf_counter() - started)
        return outcome

    def agent_auth(self):
        """The agent API's dependency: the brand's API key (Bearer or X-Api-Key) -> the brand id."""
        async def agent_auth(brand_id: BrandId, authorization: Annotated[str | None, Header()] = None,
                             x_api_key: Annotated[str | None, Header()] = None) -> str:
            ctx = context(self.deps, brand_id)
            keys = ctx.secrets.get("agent_api_keys") or []
            if isinstance(keys, str):
                keys = [keys]
            if not keys:
                raise NotFound(f"agent API is not configured for brand {brand_id}")
            presented = authorization or (f"Bearer {x_api_key}" if x_api_key else None)
            verify_bearer(presented, [str(k) for k in keys], field="Authorization")
            return brand_id
        return agent_auth
