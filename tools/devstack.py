"""`make run`: the embedded Switchboard on one machine.

Starts the Tansu Kafka broker, an nx-27017 MongoDB-wire server (SQLite file under .data/), a local
demo inbox (SMTP + HTTP receivers standing in for customers' phones and agents' Slack), creates
the topics, starts all five services as separate processes, waits until each reports ready,
sends sample traffic and prints the URLs. Ctrl-C (or SIGTERM) stops everything, services first,
one after another.

Ports come from the environment (defaults in brackets): SWITCHBOARD_DEV_KAFKA_PORT [9092],
SWITCHBOARD_DEV_MONGO_PORT [27017], SWITCHBOARD_DEV_INGEST_PORT [8080], ..._ROUTER_PORT [8081],
..._SLA_PORT [8082], ..._NOTIFIER_PORT [8083], ..._ANALYTICS_PORT [8084], ..._CONSOLE_PORT [8085],
..._INBOX_HTTP_PORT [8025], ..._INBOX_SMTP_PORT [2525]. SWITCHBOARD_DEV_DATA [.data].
The console starts last (it reads from router and SLA) and its URL and demo logins are printed.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import signal
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tools"))

from switchboard.common import processes  # noqa: E402
from switchboard.common.admin import ensure_topics  # noqa: E402
from switchboard.common.settings import KafkaSettings  # noqa: E402
from switchboard.common.topics import TopicNames  # noqa: E402

SERVICES = ("ingest", "router", "sla", "notifier", "analytics")  # data flows in this order
CONSOLE = "console"  # people's side: started once the others are ready
DEFAULT_PORTS = {"kafka": 9092, "mongo": 27017, "ingest": 8080, "router": 8081, "sla": 8082, "notifier": 8083,
                 "analytics": 8084, "console": 8085, "inbox_http": 8025, "inbox_smtp": 2525}
READ_API_TOKEN = secrets.token_urlsafe(24)  # console -> router / SLA read APIs, fresh per run
SESSION_SECRET = secrets.token_urlsafe(32)  # console session cookies: a restart signs everyone out


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
                for name in ("inbox_http", "inbox_smtp", "ingest", "console")}
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
        **console_env(ports),
    }


def console_env(ports: dict[str, int]) -> dict[str, str]:
    """The console's peers (its settings) and the links the notifier puts into people's messages."""
    return {
        "SWITCHBOARD_ROUTER_URL": f"http://127.0.0.1:{ports['router']}",
        "SWITCHBOARD_SLA_URL": f"http://127.0.0.1:{ports['sla']}",
        "SWITCHBOARD_INGEST_URL": f"http://127.0.0.1:{ports['ingest']}",
        "SWITCHBOARD_READ_API_TOKEN": READ_API_TOKEN,
        "SWITCHBOARD_SESSION_SECRET": SESSION_SECRET,
        "SWITCHBOARD_CONSOLE_BASE_URL": f"http://127.0.0.1:{ports['console']}",
    }


def console_logins(config_dir: Path) -> list[str]:
    """The demo users of console.yaml; each demo password is "<username>-demo" (see that file)."""
    import yaml

    path = config_dir / "console.yaml"
    users = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("users", []) if path.exists() else []
    return [f"{u['username']:8} password {u['username'] + '-demo':12} {', '.join(u.get('brands', []))}, "
            f"{u.get('role', 'agent')}" for u in users]


def start_service(name: str, config_dir: Path, ports: dict[str, int], logs: Path,
                  timeout: float) -> processes.ManagedProcess:
    """Starts `switchboard-<name>` without waiting: wait_ready() polls /readyz."""
    proc = processes.ManagedProcess(name, [str(Path(sys.executable).parent / f"switchboard-{name}")],
                                    ports[name], logs / f"{name}.log", env=service_env(name, config_dir, ports))
    proc.start(timeout=timeout, ready=lambda: True)
    return proc


def broker_supervisor(started: list[processes.ManagedProcess], config_dir: Path, ports: dict[str, int], logs: Path,
                      timeout: float) -> processes.BrokerSupervisor:
    """After the embedded broker died (its log was in memory): kill the services, start a fresh broker,
    create the topics, start the services again (in `started`, in place) and wait until they are ready."""
    broker = next(p for p in started if p.port == ports["kafka"])
    services = {p.name: p for p in started if p.name in (*SERVICES, CONSOLE)}

    def kill_services() -> None:
        for proc in services.values():
            proc.kill()

    def start_services() -> None:
        for name in services:
            fresh = start_service(name, config_dir, ports, logs, timeout)
            started[started.index(services[name])] = fresh
            services[name] = fresh
        wait_ready(services, ports, timeout)

    return processes.BrokerSupervisor(
        broker, kill_services=kill_services, start_services=start_services, say=say,
        prepare_broker=lambda: asyncio.run(ensure_topics(KafkaSettings(bootstrap_servers=f"127.0.0.1:{ports['kafka']}"),
                                                         TopicNames(""))))


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
            procs[name] = start_service(name, config_dir, ports, logs, args.ready_timeout)
            started.append(procs[name])
        wait_ready(procs, ports, args.ready_timeout)
        console = start_service(CONSOLE, config_dir, ports, logs, args.ready_timeout)
        started.append(console)
        wait_ready({CONSOLE: console}, ports, args.ready_timeout)
        if not args.no_traffic:
            import sample_traffic

            summary = sample_traffic.send(f"http://127.0.0.1:{ports['ingest']}", config_dir,
                                          processes.mongo_uri(ports["mongo"]))
            say(f"  sample traffic: {json.dumps(summary)}")
        say("")
        say("Switchboard is up.")
        say(f"  console           http://127.0.0.1:{ports['console']}/  (agents and supervisors; sign in as:)")
        for login in console_logins(config_dir):
            say(f"                      {login}")
        say(f"  ingest API docs   http://127.0.0.1:{ports['ingest']}/docs")
        for name in (*SERVICES, CONSOLE):
            say(f"  {name:9} metrics http://127.0.0.1:{ports[name]}/metrics")
        say(f"  demo inbox        http://127.0.0.1:{ports['inbox_http']}/  (what customers and agents receive)")
        say(f"  logs              {logs}")
        say("Press Ctrl-C to stop.")
        supervisor = broker_supervisor(started, config_dir, ports, logs, args.ready_timeout)
        while not stopping:
            supervisor.check()  # the broker died: restart it and every service (docs/operations.md)
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
