import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from switchboard.events.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class OrderEventKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ORDER_EVENT_KIND_UNSPECIFIED: _ClassVar[OrderEventKind]
    ORDER_EVENT_KIND_CREATED: _ClassVar[OrderEventKind]
    ORDER_EVENT_KIND_PAID: _ClassVar[OrderEventKind]
    ORDER_EVENT_KIND_SHIPPED: _ClassVar[OrderEventKind]
    ORDER_EVENT_KIND_DELAYED: _ClassVar[OrderEventKind]
    ORDER_EVENT_KIND_DELIVERED: _ClassVar[OrderEventKind]
    ORDER_EVENT_KIND_CANCELLED: _ClassVar[OrderEventKind]
    ORDER_EVENT_KIND_REFUNDED: _ClassVar[OrderEventKind]
ORDER_EVENT_KIND_UNSPECIFIED: OrderEventKind
ORDER_EVENT_KIND_CREATED: OrderEventKind
ORDER_EVENT_KIND_PAID: OrderEventKind
ORDER_EVENT_KIND_SHIPPED: OrderEventKind
ORDER_EVENT_KIND_DELAYED: OrderEventKind
ORDER_EVENT_KIND_DELIVERED: OrderEventKind
ORDER_EVENT_KIND_CANCELLED: OrderEventKind
ORDER_EVENT_KIND_REFUNDED: OrderEventKind

class OrderEvent(_message.Message):
    __slots__ = ("brand_id", "order_id", "kind", "occurred_at", "source", "customer_handles", "customer_name", "order_number", "currency", "total_minor_units", "carrier", "tracking_number", "tracking_url", "estimated_delivery", "reason", "external_event_id")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_HANDLES_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_NAME_FIELD_NUMBER: _ClassVar[int]
    ORDER_NUMBER_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    TOTAL_MINOR_UNITS_FIELD_NUMBER: _ClassVar[int]
    CARRIER_FIELD_NUMBER: _ClassVar[int]
    TRACKING_NUMBER_FIELD_NUMBER: _ClassVar[int]
    TRACKING_URL_FIELD_NUMBER: _ClassVar[int]
    ESTIMATED_DELIVERY_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    EXTERNAL_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    order_id: str
    kind: OrderEventKind
    occurred_at: _timestamp_pb2.Timestamp
    source: str
    customer_handles: _containers.RepeatedCompositeFieldContainer[_common_pb2.ContactHandle]
    customer_name: str
    order_number: str
    currency: str
    total_minor_units: int
    carrier: str
    tracking_number: str
    tracking_url: str
    estimated_delivery: _timestamp_pb2.Timestamp
    reason: str
    external_event_id: str
    def __init__(self, brand_id: _Optional[str] = ..., order_id: _Optional[str] = ..., kind: _Optional[_Union[OrderEventKind, str]] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., source: _Optional[str] = ..., customer_handles: _Optional[_Iterable[_Union[_common_pb2.ContactHandle, _Mapping]]] = ..., customer_name: _Optional[str] = ..., order_number: _Optional[str] = ..., currency: _Optional[str] = ..., total_minor_units: _Optional[int] = ..., carrier: _Optional[str] = ..., tracking_number: _Optional[str] = ..., tracking_url: _Optional[str] = ..., estimated_delivery: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., reason: _Optional[str] = ..., external_event_id: _Optional[str] = ...) -> None: ...
