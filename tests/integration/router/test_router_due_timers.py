"""The router's tick finds due conversations through an indexed number on the real store (nx-27017):
`timer_due_at` ranges are read by scanning the whole collection there. Conversations stored before the
number existed get it when their brand's routing scope is claimed, so none is left behind."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from switchboard.router.adapters.store import RouterStore
from switchboard.router.domain.engine import Workspace
from switchboard.router.domain.inputs import TickIn
from switchboard.router.domain.model import Conversation

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


def _conversation(conv_id: str, brand: str, due: datetime | None) -> Conversation:
    return Conversation(id=conv_id, brand_id=brand, customer_id=f"{conv_id}-customer",
                        opened_at=NOW - timedelta(hours=1), channel="chat", timer_due_at=due)


async def _due_on_tick(store: RouterStore, brand: str) -> set[str]:
    ws = await store.load([TickIn(event_id=f"tick-{brand}", brand_id=brand, at=NOW)])
    return set(ws.conversations)


async def test_the_tick_loads_what_is_due_for_its_brand_only(mongo_db, namespace):
    brand, other = f"{namespace}-acme", f"{namespace}-globex"
    store = RouterStore(mongo_db, transactions=False)
    await store.ensure_indexes()
    await store.claim(brand)
    ws = Workspace()
    for conv in (_conversation(f"{namespace}-due", brand, NOW - timedelta(seconds=1)),
                 _conversation(f"{namespace}-later", brand, NOW + timedelta(minutes=5)),
                 _conversation(f"{namespace}-idle", brand, None),
                 _conversation(f"{namespace}-other-brand", other, NOW - timedelta(seconds=1))):
        ws.conversations[conv.id] = conv
        ws.dirty_conversations.add(conv.id)
    await store.save(ws, None, brand)

    assert await _due_on_tick(store, brand) == {f"{namespace}-due"}
    stored = await mongo_db["conversations"].find_one({"_id": f"{namespace}-due"})
    assert stored["timer_due_ts"] == (NOW - timedelta(seconds=1)).timestamp()


async def test_a_timer_stored_without_the_number_fires_once_its_brand_is_claimed(mongo_db, namespace):
    brand = f"{namespace}-acme"
    legacy = _conversation(f"{namespace}-legacy", brand, NOW - timedelta(minutes=1)).to_doc()  # no timer_due_ts
    await mongo_db["conversations"].insert_one(legacy)
    store = RouterStore(mongo_db, transactions=False)
    await store.ensure_indexes()
    assert await _due_on_tick(store, brand) == set()  # what an unclaimed, older layout would miss

    await store.claim(brand)

    assert await _due_on_tick(store, brand) == {f"{namespace}-legacy"}
    assert await store.stamp_due_times(brand) == 0  # stamped once
