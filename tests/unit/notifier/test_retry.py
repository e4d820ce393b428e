import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from switchboard.notifier.domain.retry import RetryPolicy, is_retryable_status, parse_retry_after

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def test_backoff_grows_exponentially_and_is_capped_with_jitter():
    policy = RetryPolicy(max_attempts=20, base_backoff_seconds=1, max_backoff_seconds=30, total_seconds=10_000)
    rng = random.Random(7)
    for attempt, cap in [(1, 1), (2, 2), (3, 4), (4, 8), (6, 30), (12, 30)]:
        delays = [policy.backoff(attempt, rng) for _ in range(200)]
        assert all(cap / 2 <= d <= cap for d in delays)
        assert max(delays) - min(delays) > cap / 4  # jitter really spreads retries


def test_retry_after_is_honoured_but_never_beyond_the_budget():
    policy = RetryPolicy(max_attempts=5, base_backoff_seconds=1, max_backoff_seconds=4, total_seconds=100)
    assert policy.next_delay(1, elapsed_seconds=0, retry_after_seconds=42) == 42
    assert policy.next_delay(1, elapsed_seconds=70, retry_after_seconds=42) is None


def test_budget_ends_by_attempts_or_total_time():
    policy = RetryPolicy(max_attempts=3, base_backoff_seconds=1, max_backoff_seconds=1, total_seconds=10)
    assert policy.next_delay(2, elapsed_seconds=0) is not None
    assert policy.next_delay(3, elapsed_seconds=0) is None
    assert policy.next_delay(1, elapsed_seconds=9.9) is None


def test_parse_retry_after_seconds_and_http_date():
    assert parse_retry_after("120", NOW) == 120
    assert parse_retry_after(format_datetime(NOW + timedelta(seconds=90), usegmt=True), NOW) == 90
    assert parse_retry_after(format_datetime(NOW - timedelta(seconds=90), usegmt=True), NOW) == 0
    assert parse_retry_after("soon", NOW) is None
    assert parse_retry_after("-3", NOW) is None
    assert parse_retry_after(None, NOW) is None


@pytest.mark.parametrize("status,retry", [(500, True), (503, True), (429, True), (408, True),
                                          (400, False), (401, False), (404, False), (422, False)])
def test_which_statuses_are_retried(status, retry):
    assert is_retryable_status(status) is retry


def test_policy_rejects_nonsense():
    with pytest.raises(ValueError, match="max_attempts"):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError, match="backoff"):
        RetryPolicy(base_backoff_seconds=10, max_backoff_seconds=1)
