"""X filtered stream (near real time) through tweepy's AsyncStreamingClient, with its rules kept from the config.

One rule per campaign: its value is the campaign's search query (`build_query`), its tag the campaign slug.
`sync_rules` makes the stream's rules match the campaigns (idempotent: a second sync changes nothing);
`run` connects and hands each streamed tweet, parsed by the X parser and tagged with the campaigns whose
rules matched, to a callback, until `stop()`.

What tweepy must not decide alone:
- tweepy closes the session it is given when the stream ends, so each `run` (and each `sync_rules`) gets
  a session of its own from the factory (`make_session`: the resolver and CA of `[sources.x]`), never the
  shared one. The stream's requests carry their own timeouts: our sessions default to a 5-minute total,
  which would cut a healthy stream; a read timeout a little over X's 20-second keep-alive detects a stall.
- a 429 on connect stops the stream until the announced reset (`RateLimited`): tweepy would retry it
  after a minute, and again, against a window that has not reset. Refused credentials (401/403) and
  other 4xx answers stop it too: waiting does not fix them. 5xx and network errors are left to tweepy's
  reconnection backoff (bounded: at most 320 s between attempts, interrupted by `stop()`).
- `stop()` never cuts a batch short: a batch being handled finishes (and commits) first.
- lines that cannot be read go to a callback for the quarantine; the stream goes on.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aiohttp
from tweepy import errors as tweepy_errors
from tweepy.asynchronous import AsyncStreamingClient
from tweepy.streaming import StreamRule

from listener.collector import CampaignQuery
from listener.collectors.x import (
    _REDACT_BEARER,
    EXPANSIONS,
    MAX_QUERY_LENGTH,
    MEDIA_FIELDS,
    PLACE_FIELDS,
    TWEET_FIELDS,
    USER_FIELDS,
    build_query,
)
from listener.errors import AuthFailed, BadPayload, ListenerError, RateLimited, SourceUnavailable
from listener.parsers.x import Rejected, parse_page
from listener.post import Post
from listener.ratelimit import reset_after_429
from service.settings import Secret, XSettings

log = logging.getLogger(__name__)

NAME = "x-stream"
MAX_RULE_LENGTH = MAX_QUERY_LENGTH  # filtered stream rules: 512 characters (Basic and Pro access)
AUTH_HINT = "check LISTENER_X_BEARER_TOKEN (an app bearer token whose project has filtered-stream access)"
# Our rules are tagged with a campaign slug (settings allow ASCII letters, digits, '-' and '_'). A rule
# tagged otherwise, or not at all, was added by someone else: it is left alone.
_OWNED_TAG = re.compile(r"^[A-Za-z0-9_-]+$")
_TWEEPY_LOGGERS = ("tweepy.asynchronous.client", "tweepy.asynchronous.streaming")

SessionFactory = Callable[[], aiohttp.ClientSession]
StatusCallback = Callable[[str, str], Awaitable[None]]


@dataclass(frozen=True)
class StreamBatch:
    """One streamed line: its posts (the tweet, and the original of a retweet), the campaigns whose rules
    matched it, and the items of the line the parser could not read."""

    posts: list[Post]
    campaigns: tuple[str, ...]
    rejected: list[Rejected] = field(default_factory=list)


@dataclass(frozen=True)
class RuleSync:
    """What `sync_rules` did. `problems`: campaigns without a usable rule (too long, refused by X)."""

    added: list[str] = field(default_factory=list)  # campaign slugs
    deleted: list[str] = field(default_factory=list)  # rule values
    kept: list[str] = field(default_factory=list)  # campaign slugs
    problems: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.added or self.deleted)


class XStream:
    name = NAME

    def __init__(
        self,
        settings: XSettings,
        token: Secret | None,
        session_factory: SessionFactory,
        *,
        read_timeout: float = 21.0,  # X sends a keep-alive every 20 s (tweepy's own value)
        connect_timeout: float = 10.0,
        request_timeout: float = 30.0,  # one rules request
        max_closed_wait: float = 16.0,  # the longest pause after X closes a stream, before reconnecting
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._settings = settings
        self._token = token
        self._session_factory = session_factory
        self._stream_timeout = aiohttp.ClientTimeout(total=None, sock_connect=connect_timeout, sock_read=read_timeout)
        self._request_timeout = request_timeout
        self._max_closed_wait = max_closed_wait
        self._clock = clock
        self._rules: dict[str, str] = {}  # campaign slug -> rule value, as last synced
        self._rule_ids: dict[str, str] = {}  # rule id -> campaign slug
        self._client: _StreamClient | None = None
        self._stopping = False

    # --- rules ------------------------------------------------------------------------------------------

    def wanted_rules(self, campaigns: Iterable[CampaignQuery]) -> tuple[dict[str, str], list[str]]:
        """slug -> rule value for each campaign, and why a campaign has none (its rule would be too long)."""
        wanted: dict[str, str] = {}
        problems: list[str] = []
        for query in campaigns:
            try:
                value = build_query(query, self._settings.exclude_reposts)  # refuses past 512 characters
            except SourceUnavailable as exc:
                why = str(exc).removeprefix("x: ")
                problems.append(f"{NAME}: no stream rule for campaign {query.slug} (limit {MAX_RULE_LENGTH}): {why}")
                continue
            wanted[query.slug] = value
        return wanted, problems

    async def sync_rules(self, campaigns: Iterable[CampaignQuery]) -> RuleSync:
        """Make the stream's rules one per campaign: delete stale rules of ours, add the missing ones."""
        wanted, problems = self.wanted_rules(campaigns)
        client = self._new_client()
        keep: dict[str, dict[str, str]] = {}
        stale: list[dict[str, str]] = []
        created: list[dict[str, str]] = []
        async with self._session_factory() as http:
            client.session = http  # tweepy's request() uses it and leaves it open
            for rule in _rules_of(await self._rules_call(client.get_rules)):
                tag = rule.get("tag", "")
                if not _OWNED_TAG.match(tag):
                    log.info("%s: leaving rule %s alone (not tagged by us)", NAME, rule["id"])
                elif wanted.get(tag) == rule["value"] and tag not in keep:
                    keep[tag] = rule
                else:
                    stale.append(rule)  # a campaign gone or changed, or a duplicate
            if stale:
                # Deleted first: the rule count is capped per project, and a value added while still
                # present (under another tag) would be refused as a duplicate.
                answer = await self._rules_call(client.delete_rules, ids=[r["id"] for r in stale])
                _check_rules_answer(answer, "delete", problems)
            missing = [StreamRule(value=v, tag=slug) for slug, v in wanted.items() if slug not in keep]
            if missing:
                answer = await self._rules_call(client.add_rules, add=missing)
                _check_rules_answer(answer, "add", problems)
                created = [r for r in _rules_of(answer) if wanted.get(r.get("tag", "")) == r["value"]]
        self._rules = {tag: wanted[tag] for tag in [*keep, *(r["tag"] for r in created)]}
        self._rule_ids = {r["id"]: r["tag"] for r in [*keep.values(), *created]}
        result = RuleSync(
            added=sorted(r["tag"] for r in created),
            deleted=[r["value"] for r in stale],
            kept=sorted(keep),
            problems=problems,
        )
        if result.changed:
            log.info("%s: rules synced: added %s, deleted %s, kept %s", NAME, result.added, result.deleted, result.kept)
        for problem in problems:
            log.warning("%s", problem)
        return result

    async def _rules_call(self, method: Callable[..., Awaitable[Any]], **params: Any) -> Any:
        now = self._clock()
        try:
            async with asyncio.timeout(self._request_timeout):
                return await method(**params)
        except tweepy_errors.TooManyRequests as exc:
            raise RateLimited(NAME, reset_after_429(exc.response.headers, now), "HTTP 429 on the rules") from None
        except (tweepy_errors.Unauthorized, tweepy_errors.Forbidden) as exc:
            raise AuthFailed(
                f"{NAME}: the API refused the credentials (HTTP {exc.response.status}); {AUTH_HINT}"
            ) from None
        except tweepy_errors.HTTPException as exc:
            raise SourceUnavailable(
                f"{NAME}: the rules request failed: HTTP {exc.response.status}: {_messages(exc)}"
            ) from None
        except aiohttp.ContentTypeError as exc:
            # tweepy decodes every error answer as JSON; a proxy's HTML page lands here, its status decides.
            if exc.status == 429:
                raise RateLimited(NAME, reset_after_429(exc.headers or {}, now), "HTTP 429 on the rules") from None
            if exc.status in (401, 403):
                raise AuthFailed(f"{NAME}: the API refused the credentials (HTTP {exc.status}); {AUTH_HINT}") from None
            raise SourceUnavailable(f"{NAME}: the rules request failed: HTTP {exc.status}, not JSON") from None
        except (aiohttp.ClientError, TimeoutError, ValueError, AttributeError) as exc:
            # ValueError / AttributeError: tweepy failing to read an error answer (see x.py).
            raise SourceUnavailable(f"{NAME}: the rules request failed: {type(exc).__name__}: {exc}") from None

    # --- the stream -------------------------------------------------------------------------------------

    async def run(
        self,
        on_posts: Callable[[StreamBatch], Awaitable[None]],
        on_rejected: Callable[[str, str], Awaitable[None]],
        on_status: StatusCallback | None = None,
    ) -> None:
        """Stream until `stop()`. Each line becomes a `StreamBatch` for `on_posts`; a line that cannot be
        read goes to `on_rejected(line, reason)`. `on_status(status, detail)` hears of (re)connections and
        of the errors tweepy reconnects after. Raises RateLimited, AuthFailed or SourceUnavailable when the
        stream cannot go on, and whatever a callback raised (the stream stops on it)."""
        if self._stopping:
            return
        if not self._rules:
            raise SourceUnavailable(f"{NAME}: no campaign has a stream rule (sync the rules first)")
        client = self._new_client()
        client.session = _StreamSession(self._session_factory(), self._stream_timeout)
        client.handlers = _Handlers(self, on_posts, on_rejected, on_status)
        self._client = client
        try:
            task: asyncio.Task[None] = client.filter(
                tweet_fields=TWEET_FIELDS,
                expansions=EXPANSIONS,
                user_fields=USER_FIELDS,
                media_fields=MEDIA_FIELDS,
                place_fields=PLACE_FIELDS,
            )
            # wait(), not await: tweepy swallows the cancellation of its task, which would swallow ours.
            await asyncio.wait({task})
        except asyncio.CancelledError:
            client.disconnect()
            await asyncio.wait({task}, timeout=5.0)
            raise
        finally:
            self._client = None
            if not client.session.closed:  # a task cancelled before it started never closed it
                await client.session.close()
        if client.failure is not None:
            raise client.failure

    def stop(self) -> None:
        """End `run` (and any later one): at once, or as soon as the batch being handled is done."""
        self._stopping = True
        client = self._client
        if client is not None and not client.busy:
            client.disconnect()

    @property
    def stopping(self) -> bool:
        return self._stopping

    async def _line(self, raw: bytes, handlers: _Handlers) -> None:
        text = raw.decode("utf-8", "surrogateescape")
        try:
            message = json.loads(text)
        except ValueError as exc:
            await handlers.on_rejected(text, f"{NAME}: a stream line is not JSON: {exc}")
            return
        if not isinstance(message, dict):
            await handlers.on_rejected(text, f"{NAME}: a stream line is not an object")
            return
        if "data" not in message:
            if message.get("errors"):
                # X's own notices (operational-disconnect and the like): tweepy reconnects after them.
                titles = [e.get("title") or e.get("detail") for e in message["errors"] if isinstance(e, dict)]
                log.warning("%s: X says %s", NAME, "; ".join(str(t) for t in titles)[:500])
                return
            await handlers.on_rejected(text, f"{NAME}: a stream line without 'data'")
            return
        if not isinstance(message["data"], dict):
            await handlers.on_rejected(text, f"{NAME}: a stream line whose 'data' is not a tweet")
            return
        campaigns = self._campaigns_of(message.get("matching_rules"))
        if not campaigns:
            await handlers.on_rejected(
                text,
                f"{NAME}: the tweet matched no campaign's rule (matching_rules: {message.get('matching_rules')!r})",
            )
            return
        try:
            parsed = parse_page({"data": [message["data"]], "includes": message.get("includes") or {}},
                                self._rules[campaigns[0]])  # fmt: skip
        except BadPayload as exc:
            await handlers.on_rejected(text, f"{NAME}: {exc}")
            return
        await handlers.on_posts(StreamBatch(posts=parsed.posts, campaigns=campaigns, rejected=parsed.rejected))

    def _campaigns_of(self, matching_rules: Any) -> tuple[str, ...]:
        slugs: list[str] = []
        for rule in matching_rules if isinstance(matching_rules, list) else []:
            if not isinstance(rule, dict):
                continue
            slug = self._rule_ids.get(str(rule.get("id")))
            tag = rule.get("tag")
            if slug is None and isinstance(tag, str) and tag in self._rules:
                slug = tag
            if slug is not None and slug not in slugs:
                slugs.append(slug)
        return tuple(slugs)

    def _new_client(self) -> _StreamClient:
        if self._token is None:
            raise AuthFailed(f"{NAME}: no bearer token; set LISTENER_X_BEARER_TOKEN")
        for name in _TWEEPY_LOGGERS:  # tweepy logs request headers, Authorization included
            tweepy_log = logging.getLogger(name)
            if _REDACT_BEARER not in tweepy_log.filters:
                tweepy_log.addFilter(_REDACT_BEARER)
        return _StreamClient(self._token.reveal(), self._max_closed_wait)


@dataclass(frozen=True)
class _Handlers:
    stream: XStream
    on_posts: Callable[[StreamBatch], Awaitable[None]]
    on_rejected: Callable[[str, str], Awaitable[None]]
    on_status: StatusCallback | None


class _StreamClient(AsyncStreamingClient):  # type: ignore[misc]  # tweepy is untyped
    """tweepy's client with its hooks pointed at XStream: lines to the handlers, refusals to our errors."""

    def __init__(self, token: str, max_closed_wait: float) -> None:
        super().__init__(token, return_type=dict, wait_on_rate_limit=False)
        self.handlers: _Handlers | None = None
        self.failure: BaseException | None = None
        self.busy = False
        self.handler_failed = False
        self._closed_wait = 0.0
        self._max_closed_wait = max_closed_wait

    async def _guarded(self, work: Awaitable[None]) -> None:
        """Run a handler to its end: stop() waits for it, then disconnects."""
        self.busy = True
        try:
            await work
        except Exception:
            self.handler_failed = True  # the caller's own error: XStream.run raises it as it is
            raise
        finally:
            self.busy = False
        assert self.handlers is not None
        if self.handlers.stream.stopping:
            self.disconnect()

    async def _status(self, status: str, detail: str) -> None:
        assert self.handlers is not None
        if self.handlers.on_status is not None and not self.handlers.stream.stopping:
            await self._guarded(self.handlers.on_status(status, detail))

    async def on_data(self, raw_data: bytes) -> None:
        assert self.handlers is not None
        if self.handlers.stream.stopping:
            return  # stopping: take no new line (the cancellation lands at the next read)
        self._closed_wait = 0.0
        await self._guarded(self.handlers.stream._line(raw_data, self.handlers))

    async def on_connect(self) -> None:
        log.info("%s: connected", NAME)
        await self._status("ok", "connected to the filtered stream")

    async def on_keep_alive(self) -> None:
        pass

    async def on_request_error(self, status_code: int) -> None:
        session = self.session
        answer = session.last if isinstance(session, _StreamSession) else None
        headers: Mapping[str, str] = answer.headers if answer is not None else {}
        if status_code in (420, 429):
            now = self.handlers.stream._clock() if self.handlers is not None else None
            raise RateLimited(NAME, reset_after_429(headers, now), f"HTTP {status_code} on connect")
        if status_code in (401, 403):
            raise AuthFailed(f"{NAME}: the API refused the credentials (HTTP {status_code}); {AUTH_HINT}")
        if 400 <= status_code < 500:
            body = (await answer.text(errors="replace"))[:300] if answer is not None else ""
            raise SourceUnavailable(f"{NAME}: the stream refused the connection: HTTP {status_code}: {body}")
        log.warning("%s: HTTP %d on connect; tweepy reconnects with its backoff", NAME, status_code)
        await self._status("degraded", f"HTTP {status_code} on connect; reconnecting with backoff")

    async def on_connection_error(self) -> None:
        log.warning("%s: the connection failed or stalled; reconnecting", NAME)

    async def on_closed(self, resp: aiohttp.ClientResponse) -> None:
        # tweepy reconnects at once after X closes a stream; a pause (growing, bounded) keeps a server that
        # closes every stream at once from being hammered.
        log.warning("%s: X closed the stream; reconnecting in %.2fs", NAME, self._closed_wait)
        await asyncio.sleep(self._closed_wait)
        self._closed_wait = min(max(self._closed_wait * 2, 0.25), self._max_closed_wait)

    async def on_exception(self, exception: Exception) -> None:
        # XStream.run raises it once tweepy has closed the session. What tweepy does not retry by itself
        # (an over-long line, a broken answer) becomes ours; a handler's own error stays as it is.
        if isinstance(exception, ListenerError) or self.handler_failed:
            self.failure = exception
        else:
            self.failure = SourceUnavailable(f"{NAME}: the stream failed: {type(exception).__name__}: {exception}")

    async def on_disconnect(self) -> None:
        log.info("%s: disconnected", NAME)


class _StreamSession:
    """The session tweepy's stream sees: one of ours, each request with the stream's timeouts, and the last
    answer kept (tweepy hands `on_request_error` the status alone; a 429's reset is in its headers)."""

    def __init__(self, session: aiohttp.ClientSession, timeout: aiohttp.ClientTimeout) -> None:
        self._session = session
        self._timeout = timeout
        self.last: aiohttp.ClientResponse | None = None

    @property
    def closed(self) -> bool:
        return self._session.closed

    @property
    def headers(self) -> Any:
        return self._session.headers

    @asynccontextmanager
    async def request(self, method: str, url: Any, **kwargs: Any) -> AsyncIterator[aiohttp.ClientResponse]:
        kwargs.setdefault("timeout", self._timeout)
        async with self._session.request(method, url, **kwargs) as response:
            self.last = response
            yield response

    async def close(self) -> None:
        await self._session.close()


def _rules_of(answer: Any) -> list[dict[str, str]]:
    data = answer.get("data") if isinstance(answer, dict) else None
    if not isinstance(data, list):
        return []
    return [{k: str(v) for k, v in r.items()} for r in data if isinstance(r, dict) and r.get("id") and r.get("value")]


def _check_rules_answer(answer: Any, action: str, problems: list[str]) -> None:
    """X answers 200/201 with an `errors` list for the rules it refused (invalid, duplicate)."""
    errors = answer.get("errors") if isinstance(answer, dict) else None
    for error in errors if isinstance(errors, list) else []:
        if isinstance(error, dict):
            what = error.get("value") or error.get("id") or ""
            why = error.get("title") or error.get("detail") or "refused"
            problems.append(f"{NAME}: X refused to {action} the rule {what!r}: {why}"[:500])


def _messages(exc: tweepy_errors.HTTPException) -> str:
    parts = list(exc.api_messages or []) or [str(e) for e in exc.api_errors or []]
    return "; ".join(str(p) for p in parts)[:300] or f"HTTP {exc.response.status}"
