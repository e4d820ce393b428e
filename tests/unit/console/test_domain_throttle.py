"""Login throttling (pure): N failures per username and per address in a sliding window."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from switchboard.console.domain.throttle import LoginThrottle

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
WINDOW = timedelta(minutes=15)


def throttle(**kw) -> LoginThrottle:
    return LoginThrottle(**{"per_user": 3, "per_address": 5, "window": WINDOW, **kw})


def test_the_nth_failure_for_a_username_blocks_it_until_the_window_passes():
    t = throttle()
    for i in range(3):
        assert t.retry_after("alice", "10.0.0.1", T0) is None
        t.failed("Alice", f"10.0.0.{i}", T0 + timedelta(seconds=i))
    assert t.retry_after("ALICE ", "10.9.9.9", T0 + timedelta(seconds=3)) == 15 * 60 - 3
    assert t.retry_after("bob", "10.9.9.9", T0) is None  # another user from another address
    # The oldest failure leaves the window: one more try.
    assert t.retry_after("alice", "10.9.9.9", T0 + WINDOW) is None


def test_many_usernames_from_one_address_block_the_address():
    t = throttle()
    for i in range(5):
        t.failed(f"user{i}", "203.0.113.7", T0)
    assert t.retry_after("somebody-else", "203.0.113.7", T0) == 15 * 60
    assert t.retry_after("somebody-else", "203.0.113.8", T0) is None


def test_a_right_password_clears_the_username_but_not_the_address():
    t = throttle(per_address=3)
    for _ in range(2):
        t.failed("alice", "10.0.0.1", T0)
    t.succeeded("alice")
    t.failed("alice", "10.0.0.1", T0)
    assert t.retry_after("alice", "10.0.0.2", T0) is None
    assert t.retry_after("carol", "10.0.0.1", T0) is not None  # 3 failures from that address


def test_memory_is_bounded():
    t = throttle(max_keys=10)
    for i in range(100):
        t.failed(f"u{i}", f"a{i}", T0)
    assert len(t._failures) <= 10
