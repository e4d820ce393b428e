"""Consumed batch (conversations, sla, escalations) -> facts -> projection writes -> activity.

Rows are written before the activity documents: a replica's tail that sees an activity document
(and tells the browsers) finds the row already updated when the page re-fetches it.
"""
from __future__ import annotations

from datetime import timedelta

from switchboard.common.clock import Clock
from switchboard.common.cloudevents import Envelope
from switchboard.common.consumer import PermanentError
from switchboard.common.logging import get_logger
from switchboard.console.adapters.activity import ActivityStore
from switchboard.console.adapters.codec import UnsupportedEvent, to_fact
from switchboard.console.adapters.store import ConversationStore, ProjectionWrites
from switchboard.console.domain.projection import (
    LOWEST_VERSION,
    ConversationFact,
    EscalationFact,
    Fact,
    SlaEventFact,
    activity_document,
    escalation_document,
    newest_snapshots,
    row_fields,
    to_ms,
)
from switchboard.console.domain.sla import apply_sla_fact, derive_state, next_deadline

log = get_logger(__name__)


class ProjectionHandler:
    def __init__(self, store: ConversationStore, activity: ActivityStore, clock: Clock, *,
                 noise_ttl: timedelta) -> None:
        self.store = store
        self.activity = activity
        self.clock = clock
        self.noise_ttl = noise_ttl
        self.batches = 0

    async def handle(self, batch: list[Envelope]) -> None:
        facts = []
        for env in batch:
            try:
                fact = to_fact(env)
            except UnsupportedEvent as exc:
                raise PermanentError(str(exc)) from exc
            if not fact.brand_id or not fact.snapshot.conversation_id:
                raise PermanentError(f"event {env.id} on {env.topic} has no brand_id or conversation_id")
            facts.append(fact)
        writes = await self.plan(facts)
        if writes:
            await self.store.apply(writes)
        now = self.clock.now()
        await self.activity.insert([activity_document(f, recorded_at=now, noise_ttl=self.noise_ttl) for f in facts])
        self.batches += 1

    async def plan(self, facts: list[Fact]) -> ProjectionWrites:
        writes = ProjectionWrites()
        conversation_facts = [f for f in facts if isinstance(f, ConversationFact)]
        for fact in newest_snapshots(conversation_facts).values():
            writes.snapshots.append((fact, row_fields(fact.snapshot, fact.brand_id, at=fact.occurred_at,
                                                      event_id=fact.event_id, version=fact.version)))
        for fact in conversation_facts:
            if fact.kind == "escalation_acknowledged" and fact.detail.get("escalation_id"):
                writes.acks.append({"_id": fact.detail["escalation_id"], "brand_id": fact.brand_id,
                                    "conversation_id": fact.snapshot.conversation_id, "acknowledged": True,
                                    "acknowledged_by": fact.detail.get("agent_id", ""),
                                    "acknowledged_ms": to_ms(fact.occurred_at)})
        for fact in facts:
            if isinstance(fact, SlaEventFact | EscalationFact):
                at = fact.at if isinstance(fact, SlaEventFact) else fact.raised_at
                seed = row_fields(fact.snapshot, fact.brand_id, at=at, event_id="", version=LOWEST_VERSION)
                writes.seeds.setdefault(fact.snapshot.conversation_id, seed)
            if isinstance(fact, EscalationFact):
                writes.raises.append((fact, escalation_document(fact)))
        await self._fold_sla([f for f in facts if isinstance(f, SlaEventFact)], writes)
        return writes

    async def _fold_sla(self, facts: list[SlaEventFact], writes: ProjectionWrites) -> None:
        if not facts:
            return
        clocks = await self.store.sla_clocks(sorted({f.snapshot.conversation_id for f in facts}))
        for fact in facts:  # partition order: a conversation's SLA events arrive in the order they happened
            cid = fact.snapshot.conversation_id
            clocks[cid] = apply_sla_fact(clocks.get(cid) or {}, fact.clock)
        for cid in {f.snapshot.conversation_id for f in facts}:
            writes.sla[cid] = {"sla_clocks": clocks[cid], "sla_state": derive_state(clocks[cid]),
                               "next_deadline_ms": to_ms(next_deadline(clocks[cid]))}
