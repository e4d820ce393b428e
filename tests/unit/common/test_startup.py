"""The start-up component: steps in order, ready only after the last, a failing step stops start-up."""
from __future__ import annotations

import pytest
from switchboard.common.startup import Startup


async def test_steps_run_once_in_order_and_ready_follows_the_last():
    done: list[str] = []

    async def step(name: str) -> None:
        assert not startup.ready
        done.append(name)

    startup = Startup(("indexes", lambda: step("indexes"))).then("seed", lambda: step("seed"))
    await startup.start()
    assert done == ["indexes", "seed"] and startup.ready
    await startup.stop()
    assert not startup.ready


async def test_a_failing_step_leaves_the_service_not_ready_and_skips_the_rest():
    ran: list[str] = []

    async def broken() -> None:
        raise RuntimeError("store unreachable")

    async def later() -> None:
        ran.append("later")

    startup = Startup(("indexes", broken), ("seed", later))
    with pytest.raises(RuntimeError, match="store unreachable"):
        await startup.start()
    assert not startup.ready and ran == []
