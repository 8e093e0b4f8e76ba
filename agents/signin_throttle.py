"""Repeated failed sign-ins are slowed down, per user name and per client address.

Pure state on an injected clock. Each key (a user name, an address) counts its failures; from
the ``max_failures``-th on it is locked for ``lock_s`` seconds, doubling with each further
failure up to ``lock_max_s``. While a key is locked every attempt is answered 429 with
``Retry-After`` *before* the password is checked, so guessing costs time whatever the guess. A
success clears the user name's count (not the address's: one operator signing in must not
clear a guesser's record behind the same address). Failures older than ``forget_s`` are
forgotten. The address threshold is higher than the user's: a whole floor of operators may
share one address through NAT.

The counts live in this process. With several controller processes behind one address each
counts on its own, which lets a guesser try a few times more; shared counts would need the
database, and a lock held across processes, for little gain.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["SigninThrottle", "ThrottleRules"]


@dataclass(frozen=True, slots=True)
class ThrottleRules:
    max_failures: int = 5
    max_failures_per_address: int = 20
    lock_s: float = 30.0
    lock_max_s: float = 900.0
    forget_s: float = 3600.0
    #: Keys kept at most; beyond, the stalest are dropped (a flood of random names).
    max_keys: int = 100_000


@dataclass(slots=True)
class _Record:
    failures: int
    last_failure: float
    locked_until: float


class SigninThrottle:
    """Failed sign-ins per key, on the clock ``now`` (seconds)."""

    def __init__(self, now: Callable[[], float], rules: ThrottleRules | None = None) -> None:
        self._now = now
        self.rules = rules or ThrottleRules()
        self._records: dict[tuple[str, str], _Record] = {}

    @staticmethod
    def _keys(username: str, address: str | None) -> list[tuple[str, str]]:
        keys = [("user", username.strip().lower())]
        if address:
            keys.append(("address", address))
        return keys

    def retry_after(self, username: str, address: str | None) -> int | None:
        """Whole seconds to wait before trying again, or None when an attempt may go on."""
        now = self._now()
        waits = [
            r.locked_until - now
            for key in self._keys(username, address)
            if (r := self._records.get(key)) is not None and r.locked_until > now
        ]
        return max(1, math.ceil(max(waits))) if waits else None

    def failed(self, username: str, address: str | None) -> None:
        """Count a failed attempt (a wrong password or an unknown name: the same)."""
        now = self._now()
        for kind, key in self._keys(username, address):
            limit = (
                self.rules.max_failures if kind == "user" else self.rules.max_failures_per_address
            )
            r = self._records.get((kind, key))
            if r is None or now - r.last_failure > self.rules.forget_s:
                r = _Record(failures=0, last_failure=now, locked_until=0.0)
                self._records[(kind, key)] = r
            r.failures += 1
            r.last_failure = now
            if r.failures >= limit:
                lock = self.rules.lock_s * 2 ** min(r.failures - limit, 30)
                r.locked_until = now + min(lock, self.rules.lock_max_s)
        self._prune(now)

    def succeeded(self, username: str) -> None:
        self._records.pop(("user", username.strip().lower()), None)

    def _prune(self, now: float) -> None:
        if len(self._records) <= self.rules.max_keys:
            return
        stale = [
            k
            for k, r in self._records.items()
            if now - r.last_failure > self.rules.forget_s and r.locked_until <= now
        ]
        for k in stale:
            del self._records[k]
        if len(self._records) > self.rules.max_keys:
            by_age = sorted(self._records, key=lambda k: self._records[k].last_failure)
            for k in by_age[: len(self._records) - self.rules.max_keys]:
                del self._records[k]
