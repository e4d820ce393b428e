"""Login throttling: at most N failed logins per username and per client address in a sliding window.

In memory, per replica (the limit an attacker meets is N x replicas; a reverse proxy's own limit or
header mode behind an auth proxy is the stronger guard). Pure: time is a parameter."""
from __future__ import annotations

from collections import OrderedDict, deque
from datetime import datetime, timedelta


class LoginThrottle:
    def __init__(self, *, per_user: int, per_address: int, window: timedelta, max_keys: int = 20_000) -> None:
        self.limits = {"user": per_user, "address": per_address}
        self.window = window
        self.max_keys = max_keys  # bounds memory when someone tries many names or addresses
        self._failures: OrderedDict[str, deque[datetime]] = OrderedDict()

    @staticmethod
    def _keys(username: str, address: str) -> dict[str, str]:
        return {"user": "user:" + username.strip().lower(), "address": "address:" + address}

    def _recent(self, key: str, now: datetime) -> deque[datetime]:
        failures = self._failures.get(key)
        if failures is None:
            return deque()
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        if not failures:
            del self._failures[key]
        return failures

    def retry_after(self, username: str, address: str, now: datetime) -> int | None:
        """Seconds until this username and address may try again; None when they may now."""
        waits = []
        for kind, key in self._keys(username, address).items():
            failures = self._recent(key, now)
            if len(failures) >= self.limits[kind]:
                waits.append((failures[0] + self.window - now).total_seconds())
        return max(1, int(max(waits) + 0.999)) if waits else None

    def failed(self, username: str, address: str, now: datetime) -> None:
        for key in self._keys(username, address).values():
            self._recent(key, now)
            self._failures.setdefault(key, deque()).append(now)
            self._failures.move_to_end(key)
        while len(self._failures) > self.max_keys:
            self._failures.popitem(last=False)

    def succeeded(self, username: str) -> None:
        """A right password clears the username's failures (not the address's)."""
        self._failures.pop(self._keys(username, "")["user"], None)
