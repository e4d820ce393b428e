"""What every route needs: the dependencies, who the viewer is, errors, and row rendering."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from fastapi import Request
from switchboard.common.clock import Clock
from switchboard.console.adapters.activity import ActivityStore
from switchboard.console.adapters.peers import IngestAgentApi, RouterReader, SlaReader
from switchboard.console.adapters.store import ConversationStore
from switchboard.console.adapters.users import UserDirectory
from switchboard.console.domain import auth
from switchboard.console.domain.projection import from_ms
from switchboard.console.domain.sla import countdown_label, seconds_left
from switchboard.console.settings import ConsoleSettings

SESSION_COOKIE = "sb_session"
CSRF_HEADER = "X-CSRF-Token"


class ConsoleError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def as_dict(self) -> dict:
        return {"error": self.code, "message": self.message}


def not_found(what: str) -> ConsoleError:
    # The same answer for "does not exist" and "another brand's": nothing leaks across brands.
    return ConsoleError(404, "not_found", f"{what} not found")


@dataclass
class WebDeps:
    settings: ConsoleSettings
    users: UserDirectory
    store: ConversationStore
    activity: ActivityStore
    router: RouterReader
    sla: SlaReader
    ingest: IngestAgentApi
    clock: Clock
    secret: bytes
    live: object  # web.live.LiveHub


@dataclass(frozen=True)
class Viewer:
    user: auth.User
    csrf_binding: str

    @property
    def brands(self) -> tuple[str, ...]:
        return self.user.brands

    @property
    def agent_id(self) -> str:
        return self.user.agent_id


def current_viewer(deps: WebDeps, request: Request) -> Viewer | None:
    if deps.settings.auth.mode == "header":
        user = deps.users.get(request.headers.get(deps.settings.auth.identity_header))
        return Viewer(user, "id:" + user.username.lower()) if user else None
    session = auth.read_session(deps.secret, request.cookies.get(SESSION_COOKIE), now=deps.clock.now())
    if session is None:
        return None
    user = deps.users.get(session.username)
    return Viewer(user, "session:" + session.session_id) if user else None


def require_viewer(deps: WebDeps, request: Request) -> Viewer:
    viewer = current_viewer(deps, request)
    if viewer is None:
        raise ConsoleError(401, "unauthenticated", "log in first (POST /login), or send the identity header "
                                                   "your auth proxy sets")
    return viewer


def csrf_for(deps: WebDeps, viewer: Viewer) -> str:
    return auth.csrf_token(deps.secret, viewer.csrf_binding)


def check_csrf(deps: WebDeps, viewer: Viewer, presented: str | None) -> None:
    if not auth.csrf_valid(deps.secret, viewer.csrf_binding, presented):
        raise ConsoleError(403, "csrf", f"missing or wrong CSRF token: send the page's token as the {CSRF_HEADER} "
                                        "header (or the csrf_token form field)")


def row_out(doc: dict, now: datetime) -> dict:
    """An inbox row as the API and the pages show it."""
    deadline = from_ms(doc.get("next_deadline_ms"))
    state = doc.get("sla_state") or ""
    left = seconds_left(deadline, now)
    return {
        "id": doc["_id"], "brand_id": doc.get("brand_id", ""), "customer_id": doc.get("customer_id", ""),
        "customer_name": doc.get("customer_name", ""),
        "handle": {"kind": doc.get("handle_kind", ""), "value": doc.get("handle_value", "")},
        "status": doc.get("status", ""), "priority": doc.get("priority", ""), "queue": doc.get("queue", ""),
        "assignee_id": doc.get("assignee_id", ""), "channel": doc.get("channel", ""),
        "reply_channel": doc.get("reply_channel") or doc.get("channel", ""),
        "language": doc.get("language", ""), "opened_at": from_ms(doc.get("opened_ms")),
        "updated_at": from_ms(doc.get("updated_ms")),
        "sla_state": state, "next_deadline": deadline, "seconds_left": left,
        "countdown": countdown_label(state, left), "url": f"/conversations/{doc['_id']}",
    }
