"""Mailgun inbound routes (forward() to our URL): multipart or url-encoded form.

Signed with the HTTP webhook signing key: signature = hex HMAC-SHA256(timestamp + token);
the timestamp must be inside the replay window. Threading headers come from `message-headers`
(a JSON list of [name, value] pairs) with the top-level fields as a fallback. A route whose URL
ends in "mime" (and "store and notify" fetched as MIME) posts the whole message as `body-mime`
instead of the parsed fields: then text, attachments and headers are read from that message.
"""
from __future__ import annotations

from typing import ClassVar

from switchboard.ingest.adapters.codec import wire
from switchboard.ingest.domain.email import Headers, attachment_refs, body_text, normalize_email
from switchboard.ingest.domain.forms import Form, parse_form
from switchboard.ingest.domain.mime import RawEmail, parse_raw_email
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
        form = parse_form(request.body, request.content_type, request.content_type_header, binary=RAW)
        verify_mailgun(form.get("timestamp"), form.get("token"), form.get("signature"),
                       ctx.secret("mailgun_signing_key"), ctx.now, ctx.replay_window)

    def normalize(self, request: WebhookRequest, ctx: AdapterContext) -> WebhookOutcome:
        form = parse_form(request.body, request.content_type, request.content_type_header, binary=RAW)
        blob = form.blob("body-mime")
        raw = parse_raw_email(blob, field="body-mime") if blob is not None else None
        header_pairs = raw.headers if raw is not None else _message_headers(form)
        for name in ("Message-Id", "In-Reply-To", "References", "Date", "Auto-Submitted", "Precedence",
                     "X-Autoreply", "X-Autorespond", "X-Auto-Response-Suppress", "Content-Language"):
            if not any(h[0].lower() == name.lower() for h in header_pairs) and form.get(name) is not None:
                header_pairs.append((name, form.get(name) or ""))
        headers = Headers(header_pairs)
        attachments = form.json("attachments")  # stored-message notifications give URLs
        refs = attachment_refs(form.files, urls=attachments if isinstance(attachments, list) else None)
        event = normalize_email(
            brand_id=ctx.brand_id, provider=self.name,
            sender=form.get("from") or form.get("sender") or headers.get("From"),
            recipient=form.get("recipient") or form.get("To") or headers.get("To"),
            subject=form.get("subject") or (raw.subject if raw is not None else ""),
            text=body_text(form.get("body-plain") or form.get("stripped-text"),
                           form.get("body-html") or form.get("stripped-html"), raw),
            headers=headers, attachments=refs + _raw_attachments(raw), now=ctx.now,
            fallback_id_material=blob if blob is not None else request.body)
        return WebhookOutcome(events=[wire(event)], reply={"status": "accepted"})


RAW = ("body-mime",)


def _message_headers(form: Form) -> list[tuple[str, str]]:
    pairs = form.json("message-headers")
    if not isinstance(pairs, list):
        return []
    return [(p[0], p[1]) for p in pairs
            if isinstance(p, list) and len(p) == 2 and isinstance(p[0], str) and isinstance(p[1], str)]


def _raw_attachments(raw: RawEmail | None) -> list:
    return list(raw.attachments) if raw is not None else []
