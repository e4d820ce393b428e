"""Ingest settings: environment (SWITCHBOARD_*) for deployment facts, ingest.yaml for behaviour."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field
from switchboard.common.config import load_config
from switchboard.common.settings import KafkaSettings, ServiceSettings


class IngestSettings(ServiceSettings):
    # Public URL providers call (scheme://host[:port]); Twilio signs it, CSAT links use it.
    # Unset: the URL of the request as it reached us (fine without a rewriting proxy).
    public_base_url: str | None = None
    # Providers time out webhooks after ~10-15 s: give up on the broker well before that.
    # Low linger: every webhook waits for its ack, so linger is pure latency (batches form under load anyway).
    kafka: KafkaSettings = KafkaSettings(request_timeout_ms=5_000, linger_ms=1)


class DedupeConfig(BaseModel):
    # preload_and_tail: hot path reads only memory (see adapters/dedupe.py); lookup: MongoDB on every miss.
    mode: Literal["preload_and_tail", "lookup"] = "preload_and_tail"
    cache_size: int = Field(default=500_000, ge=1000)
    ttl_days: int = Field(default=7, ge=1)
    preload_hours: float = Field(default=24, gt=0)
    tail_interval_seconds: float = Field(default=1.0, gt=0)


class IngestConfig(BaseModel):
    """config/<env>/ingest.yaml"""

    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    replay_window_seconds: int = Field(default=900, ge=1)
    retry_after_seconds: int = Field(default=5, ge=1)
    publish_timeout_seconds: float = Field(default=8.0, gt=0)
    orders_consumer_group: str = "switchboard-ingest-orders-external"
    dedupe: DedupeConfig = DedupeConfig()


def load_ingest_config(settings: ServiceSettings) -> IngestConfig:
    path = settings.config_dir / "ingest.yaml"
    return load_config(path, IngestConfig) if path.exists() else IngestConfig()
