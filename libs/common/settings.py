"""Typed settings shared by every service (pydantic-settings, env prefix SWITCHBOARD_, nested with __)."""
from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, BaseModel, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class KafkaSettings(BaseModel):
    bootstrap_servers: str = "127.0.0.1:9092"
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = None
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ssl_cafile: Path | None = None
    # Off by default: the embedded Tansu broker rejects InitProducerId. The Helm chart turns it on.
    idempotent_producer: bool = False
    topic_prefix: str = ""
    create_topics: bool = True
    replication_factor: int = Field(default=1, ge=1)
    client_id: str = "switchboard"
    # 0: every producer here waits for its acks right after sending (a consumer drains its batch's
    # output before committing; ingest answers each webhook after its ack), so lingering only adds
    # latency. Records still batch up while a request to the broker is in flight.
    linger_ms: int = Field(default=0, ge=0)
    max_batch_bytes: int = Field(default=256 * 1024, ge=1024)
    request_timeout_ms: int = Field(default=15_000, ge=1000)
    # Group tuning: the defaults suit real Kafka; tests shorten them (Tansu joins take ~half the session timeout).
    session_timeout_ms: int = Field(default=10_000, ge=1000)
    heartbeat_interval_ms: int = Field(default=3_000, ge=100)
    max_poll_interval_ms: int = Field(default=300_000, ge=1000)


def connection_options(kafka: KafkaSettings) -> dict:
    """aiokafka client options (bootstrap, security, timeouts) shared by producer, consumer and admin."""
    options: dict = {"bootstrap_servers": kafka.bootstrap_servers, "security_protocol": kafka.security_protocol,
                     "client_id": kafka.client_id, "request_timeout_ms": kafka.request_timeout_ms}
    if kafka.security_protocol in ("SSL", "SASL_SSL"):
        from aiokafka.helpers import create_ssl_context

        options["ssl_context"] = create_ssl_context(cafile=str(kafka.ssl_cafile) if kafka.ssl_cafile else None)
    if kafka.security_protocol.startswith("SASL"):
        options["sasl_mechanism"] = kafka.sasl_mechanism or "SCRAM-SHA-512"
        options["sasl_plain_username"] = kafka.sasl_username
        options["sasl_plain_password"] = kafka.sasl_password.get_secret_value() if kafka.sasl_password else None
    return options


class MongoSettings(BaseModel):
    uri: SecretStr = SecretStr("mongodb://127.0.0.1:27017/?directConnection=true")
    database: str = "switchboard"
    server_selection_timeout_ms: int = Field(default=5_000, ge=100)
    # How often expired documents (dedupe records, fired timers, ...) are deleted: see expiry.py.
    sweep_interval_seconds: float = Field(default=300.0, gt=0)
    # Commands taking at least this long are logged with their filter's shape (mongo_writes.py); 0: none.
    slow_command_ms: float = Field(default=250.0, ge=0)


class HttpSettings(BaseModel):
    host: str = "0.0.0.0"
    port: int = Field(default=8080, ge=0, le=65535)


class ConsumerSettings(BaseModel):
    max_batch_records: int = Field(default=500, ge=1)
    poll_timeout_ms: int = Field(default=200, ge=1)
    # How long the broker may hold a fetch that found nothing: the floor of a record's wait on a quiet
    # topic at each stage (Kafka's default of 500 ms made that the largest part of end-to-end latency).
    # Not lower: every idle consumer polls that often, and an idle five-service stack on the embedded
    # broker burned 69% of a core at 10 ms, 45% at 50 ms and 19% at 100 ms (docs/performance.md).
    fetch_max_wait_ms: int = Field(default=100, ge=1)
    # After a batch is taken, wait this long for records that arrived while the previous batch was
    # handled. The client fetches a partition again only once its buffered records are taken, so
    # without this a record that lands after its partition's prefetch waits a whole extra batch.
    top_up_ms: int = Field(default=5, ge=0)
    # Unknown errors: how often one record is retried before it goes to the DLQ.
    max_attempts: int = Field(default=3, ge=1)
    retry_backoff_ms: int = Field(default=100, ge=0)
    retry_backoff_max_ms: int = Field(default=10_000, ge=0)
    shutdown_timeout_seconds: float = Field(default=20.0, gt=0)
    dedupe_ttl_days: int = Field(default=7, ge=1)


def group_id_setting(default: str):
    """A service's consumer group, one spelling everywhere: `group_id`, env SWITCHBOARD_GROUP_ID, or the
    older SWITCHBOARD_CONSUMER_GROUP (GROUP_ID wins when both are set). pydantic-settings does not put
    the env prefix in front of a validation alias, so the aliases carry it; bare GROUP_ID is not read."""
    return Field(default=default, validation_alias=AliasChoices("switchboard_group_id", "switchboard_consumer_group"))


class ServiceSettings(BaseSettings):
    """Base settings; each service subclasses it and adds its own fields."""

    # populate_by_name: Settings(group_id=...) in code and tests, beside the env aliases above.
    model_config = SettingsConfigDict(env_prefix="SWITCHBOARD_", env_nested_delimiter="__", extra="ignore",
                                      populate_by_name=True)

    kafka: KafkaSettings = KafkaSettings()
    mongo: MongoSettings = MongoSettings()
    http: HttpSettings = HttpSettings()
    consumer: ConsumerSettings = ConsumerSettings()
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    config_dir: Path = Path("config/default")
    secrets_file: Path | None = None
