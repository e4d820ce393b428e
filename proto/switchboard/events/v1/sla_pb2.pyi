import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from switchboard.events.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SlaMetric(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SLA_METRIC_UNSPECIFIED: _ClassVar[SlaMetric]
    SLA_METRIC_FIRST_RESPONSE: _ClassVar[SlaMetric]
    SLA_METRIC_NEXT_RESPONSE: _ClassVar[SlaMetric]
    SLA_METRIC_RESOLUTION: _ClassVar[SlaMetric]
    SLA_METRIC_PHONE_ANSWER: _ClassVar[SlaMetric]
    SLA_METRIC_AGENT_FIRST_RESPONSE: _ClassVar[SlaMetric]
SLA_METRIC_UNSPECIFIED: SlaMetric
SLA_METRIC_FIRST_RESPONSE: SlaMetric
SLA_METRIC_NEXT_RESPONSE: SlaMetric
SLA_METRIC_RESOLUTION: SlaMetric
SLA_METRIC_PHONE_ANSWER: SlaMetric
SLA_METRIC_AGENT_FIRST_RESPONSE: SlaMetric

class SlaEvent(_message.Message):
    __slots__ = ("brand_id", "conversation", "metric", "instance", "policy_id", "deadline", "target_seconds", "business_hours", "calendar_id", "sla_applied", "sla_warning_raised", "sla_breached", "sla_fulfilled", "sla_paused", "sla_resumed", "sla_reapplied", "sla_cancelled")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    CONVERSATION_FIELD_NUMBER: _ClassVar[int]
    METRIC_FIELD_NUMBER: _ClassVar[int]
    INSTANCE_FIELD_NUMBER: _ClassVar[int]
    POLICY_ID_FIELD_NUMBER: _ClassVar[int]
    DEADLINE_FIELD_NUMBER: _ClassVar[int]
    TARGET_SECONDS_FIELD_NUMBER: _ClassVar[int]
    BUSINESS_HOURS_FIELD_NUMBER: _ClassVar[int]
    CALENDAR_ID_FIELD_NUMBER: _ClassVar[int]
    SLA_APPLIED_FIELD_NUMBER: _ClassVar[int]
    SLA_WARNING_RAISED_FIELD_NUMBER: _ClassVar[int]
    SLA_BREACHED_FIELD_NUMBER: _ClassVar[int]
    SLA_FULFILLED_FIELD_NUMBER: _ClassVar[int]
    SLA_PAUSED_FIELD_NUMBER: _ClassVar[int]
    SLA_RESUMED_FIELD_NUMBER: _ClassVar[int]
    SLA_REAPPLIED_FIELD_NUMBER: _ClassVar[int]
    SLA_CANCELLED_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    conversation: _common_pb2.ConversationSnapshot
    metric: SlaMetric
    instance: int
    policy_id: str
    deadline: _timestamp_pb2.Timestamp
    target_seconds: int
    business_hours: bool
    calendar_id: str
    sla_applied: SlaApplied
    sla_warning_raised: SlaWarningRaised
    sla_breached: SlaBreached
    sla_fulfilled: SlaFulfilled
    sla_paused: SlaPaused
    sla_resumed: SlaResumed
    sla_reapplied: SlaReapplied
    sla_cancelled: SlaCancelled
    def __init__(self, brand_id: _Optional[str] = ..., conversation: _Optional[_Union[_common_pb2.ConversationSnapshot, _Mapping]] = ..., metric: _Optional[_Union[SlaMetric, str]] = ..., instance: _Optional[int] = ..., policy_id: _Optional[str] = ..., deadline: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., target_seconds: _Optional[int] = ..., business_hours: _Optional[bool] = ..., calendar_id: _Optional[str] = ..., sla_applied: _Optional[_Union[SlaApplied, _Mapping]] = ..., sla_warning_raised: _Optional[_Union[SlaWarningRaised, _Mapping]] = ..., sla_breached: _Optional[_Union[SlaBreached, _Mapping]] = ..., sla_fulfilled: _Optional[_Union[SlaFulfilled, _Mapping]] = ..., sla_paused: _Optional[_Union[SlaPaused, _Mapping]] = ..., sla_resumed: _Optional[_Union[SlaResumed, _Mapping]] = ..., sla_reapplied: _Optional[_Union[SlaReapplied, _Mapping]] = ..., sla_cancelled: _Optional[_Union[SlaCancelled, _Mapping]] = ...) -> None: ...

class SlaApplied(_message.Message):
    __slots__ = ("started_at",)
    STARTED_AT_FIELD_NUMBER: _ClassVar[int]
    started_at: _timestamp_pb2.Timestamp
    def __init__(self, started_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class SlaWarningRaised(_message.Message):
    __slots__ = ("fraction_elapsed", "seconds_left", "detected_at")
    FRACTION_ELAPSED_FIELD_NUMBER: _ClassVar[int]
    SECONDS_LEFT_FIELD_NUMBER: _ClassVar[int]
    DETECTED_AT_FIELD_NUMBER: _ClassVar[int]
    fraction_elapsed: float
    seconds_left: int
    detected_at: _timestamp_pb2.Timestamp
    def __init__(self, fraction_elapsed: _Optional[float] = ..., seconds_left: _Optional[int] = ..., detected_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class SlaBreached(_message.Message):
    __slots__ = ("detected_at", "late_by_ms")
    DETECTED_AT_FIELD_NUMBER: _ClassVar[int]
    LATE_BY_MS_FIELD_NUMBER: _ClassVar[int]
    detected_at: _timestamp_pb2.Timestamp
    late_by_ms: int
    def __init__(self, detected_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., late_by_ms: _Optional[int] = ...) -> None: ...

class SlaFulfilled(_message.Message):
    __slots__ = ("fulfilled_at", "elapsed_business_seconds", "elapsed_calendar_seconds", "breached")
    FULFILLED_AT_FIELD_NUMBER: _ClassVar[int]
    ELAPSED_BUSINESS_SECONDS_FIELD_NUMBER: _ClassVar[int]
    ELAPSED_CALENDAR_SECONDS_FIELD_NUMBER: _ClassVar[int]
    BREACHED_FIELD_NUMBER: _ClassVar[int]
    fulfilled_at: _timestamp_pb2.Timestamp
    elapsed_business_seconds: int
    elapsed_calendar_seconds: int
    breached: bool
    def __init__(self, fulfilled_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., elapsed_business_seconds: _Optional[int] = ..., elapsed_calendar_seconds: _Optional[int] = ..., breached: _Optional[bool] = ...) -> None: ...

class SlaPaused(_message.Message):
    __slots__ = ("paused_at", "remaining_seconds", "reason_status")
    PAUSED_AT_FIELD_NUMBER: _ClassVar[int]
    REMAINING_SECONDS_FIELD_NUMBER: _ClassVar[int]
    REASON_STATUS_FIELD_NUMBER: _ClassVar[int]
    paused_at: _timestamp_pb2.Timestamp
    remaining_seconds: int
    reason_status: _common_pb2.ConversationStatus
    def __init__(self, paused_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., remaining_seconds: _Optional[int] = ..., reason_status: _Optional[_Union[_common_pb2.ConversationStatus, str]] = ...) -> None: ...

class SlaResumed(_message.Message):
    __slots__ = ("resumed_at", "remaining_seconds")
    RESUMED_AT_FIELD_NUMBER: _ClassVar[int]
    REMAINING_SECONDS_FIELD_NUMBER: _ClassVar[int]
    resumed_at: _timestamp_pb2.Timestamp
    remaining_seconds: int
    def __init__(self, resumed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., remaining_seconds: _Optional[int] = ...) -> None: ...

class SlaReapplied(_message.Message):
    __slots__ = ("previous_policy_id", "previous_deadline", "reason")
    PREVIOUS_POLICY_ID_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_DEADLINE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    previous_policy_id: str
    previous_deadline: _timestamp_pb2.Timestamp
    reason: str
    def __init__(self, previous_policy_id: _Optional[str] = ..., previous_deadline: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., reason: _Optional[str] = ...) -> None: ...

class SlaCancelled(_message.Message):
    __slots__ = ("reason",)
    REASON_FIELD_NUMBER: _ClassVar[int]
    reason: str
    def __init__(self, reason: _Optional[str] = ...) -> None: ...
