"""Order events: kept per order (latest fact wins), linked to the customer and their open conversation;
a delay raises the conversation's priority.

Steps of the Engine (engine.py); pure, no I/O.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from . import queue_exit
from .contact import usable_handle
from .inputs import OrderIn
from .model import URGENT, OrderRecord, raise_priority
from .workspace import Emitter, Workspace

if TYPE_CHECKING:
    from .config import RouterConfig


class OrderSteps:
    """Order facts and their effect on the customer's conversation (`derive` is the Engine's)."""

    config: RouterConfig
    derive: Callable[..., str]

    def _order(self, ws: Workspace, inp: OrderIn) -> None:
        brand = inp.brand_id
        key = f"{brand}/{inp.order_id}"
        record = ws.orders.get(key)
        if record is not None and any(h.get("event_id") == inp.event_id for h in record.history):
            return  # already applied: a second priority raise for the same delay would be wrong
        customer = None
        # An order's handles are the shop's data: unusable ones are dropped, never a reason to lose the order.
        usable = [h for h in inp.handles if usable_handle(h)]
        if usable:
            customer = self._customer(ws, brand, usable, inp.occurred_at, inp.event_id, inp.customer_name)
        elif record is not None and record.customer_id:
            customer = ws.customers.get(record.customer_id)
        if record is None:
            record = OrderRecord(
                id=key, brand_id=brand, order_id=inp.order_id, kind=inp.kind, occurred_at=inp.occurred_at
            )
            ws.orders[key] = record
        if inp.occurred_at >= record.occurred_at or not record.history:
            record.kind = inp.kind  # the latest fact wins; an older one arriving late only joins the history
            record.occurred_at = inp.occurred_at
            for name in ("order_number", "carrier", "tracking_number", "tracking_url", "reason"):
                value = getattr(inp, name)
                if value:
                    setattr(record, name, value)
            if inp.estimated_delivery:
                record.estimated_delivery = inp.estimated_delivery
        if not any(h.get("event_id") == inp.event_id for h in record.history):
            record.history.append({"kind": inp.kind, "at": inp.occurred_at, "event_id": inp.event_id})
        if customer is not None:
            record.customer_id = customer.id
            if inp.order_id not in customer.order_ids:
                customer.order_ids.append(inp.order_id)
                ws.dirty_customers.add(customer.id)
        ws.dirty_orders.add(key)
        conv = ws.conversations.get(customer.last_conversation_id) if customer else None
        if conv is None or not conv.is_open:
            return
        emit = Emitter(ws, self.derive, inp.event_id, brand, inp.occurred_at)
        if inp.order_id not in conv.order_ids:
            conv.order_ids.append(inp.order_id)
        ws.dirty_conversations.add(conv.id)
        queue_exit.note_reachable(conv, customer)  # the order may have brought an email or a phone number
        emit.event(conv, "order_linked", order=inp)
        if inp.kind == "delayed" and conv.priority < URGENT:
            previous = conv.priority
            conv.priority = raise_priority(previous)
            self.reprioritize(ws, conv)
            emit.event(conv, "priority_changed", previous=previous, current=conv.priority, reason="order delayed")
            self.route(ws, brand, emit)

