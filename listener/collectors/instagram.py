"""Instagram Graph API hashtag search for a business account: `ig_hashtag_search`, then `recent_media`
(last 24 hours; and `top_media` when enabled), paged by the `after` cursor.

Meta allows a business account 30 unique hashtags per rolling 7 days. The collector queries at most the
first 30 distinct hashtags of the configuration and reports the rest as over budget (`listener check`
says so too), rather than letting the API lock the account out. Facebook hashtags have no public API.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime
from typing import Any, NoReturn

import aiohttp

from listener.collector import CampaignQuery, Page, StoredPost
from listener.errors import AuthFailed, BadPayload, RateLimited, SourceUnavailable
from listener.http import BadJson, HttpSource, RawResponse, RetryPolicy, decode_json, redact
from listener.parsers.instagram import MEDIA_FIELDS, parse_media_page
from listener.post import Platform
from listener.ratelimit import reset_after_429
from service.settings import InstagramSettings, Secret

HASHTAG_BUDGET = 30
PAGE_SIZE = 50
AUTH_HINT = "check LISTENER_INSTAGRAM_ACCESS_TOKEN (a token of the business account with instagram_basic)"
# The Graph API answers an expired or revoked token, and a spent rate limit, with HTTP 400 and an error
# code (developers.facebook.com/docs/graph-api/guides/error-handling), not with 401 or 429.
_TOKEN_ERRORS = frozenset({102, 190})
_RATE_ERRORS = frozenset({4, 17, 32, 613, 80002})
REDACTED = "[redacted]"


def budgeted_hashtags(all_hashtags: list[str]) -> tuple[list[str], list[str]]:
    """(the hashtags we may query, the ones over Meta's budget), in configuration order, case-folded."""
    unique = list(dict.fromkeys(t.casefold() for t in all_hashtags))
    return unique[:HASHTAG_BUDGET], unique[HASHTAG_BUDGET:]


class InstagramCollector:
    name = "instagram"
    platform = Platform.INSTAGRAM

    def __init__(
        self,
        settings: InstagramSettings,
        token: Secret | None,
        session: aiohttp.ClientSession,
        all_hashtags: list[str],
        *,
        policy: RetryPolicy | None = None,
    ) -> None:
        self._settings = settings
        self._token = token
        self._base = settings.base_url.rstrip("/")
        self._http = HttpSource("instagram", session, auth_hint=AUTH_HINT, policy=policy)
        self._allowed, self.over_budget = budgeted_hashtags(all_hashtags)

    def query_keys(self, query: CampaignQuery) -> list[str]:
        editions = ["recent_media", "top_media"] if self._settings.top_media else ["recent_media"]
        # Consent replies on Instagram are comments, which hashtag search never returns: querying the
        # consent hashtag would only spend Meta's 30-hashtag budget (Instagram rights are granted by hand).
        consent = (query.consent_hashtag or "").casefold()
        return [f"{edge}#{t.casefold()}" for t in query.hashtags if t.casefold() != consent for edge in editions]

    def _auth(self) -> dict[str, str]:
        if self._token is None or not self._settings.business_account_id:
            raise SourceUnavailable(f"instagram: not configured; {AUTH_HINT}")
        return {"user_id": self._settings.business_account_id, "access_token": self._token.reveal()}

    def _redact(self, text: str) -> str:
        """The token travels in query strings, and Meta echoes it in `paging.next`: never keep it."""
        token = self._token.reveal() if self._token is not None else ""
        return text.replace(token, REDACTED) if token else text

    async def _get(self, url: str, params: Mapping[str, str]) -> RawResponse:
        raw = await self._http.request("GET", url, params=params, accept=(400,))
        if raw.status == 400:
            self._refused(url, raw)
        return raw

    def _refused(self, url: str, raw: RawResponse) -> NoReturn:
        try:
            body = decode_json(raw.body, "instagram error")
        except BadPayload:
            body = None
        error = body.get("error") if isinstance(body, dict) else None
        if not isinstance(error, dict):
            error = {}
        code = error.get("code")
        message = self._redact(str(error.get("message") or raw.body[:200].decode("utf-8", "replace")))
        if code in _TOKEN_ERRORS:
            raise AuthFailed(f"instagram: the access token was refused ({message}); {AUTH_HINT}")
        if code in _RATE_ERRORS:
            reset = reset_after_429(raw.headers)
            raise RateLimited("instagram", reset, f"Graph API error {code} on {redact(url)}: {message}")
        raise SourceUnavailable(f"instagram: HTTP 400 on {redact(url)}: {message}")

    async def _hashtag_id(self, tag: str) -> str | Page:
        """The hashtag's id, or a page quarantining an answer that cannot be read."""
        raw = await self._get(f"{self._base}/ig_hashtag_search", {**self._auth(), "q": tag})
        try:
            found = decode_json(raw.body, "instagram ig_hashtag_search")
        except BadJson as exc:
            return Page(posts=[], checkpoint={}, unreadable=[(self._redact(exc.payload), str(exc))])
        data = found.get("data") if isinstance(found, dict) else None
        if not isinstance(data, list):
            body = self._redact(raw.body.decode("utf-8", "replace"))
            return Page(posts=[], checkpoint={}, unreadable=[(body, "ig_hashtag_search: no 'data' list")])
        if not data or not isinstance(data[0], dict) or not data[0].get("id"):
            raise SourceUnavailable(f"instagram: no hashtag id for #{tag} (ig_hashtag_search returned none)")
        return str(data[0]["id"])

    async def pages(self, query: CampaignQuery, key: str, checkpoint: Mapping[str, Any] | None) -> AsyncIterator[Page]:
        edge, _, tag = key.partition("#")
        if tag not in self._allowed:
            raise SourceUnavailable(
                f"instagram: #{tag} is over Meta's budget of {HASHTAG_BUDGET} unique hashtags per 7 days; "
                "remove hashtags from the configuration"
            )
        state = dict(checkpoint or {})
        hashtag_id = state.get("hashtag_id") or await self._hashtag_id(tag)
        if isinstance(hashtag_id, Page):
            yield hashtag_id
            return
        after: str | None = state.get("after")
        while True:
            params = {**self._auth(), "fields": MEDIA_FIELDS, "limit": str(PAGE_SIZE)}
            if after:
                params["after"] = after
            raw = await self._get(f"{self._base}/{hashtag_id}/{edge}", params)
            try:
                parsed = parse_media_page(
                    decode_json(raw.body, f"instagram {edge}"), datetime.now(UTC), query=f"#{tag}"
                )
            except BadJson as exc:
                yield Page(posts=[], checkpoint=state, unreadable=[(self._redact(exc.payload), str(exc))])
                return
            except BadPayload as exc:
                body = self._redact(raw.body.decode("utf-8", "replace"))
                yield Page(posts=[], checkpoint=state, unreadable=[(body, str(exc))])
                return
            # recent_media only spans 24 hours: each run reads it all; ingest keeps what is new.
            state = (
                {"hashtag_id": hashtag_id, "after": parsed.next_token}
                if parsed.next_token
                else {"hashtag_id": hashtag_id}
            )
            yield Page(posts=parsed.posts, checkpoint=state, rejected=parsed.rejected)
            if not parsed.next_token:
                return
            after = parsed.next_token

    refresh_batch = 50

    async def refresh(self, posts: list[StoredPost]) -> AsyncIterator[Page]:
        """Current like and comment counts of stored media (GET /?ids=..., 50 ids per call). One deleted media
        fails the whole call with error 100 naming the ids that "do not exist": those are `gone`, and the
        call is made again without them."""
        for start in range(0, len(posts), self.refresh_batch):
            chunk = posts[start : start + self.refresh_batch]
            gone: list[str] = []
            while True:
                params = {**self._auth(), "ids": ",".join(p.platform_id for p in chunk), "fields": MEDIA_FIELDS}
                url = f"{self._base}/"
                response = await self._http.request("GET", url, params=params, accept=(400,))
                missing = _missing_ids(response, {p.platform_id for p in chunk}) if response.status == 400 else []
                if not missing:
                    break
                gone.extend(missing)
                chunk = [p for p in chunk if p.platform_id not in missing]
                if not chunk:
                    break
            if not chunk:
                yield Page(posts=[], checkpoint={}, gone=gone)
                continue
            if response.status == 400:
                self._refused(url, response)
            try:
                data = decode_json(response.body, "instagram media lookup")
                if not isinstance(data, dict):
                    raise BadPayload("instagram media lookup: expected an object keyed by id")
                stored = {p.platform_id: p for p in chunk}
                items = [
                    {**dict(stored[k].raw or {}), **v} for k, v in data.items() if k in stored and isinstance(v, dict)
                ]
                parsed = parse_media_page({"data": items}, datetime.now(UTC))
            except BadPayload as exc:
                body = self._redact(response.body.decode("utf-8", "replace"))
                yield Page(posts=[], checkpoint={}, unreadable=[(body, str(exc))], gone=gone)
                continue
            yield Page(posts=parsed.posts, checkpoint={}, rejected=parsed.rejected, gone=gone)


_MISSING = re.compile(r"do not exist:\s*([\w,\s]+)")


def _missing_ids(raw: RawResponse, asked: set[str]) -> list[str]:
    """The asked ids a Graph API error 100 says "do not exist" (a media deleted by its owner). Not the
    single-object error (subcode 33: "does not exist, cannot be loaded due to missing permissions..."),
    which cannot tell a deleted media from one we may no longer read: that is never taken as deleted."""
    try:
        body = decode_json(raw.body, "instagram error")
    except BadPayload:
        return []
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict) or error.get("code") != 100 or error.get("error_subcode") is not None:
        return []
    match = _MISSING.search(str(error.get("message") or ""))
    if match is None:
        return []
    named = {part.strip() for part in match.group(1).split(",")}
    return sorted(named & asked)
