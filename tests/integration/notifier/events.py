"""Builders for the requests the notifier consumes."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from google.protobuf.timestamp_pb2 import Timestamp
from switchboard.events.v1 import common_pb2, escalation_pb2, notification_pb2, sla_pb2

K = notification_pb2.NotificationKind


def ts(dt: datetime) -> Timestamp:
    t = Timestamp()
    t.FromDatetime(dt)
    return t


def snapshot(conversation_id="c-1", channel=common_pb2.CHANNEL_CHAT, language="en", **kw):
    return common_pb2.ConversationSnapshot(conversation_id=conversation_id, customer_id="cu-1", channel=channel,
                                           language=language, customer_name=kw.pop("customer_name", "Ana"),
                                           order_ids=kw.pop("order_ids", ["A-1001"]), queue="returns",
                                           priority=common_pb2.PRIORITY_HIGH, **kw)


def escalation(escalation_id="c-1:FIRST_RESPONSE:0:2", level=2, destinations=(), conversation_id="c-1"):
    now = datetime.now(UTC)
    return escalation_pb2.EscalationRaised(
        brand_id="acme", escalation_id=escalation_id, conversation=snapshot(conversation_id), level=level,
        level_name="team lead", reason=escalation_pb2.ESCALATION_REASON_SLA_BREACHED,
        metric=sla_pb2.SLA_METRIC_FIRST_RESPONSE if hasattr(sla_pb2, "SLA_METRIC_FIRST_RESPONSE") else 1,
        deadline=ts(now - timedelta(seconds=95)), breached_at=ts(now - timedelta(seconds=95)), raised_at=ts(now),
        target_seconds=120, recipients=["team-lead"], destinations=list(destinations))


def email_handle(address="ana@example.com"):
    return common_pb2.ContactHandle(kind=common_pb2.HANDLE_KIND_EMAIL, value=address)


def notification(intent_id, kind, *, channel=common_pb2.CHANNEL_EMAIL, recipient=None, template="", text="",
                 language="en", variables=None, conversation=None, not_before=None):
    conv = conversation or snapshot(channel=channel, language=language)
    req = notification_pb2.NotificationRequested(
        brand_id="acme", intent_id=intent_id, kind=kind, conversation=conv, template=template, language=language,
        text=text, recipient=recipient or email_handle(), channel=channel, variables=variables or {})
    if not_before is not None:
        req.not_before.CopyFrom(ts(not_before))
    return req
