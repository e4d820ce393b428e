"""Identity resolution: contact handles -> one customer profile per brand.

Strong signals only: an email address, a phone number (WhatsApp ids are phone numbers), a
provider id, a chat session id, or handles that arrive together on one order or chat start.
A display name is never a signal. Two profiles are joined only by an explicit merge command.

A new customer's id derives from its seed handle (the first of the contact's expanded handles), so
the seed and its other form (WhatsApp id <-> phone) are found again by reading the customer with
that id: they need no handle-index document. Every other handle a customer gets is indexed.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Mapping
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


@functools.lru_cache(maxsize=1 << 16)
def seed_id(derive: Callable[..., str], brand_id: str, seed: Handle) -> str:
    """The id of a customer created from `seed`: the same handle always gives the same id. Cached: keying
    an input (contact_key.py) asks for the seeds of its handles several times, each a uuid5."""
    return derive("customer", brand_id, seed.kind, seed.value)


def seeded(derive: Callable[..., str], brand_id: str, h: Handle, customer_id: str) -> bool:
    """Whether `customer_id` is found from `h` through its seed (so `h` needs no index document)."""
    return any(seed_id(derive, brand_id, g) == customer_id for g in expand([h]))


def owners_by_seed(
    derive: Callable[..., str], brand_id: str, handles: Iterable[Handle], held: Mapping[str, Iterable[Handle]]
) -> dict[Handle, str]:
    """Owners of `handles` found by seed-derived id. `held`: customer id -> the handles it holds now.

    The customer with id seed_id(h) owns h (and h's other form) only while it still holds h: a
    handle moved away is not resolved by its old seed. Stored index documents win over this.
    """
    owners: dict[Handle, str] = {}
    for h in handles:
        customer_id = seed_id(derive, brand_id, h)
        holds = set(held.get(customer_id, ()))
        if h in holds:
            for g in expand([h]):
                if g in holds:
                    owners.setdefault(g, customer_id)
    return owners


def is_weak(kind: str) -> bool:
    """Chat sessions identify a visit, not a person: they link to a profile but never carry one over."""
    return kind == CHAT_SESSION


def chat_start_handles(chat_session_id: str, email: str) -> tuple[list[Handle], str]:
    """A chat start's handles (its session, and the pre-chat form's email when it is one) and that email
    normalized ("" when there is none or it is not an email: a typo in the form must not block the chat)."""
    handles = [Handle(CHAT_SESSION, chat_session_id)]
    if email:
        try:
            email = normalize(EMAIL, email).value
            handles.append(Handle(EMAIL, email))
        except InvalidHandle:
            email = ""
    return handles, email
