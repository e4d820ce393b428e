"""Wire <-> domain conversions shared by every service's codec: enum names and timestamps.

Domain code speaks lower-case names ("email", "first_response") and timezone-aware UTC datetimes;
the wire speaks protobuf enums (CHANNEL_EMAIL) and google.protobuf.Timestamp. Only codecs
(`services/<name>/adapters/codec.py`) import this module; domain code never does.
"""
from __future__ import annotations

from datetime import UTC, datetime

from google.protobuf.timestamp_pb2 import Timestamp


def enum_name(enum, value: int, prefix: str) -> str:
    """CHANNEL_EMAIL -> "email"; *_UNSPECIFIED and numbers the enum does not know -> ""."""
    try:
        name = enum.Name(value)
    except ValueError:
        return ""
    return "" if name.endswith("_UNSPECIFIED") else name.removeprefix(prefix).lower()


def enum_value(enum, name: str, prefix: str) -> int:
    """"email" -> CHANNEL_EMAIL; "" or an unknown name -> 0 (the *_UNSPECIFIED value)."""
    if not name:
        return 0
    try:
        return enum.Value(prefix + name.upper())
    except ValueError:
        return 0


def to_datetime(ts: Timestamp, fallback: datetime | None = None) -> datetime | None:
    """A set Timestamp -> aware UTC datetime; an unset one (0, 0) -> `fallback`."""
    if ts.seconds == 0 and ts.nanos == 0:
        return fallback
    return ts.ToDatetime(tzinfo=UTC)


def to_timestamp(dt: datetime | None) -> Timestamp | None:
    """Aware (or naive UTC) datetime -> Timestamp; None stays None (the field is left unset)."""
    if dt is None:
        return None
    ts = Timestamp()
    ts.FromDatetime(dt if dt.tzinfo else dt.replace(tzinfo=UTC))
    return ts
