"""Email normalization shared by the Mailgun and SendGrid adapters: threading and auto-replies."""
from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from .contacts import email_address, email_addresses
from .errors import InvalidField
from .events import Attachment, EmailThreading, Handle, Inbound, MessageReceived
from .forms import FilePart
from .mime import RawEmail, html_to_text
from .model import Outgoing

_AUTO_SUBJECT = re.compile(
    r"^\s*(out of (the )?office|automatic reply|auto[- ]?reply|autoreply|auto[- ]?response|abwesenheitsnotiz|"
    r"réponse automatique|自动回复|自動回覆|自動返信|автоответ|автоматический ответ|vacation)", re.IGNORECASE)
_MSGID = re.compile(r"<[^<>\s]+>")


class Headers:
    """Case-insensitive multi-valued header lookup."""

    def __init__(self, pairs: Iterable[tuple[str, str]]) -> None:
        self._values: dict[str, list[str]] = {}
        for name, value in pairs:
            self._values.setdefault(str(name).lower(), []).append(str(value))

    def get(self, name: str) -> str | None:
        values = self._values.get(name.lower())
        return values[0] if values else None

    def __contains__(self, name: str) -> bool:
        return name.lower() in self._values


def is_auto_reply(headers: Headers, subject: str) -> bool:
    """RFC 3834 Auto-Submitted, the de-facto X-Autoreply / Precedence / Exchange headers, or an OOO subject."""
    auto_submitted = (headers.get("Auto-Submitted") or "no").strip().lower()
    if auto_submitted != "no":
        return True
    if "X-Autoreply" in headers or "X-Autorespond" in headers:
        return True
    if (headers.get("X-Auto-Response-Suppress") or "").strip().lower() in ("all", "oof", "autoreply"):
        return True
    if (headers.get("Precedence") or "").strip().lower() in ("auto_reply", "bulk", "junk", "list"):
        return True
    return bool(_AUTO_SUBJECT.match(subject or ""))


def message_ids(value: str | None) -> list[str]:
    return _MSGID.findall(value or "")


def sent_at(headers: Headers, fallback: datetime) -> datetime:
    raw = headers.get("Date")
    if raw:
        try:
            parsed = parsedate_to_datetime(raw)
        except (TypeError, ValueError, IndexError):
            return fallback
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    return fallback


def normalize_email(*, brand_id: str, provider: str, sender: str | None, recipient: str | None,
                    subject: str, text: str, headers: Headers, attachments: list[Attachment],
                    now: datetime, fallback_id_material: bytes) -> Outgoing:
    address, display_name = email_address(sender, "from")
    message_id = (message_ids(headers.get("Message-Id")) or [""])[0]
    if not message_id:
        # No Message-Id (rare, broken MTAs): a content hash still dedupes provider retries.
        message_id = "<sha256-" + hashlib.sha256(fallback_id_material).hexdigest()[:32] + "@ingest.invalid>"
    in_reply_to = (message_ids(headers.get("In-Reply-To")) or [""])[0]
    references = message_ids(headers.get("References"))
    recipients = email_addresses(recipient)
    language = (headers.get("Content-Language") or "").split(",")[0].strip()[:35]
    received = MessageReceived(
        channel="email", provider=provider, provider_message_id=message_id,
        sender=Handle("email", address), display_name=display_name, text=text,
        language_hint=language, attachments=list(attachments),
        email=EmailThreading(message_id=message_id, in_reply_to=in_reply_to, references=tuple(references),
                             subject=subject),
        auto_reply=is_auto_reply(headers, subject),
        recipient_address=Handle("email", recipients[0]) if recipients else None,
        sent_at=sent_at(headers, now),
    )
    return Outgoing(stream="inbound", key=f"{brand_id}/{address}", payload=Inbound(brand_id, received),
                    dedupe_id=f"{provider}:{message_id}", time=now)


def attachment_refs(files: list[FilePart], info: Mapping[str, object] | None = None,
                    urls: list[object] | None = None) -> list[Attachment]:
    """Attachments become references (name, type, size, provider URL when stored); never bytes."""
    refs = []
    for part in files:
        meta = info.get(part.name) if isinstance(info, Mapping) else None
        refs.append(Attachment(
            filename=(meta.get("filename") if isinstance(meta, Mapping) else None) or part.filename,
            content_type=part.content_type, size_bytes=part.size, provider_media_id=part.name))
    for item in urls or []:
        if not isinstance(item, Mapping) or not isinstance(item.get("url"), str):
            raise InvalidField("attachments must be a list of {url, name, content-type, size}", field="attachments")
        size = item.get("size")
        refs.append(Attachment(
            url=item["url"], filename=str(item.get("name") or ""), content_type=str(item.get("content-type") or ""),
            size_bytes=size if isinstance(size, int) and 0 <= size < 2**62 else 0))
    return refs


def body_text(plain: str | None, html: str | None, raw: RawEmail | None = None) -> str:
    """The customer's words: the provider's plain text, else the raw message's, else its HTML as text."""
    if plain:
        return plain
    if raw is not None and raw.text:
        return raw.text
    return html_to_text(html) if html else ""
