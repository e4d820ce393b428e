from switchboard.events.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Presence(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PRESENCE_UNSPECIFIED: _ClassVar[Presence]
    PRESENCE_ONLINE: _ClassVar[Presence]
    PRESENCE_AWAY: _ClassVar[Presence]
    PRESENCE_OFFLINE: _ClassVar[Presence]
PRESENCE_UNSPECIFIED: Presence
PRESENCE_ONLINE: Presence
PRESENCE_AWAY: Presence
PRESENCE_OFFLINE: Presence

class AgentCommand(_message.Message):
    __slots__ = ("brand_id", "agent_id", "assign_conversation", "reply_to_conversation", "add_internal_note", "resolve_conversation", "reopen_conversation", "set_conversation_status", "change_priority", "set_agent_presence", "merge_customers", "acknowledge_escalation")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    ASSIGN_CONVERSATION_FIELD_NUMBER: _ClassVar[int]
    REPLY_TO_CONVERSATION_FIELD_NUMBER: _ClassVar[int]
    ADD_INTERNAL_NOTE_FIELD_NUMBER: _ClassVar[int]
    RESOLVE_CONVERSATION_FIELD_NUMBER: _ClassVar[int]
    REOPEN_CONVERSATION_FIELD_NUMBER: _ClassVar[int]
    SET_CONVERSATION_STATUS_FIELD_NUMBER: _ClassVar[int]
    CHANGE_PRIORITY_FIELD_NUMBER: _ClassVar[int]
    SET_AGENT_PRESENCE_FIELD_NUMBER: _ClassVar[int]
    MERGE_CUSTOMERS_FIELD_NUMBER: _ClassVar[int]
    ACKNOWLEDGE_ESCALATION_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    agent_id: str
    assign_conversation: AssignConversation
    reply_to_conversation: ReplyToConversation
    add_internal_note: AddInternalNote
    resolve_conversation: ResolveConversation
    reopen_conversation: ReopenConversation
    set_conversation_status: SetConversationStatus
    change_priority: ChangePriority
    set_agent_presence: SetAgentPresence
    merge_customers: MergeCustomers
    acknowledge_escalation: AcknowledgeEscalation
    def __init__(self, brand_id: _Optional[str] = ..., agent_id: _Optional[str] = ..., assign_conversation: _Optional[_Union[AssignConversation, _Mapping]] = ..., reply_to_conversation: _Optional[_Union[ReplyToConversation, _Mapping]] = ..., add_internal_note: _Optional[_Union[AddInternalNote, _Mapping]] = ..., resolve_conversation: _Optional[_Union[ResolveConversation, _Mapping]] = ..., reopen_conversation: _Optional[_Union[ReopenConversation, _Mapping]] = ..., set_conversation_status: _Optional[_Union[SetConversationStatus, _Mapping]] = ..., change_priority: _Optional[_Union[ChangePriority, _Mapping]] = ..., set_agent_presence: _Optional[_Union[SetAgentPresence, _Mapping]] = ..., merge_customers: _Optional[_Union[MergeCustomers, _Mapping]] = ..., acknowledge_escalation: _Optional[_Union[AcknowledgeEscalation, _Mapping]] = ...) -> None: ...

class AssignConversation(_message.Message):
    __slots__ = ("conversation_id", "assignee_id", "queue")
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    ASSIGNEE_ID_FIELD_NUMBER: _ClassVar[int]
    QUEUE_FIELD_NUMBER: _ClassVar[int]
    conversation_id: str
    assignee_id: str
    queue: str
    def __init__(self, conversation_id: _Optional[str] = ..., assignee_id: _Optional[str] = ..., queue: _Optional[str] = ...) -> None: ...

class ReplyToConversation(_message.Message):
    __slots__ = ("conversation_id", "text", "attachments", "reply_id")
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    ATTACHMENTS_FIELD_NUMBER: _ClassVar[int]
    REPLY_ID_FIELD_NUMBER: _ClassVar[int]
    conversation_id: str
    text: str
    attachments: _containers.RepeatedCompositeFieldContainer[_common_pb2.AttachmentRef]
    reply_id: str
    def __init__(self, conversation_id: _Optional[str] = ..., text: _Optional[str] = ..., attachments: _Optional[_Iterable[_Union[_common_pb2.AttachmentRef, _Mapping]]] = ..., reply_id: _Optional[str] = ...) -> None: ...

class AddInternalNote(_message.Message):
    __slots__ = ("conversation_id", "text")
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    conversation_id: str
    text: str
    def __init__(self, conversation_id: _Optional[str] = ..., text: _Optional[str] = ...) -> None: ...

class ResolveConversation(_message.Message):
    __slots__ = ("conversation_id", "resolution_code")
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    RESOLUTION_CODE_FIELD_NUMBER: _ClassVar[int]
    conversation_id: str
    resolution_code: str
    def __init__(self, conversation_id: _Optional[str] = ..., resolution_code: _Optional[str] = ...) -> None: ...

class ReopenConversation(_message.Message):
    __slots__ = ("conversation_id", "reason")
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    conversation_id: str
    reason: str
    def __init__(self, conversation_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class SetConversationStatus(_message.Message):
    __slots__ = ("conversation_id", "status", "reason")
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    conversation_id: str
    status: _common_pb2.ConversationStatus
    reason: str
    def __init__(self, conversation_id: _Optional[str] = ..., status: _Optional[_Union[_common_pb2.ConversationStatus, str]] = ..., reason: _Optional[str] = ...) -> None: ...

class ChangePriority(_message.Message):
    __slots__ = ("conversation_id", "priority", "reason")
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    conversation_id: str
    priority: _common_pb2.Priority
    reason: str
    def __init__(self, conversation_id: _Optional[str] = ..., priority: _Optional[_Union[_common_pb2.Priority, str]] = ..., reason: _Optional[str] = ...) -> None: ...

class SetAgentPresence(_message.Message):
    __slots__ = ("presence",)
    PRESENCE_FIELD_NUMBER: _ClassVar[int]
    presence: Presence
    def __init__(self, presence: _Optional[_Union[Presence, str]] = ...) -> None: ...

class MergeCustomers(_message.Message):
    __slots__ = ("surviving_customer_id", "merged_customer_id")
    SURVIVING_CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    MERGED_CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    surviving_customer_id: str
    merged_customer_id: str
    def __init__(self, surviving_customer_id: _Optional[str] = ..., merged_customer_id: _Optional[str] = ...) -> None: ...

class AcknowledgeEscalation(_message.Message):
    __slots__ = ("conversation_id", "escalation_id")
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    ESCALATION_ID_FIELD_NUMBER: _ClassVar[int]
    conversation_id: str
    escalation_id: str
    def __init__(self, conversation_id: _Optional[str] = ..., escalation_id: _Optional[str] = ...) -> None: ...
