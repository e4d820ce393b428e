import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Channel(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CHANNEL_UNSPECIFIED: _ClassVar[Channel]
    CHANNEL_EMAIL: _ClassVar[Channel]
    CHANNEL_CHAT: _ClassVar[Channel]
    CHANNEL_PHONE: _ClassVar[Channel]
    CHANNEL_SMS: _ClassVar[Channel]
    CHANNEL_WHATSAPP: _ClassVar[Channel]
    CHANNEL_MESSENGER: _ClassVar[Channel]
    CHANNEL_VK: _ClassVar[Channel]
    CHANNEL_TELEGRAM: _ClassVar[Channel]
    CHANNEL_WEB_FORM: _ClassVar[Channel]
    CHANNEL_MARKETPLACE: _ClassVar[Channel]

class Priority(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PRIORITY_UNSPECIFIED: _ClassVar[Priority]
    PRIORITY_LOW: _ClassVar[Priority]
    PRIORITY_NORMAL: _ClassVar[Priority]
    PRIORITY_HIGH: _ClassVar[Priority]
    PRIORITY_URGENT: _ClassVar[Priority]

class ConversationStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CONVERSATION_STATUS_UNSPECIFIED: _ClassVar[ConversationStatus]
    CONVERSATION_STATUS_BOT: _ClassVar[ConversationStatus]
    CONVERSATION_STATUS_QUEUED: _ClassVar[ConversationStatus]
    CONVERSATION_STATUS_ASSIGNED: _ClassVar[ConversationStatus]
    CONVERSATION_STATUS_WAITING_ON_CUSTOMER: _ClassVar[ConversationStatus]
    CONVERSATION_STATUS_WAITING_ON_THIRD_PARTY: _ClassVar[ConversationStatus]
    CONVERSATION_STATUS_RESOLVED: _ClassVar[ConversationStatus]

class HandleKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    HANDLE_KIND_UNSPECIFIED: _ClassVar[HandleKind]
    HANDLE_KIND_EMAIL: _ClassVar[HandleKind]
    HANDLE_KIND_PHONE: _ClassVar[HandleKind]
    HANDLE_KIND_WHATSAPP_ID: _ClassVar[HandleKind]
    HANDLE_KIND_MESSENGER_PSID: _ClassVar[HandleKind]
    HANDLE_KIND_VK_ID: _ClassVar[HandleKind]
    HANDLE_KIND_TELEGRAM_ID: _ClassVar[HandleKind]
    HANDLE_KIND_CHAT_SESSION: _ClassVar[HandleKind]
    HANDLE_KIND_MARKETPLACE_ID: _ClassVar[HandleKind]
CHANNEL_UNSPECIFIED: Channel
CHANNEL_EMAIL: Channel
CHANNEL_CHAT: Channel
CHANNEL_PHONE: Channel
CHANNEL_SMS: Channel
CHANNEL_WHATSAPP: Channel
CHANNEL_MESSENGER: Channel
CHANNEL_VK: Channel
CHANNEL_TELEGRAM: Channel
CHANNEL_WEB_FORM: Channel
CHANNEL_MARKETPLACE: Channel
PRIORITY_UNSPECIFIED: Priority
PRIORITY_LOW: Priority
PRIORITY_NORMAL: Priority
PRIORITY_HIGH: Priority
PRIORITY_URGENT: Priority
CONVERSATION_STATUS_UNSPECIFIED: ConversationStatus
CONVERSATION_STATUS_BOT: ConversationStatus
CONVERSATION_STATUS_QUEUED: ConversationStatus
CONVERSATION_STATUS_ASSIGNED: ConversationStatus
CONVERSATION_STATUS_WAITING_ON_CUSTOMER: ConversationStatus
CONVERSATION_STATUS_WAITING_ON_THIRD_PARTY: ConversationStatus
CONVERSATION_STATUS_RESOLVED: ConversationStatus
HANDLE_KIND_UNSPECIFIED: HandleKind
HANDLE_KIND_EMAIL: HandleKind
HANDLE_KIND_PHONE: HandleKind
HANDLE_KIND_WHATSAPP_ID: HandleKind
HANDLE_KIND_MESSENGER_PSID: HandleKind
HANDLE_KIND_VK_ID: HandleKind
HANDLE_KIND_TELEGRAM_ID: HandleKind
HANDLE_KIND_CHAT_SESSION: HandleKind
HANDLE_KIND_MARKETPLACE_ID: HandleKind

class ContactHandle(_message.Message):
    __slots__ = ("kind", "value")
    KIND_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    kind: HandleKind
    value: str
    def __init__(self, kind: _Optional[_Union[HandleKind, str]] = ..., value: _Optional[str] = ...) -> None: ...

class AttachmentRef(_message.Message):
    __slots__ = ("url", "content_type", "size_bytes", "filename", "provider_media_id")
    URL_FIELD_NUMBER: _ClassVar[int]
    CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    FILENAME_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_MEDIA_ID_FIELD_NUMBER: _ClassVar[int]
    url: str
    content_type: str
    size_bytes: int
    filename: str
    provider_media_id: str
    def __init__(self, url: _Optional[str] = ..., content_type: _Optional[str] = ..., size_bytes: _Optional[int] = ..., filename: _Optional[str] = ..., provider_media_id: _Optional[str] = ...) -> None: ...

class EmailThreading(_message.Message):
    __slots__ = ("message_id", "in_reply_to", "references", "subject")
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    IN_REPLY_TO_FIELD_NUMBER: _ClassVar[int]
    REFERENCES_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    message_id: str
    in_reply_to: str
    references: _containers.RepeatedScalarFieldContainer[str]
    subject: str
    def __init__(self, message_id: _Optional[str] = ..., in_reply_to: _Optional[str] = ..., references: _Optional[_Iterable[str]] = ..., subject: _Optional[str] = ...) -> None: ...

class ConversationSnapshot(_message.Message):
    __slots__ = ("conversation_id", "customer_id", "channel", "status", "priority", "queue", "language", "assignee_id", "opened_at", "reopen_count", "region", "reply_handle", "email_threading", "customer_name", "order_ids", "human_involved", "reply_channel")
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    QUEUE_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    ASSIGNEE_ID_FIELD_NUMBER: _ClassVar[int]
    OPENED_AT_FIELD_NUMBER: _ClassVar[int]
    REOPEN_COUNT_FIELD_NUMBER: _ClassVar[int]
    REGION_FIELD_NUMBER: _ClassVar[int]
    REPLY_HANDLE_FIELD_NUMBER: _ClassVar[int]
    EMAIL_THREADING_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_NAME_FIELD_NUMBER: _ClassVar[int]
    ORDER_IDS_FIELD_NUMBER: _ClassVar[int]
    HUMAN_INVOLVED_FIELD_NUMBER: _ClassVar[int]
    REPLY_CHANNEL_FIELD_NUMBER: _ClassVar[int]
    conversation_id: str
    customer_id: str
    channel: Channel
    status: ConversationStatus
    priority: Priority
    queue: str
    language: str
    assignee_id: str
    opened_at: _timestamp_pb2.Timestamp
    reopen_count: int
    region: str
    reply_handle: ContactHandle
    email_threading: EmailThreading
    customer_name: str
    order_ids: _containers.RepeatedScalarFieldContainer[str]
    human_involved: bool
    reply_channel: Channel
    def __init__(self, conversation_id: _Optional[str] = ..., customer_id: _Optional[str] = ..., channel: _Optional[_Union[Channel, str]] = ..., status: _Optional[_Union[ConversationStatus, str]] = ..., priority: _Optional[_Union[Priority, str]] = ..., queue: _Optional[str] = ..., language: _Optional[str] = ..., assignee_id: _Optional[str] = ..., opened_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., reopen_count: _Optional[int] = ..., region: _Optional[str] = ..., reply_handle: _Optional[_Union[ContactHandle, _Mapping]] = ..., email_threading: _Optional[_Union[EmailThreading, _Mapping]] = ..., customer_name: _Optional[str] = ..., order_ids: _Optional[_Iterable[str]] = ..., human_involved: _Optional[bool] = ..., reply_channel: _Optional[_Union[Channel, str]] = ...) -> None: ...
