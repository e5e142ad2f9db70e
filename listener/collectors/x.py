"""X (Twitter) API v2 recent search through tweepy's AsyncClient, on our shared aiohttp session.

tweepy builds the request (URL, auth, parameters); this module owns what tweepy must not: rate limits are
read from `x-rate-limit-*` and turned into `RateLimited(reset_at)` (never `wait_on_rate_limit`, which can
sleep forever), 5xx and network errors get a bounded retry, and tweepy's exceptions become ours.

Checkpoints: a run pages from the newest tweet back to `since_id` (or over the whole search window on the
first run). Mid-run the checkpoint holds the `next_token` to continue from and the newest id of the run;
when the run reaches its end, `since_id` moves to that newest id.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Mapping
from datetime import UTC, datetime
from typing import Any

import aiohttp
from tweepy import errors as tweepy_errors
from tweepy.asynchronous import AsyncClient

from listener.collector import CampaignQuery, Page, StoredPost
from listener.errors import AuthFailed, BadPayload, RateLimited, SourceUnavailable
from listener.http import BadJson, RetryPolicy, decode_json
from listener.parsers.common import may_need_cleaning
from listener.parsers.x import parse_page
from listener.post import Platform
from listener.ratelimit import Budget, reset_after_429
from service.settings import Secret, XSettings

log = logging.getLogger(__name__)

MAX_QUERY_LENGTH = 512  # recent search, all access levels
TWEET_FIELDS = [
    "attachments", "author_id", "conversation_id", "created_at", "entities", "geo", "id",
    "in_reply_to_user_id", "lang", "public_metrics", "referenced_tweets", "text",
]  # fmt: skip
EXPANSIONS = [
    "author_id",
    "referenced_tweets.id",
    "referenced_tweets.id.author_id",
    "attachments.media_keys",
    "geo.place_id",
]
USER_FIELDS = ["id", "name", "username", "public_metrics", "verified", "created_at", "location"]
MEDIA_FIELDS = ["media_key", "type", "url", "preview_image_url", "alt_text", "public_metrics"]
PLACE_FIELDS = ["id", "full_name", "country_code", "geo"]
AUTH_HINT = "check LISTENER_X_BEARER_TOKEN (an app bearer token with access to v2 recent search)"
_BEARER = re.compile(r"(Bearer\s+)[^\s'\",}]+")


class _RedactBearer(logging.Filter):
    """tweepy logs every request's headers at DEBUG, Authorization included: mask the token."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "Bearer" in message:
            record.msg, record.args = _BEARER.sub(r"\1********", message), None
        return True


_REDACT_BEARER = _RedactBearer()


def build_query(query: CampaignQuery, exclude_reposts: bool) -> str:
    """The search query: hashtags and keywords OR'd, excluded terms negated, retweets optionally out."""

    def quoted(term: str) -> str:
        return f'"{term}"' if any(c.isspace() for c in term) else term

    terms = [f"#{t}" for t in query.hashtags] + [quoted(k) for k in query.keywords]
    text = terms[0] if len(terms) == 1 else "(" + " OR ".join(terms) + ")"
    text += "".join(f" -{quoted(x)}" for x in query.excluded)
    if exclude_reposts and query.exclude_reposts:
        text += " -is:retweet"
    if len(text) > MAX_QUERY_LENGTH:
        raise SourceUnavailable(
            f"x: the search query for campaign {query.slug} is {len(text)} characters, over X's {MAX_QUERY_LENGTH}: "
            "use fewer hashtags, keywords or excluded terms"
        )
    return text


class XCollector:
    name = "x"
    platform = Platform.X

    def __init__(
        self,
        settings: XSettings,
        token: Secret | None,
        session: aiohttp.ClientSession,
        *,
        policy: RetryPolicy | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._settings = settings
        self._token = token
        self._session = session
        self._policy = policy or RetryPolicy()
        self._sleep = sleep
        self._clock = clock
        self._budget = Budget(self.name, clock)

    def query_keys(self, query: CampaignQuery) -> list[str]:
        return ["search/recent"]

    def _client(self) -> AsyncClient:
        if self._token is None:
            raise AuthFailed("x: no bearer token; set LISTENER_X_BEARER_TOKEN")
        client = AsyncClient(
            bearer_token=self._token.reveal(), return_type=aiohttp.ClientResponse, wait_on_rate_limit=False
        )
        client.session = self._session  # one long-lived session; tweepy must not open its own
        tweepy_log = logging.getLogger("tweepy.asynchronous.client")
        if _REDACT_BEARER not in tweepy_log.filters:
            tweepy_log.addFilter(_REDACT_BEARER)
        return client

    async def _call(self, method: Callable[..., Awaitable[Any]], params: dict[str, Any]) -> bytes:
        last = ""
        for attempt in range(self._policy.attempts):
            self._budget.check("15-minute request budget spent")
            if attempt:
                await self._sleep(self._policy.delay(attempt))
            try:
                # tweepy sets no timeout of its own (the session's default is 5 minutes).
                async with asyncio.timeout(self._policy.timeout):
                    response = await method(**params)
                    body = await _body_of(response)
                self._budget.observe(response.headers)
                return body
            except tweepy_errors.TooManyRequests as exc:
                headers = exc.response.headers
                self._budget.observe(headers)
                raise RateLimited(self.name, reset_after_429(headers, self._clock()), "HTTP 429") from None
            except (tweepy_errors.Unauthorized, tweepy_errors.Forbidden) as exc:
                raise AuthFailed(
                    f"x: the API refused the credentials (HTTP {exc.response.status}); {AUTH_HINT}"
                ) from None
            except tweepy_errors.BadRequest as exc:
                raise _BadRequest(_messages(exc)) from None
            except tweepy_errors.TwitterServerError as exc:
                last = f"HTTP {exc.response.status}"
            except tweepy_errors.HTTPException as exc:
                raise SourceUnavailable(f"x: HTTP {exc.response.status}: {_messages(exc)}") from None
            except aiohttp.ContentTypeError as exc:
                # tweepy decodes every error answer as JSON; an HTML or text one (a proxy's, a CDN's) lands
                # here. Its status still decides: a 429 must stop the source, not be retried.
                if exc.status == 429:
                    headers = exc.headers or {}
                    self._budget.observe(headers)
                    raise RateLimited(self.name, reset_after_429(headers, self._clock()), "HTTP 429") from None
                if exc.status in (401, 403):
                    raise AuthFailed(f"x: the API refused the credentials (HTTP {exc.status}); {AUTH_HINT}") from None
                last = f"HTTP {exc.status} with a {exc.headers.get('Content-Type') if exc.headers else 'non-JSON'} body"
            except (aiohttp.ClientError, TimeoutError, ValueError, AttributeError) as exc:
                # ValueError: tweepy decoding an error body that is not JSON. AttributeError: tweepy 4.17
                # cannot build its error from an error answer with an empty JSON body (aiohttp's json()
                # gives None, tweepy then calls the coroutine requests-style); an answer with no details.
                last = f"{type(exc).__name__}: {exc}".strip()
            log.warning("x: attempt %d/%d failed: %s", attempt + 1, self._policy.attempts, last)
        raise SourceUnavailable(f"x: no usable answer after {self._policy.attempts} attempts ({last})")

    async def pages(self, query: CampaignQuery, key: str, checkpoint: Mapping[str, Any] | None) -> AsyncIterator[Page]:
        client = self._client()
        text = build_query(query, self._settings.exclude_reposts)
        state = dict(checkpoint or {})
        since_id: str | None = state.get("since_id")
        next_token: str | None = state.get("next_token")
        run_newest: str | None = state.get("run_newest_id")
        while True:
            params: dict[str, Any] = {
                "query": text,
                "max_results": 100,
                "tweet_fields": TWEET_FIELDS,
                "expansions": EXPANSIONS,
                "user_fields": USER_FIELDS,
                "media_fields": MEDIA_FIELDS,
                "place_fields": PLACE_FIELDS,
            }
            if since_id:
                params["since_id"] = since_id
            if next_token:
                params["next_token"] = next_token
            try:
                body = await self._call(client.search_recent_tweets, params)
            except _BadRequest as exc:
                if next_token and "next_token" in str(exc):
                    # The pagination token expired: restart this run from since_id (ingest is idempotent).
                    log.warning("x: pagination token refused (%s); restarting the run from since_id", exc)
                    next_token, run_newest = None, None
                    continue
                raise SourceUnavailable(f"x: the API rejected the search: {exc}") from None
            try:
                data = decode_json(body, "x search/recent")
                parsed = parse_page(data, text, clean=may_need_cleaning(body))
            except BadJson as exc:
                yield Page(posts=[], checkpoint=state, unreadable=[(exc.payload, str(exc))])
                return
            except BadPayload as exc:
                yield Page(posts=[], checkpoint=state, unreadable=[(body.decode("utf-8", "replace"), str(exc))])
                return
            run_newest = run_newest or parsed.newest_id
            if parsed.next_token:
                state = {"since_id": since_id, "next_token": parsed.next_token, "run_newest_id": run_newest}
            else:
                state = {"since_id": run_newest or since_id}
            yield Page(posts=parsed.posts, checkpoint=state, rejected=parsed.rejected)
            if not parsed.next_token:
                return
            next_token = parsed.next_token

    refresh_batch = 100  # GET /2/tweets takes up to 100 ids

    async def refresh(self, posts: list[StoredPost]) -> AsyncIterator[Page]:
        """Current metrics of stored tweets, 100 ids per call; tweets deleted upstream come back as `gone`."""
        client = self._client()
        for start in range(0, len(posts), self.refresh_batch):
            ids = [p.platform_id for p in posts[start : start + self.refresh_batch]]
            params = {
                "ids": ids,
                "tweet_fields": TWEET_FIELDS,
                "expansions": ["author_id"],
                "user_fields": USER_FIELDS,
            }
            body = await self._call(client.get_tweets, params)
            try:
                data = decode_json(body, "x tweets lookup")
                parsed = parse_page(data, clean=may_need_cleaning(body))
            except BadPayload as exc:
                yield Page(posts=[], checkpoint={}, unreadable=[(body.decode("utf-8", "replace"), str(exc))])
                continue
            yield Page(posts=parsed.posts, checkpoint={}, rejected=parsed.rejected, gone=gone_tweets(data, ids))


NOT_FOUND = "https://api.twitter.com/2/problems/resource-not-found"


def gone_tweets(page: Any, asked: Collection[str]) -> list[str]:
    """The asked ids a tweet lookup reports as not found: deleted by their author (or with their account).

    Only a definite answer counts: a `resource-not-found` problem about a tweet of the `ids` parameter,
    titled "Not Found Error". X gives the same problem type with the title "Forbidden" for a suspended
    account, and `not-authorized-for-resource` for a protected one: those tweets still exist (the account
    may come back) and are kept; the retention rules deal with them in time.
    """
    errors = page.get("errors") if isinstance(page, dict) else None
    wanted = set(asked)
    gone = []
    for error in errors if isinstance(errors, list) else []:
        if not isinstance(error, dict):
            continue
        tweet_id = str(error.get("resource_id") or error.get("value") or "")
        if (
            error.get("type") == NOT_FOUND
            and error.get("title") == "Not Found Error"
            and error.get("resource_type") == "tweet"
            and error.get("parameter") == "ids"
            and tweet_id in wanted
        ):
            gone.append(tweet_id)
    return gone


async def _body_of(response: aiohttp.ClientResponse) -> bytes:
    """The body tweepy already read. It read it inside its own `async with`, and aiohttp (3.14, pinned) refuses
    `read()` on a released response ("Connection closed"); `text()` serves the cached body, and
    surrogateescape gives back the exact bytes (the quarantine keeps what was sent, UTF-8 or not)."""
    text = await response.text(encoding="utf-8", errors="surrogateescape")
    return text.encode("utf-8", "surrogateescape")


class _BadRequest(Exception):
    """HTTP 400 from X, with the API's messages (internal: decides between restart and failure)."""


def _messages(exc: tweepy_errors.HTTPException) -> str:
    parts = list(exc.api_messages or []) or [str(e) for e in exc.api_errors or []]
    return "; ".join(str(p) for p in parts)[:300] or f"HTTP {exc.response.status}"
