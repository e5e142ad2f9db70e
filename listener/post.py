"""The `Post` record: one frozen, typed shape for a campaign post from any platform.

Every collector and file importer produces `Post`s; storage ingests them; nothing downstream needs to know
which platform a post came from. The raw payload travels with the record so that a better parser can
re-read it later and so that a quarantined or disputed post can be inspected as the platform sent it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any


class Platform(StrEnum):
    X = "x"
    MASTODON = "mastodon"
    BLUESKY = "bluesky"
    INSTAGRAM = "instagram"
    RSS = "rss"
    FILE = "file"


class PostKind(StrEnum):
    ORIGINAL = "original"
    REPOST = "repost"
    REPLY = "reply"
    QUOTE = "quote"


@dataclass(frozen=True, slots=True)
class Author:
    platform_id: str
    handle: str
    display_name: str = ""
    followers: int | None = None  # None means "not reported", never 0
    verified: bool | None = None
    url: str | None = None


@dataclass(frozen=True, slots=True)
class Metrics:
    """Engagement as the platform reported it when collected; None where the platform does not say."""

    likes: int | None = None
    reposts: int | None = None
    replies: int | None = None
    quotes: int | None = None
    views: int | None = None

    def as_tuple(self) -> tuple[int | None, ...]:
        return (self.likes, self.reposts, self.replies, self.quotes, self.views)


@dataclass(frozen=True, slots=True)
class Media:
    kind: str  # photo, video, gif, link ...
    url: str | None = None
    alt_text: str | None = None


@dataclass(frozen=True, slots=True)
class Post:
    platform: Platform
    platform_id: str
    url: str | None
    author: Author
    text: str
    created_at: datetime
    language_hint: str | None = None
    hashtags: tuple[str, ...] = ()
    mentions: tuple[str, ...] = ()
    urls: tuple[str, ...] = ()
    media: tuple[Media, ...] = ()
    reply_to_id: str | None = None
    repost_of_id: str | None = None
    quote_of_id: str | None = None
    metrics: Metrics = field(default_factory=Metrics)
    query: str | None = None
    raw: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        if not self.platform_id:
            raise ValueError("a post needs its platform id")
        if self.created_at.tzinfo is None:
            raise ValueError(f"post {self.platform}:{self.platform_id}: created_at must be timezone-aware")
        if self.created_at.utcoffset():
            object.__setattr__(self, "created_at", self.created_at.astimezone(UTC))

    @property
    def kind(self) -> PostKind:
        if self.repost_of_id:
            return PostKind.REPOST
        if self.quote_of_id:
            return PostKind.QUOTE
        if self.reply_to_id:
            return PostKind.REPLY
        return PostKind.ORIGINAL
