from switchboard.events.v1 import agent_pb2 as _agent_pb2
from switchboard.events.v1 import inbound_pb2 as _inbound_pb2
from switchboard.events.v1 import orders_pb2 as _orders_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class RoutingRequest(_message.Message):
    __slots__ = ("brand_id", "inbound", "order", "command", "delta", "detected_language", "origin_source", "origin_topic", "origin_partition", "origin_offset", "origin_key", "rekeyed")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    INBOUND_FIELD_NUMBER: _ClassVar[int]
    ORDER_FIELD_NUMBER: _ClassVar[int]
    COMMAND_FIELD_NUMBER: _ClassVar[int]
    DELTA_FIELD_NUMBER: _ClassVar[int]
    DETECTED_LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    ORIGIN_SOURCE_FIELD_NUMBER: _ClassVar[int]
    ORIGIN_TOPIC_FIELD_NUMBER: _ClassVar[int]
    ORIGIN_PARTITION_FIELD_NUMBER: _ClassVar[int]
    ORIGIN_OFFSET_FIELD_NUMBER: _ClassVar[int]
    ORIGIN_KEY_FIELD_NUMBER: _ClassVar[int]
    REKEYED_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    inbound: _inbound_pb2.InboundEvent
    order: _orders_pb2.OrderEvent
    command: _agent_pb2.AgentCommand
    delta: ContactDelta
    detected_language: str
    origin_source: str
    origin_topic: str
    origin_partition: int
    origin_offset: int
    origin_key: bytes
    rekeyed: int
    def __init__(self, brand_id: _Optional[str] = ..., inbound: _Optional[_Union[_inbound_pb2.InboundEvent, _Mapping]] = ..., order: _Optional[_Union[_orders_pb2.OrderEvent, _Mapping]] = ..., command: _Optional[_Union[_agent_pb2.AgentCommand, _Mapping]] = ..., delta: _Optional[_Union[ContactDelta, _Mapping]] = ..., detected_language: _Optional[str] = ..., origin_source: _Optional[str] = ..., origin_topic: _Optional[str] = ..., origin_partition: _Optional[int] = ..., origin_offset: _Optional[int] = ..., origin_key: _Optional[bytes] = ..., rekeyed: _Optional[int] = ...) -> None: ...

class ContactDelta(_message.Message):
    __slots__ = ("input_id", "brand_id", "steps")
    INPUT_ID_FIELD_NUMBER: _ClassVar[int]
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    STEPS_FIELD_NUMBER: _ClassVar[int]
    input_id: str
    brand_id: str
    steps: bytes
    def __init__(self, input_id: _Optional[str] = ..., brand_id: _Optional[str] = ..., steps: _Optional[bytes] = ...) -> None: ...
