"""`make run`: every process comes up healthy within 60 s, sample traffic lands on the topics and in
MongoDB, Ctrl-C stops everything cleanly."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from pymongo import MongoClient
from switchboard.common import processes
from switchboard.common.testing.helpers import read_raw
from switchboard.common.topics import TopicNames

REPO = Path(__file__).resolve().parents[2]
PORT_NAMES = ("kafka", "mongo", "ingest", "router", "sla", "notifier", "analytics", "console", "inbox_http",
              "inbox_smtp")


def test_make_run_brings_the_stack_up_with_sample_traffic_and_stops_cleanly_on_ctrl_c(tmp_path):
    ports = {name: processes.free_port() for name in PORT_NAMES}
    env = {**os.environ, "SWITCHBOARD_DEV_DATA": str(tmp_path / "data"),
           **{f"SWITCHBOARD_DEV_{name.upper()}_PORT": str(p) for name, p in ports.items()}}
    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, str(REPO / "tools" / "devstack.py")], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    lines: list[str] = []
    up = threading.Event()

    def pump() -> None:
        for line in proc.stdout:
            lines.append(line.rstrip())
            if line.startswith("Press Ctrl-C to stop."):  # the last line of the banner
                up.set()

    threading.Thread(target=pump, daemon=True).start()
    try:
        assert up.wait(90), "stack not up within 90 s:\n" + "\n".join(lines[-30:])
        assert time.monotonic() - started < 90
        output = "\n".join(lines)
        for name in ("ingest", "router", "sla", "notifier", "analytics"):
            assert f"ready  {name}" in output
            assert f"http://127.0.0.1:{ports[name]}/metrics" in output
        assert f"http://127.0.0.1:{ports['ingest']}/docs" in output
        assert "ready  console" in output and f"console           http://127.0.0.1:{ports['console']}/" in output
        assert "alice    password alice-demo   acme, agent" in output
        assert "olga     password olga-demo    globex, agent" in output

        import asyncio

        names = TopicNames("")
        bootstrap = f"127.0.0.1:{ports['kafka']}"
        inbound = asyncio.run(read_raw(bootstrap, names.inbound, min_count=3, timeout=30))
        conversations = asyncio.run(read_raw(bootstrap, names.conversations, min_count=3, timeout=30))
        assert len(inbound) >= 3 and len(conversations) >= 3
        db = MongoClient(processes.mongo_uri(ports["mongo"]))["switchboard"]
        deadline = time.monotonic() + 30
        while db.conversations.count_documents({}) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert db.conversations.count_documents({}) >= 2
    finally:
        os.killpg(proc.pid, signal.SIGINT) if proc.poll() is None else None
        try:
            code = proc.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            raise
    assert code == 0, "\n".join(lines[-30:])
    assert lines[-1] == "stopped."
    for name, port in ports.items():
        assert not processes.port_open(port), f"{name} still listening on {port} after Ctrl-C"
