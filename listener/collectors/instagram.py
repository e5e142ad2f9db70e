"""Instagram Graph API hashtag search for a business account: `ig_hashtag_search`, then `recent_media`
(last 24 hours; and `top_media` when enabled), paged by the `after` cursor.

Meta allows a business account 30 unique hashtags per rolling 7 days. The collector queries at most the
first 30 distinct hashtags of the configuration and reports the rest as over budget (`listener check`
says so too), rather than letting the API lock the account out. Facebook hashtags have no public API.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime
from typing import Any

import aiohttp

from listener.collector import CampaignQuery, Page, StoredPost
from listener.errors import BadPayload, SourceUnavailable
from listener.http import BadJson, HttpSource, RetryPolicy, decode_json
from listener.parsers.instagram import MEDIA_FIELDS, parse_media_page
from listener.post import Platform
from service.settings import InstagramSettings, Secret

HASHTAG_BUDGET = 30
PAGE_SIZE = 50
AUTH_HINT = "check LISTENER_INSTAGRAM_ACCESS_TOKEN (a token of the business account with instagram_basic)"


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
        return [f"{edge}#{t.casefold()}" for t in query.hashtags for edge in editions]

    def _auth(self) -> dict[str, str]:
        if self._token is None or not self._settings.business_account_id:
            raise SourceUnavailable(f"instagram: not configured; {AUTH_HINT}")
        return {"user_id": self._settings.business_account_id, "access_token": self._token.reveal()}

    async def _hashtag_id(self, tag: str) -> str:
        response = await self._http.get_json(f"{self._base}/ig_hashtag_search", params={**self._auth(), "q": tag})
        data = response.data.get("data") if isinstance(response.data, dict) else None
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
        after: str | None = state.get("after")
        while True:
            params = {**self._auth(), "fields": MEDIA_FIELDS, "limit": str(PAGE_SIZE)}
            if after:
                params["after"] = after
            raw = await self._http.request("GET", f"{self._base}/{hashtag_id}/{edge}", params=params)
            try:
                parsed = parse_media_page(
                    decode_json(raw.body, f"instagram {edge}"), datetime.now(UTC), query=f"#{tag}"
                )
            except BadJson as exc:
                yield Page(posts=[], checkpoint=state, unreadable=[(exc.payload, str(exc))])
                return
            except BadPayload as exc:
                yield Page(posts=[], checkpoint=state, unreadable=[(raw.body.decode("utf-8", "replace"), str(exc))])
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
        """Current like and comment counts of stored media (GET /?ids=..., 50 ids per call)."""
        for start in range(0, len(posts), self.refresh_batch):
            chunk = posts[start : start + self.refresh_batch]
            params = {**self._auth(), "ids": ",".join(p.platform_id for p in chunk), "fields": MEDIA_FIELDS}
            response = await self._http.request("GET", f"{self._base}/", params=params)
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
                yield Page(posts=[], checkpoint={}, unreadable=[(response.body.decode("utf-8", "replace"), str(exc))])
                continue
            yield Page(posts=parsed.posts, checkpoint={}, rejected=parsed.rejected)
