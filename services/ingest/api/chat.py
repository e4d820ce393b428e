"""The chat widget: start a session (name and email first), customer messages, end (transcript email)."""
from typing import Annotated

from fastapi import APIRouter, Path
from switchboard.ingest.api.deps import ApiContext, BrandId
from switchboard.ingest.api.schemas import ERRORS, AcceptedOut, ChatMessageIn, EndChat, StartChat
from switchboard.ingest.domain import api_events
from switchboard.ingest.domain.events import Attachment
from switchboard.ingest.handlers import require_brand

SessionId = Annotated[str, Path(pattern=r"^cs_[0-9a-f]{32}$", examples=["cs_6f1c0e1f4b7a4d6c9e8b7a6f5e4d3c2b"])]


def chat_router(api: ApiContext) -> APIRouter:
    router = APIRouter()
    deps = api.deps

    @router.post("/v1/brands/{brand_id}/chat/sessions", tags=["chat"], status_code=201, responses=ERRORS,
                 summary="Start a chat session (name and email first)")
    async def start_chat(brand_id: BrandId, body: StartChat) -> dict:
        require_brand(deps, brand_id)
        session_id = api_events.chat_session_id(brand_id, body.client_session_id)
        event = api_events.chat_started(brand_id, session_id, name=body.name, email=body.email,
                                        language=body.language, page_url=body.page_url,
                                        transcript_opt_out=body.transcript_opt_out, now=deps.clock.now())
        result = await api.publish_one(brand_id, event, "chat")
        return {"session_id": session_id, **result}

    @router.post("/v1/brands/{brand_id}/chat/sessions/{session_id}/messages", tags=["chat"], status_code=202,
                 responses=ERRORS, summary="A customer message in a chat session")
    async def chat_message(brand_id: BrandId, session_id: SessionId, body: ChatMessageIn) -> AcceptedOut:
        require_brand(deps, brand_id)
        event = api_events.chat_message(
            brand_id, session_id, client_message_id=body.client_message_id, text=body.text, language=body.language,
            attachments=[Attachment(**a.model_dump()) for a in body.attachments], now=deps.clock.now())
        return AcceptedOut(**await api.publish_one(brand_id, event, "chat"))

    @router.post("/v1/brands/{brand_id}/chat/sessions/{session_id}/end", tags=["chat"], status_code=202,
                 responses=ERRORS, summary="End a chat session (the transcript is emailed unless opted out)")
    async def end_chat(brand_id: BrandId, session_id: SessionId, body: EndChat | None = None) -> AcceptedOut:
        require_brand(deps, brand_id)
        event = api_events.chat_ended(brand_id, session_id, ended_by=(body or EndChat()).ended_by,
                                      now=deps.clock.now())
        return AcceptedOut(**await api.publish_one(brand_id, event, "chat"))

    return router
