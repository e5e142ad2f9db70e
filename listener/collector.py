"""The collector contract every platform implements, and the campaign query it is given.

A collector is built from its settings and one shared aiohttp session, does no I/O in `__init__`, and
yields `Page`s for one campaign query starting from a checkpoint. Each page carries the checkpoint that
follows it: the job stores the page and that checkpoint in one transaction, so a crash between pages
resumes after the last committed one. Collectors raise only the listener's own errors.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from listener.parsers.x import Rejected
from listener.post import Platform, Post
from service.settings import CampaignSettings


@dataclass(frozen=True)
class CampaignQuery:
    slug: str
    hashtags: tuple[str, ...]
    keywords: tuple[str, ...] = ()
    excluded: tuple[str, ...] = ()
    exclude_reposts: bool = True
    languages: tuple[str, ...] = ()
    consent_hashtag: str | None = None  # also in `hashtags`; sources whose replies are not posts skip it

    @classmethod
    def of(cls, slug: str, campaign: CampaignSettings) -> CampaignQuery:
        """The campaign's query. Its consent hashtag is collected too: an author's reply carrying it is what
        grants the right to feature their story (jobs.stories), so it must reach the database."""
        hashtags = list(campaign.hashtags)
        consent: str | None = (campaign.consent_hashtag or "").strip().lstrip("#") or None
        if consent and consent.casefold() in {t.casefold() for t in hashtags}:
            consent = None  # already one of the campaign's own hashtags
        if consent:
            hashtags.append(consent)
        return cls(
            slug=slug,
            hashtags=tuple(hashtags),
            keywords=tuple(campaign.keywords),
            excluded=tuple(campaign.excluded),
            exclude_reposts=campaign.exclude_reposts,
            consent_hashtag=consent,
            languages=tuple(campaign.languages),
        )

    def terms(self) -> tuple[str, ...]:
        return (*(f"#{t}" for t in self.hashtags), *self.keywords)

    def matches(self, text: str, hashtags: tuple[str, ...] = ()) -> bool:
        """Client-side filter for sources without server-side search (RSS): any term, no excluded one."""
        folded = text.casefold()
        tags = {t.casefold() for t in hashtags}
        hit = any(t.casefold() in tags or f"#{t.casefold()}" in folded for t in self.hashtags) or any(
            k.casefold() in folded for k in self.keywords
        )
        return hit and not any(x.casefold() in folded for x in self.excluded)


@dataclass(frozen=True)
class Page:
    posts: list[Post]
    checkpoint: dict[str, Any]
    rejected: list[Rejected] = field(default_factory=list)
    # Raw bodies that could not be read at all (not JSON, not the expected shape), for the quarantine.
    unreadable: list[tuple[str, str]] = field(default_factory=list)
    # Refresh only: platform ids the platform definitely says no longer exist (deleted upstream); never a
    # post that is merely unavailable (an outage, a refused token, a rate limit, a suspended account).
    gone: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class StoredPost:
    """What a refresh needs of a stored post: its platform id and the raw payload it came with."""

    platform_id: str
    raw: Mapping[str, Any] | None


class Collector(Protocol):
    name: str
    platform: Platform

    def query_keys(self, query: CampaignQuery) -> list[str]:
        """The independent streams this query is collected as (one checkpoint each)."""
        ...

    def pages(self, query: CampaignQuery, key: str, checkpoint: Mapping[str, Any] | None) -> AsyncIterator[Page]:
        """Pages of posts for one stream, each with the checkpoint that follows it."""
        ...


class Refresher(Protocol):
    """A collector that can re-read stored posts (engagement refresh); pages of fresh Post records."""

    name: str
    platform: Platform
    refresh_batch: int

    def refresh(self, posts: list[StoredPost]) -> AsyncIterator[Page]: ...
