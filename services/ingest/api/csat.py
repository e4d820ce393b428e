"""CSAT survey answers: the link in the survey email (GET, thank-you page) and the answer with a comment."""
from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.responses import HTMLResponse
from switchboard.ingest.api.deps import ApiContext, BrandId
from switchboard.ingest.api.schemas import ERRORS, AcceptedOut, CsatIn
from switchboard.ingest.domain import api_events
from switchboard.ingest.handlers import require_brand

IntentId = Annotated[str, Path(min_length=1, max_length=300)]
THANK_YOU = ("<!doctype html><meta charset=utf-8><title>Thank you</title>"
             "<p>Thank you for your feedback! 谢谢! Спасибо!</p>")


def csat_router(api: ApiContext) -> APIRouter:
    router = APIRouter()
    deps = api.deps

    @router.get("/v1/brands/{brand_id}/csat/{intent_id}", tags=["csat"], response_class=HTMLResponse,
                responses=ERRORS, summary="Survey link from the CSAT email: records the score, shows a thank-you page")
    async def csat_link(brand_id: BrandId, intent_id: IntentId, score: Annotated[int, Query(ge=1, le=5, examples=[5])],
                        conversation_id: Annotated[str, Query(max_length=200)] = "") -> HTMLResponse:
        require_brand(deps, brand_id)
        event = api_events.csat_answered(brand_id, intent_id, score=score, comment="",
                                         conversation_id=conversation_id, now=deps.clock.now())
        await api.publish_one(brand_id, event, "csat")
        return HTMLResponse(THANK_YOU)

    @router.post("/v1/brands/{brand_id}/csat/{intent_id}", tags=["csat"], status_code=202, responses=ERRORS,
                 summary="Survey answer with an optional comment")
    async def csat_answer(brand_id: BrandId, intent_id: IntentId, body: CsatIn) -> AcceptedOut:
        require_brand(deps, brand_id)
        event = api_events.csat_answered(brand_id, intent_id, score=body.score, comment=body.comment,
                                         conversation_id=body.conversation_id, now=deps.clock.now())
        return AcceptedOut(**await api.publish_one(brand_id, event, "csat"))

    return router
