"""The HTTP surface of ingest: provider webhooks, CloudEvents, chat widget, web form, CSAT links, agent
actions. One router per area; routes only translate HTTP <-> handlers (every decision lives in
handlers, adapters and domain). deps.py: what routes share; schemas.py: request/response models."""
from fastapi import FastAPI
from switchboard.common.http import Readiness, add_ops_routes
from switchboard.ingest.api.agent import agent_router
from switchboard.ingest.api.chat import chat_router
from switchboard.ingest.api.cloudevents import cloudevents_router
from switchboard.ingest.api.csat import csat_router
from switchboard.ingest.api.deps import ApiContext, BodyLimit
from switchboard.ingest.api.forms import forms_router
from switchboard.ingest.api.webhooks import FastWebhooks, unknown_provider_router, webhooks_router
from switchboard.ingest.handlers import IngestDeps

DESCRIPTION = ("Provider webhooks, order events and agent actions into Switchboard. A 2xx means the event is durably "
               "stored on the broker (acks=all); retries of the same provider message are accepted and stored once. "
               "503 + Retry-After means not stored yet: retry (a 503'd event may still arrive; it is de-duplicated "
               "by its deterministic event id).")


def build_app(deps: IngestDeps, readiness: Readiness) -> FastWebhooks:
    """The ASGI app: FastWebhooks (provider POSTs) in front of the body limit and the FastAPI app."""
    app = FastAPI(title="Switchboard ingest", version="1.0.0", description=DESCRIPTION)
    add_ops_routes(app, readiness)
    api = ApiContext(deps)
    api.install_error_handlers(app)
    for name, adapter in deps.providers.items():
        app.include_router(cloudevents_router(api, adapter) if name == "cloudevents"
                           else webhooks_router(api, name, adapter))
    for router in (unknown_provider_router(api), chat_router(api), forms_router(api), csat_router(api),
                   agent_router(api)):
        app.include_router(router)
    return FastWebhooks(BodyLimit(app, api.limit), api)
