"""The workspace: server-rendered pages (Jinja2) and the fragments live pages re-fetch."""
from __future__ import annotations

import secrets
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from switchboard.console import metrics
from switchboard.console.domain import auth
from switchboard.console.domain.filters import ALLOWED_PARAMS
from switchboard.console.domain.throttle import LoginThrottle
from switchboard.console.domain.vocabulary import CHANNELS, PRIORITIES, SETTABLE_STATUSES, SLA_STATES, STATUSES
from switchboard.console.web import actions, views
from switchboard.console.web.context import SESSION_COOKIE, ConsoleError, Viewer, WebDeps, csrf_for, current_viewer

TEMPLATES = Path(__file__).parent / "templates"
LOGIN_CSRF_COOKIE = "sb_login_csrf"
PRESENCES = ("online", "away", "offline")
VIEWS = {"mine": {"assignee": "me"}, "queue": {"status": "queued"}, "all": {}}


def iso(value) -> str:
    return value.isoformat() if isinstance(value, datetime) else (value or "")


def make_templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(TEMPLATES))
    # Escape everything: customer texts are untrusted HTML. (Jinja's default picks autoescape by file
    # extension, which leaves *.j2 unescaped.)
    templates.env.autoescape = True
    templates.env.filters["iso"] = iso
    templates.env.globals.update(statuses=STATUSES, priorities=PRIORITIES, channels=CHANNELS,
                                 sla_states=SLA_STATES, settable_statuses=SETTABLE_STATUSES)
    return templates


def _safe_next(target: str | None) -> str:
    # Only same-site paths: an open redirect after login would hand the session to a phishing page.
    safe = target and target.startswith("/") and not target.startswith(("//", "/\\")) and "\n" not in target
    return target if safe else "/inbox"


def inbox_params(query: dict[str, str]) -> tuple[str, dict[str, str]]:
    view = query.get("view", "mine")
    view = view if view in VIEWS else "mine"
    params = {k: v for k, v in query.items() if k in ALLOWED_PARAMS and v != ""}
    params = {**VIEWS[view], **params}
    params.setdefault("status", "open")
    return view, params


async def shown_presence(deps: WebDeps, request: Request, viewer: Viewer) -> str:
    # Just set from this page (the form's redirect): show it; the router applies it in a moment.
    just_set = request.query_params.get("presence")
    if request.query_params.get("done") == "presence" and just_set in PRESENCES:
        return just_set
    return await views.viewer_presence(deps, viewer)


def register_pages(app: FastAPI, deps: WebDeps) -> None:
    templates = make_templates()

    def render(request: Request, name: str, viewer: Viewer | None, status: int = 200, **context) -> HTMLResponse:
        base = {"viewer": viewer, "csrf": csrf_for(deps, viewer) if viewer else "", "mode": deps.settings.auth.mode,
                "code": status}
        return templates.TemplateResponse(request, name, {**base, **context}, status_code=status)

    def login_redirect(request: Request) -> RedirectResponse:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse("/login?" + urlencode({"next": target}), status_code=303)

    async def page(request: Request, name: str, build, *, supervisor: bool = False, nav: str = "") -> Response:
        viewer = current_viewer(deps, request)
        if viewer is None:
            if deps.settings.auth.mode == "header":
                return render(request, "error.j2", None, 401, message="Your identity is not a console user.")
            return login_redirect(request)
        if supervisor and not viewer.user.is_supervisor:
            return render(request, "error.j2", viewer, 403, message="The supervisor board is for supervisors.")
        try:
            context = await build(viewer)
        except ConsoleError as exc:
            return render(request, "error.j2", viewer, exc.status, message=exc.message)
        if not name.startswith("_"):  # full pages show the viewer's presence in the top bar
            context = {"presence": await shown_presence(deps, request, viewer), **context}
        return render(request, name, viewer, **{"nav": nav, **context})

    register_login(app, deps, render)

    @app.get("/", include_in_schema=False)
    async def root() -> RedirectResponse:
        return RedirectResponse("/inbox", status_code=303)

    async def inbox_context(request: Request, viewer: Viewer) -> dict:
        view, params = inbox_params(dict(request.query_params))
        try:
            listing = await views.list_conversations(deps, viewer, params)
            error = None
        except ConsoleError as exc:
            listing, error = {"items": [], "next_cursor": None}, exc.message
        more = urlencode({**params, "view": view, "cursor": listing["next_cursor"]}) if listing["next_cursor"] else None
        return {"view": view, "nav": view, "params": params, "items": listing["items"], "error": error, "more": more,
                "fragment_query": urlencode({**{k: v for k, v in params.items() if k != "cursor"}, "view": view})}

    @app.get("/inbox", include_in_schema=False)
    async def inbox(request: Request) -> Response:
        return await page(request, "inbox.j2", lambda v: inbox_context(request, v))

    @app.get("/fragments/inbox", include_in_schema=False)
    async def inbox_rows(request: Request) -> Response:
        return await page(request, "_rows_live.j2", lambda v: inbox_context(request, v))

    register_detail_pages(app, deps, page)
    register_forms(app, deps, render, login_redirect)


def register_detail_pages(app: FastAPI, deps: WebDeps, page) -> None:
    async def conversation_context(viewer: Viewer, conversation_id: str) -> dict:
        data = await views.conversation_view(deps, viewer, conversation_id)
        return {**data, "reply_id": str(uuid.uuid4())}

    @app.get("/conversations/{conversation_id}", include_in_schema=False)
    async def conversation(request: Request, conversation_id: str) -> Response:
        return await page(request, "conversation.j2", lambda v: conversation_context(v, conversation_id))

    @app.get("/fragments/conversations/{conversation_id}", include_in_schema=False)
    async def conversation_fragment(request: Request, conversation_id: str) -> Response:
        return await page(request, "_conversation_live.j2", lambda v: conversation_context(v, conversation_id))

    @app.get("/customers/{customer_id}", include_in_schema=False)
    async def customer(request: Request, customer_id: str, brand: str | None = None) -> Response:
        return await page(request, "customer.j2", lambda v: views.customer_view(deps, v, customer_id, brand))

    @app.get("/board", include_in_schema=False)
    async def board(request: Request, brand: str | None = None) -> Response:
        return await page(request, "board.j2", lambda v: views.board_view(deps, v, brand), supervisor=True,
                          nav="board")

    @app.get("/fragments/board", include_in_schema=False)
    async def board_fragment(request: Request, brand: str | None = None) -> Response:
        return await page(request, "_board_live.j2", lambda v: views.board_view(deps, v, brand), supervisor=True)


def register_forms(app: FastAPI, deps: WebDeps, render, login_redirect) -> None:
    async def read_form(request: Request) -> dict[str, str]:
        return {k: v for k, v in (await request.form()).items() if isinstance(v, str)}

    def form_viewer(request: Request, form: dict[str, str]) -> Viewer | None:
        viewer = current_viewer(deps, request)
        if viewer is not None and not auth.csrf_valid(deps.secret, viewer.csrf_binding, form.pop("csrf_token", None)):
            raise ConsoleError(403, "csrf", "The form expired or did not come from this console; reload and retry.")
        return viewer

    @app.post("/conversations/{conversation_id}/actions/{action}", include_in_schema=False)
    async def act(request: Request, conversation_id: str, action: str) -> Response:
        form = await read_form(request)
        try:
            viewer = form_viewer(request, form)
            if viewer is None:
                return login_redirect(request)
            body = actions.validate_action(action, {k: v for k, v in form.items() if v != "" or k == "text"})
            await actions.perform(deps, viewer, conversation_id, action, body)
            outcome = {"done": action}
        except ConsoleError as exc:
            if exc.status == 404:
                return render(request, "error.j2", current_viewer(deps, request), 404, message=exc.message)
            outcome = {"error": exc.message}
        return RedirectResponse(f"/conversations/{conversation_id}?{urlencode(outcome)}", status_code=303)

    @app.post("/presence", include_in_schema=False)
    async def presence(request: Request) -> Response:
        form = await read_form(request)
        target = _safe_next(form.get("next"))
        try:
            viewer = form_viewer(request, form)
            if viewer is None:
                return login_redirect(request)
            await actions.set_presence(deps, viewer, actions.PresenceIn(presence=form.get("presence", "")))
            outcome = {"done": "presence", "presence": form.get("presence", "")}
        except (ConsoleError, ValueError) as exc:
            outcome = {"error": getattr(exc, "message", "presence must be online, away or offline")}
        sep = "&" if "?" in target else "?"
        return RedirectResponse(f"{target}{sep}{urlencode(outcome)}", status_code=303)


def register_login(app: FastAPI, deps: WebDeps, render) -> None:
    ttl = int(deps.settings.session_ttl_hours * 3600)
    throttle = LoginThrottle(per_user=deps.settings.login_max_failures_per_user,
                             per_address=deps.settings.login_max_failures_per_address,
                             window=timedelta(seconds=deps.settings.login_window_seconds))

    @app.get("/login", include_in_schema=False)
    async def login_form(request: Request, next: str | None = None, error: str | None = None) -> Response:
        if deps.settings.auth.mode == "header":
            return RedirectResponse(_safe_next(next), status_code=303)
        token = secrets.token_urlsafe(16)
        response = render(request, "login.j2", None, 401 if error else 200, next=_safe_next(next), error=error,
                          login_csrf=token)
        response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="lax",
                            secure=deps.settings.cookie_secure, max_age=3600, path="/login")
        return response

    @app.post("/login", include_in_schema=False)
    async def login(request: Request) -> Response:
        form = await request.form()
        target = _safe_next(str(form.get("next") or ""))
        presented, expected = str(form.get("csrf_token") or ""), request.cookies.get(LOGIN_CSRF_COOKIE) or ""
        if not expected or not secrets.compare_digest(presented, expected):
            metrics.LOGINS.labels("csrf").inc()
            return RedirectResponse("/login?" + urlencode({"next": target, "error": "The login form expired; "
                                                           "try again."}), status_code=303)
        username, address = str(form.get("username") or ""), request.client.host if request.client else "unknown"
        wait = throttle.retry_after(username, address, deps.clock.now())
        if wait is not None:
            metrics.LOGINS.labels("throttled").inc()
            response = render(request, "login.j2", None, 429, next=target, login_csrf=expected, error=(
                f"Too many failed logins for this username or from this address; try again in "
                f"{max(1, round(wait / 60))} minute(s)."))
            response.headers["Retry-After"] = str(wait)
            return response
        user = deps.users.get(username)
        ok = auth.verify_password(str(form.get("password") or ""), user.password_hash if user else None)
        if not (user and ok):
            throttle.failed(username, address, deps.clock.now())
            metrics.LOGINS.labels("refused").inc()
            return RedirectResponse("/login?" + urlencode({"next": target, "error": "Wrong username or password."}),
                                    status_code=303)
        throttle.succeeded(username)
        metrics.LOGINS.labels("ok").inc()
        _, cookie = auth.issue_session(deps.secret, user.username, now=deps.clock.now(), ttl_seconds=ttl)
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(SESSION_COOKIE, cookie, max_age=ttl, httponly=True, samesite="lax",
                            secure=deps.settings.cookie_secure, path="/")
        response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
        return response

    @app.post("/logout", include_in_schema=False)
    async def logout(request: Request) -> Response:
        form = await request.form()
        viewer = current_viewer(deps, request)
        if viewer is not None and not auth.csrf_valid(deps.secret, viewer.csrf_binding, str(form.get("csrf_token"))):
            raise ConsoleError(403, "csrf", "The form expired; reload and log out again.")
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response
