"""Contact handles: E.164 phones, lower-cased emails, provider ids."""
from __future__ import annotations

import re
from email.errors import HeaderParseError
from email.header import decode_header, make_header
from email.utils import getaddresses, parseaddr

from .errors import InvalidField

_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")


def e164(value: str | None, field: str) -> str:
    phone = (value or "").strip().replace(" ", "").replace("-", "")
    if not _E164.match(phone):
        raise InvalidField(f"{field} must be an E.164 phone number like +4915112345678", field=field)
    return phone


def email_address(value: str | None, field: str) -> tuple[str, str]:
    """Parses 'Name <a@b.c>' -> ('a@b.c' lower-cased, 'Name'); the one place an address is read, so
    an RFC 2047 display name ('=?ISO-8859-1?Q?J=F6rg?= <j@b.c>') is decoded for every caller."""
    name, address = parseaddr(value or "")
    address = address.strip().lower()
    if not _EMAIL.match(address):
        raise InvalidField(f"{field} must contain an email address", field=field)
    return address, decoded_words(name).strip()


def decoded_words(value: str) -> str:
    """RFC 2047 encoded words -> text; anything undecodable is kept as it came."""
    if "=?" not in value:
        return value
    try:
        return str(make_header(decode_header(value)))
    except (HeaderParseError, LookupError, UnicodeError, ValueError):
        return value


def email_addresses(value: str | None) -> list[str]:
    return [a.strip().lower() for _, a in getaddresses([value or ""]) if _EMAIL.match(a.strip())]
