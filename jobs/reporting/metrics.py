"""The report's figures, computed from the grouped rows of `storage.repositories.report_data` (pure).

Every figure follows the definitions of `jobs.reporting.definitions` (version `DEFINITIONS_VERSION`): read them
there; this module is their arithmetic. Unknown is never 0: a figure that cannot be computed (no follower
count known, no view reported, nothing to divide by) is None, shown as "unknown" or "—", and the number of
posts or authors it lacks is always given beside it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

from storage.repositories.report_data import GroupRow, MerchantRow, ReachRow, WeekRows

KINDS = ("original", "repost", "reply", "quote")
SENTIMENTS = ("positive", "neutral", "negative")
ENGAGEMENT_PARTS = ("likes", "reposts", "replies", "quotes")
NOT_ANALYSED = ""  # the language / sentiment key of posts without an analysis yet

# The headline figures, in the order reports show them; week-over-week change is given for each.
HEADLINE = (
    "posts",
    "original_posts",
    "repost_posts",
    "reply_posts",
    "quote_posts",
    "unique_authors",
    "new_authors",
    "unidentified_posts",
    "potential_reach",
    "authors_unknown_followers",
    "summed_potential_impressions",
    "posts_unknown_followers",
    "impressions",
    "impressions_posts",
    "impressions_share",
    "engagements",
    "likes",
    "reposts",
    "replies",
    "quotes",
    "engagement_posts",
    "engagement_per_post",
    "engagement_rate",
    "positive",
    "neutral",
    "negative",
    "not_analysed",
    "net_sentiment",
)
# Shares and rates: their change is given in points, not in percent of themselves.
RATIOS = frozenset({"impressions_share", "engagement_rate", "net_sentiment", "engagement_per_post"})


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or not denominator:
        return None
    return numerator / denominator


def net_sentiment(positive: int, negative: int) -> float | None:
    """(positive − negative) ÷ (positive + negative); None when the week has neither."""
    return ratio(positive - negative, positive + negative)


@dataclass
class Sums:
    """GroupRow figures added up over any selection of cells."""

    posts: int = 0
    unidentified: int = 0
    followers_sum: int = 0
    followers_known: int = 0
    engagement_posts: int = 0
    likes: int = 0
    reposts: int = 0
    replies: int = 0
    quotes: int = 0
    views_posts: int = 0
    views: int = 0

    def add(self, row: GroupRow) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(row, f.name))

    @property
    def engagements(self) -> int:
        return self.likes + self.reposts + self.replies + self.quotes


def _sum(rows: Iterable[GroupRow]) -> Sums:
    total = Sums()
    for row in rows:
        total.add(row)
    return total


def _reach(row: ReachRow | None) -> dict[str, Any]:
    """Unique authors and potential reach of a slice; reach is None when no author's followers are known."""
    if row is None:
        return {"unique_authors": 0, "potential_reach": 0, "authors_unknown_followers": 0}
    known = row.followers_known
    return {
        "unique_authors": row.authors,
        "potential_reach": row.followers_sum if known or not row.authors else None,
        "authors_unknown_followers": row.authors - known,
    }


def _engagement(sums: Sums, reach: int | None) -> dict[str, Any]:
    has = sums.engagement_posts > 0
    return {
        "engagements": sums.engagements if has else None,
        "likes": sums.likes if has else None,
        "reposts": sums.reposts if has else None,
        "replies": sums.replies if has else None,
        "quotes": sums.quotes if has else None,
        "engagement_posts": sums.engagement_posts,
        "engagement_per_post": ratio(sums.engagements, sums.engagement_posts),
        "engagement_rate": ratio(sums.engagements if has else None, reach),
    }


def _sentiment(rows: Sequence[GroupRow]) -> dict[str, Any]:
    counts = dict.fromkeys(SENTIMENTS, 0)
    not_analysed = 0
    for row in rows:
        if row.sentiment in counts:
            counts[row.sentiment] += row.posts
        else:
            not_analysed += row.posts
    return {
        **counts,
        "not_analysed": not_analysed,
        "net_sentiment": net_sentiment(counts["positive"], counts["negative"]),
    }


def _impressions(sums: Sums) -> dict[str, Any]:
    return {
        "summed_potential_impressions": sums.followers_sum if sums.followers_known or not sums.posts else None,
        "posts_unknown_followers": sums.posts - sums.followers_known,
        "impressions": sums.views if sums.views_posts else None,
        "impressions_posts": sums.views_posts,
        "impressions_share": ratio(sums.views_posts, sums.posts),
    }


def _kinds(rows: Sequence[GroupRow]) -> dict[str, int]:
    counts = {f"{kind}_posts": 0 for kind in KINDS}
    for row in rows:
        key = f"{row.kind}_posts"
        if key in counts:
            counts[key] += row.posts
    return counts


def headline(rows: WeekRows) -> dict[str, Any]:
    sums = _sum(rows.groups)
    reach = _reach(rows.reach["all"][0] if rows.reach.get("all") else None)
    figures: dict[str, Any] = {
        "posts": sums.posts,
        **_kinds(rows.groups),
        "unique_authors": reach["unique_authors"],
        "new_authors": sum(rows.new_authors.values()),
        "unidentified_posts": sums.unidentified,
        "potential_reach": reach["potential_reach"],
        "authors_unknown_followers": reach["authors_unknown_followers"],
        **_impressions(sums),
        **_engagement(sums, reach["potential_reach"]),
        **_sentiment(rows.groups),
    }
    return {key: figures[key] for key in HEADLINE}


def _slices(rows: WeekRows, attribute: str, scope: str) -> list[tuple[Any, list[GroupRow], ReachRow | None]]:
    cells: dict[Any, list[GroupRow]] = {}
    for row in rows.groups:
        key = getattr(row, attribute)
        cells.setdefault(NOT_ANALYSED if key is None else key, []).append(row)
    reach = {r.key: r for r in rows.reach.get(scope, [])}
    return [(key, group, reach.get(str(key))) for key, group in cells.items()]


def platform_table(rows: WeekRows) -> list[dict[str, Any]]:
    table = []
    for platform, group, reach_row in _slices(rows, "platform", "platform"):
        sums = _sum(group)
        reach = _reach(reach_row)
        table.append(
            {
                "platform": platform,
                "posts": sums.posts,
                **_kinds(group),
                **reach,
                "new_authors": rows.new_authors.get(platform, 0),
                **_impressions(sums),
                **_engagement(sums, reach["potential_reach"]),
            }
        )
    return sorted(table, key=lambda r: (-r["posts"], r["platform"]))


def language_table(rows: WeekRows) -> list[dict[str, Any]]:
    table = []
    for language, group, reach_row in _slices(rows, "language", "language"):
        sums = _sum(group)
        reach = _reach(reach_row)
        table.append(
            {
                "language": language,
                "posts": sums.posts,
                **reach,
                **_sentiment(group),
                "engagements": sums.engagements if sums.engagement_posts else None,
            }
        )
    return sorted(table, key=lambda r: (-r["posts"], r["language"]))


def day_table(rows: WeekRows, dates: Sequence[str]) -> list[dict[str, Any]]:
    """One row per local day of the week (all seven, empty days included)."""
    by_day = {key: (group, reach) for key, group, reach in _slices(rows, "day", "day")}
    table = []
    for index, day in enumerate(dates):
        group, reach_row = by_day.get(index, ([], None))
        sums = _sum(group)
        reach = _reach(reach_row)
        table.append(
            {
                "date": day,
                "posts": sums.posts,
                **reach,
                "summed_potential_impressions": _impressions(sums)["summed_potential_impressions"],
                "engagements": sums.engagements if sums.engagement_posts else None,
                **_sentiment(group),
            }
        )
    return table


def changes(current: Mapping[str, Any], previous: Mapping[str, Any] | None) -> dict[str, dict[str, Any]]:
    """Week-over-week change of every headline figure: the previous value, the difference, and the change in
    percent (None when either value is unknown or the previous one is 0; ratios change in points only)."""
    out: dict[str, dict[str, Any]] = {}
    for key in HEADLINE:
        now = current.get(key)
        before = None if previous is None else previous.get(key)
        diff = now - before if isinstance(now, int | float) and isinstance(before, int | float) else None
        percent = None if key in RATIOS or diff is None or not before else diff / before
        out[key] = {"previous": before, "difference": diff, "percent": percent}
    return out


# --- merchants --------------------------------------------------------------------------------------------

RISER_MIN_POSTS = 3  # a riser needs this many posts this week: 0 → 1 is noise, not a rise
SPIKE_MIN_NEGATIVE = 3  # a negative spike: at least this many negative posts ...
SPIKE_FACTOR = 2  # ... and at least this many times the previous week's


def merchants_section(
    this_week: Sequence[MerchantRow], previous: Mapping[int, tuple[int, int]], top: int
) -> dict[str, list[dict[str, Any]]]:
    rows: list[dict[str, Any]] = []
    for m in this_week:
        before, before_negative = previous.get(m.merchant_id, (0, 0))
        rows.append(
            {
                "merchant_id": m.merchant_id,
                "name": m.name,
                "city": m.city,
                "region": m.region,
                "posts": m.posts,
                "previous_posts": before,
                "change": m.posts - before,
                "unique_authors": m.authors,
                "positive": m.positive,
                "negative": m.negative,
                "previous_negative": before_negative,
                "net_sentiment": net_sentiment(m.positive, m.negative),
            }
        )
    most = sorted(rows, key=lambda r: (-r["posts"], r["name"], r["merchant_id"]))
    risers = sorted(
        (r for r in rows if r["change"] > 0 and r["posts"] >= RISER_MIN_POSTS),
        key=lambda r: (-r["change"], -r["posts"], r["name"], r["merchant_id"]),
    )
    spikes = sorted(
        (
            r
            for r in rows
            if r["negative"] >= SPIKE_MIN_NEGATIVE and r["negative"] >= SPIKE_FACTOR * r["previous_negative"]
        ),
        key=lambda r: (-r["negative"], r["name"], r["merchant_id"]),
    )
    return {"most_mentioned": most[:top], "risers": risers[:top], "negative_spikes": spikes[:top]}


def regions_table(this_week: Sequence[MerchantRow]) -> list[dict[str, Any]]:
    """Posts naming registered merchants, per merchant region and city (a post naming two merchants of a
    city counts for both: these are mentions)."""
    cells: dict[tuple[str, str], dict[str, Any]] = {}
    for m in this_week:
        key = (m.region or "", m.city or "")
        cell = cells.setdefault(key, {"region": key[0], "city": key[1], "merchants": 0, "mentions": 0, "negative": 0})
        cell["merchants"] += 1
        cell["mentions"] += m.posts
        cell["negative"] += m.negative
    return sorted(cells.values(), key=lambda c: (-c["mentions"], c["region"], c["city"]))
