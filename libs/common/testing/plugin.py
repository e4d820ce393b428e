"""pytest plugin (loaded by pyproject addopts): real Tansu broker and nx-27017 for the session.

Tests isolate by name, not by cleanup: every test gets a unique `namespace`, used as topic prefix,
consumer-group prefix and MongoDB database name.
"""
from __future__ import annotations

import logging
import uuid
from pathlib import Path

import pytest
from switchboard.common import processes
from switchboard.common.clock import ManualClock
from switchboard.common.settings import ServiceSettings
from switchboard.common.testing.helpers import read_topic, wait_for  # noqa: F401  (re-exported)

REPO = Path(__file__).resolve().parents[3]


def pytest_configure(config) -> None:
    # The tests' SMTP receivers (aiosmtpd) log every connection at INFO from their own threads,
    # also after pytest has closed the captured stream ("Logging error ... closed file").
    logging.getLogger("mail.log").setLevel(logging.WARNING)


@pytest.fixture(scope="session")
def peers_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("peers")


@pytest.fixture(scope="session")
def kafka_broker(peers_dir):
    broker = processes.broker(processes.free_port(), peers_dir).start()
    yield broker
    broker.stop()


@pytest.fixture(scope="session")
def kafka_bootstrap(kafka_broker) -> str:
    return f"127.0.0.1:{kafka_broker.port}"


@pytest.fixture(scope="session")
def mongo_server(peers_dir):
    # In memory: nx-27017 with a file database shares same-named collections across databases,
    # which would break isolation by database name. Durability tests start their own file server.
    server = processes.mongo(processes.free_port(), "memory", peers_dir).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def mongo_uri(mongo_server) -> str:
    return processes.mongo_uri(mongo_server.port)


@pytest.fixture
def namespace() -> str:
    return "t" + uuid.uuid4().hex[:12]


def make_test_settings(bootstrap: str, mongo_uri: str, namespace: str, cls=ServiceSettings, **overrides):
    """Settings for a service under test: test-friendly group timings, unique names, demo config."""
    base = {
        "kafka": {"bootstrap_servers": bootstrap, "topic_prefix": f"{namespace}.", "create_topics": True,
                  "session_timeout_ms": 1500, "heartbeat_interval_ms": 300, "linger_ms": 1},
        "mongo": {"uri": mongo_uri, "database": namespace},
        "http": {"host": "127.0.0.1", "port": processes.free_port()},
        "consumer": {"poll_timeout_ms": 50, "retry_backoff_ms": 10, "retry_backoff_max_ms": 200,
                     "shutdown_timeout_seconds": 5},
        "config_dir": REPO / "config" / "demo",
    }
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            base[key] = {**base[key], **value}
        else:
            base[key] = value
    return cls(**base)


def settings_env(settings: ServiceSettings) -> dict[str, str]:
    """The same settings as SWITCHBOARD_* environment variables, for services run as subprocesses."""
    env = {}

    def walk(prefix: str, value) -> None:
        if hasattr(value, "model_dump"):
            for k, v in value:
                walk(f"{prefix}{k.upper()}__" if hasattr(v, "model_dump") else f"{prefix}{k.upper()}", v)
        elif value is not None:
            raw = value.get_secret_value() if hasattr(value, "get_secret_value") else value
            env[prefix.rstrip("_")] = str(raw).lower() if isinstance(raw, bool) else str(raw)

    for key, value in settings:
        walk(f"SWITCHBOARD_{key.upper()}__" if hasattr(value, "model_dump") else f"SWITCHBOARD_{key.upper()}",
             value)
    return env


@pytest.fixture
def service_settings(kafka_bootstrap, mongo_uri, namespace):
    def make(cls=ServiceSettings, **overrides):
        return make_test_settings(kafka_bootstrap, mongo_uri, namespace, cls, **overrides)

    return make


@pytest.fixture
def topics(namespace):
    from switchboard.common.topics import TopicNames

    return TopicNames(f"{namespace}.")


@pytest.fixture
async def bus_topics(kafka_bootstrap, topics, service_settings):
    """Creates every registry topic (and DLQ) for this test's namespace."""
    from switchboard.common.admin import ensure_topics

    await ensure_topics(service_settings().kafka, topics)
    return topics


@pytest.fixture
async def mongo_db(mongo_uri, namespace):
    from pymongo import AsyncMongoClient

    client = AsyncMongoClient(mongo_uri, tz_aware=True)
    yield client[namespace]
    await client.close()


@pytest.fixture
async def producer(service_settings, bus_topics):
    from switchboard.common.producer import EventProducer

    p = EventProducer(service_settings().kafka, source="/tests")
    await p.start()
    yield p
    await p.stop()


@pytest.fixture
def manual_clock() -> ManualClock:
    return ManualClock()
