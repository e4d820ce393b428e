"""A conversation's life after it opened: reopen, resolve (and the CSAT survey), priority in the queue,
phone calls, chat sessions starting and ending (transcripts), CSAT answers.

Steps of the Engine (engine.py); pure, no I/O.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from . import identity, receipts, threads, transcript
from .contact import Contact
from .inputs import CallIn, ChatEndIn, ChatStartIn, CsatIn
from .model import BOT, EMAIL, PEOPLE, RESOLVED, ChatSession, Conversation
from .workspace import Emitter, Rejected, Workspace

if TYPE_CHECKING:
    from .config import RouterConfig


class LifecycleSteps:
    """Status changes over a conversation's life (`config`, `derive` are the Engine's)."""

    config: RouterConfig
    derive: Callable[..., str]

    def _reopen(self, ws: Workspace, conv: Conversation, emit: Emitter, reason: str) -> None:
        conv.reopen_count += 1
        conv.resolved_at = None
        conv.bot_unmatched_turns = 0
        conv.contacts_since_human_reply = 0
        conv.repeat_contact_reported = False
        # People already had this case (a person held it, or it waited for one): back to them (sticky when
        # someone held it), not to the bot, which would make the customer ask for a person again.
        had_human = conv.human_involved or conv.went_to_people
        conv.set_phase(PEOPLE if had_human else BOT)
        if had_human:
            self.back_to_people(ws, conv)  # whoever held it is its previous assignee from here on
        emit.event(conv, "conversation_reopened", reason=reason)
        if had_human:
            self.enqueue(ws, conv, emit)

    def _resolve(self, ws: Workspace, conv: Conversation, emit: Emitter, by: str, code: str) -> None:
        self.resolved(ws, conv)
        conv.set_phase(RESOLVED)
        conv.resolved_at = emit.at
        conv.awaiting_reply_since = None
        conv.updated_at = emit.at
        ws.dirty_conversations.add(conv.id)
        emit.event(conv, "conversation_resolved", resolved_by=by, resolution_code=code)
        if not conv.csat_requested:
            conv.csat_requested = True
            cfg = self.config.brand_routing(conv.brand_id)
            recipient, channel = self._preferred_address(ws, conv)
            emit.notify(
                conv,
                "csat_survey",
                intent_id=self.derive("csat", conv.brand_id, conv.id),
                template="csat_survey",
                variables={"conversation_id": conv.id},
                recipient=recipient,
                channel=channel,
                not_before=emit.at + cfg.csat_delay,
            )

    def _preferred_address(self, ws: Workspace, conv: Conversation) -> tuple[dict, str]:
        """Email when we know one (surveys and transcripts outlive a chat window), else the reply handle."""
        customer = ws.customers.get(conv.customer_id)
        for h in customer.handles if customer else []:
            if h["kind"] == EMAIL:
                return dict(h), "email"
        return dict(conv.reply_handle), conv.channel

    # calls, chats, CSAT
    def _call(self, ws: Workspace, inp: CallIn) -> None:
        key = threads.call_key(inp.call_id)
        conv_id = ws.thread_index.get((inp.brand_id, key))
        if inp.state in ("queued", "ringing") or (inp.state == "in_progress" and conv_id is None):
            if conv_id is None:
                if inp.caller is None:
                    raise Rejected("CallStatusReported.caller is required to open a phone conversation")
                conv = self._contact(
                    ws,
                    Contact(
                        message_id=self.message_id(inp.event_id),
                        event_id=inp.event_id,
                        brand_id=inp.brand_id,
                        channel="phone",
                        sender=inp.caller,
                        at=inp.occurred_at,
                        handles=(inp.caller,),
                        lookup_keys=(key,),
                        own_keys=(key,),
                        message={
                            "author": "customer",
                            "channel": "phone",
                            "kind": "call",
                            "call_id": inp.call_id,
                            "provider_message_id": inp.call_id,
                            "text": "",
                        },
                    ),
                )
                conv.calls[inp.call_id] = {"ringing_at": inp.occurred_at, "state": inp.state}
                conv_id = conv.id
            if inp.state != "in_progress":
                return
        if conv_id is None or conv_id not in ws.conversations:
            return  # a late status of a call we never saw ring: nothing to attach it to
        conv = ws.conversations[conv_id]
        call = conv.calls.setdefault(inp.call_id, {})
        ws.dirty_conversations.add(conv.id)
        if inp.state == "in_progress":
            if call.get("answered_at"):
                return
            # Answered even when its end was reported first: the fact is kept, the state never goes back.
            call.update(answered_at=inp.occurred_at, state=receipts.later_call_state(call.get("state", ""), inp.state))
            conv.awaiting_reply_since = None  # a person is on the line
            emit = Emitter(ws, self.derive, inp.event_id, inp.brand_id, inp.occurred_at)
            emit.event(
                conv,
                "call_answered",
                call_id=inp.call_id,
                ringing_at=call.get("ringing_at"),
                answered_at=inp.occurred_at,
            )
            if inp.agent_id and conv.is_open:
                self.call_answered(ws, conv, inp.agent_id, emit)
        elif receipts.call_advances(call.get("state", ""), inp.state):
            call["state"] = inp.state
            call["ended_at"] = inp.occurred_at

    def _chat_started(self, ws: Workspace, inp: ChatStartIn) -> None:
        handles, email = identity.chat_start_handles(inp.chat_session_id, inp.email)
        customer = self._customer(ws, inp.brand_id, handles, inp.started_at, inp.event_id, inp.customer_name)
        key = f"{inp.brand_id}/{inp.chat_session_id}"
        ws.sessions[key] = ChatSession(
            id=key,
            brand_id=inp.brand_id,
            chat_session_id=inp.chat_session_id,
            started_at=inp.started_at,
            customer_id=customer.id,
            customer_name=inp.customer_name,
            email=email,
            language_hint=inp.language_hint,
            transcript_opt_out=inp.transcript_opt_out,
        )
        ws.dirty_sessions.add(key)

    def _chat_ended(self, ws: Workspace, inp: ChatEndIn) -> None:
        key = f"{inp.brand_id}/{inp.chat_session_id}"
        session = ws.sessions.get(key)
        if session is not None:
            session.ended_at = inp.ended_at
            ws.dirty_sessions.add(key)
        conv = ws.conversations.get(ws.thread_index.get((inp.brand_id, threads.chat_key(inp.chat_session_id)), ""))
        if conv is None:
            return  # a chat that never got a message: nothing to transcribe
        email = session.email if session else ""
        if not email:
            address, channel = self._preferred_address(ws, conv)
            email = address.get("value", "") if channel == "email" else ""
        opted_out = bool(session and session.transcript_opt_out)
        requested = bool(email) and not opted_out
        emit = Emitter(ws, self.derive, inp.event_id, inp.brand_id, inp.ended_at)
        emit.event(conv, "chat_ended", chat_session_id=inp.chat_session_id, transcript_requested=requested)
        if requested:
            since = session.started_at if session else None
            grace = self.config.brand_routing(inp.brand_id).transcript_grace
            if grace:  # sent on the tick after the grace: late agent replies still make it in
                transcript.schedule(conv, chat_session_id=inp.chat_session_id, email=email, since=since,
                                    ended_at=inp.ended_at, grace=grace)
                ws.dirty_conversations.add(conv.id)
            else:
                transcript.send(emit, conv, intent_id=self.transcript_id(conv, inp.chat_session_id),
                                chat_session_id=inp.chat_session_id, email=email,
                                text=transcript.render(ws.history.get(conv.id, []), since=since))

    def transcript_id(self, conv: Conversation, chat_session_id: str) -> str:
        return self.derive("transcript", conv.brand_id, conv.id, chat_session_id)

    def _csat(self, ws: Workspace, inp: CsatIn) -> None:
        conv = ws.conversations.get(inp.conversation_id)
        if conv is None:
            raise Rejected(f"CsatAnswered.conversation_id {inp.conversation_id!r} is not a known conversation")
        if not 1 <= inp.score <= 5:
            raise Rejected(f"CsatAnswered.score must be 1..5, got {inp.score}")
        conv.csat_score = inp.score
        ws.dirty_conversations.add(conv.id)
        Emitter(ws, self.derive, inp.event_id, inp.brand_id, inp.answered_at).event(
            conv, "csat_recorded", score=inp.score
        )

