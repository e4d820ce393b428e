"""Plumbing shared by the services' read APIs: optional bearer token, 404 body, ISO datetimes.

A read API is an adapter of the service that owns the data; this module holds only what every one
of them answers the same way (no domain logic).
"""
from __future__ import annotations

import secrets
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import SecretStr

ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"description": "A read API token is configured and the request has no valid `Authorization: Bearer`"},
    404: {"description": "Unknown id, or an id of another brand: `{\"error\": \"not_found\", \"message\": ...}`"},
}


class Unauthorized(Exception):
    pass


class NotFound(Exception):
    """Unknown, or belongs to another brand: both answer the same 404 (no existence oracle)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def bearer_guard(token: SecretStr | None):
    """A FastAPI dependency: with `token` set, requires `Authorization: Bearer <token>` (401 otherwise)."""
    scheme = HTTPBearer(auto_error=False, description="SWITCHBOARD_READ_API_TOKEN, when the service sets one")
    expected = token.get_secret_value().encode() if token is not None and token.get_secret_value() else None

    async def check(credentials: HTTPAuthorizationCredentials | None = Depends(scheme)) -> None:
        if expected is None:
            return
        given = credentials.credentials.encode() if credentials is not None else b""
        if not secrets.compare_digest(given, expected):
            raise Unauthorized()

    return check


def install_error_handlers(app: FastAPI) -> None:
    """NotFound -> 404 and Unauthorized -> 401, each as {"error": ..., "message": ...}."""

    async def not_found(request: Request, exc: NotFound) -> JSONResponse:
        return JSONResponse({"error": "not_found", "message": exc.message}, status_code=404)

    async def unauthorized(request: Request, exc: Unauthorized) -> JSONResponse:
        return JSONResponse(
            {"error": "unauthorized",
             "message": "send `Authorization: Bearer <token>` with the service's SWITCHBOARD_READ_API_TOKEN"},
            status_code=401, headers={"WWW-Authenticate": "Bearer"})

    app.add_exception_handler(NotFound, not_found)
    app.add_exception_handler(Unauthorized, unauthorized)


def iso(moment: datetime | None) -> str | None:
    """ISO-8601 in UTC (`+00:00`); naive datetimes are UTC by convention (MongoDB keeps UTC)."""
    if moment is None:
        return None
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return moment.isoformat()


def plain(value: Any) -> Any:
    """A stored value made JSON-ready: datetimes as ISO UTC, nested lists/dicts walked."""
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value
