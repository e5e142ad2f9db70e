"""Reading the platforms' rate-limit headers into one shape (pure).

Each platform says it differently: X sends `x-rate-limit-*` with an epoch reset; Mastodon `X-RateLimit-*`
with an ISO timestamp; Bluesky `RateLimit-*` with an epoch; the IETF draft `RateLimit-*` with seconds to
wait; Meta's Graph API a JSON usage header in percent with minutes to regain access. A collector checks
the budget before each call and stops the source at the reset time instead of sleeping in the job.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from listener.errors import RateLimited

# Used when a 429 arrives without any reset information: wait a full X window.
DEFAULT_PENALTY = timedelta(minutes=15)
# An epoch below this is a delta in seconds (IETF draft), not a date.
_EPOCH_FLOOR = 1_000_000_000


@dataclass(frozen=True)
class RateLimit:
    limit: int | None
    remaining: int | None
    reset_at: datetime | None

    @property
    def exhausted(self) -> bool:
        return self.remaining is not None and self.remaining <= 0


def _header(headers: Mapping[str, str], *names: str) -> str | None:
    lowered = {k.lower(): v for k, v in headers.items()}
    for name in names:
        value = lowered.get(name.lower())
        if value is not None and value.strip():
            return value.strip()
    return None


def _int(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(float(value))
    except ValueError:
        return None


def _reset(value: str | None, now: datetime) -> datetime | None:
    if value is None:
        return None
    number = _int(value)
    if number is not None:
        if number >= _EPOCH_FLOOR:
            return datetime.fromtimestamp(number, UTC)
        return now + timedelta(seconds=max(number, 0))
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _meta_usage(headers: Mapping[str, str], now: datetime) -> RateLimit | None:
    raw = _header(headers, "x-business-use-case-usage", "x-app-usage")
    if raw is None:
        return None
    try:
        usage = json.loads(raw)
    except ValueError:
        return None
    entries = [usage]
    if isinstance(usage, dict) and all(isinstance(v, list) for v in usage.values()):
        entries = [e for values in usage.values() for e in values]
    worst = 0.0
    wait_minutes = 0
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        for key in ("call_count", "total_time", "total_cputime"):
            value = entry.get(key)
            if isinstance(value, int | float):
                worst = max(worst, float(value))
        regain = entry.get("estimated_time_to_regain_access")
        if isinstance(regain, int | float):
            wait_minutes = max(wait_minutes, int(regain))
    remaining = max(0, int(100 - worst))
    reset = (
        now + timedelta(minutes=wait_minutes)
        if wait_minutes
        else (now + timedelta(hours=1) if remaining <= 0 else None)
    )
    return RateLimit(limit=100, remaining=remaining, reset_at=reset)


def read_rate_limit(headers: Mapping[str, str], now: datetime | None = None) -> RateLimit | None:
    """The budget the response announces, or None when it announces none."""
    now = now or datetime.now(UTC)
    limit = _int(_header(headers, "x-rate-limit-limit", "x-ratelimit-limit", "ratelimit-limit"))
    remaining = _int(_header(headers, "x-rate-limit-remaining", "x-ratelimit-remaining", "ratelimit-remaining"))
    reset = _reset(_header(headers, "x-rate-limit-reset", "x-ratelimit-reset", "ratelimit-reset"), now)
    if limit is None and remaining is None and reset is None:
        retry_after = _reset(_header(headers, "retry-after"), now)
        if retry_after is not None:
            return RateLimit(limit=None, remaining=0, reset_at=retry_after)
        return _meta_usage(headers, now)
    return RateLimit(limit=limit, remaining=remaining, reset_at=reset)


def reset_after_429(headers: Mapping[str, str], now: datetime | None = None) -> datetime:
    """When to try again after a 429: the announced reset, else Retry-After, else a full window."""
    now = now or datetime.now(UTC)
    state = read_rate_limit(headers, now)
    if state is not None and state.reset_at is not None and state.reset_at > now:
        return state.reset_at
    retry_after = _reset(_header(headers, "retry-after"), now)
    if retry_after is not None and retry_after > now:
        return retry_after
    return now + DEFAULT_PENALTY


class Budget:
    """The budget a source's platform last announced; checked before each call so that a spent budget
    stops the source before it calls again, never after."""

    def __init__(self, source: str, clock: Callable[[], datetime]) -> None:
        self._source = source
        self._clock = clock
        self.rate: RateLimit | None = None

    def observe(self, headers: Mapping[str, str]) -> None:
        state = read_rate_limit(headers, self._clock())
        if state is not None:
            self.rate = state

    def check(self, detail: str) -> None:
        """Raise RateLimited when the last answer said the budget is spent and its window still runs."""
        rate = self.rate
        if rate is not None and rate.exhausted and rate.reset_at is not None and rate.reset_at > self._clock():
            raise RateLimited(self._source, rate.reset_at, detail)
