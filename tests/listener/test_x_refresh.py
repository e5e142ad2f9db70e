"""Engagement refresh on X: recent posts are re-read through GET /2/tweets (100 ids per call), their
metrics grow in place, and every change is kept as an engagement snapshot."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select, update

from jobs.refresh import refresh_source
from jobs.services import Services
from listener.collectors.x import XCollector
from listener.session import make_session
from storage.models import EngagementSnapshot, Post
from storage.repositories._sql import utcnow
from tests.listener.test_x_collector import FAST, run_x, settings, stored_posts, twarc, x_api  # noqa: F401
from tests.listener.upstream import Reply, Upstream

LOOKUP = "/2/tweets"


async def _make_recent(services: Services, days: int) -> None:
    async with services.sessions.begin() as session:
        await session.execute(update(Post).values(created_at=utcnow() - timedelta(days=days)))


async def _refresh(services: Services) -> dict[str, Any]:
    async with make_session(services.settings.sources) as http:
        collector = XCollector(
            services.settings.sources.x, services.settings.secrets.get("x_bearer_token"), http, policy=FAST
        )
        return await refresh_source(services, collector)


async def test_refresh_grows_metrics_and_keeps_snapshots(
    services: Services, x_api: Upstream, twarc: Callable[..., dict[str, Any]]
) -> None:
    page = twarc("two_tweets", last=True)
    x_api.script("/2/tweets/search/recent", Reply.json(page))
    await run_x(services)
    before = await stored_posts(services)
    originals = {pid: post for pid, post in before.items() if post.repost_of_id is None}
    assert originals
    await _make_recent(services, days=2)

    grown = copy.deepcopy(page)
    lookup = {
        "data": [t for t in grown.get("data", []) + grown["includes"].get("tweets", []) if t["id"] in originals],
        "includes": grown["includes"],
    }
    for tweet in lookup["data"]:
        tweet["public_metrics"]["like_count"] += 10
    x_api.script(LOOKUP, Reply.json(lookup))

    figures = await _refresh(services)

    assert figures["status"] == "ok"
    assert figures["due"] == len(originals)  # reposts are not refreshed: their metrics are the original's
    assert figures["updated"] == len(originals)
    [request] = x_api.requests_to(LOOKUP)
    assert set(request.params["ids"].split(",")) == set(originals)
    after = await stored_posts(services)
    for pid, post in originals.items():
        assert after[pid].likes == (post.likes or 0) + 10
    async with services.sessions() as session:
        for pid in originals:
            snapshots = await session.scalar(
                select(func.count()).select_from(EngagementSnapshot).where(EngagementSnapshot.post_id == after[pid].id)
            )
            assert snapshots == 2  # first sighting, then the growth


async def test_old_posts_are_not_refreshed(
    services: Services, x_api: Upstream, twarc: Callable[..., dict[str, Any]]
) -> None:
    x_api.script("/2/tweets/search/recent", Reply.json(twarc("two_tweets", last=True)))
    await run_x(services)
    await _make_recent(services, days=30)  # older than refresh_days (7)

    figures = await _refresh(services)

    assert figures == {"source": "x", "due": 0, "updated": 0, "quarantined": 0, "status": "ok"}
    assert x_api.requests_to(LOOKUP) == []


async def test_a_rate_limited_refresh_stops_without_failing(
    services: Services, x_api: Upstream, twarc: Callable[..., dict[str, Any]]
) -> None:
    x_api.script("/2/tweets/search/recent", Reply.json(twarc("two_tweets", last=True)))
    await run_x(services)
    await _make_recent(services, days=1)
    x_api.script(
        LOOKUP, Reply.json({"title": "Too Many Requests"}, status=429, headers={"x-rate-limit-remaining": "0"})
    )

    figures = await _refresh(services)

    assert figures["status"] == "RateLimited"
    assert figures["updated"] == 0
