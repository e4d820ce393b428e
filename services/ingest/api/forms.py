"""The web contact form."""
from fastapi import APIRouter
from switchboard.ingest.api.deps import ApiContext, BrandId
from switchboard.ingest.api.schemas import ERRORS, AcceptedOut, WebFormIn
from switchboard.ingest.domain import api_events
from switchboard.ingest.handlers import require_brand


def forms_router(api: ApiContext) -> APIRouter:
    router = APIRouter()

    @router.post("/v1/brands/{brand_id}/forms/submissions", tags=["chat"], status_code=202, responses=ERRORS,
                 summary="A web contact-form submission")
    async def web_form(brand_id: BrandId, body: WebFormIn) -> AcceptedOut:
        require_brand(api.deps, brand_id)
        event = api_events.web_form(brand_id, submission_id=body.submission_id, name=body.name, email=body.email,
                                    subject=body.subject, message=body.message, language=body.language,
                                    page_url=body.page_url, now=api.deps.clock.now())
        return AcceptedOut(**await api.publish_one(brand_id, event, "web_form"))

    return router
