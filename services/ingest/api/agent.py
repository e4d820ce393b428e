"""The agent desk API: typed commands on a conversation, and agent presence. Each becomes one
AgentCommand on the bus (router -> conversation state); another brand's conversation answers 404."""
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path
from pydantic import BaseModel
from switchboard.ingest.api.deps import ApiContext
from switchboard.ingest.api.schemas import (
    ERRORS,
    PROBLEM,
    AcceptedOut,
    AckEscalationIn,
    AssignIn,
    NoteIn,
    PresenceIn,
    PriorityIn,
    ReopenIn,
    ReplyIn,
    ResolveIn,
    StatusIn,
)
from switchboard.ingest.domain import agent
from switchboard.ingest.domain.events import Attachment
from switchboard.ingest.handlers import handle_agent_command

ConversationId = Annotated[str, Path(min_length=1, max_length=200, pattern=r"^[\w.:-]+$")]
IdemKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=200,
                                       description="Makes the command idempotent")]
AGENT_ERRORS = {**ERRORS, 404: {"description": "Unknown brand, agent API not configured for it, or no such "
                                               "conversation in this brand", **PROBLEM}}
BASE = "/v1/brands/{brand_id}/agent/conversations/{conversation_id}"


@dataclass(frozen=True, slots=True)
class CommandRoute:
    """A conversation command's route: request model -> typed command (domain/agent.py)."""

    name: str          # the OpenAPI operation's name
    path: str
    summary: str
    model: type[BaseModel]
    build: Callable[[str, Any], agent.Command]  # (conversation id, body) -> command
    fallback_key: str | None = None             # body field used when no Idempotency-Key is sent


COMMAND_ROUTES = (
    CommandRoute("assign", "/assign", "Assign a conversation to an agent", AssignIn,
                 lambda c, b: agent.AssignConversation(c, assignee_id=b.assignee_id, queue=b.queue)),
    CommandRoute("note", "/notes", "Internal note (never visible to the customer, never stops an SLA)", NoteIn,
                 lambda c, b: agent.AddInternalNote(c, text=b.text)),
    CommandRoute("resolve", "/resolve", "Resolve", ResolveIn,
                 lambda c, b: agent.ResolveConversation(c, resolution_code=b.resolution_code)),
    CommandRoute("reopen", "/reopen", "Reopen", ReopenIn, lambda c, b: agent.ReopenConversation(c, reason=b.reason)),
    CommandRoute("status", "/status", "Set status: waiting on customer / third party (pauses SLAs) or back to "
                 "assigned", StatusIn, lambda c, b: agent.SetConversationStatus(c, status=b.status, reason=b.reason)),
    CommandRoute("priority", "/priority", "Change priority", PriorityIn,
                 lambda c, b: agent.ChangePriority(c, priority=b.priority, reason=b.reason)),
    CommandRoute("ack_escalation", "/escalations/acknowledge", "Acknowledge an escalation (stops its re-escalation)",
                 AckEscalationIn, lambda c, b: agent.AcknowledgeEscalation(c, escalation_id=b.escalation_id),
                 fallback_key="escalation_id"),
)


def agent_router(api: ApiContext) -> APIRouter:
    router = APIRouter()
    Brand = Annotated[str, Depends(api.agent_auth())]  # noqa: N806 - a type alias

    async def command(brand_id: str, agent_id: str, cmd: agent.Command, key: str | None) -> AcceptedOut:
        accepted = await handle_agent_command(api.deps, brand_id, agent_id, cmd, idempotency_key=key)
        return AcceptedOut(**api.answer(accepted, "agent", brand_id))

    def post(path: str, summary: str):
        return router.post(BASE + path, tags=["agent"], status_code=202, responses=AGENT_ERRORS, summary=summary)

    def add_command_route(route: CommandRoute) -> None:
        model, build, fallback_key = route.model, route.build, route.fallback_key

        async def endpoint(brand_id: Brand, conversation_id: ConversationId, body: model,
                           idempotency_key: IdemKey = None) -> AcceptedOut:
            key = idempotency_key or (getattr(body, fallback_key) if fallback_key else None)
            return await command(brand_id, body.agent_id, build(conversation_id, body), key)

        router.add_api_route(BASE + route.path, endpoint, methods=["POST"], name=route.name, tags=["agent"],
                             status_code=202, responses=AGENT_ERRORS, summary=route.summary)

    add_command_route(COMMAND_ROUTES[0])

    @post("/reply", "Public reply to the customer (the only action that stops response SLAs)")
    async def reply_(brand_id: Brand, conversation_id: ConversationId, body: ReplyIn) -> AcceptedOut:
        # The desk's reply_id is the idempotency key.
        return await command(brand_id, body.agent_id, agent.ReplyToConversation(
            conversation_id, text=body.text, reply_id=body.reply_id,
            attachments=tuple(Attachment(**a.model_dump()) for a in body.attachments)), body.reply_id)

    for route in COMMAND_ROUTES[1:]:
        add_command_route(route)

    @router.post("/v1/brands/{brand_id}/agent/agents/{agent_id}/presence", tags=["agent"], status_code=202,
                 responses=AGENT_ERRORS, summary="Agent presence (online / away / offline)")
    async def presence(brand_id: Brand, agent_id: Annotated[str, Path(min_length=1, max_length=200)],
                       body: PresenceIn, idempotency_key: IdemKey = None) -> AcceptedOut:
        return await command(brand_id, agent_id, agent.SetAgentPresence(presence=body.presence), idempotency_key)

    return router
