"""Mastodon hashtag timelines on a list of instances (public; a token only where an instance requires one).

One stream per instance and hashtag (status ids are local to an instance, so are checkpoints). The first
run walks back through the timeline (`Link: rel="next"`, max_id) for at most `backfill_pages` pages;
later runs move forward from `min_id` (`rel="prev"`), oldest new page first, so each committed page is a
safe resume point. The same status seen on two instances has one URI and is stored once.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Mapping
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import aiohttp

from listener.collector import CampaignQuery, Page, StoredPost
from listener.errors import AuthFailed, BadPayload, SourceUnavailable
from listener.http import BadJson, HttpSource, RawResponse, RetryPolicy, decode_json
from listener.parsers.mastodon import parse_statuses
from listener.post import Platform, Post
from service.settings import MastodonSettings, Secret

PAGE_SIZE = 40  # the API's maximum for timelines
_LINK = re.compile(r'<([^>]+)>\s*;\s*rel="?(\w+)"?')


def parse_link_header(value: str | None) -> dict[str, dict[str, str]]:
    """`Link` header -> {rel: {query parameter: value}} (e.g. {"next": {"max_id": "123"}})."""
    links: dict[str, dict[str, str]] = {}
    for url, rel in _LINK.findall(value or ""):
        links[rel] = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items() if v}
    return links


class MastodonCollector:
    name = "mastodon"
    platform = Platform.MASTODON

    def __init__(
        self,
        settings: MastodonSettings,
        token: Secret | None,
        session: aiohttp.ClientSession,
        *,
        policy: RetryPolicy | None = None,
    ) -> None:
        self._settings = settings
        self._token = token
        self._session = session
        self._policy = policy
        # Each instance announces its own budget: one spent instance must not stop the others.
        self._instances: dict[str, HttpSource] = {}

    def _http_for(self, base: str) -> HttpSource:
        if base not in self._instances:
            hint = (
                "the token was refused: check LISTENER_MASTODON_TOKEN"
                if self._token
                else "this instance requires a token: set LISTENER_MASTODON_TOKEN"
            )
            self._instances[base] = HttpSource("mastodon", self._session, auth_hint=hint, policy=self._policy)
        return self._instances[base]

    async def _get(self, base: str, url: str, **kwargs: Any) -> RawResponse:
        try:
            return await self._http_for(base).request("GET", url, **kwargs)
        except AuthFailed as exc:
            if self._token:
                raise  # our token is wrong everywhere: the source fails, naming the variable
            # Without a token, one instance closing its public timeline does not stop the others.
            raise SourceUnavailable(str(exc)) from None

    def query_keys(self, query: CampaignQuery) -> list[str]:
        keys: list[str] = []
        for instance in self._settings.instances:
            host = urlsplit(instance).netloc or instance
            keys.extend(f"{host}#{tag}" for tag in query.hashtags)
        return keys

    def _instance(self, key: str) -> tuple[str, str]:
        host, _, tag = key.partition("#")
        for instance in self._settings.instances:
            if (urlsplit(instance).netloc or instance) == host:
                return instance.rstrip("/"), tag
        raise BadPayload(f"mastodon: instance {host} is no longer configured")

    async def pages(self, query: CampaignQuery, key: str, checkpoint: Mapping[str, Any] | None) -> AsyncIterator[Page]:
        base, tag = self._instance(key)
        url = f"{base}/api/v1/timelines/tag/{quote(tag, safe='')}"
        headers = {"Authorization": f"Bearer {self._token.reveal()}"} if self._token else {}
        state = dict(checkpoint or {})
        backfilled = int(state.get("backfill_pages", 0))
        while True:
            params = {"limit": str(PAGE_SIZE)}
            forward = "min_id" in state and "max_id" not in state
            if forward:
                params["min_id"] = str(state["min_id"])
            elif "max_id" in state:
                params["max_id"] = str(state["max_id"])
            raw = await self._get(base, url, params=params, headers=headers)
            try:
                parsed = parse_statuses(decode_json(raw.body, f"mastodon {base}"), query=f"#{tag}", instance=base)
            except BadJson as exc:
                yield Page(posts=[], checkpoint=state, unreadable=[(exc.payload, str(exc))])
                return
            except BadPayload as exc:
                yield Page(posts=[], checkpoint=state, unreadable=[(raw.body.decode("utf-8", "replace"), str(exc))])
                return
            links = parse_link_header(raw.headers.get("Link") or raw.headers.get("link"))
            if forward:
                if not parsed.posts and not parsed.rejected:
                    return
                newest = links.get("prev", {}).get("min_id") or parsed.newest_id or state["min_id"]
                state = {"min_id": newest}
                yield Page(posts=parsed.posts, checkpoint=state, rejected=parsed.rejected)
                continue
            # Backfill: newest first, walking back; the newest id seen becomes the forward checkpoint.
            newest_seen = state.get("min_id") or links.get("prev", {}).get("min_id") or parsed.newest_id
            older = links.get("next", {}).get("max_id")
            backfilled += 1
            done = not parsed.posts or older is None or backfilled >= self._settings.backfill_pages
            if done:
                state = {"min_id": newest_seen} if newest_seen else {}
            else:
                state = {"min_id": newest_seen, "max_id": older, "backfill_pages": backfilled}
            yield Page(posts=parsed.posts, checkpoint=state, rejected=parsed.rejected)
            if done:
                return

    refresh_batch = 40
    REFRESH_LIMIT_PER_INSTANCE = 200  # one call per status: keep well inside 300 calls / 5 minutes

    async def refresh(self, posts: list[StoredPost]) -> AsyncIterator[Page]:
        """Re-read statuses on the instance that served them (their local id is only valid there); statuses
        the instance says are gone (410, or a 404 with Mastodon's JSON error body) come back as `gone`."""
        headers = {"Authorization": f"Bearer {self._token.reveal()}"} if self._token else {}
        per_instance: dict[str, int] = {}
        fresh: list[Post] = []
        gone: list[str] = []
        for stored in posts:
            raw = stored.raw or {}
            instance, local_id = raw.get("_instance"), raw.get("id")
            if not instance or not local_id or per_instance.get(instance, 0) >= self.REFRESH_LIMIT_PER_INSTANCE:
                continue
            per_instance[instance] = per_instance.get(instance, 0) + 1
            response = await self._get(
                instance,
                f"{instance}/api/v1/statuses/{quote(str(local_id), safe='')}",
                headers=headers,
                accept=(404, 410),
            )
            if response.status in (404, 410):
                if deleted_status(response.status, response.body):
                    gone.append(stored.platform_id)
                continue
            try:
                page = parse_statuses([decode_json(response.body, "mastodon status")], instance=instance)
            except BadPayload as exc:
                yield Page(posts=[], checkpoint={}, unreadable=[(response.body.decode("utf-8", "replace"), str(exc))])
                continue
            fresh.extend(p for p in page.posts if p.platform_id == stored.platform_id)
            if len(fresh) + len(gone) >= self.refresh_batch:
                yield Page(posts=fresh, checkpoint={}, gone=gone)
                fresh, gone = [], []
        if fresh or gone:
            yield Page(posts=fresh, checkpoint={}, gone=gone)


def deleted_status(status: int, body: bytes) -> bool:
    """A definite "this status no longer exists": 410 Gone, or Mastodon's own 404 (a JSON `error`, e.g.
    {"error": "Record not found"}). A 404 page from a proxy or a wrong base URL (HTML, no JSON error)
    proves nothing, and neither do 401/403 (a private or limited account) nor 5xx: those posts are kept."""
    if status == 410:
        return True
    if status != 404:
        return False
    try:
        data = decode_json(body, "mastodon status")
    except BadPayload:
        return False
    return isinstance(data, dict) and isinstance(data.get("error"), str)
