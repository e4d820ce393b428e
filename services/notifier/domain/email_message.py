"""MIME building for customer and staff email, with correct reply threading."""
from __future__ import annotations

import hashlib
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr

MAX_REFERENCES = 20  # long threads: keep the root and the most recent ids (RFC 5322 suggests trimming)


def deterministic_message_id(idempotency_key: str, domain: str) -> str:
    """Same intent -> same Message-ID, so a resend after a crash is recognisable as a duplicate."""
    digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]
    return f"<{digest}@{domain}>"


def _bracket(message_id: str) -> str:
    message_id = message_id.strip()
    if not message_id:
        return ""
    return message_id if message_id.startswith("<") else f"<{message_id}>"


def threading_headers(in_reply_to: str, references: list[str]) -> tuple[str, str]:
    """In-Reply-To and References for a reply to the message `in_reply_to`."""
    parent = _bracket(in_reply_to)
    refs = [r for r in (_bracket(x) for x in references) if r and r != parent]
    deduped: list[str] = list(dict.fromkeys(refs))
    if parent:
        deduped.append(parent)  # the message we answer is always the last reference
    if len(deduped) > MAX_REFERENCES:
        deduped = deduped[:1] + deduped[-(MAX_REFERENCES - 1):]
    return parent, " ".join(deduped)


def reply_subject(subject: str) -> str:
    subject = (subject or "").strip()
    if not subject:
        return ""
    return subject if subject.lower().startswith(("re:", "aw:", "sv:", "rv:")) else f"Re: {subject}"


def build_email(
    *,
    from_address: str,
    from_name: str,
    to_address: str,
    subject: str,
    text: str,
    html: str | None,
    message_id: str,
    date: datetime,
    language: str,
    in_reply_to: str = "",
    references: list[str] | None = None,
    extra_headers: dict[str, str] | None = None,
) -> EmailMessage:
    if not to_address or "@" not in to_address:
        raise ValueError("email recipient address is missing or invalid")
    if not text.strip():
        raise ValueError("email body is empty")
    msg = EmailMessage()
    msg["From"] = formataddr((from_name, from_address)) if from_name else from_address
    msg["To"] = to_address
    msg["Subject"] = subject.replace("\r", " ").replace("\n", " ")
    msg["Date"] = format_datetime(date)
    msg["Message-ID"] = message_id
    parent, refs = threading_headers(in_reply_to, references or [])
    if parent:
        msg["In-Reply-To"] = parent
    if refs:
        msg["References"] = refs
    msg["Auto-Submitted"] = "auto-generated"
    for name, value in (extra_headers or {}).items():
        msg[name] = value
    msg.set_content(text, subtype="plain", charset="utf-8")
    if html:
        msg.add_alternative(html, subtype="html", charset="utf-8")
    msg["Content-Language"] = language  # after set_content, which clears Content-* headers
    return msg
