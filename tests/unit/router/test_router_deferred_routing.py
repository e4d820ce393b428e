"""The contact side runs without the routing side's state: with routing deferred (routing_ops.py), every
golden scenario's inputs are first applied by the contact side alone, which records what it asks of the
routing side, and the routing side then replays that. Agents, queues, waiting lines and queue statistics
are watched while the contact side runs: it must not touch them. That is what makes the recorded steps
the whole delta a stage keyed by customer would send (docs/router.md "The stage keyed by customer")."""

from __future__ import annotations

import pytest
import test_router_effect_sequences as sequences
from router_unit_kit import derive
from switchboard.router.domain.engine import Engine, Recording, Workspace


class Watched(dict):
    """A dict of routing state that notes every read or write made while the contact side records."""

    def __init__(self, ws: Workspace, name: str, touched: list[str]) -> None:
        super().__init__()
        self._ws, self._name, self._touched = ws, name, touched

    def _note(self) -> None:
        if self._ws.recording is not None:
            self._touched.append(self._name)

    def __getitem__(self, key):
        self._note()
        return super().__getitem__(key)

    def __contains__(self, key) -> bool:
        self._note()
        return super().__contains__(key)

    def __iter__(self):
        self._note()
        return super().__iter__()

    def get(self, *args):
        self._note()
        return super().get(*args)

    def setdefault(self, *args):
        self._note()
        return super().setdefault(*args)

    def pop(self, *args):
        self._note()
        return super().pop(*args)

    def values(self):
        self._note()
        return super().values()

    def items(self):
        self._note()
        return super().items()


@pytest.mark.parametrize("name", sorted(sequences.SCENARIOS))
def test_the_contact_side_records_without_touching_routing_state(config, monkeypatch, name):
    touched: list[str] = []
    plain_ws = sequences._ws

    def watched_ws(config, online=()):
        ws = plain_ws(config, online)
        for field in ("agents", "queue", "lines", "stats"):
            watched = Watched(ws, field, touched)
            dict.update(watched, getattr(ws, field))
            setattr(ws, field, watched)
        return ws

    monkeypatch.setattr(sequences, "_ws", watched_ws)
    ws = sequences.SCENARIOS[name](Engine(config, derive, deferred_routing=True), config)
    assert ws.effects, "the scenario ran"
    assert touched == []


def test_the_watch_sees_routing_state_touched_while_recording(config):
    ws = Workspace()
    touched: list[str] = []
    ws.queue = Watched(ws, "queue", touched)
    ws.queue.get("acme")  # not recording: routing's own work
    ws.recording = Recording()
    ws.queue.get("acme")
    assert touched == ["queue"]
