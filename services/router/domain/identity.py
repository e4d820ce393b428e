"""Identity resolution: contact handles -> one customer profile per brand.

Strong signals only: an email address, a phone number (WhatsApp ids are phone numbers), a
provider id, a chat session id, or handles that arrive together on one order or chat start.
A display name is never a signal. Two profiles are joined only by an explicit merge command.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .model import CHAT_SESSION, EMAIL, PHONE, WHATSAPP_ID, Handle

_NON_DIGITS = re.compile(r"[^\d]")


class InvalidHandle(ValueError):
    pass


def normalize(kind: str, value: str) -> Handle:
    """The canonical form stored in the handle index; raises InvalidHandle for unusable values."""
    raw = (value or "").strip()
    if not raw:
        raise InvalidHandle(f"{kind} handle is empty")
    if kind == EMAIL:
        email = raw.lower()
        if "@" not in email or email.startswith("@") or email.endswith("@"):
            raise InvalidHandle("email handle is not an address")
        return Handle(EMAIL, email)
    if kind in (PHONE, WHATSAPP_ID):
        prefixed = raw.startswith("+") or raw.startswith("00")
        digits = _NON_DIGITS.sub("", raw)
        if raw.startswith("00"):
            digits = digits[2:]
        if len(digits) < 6:
            raise InvalidHandle(f"{kind} handle has too few digits")
        if kind == WHATSAPP_ID:
            return Handle(WHATSAPP_ID, digits)
        return Handle(PHONE, "+" + digits if prefixed or len(digits) > 10 else "+" + digits)
    return Handle(kind, raw)


def expand(handles: list[Handle]) -> list[Handle]:
    """Adds the handles that are the same identity in another form: a WhatsApp id is a phone number."""
    out: list[Handle] = []
    for h in handles:
        if h not in out:
            out.append(h)
        if h.kind == WHATSAPP_ID:
            phone = Handle(PHONE, "+" + h.value)
            if phone not in out:
                out.append(phone)
        elif h.kind == PHONE:
            wa = Handle(WHATSAPP_ID, h.value.lstrip("+"))
            if wa not in out:
                out.append(wa)
    return out


@dataclass(slots=True)
class IdentityDecision:
    customer_id: str
    created: bool
    new_handles: list[Handle] = field(default_factory=list)  # to add to the index for customer_id
    conflicting_customers: list[str] = field(default_factory=list)  # other profiles seen; never auto-merged


def resolve(handles: list[Handle], index: dict[Handle, str], new_customer_id: str) -> IdentityDecision:
    """Picks the profile for a contact that presented `handles` (the sender's own handle first).

    `index` maps known handles to customer ids (already following merges). The first known handle
    wins; unknown handles are attached to that profile; handles of other profiles stay where they are.
    """
    expanded = expand(handles)
    owner = next((index[h] for h in expanded if h in index), None)
    created = owner is None
    customer_id = owner or new_customer_id
    new_handles = [h for h in expanded if h not in index]
    conflicts = sorted({index[h] for h in expanded if h in index and index[h] != customer_id})
    return IdentityDecision(customer_id, created, new_handles, conflicts)


def is_weak(kind: str) -> bool:
    """Chat sessions identify a visit, not a person: they link to a profile but never carry one over."""
    return kind == CHAT_SESSION
