"""The console script as a real process: starts, reports ready, routes, stops cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
from router_it_kit import inbound_message
from switchboard.common.testing import wait_for
from switchboard.common.testing.plugin import settings_env
from switchboard.router.settings import RouterSettings


async def test_switchboard_router_process_serves_ops_endpoints_and_routes(
    service_settings, namespace, producer, topics, mongo_db, tmp_path
):
    settings = service_settings(RouterSettings, group_id=f"{namespace}-router", detect_language=False)
    env = {**os.environ, **settings_env(settings)}
    script = Path(sys.executable).with_name("switchboard-router")
    log = (tmp_path / "router.log").open("w")
    process = subprocess.Popen([str(script)], env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{settings.http.port}"
    try:

        async def ready() -> bool:
            try:
                async with httpx.AsyncClient() as client:
                    return (await client.get(f"{base}/readyz")).status_code == 200
            except httpx.HTTPError:
                return False

        await wait_for(ready, timeout=60, message="router /readyz")
        # Demo config: brand acme. nx-27017 shares collections across databases, so the sender is unique.
        sender = f"proc-{namespace}"
        await producer.publish(
            topics.inbound,
            inbound_message("human please", channel="chat", sender=("chat_session", sender), brand="acme"),
            key=f"acme/{sender}",
        )
        await producer.drain()
        await wait_for(
            lambda: mongo_db["conversations"].find_one({"reply_handle.value": sender, "status": "queued"}), timeout=30
        )
        async with httpx.AsyncClient() as client:
            assert (await client.get(f"{base}/healthz")).json() == {"status": "ok"}
            assert "switchboard_router_bot_handoffs_total" in (await client.get(f"{base}/metrics")).text
    finally:
        process.send_signal(signal.SIGTERM)
        code = await asyncio.to_thread(process.wait, 30)
        log.close()
    assert code == 0, (tmp_path / "router.log").read_text()[-2000:]
