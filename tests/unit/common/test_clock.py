import asyncio
from datetime import timedelta

from switchboard.common.clock import ManualClock


async def test_sleepers_wake_when_the_manual_clock_reaches_their_time_and_not_before():
    clock = ManualClock()
    woke = []

    async def sleeper(name, after):
        await clock.sleep_until(clock.now() + timedelta(seconds=after))
        woke.append(name)

    tasks = [asyncio.create_task(sleeper("a", 10)), asyncio.create_task(sleeper("b", 60))]
    await asyncio.sleep(0)
    await clock.advance(9.999)
    assert woke == []
    await clock.advance(0.001)
    assert woke == ["a"]
    await clock.advance(3600)
    assert woke == ["a", "b"]
    await asyncio.gather(*tasks)


async def test_a_wake_event_interrupts_a_long_sleep():
    clock = ManualClock()
    wake = asyncio.Event()
    task = asyncio.create_task(clock.sleep_until(clock.now() + timedelta(days=1), wake))
    await asyncio.sleep(0)
    wake.set()
    await asyncio.wait_for(task, 1)
