"""`make bench` for ingest: durable webhook requests/s next to a bare FastAPI endpoint, same machine, same run.

Both are served by uvicorn with one worker; load comes from `wrk` (Debian package) when installed,
else from an async httpx loop. The durable side is the real service (Tansu broker + nx-27017 started
here): every request is a distinct, signed Telegram update that is normalized, dedupe-checked and
acknowledged by the broker (acks=all) before the 200. Prints one JSON object.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from fastapi import FastAPI, Request

BRAND = "bench"
SECRET = "bench-telegram-secret"
PATH = f"/v1/brands/{BRAND}/webhooks/telegram"
CONNECTIONS = 32

LUA = r"""
local counter = 0
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
function init(args)
  tid = tonumber(tid) or 1
end
request = function()
  counter = counter + 1
  local id = RUN * 1000000000000 + tid * 1000000000 + counter
  local chat = id % 5000 + 1
  local body = string.format('{"update_id":%d,"message":{"message_id":%d,"date":1767603600,' ..
    '"from":{"id":%d,"is_bot":false,"first_name":"Bench","language_code":"zh-hans"},' ..
    '"chat":{"id":%d,"type":"private"},"text":"Where is my order? 我的订单在哪里? Где мой заказ? 📦"}}',
    id, id, chat, chat)
  return wrk.format("POST", "%(path)s", {["Content-Type"] = "application/json",
    ["X-Telegram-Bot-Api-Secret-Token"] = "%(secret)s"}, body)
end
"""


def bare_app():
    """The reference: a bare FastAPI POST endpoint that reads the body and answers JSON."""
    app = FastAPI()

    @app.post(PATH)
    async def bare(request: Request) -> dict:
        await request.body()
        return {"ok": True}

    return app


def naive_durable_app(bootstrap: str, topic: str):
    """Context only: the naive durable endpoint (one awaited acks=all send per request, no checks)."""
    from contextlib import asynccontextmanager

    from aiokafka import AIOKafkaProducer

    state = {}

    @asynccontextmanager
    async def lifespan(app):
        state["producer"] = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=2)
        await state["producer"].start()
        yield
        await state["producer"].stop()

    app = FastAPI(lifespan=lifespan)

    @app.post(PATH)
    async def naive(request: Request) -> dict:
        await state["producer"].send_and_wait(topic, await request.body())
        return {"ok": True}

    return app


def _wait_ready(url: str, proc: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url}: server exited with {proc.returncode}")
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"{url} not ready within {timeout}s")


_RUNS = iter(range(1, 10**6))


def _wrk(port: int, seconds: int, folder: Path) -> dict:
    # Every run gets its own id range: a repeated id would be a (cheap) duplicate, not a new message.
    script = folder / "telegram.lua"
    script.write_text(LUA.replace("%(path)s", PATH).replace("%(secret)s", SECRET).replace("RUN", str(next(_RUNS))))
    out = subprocess.run(["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{seconds}s", "-s", str(script),
                          f"http://127.0.0.1:{port}{PATH}"], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    latency = re.search(r"Latency\s+([\d.]+\w+)", out)
    return {"rps": round(rps, 1), "non_2xx": int(non_2xx.group(1)) if non_2xx else 0,
            "latency_avg": latency.group(1) if latency else None}


async def _httpx_load(port: int, seconds: int) -> dict:
    done = errors = 0
    deadline = time.monotonic() + seconds
    counter = iter(range(next(_RUNS) * 10**12, 10**18))

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal done, errors
        while time.monotonic() < deadline:
            i = next(counter) + 1
            body = {"update_id": i, "message": {"message_id": i, "date": 1767603600, "chat": {"id": i % 5000 + 1},
                                                "from": {"id": i % 5000 + 1}, "text": "Where is my order? 📦"}}
            response = await client.post(PATH, json=body, headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})
            done += 1
            errors += response.status_code >= 300

    limits = httpx.Limits(max_connections=CONNECTIONS)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", limits=limits) as client:
        started = time.monotonic()
        await asyncio.gather(*(worker(client) for _ in range(CONNECTIONS)))
        return {"rps": round(done / (time.monotonic() - started), 1), "non_2xx": errors, "latency_avg": None}


def _load(port: int, seconds: int, folder: Path, tool: str) -> dict:
    return _wrk(port, seconds, folder) if tool == "wrk" else asyncio.run(_httpx_load(port, seconds))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python benchmarks/ingest.py")
    parser.add_argument("--seconds", type=int, default=int(os.environ.get("BENCH_SECONDS", "10")))
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds; the best of each side counts")
    parser.add_argument("--no-naive", action="store_true", help="skip the naive durable reference endpoint")
    parser.add_argument("--serve-bare", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--serve-naive", nargs=2, metavar=("PORT", "BOOTSTRAP"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_bare or args.serve_naive:
        import uvicorn
        app = bare_app() if args.serve_bare else naive_durable_app(args.serve_naive[1], "bench.naive")
        port = args.serve_bare or int(args.serve_naive[0])
        uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
        return 0

    from switchboard.common import processes

    tool = "wrk" if shutil.which("wrk") else "httpx"
    with tempfile.TemporaryDirectory(prefix="ingest-bench-") as tmp:
        folder = Path(tmp)
        broker = processes.broker(processes.free_port(), folder).start()
        mongo = processes.mongo(processes.free_port(), folder / "bench.db", folder).start()
        secrets = folder / "secrets.yaml"
        secrets.write_text(json.dumps({"brands": {BRAND: {"telegram_secret_token": SECRET}}}))
        ingest_port, bare_port, naive_port = processes.free_port(), processes.free_port(), processes.free_port()
        env = {**os.environ, "SWITCHBOARD_KAFKA__BOOTSTRAP_SERVERS": f"127.0.0.1:{broker.port}",
               "SWITCHBOARD_MONGO__URI": processes.mongo_uri(mongo.port), "SWITCHBOARD_MONGO__DATABASE": "bench",
               "SWITCHBOARD_HTTP__HOST": "127.0.0.1", "SWITCHBOARD_HTTP__PORT": str(ingest_port),
               "SWITCHBOARD_SECRETS_FILE": str(secrets), "SWITCHBOARD_LOG_LEVEL": "WARNING",
               "SWITCHBOARD_CONFIG_DIR": str(folder)}
        servers = [
            subprocess.Popen([sys.executable, "-m", "switchboard.ingest.entrypoint"], env=env,
                             stdout=subprocess.DEVNULL, stderr=open(folder / "ingest.log", "wb")),
            subprocess.Popen([sys.executable, __file__, "--serve-bare", str(bare_port)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
        ]
        if not args.no_naive:
            servers.append(subprocess.Popen(
                [sys.executable, __file__, "--serve-naive", str(naive_port),
                 f"127.0.0.1:{broker.port}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        try:
            _wait_ready(f"http://127.0.0.1:{ingest_port}/readyz", servers[0])
            _wait_ready(f"http://127.0.0.1:{bare_port}/docs", servers[1])
            if not args.no_naive:
                _wait_ready(f"http://127.0.0.1:{naive_port}/docs", servers[2])
                _load(naive_port, 2, folder, tool)
            warm_up = _load(ingest_port, 2, folder, tool)  # connections, metadata, first batches
            _load(bare_port, 2, folder, tool)
            bare_runs, ingest_runs, naive_runs = [], [], []
            for _ in range(args.rounds):
                bare_runs.append(_load(bare_port, args.seconds, folder, tool))
                ingest_runs.append(_load(ingest_port, args.seconds, folder, tool))
                if not args.no_naive:
                    naive_runs.append(_load(naive_port, args.seconds, folder, tool))
            bare = max(bare_runs, key=lambda r: r["rps"])
            durable = max(ingest_runs, key=lambda r: r["rps"])
            stored = asyncio.run(_count(f"127.0.0.1:{broker.port}"))
        finally:
            for server in servers:
                server.terminate()
            for server in servers:
                server.wait(20)
            broker.stop()
            mongo.stop()
    ratio = durable["rps"] / bare["rps"] if bare["rps"] else 0.0
    print(json.dumps({
        "benchmark": "ingest_durable_webhook_vs_bare_fastapi", "tool": tool, "connections": CONNECTIONS,
        "seconds_per_run": args.seconds, "rounds": args.rounds,
        "bare_fastapi_rps": bare["rps"], "ingest_durable_rps": durable["rps"], "ratio": round(ratio, 3),
        "target_ratio": 0.6, "meets_target": ratio >= 0.6,
        "naive_durable_rps": max((r["rps"] for r in naive_runs), default=None),
        "naive_ratio": round(max(r["rps"] for r in naive_runs) / bare["rps"], 3) if naive_runs else None,
        "ingest_non_2xx": sum(r["non_2xx"] for r in ingest_runs),
        # ~ requests sent to ingest, warm-up included: compare with events_on_broker (each stored once)
        "ingest_requests": round(sum(r["rps"] for r in ingest_runs) * args.seconds + warm_up["rps"] * 2),
        "bare_runs": bare_runs,
        "ingest_runs": ingest_runs, "naive_runs": naive_runs, "events_on_broker": stored,
        "note": "durable = Telegram webhook, secret check + normalize + dedupe + acks=all publish before 200; "
                "naive = bare endpoint + one awaited acks=all send (context only); best of alternating rounds; "
                "the machine is shared, compare ratios within one run",
    }, indent=2))
    return 0


async def _count(bootstrap: str) -> int:
    """Records on the inbound topic, read from the start until the broker has nothing more to give."""
    from aiokafka import AIOKafkaConsumer, TopicPartition
    from switchboard.common.topics import TopicNames
    topic = TopicNames("").inbound
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                                max_partition_fetch_bytes=1 << 22)
    await consumer.start()
    try:
        partitions = consumer.partitions_for_topic(topic) or set()
        if not partitions:
            await consumer._client.force_metadata_update()
            partitions = consumer.partitions_for_topic(topic) or set()
        consumer.assign([TopicPartition(topic, p) for p in partitions])
        await consumer.seek_to_beginning()
        total, idle = 0, 0
        while idle < 10:  # ten empty polls in a row (2 s): the topic is read to its end
            batch = await consumer.getmany(timeout_ms=200, max_records=10_000)
            n = sum(len(records) for records in batch.values())
            total += n
            idle = 0 if n else idle + 1
        return total
    finally:
        await consumer.stop()


if __name__ == "__main__":
    sys.exit(main())
