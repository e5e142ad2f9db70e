"""Deterministic synthetic campaign posts for benchmarks (seeded; French, Arabic and English text)."""

from __future__ import annotations

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
