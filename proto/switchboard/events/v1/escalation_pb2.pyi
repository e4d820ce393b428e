import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from switchboard.events.v1 import common_pb2 as _common_pb2
from switchboard.events.v1 import sla_pb2 as _sla_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class EscalationReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ESCALATION_REASON_UNSPECIFIED: _ClassVar[EscalationReason]
    ESCALATION_REASON_SLA_BREACHED: _ClassVar[EscalationReason]
    ESCALATION_REASON_NOT_ACKNOWLEDGED: _ClassVar[EscalationReason]
    ESCALATION_REASON_REPEAT_CONTACT: _ClassVar[EscalationReason]
    ESCALATION_REASON_REASSIGNED_TOO_OFTEN: _ClassVar[EscalationReason]
    ESCALATION_REASON_ASSIGNEE_UNAVAILABLE: _ClassVar[EscalationReason]
ESCALATION_REASON_UNSPECIFIED: EscalationReason
ESCALATION_REASON_SLA_BREACHED: EscalationReason
ESCALATION_REASON_NOT_ACKNOWLEDGED: EscalationReason
ESCALATION_REASON_REPEAT_CONTACT: EscalationReason
ESCALATION_REASON_REASSIGNED_TOO_OFTEN: EscalationReason
ESCALATION_REASON_ASSIGNEE_UNAVAILABLE: EscalationReason

class EscalationRaised(_message.Message):
    __slots__ = ("brand_id", "escalation_id", "conversation", "level", "level_name", "reason", "metric", "instance", "deadline", "breached_at", "raised_at", "recipients", "destinations", "detail", "target_seconds")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    ESCALATION_ID_FIELD_NUMBER: _ClassVar[int]
    CONVERSATION_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    LEVEL_NAME_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    METRIC_FIELD_NUMBER: _ClassVar[int]
    INSTANCE_FIELD_NUMBER: _ClassVar[int]
    DEADLINE_FIELD_NUMBER: _ClassVar[int]
    BREACHED_AT_FIELD_NUMBER: _ClassVar[int]
    RAISED_AT_FIELD_NUMBER: _ClassVar[int]
    RECIPIENTS_FIELD_NUMBER: _ClassVar[int]
    DESTINATIONS_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    TARGET_SECONDS_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    escalation_id: str
    conversation: _common_pb2.ConversationSnapshot
    level: int
    level_name: str
    reason: EscalationReason
    metric: _sla_pb2.SlaMetric
    instance: int
    deadline: _timestamp_pb2.Timestamp
    breached_at: _timestamp_pb2.Timestamp
    raised_at: _timestamp_pb2.Timestamp
    recipients: _containers.RepeatedScalarFieldContainer[str]
    destinations: _containers.RepeatedScalarFieldContainer[str]
    detail: str
    target_seconds: int
    def __init__(self, brand_id: _Optional[str] = ..., escalation_id: _Optional[str] = ..., conversation: _Optional[_Union[_common_pb2.ConversationSnapshot, _Mapping]] = ..., level: _Optional[int] = ..., level_name: _Optional[str] = ..., reason: _Optional[_Union[EscalationReason, str]] = ..., metric: _Optional[_Union[_sla_pb2.SlaMetric, str]] = ..., instance: _Optional[int] = ..., deadline: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., breached_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., raised_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., recipients: _Optional[_Iterable[str]] = ..., destinations: _Optional[_Iterable[str]] = ..., detail: _Optional[str] = ..., target_seconds: _Optional[int] = ...) -> None: ...
