"""Agent actions: each is one command through ingest's agent API, with agent_id = the logged-in agent.
The console writes nothing itself; the router applies the command and the bus brings the result back
(so SLA, analytics and notifier see exactly what any other desk's action would cause)."""
from __future__ import annotations

import uuid
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from switchboard.common.logging import get_logger
from switchboard.console import metrics
from switchboard.console.adapters.peers import ActionRefused
from switchboard.console.web.context import ConsoleError, Viewer, WebDeps
from switchboard.console.web.views import owned_row

log = get_logger(__name__)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ReplyIn(_In):
    text: str = Field(min_length=1, max_length=100_000, description="Goes out on the customer's channel")
    reply_id: str | None = Field(default=None, min_length=1, max_length=200,
                                 description="Idempotency key; a fresh one is made when left out")


class NoteIn(_In):
    text: str = Field(min_length=1, max_length=100_000)


class ResolveIn(_In):
    resolution_code: str = Field(default="", max_length=200)


class ReopenIn(_In):
    reason: str = Field(default="", max_length=1000)


class StatusIn(_In):
    status: Literal["waiting_on_customer", "waiting_on_third_party", "assigned"]
    reason: str = Field(default="", max_length=1000)


class PriorityIn(_In):
    priority: Literal["low", "normal", "high", "urgent"]
    reason: str = Field(default="", max_length=1000)


class AssignIn(_In):
    assignee_id: str = Field(min_length=1, max_length=200, description='An agent id, or "me"')
    queue: str = Field(default="", max_length=200)


class AckIn(_In):
    escalation_id: str = Field(min_length=1, max_length=300)


class PresenceIn(_In):
    presence: Literal["online", "away", "offline"]


# action name -> (body model, ingest path under .../agent/conversations/{id}/)
ACTIONS: dict[str, tuple[type[_In], str]] = {
    "reply": (ReplyIn, "reply"), "note": (NoteIn, "notes"), "resolve": (ResolveIn, "resolve"),
    "reopen": (ReopenIn, "reopen"), "status": (StatusIn, "status"), "priority": (PriorityIn, "priority"),
    "assign": (AssignIn, "assign"), "acknowledge": (AckIn, "escalations/acknowledge"),
}


def validate_action(action: str, data: dict) -> _In:
    if action not in ACTIONS:
        raise ConsoleError(404, "not_found", f"unknown action {action!r}; one of {', '.join(ACTIONS)}")
    try:
        return ACTIONS[action][0].model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in exc.errors())
        raise ConsoleError(422, "invalid_body", problems) from None


async def perform(deps: WebDeps, viewer: Viewer, conversation_id: str, action: str, body: _In) -> dict:
    row = await owned_row(deps, viewer, conversation_id)  # 404 for another brand's conversation
    payload = {"agent_id": viewer.agent_id, **body.model_dump()}
    key = None
    if isinstance(body, ReplyIn):
        payload["reply_id"] = body.reply_id or str(uuid.uuid4())
    if isinstance(body, AssignIn) and body.assignee_id == "me":
        payload["assignee_id"] = viewer.agent_id
    path = f"conversations/{conversation_id}/{ACTIONS[action][1]}"
    result = await _send(deps, row["brand_id"], path, payload, action, key)
    log.info("console_action", action=action, conversation_id=conversation_id, agent_id=viewer.agent_id)
    return {"accepted": True, "action": action, "conversation_id": conversation_id, "agent_id": viewer.agent_id,
            "reply_id": payload.get("reply_id"), "ingest": result}


async def set_presence(deps: WebDeps, viewer: Viewer, body: PresenceIn) -> dict:
    """Presence is per brand in the router: the agent is online/away/offline in each of their brands."""
    results = {}
    for brand in viewer.brands:
        results[brand] = await _send(deps, brand, f"agents/{viewer.agent_id}/presence",
                                     {"presence": body.presence}, "presence", None)
    return {"accepted": True, "presence": body.presence, "agent_id": viewer.agent_id, "brands": list(results)}


async def _send(deps: WebDeps, brand: str, path: str, payload: dict, action: str, key: str | None) -> dict:
    try:
        result = await deps.ingest.send(brand, path, payload, idempotency_key=key)
    except ActionRefused as exc:
        metrics.ACTIONS.labels(action, "refused" if exc.status < 500 else "failed").inc()
        raise ConsoleError(exc.status, "action_failed", exc.message) from None
    metrics.ACTIONS.labels(action, "accepted").inc()
    return result
