"""The SLA store on the real store (nx-27017): timers and states of conversations first seen in a
batch are inserted; one already stored (written before a crash, then redelivered) is replaced."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from switchboard.sla.adapters.ports import SlaRecord
from switchboard.sla.adapters.store import MongoStateStore, MongoTimerStore
from switchboard.sla.domain.effects import TimerArm
from switchboard.sla.domain.state import ConversationSla

DUE = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def arm(conversation_id: str, due: datetime) -> TimerArm:
    return TimerArm(id=f"{conversation_id}|first_response|0|breach|0", conversation_id=conversation_id, due=due,
                    kind="breach", metric="first_response", instance=0, level=0, reason="")


async def test_a_timer_written_before_a_crash_is_replaced_not_duplicated_and_the_rest_inserted(mongo_db, namespace):
    timers, states = MongoTimerStore(mongo_db), MongoStateStore(mongo_db)
    first, second = f"{namespace}-c1", f"{namespace}-c2"
    # The process died after writing c1's timer, before its state and before committing the offset.
    await timers.write([(arm(first, DUE), 0)], [], [], fresh=frozenset({first}))
    # Redelivered with a later record for c1: both conversations look new to the restarted process.
    fresh = frozenset({first, second})
    await timers.write([(arm(first, DUE + timedelta(minutes=5)), 0), (arm(second, DUE), 1)], [], [], fresh=fresh)
    await states.save([SlaRecord(ConversationSla(first), partition=0), SlaRecord(ConversationSla(second), partition=1)],
                      fresh)
    stored = {d["conversation_id"]: d async for d in mongo_db["sla_timers"].find(
        {"conversation_id": {"$in": [first, second]}})}
    assert set(stored) == {first, second}
    assert stored[first]["due_at"].replace(tzinfo=UTC) == DUE + timedelta(minutes=5)  # the later decision wins
    assert set((await states.load([first, second])).keys()) == {first, second}
