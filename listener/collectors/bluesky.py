"""Bluesky `app.bsky.feed.searchPosts` with an app-password session, one stream per hashtag or keyword.

The session is created on first use (`com.atproto.server.createSession`), refreshed with its refresh token
when the access token expires, and created again if the refresh is refused. A run pages newest-first by
`cursor` down to the `since` time of the previous complete run (first run: `backfill_pages` pages).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Mapping
from typing import Any

import aiohttp

from listener.collector import CampaignQuery, Page, StoredPost
from listener.errors import AuthFailed, BadPayload
from listener.http import BadJson, HttpSource, RawResponse, RetryPolicy, decode_json
from listener.parsers.bluesky import parse_search
from listener.post import Platform
from service.settings import BlueskySettings, Secret

PAGE_SIZE = 100
AUTH_HINT = "check [sources.bluesky] handle and LISTENER_BLUESKY_APP_PASSWORD (an app password)"


class BlueskyCollector:
    name = "bluesky"
    platform = Platform.BLUESKY

    def __init__(
        self,
        settings: BlueskySettings,
        app_password: Secret | None,
        session: aiohttp.ClientSession,
        *,
        policy: RetryPolicy | None = None,
    ) -> None:
        self._settings = settings
        self._password = app_password
        self._base = settings.base_url.rstrip("/")
        self._http = HttpSource("bluesky", session, auth_hint=AUTH_HINT, policy=policy)
        self._access: str | None = None
        self._refresh: str | None = None

    def query_keys(self, query: CampaignQuery) -> list[str]:
        return [f"search:{term}" for term in query.terms()]

    async def _login(self) -> None:
        if not self._settings.handle or self._password is None:
            raise AuthFailed(f"bluesky: not configured; {AUTH_HINT}")
        raw = await self._http.request(
            "POST",
            f"{self._base}/xrpc/com.atproto.server.createSession",
            json_body={"identifier": self._settings.handle, "password": self._password.reveal()},
            accept=(400,),
        )
        if raw.status == 400:
            raise AuthFailed(f"bluesky: the login was refused; {AUTH_HINT}")
        self._store_tokens(raw)

    def _store_tokens(self, raw: RawResponse) -> None:
        data = decode_json(raw.body, "bluesky session")
        if not isinstance(data, dict) or not data.get("accessJwt"):
            raise AuthFailed("bluesky: the session response carries no access token")
        self._access, self._refresh = str(data["accessJwt"]), str(data.get("refreshJwt") or "") or None

    async def _renew(self) -> None:
        if self._refresh:
            raw = await self._http.request(
                "POST",
                f"{self._base}/xrpc/com.atproto.server.refreshSession",
                headers={"Authorization": f"Bearer {self._refresh}"},
                accept=(400, 401),
            )
            if raw.status == 200:
                self._store_tokens(raw)
                return
        self._access = self._refresh = None
        await self._login()

    async def _search(self, params: dict[str, str]) -> RawResponse:
        if self._access is None:
            await self._login()
        for _ in range(2):
            raw = await self._http.request(
                "GET",
                f"{self._base}/xrpc/app.bsky.feed.searchPosts",
                params=params,
                headers={"Authorization": f"Bearer {self._access}"},
                accept=(400, 401),
            )
            if raw.status == 200:
                return raw
            if b"ExpiredToken" in raw.body or raw.status == 401:
                await self._renew()
                continue
            raise BadPayload(
                f"bluesky: search refused (HTTP {raw.status}): {raw.body[:200].decode('utf-8', 'replace')}"
            )
        raise AuthFailed(f"bluesky: the renewed session was refused; {AUTH_HINT}")

    async def pages(self, query: CampaignQuery, key: str, checkpoint: Mapping[str, Any] | None) -> AsyncIterator[Page]:
        term = key.removeprefix("search:")
        state = dict(checkpoint or {})
        since: str | None = state.get("since")
        cursor: str | None = state.get("cursor")
        run_newest: str | None = state.get("run_newest")
        pages_done = int(state.get("pages", 0))
        while True:
            params = {"q": term, "sort": "latest", "limit": str(PAGE_SIZE)}
            if since:
                params["since"] = since
            if cursor:
                params["cursor"] = cursor
            try:
                raw = await self._search(params)
                parsed = parse_search(decode_json(raw.body, "bluesky searchPosts"), query=term)
            except BadJson as exc:
                yield Page(posts=[], checkpoint=state, unreadable=[(exc.payload, str(exc))])
                return
            except BadPayload as exc:
                yield Page(posts=[], checkpoint=state, unreadable=[(str(exc), str(exc))])
                return
            newest = max((p.raw or {}).get("indexedAt", "") for p in parsed.posts) if parsed.posts else None
            run_newest = max(filter(None, (run_newest, newest)), default=None)
            pages_done += 1
            more = (
                bool(parsed.next_token)
                and bool(parsed.posts)
                and (since is not None or pages_done < self._settings.backfill_pages)
            )
            if more:
                state = {"since": since, "cursor": parsed.next_token, "run_newest": run_newest, "pages": pages_done}
            else:
                state = {"since": run_newest or since}
            yield Page(posts=parsed.posts, checkpoint=state, rejected=parsed.rejected)
            if not more:
                return
            cursor = parsed.next_token

    refresh_batch = 25  # app.bsky.feed.getPosts takes up to 25 URIs

    async def refresh(self, posts: list[StoredPost]) -> AsyncIterator[Page]:
        if self._access is None:
            await self._login()
        for start in range(0, len(posts), self.refresh_batch):
            uris = [p.platform_id for p in posts[start : start + self.refresh_batch]]
            raw = await self._http.request(
                "GET",
                f"{self._base}/xrpc/app.bsky.feed.getPosts",
                params=[("uris", u) for u in uris],  # type: ignore[arg-type]
                headers={"Authorization": f"Bearer {self._access}"},
                accept=(400,),
            )
            if raw.status == 400:
                await self._renew()
                continue
            try:
                parsed = parse_search(decode_json(raw.body, "bluesky getPosts"))
            except BadPayload as exc:
                yield Page(posts=[], checkpoint={}, unreadable=[(raw.body.decode("utf-8", "replace"), str(exc))])
                continue
            # A post returned but unreadable still exists: only the ones left out are candidates.
            returned = {p.platform_id for p in parsed.posts}
            returned |= {str(r.item.get("uri")) for r in parsed.rejected if isinstance(r.item, dict)}
            gone = [uri for uri in uris if uri not in returned and await self._record_deleted(uri)]
            yield Page(posts=parsed.posts, checkpoint={}, rejected=parsed.rejected, gone=gone)

    async def _record_deleted(self, uri: str) -> bool:
        """getPosts leaves out deleted posts, but also those of taken-down, deactivated or blocking accounts:
        the record itself decides. Only `RecordNotFound` from com.atproto.repo.getRecord (a public call) means
        deleted; a deactivated or taken-down repository (`RepoDeactivated`, `RepoTakendown`...) is kept."""
        match = _AT_URI.match(uri)
        if match is None:
            return False
        repo, collection, rkey = match.groups()
        raw = await self._http.request(
            "GET",
            f"{self._base}/xrpc/com.atproto.repo.getRecord",
            params={"repo": repo, "collection": collection, "rkey": rkey},
            accept=(400, 404),
        )
        if raw.status == 200:
            return False
        try:
            error = decode_json(raw.body, "bluesky getRecord")
        except BadPayload:
            return False
        return isinstance(error, dict) and error.get("error") == "RecordNotFound"


_AT_URI = re.compile(r"^at://([^/]+)/([^/]+)/([^/]+)$")
