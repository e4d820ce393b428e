"""Shared by the Meta adapters: X-Hub-Signature-256 and the GET verification handshake."""
from __future__ import annotations

import hmac

from switchboard.ingest.domain.errors import SignatureMismatch
from switchboard.ingest.domain.model import WebhookOutcome, WebhookRequest
from switchboard.ingest.domain.signatures import verify_hub_signature_256

from .base import AdapterContext


class MetaWebhook:
    def handshake(self, request: WebhookRequest, ctx: AdapterContext) -> WebhookOutcome:
        """hub.mode=subscribe & hub.verify_token=<ours> -> echo hub.challenge as plain text."""
        expected = ctx.secret("meta_verify_token")
        token = request.query_value("hub.verify_token") or ""
        if request.query_value("hub.mode") != "subscribe" or not hmac.compare_digest(token.encode(), expected.encode()):
            raise SignatureMismatch("hub.mode must be subscribe and hub.verify_token must match",
                                    field="hub.verify_token")
        return WebhookOutcome(reply=request.query_value("hub.challenge") or "", media_type="text/plain")

    def verify(self, request: WebhookRequest, ctx: AdapterContext) -> None:
        verify_hub_signature_256(request.body, request.header("x-hub-signature-256"), ctx.secret("meta_app_secret"))
