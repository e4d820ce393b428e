"""SendGrid Inbound Parse (multipart/form-data), parsed or raw ("POST the raw, full MIME message").

Authentication, each checked when configured for the brand (at least one must be):
- `sendgrid_verification_key`: the public key of an Inbound Parse security policy with signature
  verification. SendGrid signs timestamp + raw body with ECDSA P-256 and sends the signature and
  timestamp in the X-Twilio-Email-Event-Webhook-Signature / -Timestamp headers (the same scheme
  as the Signed Event Webhook). The timestamp must be within SIGNED_WINDOW: SendGrid retries a
  failed POST for up to 3 days, and ingest's dedupe remembers ids for longer than that.
- `sendgrid_webhook_secret`: presented as the password of HTTP basic auth
  (https://parse:<secret>@host/...) or as the `token` query parameter of the configured URL.
Threading headers come from the `headers` field, or from the message itself in raw mode.
"""
from __future__ import annotations

from datetime import timedelta
from email.parser import HeaderParser
from typing import ClassVar

from switchboard.ingest.adapters.codec import wire
from switchboard.ingest.domain.email import Headers, attachment_refs, body_text, normalize_email
from switchboard.ingest.domain.errors import NotFound
from switchboard.ingest.domain.forms import parse_form
from switchboard.ingest.domain.mime import parse_raw_email
from switchboard.ingest.domain.model import WebhookOutcome, WebhookRequest
from switchboard.ingest.domain.signatures import basic_auth_password, verify_sendgrid, verify_shared_secret

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
    summary: ClassVar[str] = ("SendGrid Inbound Parse, parsed or raw (signed by a security policy "
                              "and/or basic-auth password or ?token= equal to sendgrid_webhook_secret)")
    example: ClassVar[dict] = EXAMPLE

    def verify(self, request: WebhookRequest, ctx: AdapterContext) -> None:
        public_key, secret = ctx.secrets.get("sendgrid_verification_key"), ctx.secrets.get("sendgrid_webhook_secret")
        if not public_key and not secret:
            raise NotFound(f"provider is not configured for brand {ctx.brand_id} "
                           "(missing sendgrid_verification_key or sendgrid_webhook_secret)")
        if public_key:
            verify_sendgrid(request.body, request.header("x-twilio-email-event-webhook-signature"),
                            request.header("x-twilio-email-event-webhook-timestamp"), str(public_key), ctx.now,
                            SIGNED_WINDOW)
        if secret:
            presented = basic_auth_password(request.header("authorization")) or request.query_value("token")
            verify_shared_secret(presented, str(secret), field="token")

    def normalize(self, request: WebhookRequest, ctx: AdapterContext) -> WebhookOutcome:
        form = parse_form(request.body, request.content_type, request.content_type_header, binary=RAW)
        blob = form.blob("email")  # "POST the raw, full MIME message": no headers/text/attachment fields
        raw = parse_raw_email(blob, field="email") if blob is not None else None
        headers = Headers(raw.headers) if raw is not None else Headers(
            HeaderParser().parsestr(form.get("headers") or "").items())
        info = form.json("attachment-info")
        refs = attachment_refs(form.files, info if isinstance(info, dict) else None)
        event = normalize_email(
            brand_id=ctx.brand_id, provider=self.name, sender=form.get("from") or headers.get("From"),
            recipient=form.get("to") or headers.get("To"),
            subject=form.get("subject") or (raw.subject if raw is not None else headers.get("Subject") or ""),
            text=body_text(form.get("text"), form.get("html"), raw), headers=headers,
            attachments=refs + (list(raw.attachments) if raw is not None else []),
            now=ctx.now, fallback_id_material=blob if blob is not None else request.body)
        return WebhookOutcome(events=[wire(event)], reply={"status": "accepted"})


RAW = ("email",)
SIGNED_WINDOW = timedelta(days=3)
