"""SendGrid Inbound Parse (multipart/form-data).

Inbound Parse has no signature, so the brand's `sendgrid_webhook_secret` must be presented either
as the password of HTTP basic auth (https://parse:<secret>@host/...) or as the `token` query
parameter of the configured URL. Threading headers come from the raw `headers` field.
"""
from __future__ import annotations

from email.parser import HeaderParser
from typing import ClassVar

from switchboard.ingest.domain.email import Headers, attachment_refs, normalize_email
from switchboard.ingest.domain.forms import parse_form
from switchboard.ingest.domain.model import WebhookOutcome, WebhookRequest
from switchboard.ingest.domain.signatures import basic_auth_password, verify_shared_secret

from .base import AdapterContext, NoHandshake

EXAMPLE = {
    "headers": "Message-ID: <d41d8cd9@mail.example.ru>\nDate: Mon, 05 Jan 2026 09:00:00 +0300\n"
               "From: Ivan <ivan@example.ru>\nTo: support@brand.example\nSubject: Заказ 1001",
    "from": "Ivan <ivan@example.ru>", "to": "support@brand.example", "subject": "Заказ 1001",
    "text": "Здравствуйте, где мой заказ?", "envelope": '{"to":["support@brand.example"],"from":"ivan@example.ru"}',
    "charsets": '{"to":"UTF-8","subject":"UTF-8","from":"UTF-8","text":"UTF-8"}', "attachments": "0",
    "spam_score": "0.1",
}


class SendGrid(NoHandshake):
    name: ClassVar[str] = "sendgrid"
    media_type: ClassVar[str] = "multipart/form-data"
    summary: ClassVar[str] = ("SendGrid Inbound Parse (authenticated by basic-auth password or ?token= "
                              "equal to the brand's sendgrid_webhook_secret)")
    example: ClassVar[dict] = EXAMPLE

    def verify(self, request: WebhookRequest, ctx: AdapterContext) -> None:
        presented = basic_auth_password(request.header("authorization")) or request.query_value("token")
        verify_shared_secret(presented, ctx.secret("sendgrid_webhook_secret"), field="token")

    def normalize(self, request: WebhookRequest, ctx: AdapterContext) -> WebhookOutcome:
        form = parse_form(request.body, request.content_type, request.content_type_header)
        raw_headers = HeaderParser().parsestr(form.get("headers") or "")
        headers = Headers(raw_headers.items())
        info = form.json("attachment-info")
        event = normalize_email(
            brand_id=ctx.brand_id, provider=self.name, sender=form.get("from"), recipient=form.get("to"),
            subject=form.get("subject") or headers.get("Subject") or "", text=form.get("text") or "",
            headers=headers, attachments=attachment_refs(form.files, info if isinstance(info, dict) else None),
            now=ctx.now, fallback_id_material=request.body)
        return WebhookOutcome(events=[event], reply={"status": "accepted"})
