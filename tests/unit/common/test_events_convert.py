"""The one place enum names and timestamps cross between the wire and the domain."""
from __future__ import annotations

from datetime import UTC, datetime

from google.protobuf.timestamp_pb2 import Timestamp
from switchboard.events import convert
from switchboard.events.v1 import common_pb2


def test_enum_names_round_trip_and_unknown_values_read_as_empty():
    assert convert.enum_name(common_pb2.Channel, common_pb2.CHANNEL_WHATSAPP, "CHANNEL_") == "whatsapp"
    assert convert.enum_value(common_pb2.Channel, "whatsapp", "CHANNEL_") == common_pb2.CHANNEL_WHATSAPP
    assert convert.enum_name(common_pb2.Channel, common_pb2.CHANNEL_UNSPECIFIED, "CHANNEL_") == ""
    assert convert.enum_name(common_pb2.Channel, 9999, "CHANNEL_") == ""  # a newer producer's value
    assert convert.enum_value(common_pb2.Channel, "carrier_pigeon", "CHANNEL_") == 0
    assert convert.enum_value(common_pb2.Channel, "", "CHANNEL_") == 0


def test_timestamps_keep_microseconds_in_utc_and_unset_means_fallback():
    at = datetime(2026, 12, 5, 7, 30, 1, 123456, tzinfo=UTC)
    assert convert.to_datetime(convert.to_timestamp(at)) == at
    assert convert.to_datetime(convert.to_timestamp(at.replace(tzinfo=None))) == at  # naive = UTC
    assert convert.to_datetime(Timestamp(), fallback=at) == at
    assert convert.to_datetime(Timestamp()) is None
    assert convert.to_timestamp(None) is None
