import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from switchboard.events.v1 import common_pb2 as _common_pb2
from switchboard.events.v1 import orders_pb2 as _orders_pb2
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class HandoffReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    HANDOFF_REASON_UNSPECIFIED: _ClassVar[HandoffReason]
    HANDOFF_REASON_REQUESTED_HUMAN: _ClassVar[HandoffReason]
    HANDOFF_REASON_UNMATCHED_TWICE: _ClassVar[HandoffReason]
    HANDOFF_REASON_ANGRY_OR_URGENT: _ClassVar[HandoffReason]
    HANDOFF_REASON_REPEATED_MESSAGES: _ClassVar[HandoffReason]
    HANDOFF_REASON_NO_BOT_FOR_CHANNEL: _ClassVar[HandoffReason]
    HANDOFF_REASON_AGENT_TOOK_OVER: _ClassVar[HandoffReason]
    HANDOFF_REASON_ANSWERS_EXHAUSTED: _ClassVar[HandoffReason]
    HANDOFF_REASON_ORDER_NOT_LINKED: _ClassVar[HandoffReason]
HANDOFF_REASON_UNSPECIFIED: HandoffReason
HANDOFF_REASON_REQUESTED_HUMAN: HandoffReason
HANDOFF_REASON_UNMATCHED_TWICE: HandoffReason
HANDOFF_REASON_ANGRY_OR_URGENT: HandoffReason
HANDOFF_REASON_REPEATED_MESSAGES: HandoffReason
HANDOFF_REASON_NO_BOT_FOR_CHANNEL: HandoffReason
HANDOFF_REASON_AGENT_TOOK_OVER: HandoffReason
HANDOFF_REASON_ANSWERS_EXHAUSTED: HandoffReason
HANDOFF_REASON_ORDER_NOT_LINKED: HandoffReason

class ConversationEvent(_message.Message):
    __slots__ = ("brand_id", "conversation", "occurred_at", "conversation_opened", "customer_message_appended", "bot_replied", "conversation_handed_off", "conversation_queued", "conversation_assigned", "agent_replied", "internal_note_added", "status_changed", "priority_changed", "conversation_resolved", "conversation_reopened", "queue_position_changed", "order_linked", "csat_recorded", "chat_ended", "call_answered", "escalation_acknowledged", "repeat_contact_detected", "customers_merged", "customer_reaction_added", "provider_notice_added", "assignee_unavailable")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    CONVERSATION_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    CONVERSATION_OPENED_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_MESSAGE_APPENDED_FIELD_NUMBER: _ClassVar[int]
    BOT_REPLIED_FIELD_NUMBER: _ClassVar[int]
    CONVERSATION_HANDED_OFF_FIELD_NUMBER: _ClassVar[int]
    CONVERSATION_QUEUED_FIELD_NUMBER: _ClassVar[int]
    CONVERSATION_ASSIGNED_FIELD_NUMBER: _ClassVar[int]
    AGENT_REPLIED_FIELD_NUMBER: _ClassVar[int]
    INTERNAL_NOTE_ADDED_FIELD_NUMBER: _ClassVar[int]
    STATUS_CHANGED_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_CHANGED_FIELD_NUMBER: _ClassVar[int]
    CONVERSATION_RESOLVED_FIELD_NUMBER: _ClassVar[int]
    CONVERSATION_REOPENED_FIELD_NUMBER: _ClassVar[int]
    QUEUE_POSITION_CHANGED_FIELD_NUMBER: _ClassVar[int]
    ORDER_LINKED_FIELD_NUMBER: _ClassVar[int]
    CSAT_RECORDED_FIELD_NUMBER: _ClassVar[int]
    CHAT_ENDED_FIELD_NUMBER: _ClassVar[int]
    CALL_ANSWERED_FIELD_NUMBER: _ClassVar[int]
    ESCALATION_ACKNOWLEDGED_FIELD_NUMBER: _ClassVar[int]
    REPEAT_CONTACT_DETECTED_FIELD_NUMBER: _ClassVar[int]
    CUSTOMERS_MERGED_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_REACTION_ADDED_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_NOTICE_ADDED_FIELD_NUMBER: _ClassVar[int]
    ASSIGNEE_UNAVAILABLE_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    conversation: _common_pb2.ConversationSnapshot
    occurred_at: _timestamp_pb2.Timestamp
    conversation_opened: ConversationOpened
    customer_message_appended: CustomerMessageAppended
    bot_replied: BotReplied
    conversation_handed_off: ConversationHandedOff
    conversation_queued: ConversationQueued
    conversation_assigned: ConversationAssigned
    agent_replied: AgentReplied
    internal_note_added: InternalNoteAdded
    status_changed: StatusChanged
    priority_changed: PriorityChanged
    conversation_resolved: ConversationResolved
    conversation_reopened: ConversationReopened
    queue_position_changed: QueuePositionChanged
    order_linked: OrderLinked
    csat_recorded: CsatRecorded
    chat_ended: ChatEnded
    call_answered: CallAnswered
    escalation_acknowledged: EscalationAcknowledged
    repeat_contact_detected: RepeatContactDetected
    customers_merged: CustomersMerged
    customer_reaction_added: CustomerReactionAdded
    provider_notice_added: ProviderNoticeAdded
    assignee_unavailable: AssigneeUnavailable
    def __init__(self, brand_id: _Optional[str] = ..., conversation: _Optional[_Union[_common_pb2.ConversationSnapshot, _Mapping]] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., conversation_opened: _Optional[_Union[ConversationOpened, _Mapping]] = ..., customer_message_appended: _Optional[_Union[CustomerMessageAppended, _Mapping]] = ..., bot_replied: _Optional[_Union[BotReplied, _Mapping]] = ..., conversation_handed_off: _Optional[_Union[ConversationHandedOff, _Mapping]] = ..., conversation_queued: _Optional[_Union[ConversationQueued, _Mapping]] = ..., conversation_assigned: _Optional[_Union[ConversationAssigned, _Mapping]] = ..., agent_replied: _Optional[_Union[AgentReplied, _Mapping]] = ..., internal_note_added: _Optional[_Union[InternalNoteAdded, _Mapping]] = ..., status_changed: _Optional[_Union[StatusChanged, _Mapping]] = ..., priority_changed: _Optional[_Union[PriorityChanged, _Mapping]] = ..., conversation_resolved: _Optional[_Union[ConversationResolved, _Mapping]] = ..., conversation_reopened: _Optional[_Union[ConversationReopened, _Mapping]] = ..., queue_position_changed: _Optional[_Union[QueuePositionChanged, _Mapping]] = ..., order_linked: _Optional[_Union[OrderLinked, _Mapping]] = ..., csat_recorded: _Optional[_Union[CsatRecorded, _Mapping]] = ..., chat_ended: _Optional[_Union[ChatEnded, _Mapping]] = ..., call_answered: _Optional[_Union[CallAnswered, _Mapping]] = ..., escalation_acknowledged: _Optional[_Union[EscalationAcknowledged, _Mapping]] = ..., repeat_contact_detected: _Optional[_Union[RepeatContactDetected, _Mapping]] = ..., customers_merged: _Optional[_Union[CustomersMerged, _Mapping]] = ..., customer_reaction_added: _Optional[_Union[CustomerReactionAdded, _Mapping]] = ..., provider_notice_added: _Optional[_Union[ProviderNoticeAdded, _Mapping]] = ..., assignee_unavailable: _Optional[_Union[AssigneeUnavailable, _Mapping]] = ...) -> None: ...

class ConversationOpened(_message.Message):
    __slots__ = ("first_message_id",)
    FIRST_MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    first_message_id: str
    def __init__(self, first_message_id: _Optional[str] = ...) -> None: ...

class CustomerMessageAppended(_message.Message):
    __slots__ = ("message_id", "provider_message_id", "text_length", "attachment_count", "auto_reply")
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    TEXT_LENGTH_FIELD_NUMBER: _ClassVar[int]
    ATTACHMENT_COUNT_FIELD_NUMBER: _ClassVar[int]
    AUTO_REPLY_FIELD_NUMBER: _ClassVar[int]
    message_id: str
    provider_message_id: str
    text_length: int
    attachment_count: int
    auto_reply: bool
    def __init__(self, message_id: _Optional[str] = ..., provider_message_id: _Optional[str] = ..., text_length: _Optional[int] = ..., attachment_count: _Optional[int] = ..., auto_reply: _Optional[bool] = ...) -> None: ...

class BotReplied(_message.Message):
    __slots__ = ("answer_key", "intent_id")
    ANSWER_KEY_FIELD_NUMBER: _ClassVar[int]
    INTENT_ID_FIELD_NUMBER: _ClassVar[int]
    answer_key: str
    intent_id: str
    def __init__(self, answer_key: _Optional[str] = ..., intent_id: _Optional[str] = ...) -> None: ...

class ConversationHandedOff(_message.Message):
    __slots__ = ("reason", "summary")
    REASON_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    reason: HandoffReason
    summary: str
    def __init__(self, reason: _Optional[_Union[HandoffReason, str]] = ..., summary: _Optional[str] = ...) -> None: ...

class ConversationQueued(_message.Message):
    __slots__ = ("queue", "position", "eta_seconds", "reason")
    QUEUE_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    ETA_SECONDS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    queue: str
    position: int
    eta_seconds: int
    reason: str
    def __init__(self, queue: _Optional[str] = ..., position: _Optional[int] = ..., eta_seconds: _Optional[int] = ..., reason: _Optional[str] = ...) -> None: ...

class ConversationAssigned(_message.Message):
    __slots__ = ("assignee_id", "previous_assignee_id", "rule", "explanation", "reassignment_count", "reason")
    ASSIGNEE_ID_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_ASSIGNEE_ID_FIELD_NUMBER: _ClassVar[int]
    RULE_FIELD_NUMBER: _ClassVar[int]
    EXPLANATION_FIELD_NUMBER: _ClassVar[int]
    REASSIGNMENT_COUNT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    assignee_id: str
    previous_assignee_id: str
    rule: str
    explanation: str
    reassignment_count: int
    reason: str
    def __init__(self, assignee_id: _Optional[str] = ..., previous_assignee_id: _Optional[str] = ..., rule: _Optional[str] = ..., explanation: _Optional[str] = ..., reassignment_count: _Optional[int] = ..., reason: _Optional[str] = ...) -> None: ...

class AgentReplied(_message.Message):
    __slots__ = ("agent_id", "reply_id", "intent_id")
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    REPLY_ID_FIELD_NUMBER: _ClassVar[int]
    INTENT_ID_FIELD_NUMBER: _ClassVar[int]
    agent_id: str
    reply_id: str
    intent_id: str
    def __init__(self, agent_id: _Optional[str] = ..., reply_id: _Optional[str] = ..., intent_id: _Optional[str] = ...) -> None: ...

class InternalNoteAdded(_message.Message):
    __slots__ = ("agent_id",)
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    agent_id: str
    def __init__(self, agent_id: _Optional[str] = ...) -> None: ...

class StatusChanged(_message.Message):
    __slots__ = ("previous", "current", "reason")
    PREVIOUS_FIELD_NUMBER: _ClassVar[int]
    CURRENT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    previous: _common_pb2.ConversationStatus
    current: _common_pb2.ConversationStatus
    reason: str
    def __init__(self, previous: _Optional[_Union[_common_pb2.ConversationStatus, str]] = ..., current: _Optional[_Union[_common_pb2.ConversationStatus, str]] = ..., reason: _Optional[str] = ...) -> None: ...

class PriorityChanged(_message.Message):
    __slots__ = ("previous", "current", "reason")
    PREVIOUS_FIELD_NUMBER: _ClassVar[int]
    CURRENT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    previous: _common_pb2.Priority
    current: _common_pb2.Priority
    reason: str
    def __init__(self, previous: _Optional[_Union[_common_pb2.Priority, str]] = ..., current: _Optional[_Union[_common_pb2.Priority, str]] = ..., reason: _Optional[str] = ...) -> None: ...

class ConversationResolved(_message.Message):
    __slots__ = ("resolved_by", "resolution_code")
    RESOLVED_BY_FIELD_NUMBER: _ClassVar[int]
    RESOLUTION_CODE_FIELD_NUMBER: _ClassVar[int]
    resolved_by: str
    resolution_code: str
    def __init__(self, resolved_by: _Optional[str] = ..., resolution_code: _Optional[str] = ...) -> None: ...

class ConversationReopened(_message.Message):
    __slots__ = ("reason",)
    REASON_FIELD_NUMBER: _ClassVar[int]
    reason: str
    def __init__(self, reason: _Optional[str] = ...) -> None: ...

class QueuePositionChanged(_message.Message):
    __slots__ = ("queue", "position", "eta_seconds")
    QUEUE_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    ETA_SECONDS_FIELD_NUMBER: _ClassVar[int]
    queue: str
    position: int
    eta_seconds: int
    def __init__(self, queue: _Optional[str] = ..., position: _Optional[int] = ..., eta_seconds: _Optional[int] = ...) -> None: ...

class OrderLinked(_message.Message):
    __slots__ = ("order",)
    ORDER_FIELD_NUMBER: _ClassVar[int]
    order: _orders_pb2.OrderEvent
    def __init__(self, order: _Optional[_Union[_orders_pb2.OrderEvent, _Mapping]] = ...) -> None: ...

class CsatRecorded(_message.Message):
    __slots__ = ("score",)
    SCORE_FIELD_NUMBER: _ClassVar[int]
    score: int
    def __init__(self, score: _Optional[int] = ...) -> None: ...

class ChatEnded(_message.Message):
    __slots__ = ("chat_session_id", "transcript_requested")
    CHAT_SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    TRANSCRIPT_REQUESTED_FIELD_NUMBER: _ClassVar[int]
    chat_session_id: str
    transcript_requested: bool
    def __init__(self, chat_session_id: _Optional[str] = ..., transcript_requested: _Optional[bool] = ...) -> None: ...

class CallAnswered(_message.Message):
    __slots__ = ("call_id", "ringing_at", "answered_at")
    CALL_ID_FIELD_NUMBER: _ClassVar[int]
    RINGING_AT_FIELD_NUMBER: _ClassVar[int]
    ANSWERED_AT_FIELD_NUMBER: _ClassVar[int]
    call_id: str
    ringing_at: _timestamp_pb2.Timestamp
    answered_at: _timestamp_pb2.Timestamp
    def __init__(self, call_id: _Optional[str] = ..., ringing_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., answered_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class EscalationAcknowledged(_message.Message):
    __slots__ = ("escalation_id", "agent_id")
    ESCALATION_ID_FIELD_NUMBER: _ClassVar[int]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    escalation_id: str
    agent_id: str
    def __init__(self, escalation_id: _Optional[str] = ..., agent_id: _Optional[str] = ...) -> None: ...

class RepeatContactDetected(_message.Message):
    __slots__ = ("contacts_without_resolution",)
    CONTACTS_WITHOUT_RESOLUTION_FIELD_NUMBER: _ClassVar[int]
    contacts_without_resolution: int
    def __init__(self, contacts_without_resolution: _Optional[int] = ...) -> None: ...

class CustomersMerged(_message.Message):
    __slots__ = ("surviving_customer_id", "merged_customer_id")
    SURVIVING_CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    MERGED_CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    surviving_customer_id: str
    merged_customer_id: str
    def __init__(self, surviving_customer_id: _Optional[str] = ..., merged_customer_id: _Optional[str] = ...) -> None: ...

class CustomerReactionAdded(_message.Message):
    __slots__ = ("message_id", "reacted_provider_message_id", "removed")
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    REACTED_PROVIDER_MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    REMOVED_FIELD_NUMBER: _ClassVar[int]
    message_id: str
    reacted_provider_message_id: str
    removed: bool
    def __init__(self, message_id: _Optional[str] = ..., reacted_provider_message_id: _Optional[str] = ..., removed: _Optional[bool] = ...) -> None: ...

class ProviderNoticeAdded(_message.Message):
    __slots__ = ("message_id", "code")
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    message_id: str
    code: str
    def __init__(self, message_id: _Optional[str] = ..., code: _Optional[str] = ...) -> None: ...

class AssigneeUnavailable(_message.Message):
    __slots__ = ("agent_id", "reason", "escalate", "detail")
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    ESCALATE_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    agent_id: str
    reason: str
    escalate: bool
    detail: str
    def __init__(self, agent_id: _Optional[str] = ..., reason: _Optional[str] = ..., escalate: _Optional[bool] = ..., detail: _Optional[str] = ...) -> None: ...
