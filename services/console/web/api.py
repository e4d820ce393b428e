"""JSON read API and action API under /api/v1 (in the OpenAPI docs at /docs)."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, FastAPI, Header, Path, Query, Request
from switchboard.console.web import actions, views
from switchboard.console.web.context import CSRF_HEADER, ConsoleError, WebDeps, check_csrf, csrf_for, require_viewer

ERRORS = {401: {"description": "Not logged in"}, 404: {"description": "Unknown, or another brand's"},
          422: {"description": "A parameter to fix; the message says which and how"}}
ACTION_ERRORS = {**ERRORS, 403: {"description": "Missing or wrong CSRF token"},
                 502: {"description": "Ingest's agent API did not answer"}}
Id = Annotated[str, Path(min_length=1, max_length=200)]
Brand = Annotated[str | None, Query(description="One of your brands; all of them when left out")]
Csrf = Annotated[str | None, Header(alias=CSRF_HEADER, description="The CSRF token of the page (see /api/v1/me)")]


def _f(description: str):
    return Query(default=None, description=description)


def register_api(app: FastAPI, deps: WebDeps) -> None:
    app.include_router(read_routes(deps))
    app.include_router(action_routes(deps))


def read_routes(deps: WebDeps) -> APIRouter:
    read = APIRouter(prefix="/api/v1", tags=["read"], responses=ERRORS)

    @read.get("/me", summary="Who is logged in, their brands, and the CSRF token for actions")
    async def me(request: Request) -> dict:
        viewer = require_viewer(deps, request)
        u = viewer.user
        return {"username": u.username, "name": u.name, "agent_id": u.agent_id, "brands": list(u.brands),
                "role": u.role, "csrf_token": csrf_for(deps, viewer)}

    @read.get("/conversations", summary="Inbox: conversations of your brands, filtered, newest update first",
              description="Stable sort (updated_at desc, id desc); page with `next_cursor`. Unknown parameters "
                          "and bad values answer 422 with what to fix.")
    async def conversations(
        request: Request,
        status: str | None = _f("open, any, or comma-separated: bot, queued, assigned, waiting_on_customer, "
                                "waiting_on_third_party, resolved"),
        queue: str | None = _f("Queue name"),
        assignee: str | None = _f('Agent id; "me" = you; "none" = unassigned'),
        channel: str | None = _f("email, chat, phone, sms, whatsapp, messenger, vk, telegram, web_form, marketplace"),
        priority: str | None = _f("low, normal, high, urgent"),
        language: str | None = _f("BCP-47 primary tag, e.g. en, zh, ru"),
        sla_state: str | None = _f("running, at_risk, breached, paused"),
        q: str | None = _f("Customer name or handle (case-insensitive, any part)"),
        brand: str | None = _f("One of your brands (default: all of them)"),
        cursor: str | None = _f("next_cursor of the previous page"),
        limit: str | None = _f("1..200, default 50"),
    ) -> dict:
        viewer = require_viewer(deps, request)
        return await views.list_conversations(deps, viewer, dict(request.query_params))

    @read.get("/conversations/{conversation_id}", summary="One conversation: timeline, SLA clocks, orders, CSAT")
    async def conversation(request: Request, conversation_id: Id) -> dict:
        return await views.conversation_view(deps, require_viewer(deps, request), conversation_id)

    @read.get("/customers/{customer_id}", summary="A customer: handles, orders, past conversations")
    async def customer(request: Request, customer_id: Id, brand: Brand = None) -> dict:
        return await views.customer_view(deps, require_viewer(deps, request), customer_id, brand)

    @read.get("/queues", summary="Waiting conversations per queue in serving order, with position and ETA")
    async def queues(request: Request, brand: Brand = None,
                     limit: Annotated[int, Query(ge=1, le=500, description="Entries per queue")] = 100) -> dict:
        return await views.queues_view(deps, require_viewer(deps, request), brand, limit)

    @read.get("/agents", summary="Agents: presence, load per channel class against capacity")
    async def agents(request: Request, brand: Brand = None) -> dict:
        return await views.agents_view(deps, require_viewer(deps, request), brand)

    @read.get("/board", summary="Supervisor board: queues, agents, at-risk and breached, unacknowledged escalations",
              responses={403: {"description": "Supervisors only"}})
    async def board(request: Request, brand: Brand = None) -> dict:
        viewer = require_viewer(deps, request)
        if not viewer.user.is_supervisor:
            raise ConsoleError(403, "forbidden", "the supervisor board is for supervisors")
        return await views.board_view(deps, viewer, brand)

    return read


def action_routes(deps: WebDeps) -> APIRouter:
    act = APIRouter(prefix="/api/v1", tags=["actions"], responses=ACTION_ERRORS)

    @act.post("/conversations/{conversation_id}/{action}", status_code=202,
              summary="Act on a conversation: reply, note, resolve, reopen, status, priority, assign, acknowledge",
              description="Sent through ingest's agent API with agent_id = you. Bodies: reply {text, reply_id?}; "
                          "note {text}; resolve {resolution_code?}; reopen {reason?}; status {status, reason?}; "
                          "priority {priority, reason?}; assign {assignee_id ('me' ok), queue?}; "
                          "acknowledge {escalation_id}.")
    async def act_on(request: Request, conversation_id: Id, action: Annotated[str, Path(max_length=30)],
                     body: Annotated[dict, Body()], x_csrf_token: Csrf = None) -> dict:
        viewer = require_viewer(deps, request)
        check_csrf(deps, viewer, x_csrf_token)
        validated = actions.validate_action(action, body)
        return await actions.perform(deps, viewer, conversation_id, action, validated)

    @act.post("/me/presence", status_code=202, summary="Your presence (online / away / offline) in your brands")
    async def presence(request: Request, body: actions.PresenceIn, x_csrf_token: Csrf = None) -> dict:
        viewer = require_viewer(deps, request)
        check_csrf(deps, viewer, x_csrf_token)
        return await actions.set_presence(deps, viewer, body)

    return act
