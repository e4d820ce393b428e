"""Twilio Voice status callbacks for the phone channel (speed of answer is measured downstream).

Form-encoded, X-Twilio-Signature like Messaging. Each callback carries CallStatus, the RFC 2822
Timestamp of the state change and a SequenceNumber, so late callbacks can be ordered downstream.
"""
from __future__ import annotations

import re
from datetime import UTC
from email.utils import parsedate_to_datetime
from typing import ClassVar

from switchboard.events.v1 import common_pb2, inbound_pb2
from switchboard.ingest.adapters.codec import HK, handle
from switchboard.ingest.domain.errors import InvalidField
from switchboard.ingest.domain.model import Outgoing, WebhookOutcome, WebhookRequest

from .base import AdapterContext
from .twilio import TwilioSigned, twilio_params

CS = inbound_pb2.CallState
STATES = {
    "queued": CS.CALL_STATE_QUEUED, "initiated": CS.CALL_STATE_QUEUED, "ringing": CS.CALL_STATE_RINGING,
    "in-progress": CS.CALL_STATE_IN_PROGRESS, "answered": CS.CALL_STATE_IN_PROGRESS,
    "completed": CS.CALL_STATE_COMPLETED, "no-answer": CS.CALL_STATE_NO_ANSWER, "busy": CS.CALL_STATE_BUSY,
    "failed": CS.CALL_STATE_FAILED, "canceled": CS.CALL_STATE_CANCELED,
}
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")

EXAMPLE = {
    "CallSid": "CA5f2a6d6e0d1e4c1f9a4a0f0e1b2c3d4e", "AccountSid": "ACXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
    "From": "+4915112345678", "To": "+4930901820", "Direction": "inbound", "CallStatus": "in-progress",
    "Timestamp": "Mon, 05 Jan 2026 09:00:12 +0000", "SequenceNumber": "2", "CallbackSource": "call-progress-events",
    "ApiVersion": "2010-04-01",
}


def phone_handle(value: str) -> common_pb2.ContactHandle:
    # Anonymous or SIP/client callers are kept verbatim, but only E.164 numbers are phone handles.
    return handle(HK.HANDLE_KIND_PHONE if _E164.match(value) else HK.HANDLE_KIND_UNSPECIFIED, value)


class TwilioVoice(TwilioSigned):
    name: ClassVar[str] = "twilio_voice"
    summary: ClassVar[str] = "Twilio Voice call status callbacks (queued, ringing, answered, completed, no-answer)"
    example: ClassVar[dict] = EXAMPLE

    def normalize(self, request: WebhookRequest, ctx: AdapterContext) -> WebhookOutcome:
        form, _ = twilio_params(request)
        sid = form.get("CallSid")
        if not sid:
            raise InvalidField("CallSid is required", field="CallSid")
        status = form.get("CallStatus") or ""
        state = STATES.get(status)
        if state is None:
            raise InvalidField(f"CallStatus {status!r} is not a Twilio call status", field="CallStatus")
        occurred = ctx.now
        if form.get("Timestamp"):
            try:
                occurred = parsedate_to_datetime(form.get("Timestamp")).astimezone(UTC)
            except (TypeError, ValueError, IndexError):
                raise InvalidField("Timestamp must be an RFC 2822 date", field="Timestamp") from None
        try:
            sequence = int(form.get("SequenceNumber") or "0")
            duration = int(form.get("CallDuration") or form.get("Duration") or "0")
        except ValueError:
            raise InvalidField("SequenceNumber and CallDuration must be integers", field="SequenceNumber") from None
        caller = phone_handle(form.get("From") or form.get("Caller") or "")
        callee = phone_handle(form.get("To") or form.get("Called") or "")
        customer = callee if (form.get("Direction") or "inbound").startswith("outbound") else caller
        report = inbound_pb2.CallStatusReported(
            provider=self.name, call_id=sid, state=state, caller=caller, callee=callee,
            duration_seconds=max(0, min(duration, 2**31 - 1)), sequence_number=max(0, min(sequence, 2**31 - 1)),
            agent_id=form.get("AgentId") or "")
        report.occurred_at.FromDatetime(occurred)
        return WebhookOutcome(
            events=[Outgoing(stream="inbound", key=f"{ctx.brand_id}/{customer.value}",
                             payload=inbound_pb2.InboundEvent(brand_id=ctx.brand_id, call_status_reported=report),
                             dedupe_id=f"twilio_voice:{sid}:{status}", time=occurred)],
            reply="", media_type="text/plain")
