"""Form bodies (application/x-www-form-urlencoded and multipart/form-data), parsed without I/O."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from email.message import Message
from email.parser import BytesParser
from urllib.parse import parse_qsl

from .errors import BadRequest, InvalidField


@dataclass(slots=True)
class FilePart:
    name: str
    filename: str
    content_type: str
    size: int


@dataclass(slots=True)
class Form:
    fields: list[tuple[str, str]] = field(default_factory=list)
    files: list[FilePart] = field(default_factory=list)
    blobs: dict[str, bytes] = field(default_factory=dict)  # fields asked for as bytes (raw MIME)

    def blob(self, name: str) -> bytes | None:
        """A field as the bytes that were sent (a raw email can hold 8-bit text in any charset)."""
        if name in self.blobs:
            return self.blobs[name]
        value = self.get(name)
        return None if value is None else value.encode("utf-8")

    def get(self, name: str, default: str | None = None) -> str | None:
        for key, value in self.fields:
            if key == name:
                return value
        return default

    def json(self, name: str) -> object:
        raw = self.get(name)
        if raw is None or raw == "":
            return None
        try:
            return json.loads(raw)
        except ValueError:
            raise InvalidField(f"{name} is not valid JSON", field=name) from None


def parse_urlencoded(body: bytes) -> Form:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("form body is not UTF-8", field="body") from None
    try:
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=False, errors="strict")
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("form body is not valid application/x-www-form-urlencoded", field="body") from None
    return Form(fields=pairs)


def parse_multipart(body: bytes, content_type_header: str, charsets: dict[str, str] | None = None,
                    binary: tuple[str, ...] = ()) -> Form:
    """multipart/form-data; text parts decoded with their charset (or `charsets[name]`), files summarised,
    the fields named in `binary` kept as bytes."""
    if "boundary=" not in content_type_header:
        raise BadRequest("multipart/form-data needs a boundary parameter", field="Content-Type")
    envelope = b"Content-Type: " + content_type_header.encode("latin-1") + b"\r\nMIME-Version: 1.0\r\n\r\n"
    message = BytesParser().parsebytes(envelope + body)
    if not message.is_multipart():
        raise BadRequest("multipart body could not be parsed", field="body")
    form = Form()
    parts: list[Message] = message.get_payload()  # type: ignore[assignment]
    raw_text: list[tuple[str, bytes, str | None]] = []
    for part in parts:
        disposition = _disposition(part)
        name = disposition.get_param("name", header="content-disposition")
        if not name:
            continue
        name = str(name)
        payload = part.get_payload(decode=True) or b""
        filename = disposition.get_filename()
        if filename is not None:
            form.files.append(FilePart(name, filename, part.get_content_type(), len(payload)))
        elif name in binary:
            form.blobs[name] = payload
        else:
            raw_text.append((name, payload, part.get_content_charset()))
    # SendGrid sends the charset of each text field in a JSON `charsets` field.
    for name, payload, _ in raw_text:
        if name == "charsets":
            try:
                declared = json.loads(payload.decode("utf-8"))
            except (ValueError, UnicodeDecodeError):
                declared = None
            if not isinstance(declared, dict) or not all(isinstance(v, str) for v in declared.values()):
                raise InvalidField("charsets must be a JSON object of field name -> charset", field="charsets")
            charsets = {**(charsets or {}), **declared}
    for name, payload, charset in raw_text:
        encoding = charset or (charsets or {}).get(name) or "utf-8"
        try:
            form.fields.append((name, payload.decode(encoding)))
        except (UnicodeDecodeError, LookupError):
            raise BadRequest(f"field {name} is not valid {encoding}", field=name) from None
    return form


def _disposition(part: Message) -> Message:
    """The part's Content-Disposition as text. Browsers and providers send non-ASCII field and file
    names as raw UTF-8 (`filename="facture_n°884.pdf"`), which the parser keeps as surrogate escapes
    and would turn into U+FFFD: decode those bytes as UTF-8 (Latin-1 if they are not UTF-8)."""
    probe = Message()
    for key, value in part.raw_items():
        if key.lower() == "content-disposition":
            raw = str(value).encode("utf-8", "surrogateescape")
            try:
                probe["Content-Disposition"] = raw.decode("utf-8")
            except UnicodeDecodeError:
                probe["Content-Disposition"] = raw.decode("latin-1")
            break
    return probe


def parse_form(body: bytes, content_type: str, content_type_header: str, binary: tuple[str, ...] = ()) -> Form:
    if content_type == "multipart/form-data":
        return parse_multipart(body, content_type_header, binary=binary)
    if content_type in ("application/x-www-form-urlencoded", ""):
        return parse_urlencoded(body)
    raise BadRequest(f"expected a form body, got {content_type}", field="Content-Type")
