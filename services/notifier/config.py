"""notifier.yaml: destinations, escalation routing, customer channel providers, SMTP, retry, CSAT.

Secrets (webhook URLs, signing keys, SMTP password, provider tokens) are never in this file:
entries name the secret to read from SWITCHBOARD_SECRETS_FILE (brand first, then global).
"""
from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from switchboard.common.config import load_config
from switchboard.notifier.domain.retry import RetryPolicy


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DestinationConfig(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    type: Literal["slack", "webhook", "email"]
    url: str | None = None            # webhook (or slack, for a non-secret test URL)
    url_secret: str | None = None     # secret name holding the URL (Slack incoming webhooks)
    signing_secret: str | None = None  # webhook: secret name(s) of the HMAC key, comma separated to rotate
    address: str | None = None         # email: the recipient (a team or on-call alias)
    concurrency: int = Field(default=4, ge=1, le=256)
    timeout_seconds: float = Field(default=10.0, gt=0, le=120)

    @model_validator(mode="after")
    def _needs_target(self) -> DestinationConfig:
        if self.type in ("slack", "webhook") and not (self.url or self.url_secret):
            raise ValueError(f"destination {self.id}: a {self.type} destination needs url or url_secret")
        if self.type == "email" and not self.address:
            raise ValueError(f"destination {self.id}: an email destination needs address")
        return self


class ProviderEndpoint(_Strict):
    api: Literal["twilio", "meta", "vk", "telegram", "webhook"]
    base_url: str
    concurrency: int = Field(default=8, ge=1, le=256)
    timeout_seconds: float = Field(default=10.0, gt=0, le=120)


class SmtpConfig(_Strict):
    host: str = "127.0.0.1"
    port: int = Field(default=587, ge=1, le=65535)
    starttls: bool = True          # upgrade a plain connection (port 587)
    use_tls: bool = False          # implicit TLS (port 465)
    validate_certs: bool = True
    ca_file: str | None = None     # CA bundle for a private SMTP relay's certificate
    username_secret: str | None = "smtp_username"
    password_secret: str | None = "smtp_password"
    from_address: str = "support@example.com"
    from_name: str = "{brand_name} Support"
    message_id_domain: str = "switchboard.local"
    concurrency: int = Field(default=4, ge=1, le=256)
    timeout_seconds: float = Field(default=20.0, gt=0, le=300)


class RetryConfig(_Strict):
    max_attempts: int = Field(default=10, ge=1, le=100)
    base_backoff_seconds: float = Field(default=2.0, gt=0)
    max_backoff_seconds: float = Field(default=300.0, gt=0)
    total_seconds: float = Field(default=3600.0, gt=0)

    def policy(self) -> RetryPolicy:
        return RetryPolicy(self.max_attempts, self.base_backoff_seconds, self.max_backoff_seconds,
                           self.total_seconds)


class CsatConfig(_Strict):
    min_score: int = 1
    max_score: int = 5
    once_per_conversation: bool = True


class TranscriptConfig(_Strict):
    # Customers opt out by a conversation/request variable; see README.
    opt_out_variable: str = "transcript_opt_out"


class BrandConfig(_Strict):
    name: str
    from_address: str | None = None
    from_name: str | None = None


class SchedulerConfig(_Strict):
    poll_seconds: float = Field(default=1.0, gt=0)        # re-scan for due work (multi-replica, expired leases)
    lease_seconds: float = Field(default=120.0, gt=0)     # an in-flight claim older than this is re-run
    # An expired lease is taken over only after the scanner has seen it expired (unchanged) this long:
    # after a store outage every lease looks expired at once, and the holder needs a moment to write
    # the outcome it kept in memory (it retries every <= 1 s) before anyone may send again.
    reclaim_grace_seconds: float = Field(default=5.0, ge=0)
    claim_batch: int = Field(default=200, ge=1, le=5000)
    # A final outcome's DeliveryRecorded is published before its outcome write; without the broker's
    # ack within this long the outcome is written as still to report (the reporter publishes it).
    report_ack_seconds: float = Field(default=2.0, gt=0, le=30)
    # Send first: intake sends new due entries before storing them and waits this long for their
    # outcomes, so a first-attempt delivery is one write (the entry in its final state). What is still
    # sending then goes in claimed, as with 0 (off: insert first, then send).
    send_first_seconds: float = Field(default=1.0, ge=0, le=30)


class NotifierConfig(_Strict):
    public_base_url: str = "http://127.0.0.1:8080"   # ingest's public origin (CSAT links)
    console_base_url: str = "http://127.0.0.1:8085"  # the console's origin (links for people)
    # Where links to a conversation point (escalations, CRM webhooks, assignment notices).
    # Placeholders: {console_base_url}, {public_base_url}, {conversation_id}, {brand_id}.
    conversation_link: str = "{console_base_url}/conversations/{conversation_id}"
    brands: dict[str, BrandConfig] = Field(default_factory=dict)
    destinations: list[DestinationConfig] = Field(default_factory=list)
    # escalation_routing: {"default": {level: [destination ids]}, "<brand_id>": {...}}
    escalation_routing: dict[str, dict[int, list[str]]] = Field(default_factory=dict)
    # assignment_notices: {"default": [destination ids], "<brand_id>": [...]}: where an agent is told
    # that a conversation was assigned to them. An email destination's address may name the agent
    # ("{agent_id}@acme.example"). Nothing configured for a brand: the notice is recorded as skipped.
    assignment_notices: dict[str, list[str]] = Field(default_factory=dict)
    customer_channels: dict[str, ProviderEndpoint] = Field(default_factory=dict)
    smtp: SmtpConfig = SmtpConfig()
    retry: RetryConfig = RetryConfig()
    csat: CsatConfig = CsatConfig()
    transcript: TranscriptConfig = TranscriptConfig()
    scheduler: SchedulerConfig = SchedulerConfig()

    @field_validator("customer_channels")
    @classmethod
    def _known_channels(cls, value: dict[str, ProviderEndpoint]) -> dict[str, ProviderEndpoint]:
        known = {"sms", "whatsapp", "messenger", "vk", "telegram", "chat", "marketplace", "web_form", "phone"}
        unknown = set(value) - known
        if unknown:
            raise ValueError(f"unknown channels {sorted(unknown)}; expected some of {sorted(known)}")
        return value

    @model_validator(mode="after")
    def _routing_targets_exist(self) -> NotifierConfig:
        ids = [d.id for d in self.destinations]
        duplicates = {i for i in ids if ids.count(i) > 1}
        if duplicates:
            raise ValueError(f"duplicate destination ids {sorted(duplicates)}")
        for scope, levels in self.escalation_routing.items():
            for level, targets in levels.items():
                missing = set(targets) - set(ids)
                if missing:
                    raise ValueError(f"escalation_routing.{scope}.{level} names unknown destinations {sorted(missing)}")
        for scope, targets in self.assignment_notices.items():
            missing = set(targets) - set(ids)
            if missing:
                raise ValueError(f"assignment_notices.{scope} names unknown destinations {sorted(missing)}")
        return self

    def link(self, conversation_id: str, brand_id: str) -> str:
        """The console page of a conversation, as people's messages link to it."""
        return self.conversation_link.format(
            console_base_url=self.console_base_url.rstrip("/"), public_base_url=self.public_base_url.rstrip("/"),
            conversation_id=conversation_id, brand_id=brand_id)

    def assignment_destinations(self, brand_id: str) -> list[str]:
        """The brand's assignment-notice destinations, else the default's."""
        for scope in (brand_id, "default"):
            if scope in self.assignment_notices:
                return list(dict.fromkeys(self.assignment_notices[scope]))
        return []

    def destination(self, destination_id: str) -> DestinationConfig | None:
        return next((d for d in self.destinations if d.id == destination_id), None)

    def brand_name(self, brand_id: str) -> str:
        brand = self.brands.get(brand_id)
        return brand.name if brand else brand_id


def load_notifier_config(config_dir: Path) -> NotifierConfig:
    return load_config(Path(config_dir) / "notifier.yaml", NotifierConfig)
