"""The routing decisions of a scope (a brand): queue entry, assignment, capacity booking and release.

Only the scope's owner applies them (the routing stage owns each brand alone; docs/router.md "Two
stages"), on the brand's resident agents and queue. Engine (engine.py) inherits these; pure, no I/O.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from . import assignment_notice, position_updates, queue_exit, routing
from .config import BrandRouting
from .model import ASSIGNED, BOT, QUEUED, Conversation, QueueEntry, QueueStats
from .waiting_line import line_for

if TYPE_CHECKING:
    from .config import RouterConfig
    from .workspace import Emitter, Workspace

DEQUEUES_KEPT = 50
ASSIGNMENTS_KEPT = 20


class ScopeRouting:
    """Queue and routing steps of the Engine (`self.config` is the Engine's)."""

    config: RouterConfig

    def _enqueue(self, ws: Workspace, conv: Conversation, emit: Emitter) -> None:
        cfg = self.config.brand_routing(conv.brand_id)
        conv.queue = _queue_for(cfg, conv)
        conv.set_people_status(QUEUED)
        conv.updated_at = emit.at
        queue = ws.queue.setdefault(conv.brand_id, {})
        entry = queue.get(conv.id)
        if entry is None:
            entry = QueueEntry(
                id=conv.id,
                brand_id=conv.brand_id,
                queue=conv.queue,
                priority=conv.priority,
                channel=conv.channel,
                capacity_class=cfg.capacity_class(conv.channel),
                language=conv.language,
                enqueued_at=emit.at,
                product_line=conv.product_line,
                vip=conv.vip,
                preferred_agent=conv.assignee_id or conv.previous_assignee_id,
            )
            queue[conv.id] = entry
            conv.enqueued_at = emit.at  # kept if it goes back to the queue (domain/reassignment.py)
        ws.removed_queue.discard((conv.brand_id, conv.id))
        ws.dirty_queue.add((conv.brand_id, conv.id))
        ws.dirty_conversations.add(conv.id)
        position = line_for(ws.lines, conv.brand_id, queue, cfg.class_rank).position(conv.id)[1]
        eta = self._eta(ws, cfg, conv.brand_id, conv.queue, position, emit.at)
        emit.event(conv, "conversation_queued", queue=conv.queue, position=position, eta_seconds=eta)

    def _eta(self, ws: Workspace, cfg: BrandRouting, brand: str, queue: str, position: int, at: datetime) -> int:
        stats = ws.stats.get(f"{brand}/{queue}")
        return routing.eta_seconds(
            position, stats.dequeued_at if stats else [], at, cfg.eta_window, cfg.eta_default_per_position
        )

    def _stats(self, ws: Workspace, brand: str, queue: str) -> QueueStats:
        key = f"{brand}/{queue}"
        stats = ws.stats.get(key)
        if stats is None:
            stats = ws.stats[key] = QueueStats(id=key, brand_id=brand, queue=queue)
        return stats

    def _dequeue(self, ws: Workspace, conv: Conversation) -> None:
        entry = ws.queue.get(conv.brand_id, {}).pop(conv.id, None)
        if entry is not None:
            ws.removed_queue.add((conv.brand_id, conv.id))
            ws.dirty_queue.discard((conv.brand_id, conv.id))
            if (line := ws.lines.get(conv.brand_id)) is not None:
                line.discard(conv.id)

    def _route(self, ws: Workspace, brand: str, emit: Emitter) -> None:
        """Assigns whatever can be assigned now, then tells waiting customers where they stand."""
        queue = ws.queue.get(brand)
        if not queue:
            return
        cfg = self.config.brand_routing(brand)
        agents = list(ws.agents.get(brand, {}).values())
        line = line_for(ws.lines, brand, queue, cfg.class_rank)  # serving order without sorting the queue
        for entry, choice in routing.drain(line.in_order(queue), agents, cfg.class_rank, emit.at, ordered=True):
            conv = ws.conversations[entry.id]
            self._dequeue(ws, conv)
            stats = self._stats(ws, brand, entry.queue)
            stats.dequeued_at = [*stats.dequeued_at, emit.at][-DEQUEUES_KEPT:]
            ws.dirty_stats.add(stats.id)
            ws.dirty_agents.add((brand, choice.agent_id))
            self._assigned(ws, conv, choice, entry.capacity_class, emit, moved_from=entry.moved_from,
                           reason=entry.move_reason)
            if entry.last_notified_position:  # they were told a place: tell them it is their turn
                emit.notify(conv, "queue_position", template=position_updates.PICKED_UP,
                            variables=position_updates.variables(entry.queue, 0, 0))
        position_updates.tell(self, ws, brand, emit)

    def _assigned(
        self, ws: Workspace, conv: Conversation, choice: routing.Choice, capacity_class: str, emit: Emitter,
        moved_from: str = "", reason: str = "",
    ) -> None:
        """Records an assignment whose capacity was already booked on the new agent. `moved_from` and
        `reason`: it went back to the queue from that agent (domain/reassignment.py)."""
        previous = conv.assignee_id or moved_from
        if previous and previous != choice.agent_id:
            self._release(ws, conv)
            conv.reassignment_count += 1
        if previous:
            conv.previous_assignee_id = previous
        conv.assignee_id = choice.agent_id
        conv.booked_class = capacity_class
        conv.set_people_status(ASSIGNED)
        queue_exit.wait_ended(conv)
        conv.assigned_at = emit.at
        conv.updated_at = emit.at
        ws.dirty_conversations.add(conv.id)
        conv.assignment_history = [
            *conv.assignment_history,
            {
                "at": emit.at,
                "agent_id": choice.agent_id,
                "previous": previous,
                "rule": choice.rule,
                "explanation": choice.explanation,
                "reason": reason,
            },
        ][-ASSIGNMENTS_KEPT:]
        emit.event(
            conv,
            "conversation_assigned",
            assignee_id=choice.agent_id,
            previous_assignee_id=previous,
            rule=choice.rule,
            explanation=choice.explanation,
            reassignment_count=conv.reassignment_count,
            reason=reason,
        )
        assignment_notice.notify_assignee(
            emit, conv, ws.agents.get(conv.brand_id, {}).get(choice.agent_id), agent_id=choice.agent_id,
            rule=choice.rule, explanation=choice.explanation, previous_agent_id=previous,
        )

    def _release(self, ws: Workspace, conv: Conversation) -> None:
        agent = ws.agents.get(conv.brand_id, {}).get(conv.assignee_id)
        if agent is not None and conv.booked_class:
            routing.release(agent, conv.booked_class, conv.id)
            ws.dirty_agents.add((conv.brand_id, agent.agent_id))
        conv.booked_class = ""

    def _assign_directly(
        self, ws: Workspace, conv: Conversation, agent_id: str, rule: str, explanation: str, emit: Emitter
    ) -> None:
        """Manual or implicit assignment (an agent replied, answered the call): books capacity even
        beyond the limit, because the agent chose to take it."""
        if conv.assignee_id == agent_id and conv.status not in (BOT, QUEUED):
            return
        waiting = ws.queue.get(conv.brand_id, {}).get(conv.id)
        self._dequeue(ws, conv)
        cfg = self.config.brand_routing(conv.brand_id)
        if not conv.queue:  # taken straight from the bot: reported under the queue it would have waited in
            conv.queue = _queue_for(cfg, conv)
        capacity_class = cfg.capacity_class(conv.channel)
        if conv.assignee_id and conv.assignee_id != agent_id:
            self._release(ws, conv)
        agent = ws.agents.get(conv.brand_id, {}).get(agent_id)
        booked = ""
        if agent is not None and conv.id not in agent.active:
            routing.take(
                agent,
                QueueEntry(
                    id=conv.id,
                    brand_id=conv.brand_id,
                    queue=conv.queue,
                    priority=0,
                    channel=conv.channel,
                    capacity_class=capacity_class,
                    language="",
                    enqueued_at=emit.at,
                ),
                conv.id,
                emit.at,
            )
            ws.dirty_agents.add((conv.brand_id, agent_id))
            booked = capacity_class
        elif agent is not None:
            booked = conv.booked_class or capacity_class
        self._assigned(ws, conv, routing.Choice(agent_id, rule, explanation), booked, emit)
        if waiting is not None and waiting.last_notified_position and rule == routing.MANUAL:
            # Told a place (or promised a message at pickup): as when routing picks them up. A reply or an
            # answered call tells them itself.
            emit.notify(conv, "queue_position", template=position_updates.PICKED_UP,
                        variables=position_updates.variables(waiting.queue, 0, 0))


def _queue_for(cfg: BrandRouting, conv: Conversation) -> str:
    """The queue the conversation waits in, by its language, channel, product line and VIP flag."""
    return cfg.choose_queue(language=conv.language, channel=conv.channel, product_line=conv.product_line,
                            vip=conv.vip)
