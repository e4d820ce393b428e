"""Intake: requests -> durable outbox entries, one per (intent, destination). Runs inside the Kafka
consumer. With the local dispatcher, new due entries are sent first and stored once with their
outcome (dispatcher.py, send_first.py): consuming waits on a destination at most
`scheduler.send_first_seconds` per batch; everything else only writes the outbox.

Skip rules (recorded as SKIPPED, so every intent has an outcome): no address, email requested for a
non-email handle, transcript opt-out, a second CSAT survey for a conversation, nothing routed for
an escalation or assignment notice. Bad requests raise PermanentError (the runner dead-letters them).
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

import structlog
from switchboard.common.cloudevents import Envelope
from switchboard.common.consumer import PermanentError
from switchboard.common.logging import get_logger
from switchboard.notifier import metrics
from switchboard.notifier.adapters import codec
from switchboard.notifier.adapters.ports import Added, LocalDispatch, Sending
from switchboard.notifier.domain.model import PENDING, SKIPPED, outbox_id
from switchboard.notifier.domain.requests import Escalation, Handle, Notification
from switchboard.notifier.domain.routing import escalation_destinations
from switchboard.notifier.domain.templates import normalize_language
from switchboard.notifier.handlers.reporting import replayed_entries

log = get_logger(__name__)
DEFAULT_TEMPLATE = {"transcript": "transcript", "csat_survey": "csat_survey", "queue_position": "queue_position",
                    "proactive_update": "still_working"}
EMAIL_CHANNELS = {"email", "web_form"}
SURVEY_ALREADY_SENT = "survey already sent for this conversation"
Entry = dict[str, Any]


class Intake:
    """Planning of outbox entries (mixed into NotifierHandlers: uses its config, catalog, outbox, clock)."""

    async def intake(self, batch: list[Envelope], local: LocalDispatch | None = None) -> None:
        """Turns requests into outbox entries. Once this returns, every entry is stored and the outbox
        owns the work. With `local` (this replica's dispatcher), entries due now are sent first and
        stored with their outcome (send-first), or go in already claimed for it and are handed straight
        to it (a once_key / supersede_key, send-first off): one write instead of an insert and a claim."""
        now = self.clock.now()
        docs: list[Entry] = []
        replays: dict[str, str] = {}  # outbox id -> replay token, for records re-published from the DLQ
        for env in batch:
            with structlog.contextvars.bound_contextvars(event_id=env.id):
                planned = self._plan(env, now)
            docs.extend(planned)
            replays.update(replayed_entries(env, planned))
        await self._apply_once_per_conversation(docs)
        newest: dict[str, Entry] = {}
        for doc in docs:  # batch order is partition order: the last one is the newest
            if doc.get("supersede_key") and doc["state"] == PENDING:
                newest[doc["supersede_key"]] = doc
        claimable = _claimable(docs, newest, now)
        sending, skip = await self._send_first(claimable, now, local)
        refused = await self._insert([d for d in docs if d["_id"] not in skip],
                                     [d for d in claimable if d["_id"] not in skip], now, local)
        if refused:  # lost a race on once_key: record the skip so the intent still has an outcome
            await self.outbox.add([_as_skipped(d, SURVEY_ALREADY_SENT) for d in docs if d["_id"] in refused])
        if replays:
            # An ordinary duplicate changes nothing (the $setOnInsert above); a DLQ replay revives a failed entry.
            revived = await self.outbox.revive(replays, now)
            metrics.DLQ_REPLAYS.labels("revived").inc(revived)
            metrics.DLQ_REPLAYS.labels("ignored").inc(len(replays) - revived)
            log.info("dlq_replay_received", entries=len(replays), revived=revived)
        if newest:
            await self.outbox.supersede(list(newest.values()), now, "superseded by a newer queue position")
        if sending is not None:  # every entry stored before the runner commits the offsets
            unsent = await local.settle(sending)
            if unsent:  # no pool room within send_first_seconds: inserted pending, the scanner's
                await self._insert(unsent, [], now, local)
        log.debug("intake_recorded", intents=len(docs))

    async def _send_first(self, claimable: list[Entry], now: datetime,
                          local: LocalDispatch | None) -> tuple[Sending | None, frozenset[str]]:
        """Starts sending the new due entries without a once_key / supersede_key (those need the
        store's answer first) before storing them. Returns what is being sent and the ids intake does
        not insert: those sent first, and those already stored (a redelivery: never sent again here)."""
        if local is None or self.config.scheduler.send_first_seconds <= 0:
            return None, frozenset()
        first = [d for d in claimable if not d.get("once_key") and not d.get("supersede_key")]
        if not first:
            return None, frozenset()
        stored = await self.outbox.stored([d["_id"] for d in first])
        sending = local.send_first([d for d in first if d["_id"] not in stored], now)
        return sending, stored | sending.ids

    async def _insert(self, docs: list[Entry], claimable: list[Entry], now: datetime,
                      local: LocalDispatch | None) -> frozenset[str]:
        """Inserts the entries, the reserved ones already claimed; hands over only those this insert
        created (a redelivered intent is found, not created: it is sent by whoever holds it).
        Returns the ids refused as once_key duplicates."""
        reservation = local.reserve(claimable, now) if local is not None and claimable else None
        claimed = reservation.claimed if reservation is not None else {}
        try:
            added = await self.outbox.add([claimed.get(d["_id"], d) for d in docs]) if docs else Added()
        except BaseException:
            if reservation is not None:
                local.hand_over(reservation, None)  # it may have been applied: released, never sent
            raise
        if reservation is not None:
            local.hand_over(reservation, added.inserted)
        return added.refused

    def _plan(self, env: Envelope, now: datetime) -> list[Entry]:
        try:
            request, message = codec.decode_request(env.payload)
        except codec.UnsupportedMessage as exc:
            raise PermanentError(str(exc)) from exc
        if isinstance(request, Escalation):
            return self._plan_escalation(env, request, message, request.escalation_id, now)
        if request.kind == "escalation":
            if request.escalation is None:
                raise PermanentError("ESCALATION notification without `escalation`")
            return self._plan_escalation(env, request.escalation, message,
                                         request.intent_id or request.escalation.escalation_id, now)
        if request.kind == "agent_assigned":
            return self._plan_assignment(env, request, message, now)
        return [self._plan_customer(env, request, message, now)]

    def _plan_escalation(self, env: Envelope, esc: Escalation, message: bytes, intent_id: str,
                         now: datetime) -> list[Entry]:
        if not intent_id:
            raise PermanentError("escalation_id is required (it is the intent id)")
        if not esc.brand_id:
            raise PermanentError("brand_id is required")
        targets = escalation_destinations(esc.brand_id, esc.level, list(esc.destinations),
                                          self.config.escalation_routing)
        common = {"intent_id": intent_id, "kind": codec.kind_value("escalation"), "brand_id": esc.brand_id,
                  "conversation_id": esc.conversation.conversation_id,
                  "channel": codec.channel_value(esc.conversation.channel), "language": "en",
                  "message_type": codec.ESCALATION_MESSAGE, "message": message, "due_at": now, "now": now}
        return self._plan_people(env, targets, common,
                                 f"no destination routed for brand {esc.brand_id} level {esc.level}")

    def _plan_assignment(self, env: Envelope, req: Notification, message: bytes, now: datetime) -> list[Entry]:
        _require_intent_and_brand(req)
        if not req.assignment.agent_id:
            raise PermanentError("AGENT_ASSIGNED needs assignment.agent_id (the agent to tell)")
        common = {"intent_id": req.intent_id, "kind": codec.kind_value(req.kind), "brand_id": req.brand_id,
                  "conversation_id": req.conversation.conversation_id,
                  "channel": codec.channel_value(req.conversation.channel), "language": "en",
                  "message_type": codec.ASSIGNMENT_MESSAGE, "message": message, "due_at": now, "now": now}
        return self._plan_people(env, self.config.assignment_destinations(req.brand_id), common,
                                 f"no assignment_notices destination for brand {req.brand_id}")

    def _plan_people(self, env: Envelope, targets: list[str], common: dict[str, Any],
                     nothing_routed: str) -> list[Entry]:
        """One outbox entry per destination id; a skipped record when nothing is routed."""
        if not targets:
            return [_as_skipped(_base_doc(env, destination="none", destination_type="none", **common),
                                nothing_routed)]
        docs = []
        for target in targets:
            cfg = self.config.destination(target)
            dest_type = cfg.type if cfg else "unknown"
            doc = _base_doc(env, destination=f"{dest_type}:{target}", destination_type=dest_type, **common)
            doc["destination_id"] = target
            docs.append(doc)
        return docs

    def _plan_customer(self, env: Envelope, req: Notification, message: bytes, now: datetime) -> Entry:
        self._validate_customer(req)
        conv = req.conversation
        recipient = req.recipient if req.recipient.value else conv.reply_handle
        channel = req.channel or conv.channel
        if req.kind == "transcript":
            channel = "email"  # transcripts go by email, whatever the chat channel
            if recipient.kind != "email":
                recipient = Handle("email", req.variables.get("customer_email", ""))
        if not channel:
            raise PermanentError("channel is required (on the request or its conversation)")
        endpoint_channel, destination, dest_type = self._customer_destination(channel)
        due_at = req.not_before if req.not_before and req.not_before > now else now
        doc = _base_doc(env, intent_id=req.intent_id, destination=destination, destination_type=dest_type,
                        kind=codec.kind_value(req.kind), brand_id=req.brand_id,
                        conversation_id=conv.conversation_id, channel=codec.channel_value(channel),
                        language=normalize_language(req.language or conv.language),
                        message_type=codec.NOTIFICATION_MESSAGE, message=message, due_at=due_at, now=now)
        doc.update(endpoint_channel=endpoint_channel, recipient_kind=codec.handle_kind_value(recipient.kind),
                   recipient=recipient.value)
        skip = self._customer_skip(req, recipient, channel)
        if skip:
            return _as_skipped(doc, skip)
        if req.kind == "queue_position" and conv.conversation_id:
            # A backlog (provider outage) must not replay stale positions: a newer one replaces them.
            doc["supersede_key"] = f"queue|{req.brand_id}|{conv.conversation_id}"
        if req.kind == "csat_survey" and self.config.csat.once_per_conversation:
            doc["once_key"] = f"csat|{req.brand_id}|{conv.conversation_id or req.intent_id}"
        return doc

    def _validate_customer(self, req: Notification) -> None:
        _require_intent_and_brand(req)
        if not req.kind:
            raise PermanentError("kind is required")
        if not req.template and not req.text and req.kind not in DEFAULT_TEMPLATE:
            raise PermanentError(f"{req.kind} needs a template or literal text")
        if req.template and not self.catalog.has(req.template):
            raise PermanentError(f"unknown template '{req.template}'")

    def _customer_destination(self, channel: str) -> tuple[str, str, str]:
        """(endpoint channel, destination, destination type) of a customer message on `channel`."""
        endpoint_channel = channel
        if endpoint_channel == "phone" and "phone" not in self.config.customer_channels:
            endpoint_channel = "sms"  # after a call, written follow-ups (CSAT, updates) go by SMS
        if channel in EMAIL_CHANNELS:
            return endpoint_channel, "smtp", "smtp"
        endpoint = self.config.customer_channels.get(endpoint_channel)
        dest_type = endpoint.api if endpoint else "unconfigured"
        return endpoint_channel, f"{dest_type}:{endpoint_channel}", dest_type

    def _customer_skip(self, req: Notification, recipient: Handle, channel: str) -> str | None:
        """Why this customer message is not sent at all, or None."""
        if not recipient.value:
            return "no email address for the transcript" if req.kind == "transcript" else "no address to send to"
        if channel in EMAIL_CHANNELS and recipient.kind != "email":
            return "email requested but the recipient handle is not an email address"
        opted_out = req.variables.get(self.config.transcript.opt_out_variable, "").lower() in ("1", "true", "yes")
        if req.kind == "transcript" and opted_out:
            return "customer opted out of transcripts"
        return None

    async def _apply_once_per_conversation(self, docs: list[Entry]) -> None:
        keyed = [d for d in docs if d.get("once_key")]
        if not keyed:
            return
        # The same intent redelivered keeps its own key; another intent for the conversation is skipped.
        owner = await self.outbox.once_key_owners([d["once_key"] for d in keyed])
        for i, doc in enumerate(docs):
            key = doc.get("once_key")
            if key and owner.setdefault(key, doc["_id"]) != doc["_id"]:
                docs[i] = _as_skipped(doc, SURVEY_ALREADY_SENT)


def _claimable(docs: list[Entry], newest: dict[str, Entry], now: datetime) -> list[Entry]:
    """Entries that may go in claimed: pending, due now, and not a queue position that a newer one in
    this batch supersedes (that one must stay pending to be skipped)."""
    t = now.timestamp()
    return [d for d in docs if d["state"] == PENDING and d["due_at"] <= t
            and (not d.get("supersede_key") or newest[d["supersede_key"]] is d)]


def _require_intent_and_brand(req: Notification) -> None:
    if not req.intent_id:
        raise PermanentError("intent_id is required")
    if not req.brand_id:
        raise PermanentError("brand_id is required")


def _base_doc(env: Envelope, *, intent_id: str, destination: str, destination_type: str, kind: int,
              brand_id: str, conversation_id: str, channel: int, language: str, message_type: str,
              message: bytes, due_at: datetime, now: datetime) -> Entry:
    return {
        "_id": outbox_id(intent_id, destination), "intent_id": intent_id, "destination": destination,
        "destination_type": destination_type, "pool": destination, "kind": kind, "brand_id": brand_id,
        "conversation_id": conversation_id, "channel": channel, "language": language,
        "message_type": message_type, "message": message, "state": PENDING, "due_at": due_at.timestamp(),
        "attempts": 0, "created_at": now.timestamp(), "updated_at": now.timestamp(), "report_due": False,
        "event_id": env.id,
        "source": {"topic": env.topic or "", "partition": env.partition or 0, "offset": env.offset or 0,
                   "key": env.key, "value": codec.source_value(env.payload),
                   "headers": [[k, v] for k, v in (env.raw_headers or env.headers())]},
    }


def _as_skipped(doc: Entry, detail: str) -> Entry:
    doc = {k: v for k, v in doc.items() if k != "once_key"}
    doc.update(state=SKIPPED, detail=detail, report_due=True, finished_at=doc["created_at"])
    return doc
