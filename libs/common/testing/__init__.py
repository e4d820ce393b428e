"""Test helpers: real local peers, unique namespaces, waiting on conditions (never sleep-and-hope)."""
from switchboard.common.testing.helpers import read_topic, wait_for

__all__ = ["read_topic", "wait_for"]
