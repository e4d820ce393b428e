"""The one port every provider adapter implements.

An adapter is pure: it checks the provider's signature and turns the provider's documented payload
into proto events. Adding a provider = one module here + one line in registry.py.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import ClassVar, Protocol

from switchboard.ingest.domain.errors import InvalidField, NotFound
from switchboard.ingest.domain.model import BrandSecrets, WebhookOutcome, WebhookRequest


@dataclass(frozen=True, slots=True)
class AdapterContext:
    brand_id: str
    secrets: BrandSecrets
    now: datetime
    replay_window: timedelta = timedelta(minutes=15)

    def secret(self, name: str) -> str:
        value = self.secrets.get(name)
        if not value:
            # The provider is not enabled for this brand: same answer as an unknown provider.
            raise NotFound(f"provider is not configured for brand {self.brand_id} (missing {name})")
        return str(value)


class ProviderAdapter(Protocol):
    name: ClassVar[str]
    # OpenAPI: the media type the provider posts and one documented example body.
    media_type: ClassVar[str]
    summary: ClassVar[str]

    def handshake(self, request: WebhookRequest, ctx: AdapterContext) -> WebhookOutcome:
        """GET verification handshakes (Meta). Adapters without one raise NotFound."""
        ...

    def verify(self, request: WebhookRequest, ctx: AdapterContext) -> None:
        """Raises Unauthenticated / SignatureMismatch; nothing is parsed before this passes."""
        ...

    def normalize(self, request: WebhookRequest, ctx: AdapterContext) -> WebhookOutcome:
        """Raises BadRequest / InvalidField for malformed input; never anything else."""
        ...


class NoHandshake:
    def handshake(self, request: WebhookRequest, ctx: AdapterContext) -> WebhookOutcome:
        raise NotFound("this provider has no GET handshake")


def as_dict(value: object, field: str) -> dict:
    if not isinstance(value, dict):
        raise InvalidField(f"{field} must be an object", field=field)
    return value


def as_list(value: object, field: str) -> list:
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidField(f"{field} must be an array", field=field)
    return value


def as_str(value: object, field: str, *, required: bool = True) -> str:
    if value is None or value == "":
        if required:
            raise InvalidField(f"{field} is required", field=field)
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise InvalidField(f"{field} must be a string", field=field)
    return str(value)


def unix_time(value: object, field: str, *, millis: bool = False) -> datetime:
    from datetime import UTC
    try:
        number = float(value)  # type: ignore[arg-type]
        if isinstance(value, bool):
            raise TypeError
        return datetime.fromtimestamp(number / 1000 if millis else number, UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        raise InvalidField(f"{field} must be a unix timestamp", field=field) from None


def parse_json_object(body: bytes) -> dict:
    import json
    try:
        value = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise InvalidField("body is not valid JSON", field="body") from None
    if not isinstance(value, dict):
        raise InvalidField("body must be a JSON object", field="body")
    return value


def normalize_checked(adapter: ProviderAdapter, request: WebhookRequest, ctx: AdapterContext) -> WebhookOutcome:
    """adapter.normalize, with text that protobuf cannot carry (JSON "\\ud800": an unpaired surrogate)
    turned into a 400 instead of a crash."""
    try:
        return adapter.normalize(request, ctx)
    except UnicodeError:
        from switchboard.ingest.domain.errors import BadRequest
        raise BadRequest("body contains invalid Unicode (an unpaired surrogate escape)", field="body") from None
