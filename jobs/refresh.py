"""Engagement refresh: posts younger than `refresh_days` get their metrics re-read, so reports and story
scores see likes and reposts grow. Ingest records each change as an engagement snapshot (history kept).

Budgets: at most `refresh_limit` posts per source per run, newest first; a rate limit stops that source
for this run (its collection state is not touched: refresh and collection share the platform budget, and
the next tick tries again).

Posts the platform says were deleted (`Page.gone`) are deleted here too, in the page's transaction
(`jobs.deleted_upstream`, unless `[retention] remove_deleted_upstream` is off).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from jobs import deleted_upstream
from jobs.services import Services
from listener.collector import Refresher, StoredPost
from listener.errors import AuthFailed, RateLimited, SourceUnavailable
from listener.registry import build_collectors
from listener.session import make_session
from storage.models import Post
from storage.repositories._sql import utcnow
from storage.repositories.erase import Erased
from storage.repositories.ingest import ingest
from storage.repositories.quarantine import quarantine

log = logging.getLogger(__name__)


async def _due(services: Services, platform: str) -> list[StoredPost]:
    settings = services.settings.refresh
    since = utcnow() - timedelta(days=settings.refresh_days)
    async with services.sessions() as session:
        rows = await session.execute(
            select(Post.platform_id, Post.raw)
            .where(Post.platform == platform, Post.created_at >= since, Post.repost_of_id.is_(None))
            .order_by(Post.created_at.desc())
            .limit(settings.refresh_limit)
        )
        return [StoredPost(platform_id=pid, raw=raw) for pid, raw in rows.all()]


async def refresh_source(services: Services, collector: Refresher) -> dict[str, Any]:
    due = await _due(services, collector.platform.value)
    figures: dict[str, Any] = {
        "source": collector.name,
        "due": len(due),
        "updated": 0,
        "quarantined": 0,
        "status": "ok",
    }
    if not due:
        return figures
    remove_gone = services.settings.retention.remove_deleted_upstream
    erased = Erased()
    try:
        async for page in collector.refresh(due):
            async with services.sessions.begin() as session:
                counts = await ingest(session, page.posts)
                bad = [(r.item, r.error) for r in page.rejected] + list(page.unreadable)
                figures["quarantined"] += await quarantine(session, collector.name, collector.platform.value, bad)
                if page.gone and remove_gone:  # deleted upstream: deleted here too (jobs.deleted_upstream)
                    erased.add(await deleted_upstream.erase_gone(session, collector.platform.value, page.gone))
            figures["updated"] += counts.updated
    except (RateLimited, AuthFailed, SourceUnavailable) as exc:
        figures["status"], figures["detail"] = type(exc).__name__, str(exc)
        log.warning("refresh %s stopped: %s", collector.name, exc)
    if erased.post_keys:
        await deleted_upstream.finish(services, collector.platform.value, erased)
        figures["gone"] = erased.counts["posts"]
    return figures


async def run(services: Services) -> dict[str, Any]:
    results = []
    async with make_session(services.settings.sources) as http:
        for collector in build_collectors(services.settings, http):
            if hasattr(collector, "refresh"):
                results.append(await refresh_source(services, collector))  # type: ignore[arg-type]
    return {"sources": results}
