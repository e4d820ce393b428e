"""CloudEvents 1.0 Kafka protocol binding, binary mode: attributes as ce_* headers, protobuf value.

Extension attributes: ce_brandid, ce_correlationid, ce_causationid. `ce_dataschema` names the
protobuf message type so any record (DLQ records included) decodes without out-of-band knowledge.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

from google.protobuf import symbol_database
from google.protobuf.message import DecodeError, Message

# Importing the generated modules registers every message type in the default symbol database.
from switchboard.events.v1 import (  # noqa: F401
    agent_pb2,
    common_pb2,
    conversation_pb2,
    escalation_pb2,
    inbound_pb2,
    notification_pb2,
    orders_pb2,
    routing_pb2,
    sla_pb2,
)

SPECVERSION = "1.0"
CONTENT_TYPE = "application/protobuf"
_NAMESPACE = uuid.UUID("5b8d0f4e-6a3c-4c1e-9d2a-7f0e3b9c1a44")
_SYMBOLS = symbol_database.Default()


def derived_id(*parts: object) -> str:
    """A deterministic event id from its cause: the same input always yields the same output id."""
    return str(uuid.uuid5(_NAMESPACE, "\x1f".join(str(p) for p in parts)))


def new_id() -> str:
    return str(uuid.uuid4())


class EnvelopeError(ValueError):
    """A record that is not a valid Switchboard CloudEvent; it belongs in the DLQ."""


def event_type(payload: Message) -> str:
    """ce_type: the message name, refined by the set oneof case of wrapper messages."""
    name = payload.DESCRIPTOR.full_name
    oneof = payload.DESCRIPTOR.oneofs_by_name.get("event") or payload.DESCRIPTOR.oneofs_by_name.get("command")
    if oneof is not None:
        case = payload.WhichOneof(oneof.name)
        if case:
            return f"{name}.{case}"
    return name


@dataclass(slots=True)
class Envelope:
    payload: Message
    id: str
    type: str
    source: str
    time: datetime
    brand_id: str = ""
    subject: str | None = None
    correlation_id: str | None = None
    causation_id: str | None = None
    key: bytes | None = None
    # Where it was read from (consumed records only).
    topic: str | None = None
    partition: int | None = None
    offset: int | None = None
    raw_headers: list[tuple[str, bytes]] = field(default_factory=list)
    # The record's value as read, when a consumer's decode= hook built this envelope from a record
    # that is not a protobuf payload (the DLQ then keeps the original bytes).
    raw_value: bytes | None = None

    @property
    def case(self) -> str | None:
        """The oneof case of a wrapper payload (e.g. "conversation_assigned")."""
        _, _, case = self.type.rpartition(".")
        return case if case and case[0].islower() else None

    def headers(self) -> list[tuple[str, bytes]]:
        h = [
            ("ce_specversion", SPECVERSION.encode()),
            ("ce_id", self.id.encode()),
            ("ce_source", self.source.encode()),
            ("ce_type", self.type.encode()),
            ("ce_time", _iso(self.time).encode()),
            ("ce_dataschema", self.payload.DESCRIPTOR.full_name.encode()),
            ("content-type", CONTENT_TYPE.encode()),
        ]
        if self.brand_id:
            h.append(("ce_brandid", self.brand_id.encode()))
        if self.subject:
            h.append(("ce_subject", self.subject.encode()))
        h.append(("ce_correlationid", (self.correlation_id or self.id).encode()))
        if self.causation_id:
            h.append(("ce_causationid", self.causation_id.encode()))
        return h


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def parse_time(value: str) -> datetime:
    dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def decode(value: bytes | None, headers: list[tuple[str, bytes]] | tuple, *, key: bytes | None = None,
           topic: str | None = None, partition: int | None = None, offset: int | None = None) -> Envelope:
    attrs: dict[str, str] = {}
    for name, raw in headers:
        try:
            attrs[name] = raw.decode() if raw is not None else ""
        except UnicodeDecodeError:
            raise EnvelopeError(f"header {name} is not UTF-8") from None
    if attrs.get("ce_specversion") != SPECVERSION:
        raise EnvelopeError(f"ce_specversion must be {SPECVERSION}, got {attrs.get('ce_specversion')!r}")
    for required in ("ce_id", "ce_source", "ce_type", "ce_dataschema"):
        if not attrs.get(required):
            raise EnvelopeError(f"missing header {required}")
    if not attrs.get("content-type", "").startswith(CONTENT_TYPE):
        raise EnvelopeError(f"content-type must be {CONTENT_TYPE}, got {attrs.get('content-type')!r}")
    try:
        message_class = _SYMBOLS.GetSymbol(attrs["ce_dataschema"])
    except KeyError:
        raise EnvelopeError(f"unknown message type {attrs['ce_dataschema']!r}") from None
    payload = message_class()
    try:
        payload.ParseFromString(value or b"")
    except DecodeError as exc:
        raise EnvelopeError(f"value is not a valid {attrs['ce_dataschema']}: {exc}") from None
    try:
        time = parse_time(attrs["ce_time"]) if attrs.get("ce_time") else datetime.now(UTC)
    except ValueError:
        raise EnvelopeError(f"ce_time is not RFC 3339: {attrs['ce_time']!r}") from None
    return Envelope(
        payload=payload, id=attrs["ce_id"], type=attrs["ce_type"], source=attrs["ce_source"], time=time,
        brand_id=attrs.get("ce_brandid", ""), subject=attrs.get("ce_subject"),
        correlation_id=attrs.get("ce_correlationid"), causation_id=attrs.get("ce_causationid"),
        key=key, topic=topic, partition=partition, offset=offset, raw_headers=list(headers),
    )
