"""Contact handles: E.164 phones, lower-cased emails, provider ids."""
from __future__ import annotations

import re
from email.utils import getaddresses, parseaddr

from switchboard.events.v1 import common_pb2

from .errors import InvalidField

_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")

HK = common_pb2.HandleKind


def e164(value: str | None, field: str) -> str:
    phone = (value or "").strip().replace(" ", "").replace("-", "")
    if not _E164.match(phone):
        raise InvalidField(f"{field} must be an E.164 phone number like +4915112345678", field=field)
    return phone


def email_address(value: str | None, field: str) -> tuple[str, str]:
    """Parses 'Name <a@b.c>' -> ('a@b.c' lower-cased, 'Name')."""
    name, address = parseaddr(value or "")
    address = address.strip().lower()
    if not _EMAIL.match(address):
        raise InvalidField(f"{field} must contain an email address", field=field)
    return address, name.strip()


def email_addresses(value: str | None) -> list[str]:
    return [a.strip().lower() for _, a in getaddresses([value or ""]) if _EMAIL.match(a.strip())]


def handle(kind: int, value: str) -> common_pb2.ContactHandle:
    return common_pb2.ContactHandle(kind=kind, value=value)
