"""Raw MIME email (Mailgun `body-mime`, SendGrid Inbound Parse "raw" `email`), parsed with the stdlib.

What the parsed (non-raw) webhooks give as separate fields is taken from the message itself: the
text (text/plain, else the HTML reduced to text), attachments as references (never bytes), and the
headers threading and auto-reply detection read (Message-ID, In-Reply-To, References, Subject ...).
"""
from __future__ import annotations

import email
import re
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from html import unescape
from html.parser import HTMLParser

from .contacts import decoded_words
from .errors import BadRequest
from .events import Attachment

_BLOCK = {"p", "div", "br", "tr", "li", "ul", "ol", "table", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote",
          "pre", "hr", "section", "article", "header", "footer"}
_SKIP = {"script", "style", "head", "title"}


@dataclass(slots=True)
class RawEmail:
    headers: list[tuple[str, str]] = field(default_factory=list)  # as sent (encoded words kept)
    subject: str = ""
    text: str = ""
    attachments: list[Attachment] = field(default_factory=list)

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag in _SKIP:
            self._skipping += 1
        elif tag in _BLOCK:
            self.out.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self._skipping = max(0, self._skipping - 1)
        elif tag in _BLOCK:
            self.out.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.out.append(data)


def html_to_text(html: str) -> str:
    """Readable text of an HTML mail body: tags dropped, blocks on their own lines, entities decoded."""
    extractor = _TextExtractor()
    extractor.feed(html)
    extractor.close()
    lines = (re.sub(r"[ \t\r\f\v\u00a0]+", " ", line).strip() for line in "".join(extractor.out).split("\n"))
    return unescape(re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip())


def _content(part: EmailMessage) -> str:
    try:
        return str(part.get_content())
    except (LookupError, UnicodeError, ValueError, AssertionError):
        # Unknown or lying charset: the bytes as UTF-8, undecodable ones replaced.
        return (part.get_payload(decode=True) or b"").decode("utf-8", "replace")


def _subject(message: EmailMessage, raw: str | None) -> str:
    try:
        return str(message.get("Subject") or "")
    except (LookupError, UnicodeError, ValueError, IndexError, TypeError):
        return decoded_words(raw or "")


def _attachments(message: EmailMessage, body: EmailMessage | None) -> list[Attachment]:
    refs = []
    for index, part in enumerate(message.walk()):
        if part.is_multipart() or part is body:
            continue
        filename = part.get_filename()
        if not (filename or part.is_attachment()):
            continue  # the other alternative of the body (the HTML beside the plain text)
        content_id = (part.get("Content-ID") or "").strip().strip("<>")
        refs.append(Attachment(
            filename=str(filename or ""), content_type=part.get_content_type(),
            size_bytes=len(part.get_payload(decode=True) or b""), provider_media_id=content_id or f"part-{index}"))
    return refs


def _unfold(value: str) -> str:
    """A raw header value on one line; raw UTF-8 (RFC 6532) arrives surrogate-escaped: make it text."""
    value = re.sub(r"\r?\n[ \t]+", " ", value).strip()
    return value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def parse_raw_email(raw: bytes, *, field: str) -> RawEmail:
    """One RFC 5322 message -> headers, text and attachment references."""
    if not raw.strip():
        raise BadRequest(f"{field} is empty", field=field)
    try:
        message = email.message_from_bytes(raw, policy=policy.default)
        headers = [(str(k), _unfold(str(v))) for k, v in message.raw_items()]
        if not headers:
            raise BadRequest(f"{field} is not an RFC 5322 message (no headers)", field=field)
        body = message.get_body(preferencelist=("plain", "html"))
        text = ""
        if body is not None:
            text = _content(body)
            if body.get_content_type() == "text/html":
                text = html_to_text(text)
        subject_raw = next((v for k, v in headers if k.lower() == "subject"), None)
        return RawEmail(headers=headers, subject=_subject(message, subject_raw), text=text,
                        attachments=_attachments(message, body))
    except BadRequest:
        raise
    except (LookupError, UnicodeError, ValueError, IndexError, TypeError, AttributeError):
        raise BadRequest(f"{field} could not be parsed as a MIME message", field=field) from None
