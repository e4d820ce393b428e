"""The router's contact stage: the contacts topic in, keyed by customer (as many owners as it has
partitions); each input's contact side decided (identity, threading, messages, the bot: Engine.record) and
written; what it asks of the routing side sent on, in order, as a delta (domain/delta.py) on the routing
topic keyed by brand. It publishes nothing else: the routing stage replays the delta, fills in its routing
fields and publishes every conversation event and notification (docs/router.md "Three stages").

A partition's customers are one scope, claimed with an epoch (ownership.py) that fences a revoked owner's
commit point. Deltas are published before the state is written, as the routing stage publishes before it
writes: a redelivered input is decided again from the same state, so its delta has the same id and steps;
the routing stage does not apply its routing steps twice (delta.applied) and publishes its effects under
the same ids, which consumers drop.

Misrouted inputs are re-keyed (`ContactHandler._misrouted`): the intake keys an input from the store as it
stood when it read it, before the inputs in flight ahead of it were written (a chat start, an order linking
a handle, a call ringing, a merge), so an input can reach the partition of a customer it will not be
resolved to. Each batch keys its inputs again from the Workspace it loaded (no request more); one keyed
by another partition's customer is not applied here but published on the contacts topic again, keyed by
that customer, once (`RoutingRequest.rekeyed`).
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

import structlog
from switchboard.common.clock import Clock, SystemClock
from switchboard.common.cloudevents import Envelope, derived_id
from switchboard.common.consumer import PermanentError
from switchboard.common.logging import get_logger
from switchboard.common.topics import TopicNames
from switchboard.router import metrics
from switchboard.router.adapters import codec, routing_wire
from switchboard.router.adapters.ports import ContactState, Dedupe, LoadedKeys, Ownership, Publisher
from switchboard.router.domain import delta as deltas
from switchboard.router.domain.engine import Engine, Rejected, Workspace, application_order
from switchboard.router.domain.inputs import Input, MessageIn, TickIn
from switchboard.router.ownership import (
    as_owner,
    contact_partition,
    contact_scope,
    each_owned,
    partition_of,
    side_by_side,
)

log = get_logger(__name__)
T = TypeVar("T")


@dataclass
class ContactHandler:
    engine: Engine  # deferred_routing=True: records each input's contact side
    store: ContactState
    producer: Publisher
    topics: TopicNames
    partitions: int  # of the contacts topic: a customer's partition is its scope
    keys: LoadedKeys  # each input's key again (adapters/contact_keys.py): misrouted inputs are re-keyed
    clock: Clock = field(default_factory=SystemClock)
    dedupe: Dedupe | None = None
    ownership: Ownership | None = None
    group: str = ""
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def __call__(self, batch: list[Envelope]) -> None:
        by_scope: dict[str, list[tuple[Envelope, Envelope, object]]] = defaultdict(list)
        unwrapped = []
        for env in batch:
            inner, detector = routing_wire.unwrap(env)
            unwrapped.append(inner)
            by_scope[contact_scope(env.partition or 0)].append((env, inner, detector))
        try:
            async with self.lock:  # partitions are separate scopes, decided and saved side by side
                await side_by_side(as_owner(self.ownership, self.store, scope,
                                            lambda scope=scope, items=items: self._decide(scope, items))
                                   for scope, items in sorted(by_scope.items()))
        except PermanentError as exc:
            if len(batch) != 1:
                raise  # the runner replays the batch record by record
            await routing_wire.dead_letter(self.producer, unwrapped[0], self.group, str(exc))
            await self.producer.drain()

    async def tick(self, scopes: set[str]) -> int:
        """Chat transcripts due for the owned customers, sent on as deltas like any input's: one read of what
        is due, then each owned partition with something due. Returns the number of steps sent."""
        async with self.lock:
            now = self.clock.now()
            due: dict[str, list[str]] = defaultdict(list)  # scope -> its conversations due
            for conversation_id, customer_id in (await self.store.contact_due(now)).items():
                due[contact_scope(partition_of(customer_id, self.partitions))].append(conversation_id)

            async def fire(scope: str) -> int:
                ws = await self.store.load_contact_due(due[scope])
                out = []
                for brand in sorted({c.brand_id for c in ws.conversations.values()}):
                    tick = TickIn(event_id=derived_id("tick", scope, brand, now.isoformat()), brand_id=brand, at=now)
                    if steps := self.engine.record(ws, tick):
                        out.append((None, deltas.from_recording(tick.event_id, brand, steps)))
                await self._send(out, now)
                await self.store.save(ws, None, scope if self.ownership is not None else None)
                return sum(len(d.steps) for _, d in out)

            return await each_owned(self.ownership, self.store, set(scopes) & due.keys(), fire)

    async def _decide(self, scope: str, items: list[tuple[Envelope, Envelope, object]]) -> None:
        """`items`: (the contacts record, the input's own envelope, its detected language) of one partition."""
        batch = [env for _, env, _ in items]
        inputs = [codec.decode(env, detector) for _, env, detector in items]
        message_ids = {p: self.engine.message_id_for(i) for p, i in enumerate(inputs) if isinstance(i, MessageIn)}
        ws = await self.store.load(inputs, list(message_ids.values()))
        stored = {p for p, message_id in message_ids.items() if message_id in ws.stored_message_ids}
        order = application_order(inputs)
        away = await self._misrouted(scope, [record for record, _, _ in items], inputs, order, ws, stored)
        out: list[tuple[Envelope | None, deltas.Delta]] = []
        for position in order:
            if position in away:
                continue  # applied by its customer's owner
            env, inp = batch[position], inputs[position]
            with structlog.contextvars.bound_contextvars(event_id=env.id, correlation_id=env.correlation_id or env.id):
                try:
                    steps = self.engine.record(ws, inp)
                except Rejected as exc:
                    raise PermanentError(str(exc)) from None
            if steps:
                out.append((env, deltas.from_recording(env.id, inp.brand_id, steps)))
        # Messages need no dedupe record: their stored document marks them applied (as in the routing stage).
        # A re-keyed input gets no dedupe record here: the runner of the partition it lands in must not skip it.
        processed = self.dedupe.records(
            [env.id for position, (env, inp) in enumerate(zip(batch, inputs, strict=True))
             if not isinstance(inp, MessageIn) and position not in away],
            self.clock.now()) if self.dedupe else None
        rekeyed = [(items[position][0], key) for position, key in away.items()]  # in the order of application
        await self._send(out, min(env.time for env in batch), rekeyed)
        await self.store.save(ws, processed, scope if self.ownership is not None else None)
        log.debug("batch_contacted", records=len(batch), deltas=len(out), rekeyed=len(rekeyed))

    async def _misrouted(self, scope: str, records: list[Envelope], inputs: list[Input], order: list[int],
                         ws: Workspace, stored: set[int]) -> dict[int, str]:
        """Positions of the inputs keyed by another partition's customer, in the order of application,
        with their key now.

        Each input is keyed again as the intake keys it (adapters/contact_keys.py), from `ws` (loaded for
        this batch, nothing applied yet): this partition's owner has written every input of its own
        partition, and the store has moved on since the intake read it, so an input the intake keyed before
        the write that decides it (a chat start, an order linking a handle, a call ringing, a merge) is found
        out here. The batch is keyed in the order it is applied (domain/contact_key.py `place`): an input
        that leaves does not count for the inputs applied here after it; one that depends on it (a message
        in the chat session it starts, from a handle it links) leaves with it, published behind it.

        Stays regardless: a record re-keyed once already (applied where it lands: no ping-pong while the
        store still moves), a message already stored (`stored`: nothing to apply), a record not read from a
        partition (a direct call).

        Ordering: the re-keyed input reaches its customer's partition after the inputs already there,
        possibly after later inputs of the same customer that the intake keyed right (its second chat
        message, once the chat start was written). That is the lesser evil. Applied by the wrong owner, the
        input would be decided on a customer that another owner is deciding at the same time: where that
        owner's write has not landed, a second customer (and conversation) for one person, which nothing
        joins again (profiles are only merged by an agent); where it has, two owners writing the same
        conversation's contact half, the last one undoing the other's message, bot turn or phase. Late, it
        is applied by the one owner on everything written before it: only its place in the arrival order
        changes (its own time, sent_at, still orders the history shown)."""
        mine = contact_partition(scope)
        pinned = [record.partition is None or record.payload.rekeyed > 0 or position in stored
                  for position, record in enumerate(records)]

        placed = await self.keys.placed([inputs[p] for p in order], ws,
                                        lambda key: partition_of(key, self.partitions) == mine,
                                        [pinned[p] for p in order])
        return {order[i]: p.key for i, p in enumerate(placed) if not p.stays}

    async def _send(self, out: list[tuple[Envelope | None, deltas.Delta]], at: datetime,
                    rekeyed: Sequence[tuple[Envelope, str]] = ()) -> None:
        """Every delta on the routing topic, keyed by brand, under its input's id; every re-keyed record on
        the contacts topic under its key now, with its own id, time and cause; acknowledged before the state
        is written."""
        for cause, delta in out:
            request = routing_wire.delta_request(delta)
            await self.producer.publish(self.topics.routing, request, key=delta.brand_id, cause=cause,
                                        event_id=delta.input_id, time=cause.time if cause else at,
                                        subject=cause.subject if cause else None, brand_id=delta.brand_id)
        for record, key in rekeyed:
            request = routing_wire.rekeyed(record.payload)
            await self.producer.publish(self.topics.contacts, request, key=key, cause=record, event_id=record.id,
                                        time=record.time, subject=record.subject, brand_id=record.brand_id)
        await self.producer.drain()
        metrics.DELTAS.inc(len(out))
        metrics.CONTACT_REKEYED.inc(len(rekeyed))
        for record, key in rekeyed:  # ids and partitions only: a key is a customer id
            log.info("contact_input_rekeyed", event_id=record.id, partition=record.partition,
                     to_partition=partition_of(key, self.partitions), rekeyed=record.payload.rekeyed + 1)
