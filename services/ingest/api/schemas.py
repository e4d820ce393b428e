"""Request and response models of ingest's JSON APIs, with their OpenAPI examples, and the documented
error answers every route shares."""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

BRAND_PARAMETER = {"name": "brand_id", "in": "path", "required": True, "description": "Brand id",
                   "schema": {"type": "string", "pattern": r"^[A-Za-z0-9_-]{1,64}$"}, "example": "acme"}
PROBLEM = {"content": {"application/json": {"example": {"error": "invalid_field", "field": "From",
                                                        "message": "From must be an E.164 phone number"}}}}
ERRORS = {
    400: {"description": "Body cannot be read (not JSON / not a form)", **PROBLEM},
    401: {"description": "Signature or credentials missing", **PROBLEM},
    403: {"description": "Signature or credentials wrong, or outside the replay window", **PROBLEM},
    404: {"description": "Unknown brand or provider, or provider not configured for the brand", **PROBLEM},
    413: {"description": "Body larger than the configured limit (default 1 MiB)", **PROBLEM},
    422: {"description": "A field is missing or invalid; `field` names it", **PROBLEM},
    503: {"description": "Broker (or store) unavailable: not stored yet, retry after Retry-After seconds. The "
                         "event may still arrive later (the Kafka client cannot take back a record it queued); it "
                         "has the same deterministic event id as the retry and is de-duplicated by it",
          "headers": {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds"}}},
}


def example(body: dict) -> ConfigDict:
    return ConfigDict(extra="forbid", json_schema_extra={"examples": [body]})


class StartChat(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"name": "Анна", "email": "anna@example.ru", "language": "ru", "page_url": "https://shop.example/p/1",
         "client_session_id": "widget-7f3a"}]})
    name: str = Field(min_length=1, max_length=200)
    email: str = Field(min_length=3, max_length=320, description="Asked before the chat starts")
    language: str = Field(default="", max_length=35, description="BCP-47 hint from the browser")
    page_url: str = Field(default="", max_length=2000)
    transcript_opt_out: bool = False
    client_session_id: str | None = Field(default=None, min_length=1, max_length=200,
                                          description="Idempotency key: a retried start returns the same session")


class AttachmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str = Field(min_length=1, max_length=2000)
    content_type: str = Field(default="", max_length=200)
    filename: str = Field(default="", max_length=500)
    size_bytes: int = Field(default=0, ge=0, le=2**62)


class ChatMessageIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"client_message_id": "m-1", "text": "我的订单什么时候发货? 🙂"}]})
    client_message_id: str = Field(min_length=1, max_length=200, description="Idempotency key chosen by the widget")
    text: str = Field(default="", max_length=100_000)
    language: str = Field(default="", max_length=35)
    attachments: list[AttachmentIn] = Field(default_factory=list, max_length=20)


class EndChat(BaseModel):
    model_config = example(
        {"ended_by": "customer"})
    ended_by: Literal["customer", "agent", "timeout"] = "customer"


class WebFormIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"submission_id": "f-2026-0001", "name": "Ivan", "email": "ivan@example.ru", "subject": "Возврат",
         "message": "Хочу вернуть товар"}]})
    submission_id: str = Field(min_length=1, max_length=200, description="Idempotency key chosen by the form")
    name: str = Field(default="", max_length=200)
    email: str = Field(min_length=3, max_length=320)
    subject: str = Field(default="", max_length=1000)
    message: str = Field(min_length=1, max_length=200_000)
    language: str = Field(default="", max_length=35)
    page_url: str = Field(default="", max_length=2000)


class AgentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    agent_id: str = Field(min_length=1, max_length=200, description="The agent acting")


class AssignIn(AgentIn):
    model_config = example(
        {"agent_id": "lead-3", "assignee_id": "a-17", "queue": "orders-ru"})
    assignee_id: str = Field(min_length=1, max_length=200)
    queue: str = Field(default="", max_length=200)


class ReplyIn(AgentIn):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"agent_id": "a-17", "reply_id": "r-1", "text": "Your parcel left our warehouse today."}]})
    reply_id: str = Field(min_length=1, max_length=200, description="Idempotency key chosen by the desk")
    text: str = Field(min_length=1, max_length=100_000)
    attachments: list[AttachmentIn] = Field(default_factory=list, max_length=20)


class NoteIn(AgentIn):
    model_config = example(
        {"agent_id": "a-17", "text": "Customer sent photos of the damage; refund approved."})
    text: str = Field(min_length=1, max_length=100_000)


class ResolveIn(AgentIn):
    model_config = example(
        {"agent_id": "a-17", "resolution_code": "refunded"})
    resolution_code: str = Field(default="", max_length=200)


class ReopenIn(AgentIn):
    model_config = example(
        {"agent_id": "a-17", "reason": "Replacement also arrived broken"})
    reason: str = Field(default="", max_length=1000)


class StatusIn(AgentIn):
    model_config = example(
        {"agent_id": "a-17", "status": "waiting_on_third_party", "reason": "Asked DHL for a trace"})
    status: Literal["waiting_on_customer", "waiting_on_third_party", "assigned"]
    reason: str = Field(default="", max_length=1000)


class PriorityIn(AgentIn):
    model_config = example(
        {"agent_id": "lead-3", "priority": "urgent", "reason": "Third contact about the same order"})
    priority: Literal["low", "normal", "high", "urgent"]
    reason: str = Field(default="", max_length=1000)


class PresenceIn(BaseModel):
    model_config = example(
        {"presence": "online"})
    presence: Literal["online", "away", "offline"]


class AckEscalationIn(AgentIn):
    model_config = example(
        {"agent_id": "lead-3", "escalation_id": "conv-1:first_response:1:2"})
    escalation_id: str = Field(min_length=1, max_length=300)


class CsatIn(BaseModel):
    model_config = example(
        {"score": 4, "comment": "Быстро и вежливо", "conversation_id": "conv-1"})
    score: int = Field(ge=1, le=5)
    comment: str = Field(default="", max_length=5000)
    conversation_id: str = Field(default="", max_length=200)


class AcceptedOut(BaseModel):
    status: Literal["accepted", "duplicate"]
    event_ids: int = Field(description="Events newly stored by this request")
