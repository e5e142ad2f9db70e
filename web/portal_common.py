"""What the merchant portal's pages and its JSON API share: the merchant's scope from the URL, the filters
(period, platform, sentiment, language), the dashboard's data, and the JSON shapes.

Scope: the merchant id in the URL is checked against the merchants the signed-in account is bound to; any
other id (another merchant's, or none) is answered "not found", the same answer as a mention or story id
outside the scope, so nothing confirms what exists elsewhere. Every read goes through
storage.repositories.merchant_mentions with that scope.

Authors: a merchant sees a private person's handle as a pseudonym (storage.pseudonyms) and no display name,
unless the author granted rights on a story or the account is a registered merchant handle.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from aiohttp import web
from multidict import MultiMapping

from jobs.services import Services
from storage.pseudonyms import shown_handle
from storage.repositories import merchant_mentions as mm
from storage.repositories._sql import utcnow
from storage.repositories.feed import public_url
from web.auth import request_translator
from web.charts import Bucket, buckets
from web.page_tools import signed_in
from web.params import PLATFORMS, SENTIMENTS, bad, paging, parse_id, text_param
from web.story_json import iso

PERIODS = (7, 30, 90, 365)
DEFAULT_DAYS = 30
MAX_DAYS = 731
PAGE_SIZE = 25
_LANGUAGE = re.compile(r"[a-z]{2,3}")


@dataclass(frozen=True)
class Period:
    first: date  # UTC days, inclusive
    last: date

    @property
    def since(self) -> datetime:
        return datetime.combine(self.first, time(), UTC)

    @property
    def until(self) -> datetime:
        return datetime.combine(self.last + timedelta(days=1), time(), UTC)

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1


@dataclass(frozen=True)
class Query:
    filters: mm.MentionFilters
    period: Period
    limit: int
    offset: int
    form: dict[str, str]  # the filters as given, to fill the form again


def not_found(request: web.Request, what: str = "portal.not_found") -> web.HTTPNotFound:
    return web.HTTPNotFound(text=request_translator(request)(what))


def merchant_scope(request: web.Request) -> tuple[mm.Scope, int]:
    """The signed-in merchant user's scope for the merchant named in the URL; 404 for any other."""
    merchant_id = parse_id(request.match_info["merchant_id"], "merchant id")
    try:
        return mm.Scope.of(signed_in(request).merchant_ids, merchant_id), merchant_id
    except mm.OutOfScope:
        raise not_found(request) from None


def _day(value: str | None, name: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise bad(f"{name} must be a date (YYYY-MM-DD), got {value[:40]!r}") from None


def parse_query(params: MultiMapping[str], today: date | None = None) -> Query:
    """Period (`days` = 7, 30, 90 or 365 back from today, or `from`/`to` dates, UTC, inclusive), platform,
    sentiment, language and paging; 400 naming the field on a bad value."""
    today = today or utcnow().date()
    days_text = text_param(params, "days")
    first, last = _day(text_param(params, "from"), "from"), _day(text_param(params, "to"), "to")
    if days_text is not None and first is None and last is None:
        if days_text not in {str(d) for d in PERIODS}:
            raise bad(f"days must be one of {', '.join(map(str, PERIODS))}, got {days_text[:20]!r}")
        first, last = today - timedelta(days=int(days_text) - 1), today
    last = last or today
    first = first or last - timedelta(days=DEFAULT_DAYS - 1)
    if last < first:
        raise bad("to must be on or after from")
    if (last - first).days + 1 > MAX_DAYS:
        raise bad(f"the period is at most {MAX_DAYS} days")
    if first.year < 1970 or last.year > 2200:
        raise bad("the period must lie between 1970 and 2200")
    platform = text_param(params, "platform")
    if platform is not None and platform not in PLATFORMS:
        raise bad(f"platform must be one of: {', '.join(PLATFORMS)}")
    sentiment = text_param(params, "sentiment")
    if sentiment is not None and sentiment not in SENTIMENTS:
        raise bad(f"sentiment must be one of: {', '.join(SENTIMENTS)}")
    language = text_param(params, "language")
    if language is not None and not _LANGUAGE.fullmatch(language):
        raise bad("language must be a language code such as fr, en or ar")
    limit, offset = paging(params, default_limit=PAGE_SIZE)
    period = Period(first, last)
    filters = mm.MentionFilters(period.since, period.until, platform, sentiment, language)
    form = {
        "from": first.isoformat(),
        "to": last.isoformat(),
        "platform": platform or "",
        "sentiment": sentiment or "",
        "language": language or "",
    }
    return Query(filters, period, limit, offset, form)


@dataclass(frozen=True)
class Dashboard:
    rows: list[mm.MentionRow]
    total: int
    buckets: list[Bucket]
    reach: mm.Reach


async def dashboard(services: Services, scope: mm.Scope, query: Query) -> Dashboard:
    async with services.sessions() as session:
        rows, total = await mm.mention_page(session, scope, query.filters, limit=query.limit, offset=query.offset)
        timeline = await mm.timeline_rows(session, scope, query.filters)
        reach = await mm.reach(session, scope, query.filters)
    return Dashboard(rows, total, buckets(timeline, query.period.first, query.period.last), reach)


# --- how merchants see authors ---------------------------------------------------------------------------


def author_of(row: mm.MentionRow, key: bytes) -> tuple[str, str | None]:
    """(the handle as the merchant sees it, the display name or None when the author is private)."""
    handle = shown_handle(row.author_handle, row.platform, row.author_platform_id, public=row.public_author, key=key)
    return handle, (row.author_name or None) if row.public_author else None


# --- JSON ------------------------------------------------------------------------------------------------


def mention_json(row: mm.MentionRow, key: bytes) -> dict[str, Any]:
    handle, name = author_of(row, key)
    return {
        "id": row.mention_id,
        "merchant_id": row.merchant_id,
        "post": {
            "id": row.post_id,
            "url": public_url(row.url),
            "platform": row.platform,
            "created_at": iso(row.created_at),
            "text": row.text,
            "language": row.language,
            "sentiment": row.sentiment,
            "sentiment_score": round(row.sentiment_score, 3),
            "engagement": {"likes": row.likes, "reposts": row.reposts, "replies": row.replies, "views": row.views},
        },
        "author": {"handle": handle, "name": name, "followers": row.followers},
        "link": {"method": row.method, "text": row.surface, "score": round(row.score, 3)},
        "flagged": row.flagged,
    }


def bucket_json(bucket: Bucket) -> dict[str, Any]:
    average = bucket.average
    return {
        "start": bucket.start.isoformat(),
        "end": bucket.end.isoformat(),
        "mentions": bucket.total,
        "positive": bucket.positive,
        "neutral": bucket.neutral,
        "negative": bucket.negative,
        "average_sentiment": None if average is None else round(average, 3),
    }


def reach_json(reach: mm.Reach) -> dict[str, int]:
    return {
        "mentions": reach.mentions,
        "posts": reach.posts,
        "authors": reach.authors,
        "followers": reach.followers,
        "views": reach.views,
        "engagement": reach.engagement,
    }


def story_json(story: mm.FeaturedStory) -> dict[str, Any]:
    return {
        "id": story.story_id,
        "campaign": story.campaign,
        "state": story.state,
        "text": story.text,
        "url": public_url(story.url),
        "platform": story.platform,
        "public_name": story.public_name,
        "featured_from": iso(story.featured_from),
        "featured_until": iso(story.featured_until),
        "takedown_requested": story.takedown_pending,
    }


def period_json(period: Period) -> dict[str, Any]:
    return {
        "from": period.first.isoformat(),
        "to": period.last.isoformat(),
        "by": "week" if period.days > 92 else "day",
    }


def merchant_id_param(request: web.Request, name: str) -> int:
    return parse_id(request.match_info[name], name.replace("_", " "))
