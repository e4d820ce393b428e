"""The SLA service's read API: one conversation's clocks (time left in business time now) and its
escalations with who acknowledged them, as JSON.

Read-only: one `sla_conversations` document by id, scoped by brand (another brand's conversation
answers 404 like an unknown one). Mounted on the SLA service's ops app (the port of /healthz).
"""
from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, FastAPI
from pydantic import BaseModel, ConfigDict, Field, SecretStr
from switchboard.common.clock import Clock
from switchboard.common.readapi import ERROR_RESPONSES, NotFound, bearer_guard, install_error_handlers, iso
from switchboard.sla.adapters.ports import StateStore
from switchboard.sla.domain.calendar import CalendarError, business_time_between
from switchboard.sla.domain.policy import PolicyBook
from switchboard.sla.domain.state import ConversationSla, SlaClock

BREACHED = "breached"
FULFILLED = "fulfilled"


class Shape(BaseModel):
    model_config = ConfigDict(extra="forbid")  # the OpenAPI schema; the tests validate answers against it


class ClockWarning(Shape):
    fraction: float = Field(description="share of the target elapsed when the warning was raised")
    at: str


class ClockAnswer(Shape):
    metric: Literal["first_response", "next_response", "resolution", "phone_answer", "agent_first_response"]
    instance: int
    policy_id: str
    state: Literal["running", "paused", "fulfilled", "breached", "cancelled"]
    started_at: str
    deadline: str | None = Field(description="null while paused")
    target_seconds: int
    business_hours: bool
    calendar_id: str
    time_left_seconds: int | None = Field(description="business time left now; negative once breached; "
                                                      "null unless running or paused")
    warnings: list[ClockWarning]
    breached_at: str | None
    fulfilled_at: str | None


class EscalationAnswer(Shape):
    escalation_id: str
    level: int
    level_name: str
    reason: Literal["sla_breached", "not_acknowledged", "repeat_contact", "reassigned_too_often",
                    "assignee_unavailable"]
    metric: str = Field(description="empty for repeat-contact and reassignment escalations")
    raised_at: str
    acknowledged: bool
    acknowledged_by: str = Field(description="agent_id of the acknowledgement")
    acknowledged_at: str | None


class SlaAnswer(Shape):
    conversation_id: str
    clocks: list[ClockAnswer]
    escalations: list[EscalationAnswer]


def clock_state(clock: SlaClock) -> str:
    """running | paused | fulfilled | cancelled as tracked; a running clock past its deadline is breached.
    (A breached clock that is paused or fulfilled says so, with `breached_at` set.)"""
    return BREACHED if clock.state == "running" and clock.breached else clock.state


def time_left_seconds(clock: SlaClock, book: PolicyBook, now) -> int | None:
    """Business time left `now` per the clock's own calendar: frozen while paused, negative once
    past the deadline, None once the clock stopped (or its calendar left the configuration)."""
    if not clock.active:
        return None
    left = clock.remaining
    if clock.state == "running":
        try:
            calendar = book.calendars.get(clock.calendar_id)
        except CalendarError:
            return None
        left -= business_time_between(calendar, clock.since, max(now, clock.since))
    return int(left.total_seconds())


def clock_view(clock: SlaClock, book: PolicyBook, now) -> dict[str, Any]:
    return {
        "metric": clock.metric,
        "instance": clock.instance,
        "policy_id": clock.policy_id,
        "state": clock_state(clock),
        "started_at": iso(clock.started_at),
        "deadline": iso(clock.deadline),
        "target_seconds": clock.target_us // 1_000_000,
        "business_hours": clock.business_hours,
        "calendar_id": clock.calendar_id,
        "time_left_seconds": time_left_seconds(clock, book, now),
        "warnings": [{"fraction": w["fraction"], "at": iso(w["at"])} for w in clock.warnings],
        "breached_at": iso(clock.breached_at),
        "fulfilled_at": iso(clock.since) if clock.state == FULFILLED else None,
    }


def escalation_view(escalation: dict[str, Any]) -> dict[str, Any]:
    return {
        "escalation_id": escalation["escalation_id"],
        "level": escalation["level"],
        "level_name": escalation["level_name"],
        "reason": escalation["reason"],
        "metric": escalation["metric"],
        "raised_at": iso(escalation["raised_at"]),
        "acknowledged": escalation["acknowledged"],
        "acknowledged_by": escalation["acknowledged_by"],
        "acknowledged_at": iso(escalation["acknowledged_at"]),
    }


def sla_view(state: ConversationSla, book: PolicyBook, now) -> dict[str, Any]:
    clocks = sorted(state.clocks.values(), key=lambda c: (c.started_at, c.metric))
    escalations = sorted(state.escalations, key=lambda e: (e["raised_at"], e["escalation_id"]))
    return {
        "conversation_id": state.conversation_id,
        "clocks": [clock_view(c, book, now) for c in clocks],
        "escalations": [escalation_view(e) for e in escalations],
    }


def read_api(states: StateStore, book: PolicyBook, clock: Clock, token: SecretStr | None) -> APIRouter:
    api = APIRouter(prefix="/v1/brands/{brand_id}", tags=["read"], dependencies=[Depends(bearer_guard(token))],
                    responses=ERROR_RESPONSES)

    @api.get("/conversations/{conversation_id}/sla", response_model=None, responses={200: {"model": SlaAnswer}},
             summary="A conversation's SLA clocks (business time left now) and escalations with acknowledgements")
    async def get_conversation_sla(brand_id: str, conversation_id: str) -> dict[str, Any]:
        record = (await states.load([conversation_id])).get(conversation_id)
        state = record.state if record is not None else None
        if state is None or state.brand != brand_id:
            raise NotFound(f"the SLA service has no conversation {conversation_id!r} in brand {brand_id!r}")
        return sla_view(state, book, clock.now())

    return api


def mount_read_api(app: FastAPI, states: StateStore, book: PolicyBook, clock: Clock,
                   token: SecretStr | None) -> FastAPI:
    install_error_handlers(app)
    app.include_router(read_api(states, book, clock, token))
    return app
