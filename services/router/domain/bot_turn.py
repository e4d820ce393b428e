"""The bot's turn in a conversation: answer the customer, or hand off to people (domain/bot.py decides).

Steps of the Engine (engine.py); pure, no I/O.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from . import bot
from .model import URGENT, Conversation, raise_priority
from .workspace import Emitter, Workspace

if TYPE_CHECKING:
    from .config import RouterConfig
    from .contact import Contact


class BotTurnSteps:
    """The bot's answers and hand-offs (`config`, `derive` are the Engine's)."""

    config: RouterConfig
    derive: Callable[..., str]

    def _order_facts(self, ws: Workspace, conv: Conversation) -> list[bot.OrderFacts]:
        facts = []
        for order_id in conv.order_ids:
            rec = ws.orders.get(f"{conv.brand_id}/{order_id}")
            if rec is not None:
                eta = rec.estimated_delivery.date().isoformat() if rec.estimated_delivery else ""
                facts.append(
                    bot.OrderFacts(
                        rec.order_id, rec.order_number, rec.kind, rec.carrier, rec.tracking_url, eta, rec.reason
                    )
                )
        return facts

    def _bot_turn(self, ws: Workspace, conv: Conversation, c: Contact, emit: Emitter) -> None:
        config = self.config.brand_bot(conv.brand_id)
        turn = bot.BotTurn(
            text=c.text,
            language=conv.language or "en",
            channel=c.channel,
            at=c.at,
            orders=tuple(self._order_facts(ws, conv)),
            postback=c.postback,
            recent_customer_times=tuple(conv.recent_customer_times),
        )
        outcome = bot.decide(config, conv, turn)
        if isinstance(outcome, bot.Handoff):
            self._handoff(ws, conv, emit, outcome.reason, outcome.raise_priority, named_order=outcome.named_order)
            return
        conv.bot_answer_keys.append(outcome.answer_key)
        conv.bot_text_digests.append(outcome.text_digest)
        if outcome.answer_key == bot.CLARIFY:
            conv.bot_unmatched_turns += 1
        intent_id = self.derive(c.event_id, "bot_answer")
        emit.event(conv, "bot_replied", answer_key=outcome.answer_key, intent_id=intent_id)
        emit.notify(
            conv,
            "bot_answer",
            intent_id=intent_id,
            template="",
            language=outcome.language,
            variables=dict(outcome.variables, answer_key=outcome.answer_key),
            text=outcome.text,
        )
        doc = {
            "_id": self.derive(c.event_id, "bot_message"),
            "conversation_id": conv.id,
            "brand_id": conv.brand_id,
            "author": "bot",
            "channel": conv.channel,
            "text": outcome.text,
            "answer_key": outcome.answer_key,
            "intent_id": intent_id,
            "answers": c.message_id,  # the customer message answered: the store keeps the two together
            "at": c.at,
        }
        ws.new_messages.append(doc)
        ws.history.setdefault(conv.id, []).append(doc)

    def _handoff(self, ws: Workspace, conv: Conversation, emit: Emitter, reason: str, raise_prio: bool,
                 named_order: str = "") -> None:
        if raise_prio and conv.priority < URGENT:
            previous = conv.priority
            conv.priority = raise_priority(previous)
            emit.event(conv, "priority_changed", previous=previous, current=conv.priority, reason=f"bot: {reason}")
        customer = ws.customers.get(conv.customer_id)
        summary = bot.handoff_summary(
            conv,
            reason=reason,
            orders=self._order_facts(ws, conv),
            channel_history=[{"channel": ch, "messages": n} for ch, n in conv.channel_counts.items()],
            customer_name=customer.name if customer else conv.customer_name,
            named_order=named_order,
        )
        conv.handoffs.append({"at": emit.at, "reason": reason, "summary": summary})
        emit.event(conv, "conversation_handed_off", reason=reason, summary=bot.summary_text(summary))
        self.enqueue(ws, conv, emit)

