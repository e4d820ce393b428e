"""Retry policy for deliveries: exponential backoff with equal jitter, Retry-After, a budget.

Pure: the caller passes the attempt number, elapsed time, "now" and a random source.
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int = 8
    base_backoff_seconds: float = 1.0
    max_backoff_seconds: float = 60.0
    total_seconds: float = 900.0  # give up once the next attempt would start after this budget

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("retry.max_attempts must be >= 1")
        if self.base_backoff_seconds <= 0 or self.max_backoff_seconds < self.base_backoff_seconds:
            raise ValueError("retry backoff must satisfy 0 < base_backoff_seconds <= max_backoff_seconds")
        if self.total_seconds <= 0:
            raise ValueError("retry.total_seconds must be > 0")

    def backoff(self, attempt: int, rng: random.Random | None = None) -> float:
        """Delay before attempt `attempt + 1`, after `attempt` failures (attempt >= 1).

        Equal jitter: uniform between half the cap and the cap. The random half spreads a herd of
        retries after an outage; the fixed half keeps a retry from coming back immediately.
        """
        cap = min(self.max_backoff_seconds, self.base_backoff_seconds * (2 ** max(attempt - 1, 0)))
        r = (rng or random).random()
        return cap / 2 + r * cap / 2

    def next_delay(
        self,
        attempt: int,
        elapsed_seconds: float,
        retry_after_seconds: float | None = None,
        rng: random.Random | None = None,
    ) -> float | None:
        """Seconds to wait before the next attempt, or None when the budget is spent.

        `attempt` is the number of attempts made so far; `elapsed_seconds` is the time since
        the first attempt. A server's Retry-After wins over our own backoff (it is never
        shortened), but never beyond the total budget.
        """
        if attempt >= self.max_attempts:
            return None
        delay = self.backoff(attempt, rng)
        if retry_after_seconds is not None:
            delay = max(delay, retry_after_seconds)
        if elapsed_seconds + delay > self.total_seconds:
            return None
        return delay


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Parse an HTTP Retry-After header (delta-seconds or HTTP-date) into seconds from `now`."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when is None:
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return max(0.0, (when - now).total_seconds())
    if math.isnan(seconds) or seconds < 0:
        return None
    return seconds


RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})


def is_retryable_status(status: int) -> bool:
    """5xx, 408/425 timeouts and 429 are worth another try; other 4xx are our fault: give up."""
    return status in RETRYABLE_STATUS or status >= 500
