"""The console's FastAPI app: ops routes, JSON API, live events, pages and static files."""
from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from switchboard.common.http import Readiness, add_ops_routes
from switchboard.console.web.api import register_api
from switchboard.console.web.context import ConsoleError, WebDeps
from switchboard.console.web.live import LiveHub, register_live
from switchboard.console.web.pages import register_pages

STATIC = Path(__file__).parent / "static"
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    # Scripts and styles only from the console itself: an injected <script> in a message cannot run.
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data: https:; style-src 'self'; "
                               "script-src 'self'; connect-src 'self'; frame-ancestors 'none'; form-action 'self'",
}


class SecurityHeaders:
    """Pure ASGI (streams SSE untouched): security headers on every answer, no-store on private data."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path = scope.get("path", "")
        extra = dict(SECURITY_HEADERS)
        if path.startswith("/docs"):  # Swagger UI loads its assets from a CDN
            extra.pop("Content-Security-Policy")
        if not path.startswith(("/static/", "/healthz", "/readyz", "/metrics")):
            extra["Cache-Control"] = "no-store"

        async def with_headers(message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                message["headers"] = list(message.get("headers", [])) + [
                    (k.lower().encode(), v.encode()) for k, v in extra.items() if k.lower().encode() not in present]
            await send(message)

        await self.app(scope, receive, with_headers)


def create_app(deps: WebDeps, hub: LiveHub, readiness: Readiness) -> FastAPI:
    app = FastAPI(title="switchboard-console", version="1",
                  description="Read API and workspace of the Switchboard console. Log in at /login (password mode) "
                              "or through the auth proxy (header mode); actions need the X-CSRF-Token header.",
                  openapi_tags=[{"name": "read", "description": "Brand-scoped reads"},
                                {"name": "actions", "description": "Agent actions, sent through ingest's agent API"},
                                {"name": "live", "description": "Server-Sent Events"},
                                {"name": "operations", "description": "Health and metrics"}])
    add_ops_routes(app, readiness)

    @app.exception_handler(ConsoleError)
    async def console_error(request: Request, exc: ConsoleError) -> JSONResponse:
        return JSONResponse(exc.as_dict(), status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'][1:]) or e['loc'][0]}: {e['msg']}"
                             for e in exc.errors())
        return JSONResponse({"error": "invalid_parameter", "message": problems}, status_code=422)

    app.add_middleware(SecurityHeaders)
    register_api(app, deps)
    register_live(app, deps, hub)
    register_pages(app, deps)
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
    return app
