"""Mailgun inbound routes (forward() to our URL): multipart or url-encoded form.

Signed with the HTTP webhook signing key: signature = hex HMAC-SHA256(timestamp + token);
the timestamp must be inside the replay window. Threading headers come from `message-headers`
(a JSON list of [name, value] pairs) with the top-level fields as a fallback.
"""
from __future__ import annotations

from typing import ClassVar

from switchboard.ingest.domain.email import Headers, attachment_refs, normalize_email
from switchboard.ingest.domain.forms import parse_form
from switchboard.ingest.domain.model import WebhookOutcome, WebhookRequest
from switchboard.ingest.domain.signatures import verify_mailgun

from .base import AdapterContext, NoHandshake

EXAMPLE = {
    "recipient": "support@brand.example", "sender": "anna@example.de", "from": "Anna Schmidt <anna@example.de>",
    "subject": "Re: Your order #1001", "body-plain": "Hallo, wo ist meine Bestellung?",
    "stripped-text": "Hallo, wo ist meine Bestellung?", "attachment-count": "0",
    "Message-Id": "<CAF=abc123@mail.example.de>", "In-Reply-To": "<reply-1@brand.example>",
    "References": "<order-1001@brand.example> <reply-1@brand.example>",
    "message-headers": '[["Message-Id", "<CAF=abc123@mail.example.de>"], ["Date", "Mon, 05 Jan 2026 09:00:00 +0100"]]',
    "timestamp": "1767603600", "token": "5c6a8bd8e2f64c1f8e4b0d3a2e1f0c9b8a7d6e5f4c3b2a1908",
    "signature": "<hex HMAC-SHA256 of timestamp+token>",
}


class Mailgun(NoHandshake):
    name: ClassVar[str] = "mailgun"
    media_type: ClassVar[str] = "multipart/form-data"
    summary: ClassVar[str] = "Mailgun inbound route (forwarded email)"
    example: ClassVar[dict] = EXAMPLE

    def verify(self, request: WebhookRequest, ctx: AdapterContext) -> None:
        form = parse_form(request.body, request.content_type, request.content_type_header)
        verify_mailgun(form.get("timestamp"), form.get("token"), form.get("signature"),
                       ctx.secret("mailgun_signing_key"), ctx.now, ctx.replay_window)

    def normalize(self, request: WebhookRequest, ctx: AdapterContext) -> WebhookOutcome:
        form = parse_form(request.body, request.content_type, request.content_type_header)
        pairs = form.json("message-headers")
        header_pairs = [(p[0], p[1]) for p in pairs
                        if isinstance(p, list) and len(p) == 2 and isinstance(p[0], str) and isinstance(p[1], str)] \
            if isinstance(pairs, list) else []
        for name in ("Message-Id", "In-Reply-To", "References", "Date", "Auto-Submitted", "Precedence",
                     "X-Autoreply", "X-Autorespond", "X-Auto-Response-Suppress", "Content-Language"):
            if not any(h[0].lower() == name.lower() for h in header_pairs) and form.get(name) is not None:
                header_pairs.append((name, form.get(name) or ""))
        attachments = form.json("attachments")  # stored-message notifications give URLs
        event = normalize_email(
            brand_id=ctx.brand_id, provider=self.name, sender=form.get("from") or form.get("sender"),
            recipient=form.get("recipient") or form.get("To"), subject=form.get("subject") or "",
            text=form.get("body-plain") or form.get("stripped-text") or "", headers=Headers(header_pairs),
            attachments=attachment_refs(form.files, urls=attachments if isinstance(attachments, list) else None),
            now=ctx.now, fallback_id_material=request.body)
        return WebhookOutcome(events=[event], reply={"status": "accepted"})
