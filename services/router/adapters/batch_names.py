"""What a batch's inputs name, as store ids: the first lookups of RouterStore.load (adapters/store.py)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from switchboard.router.adapters.store_writes import handle_id
from switchboard.router.domain import identity, threads
from switchboard.router.domain.inputs import (
    CallIn,
    ChatEndIn,
    ChatStartIn,
    CommandIn,
    CsatIn,
    DeliveryIn,
    Input,
    MergeCustomers,
    MessageIn,
    OrderIn,
)
from switchboard.router.domain.model import CHAT_SESSION, EMAIL, Handle


@dataclass
class BatchNames:
    brands: set[str] = field(default_factory=set)
    handle_ids: set[str] = field(default_factory=set)
    handles: set[tuple[str, Handle]] = field(default_factory=set)  # (brand, handle), normalised and expanded
    keys: set[tuple[str, str]] = field(default_factory=set)  # (brand, thread key)
    own_keys: set[tuple[str, str]] = field(default_factory=set)  # (brand, key) its messages own, not looked up
    named: dict[tuple[str, str], str] = field(default_factory=dict)  # (brand, key) -> the conversation it names
    conv_ids: set[str] = field(default_factory=set)
    session_ids: set[str] = field(default_factory=set)
    customer_ids: set[str] = field(default_factory=set)
    order_ids: set[str] = field(default_factory=set)
    delivery_ids: set[str] = field(default_factory=set)
    merged_customer_ids: list[str] = field(default_factory=list)  # merge commands: the customer merged away

    def add_handles(self, brand: str, handles: Iterable[Handle]) -> None:
        normalized = _norm(handles)
        self.handles.update((brand, h) for h in normalized)
        self.handle_ids.update(handle_id(brand, h) for h in normalized)


def _norm(handles: Iterable[Handle]) -> list[Handle]:
    out = []
    for h in handles:
        try:
            out.append(identity.normalize(h.kind, h.value))
        except identity.InvalidHandle:
            continue
    return identity.expand(out)


def names_of(inputs: list[Input]) -> BatchNames:
    names = BatchNames()
    for inp in inputs:
        brand = inp.brand_id
        names.brands.add(brand)
        if isinstance(inp, MessageIn):
            hs = [inp.sender, *inp.extra_handles]
            if inp.chat_session_id:
                hs.append(Handle(CHAT_SESSION, inp.chat_session_id))
                names.session_ids.add(f"{brand}/{inp.chat_session_id}")
            names.add_handles(brand, hs)
            keys = threads.lookup_keys(
                email_in_reply_to=inp.email_in_reply_to,
                email_references=inp.email_references,
                chat_session_id=inp.chat_session_id,
            )
            names.keys.update((brand, k) for k in keys)
            if inp.email_message_id:
                names.own_keys.add((brand, threads.email_key(inp.email_message_id)))
        elif isinstance(inp, CallIn):
            names.keys.add((brand, threads.call_key(inp.call_id)))
            if inp.caller:
                names.add_handles(brand, [inp.caller])
        elif isinstance(inp, ChatStartIn):
            names.add_handles(
                brand, [Handle(CHAT_SESSION, inp.chat_session_id)] + ([Handle(EMAIL, inp.email)] if inp.email else [])
            )
            names.session_ids.add(f"{brand}/{inp.chat_session_id}")
        elif isinstance(inp, ChatEndIn):
            names.keys.add((brand, threads.chat_key(inp.chat_session_id)))
            names.session_ids.add(f"{brand}/{inp.chat_session_id}")
        elif isinstance(inp, CsatIn):
            names.conv_ids.add(inp.conversation_id)
        elif isinstance(inp, DeliveryIn) and inp.watermark is not None:
            names.add_handles(brand, [inp.recipient] if inp.recipient else [])
        elif isinstance(inp, DeliveryIn):
            names.delivery_ids.add(f"{brand}/{inp.provider}/{inp.provider_message_id}")
        elif isinstance(inp, OrderIn):
            names.order_ids.add(f"{brand}/{inp.order_id}")
            names.add_handles(brand, inp.handles)
        elif isinstance(inp, CommandIn):
            _command_names(names, inp)
    return names


def _command_names(names: BatchNames, cmd: CommandIn) -> None:
    if cmd.conversation_id:
        names.conv_ids.add(cmd.conversation_id)
    if isinstance(cmd.command, MergeCustomers):
        merge = cmd.command
        names.customer_ids.update(i for i in (merge.surviving_customer_id, merge.merged_customer_id) if i)
        if merge.merged_customer_id:
            names.merged_customer_ids.append(merge.merged_customer_id)
