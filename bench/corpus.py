"""Deterministic synthetic campaign posts for benchmarks (seeded; French, Arabic and English text)."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from listener.post import Author, Media, Metrics, Platform, Post

_FR = ["J'adore", "Merci à", "Super accueil chez", "Découverte du jour :", "On soutient"]
_EN = ["Loved", "Thanks to", "Great coffee at", "Shout-out to", "Supporting"]
_AR = ["شكرا ل", "أحببت", "أنصح ب", "تجربة رائعة في", "ندعم"]
_SHOPS = ["la boulangerie Les Trois Épis", "Fromagerie du Port", "مخبز الأمل", "Café Zitouna", "Green Souk"]


def synthetic_posts(count: int, seed: int = 7, authors: int = 5000) -> Iterator[Post]:
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
    start = datetime(2026, 11, 1, tzinfo=UTC)
    for i in range(count):
        lang = rng.choice(("fr", "fr", "ar", "en"))
        words = {"fr": _FR, "en": _EN, "ar": _AR}[lang]
        a = int(rng.paretovariate(1.2)) % authors
        yield Post(
            platform=Platform.X,
            platform_id=str(1_800_000_000_000_000_000 + i),
            url=f"https://x.com/i/web/status/{1_800_000_000_000_000_000 + i}",
            author=Author(
                platform_id=str(10_000 + a),
                handle=f"user{a}",
                display_name=f"User {a}",
                followers=int(rng.paretovariate(1.1) * 50),
            ),
            text=f"{rng.choice(words)} {rng.choice(_SHOPS)} #LoveLocal {'❤️' * rng.randint(0, 3)}",
            created_at=start + timedelta(seconds=i * 7),
            language_hint=lang,
            hashtags=("LoveLocal",),
            media=(Media(kind="photo", url=f"https://pbs.example/{i}.jpg"),) if i % 4 == 0 else (),
            metrics=Metrics(
                likes=int(rng.paretovariate(1.5)) - 1,
                reposts=int(rng.paretovariate(2.0)) - 1,
                replies=rng.randint(0, 3),
                quotes=0,
                views=rng.randint(10, 5000),
            ),
            raw={"id": str(i), "text": "…", "lang": lang},
        )


def x_v2_pages(posts: list[Post], page_size: int = 100) -> list[bytes]:
    """The posts as X API v2 search pages (JSON bytes, with includes.users and meta.next_token), so the
    benchmark times decoding and parsing as a collector does."""
    pages = []
    for start in range(0, len(posts), page_size):
        chunk = posts[start : start + page_size]
        users = {}
        data = []
        for p in chunk:
            users[p.author.platform_id] = {
                "id": p.author.platform_id,
                "username": p.author.handle,
                "name": p.author.display_name,
                "verified": False,
                "public_metrics": {"followers_count": p.author.followers, "following_count": 10, "tweet_count": 100},
            }
            m = p.metrics
            data.append(
                {
                    "id": p.platform_id,
                    "text": p.text,
                    "author_id": p.author.platform_id,
                    "created_at": p.created_at.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                    "lang": p.language_hint,
                    "entities": {"hashtags": [{"start": 0, "end": 10, "tag": t} for t in p.hashtags]},
                    "public_metrics": {
                        "like_count": m.likes,
                        "retweet_count": m.reposts,
                        "reply_count": m.replies,
                        "quote_count": m.quotes,
                        "impression_count": m.views,
                    },
                    "conversation_id": p.platform_id,
                    "edit_history_tweet_ids": [p.platform_id],
                }
            )
        meta = {"newest_id": chunk[0].platform_id, "oldest_id": chunk[-1].platform_id, "result_count": len(chunk)}
        if start + page_size < len(posts):
            meta["next_token"] = f"token{start}"
        pages.append(json.dumps({"data": data, "includes": {"users": list(users.values())}, "meta": meta}).encode())
    return pages
