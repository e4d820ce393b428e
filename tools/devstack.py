"""`make run`: the embedded Switchboard on one machine.

Starts the Tansu Kafka broker, an nx-27017 MongoDB-wire server (SQLite file under .data/), a local
demo inbox (SMTP + HTTP receivers standing in for customers' phones and agents' Slack), creates
the topics, starts all five services as separate processes, waits until each reports ready,
sends sample traffic and prints the URLs. Ctrl-C (or SIGTERM) stops everything, services first,
one after another.

Ports come from the environment (defaults in brackets): SWITCHBOARD_DEV_KAFKA_PORT [9092],
SWITCHBOARD_DEV_MONGO_PORT [27017], SWITCHBOARD_DEV_INGEST_PORT [8080], ..._ROUTER_PORT [8081],
..._SLA_PORT [8082], ..._NOTIFIER_PORT [8083], ..._ANALYTICS_PORT [8084],
..._INBOX_HTTP_PORT [8025], ..._INBOX_SMTP_PORT [2525]. SWITCHBOARD_DEV_DATA [.data].
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tools"))

from switchboard.common import processes  # noqa: E402
from switchboard.common.bus import ensure_topics  # noqa: E402
from switchboard.common.settings import KafkaSettings  # noqa: E402
from switchboard.common.topics import TopicNames  # noqa: E402

SERVICES = ("ingest", "router", "sla", "notifier", "analytics")  # data flows in this order
DEFAULT_PORTS = {"kafka": 9092, "mongo": 27017, "ingest": 8080, "router": 8081, "sla": 8082, "notifier": 8083,
                 "analytics": 8084, "inbox_http": 8025, "inbox_smtp": 2525}


def port(name: str) -> int:
    return int(os.environ.get(f"SWITCHBOARD_DEV_{name.upper()}_PORT", DEFAULT_PORTS[name]))


def say(message: str) -> None:
    print(message, flush=True)


def prepare_config(data: Path, ports: dict[str, int]) -> Path:
    """The demo config with this run's ports: it names local receivers by their default ports."""
    source = Path(os.environ.get("SWITCHBOARD_CONFIG_DIR", REPO / "config" / "demo"))
    target = data / "config"
    if target.exists():
        import shutil

        shutil.rmtree(target)
    defaults = {f"127.0.0.1:{DEFAULT_PORTS[name]}": f"127.0.0.1:{ports[name]}"
                for name in ("inbox_http", "inbox_smtp", "ingest")}
    for path in source.rglob("*"):
        if path.is_file():
            out = target / path.relative_to(source)
            out.parent.mkdir(parents=True, exist_ok=True)
            text = path.read_text(encoding="utf-8")
            for old, new in defaults.items():
                text = text.replace(old, new)
            text = text.replace(f"port: {DEFAULT_PORTS['inbox_smtp']}", f"port: {ports['inbox_smtp']}")
            out.write_text(text, encoding="utf-8")
    return target


def service_env(name: str, config_dir: Path, ports: dict[str, int]) -> dict[str, str]:
    return {
        **os.environ,
        "SWITCHBOARD_KAFKA__BOOTSTRAP_SERVERS": f"127.0.0.1:{ports['kafka']}",
        "SWITCHBOARD_KAFKA__CREATE_TOPICS": "false",  # created once, below
        "SWITCHBOARD_KAFKA__SESSION_TIMEOUT_MS": "3000",
        "SWITCHBOARD_KAFKA__HEARTBEAT_INTERVAL_MS": "500",
        "SWITCHBOARD_MONGO__URI": processes.mongo_uri(ports["mongo"]),
        "SWITCHBOARD_MONGO__DATABASE": "switchboard",
        "SWITCHBOARD_HTTP__HOST": "127.0.0.1",
        "SWITCHBOARD_HTTP__PORT": str(ports[name]),
        "SWITCHBOARD_CONFIG_DIR": str(config_dir),
        "SWITCHBOARD_SECRETS_FILE": str(config_dir / "secrets.yaml"),
        "SWITCHBOARD_DEMO_INBOX_HTTP": f"http://127.0.0.1:{ports['inbox_http']}",
        "SWITCHBOARD_DEMO_INBOX_SMTP_PORT": str(ports["inbox_smtp"]),
        "SWITCHBOARD_PUBLIC_BASE_URL": f"http://127.0.0.1:{ports['ingest']}",
    }


def ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return response.status == 200
    except OSError:
        return False


def wait_ready(procs: dict[str, processes.ManagedProcess], ports: dict[str, int], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    pending = set(procs)
    while pending:
        for name in sorted(pending):
            if not procs[name].running:
                raise RuntimeError(f"{name} exited with {procs[name].proc.returncode}; "
                                   f"see {procs[name].log_path}")
            if ready(f"http://127.0.0.1:{ports[name]}/readyz"):
                say(f"  ready  {name:10} http://127.0.0.1:{ports[name]}/readyz")
                pending.discard(name)
        if pending and time.monotonic() > deadline:
            raise TimeoutError(f"not ready within {timeout:.0f}s: {', '.join(sorted(pending))} "
                               f"(logs in {procs[next(iter(pending))].log_path.parent})")
        time.sleep(0.2)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fresh", action="store_true", help="delete .data (MongoDB file, logs) first")
    parser.add_argument("--no-traffic", action="store_true", help="do not send sample traffic")
    parser.add_argument("--ready-timeout", type=float, default=60.0)
    args = parser.parse_args()

    ports = {name: port(name) for name in DEFAULT_PORTS}
    taken = [f"{name}={p}" for name, p in ports.items() if processes.port_open(p)]
    if taken:
        say(f"error: ports already in use: {', '.join(taken)}. Stop what holds them, or move Switchboard with "
            f"SWITCHBOARD_DEV_<NAME>_PORT=... (e.g. SWITCHBOARD_DEV_INGEST_PORT=18080 make run)")
        return 2
    data = Path(os.environ.get("SWITCHBOARD_DEV_DATA", REPO / ".data"))
    if args.fresh and data.exists():
        import shutil

        shutil.rmtree(data)
    logs = data / "logs"
    logs.mkdir(parents=True, exist_ok=True)

    stopping = False

    def on_signal(signum, _frame) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    started: list[processes.ManagedProcess] = []
    exit_code = 0
    try:
        say("starting the embedded Switchboard")
        config_dir = prepare_config(data, ports)
        started.append(processes.broker(ports["kafka"], logs).start())
        started.append(processes.mongo(ports["mongo"], data / "mongo.db", logs).start())
        created = asyncio.run(ensure_topics(KafkaSettings(bootstrap_servers=f"127.0.0.1:{ports['kafka']}"),
                                            TopicNames("")))
        say(f"  kafka  127.0.0.1:{ports['kafka']} ({len(created)} topics created)")
        say(f"  mongo  {processes.mongo_uri(ports['mongo'])} (data in {data / 'mongo.db'})")
        inbox = processes.ManagedProcess(
            "demo inbox", [sys.executable, str(REPO / "tools" / "demo_inbox.py"), str(ports["inbox_http"]),
                           str(ports["inbox_smtp"])], ports["inbox_http"], logs / "demo-inbox.log")
        started.append(inbox.start())
        procs = {}
        for name in SERVICES:
            proc = processes.ManagedProcess(name, [str(Path(sys.executable).parent / f"switchboard-{name}")],
                                            ports[name], logs / f"{name}.log", env=service_env(name, config_dir, ports))
            proc.start(timeout=args.ready_timeout, ready=lambda: True)
            procs[name] = proc
            started.append(proc)
        wait_ready(procs, ports, args.ready_timeout)
        if not args.no_traffic:
            import sample_traffic

            summary = sample_traffic.send(f"http://127.0.0.1:{ports['ingest']}", config_dir,
                                          processes.mongo_uri(ports["mongo"]))
            say(f"  sample traffic: {json.dumps(summary)}")
        say("")
        say("Switchboard is up.")
        say(f"  ingest API docs   http://127.0.0.1:{ports['ingest']}/docs")
        for name in SERVICES:
            say(f"  {name:9} metrics http://127.0.0.1:{ports[name]}/metrics")
        say(f"  demo inbox        http://127.0.0.1:{ports['inbox_http']}/  (what customers and agents receive)")
        say(f"  logs              {logs}")
        say("Press Ctrl-C to stop.")
        while not stopping:
            for proc in started:
                if not proc.running:
                    say(f"error: {proc.name} exited with {proc.proc.returncode}; see {proc.log_path}")
                    stopping, exit_code = True, 1
                    break
            time.sleep(0.2)
    except Exception as exc:  # a clear message, then a clean stop
        say(f"error: {exc}")
        exit_code = 1
    finally:
        say("stopping ...")
        for proc in reversed(started):  # one after another: Tansu never re-balances a group left all at once
            proc.stop()
        say("stopped.")
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
