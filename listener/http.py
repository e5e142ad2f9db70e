"""HTTP for collectors: one GET with the platform's rate limits respected, bounded retries, and every
library error translated into the listener's own (`RateLimited`, `AuthFailed`, `SourceUnavailable`,
`BadPayload`).

Politeness rules: the budget announced by the last response is checked before the next call (an
exhausted budget raises `RateLimited` without calling); a 429 stops the source until its reset; 5xx and
timeouts get a few retries with exponential backoff and jitter (seconds, bounded), then the run ends.
Nothing here sleeps until a rate-limit reset: the next scheduler tick resumes.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aiohttp
import orjson
from yarl import URL

from listener.errors import AuthFailed, BadPayload, RateLimited, SourceUnavailable
from listener.ratelimit import Budget, reset_after_429

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 32 * 1024 * 1024
Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4  # the first try and three retries
    base_delay: float = 0.5
    max_delay: float = 8.0
    timeout: float = 30.0

    def delay(self, attempt: int) -> float:
        # Full jitter: spreads retries of several workers hitting the same outage.
        return random.uniform(0, min(self.max_delay, self.base_delay * 2**attempt))  # noqa: S311


@dataclass(frozen=True)
class RawResponse:
    status: int
    headers: Mapping[str, str]
    body: bytes
    url: str


@dataclass(frozen=True)
class JsonResponse:
    data: Any
    headers: Mapping[str, str]
    status: int
    url: str


def redact(url: str | URL) -> str:
    """A URL fit for messages: no query string (tokens travel there on some platforms)."""
    parsed = URL(str(url))
    return str(parsed.with_query(None).with_fragment(None))


class HttpSource:
    """Issues GETs for one source and remembers the budget the platform last announced."""

    def __init__(
        self,
        name: str,
        session: aiohttp.ClientSession,
        *,
        auth_hint: str,
        policy: RetryPolicy | None = None,
        sleep: Sleep = asyncio.sleep,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.name = name
        self._session = session
        self._auth_hint = auth_hint
        self._policy = policy or RetryPolicy()
        self._sleep = sleep
        self._clock = clock
        self._budget = Budget(name, clock)
        self.calls = 0

    async def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        json_body: Any = None,
        accept: tuple[int, ...] = (),
    ) -> RawResponse:
        """One call with the budget checked, 429/401/403/5xx handled and bounded retries.

        Statuses in `accept` (e.g. 304 for conditional GETs, 400 for an expired token) are returned
        to the caller instead of raising.
        """
        last_error = ""
        for attempt in range(self._policy.attempts):
            self._budget.check("budget spent; resuming at the reset")
            if attempt:
                await self._sleep(self._policy.delay(attempt))
            try:
                self.calls += 1
                async with self._session.request(
                    method,
                    url,
                    params=params,
                    headers=headers,
                    json=json_body,
                    timeout=aiohttp.ClientTimeout(total=self._policy.timeout),
                ) as response:
                    body = await response.content.read(MAX_BODY_BYTES + 1)
                    status = response.status
                    response_headers = dict(response.headers)
                    final_url = str(response.url)
            except (aiohttp.ClientError, TimeoutError) as exc:
                last_error = f"{type(exc).__name__}: {exc}".strip()
                log.warning("%s: attempt %d/%d failed: %s", self.name, attempt + 1, self._policy.attempts, last_error)
                continue
            self._budget.observe(response_headers)
            if status in accept:
                return RawResponse(status=status, headers=response_headers, body=body, url=final_url)
            if status == 429:
                reset = reset_after_429(response_headers, self._clock())
                raise RateLimited(self.name, reset, f"HTTP 429 on {redact(url)}")
            if status in (401, 403):
                raise AuthFailed(
                    f"{self.name}: the platform refused the credentials (HTTP {status}); {self._auth_hint}"
                )
            if status >= 500:
                last_error = f"HTTP {status} on {redact(url)}"
                log.warning("%s: attempt %d/%d: %s", self.name, attempt + 1, self._policy.attempts, last_error)
                continue
            if status >= 400:
                raise SourceUnavailable(f"{self.name}: HTTP {status} on {redact(url)}: {_short(body)}")
            if len(body) > MAX_BODY_BYTES:
                raise BadPayload(f"{self.name}: response larger than {MAX_BODY_BYTES} bytes from {redact(url)}")
            return RawResponse(status=status, headers=response_headers, body=body, url=final_url)
        raise SourceUnavailable(f"{self.name}: no usable answer after {self._policy.attempts} attempts ({last_error})")

    async def get_json(
        self, url: str, *, params: Mapping[str, str] | None = None, headers: Mapping[str, str] | None = None
    ) -> JsonResponse:
        raw = await self.request("GET", url, params=params, headers=headers)
        data = decode_json(raw.body, f"{self.name} {redact(url)}")
        return JsonResponse(data=data, headers=raw.headers, status=raw.status, url=raw.url)


class BadJson(BadPayload):
    """A body that is not JSON; `payload` keeps it (as text) for the quarantine."""

    def __init__(self, message: str, payload: str) -> None:
        super().__init__(message)
        self.payload = payload


def decode_json(body: bytes, what: str) -> Any:
    try:
        # orjson parses a 100-post page several times faster than the standard library.
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        pass  # it is stricter (lone surrogate escapes, NaN, huge integers): the standard parser decides
    try:
        return json.loads(body)
    except ValueError as exc:
        text = body.decode("utf-8", "replace")
        raise BadJson(f"{what}: not valid JSON ({exc.__class__.__name__}: {str(exc)[:120]})", text) from None


def _short(body: bytes) -> str:
    text = body[:300].decode("utf-8", "replace").replace("\n", " ")
    return text or "(empty body)"
