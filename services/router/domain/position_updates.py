"""Queue-position messages, bounded.

A waiting customer is told their place:
- on entering the queue;
- at every move within the first `top` places (default 3: the wait is nearly over);
- at pickup, when an agent takes the conversation (only if they were told a place before);
- otherwise at most once per `min_interval` (default 2 min), and only while standing on a
  checkpoint of the ladder 5, 10, 20, 50, 100, 200, 500, 1000, ...

Only the entries standing on the first `top` places or on a checkpoint are looked at after a queue
change, so the messages per change are bounded by the ladder's length (about three per decade of
queue length), not by the queue: a chat arrival that moves every email customer back one place
tells at most those on a checkpoint.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from . import queue_exit
from .waiting_line import line_for

if TYPE_CHECKING:  # pragma: no cover
    from .engine import Engine, Workspace

PICKED_UP = "queue_picked_up"  # template of the message at pickup
POSITION = "queue_position"


def checkpoints(length: int, top: int) -> Iterator[int]:
    """Positions whose customer may be told after a queue change: 1..top, then 5, 10, 20, 50, ..."""
    yield from range(1, min(top, length) + 1)
    base = 1
    while True:
        for step in (5, 10, 20):
            position = step * base
            if position > length:
                return
            if position > top:
                yield position
        base *= 10


def due(last_position: int, last_at: datetime | None, position: int, now: datetime, *, top: int,
        min_interval: timedelta) -> bool:
    """Whether a customer at `position`, last told `last_position` at `last_at`, is told now."""
    if last_position == 0:
        return True  # entering the queue
    if position == last_position:
        return False
    if position <= top:
        return True  # near the front: every move
    return last_at is None or now - last_at >= min_interval


def variables(queue: str, position: int, eta_seconds: int) -> dict[str, str]:
    return {
        "queue": queue,
        "position": str(position),
        "eta_seconds": str(eta_seconds),
        "eta_minutes": str(max(1, -(-eta_seconds // 60))),
    }


def tell(engine: Engine, ws: Workspace, brand: str, emit) -> None:
    """Sends the position messages due after a queue change: new entries, the first places and the
    ladder's checkpoints are looked at, never the whole queue. Past a position or ETA the message
    offers a way out of the queue (domain/queue_exit.py)."""
    cfg = engine.config.brand_routing(brand)
    queue = ws.queue[brand]
    line = line_for(ws.lines, brand, queue, cfg.class_rank)
    candidates = line.take_fresh()
    for queue_name, length in line.queues().items():
        for position in checkpoints(length, cfg.position_update_top):
            candidates.add(line.at(queue_name, position))
    for conv_id in sorted(candidates - {None}):
        entry = queue[conv_id]
        queue_name, position = line.position(conv_id)
        if entry.quiet:
            continue  # chose to keep their place quietly (queue exit): told at pickup only
        if not due(entry.last_notified_position, entry.last_notified_at, position, emit.at,
                   top=cfg.position_update_top, min_interval=cfg.position_update_min_interval):
            continue
        first = entry.last_notified_position == 0
        entry.last_notified_position, entry.last_notified_at = position, emit.at
        ws.dirty_queue.add((brand, conv_id))
        conv = ws.conversations[conv_id]
        eta = engine.eta(ws, brand, queue_name, position, emit.at)
        if not first:
            emit.event(conv, "queue_position_changed", queue=queue_name, position=position, eta_seconds=eta)
        told = variables(queue_name, position, eta)
        choices = queue_exit.offer(cfg.queue_exit, conv, position, eta, emit.at)
        if choices:  # remembered on the conversation, which this input may not have touched otherwise
            ws.dirty_conversations.add(conv_id)
        emit.notify(conv, "queue_position", template=queue_exit.TEMPLATE if choices else POSITION,
                    variables=dict(told, choices=choices) if choices else told)
