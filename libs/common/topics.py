"""The topic registry (proto/topics/*.yaml, shipped as package `switchboard.topics`) and topic names."""
from __future__ import annotations

import functools
import importlib.resources
from dataclasses import dataclass

import yaml


@dataclass(frozen=True, slots=True)
class TopicSpec:
    logical: str          # file stem: inbound, conversations, ...
    name: str             # base Kafka name: switchboard.conversations.v1
    key: str
    message: str
    producers: tuple[str, ...]
    consumers: tuple[str, ...]
    partitions: int
    retention_ms: int
    dlq: bool


def _parse(logical: str, raw: dict) -> TopicSpec:
    missing = {"name", "key", "message", "producers", "consumers", "partitions", "retention_ms", "dlq"} - raw.keys()
    if missing:
        raise ValueError(f"topic registry file {logical}.yaml lacks {sorted(missing)}")
    return TopicSpec(logical, raw["name"], raw["key"], raw["message"], tuple(raw["producers"]),
                     tuple(raw["consumers"]), int(raw["partitions"]), int(raw["retention_ms"]), bool(raw["dlq"]))


@functools.cache
def registry() -> dict[str, TopicSpec]:
    files = importlib.resources.files("switchboard.topics")
    specs = {}
    for entry in sorted(files.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".yaml"):
            logical = entry.name.removesuffix(".yaml")
            specs[logical] = _parse(logical, yaml.safe_load(entry.read_text()))
    return specs


class TopicNames:
    """Concrete topic names for one deployment (or one test): prefix + registry name."""

    def __init__(self, prefix: str = "") -> None:
        self.prefix = prefix
        self._names = {logical: prefix + spec.name for logical, spec in registry().items()}

    def __getattr__(self, logical: str) -> str:
        try:
            return self._names[logical]
        except KeyError:
            raise AttributeError(f"no topic {logical!r} in the registry") from None

    def of(self, logical: str) -> str:
        return self._names[logical]

    def dlq(self, logical_or_name: str) -> str:
        return f"{self._names.get(logical_or_name, logical_or_name)}.dlq"

    def message_type(self, name: str) -> str | None:
        """The protobuf type a registry topic carries (None for unknown topics and raw CloudEvents)."""
        for logical, concrete in self._names.items():
            if concrete == name:
                message = registry()[logical].message
                return message if message.startswith("switchboard.") else None
        return None

    def all_topics(self) -> list[tuple[str, TopicSpec]]:
        """Every concrete topic with its spec, DLQs included (same spec, same partitions)."""
        out = []
        for logical, spec in registry().items():
            out.append((self._names[logical], spec))
            if spec.dlq:
                out.append((self.dlq(logical), spec))
        return out
