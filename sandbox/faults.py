"""Fault injection shared by both sandbox servers.

A ``Faults`` value says what to break; a ``FaultClock`` counts requests and decides, per request,
which fault (if any) applies. Each server turns the decision into its own API's error shape.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, fields
from enum import Enum


class Fault(Enum):
    RATE_LIMIT = "rate_limit"  # 429 with Retry-After (HubSpot SECONDLY policy; Salesforce has none: 503)
    SERVER_ERROR = "server_error"  # transient 500 or 503
    SESSION_EXPIRED = "session_expired"  # 401: the token stopped working
    QUOTA_EXHAUSTED = "quota_exhausted"  # daily quota used up (SF 403 REQUEST_LIMIT_EXCEEDED, HS 429 DAILY)


@dataclass(frozen=True)
class Faults:
    rate_limit_every: int = 0  # every Nth request answers 429
    retry_after_s: float = 1.0
    error_every: int = 0  # every Nth request answers 500 / 503 (alternating)
    latency_ms: int = 0  # added to every request
    expire_session_after: int = 0  # after N requests the token answers 401 until re-login
    mutate_during_paging: int = 0  # records modified per non-first page (offset or id floor)
    daily_quota: int = 0  # requests per day; 0 = the default allocation, never exhausted in tests

    @classmethod
    def parse(cls, spec: str | None) -> Faults:
        """``"rate_limit_every=7,error_every=11,latency_ms=5"`` -> Faults; empty -> no faults."""
        if not spec:
            return cls()
        known = {f.name: f.type for f in fields(cls)}
        values: dict[str, float | int] = {}
        for item in spec.split(","):
            name, _, raw = item.strip().partition("=")
            name = name.strip().replace("-", "_")
            if name not in known:
                raise ValueError(f"unknown fault '{name}'; known: {', '.join(sorted(known))}")
            try:
                values[name] = float(raw) if name == "retry_after_s" else int(raw)
            except ValueError:
                raise ValueError(f"fault '{name}' needs a number, got '{raw}'") from None
        return cls(**values)

    @property
    def any(self) -> bool:
        return self != Faults()


class FaultClock:
    """Counts requests (thread-safe) and says which fault the next one gets."""

    def __init__(self, faults: Faults) -> None:
        self.faults = faults
        self._lock = threading.Lock()
        self.requests = 0
        self.quota_used = 0
        self.session_requests = 0  # requests since the last (re-)login

    def next_fault(self) -> Fault | None:
        f = self.faults
        with self._lock:
            self.requests += 1
            self.quota_used += 1
            self.session_requests += 1
            n = self.requests
            if f.daily_quota and self.quota_used > f.daily_quota:
                return Fault.QUOTA_EXHAUSTED
            if f.expire_session_after and self.session_requests > f.expire_session_after:
                return Fault.SESSION_EXPIRED
            if f.rate_limit_every and n % f.rate_limit_every == 0:
                return Fault.RATE_LIMIT
            if f.error_every and n % f.error_every == 0:
                return Fault.SERVER_ERROR
            return None

    def set_faults(self, faults: Faults) -> None:
        """Switch to other faults mid-test. The counters carry on (quota used, session age):
        they are what already happened; ``reset_quota``/``renew_session`` clear them."""
        with self._lock:
            self.faults = faults

    def renew_session(self) -> None:
        with self._lock:
            self.session_requests = 0

    def reset_quota(self) -> None:
        """A new day: the daily quota is available again."""
        with self._lock:
            self.quota_used = 0

    def server_error_status(self) -> int:
        return 503 if (self.requests // max(self.faults.error_every, 1)) % 2 else 500
