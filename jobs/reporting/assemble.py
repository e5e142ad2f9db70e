"""The stored report: one JSON document per campaign and week, assembled from the repository's rows (pure).

This document is the contract every output reads (HTML, PDF, CSV, JSON, the web page, the e-mail) and what
the `reports` table keeps, so a past week's numbers never change unless it is regenerated. Rows derived from
a post or an author carry `author_key` ("<platform>:<author platform id>") and, for posts, `post_key`
("<platform>:<post platform id>"), so the privacy tooling can find them; handles of private individuals are
stored already pseudonymised (storage.pseudonyms), never in clear.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from jobs.reporting import metrics
from jobs.reporting.definitions import DEFINITIONS_VERSION
from jobs.reporting.weeks import WeekWindow
from storage.repositories.report_context import StoryRow
from storage.repositories.report_data import DiscoveredRow, MerchantRow, PostRow, WeekRows

EXCERPT = 280
UNKNOWN_AUTHOR_PREFIX = "unknown:"

# (platform, author platform id) -> the pseudonym shown for a private individual.
Pseudonym = Callable[[str, str], str]


@dataclass(frozen=True)
class CampaignInfo:
    slug: str
    name: str
    timezone: str
    region: str = ""


@dataclass(frozen=True)
class WeekMaterial:
    """Everything read from the database for one week."""

    rows: WeekRows
    merchants: Sequence[MerchantRow]
    previous_mentions: Mapping[int, tuple[int, int]]
    discovered: Sequence[DiscoveredRow]
    stories: Sequence[StoryRow]
    stories_total: int
    top_posts: Sequence[PostRow]
    public_authors: set[int]
    coverage: dict[str, Any]


def excerpt(text: str, limit: int = EXCERPT) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def shown_author(
    platform: str, author_id: int, author_platform_id: str, handle: str, public: set[int], pseudonym: Pseudonym
) -> tuple[str | None, bool]:
    """The handle a report shows for an author, and whether it is the real one."""
    if author_platform_id.startswith(UNKNOWN_AUTHOR_PREFIX):
        return None, False  # the platform did not say who posted
    if author_id in public:
        return handle, True
    return pseudonym(platform, author_platform_id), False


def shown_link(url: str | None, public: bool) -> str | None:
    """A post's link for a public author only (a private individual's link leads straight to their account),
    and only a web address: an imported file could carry `javascript:` or worse."""
    if not public or url is None or not url.lower().startswith(("https://", "http://")):
        return None
    return url


def _local(moment: datetime | None, tz: ZoneInfo) -> str | None:
    return None if moment is None else moment.astimezone(tz).isoformat(timespec="minutes")


def _post(row: PostRow, public: set[int], pseudonym: Pseudonym, tz: ZoneInfo) -> dict[str, Any]:
    handle, is_public = shown_author(row.platform, row.author_id, row.author_platform_id, row.handle, public, pseudonym)
    return {
        "post_key": f"{row.platform}:{row.platform_id}",
        "author_key": f"{row.platform}:{row.author_platform_id}",
        "handle": handle,
        "public_author": is_public,
        "platform": row.platform,
        "kind": row.kind,
        "created_at": _local(row.created_at, tz),
        "language": row.language,
        "sentiment": row.sentiment,
        "followers": row.followers,
        "engagements": row.engagements,
        "likes": row.likes,
        "reposts": row.reposts,
        "replies": row.replies,
        "quotes": row.quotes,
        "views": row.views,
        "url": shown_link(row.url, is_public),
        "text": excerpt(row.text),
    }


def _story(row: StoryRow, public: set[int], pseudonym: Pseudonym, tz: ZoneInfo) -> dict[str, Any]:
    handle, is_public = shown_author(row.platform, row.author_id, row.author_platform_id, row.handle, public, pseudonym)
    return {
        "story_id": row.story_id,
        "post_key": f"{row.platform}:{row.post_platform_id}",
        "author_key": f"{row.platform}:{row.author_platform_id}",
        # Featured stories had rights granted: the name the author chose to be shown under comes first.
        "shown_name": row.public_name or handle,
        "handle": handle,
        "public_author": is_public,
        "platform": row.platform,
        "language": row.language,
        "state": row.state,
        "merchant": row.merchant,
        "featured_from": _local(row.featured_from, tz),
        "featured_until": _local(row.featured_until, tz),
        "url": shown_link(row.url, is_public),
        "text": excerpt(row.text),
    }


def _discovered(row: DiscoveredRow, tz: ZoneInfo) -> dict[str, Any]:
    return {
        "discovered_id": row.discovered_id,
        "name": row.name,
        "first_seen_at": _local(row.first_seen_at, tz),
        "status": row.status,
        "posts": row.posts,
    }


def assemble(
    campaign: CampaignInfo,
    window: WeekWindow,
    material: WeekMaterial,
    *,
    previous: Mapping[str, Any] | None,
    previous_week: str,
    pseudonym: Pseudonym,
    generated_at: datetime,
    top: int,
) -> dict[str, Any]:
    """The report document. `previous`: the previous week's headline (same definitions), or None."""
    tz = ZoneInfo(campaign.timezone)
    rows = material.rows
    headline = metrics.headline(rows)
    dates = [day.isoformat() for day in window.week.days()]
    public = material.public_authors
    return {
        "campaign": {
            "slug": campaign.slug,
            "name": campaign.name,
            "timezone": campaign.timezone,
            "region": campaign.region,
        },
        "week": str(window.week),
        "start": window.start.isoformat(),
        "end": window.end.isoformat(),
        "start_local": _local(window.start, tz),
        "end_local": _local(window.end, tz),
        "hours": round(window.hours, 2),
        "dates": dates,
        "definitions_version": DEFINITIONS_VERSION,
        "generated_at": generated_at.isoformat(timespec="seconds"),
        "headline": headline,
        "previous_week": previous_week,
        "previous_available": previous is not None,
        "changes": metrics.changes(headline, previous),
        "days": metrics.day_table(rows, dates),
        "platforms": metrics.platform_table(rows),
        "languages": metrics.language_table(rows),
        "regions": metrics.regions_table(material.merchants),
        "merchants": {
            **metrics.merchants_section(material.merchants, material.previous_mentions, top),
            "newly_discovered": [
                _discovered(d, tz) for d in sorted(material.discovered, key=lambda d: (-d.posts, d.name))[:top]
            ],
        },
        "stories": [_story(s, public, pseudonym, tz) for s in material.stories],
        "stories_total": material.stories_total,
        "top_posts": [_post(p, public, pseudonym, tz) for p in material.top_posts],
        "coverage": material.coverage,
    }
