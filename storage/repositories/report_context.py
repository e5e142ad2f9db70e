"""The weekly report's context, read directly from the tables (small results, no temporary table): the
previous week's mentions per merchant (risers, spikes), the stories featured during the week, which authors
may be shown by name, and what coverage needs (collection runs from the job history, quarantined payloads).
The week's posts themselves are aggregated by report_data.py.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.ext.asyncio import AsyncSession

from storage.repositories.report_data import aware, times

COLLECT_JOBS = "collect"  # the whole collect job; "collect:<source>" are the scheduler's per-source jobs


@dataclass(frozen=True)
class StoryRow:
    story_id: int
    state: str
    public_name: str | None
    featured_from: datetime
    featured_until: datetime | None
    platform: str
    language: str
    post_platform_id: str
    url: str | None
    text: str
    author_id: int
    author_platform_id: str
    handle: str
    merchant: str | None


@dataclass(frozen=True)
class RunRow:
    """One collection run as the job history recorded it (`detail["sources"]`: one result per source)."""

    job: str
    started_at: datetime
    finished_at: datetime | None
    status: str
    detail: dict[str, Any]


async def merchant_mentions(
    session: AsyncSession, campaign_id: int, start: datetime, end: datetime
) -> dict[int, tuple[int, int]]:
    """merchant id -> (posts, negative posts) over [start, end): the previous week, for risers and spikes."""
    query = times(
        text(
            "SELECT me.merchant_id, count(DISTINCT p.id), "
            "count(DISTINCT CASE WHEN an.sentiment = 'negative' THEN p.id END) "
            # posts first (SQLite keeps the written join order with CROSS JOIN): the week's index range.
            "FROM posts p CROSS JOIN post_campaigns pc JOIN mentions me ON me.post_id = p.id "
            "LEFT JOIN analyses an ON an.post_id = p.id WHERE pc.post_id = p.id "
            "AND pc.campaign_id = :campaign AND p.created_at >= :start AND p.created_at < :end "
            "AND me.merchant_id IS NOT NULL GROUP BY me.merchant_id"
        ),
        "start",
        "end",
    )
    rows = await session.execute(query, {"campaign": campaign_id, "start": start, "end": end})
    return {int(m): (int(n), int(neg)) for m, n, neg in rows.all()}


async def featured_count(session: AsyncSession, campaign_id: int, start: datetime, end: datetime) -> int:
    query = times(
        text(
            "SELECT count(*) FROM stories s WHERE s.campaign_id = :campaign AND s.featured_from IS NOT NULL "
            "AND s.featured_from < :end AND (s.featured_until IS NULL OR s.featured_until > :start)"
        ),
        "start",
        "end",
    )
    return int((await session.execute(query, {"campaign": campaign_id, "start": start, "end": end})).scalar_one())


async def featured_stories(
    session: AsyncSession, campaign_id: int, start: datetime, end: datetime, limit: int
) -> list[StoryRow]:
    """Stories of the campaign whose feature window overlaps the week (the first `limit`, by start)."""
    query = times(
        text(
            "SELECT s.id, s.state, s.public_name, s.featured_from, s.featured_until, s.platform, s.language, "
            "p.platform_id, p.url, p.text, au.id, au.platform_id, au.handle, m.name "
            "FROM stories s JOIN posts p ON p.id = s.post_id JOIN authors au ON au.id = s.author_id "
            "LEFT JOIN merchants m ON m.id = s.merchant_id "
            "WHERE s.campaign_id = :campaign AND s.featured_from IS NOT NULL AND s.featured_from < :end "
            "AND (s.featured_until IS NULL OR s.featured_until > :start) ORDER BY s.featured_from, s.id LIMIT :limit"
        ),
        "start",
        "end",
    )
    rows = await session.execute(query, {"campaign": campaign_id, "start": start, "end": end, "limit": limit})
    out = []
    for row in rows.all():
        values = list(row)
        values[3] = aware(values[3])
        values[4] = aware(values[4]) if values[4] is not None else None
        out.append(StoryRow(*values))
    return out


async def public_authors(session: AsyncSession, author_ids: Sequence[int]) -> set[int]:
    """Of `author_ids`, the authors whose handle may be shown in exports: rights granted on one of their
    stories, or the account is a registered merchant's own handle."""
    if not author_ids:
        return set()
    ids = sorted(set(author_ids))
    granted = await session.execute(
        text(
            "SELECT DISTINCT s.author_id FROM stories s JOIN rights_requests r ON r.story_id = s.id "
            "WHERE r.status = 'granted' AND s.author_id IN :ids"
        ).bindparams(bindparam("ids", expanding=True)),
        {"ids": ids},
    )
    merchants = await session.execute(
        text(
            "SELECT au.id FROM authors au JOIN merchant_handles mh "
            "ON mh.platform = au.platform AND mh.handle = lower(au.handle) WHERE au.id IN :ids"
        ).bindparams(bindparam("ids", expanding=True)),
        {"ids": ids},
    )
    return {int(i) for (i,) in granted.all()} | {int(i) for (i,) in merchants.all()}


async def collection_runs(session: AsyncSession, since: datetime, until: datetime) -> list[RunRow]:
    """Collection runs started in [since, until) (the job history: `collect` and `collect:<source>`)."""
    query = times(
        text(
            "SELECT job, started_at, finished_at, status, detail FROM job_runs "
            # A range rather than LIKE: both branches read the (job, started_at) index.
            "WHERE (job = :whole OR (job > :each_from AND job < :each_to)) "
            "AND started_at >= :since AND started_at < :until "
            "ORDER BY started_at, id"
        ),
        "since",
        "until",
    )
    params = {"whole": COLLECT_JOBS, "each_from": f"{COLLECT_JOBS}:", "each_to": f"{COLLECT_JOBS};", "since": since}
    params["until"] = until
    rows = await session.execute(query, params)
    out = []
    for job, started, finished, status, detail in rows.all():
        if isinstance(detail, str):  # SQLite through text(): the JSON column comes back as text
            detail = json.loads(detail)
        out.append(
            RunRow(
                str(job),
                aware(started),
                aware(finished) if finished is not None else None,
                str(status),
                detail if isinstance(detail, dict) else {},
            )
        )
    return out


async def quarantined(session: AsyncSession, start: datetime, end: datetime) -> dict[str, int]:
    """Payloads quarantined during the week, per source."""
    query = times(
        text(
            "SELECT source, count(*) FROM quarantine WHERE received_at >= :start AND received_at < :end GROUP BY source"
        ),
        "start",
        "end",
    )
    rows = await session.execute(query, {"start": start, "end": end})
    return {str(source): int(n) for source, n in rows.all()}
