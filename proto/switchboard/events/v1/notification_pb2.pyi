import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from switchboard.events.v1 import common_pb2 as _common_pb2
from switchboard.events.v1 import escalation_pb2 as _escalation_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class NotificationKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    NOTIFICATION_KIND_UNSPECIFIED: _ClassVar[NotificationKind]
    NOTIFICATION_KIND_BOT_ANSWER: _ClassVar[NotificationKind]
    NOTIFICATION_KIND_AGENT_REPLY: _ClassVar[NotificationKind]
    NOTIFICATION_KIND_TRANSCRIPT: _ClassVar[NotificationKind]
    NOTIFICATION_KIND_CSAT_SURVEY: _ClassVar[NotificationKind]
    NOTIFICATION_KIND_PROACTIVE_UPDATE: _ClassVar[NotificationKind]
    NOTIFICATION_KIND_QUEUE_POSITION: _ClassVar[NotificationKind]
    NOTIFICATION_KIND_ESCALATION: _ClassVar[NotificationKind]
    NOTIFICATION_KIND_AGENT_ASSIGNED: _ClassVar[NotificationKind]

class DeliveryOutcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DELIVERY_OUTCOME_UNSPECIFIED: _ClassVar[DeliveryOutcome]
    DELIVERY_OUTCOME_DELIVERED: _ClassVar[DeliveryOutcome]
    DELIVERY_OUTCOME_FAILED: _ClassVar[DeliveryOutcome]
    DELIVERY_OUTCOME_SKIPPED: _ClassVar[DeliveryOutcome]
NOTIFICATION_KIND_UNSPECIFIED: NotificationKind
NOTIFICATION_KIND_BOT_ANSWER: NotificationKind
NOTIFICATION_KIND_AGENT_REPLY: NotificationKind
NOTIFICATION_KIND_TRANSCRIPT: NotificationKind
NOTIFICATION_KIND_CSAT_SURVEY: NotificationKind
NOTIFICATION_KIND_PROACTIVE_UPDATE: NotificationKind
NOTIFICATION_KIND_QUEUE_POSITION: NotificationKind
NOTIFICATION_KIND_ESCALATION: NotificationKind
NOTIFICATION_KIND_AGENT_ASSIGNED: NotificationKind
DELIVERY_OUTCOME_UNSPECIFIED: DeliveryOutcome
DELIVERY_OUTCOME_DELIVERED: DeliveryOutcome
DELIVERY_OUTCOME_FAILED: DeliveryOutcome
DELIVERY_OUTCOME_SKIPPED: DeliveryOutcome

class AgentAssignment(_message.Message):
    __slots__ = ("agent_id", "agent_name", "rule", "explanation", "previous_agent_id")
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    AGENT_NAME_FIELD_NUMBER: _ClassVar[int]
    RULE_FIELD_NUMBER: _ClassVar[int]
    EXPLANATION_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    agent_id: str
    agent_name: str
    rule: str
    explanation: str
    previous_agent_id: str
    def __init__(self, agent_id: _Optional[str] = ..., agent_name: _Optional[str] = ..., rule: _Optional[str] = ..., explanation: _Optional[str] = ..., previous_agent_id: _Optional[str] = ...) -> None: ...

class NotificationRequested(_message.Message):
    __slots__ = ("brand_id", "intent_id", "kind", "conversation", "template", "language", "variables", "text", "recipient", "channel", "escalation", "requested_at", "not_before", "assignment")
    class VariablesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    INTENT_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    CONVERSATION_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    VARIABLES_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    RECIPIENT_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    ESCALATION_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_AT_FIELD_NUMBER: _ClassVar[int]
    NOT_BEFORE_FIELD_NUMBER: _ClassVar[int]
    ASSIGNMENT_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    intent_id: str
    kind: NotificationKind
    conversation: _common_pb2.ConversationSnapshot
    template: str
    language: str
    variables: _containers.ScalarMap[str, str]
    text: str
    recipient: _common_pb2.ContactHandle
    channel: _common_pb2.Channel
    escalation: _escalation_pb2.EscalationRaised
    requested_at: _timestamp_pb2.Timestamp
    not_before: _timestamp_pb2.Timestamp
    assignment: AgentAssignment
    def __init__(self, brand_id: _Optional[str] = ..., intent_id: _Optional[str] = ..., kind: _Optional[_Union[NotificationKind, str]] = ..., conversation: _Optional[_Union[_common_pb2.ConversationSnapshot, _Mapping]] = ..., template: _Optional[str] = ..., language: _Optional[str] = ..., variables: _Optional[_Mapping[str, str]] = ..., text: _Optional[str] = ..., recipient: _Optional[_Union[_common_pb2.ContactHandle, _Mapping]] = ..., channel: _Optional[_Union[_common_pb2.Channel, str]] = ..., escalation: _Optional[_Union[_escalation_pb2.EscalationRaised, _Mapping]] = ..., requested_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., not_before: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., assignment: _Optional[_Union[AgentAssignment, _Mapping]] = ...) -> None: ...

class DeliveryRecorded(_message.Message):
    __slots__ = ("brand_id", "intent_id", "kind", "conversation_id", "destination", "channel", "outcome", "attempts", "detail", "recorded_at", "provider_message_id", "language")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    INTENT_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    DESTINATION_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    RECORDED_AT_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    intent_id: str
    kind: NotificationKind
    conversation_id: str
    destination: str
    channel: _common_pb2.Channel
    outcome: DeliveryOutcome
    attempts: int
    detail: str
    recorded_at: _timestamp_pb2.Timestamp
    provider_message_id: str
    language: str
    def __init__(self, brand_id: _Optional[str] = ..., intent_id: _Optional[str] = ..., kind: _Optional[_Union[NotificationKind, str]] = ..., conversation_id: _Optional[str] = ..., destination: _Optional[str] = ..., channel: _Optional[_Union[_common_pb2.Channel, str]] = ..., outcome: _Optional[_Union[DeliveryOutcome, str]] = ..., attempts: _Optional[int] = ..., detail: _Optional[str] = ..., recorded_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., provider_message_id: _Optional[str] = ..., language: _Optional[str] = ...) -> None: ...
