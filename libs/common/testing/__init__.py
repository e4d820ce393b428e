"""Test helpers: real local peers, unique namespaces, waiting on conditions (never sleep-and-hope)."""
from switchboard.common.testing.helpers import read_topic, sample_sum, wait_for, wait_ready

__all__ = ["read_topic", "sample_sum", "wait_for", "wait_ready"]
