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

class DeliveryState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DELIVERY_STATE_UNSPECIFIED: _ClassVar[DeliveryState]
    DELIVERY_STATE_QUEUED: _ClassVar[DeliveryState]
    DELIVERY_STATE_SENT: _ClassVar[DeliveryState]
    DELIVERY_STATE_DELIVERED: _ClassVar[DeliveryState]
    DELIVERY_STATE_READ: _ClassVar[DeliveryState]
    DELIVERY_STATE_FAILED: _ClassVar[DeliveryState]

class CallState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CALL_STATE_UNSPECIFIED: _ClassVar[CallState]
    CALL_STATE_QUEUED: _ClassVar[CallState]
    CALL_STATE_RINGING: _ClassVar[CallState]
    CALL_STATE_IN_PROGRESS: _ClassVar[CallState]
    CALL_STATE_COMPLETED: _ClassVar[CallState]
    CALL_STATE_NO_ANSWER: _ClassVar[CallState]
    CALL_STATE_BUSY: _ClassVar[CallState]
    CALL_STATE_FAILED: _ClassVar[CallState]
    CALL_STATE_CANCELED: _ClassVar[CallState]
DELIVERY_STATE_UNSPECIFIED: DeliveryState
DELIVERY_STATE_QUEUED: DeliveryState
DELIVERY_STATE_SENT: DeliveryState
DELIVERY_STATE_DELIVERED: DeliveryState
DELIVERY_STATE_READ: DeliveryState
DELIVERY_STATE_FAILED: DeliveryState
CALL_STATE_UNSPECIFIED: CallState
CALL_STATE_QUEUED: CallState
CALL_STATE_RINGING: CallState
CALL_STATE_IN_PROGRESS: CallState
CALL_STATE_COMPLETED: CallState
CALL_STATE_NO_ANSWER: CallState
CALL_STATE_BUSY: CallState
CALL_STATE_FAILED: CallState
CALL_STATE_CANCELED: CallState

class InboundEvent(_message.Message):
    __slots__ = ("brand_id", "message_received", "delivery_status_reported", "call_status_reported", "chat_session_started", "chat_session_ended", "csat_answered")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_RECEIVED_FIELD_NUMBER: _ClassVar[int]
    DELIVERY_STATUS_REPORTED_FIELD_NUMBER: _ClassVar[int]
    CALL_STATUS_REPORTED_FIELD_NUMBER: _ClassVar[int]
    CHAT_SESSION_STARTED_FIELD_NUMBER: _ClassVar[int]
    CHAT_SESSION_ENDED_FIELD_NUMBER: _ClassVar[int]
    CSAT_ANSWERED_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    message_received: MessageReceived
    delivery_status_reported: DeliveryStatusReported
    call_status_reported: CallStatusReported
    chat_session_started: ChatSessionStarted
    chat_session_ended: ChatSessionEnded
    csat_answered: CsatAnswered
    def __init__(self, brand_id: _Optional[str] = ..., message_received: _Optional[_Union[MessageReceived, _Mapping]] = ..., delivery_status_reported: _Optional[_Union[DeliveryStatusReported, _Mapping]] = ..., call_status_reported: _Optional[_Union[CallStatusReported, _Mapping]] = ..., chat_session_started: _Optional[_Union[ChatSessionStarted, _Mapping]] = ..., chat_session_ended: _Optional[_Union[ChatSessionEnded, _Mapping]] = ..., csat_answered: _Optional[_Union[CsatAnswered, _Mapping]] = ...) -> None: ...

class MessageReceived(_message.Message):
    __slots__ = ("channel", "provider", "provider_message_id", "sender", "display_name", "sent_at", "text", "language_hint", "attachments", "email", "auto_reply", "chat_session_id", "recipient_address", "extra_handles", "is_echo", "postback_payload", "reaction", "notice")
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    SENDER_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    SENT_AT_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_HINT_FIELD_NUMBER: _ClassVar[int]
    ATTACHMENTS_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    AUTO_REPLY_FIELD_NUMBER: _ClassVar[int]
    CHAT_SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    RECIPIENT_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    EXTRA_HANDLES_FIELD_NUMBER: _ClassVar[int]
    IS_ECHO_FIELD_NUMBER: _ClassVar[int]
    POSTBACK_PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    REACTION_FIELD_NUMBER: _ClassVar[int]
    NOTICE_FIELD_NUMBER: _ClassVar[int]
    channel: _common_pb2.Channel
    provider: str
    provider_message_id: str
    sender: _common_pb2.ContactHandle
    display_name: str
    sent_at: _timestamp_pb2.Timestamp
    text: str
    language_hint: str
    attachments: _containers.RepeatedCompositeFieldContainer[_common_pb2.AttachmentRef]
    email: _common_pb2.EmailThreading
    auto_reply: bool
    chat_session_id: str
    recipient_address: _common_pb2.ContactHandle
    extra_handles: _containers.RepeatedCompositeFieldContainer[_common_pb2.ContactHandle]
    is_echo: bool
    postback_payload: str
    reaction: Reaction
    notice: ProviderNotice
    def __init__(self, channel: _Optional[_Union[_common_pb2.Channel, str]] = ..., provider: _Optional[str] = ..., provider_message_id: _Optional[str] = ..., sender: _Optional[_Union[_common_pb2.ContactHandle, _Mapping]] = ..., display_name: _Optional[str] = ..., sent_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., text: _Optional[str] = ..., language_hint: _Optional[str] = ..., attachments: _Optional[_Iterable[_Union[_common_pb2.AttachmentRef, _Mapping]]] = ..., email: _Optional[_Union[_common_pb2.EmailThreading, _Mapping]] = ..., auto_reply: _Optional[bool] = ..., chat_session_id: _Optional[str] = ..., recipient_address: _Optional[_Union[_common_pb2.ContactHandle, _Mapping]] = ..., extra_handles: _Optional[_Iterable[_Union[_common_pb2.ContactHandle, _Mapping]]] = ..., is_echo: _Optional[bool] = ..., postback_payload: _Optional[str] = ..., reaction: _Optional[_Union[Reaction, _Mapping]] = ..., notice: _Optional[_Union[ProviderNotice, _Mapping]] = ...) -> None: ...

class Reaction(_message.Message):
    __slots__ = ("reacted_provider_message_id", "emoji", "removed")
    REACTED_PROVIDER_MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    EMOJI_FIELD_NUMBER: _ClassVar[int]
    REMOVED_FIELD_NUMBER: _ClassVar[int]
    reacted_provider_message_id: str
    emoji: str
    removed: bool
    def __init__(self, reacted_provider_message_id: _Optional[str] = ..., emoji: _Optional[str] = ..., removed: _Optional[bool] = ...) -> None: ...

class ProviderNotice(_message.Message):
    __slots__ = ("code", "title", "detail")
    CODE_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    code: str
    title: str
    detail: str
    def __init__(self, code: _Optional[str] = ..., title: _Optional[str] = ..., detail: _Optional[str] = ...) -> None: ...

class DeliveryStatusReported(_message.Message):
    __slots__ = ("channel", "provider", "provider_message_id", "state", "occurred_at", "recipient", "error_code", "watermark")
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    RECIPIENT_FIELD_NUMBER: _ClassVar[int]
    ERROR_CODE_FIELD_NUMBER: _ClassVar[int]
    WATERMARK_FIELD_NUMBER: _ClassVar[int]
    channel: _common_pb2.Channel
    provider: str
    provider_message_id: str
    state: DeliveryState
    occurred_at: _timestamp_pb2.Timestamp
    recipient: _common_pb2.ContactHandle
    error_code: str
    watermark: _timestamp_pb2.Timestamp
    def __init__(self, channel: _Optional[_Union[_common_pb2.Channel, str]] = ..., provider: _Optional[str] = ..., provider_message_id: _Optional[str] = ..., state: _Optional[_Union[DeliveryState, str]] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., recipient: _Optional[_Union[_common_pb2.ContactHandle, _Mapping]] = ..., error_code: _Optional[str] = ..., watermark: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CallStatusReported(_message.Message):
    __slots__ = ("provider", "call_id", "state", "occurred_at", "caller", "callee", "duration_seconds", "sequence_number", "agent_id")
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    CALL_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    CALLER_FIELD_NUMBER: _ClassVar[int]
    CALLEE_FIELD_NUMBER: _ClassVar[int]
    DURATION_SECONDS_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    provider: str
    call_id: str
    state: CallState
    occurred_at: _timestamp_pb2.Timestamp
    caller: _common_pb2.ContactHandle
    callee: _common_pb2.ContactHandle
    duration_seconds: int
    sequence_number: int
    agent_id: str
    def __init__(self, provider: _Optional[str] = ..., call_id: _Optional[str] = ..., state: _Optional[_Union[CallState, str]] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., caller: _Optional[_Union[_common_pb2.ContactHandle, _Mapping]] = ..., callee: _Optional[_Union[_common_pb2.ContactHandle, _Mapping]] = ..., duration_seconds: _Optional[int] = ..., sequence_number: _Optional[int] = ..., agent_id: _Optional[str] = ...) -> None: ...

class ChatSessionStarted(_message.Message):
    __slots__ = ("chat_session_id", "customer_name", "email", "started_at", "language_hint", "page_url", "transcript_opt_out")
    CHAT_SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_NAME_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    STARTED_AT_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_HINT_FIELD_NUMBER: _ClassVar[int]
    PAGE_URL_FIELD_NUMBER: _ClassVar[int]
    TRANSCRIPT_OPT_OUT_FIELD_NUMBER: _ClassVar[int]
    chat_session_id: str
    customer_name: str
    email: str
    started_at: _timestamp_pb2.Timestamp
    language_hint: str
    page_url: str
    transcript_opt_out: bool
    def __init__(self, chat_session_id: _Optional[str] = ..., customer_name: _Optional[str] = ..., email: _Optional[str] = ..., started_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., language_hint: _Optional[str] = ..., page_url: _Optional[str] = ..., transcript_opt_out: _Optional[bool] = ...) -> None: ...

class ChatSessionEnded(_message.Message):
    __slots__ = ("chat_session_id", "ended_at", "ended_by")
    CHAT_SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    ENDED_AT_FIELD_NUMBER: _ClassVar[int]
    ENDED_BY_FIELD_NUMBER: _ClassVar[int]
    chat_session_id: str
    ended_at: _timestamp_pb2.Timestamp
    ended_by: str
    def __init__(self, chat_session_id: _Optional[str] = ..., ended_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., ended_by: _Optional[str] = ...) -> None: ...

class CsatAnswered(_message.Message):
    __slots__ = ("conversation_id", "score", "comment", "answered_at", "survey_intent_id")
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    COMMENT_FIELD_NUMBER: _ClassVar[int]
    ANSWERED_AT_FIELD_NUMBER: _ClassVar[int]
    SURVEY_INTENT_ID_FIELD_NUMBER: _ClassVar[int]
    conversation_id: str
    score: int
    comment: str
    answered_at: _timestamp_pb2.Timestamp
    survey_intent_id: str
    def __init__(self, conversation_id: _Optional[str] = ..., score: _Optional[int] = ..., comment: _Optional[str] = ..., answered_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., survey_intent_id: _Optional[str] = ...) -> None: ...
