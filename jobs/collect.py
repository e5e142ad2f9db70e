"""The collect job: every ready source, every campaign, page by page, each page committed with its checkpoint.

Failure policy, per source: a rate limit stops the source until its reset (the next tick after it
resumes from the checkpoint); refused credentials mark it failed with the variable to fix; an unavailable
stream (5xx, timeouts after retries, one Mastodon instance down) marks the source degraded and the other
streams go on. Unreadable payloads go to the quarantine and are counted; they never stop a run.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from jobs.services import Services
from listener.collector import CampaignQuery, Collector
from listener.errors import AuthFailed, RateLimited, SourceUnavailable
from listener.registry import build_collectors
from listener.session import make_session
from storage.repositories import sources as sources_repo
from storage.repositories._sql import utcnow
from storage.repositories.ingest import CheckpointUpdate, IngestCounts, ingest, load_checkpoint
from storage.repositories.quarantine import quarantine

log = logging.getLogger(__name__)


@dataclass
class SourceResult:
    source: str
    status: str = "ok"  # ok, rate_limited, degraded, failed, skipped
    detail: str | None = None
    pages: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    quarantined: int = 0
    rate_limited_until: datetime | None = None
    new_post_ids: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "status": self.status,
            "detail": self.detail,
            "pages": self.pages,
            "new": self.new,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "quarantined": self.quarantined,
            "rate_limited_until": self.rate_limited_until.isoformat() if self.rate_limited_until else None,
        }


async def collect_source(services: Services, collector: Collector) -> SourceResult:
    result = SourceResult(collector.name)
    now = utcnow()
    async with services.sessions.begin() as session:
        source = await sources_repo.get_or_create(session, collector.name, collector.platform.value)
        source_id, waiting_until = source.id, source.rate_limited_until
    if waiting_until is not None and waiting_until > now:
        result.status, result.rate_limited_until = "skipped", waiting_until
        result.detail = f"rate limited until {waiting_until:%Y-%m-%d %H:%M:%S} UTC"
        return result
    problems: list[str] = []
    try:
        for slug, campaign in services.settings.campaigns.items():
            campaign_id = services.campaign_ids[slug]
            query = CampaignQuery.of(slug, campaign)
            for key in collector.query_keys(query):
                try:
                    await _collect_stream(services, collector, query, key, source_id, campaign_id, result)
                except SourceUnavailable as exc:
                    problems.append(str(exc))
                    log.warning("%s", exc)
    except RateLimited as exc:
        result.status, result.rate_limited_until, result.detail = "rate_limited", exc.reset_at, str(exc)
    except AuthFailed as exc:
        result.status, result.detail = "failed", str(exc)
        log.error("%s", exc)
    if problems and result.status == "ok":
        result.status, result.detail = "degraded", "; ".join(problems)[:2000]
    async with services.sessions.begin() as session:
        await sources_repo.record_run(
            session,
            source_id,
            status=result.status,
            detail=result.detail,
            new_posts=result.new,
            finished_at=utcnow(),
            rate_limited_until=result.rate_limited_until,
        )
    return result


async def _collect_stream(
    services: Services,
    collector: Collector,
    query: CampaignQuery,
    key: str,
    source_id: int,
    campaign_id: int,
    result: SourceResult,
) -> None:
    async with services.sessions() as session:
        checkpoint = await load_checkpoint(session, source_id, campaign_id, key)
    async for page in collector.pages(query, key, checkpoint):
        async with services.sessions.begin() as session:
            counts: IngestCounts = await ingest(
                session,
                page.posts,
                campaign_ids=[campaign_id],
                checkpoint=CheckpointUpdate(source_id, campaign_id, key, page.checkpoint),
            )
            bad: list[tuple[Any, str]] = [(r.item, r.error) for r in page.rejected]
            bad.extend((payload, error) for payload, error in page.unreadable)
            result.quarantined += await quarantine(session, collector.name, collector.platform.value, bad)
        result.pages += 1
        result.new += counts.new
        result.updated += counts.updated
        result.unchanged += counts.unchanged
        result.new_post_ids.extend(counts.new_ids)
        if page.unreadable:
            raise SourceUnavailable(f"{collector.name}: an unreadable page was quarantined; the stream resumes there")


async def collect(
    services: Services, only: str | None = None, collectors: Sequence[Collector] | None = None
) -> list[SourceResult]:
    """Run every ready source once (or `only` that one). Sources run one after another: politeness
    over speed, and SQLite has one writer."""
    if collectors is not None:
        return [await collect_source(services, c) for c in collectors]
    async with make_session(services.settings.sources) as http:
        return [await collect_source(services, c) for c in build_collectors(services.settings, http, only)]


async def run(services: Services) -> dict[str, Any]:
    """The scheduled form: counts for the job history."""
    results = await collect(services)
    return {"sources": [r.as_dict() for r in results]}
