"""The synthetic campaign corpus of `listener bench generate` (issue 9): realistic rows for every table the
service reads, deterministic by seed, cheap enough to make 1,000,000 posts in a few minutes.

Pure: configuration in, row tuples out (in the column order of `COLUMNS`, with values already in the driver's
representation given by a `DriverValues`, so the loader writes them without touching them). `bench.load`
writes them into a database.

What a corpus holds, and why it looks like real traffic:

- posts on x, mastodon, bluesky and instagram over the last `weeks` weeks before `now` (more in the
  evening and at weekends, growing over the campaign, a few spike days), in French, Arabic and English from
  `bench.vocabulary`'s templates: first-hand experiences, recommendations, complaints, questions, news, spam;
- merchants named in them by name, alias, handle, hashtag, website or a misspelling, from a generated
  registry (`bench.population`), plus businesses the registry lacks (discovered);
- authors with log-normal follower counts (some unknown), Zipf-distributed activity; Instagram posts have
  no known author, as the hashtag API gives none;
- engagement with long tails (a few viral posts), snapshots as the refresh job takes them;
- reposts (X retweets, Mastodon boosts), replies and quotes pointing at earlier posts, chains included;
- an analysis per post (language, sentiment, story signals, fingerprint) as `jobs.analyse.record` stores
  it, with its mentions; story candidates for the best ~20 % of posts in every state of the queue, with
  their transitions and rights requests; collection sources with a run every 15 minutes (one source
  rate-limited for a few hours each week) and a few quarantined payloads, for the reports' coverage.

Determinism: one `random.Random` seeded from the seed (and, when appending, the first post id) drives
everything in a fixed order; timestamps come from `now`, never from the clock. Same inputs, same rows.
"""

from __future__ import annotations

import math
import random
from bisect import bisect
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bench import vocabulary as v
from bench.authors import Authors, author_language
from bench.coverage import source_rows
from bench.platforms import REPORTED, address, instagram_media_id, language_hint, raw_payload
from bench.population import FRANCE, MENA, Registry, Row, Shop, Tables, Taken
from bench.stories import Stories, StoryPost
from bench.texts import Content, Writer, shifted
from storage.repositories._bulk import DriverValues
from storage.repositories.ingest import AUTHOR_COLUMNS, POST_COLUMNS

# Monday 2026-11-23 00:00 in Paris and in Casablanca: the default window is whole ISO weeks in both campaigns'
# time zones (weeks 2026-W45..W47 with the default three weeks).
FIXED_NOW = datetime(2026, 11, 22, 23, 0, tzinfo=UTC)
PIPELINE_VERSION = "synthetic;bench-generate-1"

COLUMNS: dict[str, tuple[str, ...]] = {
    "sources": (
        "id", "name", "platform", "status", "status_detail", "rate_limited_until", "last_run_at",
        "last_success_at", "last_new_posts",
    ),
    "merchants": (
        "id", "key", "name", "website", "address", "postcode", "city", "region", "category", "phone", "status",
        "feature_opt_out", "created_at", "updated_at",
    ),
    "merchant_aliases": ("merchant_id", "alias", "normalized", "blocked"),
    "merchant_handles": ("merchant_id", "platform", "handle"),
    "discovered_businesses": (
        "id", "normalized", "display_name", "status", "merchant_id", "first_seen_at", "mention_count",
    ),
    "job_runs": ("job", "dedup_key", "status", "started_at", "finished_at", "detail", "error"),
    "quarantine": ("source", "platform", "payload", "error", "received_at", "resolved_at"),
    "authors": ("id", *AUTHOR_COLUMNS),
    "posts": ("id", *POST_COLUMNS, "analysed_at"),
    "post_campaigns": ("post_id", "campaign_id", "matched_at"),
    "engagement_snapshots": ("post_id", "taken_at", "likes", "reposts", "replies", "quotes", "views"),
    "analyses": (
        "post_id", "language", "language_confidence", "sentiment", "sentiment_score", "signals",
        "pipeline_version", "analysed_at",
    ),
    "mentions": ("post_id", "merchant_id", "discovered_id", "surface", "method", "score", "span_start", "span_end"),
    "stories": (
        "id", "post_id", "campaign_id", "merchant_id", "original_story_id", "state", "score", "score_breakdown",
        "platform", "language", "sentiment", "author_id", "post_created_at", "public_name", "featured_from",
        "featured_until", "created_at", "updated_at",
    ),
    "story_transitions": ("story_id", "from_state", "to_state", "actor_user_id", "reason", "at"),
    "rights_requests": (
        "story_id", "requested_by", "requested_at", "expires_at", "message", "consent_hashtag", "status",
        "evidence_post_id", "granted_at",
    ),
}  # fmt: skip
SETUP_TABLES = (
    "sources", "merchants", "merchant_aliases", "merchant_handles", "discovered_businesses", "job_runs", "quarantine",
)  # fmt: skip
# Parents before children: the loader writes a batch's tables in this order.
BATCH_TABLES = (
    "authors", "posts", "post_campaigns", "engagement_snapshots", "analyses", "mentions", "stories",
    "story_transitions", "rights_requests",
)  # fmt: skip

_PLATFORMS = ("x", "instagram", "mastodon", "bluesky")
_PLATFORM_CUM = (0.42, 0.62, 0.82, 1.0)
# (repost, reply, quote) shares of each platform's posts; Instagram's hashtag feed has none of them.
_REFERENCES = {"x": (0.08, 0.1, 0.04), "mastodon": (0.22, 0.1, 0.02), "bluesky": (0.0, 0.12, 0.05)}
_KIND_CUM = tuple(math.fsum(w for _, w in v.KINDS[: i + 1]) for i in range(len(v.KINDS)))
# Local hour (UTC+1) activity, Monday first.
_DIURNAL = (
    0.25, 0.12, 0.06, 0.05, 0.05, 0.1, 0.3, 0.6, 0.9, 1.0, 1.0, 1.1,
    1.3, 1.2, 1.0, 0.9, 1.0, 1.1, 1.3, 1.5, 1.6, 1.4, 0.9, 0.5,
)  # fmt: skip
_TARGETS = 4000  # earlier posts kept as repost/reply/quote targets, per platform


@dataclass(frozen=True)
class CampaignSpec:
    """A campaign as the generator needs it (its database id, from `sync_campaigns`)."""

    id: int
    slug: str
    hashtags: tuple[str, ...]
    languages: tuple[str, ...]
    region: str
    consent_hashtag: str | None = None

    @property
    def group(self) -> str:
        return FRANCE if self.region.casefold() == "france" else MENA


@dataclass(frozen=True)
class GeneratorConfig:
    posts: int
    seed: int = 1
    weeks: int = 3
    now: datetime = FIXED_NOW
    merchants: int | None = None  # default: one per 200 posts, 200..10,000
    authors: int | None = None  # known (non-Instagram) authors to draw from; default: one per 5 posts
    batch_size: int = 10_000
    min_score: float = 0.35  # stories.min_score: the stories job's candidate threshold
    all_scored: bool = False  # every campaign post gets a story, as the stories job leaves them (see bench.stories)

    def __post_init__(self) -> None:
        counts = (self.posts, self.weeks, self.batch_size, self.merchant_count, self.author_count)
        if min(counts) < 1:
            raise ValueError("posts, weeks, batch_size, merchants and authors must be at least 1")
        if self.now.tzinfo is None:
            raise ValueError("now must be timezone-aware")

    @property
    def merchant_count(self) -> int:
        return self.merchants if self.merchants is not None else min(10_000, max(200, self.posts // 200))

    @property
    def author_count(self) -> int:
        return self.authors if self.authors is not None else max(100, self.posts // 5)


@dataclass(frozen=True)
class IdBase:
    """The largest ids already used (append mode); new rows take the ids after them."""

    posts: int = 0
    authors: int = 0
    merchants: int = 0
    discovered: int = 0
    stories: int = 0
    sources: int = 0


@dataclass(slots=True)
class _Target:
    """An earlier post that later ones repost, reply to or quote."""

    post_id: int
    platform_id: str
    reply_ref: str  # what a reply's reply_to_id holds (Mastodon: the local status id)
    handle: str
    content: Content
    campaigns: tuple[CampaignSpec, ...]
    analysis: tuple[str, float, str, float, Any]  # language, confidence, sentiment, score, signals (driver JSON)
    spam: float
    fingerprint: str
    stories: dict[int, int]  # campaign id -> the story of this post


class Corpus:
    """One generated corpus: `setup_tables()` first, then `batches()`, then `discovered_updates()`."""

    def __init__(
        self,
        config: GeneratorConfig,
        campaigns: Sequence[CampaignSpec],
        values: DriverValues,
        base: IdBase | None = None,
        taken: Taken | None = None,
    ) -> None:
        if not campaigns:
            raise ValueError("a corpus needs at least one campaign")
        self.config = config
        self.base = base or IdBase()
        self._taken = taken or Taken()
        self._values = values
        self._json = values.json
        self._sqlite = isinstance(values.time(config.now), str)
        self.rng = random.Random(f"{config.seed}:{self.base.posts}")  # noqa: S311 - reproducible, not secret
        self._now = config.now.timestamp()
        self._start = self._now - config.weeks * 7 * 86400
        self._campaigns = {g: [c for c in campaigns if c.group == g] or list(campaigns) for g in (FRANCE, MENA)}
        self.registry = Registry(
            self.rng,
            config.merchant_count,
            max(20, config.merchant_count // 5),
            self.base.merchants + 1,
            self.base.discovered + 1,
            self._taken,
        )
        self.authors = Authors(self.rng, config.author_count, self.base.authors, append=self.base.authors > 0)
        self._hours = self._intensity()
        self._bad_days = self._bad_days_of_merchants()
        self._targets: dict[str, list[_Target]] = {p: [] for p in _PLATFORMS}
        self._cursor: dict[str, int] = dict.fromkeys(_PLATFORMS, 0)
        self._discovered: dict[int, list[Any]] = {}  # id -> [mention count, first seen timestamp]
        self._writer = Writer(self.rng, self.registry, self._json)
        self._stories = Stories(
            self.rng,
            self._now,
            self.base.stories,
            self._t,
            self._json,
            min_score=config.min_score,
            all_scored=config.all_scored,
        )

    # --- time ------------------------------------------------------------------------------------------------

    def _intensity(self) -> list[float]:
        """Cumulative posting intensity per hour of the window."""
        rng = self.rng
        hours = self.config.weeks * 168
        spikes = {rng.randrange(hours // 24) for _ in range(self.config.weeks)}
        weights = []
        for hour in range(hours):
            day = hour // 24
            weight = _DIURNAL[hour % 24] * (1.25 if day % 7 >= 5 else 1.0) * (0.7 + 0.6 * hour / hours)
            weights.append(weight * (2.5 if day in spikes else 1.0))
        return [*_cumulate(weights)]

    def _bad_days_of_merchants(self) -> dict[tuple[str, int], Shop]:
        """(group, day of the window) -> a merchant having a bad day: complaints about it pile up that day, so
        that reports have negative spikes to find (one per group and week, among the often-named shops)."""
        rng = self.rng
        days: dict[tuple[str, int], Shop] = {}
        for group, shops in self.registry.by_group.items():
            popular = shops[: max(1, len(shops) // 20)]
            for week in range(self.config.weeks):
                days[(group, week * 7 + rng.randrange(7))] = rng.choice(popular) if popular else self.registry.shops[0]
        return days

    def _timestamp(self, index: int) -> float:
        """Post `index`'s creation time: posts come in order, spread by the hourly intensity."""
        cumulative = self._hours
        u = (index + self.rng.random()) / self.config.posts * cumulative[-1]
        hour = min(bisect(cumulative, u), len(cumulative) - 1)
        before = cumulative[hour - 1] if hour else 0.0
        fraction = (u - before) / ((cumulative[hour] - before) or 1.0)
        return self._start + (hour + min(fraction, 0.999999)) * 3600.0

    def _t(self, ts: float) -> Any:
        moment = datetime.fromtimestamp(ts, UTC)
        # SQLite's form of our UTC columns (see storage.types.UTCDateTime): naive ISO text, microseconds.
        return moment.isoformat(" ", "microseconds")[:26] if self._sqlite else moment

    # --- setup -------------------------------------------------------------------------------------------------

    def setup_tables(self) -> Tables:
        """Sources and their runs, the merchant registry, discovered businesses: written before the posts."""
        start = datetime.fromtimestamp(self._start, UTC)
        tables: Tables = source_rows(self.rng, self._values, start, self.config.now, self.base.sources, self._taken)
        created = start - timedelta(days=30)
        tables.update(self.registry.merchant_rows(self._values, created))
        tables["discovered_businesses"] = self.registry.discovered_rows(self._values, start)
        return {name: tables[name] for name in SETUP_TABLES}

    def discovered_updates(self) -> list[Row]:
        """(mention_count, first_seen_at, id) of the discovered businesses the posts named."""
        return [(count, self._t(first), key) for key, (count, first) in sorted(self._discovered.items())]

    # --- posts ---------------------------------------------------------------------------------------------------

    def batches(self) -> Iterator[Tables]:
        size = self.config.batch_size
        for first in range(0, self.config.posts, size):
            tables: Tables = {name: [] for name in BATCH_TABLES}
            for index in range(first, min(first + size, self.config.posts)):
                self._post(index, tables)
            yield tables

    def _post(self, index: int, out: Tables) -> None:
        rng = self.rng
        r = rng.random
        post_id = self.base.posts + index + 1
        created = self._timestamp(index)
        platform = _PLATFORMS[bisect(_PLATFORM_CUM, r())]
        collected = min(self._now, created + 60 * (rng.uniform(0.5, 60) if platform == "instagram" else r() * 16))
        authors = self.authors
        # Who posts.
        if platform == "instagram":
            platform_id = instagram_media_id(post_id)
            author_id, row = authors.unknown_row(platform_id, self._t(collected))
            out["authors"].append(row)
            group = FRANCE if r() < 0.4 else MENA
            preferred, handle, followers, display = author_language(rng, group), "", None, ""
            did, verified = "", None
        else:
            who = authors.choose(platform)
            if not authors.db_id[who]:
                out["authors"].append(authors.row(who, self._t(collected)))
            author_id, group, preferred = authors.db_id[who], authors.group[who], authors.language[who]
            handle, followers, display = authors.handle[who], authors.followers[who], authors.display[who]
            did = authors.platform_id(who) if platform == "bluesky" else ""
            verified = authors.verified[who]
        # What it is: an original, or a repost, reply or quote of an earlier post.
        kind = "original"
        target: _Target | None = None
        shares = _REFERENCES.get(platform)
        if shares is not None and self._targets[platform]:
            roll = r()
            if roll < shares[0]:
                kind = "repost"
            elif roll < shares[0] + shares[1]:
                kind = "reply"
            elif roll < shares[0] + shares[1] + shares[2]:
                kind = "quote"
            if kind != "original":
                target = self._target(platform)
        platform_id, url, reply_ref = address(platform, post_id, created, handle, did)
        # The text and what analysis finds in it.
        write = self._writer.compose
        if target is not None and kind == "repost":
            prefix = f"RT @{target.handle}: " if platform == "x" else ""
            content = shifted(target.content, prefix)
            campaigns = target.campaigns
            language, confidence, sentiment, score, signals = target.analysis
            spam, text_fingerprint = target.spam, target.fingerprint
        else:
            if target is not None:
                campaigns = target.campaigns
                language = target.content.language
                shop = target.content.shop
                if kind == "reply":
                    mention = f"@{target.handle} " if target.handle and platform != "bluesky" else ""
                    content = write("reply", language, _tags(campaigns), group, platform, shop, mention)
                else:
                    text_kind = "experience" if r() < 0.6 else "recommendation"
                    content = write(text_kind, language, _tags(campaigns), group, platform, shop, "")
            else:
                campaigns = self._campaigns_for(group, preferred)
                language = preferred if preferred in campaigns[0].languages else campaigns[0].languages[0]
                text_kind = v.KINDS[bisect(_KIND_CUM, r() * _KIND_CUM[-1])][0]
                bad = self._bad_days.get((group, int((created - self._start) // 86400)))
                if bad is not None and r() < 0.15:
                    text_kind, shop = "complaint", bad
                else:
                    shop = None
                content = write(text_kind, language, _tags(campaigns), group, platform, shop, "")
            language, confidence, sentiment, score = self._writer.analysis(content)
            signals = None
        # Media, engagement and its snapshots.
        media: list[dict[str, Any]] = []
        if platform == "instagram":
            media.append({"kind": "image" if r() < 0.8 else "video", "url": f"https://scontent.example/{post_id}.jpg"})
        elif kind != "repost" and r() < 0.3:
            media.append({"kind": "photo", "url": f"https://media.example/{platform}/{post_id}.jpg"})
        metrics = self._metrics(platform, followers, kind, content.text_kind)
        updated = self._snapshots(post_id, collected, created, metrics, out["engagement_snapshots"])
        analysed = min(self._now, collected + rng.uniform(20, 600))
        t_created, t_collected, t_analysed = self._t(created), self._t(collected), self._t(analysed)
        if kind != "repost":
            signals, spam, text_fingerprint = self._writer.signals(content, bool(media))
        # The rows.
        tag = campaigns[0].hashtags[0] if campaigns[0].hashtags else campaigns[0].slug
        hint = language_hint(platform, language, r())
        out["posts"].append(
            (
                post_id,
                platform,
                platform_id,
                author_id,
                url,
                content.text,
                t_created,
                t_collected,
                self._t(updated),
                hint,
                kind,
                self._json(content.hashtags),
                self._json(content.handles),
                self._json(content.urls),
                self._json(media),
                reply_ref_of(target, kind, "reply"),
                reply_ref_of(target, kind, "repost"),
                reply_ref_of(target, kind, "quote"),
                *metrics,
                f"#{tag}",
                self._json(raw_payload(platform, platform_id, content.text, created, hint, metrics)),
                t_analysed,
            )
        )
        for campaign in campaigns:
            out["post_campaigns"].append((post_id, campaign.id, t_collected))
        out["analyses"].append((post_id, language, confidence, sentiment, score, signals, PIPELINE_VERSION, t_analysed))
        for merchant_id, discovered_id, surface, method, link_score, start, end in content.links:
            out["mentions"].append((post_id, merchant_id, discovered_id, surface, method, link_score, start, end))
            if discovered_id is not None:
                seen = self._discovered.setdefault(discovered_id, [0, analysed])
                seen[0] += 1
                seen[1] = min(seen[1], analysed)
        stories: dict[int, int] = {}
        if kind != "repost" or self._stories.all_scored:  # a repost is never a candidate
            story = StoryPost(
                post_id, kind, platform, language, sentiment, score, spam, spam >= 0.5, text_fingerprint, bool(media),
                metrics, author_id, handle, followers, verified, display or (f"@{handle}" if handle else None),
                created, analysed,
            )  # fmt: skip
            for campaign in campaigns:
                original = target.stories.get(campaign.id) if target is not None and kind == "repost" else None
                story_id = self._stories.add(story, content, campaign.id, campaign.consent_hashtag, original, out)
                if story_id is not None:
                    stories[campaign.id] = story_id
        if kind != "repost":
            analysis = (language, confidence, sentiment, score, signals)
            self._remember(
                platform,
                _Target(
                    post_id,
                    platform_id,
                    reply_ref,
                    handle,
                    content,
                    campaigns,
                    analysis,
                    spam,
                    text_fingerprint,
                    stories,
                ),
            )

    # --- pieces of a post ------------------------------------------------------------------------------------

    def _campaigns_for(self, group: str, language: str) -> tuple[CampaignSpec, ...]:
        rng = self.rng
        pool = self._campaigns[group]
        first = pool[0] if len(pool) == 1 else rng.choice(pool)
        # A few posts carry two campaigns' hashtags (a French post in both campaigns).
        if rng.random() < 0.03:
            others = [c for g in (FRANCE, MENA) for c in self._campaigns[g] if c != first and language in c.languages]
            if others and language in first.languages:
                return (first, rng.choice(others))
        return (first,)

    def _target(self, platform: str) -> _Target:
        """An earlier post: mostly a recent one, sometimes any of those kept."""
        targets = self._targets[platform]
        r = self.rng.random
        if r() < 0.7:
            back = 1 + int(r() * min(300, len(targets)))
            return targets[(self._cursor[platform] - back) % len(targets)]
        return targets[int(r() * len(targets))]

    def _remember(self, platform: str, target: _Target) -> None:
        targets = self._targets[platform]
        if len(targets) < _TARGETS:
            targets.append(target)
            self._cursor[platform] = len(targets) % _TARGETS
        else:
            position = self._cursor[platform]
            targets[position] = target
            self._cursor[platform] = (position + 1) % _TARGETS

    def _metrics(self, platform: str, followers: int | None, kind: str, text_kind: str) -> tuple[int | None, ...]:
        if kind == "repost":
            # A retweet's own counters are zeros; a Mastodon boost reports none.
            return (0, 0, 0, 0, 0) if platform == "x" else (None, None, None, None, None)
        rng = self.rng
        r = rng.random
        audience = followers if followers is not None else 150
        likes = 0 if r() < 0.25 else int(rng.lognormvariate(math.log(0.015 * audience**0.85 + 0.5), 1.2))
        if r() < 0.004:  # a post that goes viral
            likes = likes * rng.randint(20, 200) + rng.randint(50, 500)
        if text_kind == "spam":
            likes //= 10
        reposts = int(likes * 0.3 * r())
        values = (
            likes,
            reposts,
            int(likes * 0.15 * r()) + (r() < 0.1),
            int(reposts * 0.3 * r()),
            int(audience * (0.05 + 0.6 * r())) + likes * 35 + 5 + int(r() * 56),
        )
        return tuple(n if shown else None for n, shown in zip(values, REPORTED[platform], strict=True))

    def _snapshots(
        self, post_id: int, collected: float, created: float, metrics: tuple[int | None, ...], out: list[Row]
    ) -> float:
        """The first snapshot (at collection) and the refreshes after it; returns the post's last update."""
        if all(n is None for n in metrics):
            return collected
        rng = self.rng
        times = [collected]
        if rng.random() < 0.45:
            horizon = min(self._now, created + 7 * 86400)
            times.extend(
                sorted(collected + (horizon - collected) * rng.random() for _ in range(1 + int(rng.random() * 3)))
            )
        count = len(times)
        for step, at in enumerate(times, 1):
            share = step / count if count > 1 else 1.0
            values = metrics if step == count else tuple(None if n is None else int(n * share) for n in metrics)
            out.append((post_id, self._t(at), *values))
        return times[-1]


def _tags(campaigns: Sequence[CampaignSpec]) -> Sequence[str]:
    """The hashtags a post of these campaigns carries (the first campaign's)."""
    return campaigns[0].hashtags or (campaigns[0].slug,)


def _cumulate(weights: list[float]) -> Iterator[float]:
    total = 0.0
    for weight in weights:
        total += weight
        yield total


def reply_ref_of(target: _Target | None, kind: str, wanted: str) -> str | None:
    """The post's reply_to_id, repost_of_id or quote_of_id (`wanted`) for its kind."""
    if target is None or kind != wanted:
        return None
    return target.reply_ref if kind == "reply" else target.platform_id


def rows(config: GeneratorConfig, campaigns: Sequence[CampaignSpec], values: DriverValues) -> Iterator[Tables]:
    """Every table of a corpus, setup first then batch by batch, ending with the discovered updates under
    the key "discovered_updates" (a convenience for tests and for comparing corpora)."""
    corpus = Corpus(config, campaigns, values)
    yield corpus.setup_tables()
    yield from corpus.batches()
    yield {"discovered_updates": corpus.discovered_updates()}
