"""The HTTP surface: provider webhooks, CloudEvents, chat widget, web form, agent actions, CSAT links.

Routes only translate HTTP <-> handlers; every decision lives in handlers, adapters and domain.
"""

import re
import time
from typing import Annotated, Literal
from urllib.parse import parse_qsl

from fastapi import Depends, FastAPI, Header, HTTPException, Path, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.datastructures import Headers as StarletteHeaders
from switchboard.common.http import Readiness, add_ops_routes
from switchboard.common.logging import get_logger
from switchboard.events.v1 import agent_pb2
from switchboard.ingest import metrics
from switchboard.ingest.adapters.publisher import BrokerUnavailable
from switchboard.ingest.domain import api_events
from switchboard.ingest.domain.errors import IngestError, NotFound, SignatureMismatch, Unauthenticated
from switchboard.ingest.domain.model import WebhookOutcome, WebhookRequest
from switchboard.ingest.domain.signatures import verify_bearer
from switchboard.ingest.handlers import (
    IngestDeps,
    accept,
    context,
    handle_handshake,
    handle_webhook,
    require_brand,
)

BrandId = Annotated[str, Path(description="Brand id, as configured in the secrets file", examples=["acme"],
                              pattern=r"^[A-Za-z0-9_-]{1,64}$")]
log = get_logger(__name__)
BRAND_PARAMETER = {"name": "brand_id", "in": "path", "required": True, "description": "Brand id",
                   "schema": {"type": "string", "pattern": r"^[A-Za-z0-9_-]{1,64}$"}, "example": "acme"}
PROBLEM = {"content": {"application/json": {"example": {"error": "invalid_field", "field": "From",
                                                        "message": "From must be an E.164 phone number"}}}}
ERRORS = {
    400: {"description": "Body cannot be read (not JSON / not a form)", **PROBLEM},
    401: {"description": "Signature or credentials missing", **PROBLEM},
    403: {"description": "Signature or credentials wrong, or outside the replay window", **PROBLEM},
    404: {"description": "Unknown brand or provider, or provider not configured for the brand", **PROBLEM},
    413: {"description": "Body larger than the configured limit (default 1 MiB)", **PROBLEM},
    422: {"description": "A field is missing or invalid; `field` names it", **PROBLEM},
    503: {"description": "Broker (or dedupe store) unavailable: nothing stored, retry after Retry-After seconds",
          "headers": {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds"}}},
}


def example(body: dict) -> ConfigDict:
    return ConfigDict(extra="forbid", json_schema_extra={"examples": [body]})


class BodyTooLarge(HTTPException):
    """An HTTPException so FastAPI's body reader passes it through instead of answering 400."""

    def __init__(self) -> None:
        super().__init__(status_code=413, detail="body too large")


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
                    too_large = int(value) > self.limit
                except ValueError:
                    too_large = False
                if too_large:
                    return await _too_large(self.limit)(scope, receive, send)
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


def _too_large(limit: int) -> JSONResponse:
    return JSONResponse({"error": "payload_too_large", "message": f"body is larger than {limit} bytes"},
                        status_code=413)


class StartChat(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"name": "Анна", "email": "anna@example.ru", "language": "ru", "page_url": "https://shop.example/p/1",
         "client_session_id": "widget-7f3a"}]})
    name: str = Field(min_length=1, max_length=200)
    email: str = Field(min_length=3, max_length=320, description="Asked before the chat starts")
    language: str = Field(default="", max_length=35, description="BCP-47 hint from the browser")
    page_url: str = Field(default="", max_length=2000)
    transcript_opt_out: bool = False
    client_session_id: str | None = Field(default=None, min_length=1, max_length=200,
                                          description="Idempotency key: a retried start returns the same session")


class AttachmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str = Field(min_length=1, max_length=2000)
    content_type: str = Field(default="", max_length=200)
    filename: str = Field(default="", max_length=500)
    size_bytes: int = Field(default=0, ge=0, le=2**62)


class ChatMessageIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"client_message_id": "m-1", "text": "我的订单什么时候发货? 🙂"}]})
    client_message_id: str = Field(min_length=1, max_length=200, description="Idempotency key chosen by the widget")
    text: str = Field(default="", max_length=100_000)
    language: str = Field(default="", max_length=35)
    attachments: list[AttachmentIn] = Field(default_factory=list, max_length=20)


class EndChat(BaseModel):
    model_config = example(
        {"ended_by": "customer"})
    ended_by: Literal["customer", "agent", "timeout"] = "customer"


class WebFormIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"submission_id": "f-2026-0001", "name": "Ivan", "email": "ivan@example.ru", "subject": "Возврат",
         "message": "Хочу вернуть товар"}]})
    submission_id: str = Field(min_length=1, max_length=200, description="Idempotency key chosen by the form")
    name: str = Field(default="", max_length=200)
    email: str = Field(min_length=3, max_length=320)
    subject: str = Field(default="", max_length=1000)
    message: str = Field(min_length=1, max_length=200_000)
    language: str = Field(default="", max_length=35)
    page_url: str = Field(default="", max_length=2000)


class AgentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    agent_id: str = Field(min_length=1, max_length=200, description="The agent acting")


class AssignIn(AgentIn):
    model_config = example(
        {"agent_id": "lead-3", "assignee_id": "a-17", "queue": "orders-ru"})
    assignee_id: str = Field(min_length=1, max_length=200)
    queue: str = Field(default="", max_length=200)


class ReplyIn(AgentIn):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"agent_id": "a-17", "reply_id": "r-1", "text": "Your parcel left our warehouse today."}]})
    reply_id: str = Field(min_length=1, max_length=200, description="Idempotency key chosen by the desk")
    text: str = Field(min_length=1, max_length=100_000)
    attachments: list[AttachmentIn] = Field(default_factory=list, max_length=20)


class NoteIn(AgentIn):
    model_config = example(
        {"agent_id": "a-17", "text": "Customer sent photos of the damage; refund approved."})
    text: str = Field(min_length=1, max_length=100_000)


class ResolveIn(AgentIn):
    model_config = example(
        {"agent_id": "a-17", "resolution_code": "refunded"})
    resolution_code: str = Field(default="", max_length=200)


class ReopenIn(AgentIn):
    model_config = example(
        {"agent_id": "a-17", "reason": "Replacement also arrived broken"})
    reason: str = Field(default="", max_length=1000)


class StatusIn(AgentIn):
    model_config = example(
        {"agent_id": "a-17", "status": "waiting_on_third_party", "reason": "Asked DHL for a trace"})
    status: Literal["waiting_on_customer", "waiting_on_third_party", "assigned"]
    reason: str = Field(default="", max_length=1000)


class PriorityIn(AgentIn):
    model_config = example(
        {"agent_id": "lead-3", "priority": "urgent", "reason": "Third contact about the same order"})
    priority: Literal["low", "normal", "high", "urgent"]
    reason: str = Field(default="", max_length=1000)


class PresenceIn(BaseModel):
    model_config = example(
        {"presence": "online"})
    presence: Literal["online", "away", "offline"]


class AckEscalationIn(AgentIn):
    model_config = example(
        {"agent_id": "lead-3", "escalation_id": "conv-1:first_response:1:2"})
    escalation_id: str = Field(min_length=1, max_length=300)


class CsatIn(BaseModel):
    model_config = example(
        {"score": 4, "comment": "Быстро и вежливо", "conversation_id": "conv-1"})
    score: int = Field(ge=1, le=5)
    comment: str = Field(default="", max_length=5000)
    conversation_id: str = Field(default="", max_length=200)


class AcceptedOut(BaseModel):
    status: Literal["accepted", "duplicate"]
    event_ids: int = Field(description="Events newly stored by this request")


def build_app(deps: IngestDeps, readiness: Readiness) -> FastAPI:
    app = FastAPI(
        title="Switchboard ingest",
        version="1.0.0",
        description="Provider webhooks, order events and agent actions into Switchboard. A 2xx means the event "
                    "is durably stored on the broker (acks=all); retries of the same provider message are "
                    "accepted and stored once. 503 + Retry-After means nothing was stored: retry.",
    )
    add_ops_routes(app, readiness)
    limit = deps.config.max_body_bytes

    def error_response(exc: Exception) -> JSONResponse:
        if isinstance(exc, IngestError):
            return JSONResponse(exc.as_dict(), status_code=exc.status,
                                headers={"WWW-Authenticate": "Bearer"} if exc.status == 401 else None)
        if isinstance(exc, BrokerUnavailable):
            return JSONResponse({"error": "unavailable", "message": "event could not be stored; retry later"},
                                status_code=503, headers={"Retry-After": str(deps.config.retry_after_seconds)})
        if isinstance(exc, UnicodeError):
            return JSONResponse({"error": "bad_request", "message": "text contains invalid Unicode "
                                 "(an unpaired surrogate escape)"}, status_code=400)
        return _too_large(limit)

    @app.exception_handler(IngestError)
    async def ingest_error(request: Request, exc: IngestError) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(BrokerUnavailable)
    async def broker_unavailable(request: Request, exc: BrokerUnavailable) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(UnicodeError)
    async def bad_unicode(request: Request, exc: UnicodeError) -> JSONResponse:
        # Our JSON APIs: "\ud800" parses to a str that protobuf (UTF-8) cannot carry.
        return JSONResponse({"error": "bad_request", "message": "text contains invalid Unicode "
                             "(an unpaired surrogate escape)"}, status_code=400)

    @app.exception_handler(BodyTooLarge)
    async def body_too_large(request: Request, exc: BodyTooLarge) -> JSONResponse:
        return _too_large(limit)

    def record(provider: str, outcome: str) -> None:
        metrics.child(metrics.REQUESTS, provider, outcome).inc()

    base_url = deps.public_base_url.rstrip("/") if deps.public_base_url else None

    async def raw(request: Request) -> WebhookRequest:
        return webhook_request(request.scope, request.headers, await request.body(), base_url)

    async def run_webhook(provider: str, brand_id: str, request: Request) -> Response:
        return await process_webhook(provider, brand_id, await raw(request))

    async def process_webhook(provider: str, brand_id: str, webhook: WebhookRequest) -> Response:
        started = time.perf_counter()
        try:
            outcome, accepted = await handle_webhook(deps, provider, brand_id, webhook)
        except (Unauthenticated, SignatureMismatch) as exc:
            record(provider, "rejected_signature")
            log.info("webhook_rejected", provider=provider, brand_id=brand_id, status=exc.status, field=exc.field)
            raise
        except NotFound:
            raise
        except IngestError as exc:
            record(provider, "rejected_input")
            log.info("webhook_rejected", provider=provider, brand_id=brand_id, status=exc.status, field=exc.field)
            raise
        except BrokerUnavailable as exc:
            record(provider, "unavailable")
            log.warning("webhook_unavailable", provider=provider, brand_id=brand_id, cause=str(exc))
            raise
        record(provider, "ignored" if outcome.ignored else "duplicate" if accepted.published == 0 else "accepted")
        metrics.child(metrics.REQUEST_DURATION, provider).observe(time.perf_counter() - started)
        return reply(outcome)

    for name, adapter in deps.providers.items():
        _add_webhook_routes(app, name, adapter, run_webhook, deps)

    @app.api_route("/v1/brands/{brand_id}/webhooks/{provider}", methods=["GET", "POST"], include_in_schema=False)
    async def unknown_provider(brand_id: str, provider: str) -> Response:
        if provider in deps.providers:
            return JSONResponse({"error": "method_not_allowed", "message": f"{provider} webhooks are POSTed"},
                                status_code=405, headers={"Allow": "POST"})
        raise NotFound(f"unknown provider {provider!r}; known: {', '.join(sorted(deps.providers))}",
                       field="provider")

    # -- chat widget and web form ---------------------------------------------------------------
    async def publish_one(brand_id: str, event, provider: str) -> dict:
        accepted = await accept(deps, brand_id, [event], provider=provider)
        record(provider, "accepted" if accepted.published else "duplicate")
        return {"status": "accepted" if accepted.published else "duplicate", "event_ids": accepted.published}

    @app.post("/v1/brands/{brand_id}/chat/sessions", tags=["chat"], status_code=201, responses=ERRORS,
              summary="Start a chat session (name and email first)")
    async def start_chat(brand_id: BrandId, body: StartChat) -> dict:
        require_brand(deps, brand_id)
        session_id = api_events.chat_session_id(brand_id, body.client_session_id)
        event = api_events.chat_started(brand_id, session_id, name=body.name, email=body.email,
                                        language=body.language, page_url=body.page_url,
                                        transcript_opt_out=body.transcript_opt_out, now=deps.clock.now())
        result = await publish_one(brand_id, event, "chat")
        return {"session_id": session_id, **result}

    SessionId = Annotated[str, Path(pattern=r"^cs_[0-9a-f]{32}$", examples=["cs_6f1c0e1f4b7a4d6c9e8b7a6f5e4d3c2b"])]

    @app.post("/v1/brands/{brand_id}/chat/sessions/{session_id}/messages", tags=["chat"], status_code=202,
              responses=ERRORS, summary="A customer message in a chat session")
    async def chat_message(brand_id: BrandId, session_id: SessionId, body: ChatMessageIn) -> AcceptedOut:
        require_brand(deps, brand_id)
        event = api_events.chat_message(
            brand_id, session_id, client_message_id=body.client_message_id, text=body.text, language=body.language,
            attachments=[api_events.attachment(**a.model_dump()) for a in body.attachments], now=deps.clock.now())
        return AcceptedOut(**await publish_one(brand_id, event, "chat"))

    @app.post("/v1/brands/{brand_id}/chat/sessions/{session_id}/end", tags=["chat"], status_code=202,
              responses=ERRORS, summary="End a chat session (the transcript is emailed unless opted out)")
    async def end_chat(brand_id: BrandId, session_id: SessionId, body: EndChat | None = None) -> AcceptedOut:
        require_brand(deps, brand_id)
        event = api_events.chat_ended(brand_id, session_id, ended_by=(body or EndChat()).ended_by,
                                      now=deps.clock.now())
        return AcceptedOut(**await publish_one(brand_id, event, "chat"))

    @app.post("/v1/brands/{brand_id}/forms/submissions", tags=["chat"], status_code=202, responses=ERRORS,
              summary="A web contact-form submission")
    async def web_form(brand_id: BrandId, body: WebFormIn) -> AcceptedOut:
        require_brand(deps, brand_id)
        event = api_events.web_form(brand_id, submission_id=body.submission_id, name=body.name, email=body.email,
                                    subject=body.subject, message=body.message, language=body.language,
                                    page_url=body.page_url, now=deps.clock.now())
        return AcceptedOut(**await publish_one(brand_id, event, "web_form"))

    # -- CSAT survey answers --------------------------------------------------------------------
    @app.get("/v1/brands/{brand_id}/csat/{intent_id}", tags=["csat"], response_class=HTMLResponse,
             responses=ERRORS, summary="Survey link from the CSAT email: records the score, shows a thank-you page")
    async def csat_link(brand_id: BrandId, intent_id: Annotated[str, Path(min_length=1, max_length=300)],
                        score: Annotated[int, Query(ge=1, le=5, examples=[5])],
                        conversation_id: Annotated[str, Query(max_length=200)] = "") -> HTMLResponse:
        require_brand(deps, brand_id)
        event = api_events.csat_answered(brand_id, intent_id, score=score, comment="",
                                         conversation_id=conversation_id, now=deps.clock.now())
        await publish_one(brand_id, event, "csat")
        return HTMLResponse("<!doctype html><meta charset=utf-8><title>Thank you</title>"
                            "<p>Thank you for your feedback! 谢谢! Спасибо!</p>")

    @app.post("/v1/brands/{brand_id}/csat/{intent_id}", tags=["csat"], status_code=202, responses=ERRORS,
              summary="Survey answer with an optional comment")
    async def csat_answer(brand_id: BrandId, intent_id: Annotated[str, Path(min_length=1, max_length=300)],
                          body: CsatIn) -> AcceptedOut:
        require_brand(deps, brand_id)
        event = api_events.csat_answered(brand_id, intent_id, score=body.score, comment=body.comment,
                                         conversation_id=body.conversation_id, now=deps.clock.now())
        return AcceptedOut(**await publish_one(brand_id, event, "csat"))

    # -- agent actions --------------------------------------------------------------------------
    async def agent_auth(brand_id: BrandId, authorization: Annotated[str | None, Header()] = None,
                         x_api_key: Annotated[str | None, Header()] = None) -> str:
        ctx = context(deps, brand_id)
        keys = ctx.secrets.get("agent_api_keys") or []
        if isinstance(keys, str):
            keys = [keys]
        if not keys:
            raise NotFound(f"agent API is not configured for brand {brand_id}")
        presented = authorization or (f"Bearer {x_api_key}" if x_api_key else None)
        verify_bearer(presented, [str(k) for k in keys], field="Authorization")
        return brand_id

    Brand = Annotated[str, Depends(agent_auth)]
    ConversationId = Annotated[str, Path(min_length=1, max_length=200, pattern=r"^[\w.:-]+$")]
    IdemKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=200,
                                           description="Makes the command idempotent")]
    agent_errors = ERRORS

    async def command(brand_id: str, agent_id: str, conversation_id: str | None, field: str, message,
                      key: str | None) -> AcceptedOut:
        event = api_events.agent_command(brand_id, agent_id, conversation_id=conversation_id, field=field,
                                         command=message, idempotency_key=key, now=deps.clock.now())
        return AcceptedOut(**await publish_one(brand_id, event, "agent"))

    base = "/v1/brands/{brand_id}/agent/conversations/{conversation_id}"

    @app.post(base + "/assign", tags=["agent"], status_code=202, responses=agent_errors,
              summary="Assign a conversation to an agent")
    async def assign(brand_id: Brand, conversation_id: ConversationId, body: AssignIn,
                     idempotency_key: IdemKey = None) -> AcceptedOut:
        return await command(brand_id, body.agent_id, conversation_id, "assign_conversation",
                             agent_pb2.AssignConversation(conversation_id=conversation_id,
                                                          assignee_id=body.assignee_id, queue=body.queue),
                             idempotency_key)

    @app.post(base + "/reply", tags=["agent"], status_code=202, responses=agent_errors,
              summary="Public reply to the customer (the only action that stops response SLAs)")
    async def reply_(brand_id: Brand, conversation_id: ConversationId, body: ReplyIn) -> AcceptedOut:
        return await command(brand_id, body.agent_id, conversation_id, "reply_to_conversation",
                             agent_pb2.ReplyToConversation(
                                 conversation_id=conversation_id, text=body.text, reply_id=body.reply_id,
                                 attachments=[api_events.attachment(**a.model_dump()) for a in body.attachments]),
                             body.reply_id)

    @app.post(base + "/notes", tags=["agent"], status_code=202, responses=agent_errors,
              summary="Internal note (never visible to the customer, never stops an SLA)")
    async def note(brand_id: Brand, conversation_id: ConversationId, body: NoteIn,
                   idempotency_key: IdemKey = None) -> AcceptedOut:
        return await command(brand_id, body.agent_id, conversation_id, "add_internal_note",
                             agent_pb2.AddInternalNote(conversation_id=conversation_id, text=body.text),
                             idempotency_key)

    @app.post(base + "/resolve", tags=["agent"], status_code=202, responses=agent_errors, summary="Resolve")
    async def resolve(brand_id: Brand, conversation_id: ConversationId, body: ResolveIn,
                      idempotency_key: IdemKey = None) -> AcceptedOut:
        return await command(brand_id, body.agent_id, conversation_id, "resolve_conversation",
                             agent_pb2.ResolveConversation(conversation_id=conversation_id,
                                                           resolution_code=body.resolution_code), idempotency_key)

    @app.post(base + "/reopen", tags=["agent"], status_code=202, responses=agent_errors, summary="Reopen")
    async def reopen(brand_id: Brand, conversation_id: ConversationId, body: ReopenIn,
                     idempotency_key: IdemKey = None) -> AcceptedOut:
        return await command(brand_id, body.agent_id, conversation_id, "reopen_conversation",
                             agent_pb2.ReopenConversation(conversation_id=conversation_id, reason=body.reason),
                             idempotency_key)

    @app.post(base + "/status", tags=["agent"], status_code=202, responses=agent_errors,
              summary="Set status: waiting on customer / third party (pauses SLAs) or back to assigned")
    async def status(brand_id: Brand, conversation_id: ConversationId, body: StatusIn,
                     idempotency_key: IdemKey = None) -> AcceptedOut:
        return await command(brand_id, body.agent_id, conversation_id, "set_conversation_status",
                             agent_pb2.SetConversationStatus(conversation_id=conversation_id,
                                                             status=api_events.STATUS[body.status],
                                                             reason=body.reason), idempotency_key)

    @app.post(base + "/priority", tags=["agent"], status_code=202, responses=agent_errors, summary="Change priority")
    async def priority(brand_id: Brand, conversation_id: ConversationId, body: PriorityIn,
                       idempotency_key: IdemKey = None) -> AcceptedOut:
        return await command(brand_id, body.agent_id, conversation_id, "change_priority",
                             agent_pb2.ChangePriority(conversation_id=conversation_id,
                                                      priority=api_events.PRIORITY[body.priority],
                                                      reason=body.reason), idempotency_key)

    @app.post(base + "/escalations/acknowledge", tags=["agent"], status_code=202, responses=agent_errors,
              summary="Acknowledge an escalation (stops its re-escalation)")
    async def ack_escalation(brand_id: Brand, conversation_id: ConversationId, body: AckEscalationIn,
                             idempotency_key: IdemKey = None) -> AcceptedOut:
        return await command(brand_id, body.agent_id, conversation_id, "acknowledge_escalation",
                             agent_pb2.AcknowledgeEscalation(conversation_id=conversation_id,
                                                             escalation_id=body.escalation_id),
                             idempotency_key or body.escalation_id)

    @app.post("/v1/brands/{brand_id}/agent/agents/{agent_id}/presence", tags=["agent"], status_code=202,
              responses=agent_errors, summary="Agent presence (online / away / offline)")
    async def presence(brand_id: Brand, agent_id: Annotated[str, Path(min_length=1, max_length=200)],
                       body: PresenceIn, idempotency_key: IdemKey = None) -> AcceptedOut:
        return await command(brand_id, agent_id, None, "set_agent_presence",
                             agent_pb2.SetAgentPresence(presence=api_events.PRESENCE[body.presence]),
                             idempotency_key)

    fast = FastWebhooks(BodyLimit(app, limit), process_webhook, error_response, set(deps.providers), limit,
                        base_url)
    return fast  # type: ignore[return-value]


WEBHOOK_PATH = re.compile(r"^/v1/brands/([A-Za-z0-9_-]{1,64})/(?:webhooks/([a-z_]+)|events)$")


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


class FastWebhooks:
    """Provider webhook POSTs go straight to the handler, skipping FastAPI's routing, dependency solving
    and middleware stack: that framework work was the largest cost of a durable webhook. Same handler,
    same answers as the documented FastAPI routes (which serve the OpenAPI schema and everything else)."""

    def __init__(self, app, process, error_response, providers: set[str], limit: int, base_url: str | None) -> None:
        self.app = app
        self._process = process
        self._error_response = error_response
        self._providers = providers
        self._limit = limit
        self._base_url = base_url

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
            return await _too_large(self._limit)(scope, receive, send)
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self._limit:
                return await _too_large(self._limit)(scope, receive, send)
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        try:
            response = await self._process(provider, brand_id, webhook_request(scope, headers, body, self._base_url))
        except (IngestError, BrokerUnavailable, UnicodeError) as exc:
            response = self._error_response(exc)
        await response(scope, receive, send)


def reply(outcome: WebhookOutcome) -> Response:
    if isinstance(outcome.reply, dict):
        return JSONResponse(outcome.reply)
    return Response(outcome.reply or "", media_type=outcome.media_type)


def _form_schema(example: dict) -> dict:
    return {"type": "object", "properties": {k: {"type": "string"} for k in example},
            "additionalProperties": {"type": "string"}}


def _add_webhook_routes(app: FastAPI, name: str, adapter, run_webhook, deps: IngestDeps) -> None:
    path = f"/v1/brands/{{brand_id}}/webhooks/{name}"
    if adapter.media_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        schema = _form_schema(adapter.example)
    else:
        schema = {"type": "object"}
    content = {adapter.media_type: {"schema": schema, "example": adapter.example}}
    if name == "cloudevents":
        content["application/cloudevents-batch+json"] = {"schema": {"type": "array", "items": {"type": "object"}},
                                                         "example": [adapter.example]}
    # brand_id is read from the path directly (it is checked against the known brands anyway): keeping
    # FastAPI's parameter machinery off the hottest route is worth ~5% of throughput.
    extra = {"requestBody": {"required": True, "content": content}, "parameters": [BRAND_PARAMETER]}

    async def post(request: Request) -> Response:
        return await run_webhook(name, request.path_params["brand_id"], request)

    app.add_api_route(path, post, methods=["POST"], tags=["webhooks"], summary=adapter.summary,
                      openapi_extra=extra, responses={200: {"description": "Stored (or a duplicate of a stored "
                                                                           "message), or ignored"}, **ERRORS},
                      name=f"webhook_{name}")
    if name == "cloudevents":  # the short, documented address for publishers
        app.add_api_route("/v1/brands/{brand_id}/events", post, methods=["POST"], tags=["order events"],
                          summary=adapter.summary, openapi_extra=extra,
                          responses={200: {"description": "Stored (or duplicates of stored events)"}, **ERRORS},
                          name="cloudevents_events")
    if name.startswith("meta_"):
        async def handshake(brand_id: BrandId, request: Request,
                            hub_mode: Annotated[str, Query(alias="hub.mode", examples=["subscribe"])],
                            hub_verify_token: Annotated[str, Query(alias="hub.verify_token")],
                            hub_challenge: Annotated[str, Query(alias="hub.challenge", examples=["1158201444"])]
                            ) -> Response:
            return reply(handle_handshake(deps, name, brand_id, await raw_get(request)))

        app.add_api_route(path, handshake, methods=["GET"], tags=["webhooks"], response_class=Response,
                          summary=f"{adapter.summary}: verification handshake (echoes hub.challenge)",
                          responses={200: {"content": {"text/plain": {"example": "1158201444"}}}, **ERRORS},
                          name=f"handshake_{name}")


async def raw_get(request: Request) -> WebhookRequest:
    return WebhookRequest(method="GET", url=str(request.url), headers=request.headers,
                          query=tuple(request.query_params.multi_items()), body=b"")
