"""Inbox list queries: validation of the query parameters, opaque cursors, stable sort.

Sort order (fixed, so pages never overlap or skip): updated time descending, then conversation id
descending. A cursor carries the last row's (updated_at, id) and a digest of the filters it was
issued for, so a cursor replayed with other filters is refused instead of silently skipping rows.
"""
from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from switchboard.console.domain.vocabulary import CHANNELS, PRIORITIES, SLA_STATES, STATUSES

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
MAX_Q = 100
ALLOWED_PARAMS = ("status", "queue", "assignee", "channel", "priority", "language", "sla_state", "q", "brand",
                  "cursor", "limit")


class FilterError(ValueError):
    """A query parameter the caller must fix; the message says how."""

    def __init__(self, param: str, message: str) -> None:
        super().__init__(message)
        self.param = param
        self.message = message


@dataclass(frozen=True)
class Cursor:
    updated_ms: int
    conversation_id: str


@dataclass(frozen=True)
class ListQuery:
    brands: tuple[str, ...]
    statuses: tuple[str, ...] = ()   # empty: any status
    queue: str | None = None
    assignee: str | None = None      # "" = unassigned
    channel: str | None = None
    priority: str | None = None
    language: str | None = None
    sla_state: str | None = None
    q: str | None = None             # lower-cased search text
    limit: int = DEFAULT_LIMIT
    after: Cursor | None = field(default=None, compare=False)

    def digest(self) -> str:
        """Identifies the filters (not the page): a cursor is only valid for the query it came from."""
        parts = [self.brands, self.statuses, self.queue, self.assignee, self.channel, self.priority,
                 self.language, self.sla_state, self.q]
        return hashlib.sha256(json.dumps(parts, default=list).encode()).hexdigest()[:12]


def _one_of(param: str, value: str, allowed: tuple[str, ...]) -> str:
    value = value.strip().lower()
    if value not in allowed:
        raise FilterError(param, f"{param} must be one of {', '.join(allowed)}; got {value!r}")
    return value


def _statuses(value: str) -> tuple[str, ...]:
    wanted: list[str] = []
    for part in (p.strip().lower() for p in value.split(",") if p.strip()):
        if part == "open":
            wanted.extend(s for s in STATUSES if s != "resolved")
        elif part == "any":
            return ()
        else:
            wanted.append(_one_of("status", part, ("open", "any", *STATUSES)))
    if not wanted:
        raise FilterError("status", "status must not be empty; use open, any, or a comma-separated list of "
                                    + ", ".join(STATUSES))
    return tuple(sorted(set(wanted), key=STATUSES.index))


def _limit(value: str | None) -> int:
    if value is None or value == "":
        return DEFAULT_LIMIT
    try:
        limit = int(value)
    except ValueError:
        raise FilterError("limit", f"limit must be a whole number from 1 to {MAX_LIMIT}; got {value!r}") from None
    if not 1 <= limit <= MAX_LIMIT:
        raise FilterError("limit", f"limit must be from 1 to {MAX_LIMIT}; got {limit}")
    return limit


def _text(param: str, value: str, max_length: int = 200) -> str:
    value = value.strip()
    if not value:
        raise FilterError(param, f"{param} must not be empty; leave it out to match any")
    if len(value) > max_length:
        raise FilterError(param, f"{param} must be at most {max_length} characters")
    return value


def _brands(value: str | None, viewer_brands: tuple[str, ...]) -> tuple[str, ...]:
    if value is None or value.strip() == "":
        return viewer_brands
    brand = value.strip()
    if brand not in viewer_brands:
        raise FilterError("brand", f"brand must be one of your brands ({', '.join(viewer_brands)}); got {brand!r}")
    return (brand,)


def _assignee(value: str, viewer_agent_id: str) -> str:
    value = _text("assignee", value)
    if value == "me":
        return viewer_agent_id
    return "" if value == "none" else value


def parse_list_query(params: Mapping[str, str], *, viewer_brands: tuple[str, ...], viewer_agent_id: str) -> ListQuery:
    """Raw query parameters -> a validated ListQuery, or FilterError naming the parameter to fix."""
    unknown = sorted(set(params) - set(ALLOWED_PARAMS))
    if unknown:
        raise FilterError(unknown[0], f"unknown parameter {unknown[0]!r}; allowed: {', '.join(ALLOWED_PARAMS)}")
    get = params.get
    query = ListQuery(
        brands=_brands(get("brand"), viewer_brands),
        statuses=_statuses(get("status")) if get("status") is not None else (),
        queue=_text("queue", get("queue")) if get("queue") is not None else None,
        assignee=_assignee(get("assignee"), viewer_agent_id) if get("assignee") is not None else None,
        channel=_one_of("channel", get("channel"), CHANNELS) if get("channel") is not None else None,
        priority=_one_of("priority", get("priority"), PRIORITIES) if get("priority") is not None else None,
        language=_text("language", get("language"), 35).lower() if get("language") is not None else None,
        sla_state=_one_of("sla_state", get("sla_state"), SLA_STATES) if get("sla_state") is not None else None,
        q=_text("q", get("q"), MAX_Q).lower() if get("q") is not None else None,
        limit=_limit(get("limit")),
    )
    cursor = get("cursor")
    if cursor:
        query = replace(query, after=decode_cursor(cursor, query.digest()))
    return query


def encode_cursor(last: Cursor, digest: str) -> str:
    raw = json.dumps({"u": last.updated_ms, "c": last.conversation_id, "f": digest},
                     separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(token: str, digest: str) -> Cursor:
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        if not isinstance(data["u"], int) or isinstance(data["u"], bool):
            raise TypeError("u")
        cursor = Cursor(data["u"], str(data["c"]))
        issued_for = data["f"]
    except (ValueError, KeyError, TypeError):
        raise FilterError("cursor", "cursor is not one this API issued; pass next_cursor from the previous page "
                                    "unchanged, or leave it out to start from the first page") from None
    if issued_for != digest:
        raise FilterError("cursor", "cursor belongs to a query with other filters; keep the filters of the "
                                    "first page, or leave cursor out to start again")
    return cursor
