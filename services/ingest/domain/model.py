"""What every provider adapter receives and returns; plain data, no framework types."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

Stream = Literal["inbound", "orders", "agent_commands"]


@dataclass(frozen=True, slots=True)
class WebhookRequest:
    """An HTTP request as the provider sent it.

    `url` is the public URL the provider called (scheme, host, path, query): signature schemes
    such as Twilio's sign it, so behind a proxy it is rebuilt from the configured public base URL.
    """

    method: str
    url: str
    headers: Mapping[str, str]  # lower-case names
    query: tuple[tuple[str, str], ...]
    body: bytes
    content_type: str = ""       # media type only, lower-case
    content_type_header: str = ""

    def header(self, name: str) -> str | None:
        return self.headers.get(name)

    def query_value(self, name: str) -> str | None:
        for key, value in self.query:
            if key == name:
                return value
        return None


@dataclass(slots=True)
class Outgoing:
    """One normalized event to publish durably.

    `dedupe_id` is unique per provider message and state (e.g. "twilio:SM123" or
    "twilio:SM123:delivered"); the event id is derived from (brand, dedupe_id), so a
    provider retry maps onto the same event id even if it slips past ingest's dedupe.
    `payload` is a domain event (domain/events.py, domain/agent.py) as the domain builds it, and
    the protobuf message once adapters/codec.py encoded it (providers build that at the edge).
    """

    stream: Stream
    key: str
    payload: Any
    dedupe_id: str
    time: datetime
    subject: str | None = None


@dataclass(slots=True)
class WebhookOutcome:
    events: list[Outgoing] = field(default_factory=list)
    # What the provider expects back on success (VK wants "ok", handshakes want the challenge).
    reply: str | dict[str, Any] | None = None
    media_type: str = "application/json"
    ignored: str | None = None   # why nothing was produced (unsupported topic, typing event ...)


BrandSecrets = Mapping[str, Any]
