"""Factories for real domain objects used across the tests (no copy-pasted setup)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from listener.post import Author, Media, Metrics, Platform, Post

_ids = itertools.count(1)
BASE_TIME = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)


def make_author(n: int | None = None, *, followers: int | None = 100, platform_id: str | None = None) -> Author:
    n = next(_ids) if n is None else n
    return Author(
        platform_id=platform_id or f"u{n}",
        handle=f"user{n}",
        display_name=f"User {n}",
        followers=followers,
    )


def make_post(
    n: int | None = None,
    *,
    platform: Platform = Platform.X,
    text: str | None = None,
    author: Author | None = None,
    likes: int | None = 1,
    reposts: int | None = 0,
    views: int | None = None,
    created_at: datetime | None = None,
    language_hint: str | None = "fr",
    **fields: Any,
) -> Post:
    n = next(_ids) if n is None else n
    return Post(
        platform=platform,
        platform_id=str(1_000_000 + n),
        url=f"https://example.test/status/{n}",
        author=author or make_author(n),
        text=text if text is not None else f"J'adore ma boulangerie du quartier #LoveLocal {n}",
        created_at=created_at or BASE_TIME + timedelta(minutes=n),
        language_hint=language_hint,
        hashtags=("LoveLocal",),
        metrics=Metrics(likes=likes, reposts=reposts, replies=0, quotes=0, views=views),
        media=(Media(kind="photo", url=f"https://example.test/m/{n}.jpg"),),
        raw={"id": str(1_000_000 + n), "text": text},
        **fields,
    )
