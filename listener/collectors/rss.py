"""RSS/Atom news and blog feeds, filtered by the campaign's terms, fetched with conditional GETs.

Each feed is one stream per campaign; its checkpoint keeps the ETag and Last-Modified the server gave,
so an unchanged feed costs a 304 and no parsing. Entries not mentioning any campaign hashtag or keyword
(or mentioning an excluded term) are skipped, not stored: a news feed is mostly about other things.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime
from typing import Any

import aiohttp

from listener.collector import CampaignQuery, Page
from listener.errors import BadPayload
from listener.http import HttpSource, RetryPolicy
from listener.parsers.rss import parse_feed
from listener.post import Platform
from service.settings import RssSettings


class RssCollector:
    name = "rss"
    platform = Platform.RSS

    def __init__(
        self, settings: RssSettings, session: aiohttp.ClientSession, *, policy: RetryPolicy | None = None
    ) -> None:
        self._settings = settings
        self._http = HttpSource(
            "rss", session, auth_hint="this feed needs authentication; remove it or use a public URL", policy=policy
        )

    def query_keys(self, query: CampaignQuery) -> list[str]:
        return [f"feed:{url}" for url in self._settings.feeds]

    async def pages(self, query: CampaignQuery, key: str, checkpoint: Mapping[str, Any] | None) -> AsyncIterator[Page]:
        url = key.removeprefix("feed:")
        state = dict(checkpoint or {})
        headers = {"Accept": "application/rss+xml, application/atom+xml, application/xml;q=0.9, */*;q=0.5"}
        if state.get("etag"):
            headers["If-None-Match"] = str(state["etag"])
        if state.get("last_modified"):
            headers["If-Modified-Since"] = str(state["last_modified"])
        raw = await self._http.request("GET", url, headers=headers, accept=(304,))
        if raw.status == 304:
            return
        try:
            parsed = parse_feed(raw.body, url, datetime.now(UTC), query=" OR ".join(query.terms()))
        except BadPayload as exc:
            yield Page(posts=[], checkpoint=state, unreadable=[(raw.body.decode("utf-8", "replace"), str(exc))])
            return
        lowered = {k.lower(): v for k, v in raw.headers.items()}
        state = {k: v for k, v in (("etag", lowered.get("etag")), ("last_modified", lowered.get("last-modified"))) if v}
        kept = [p for p in parsed.posts if query.matches(p.text, p.hashtags)]
        yield Page(posts=kept, checkpoint=state, rejected=parsed.rejected)
