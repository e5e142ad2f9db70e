"""Analysis benchmark on a few thousand French campaign posts: full analysis posts/s against bare
`fr_core_news_sm` NER-only `nlp.pipe` posts/s on the same texts in the same run (the cost floor of
discovering French organisations); sentiment alone in posts/s; and the process's peak memory (RSS)."""

from __future__ import annotations

import resource
import time
from pathlib import Path

import spacy

from bench.corpus import synthetic_posts
from bench.results import CaseResult
from nlp.pipeline import FRENCH_MODEL, PostInput, build_pipeline
from nlp.results import MerchantEntry
from nlp.sentiment import SentimentModel

MERCHANTS = [
    MerchantEntry(
        1, "Boulangerie Les Trois Épis", ("Trois Épis",), (("x", "troisepis"),), "https://troisepis.fr", "Lyon"
    ),
    MerchantEntry(2, "Fromagerie du Port", (), (), None, "Marseille"),
    MerchantEntry(3, "مخبز الأمل", ("Al Amal Bakery",), (), None, "Casablanca"),
    MerchantEntry(4, "Café Zitouna", (), (), None, "Tunis"),
    MerchantEntry(5, "Green Souk", (), (), None, "Dubai"),
]


def _french_texts(count: int) -> list[str]:
    texts = [p.text for p in synthetic_posts(count * 3, seed=11) if p.language_hint == "fr"]
    return texts[:count]


def _rate(count: int, seconds: float) -> float:
    return count / seconds if seconds else float("inf")


async def run(quick: bool, tmp: Path, pg_url: str | None) -> list[CaseResult]:
    count = 1_000 if quick else 4_000
    texts = _french_texts(count)
    bare = spacy.load(
        FRENCH_MODEL, exclude=["tagger", "morphologizer", "parser", "attribute_ruler", "lemmatizer", "senter"]
    )
    list(bare.pipe(texts[:50]))  # warm up
    started = time.perf_counter()
    for _ in bare.pipe(texts, batch_size=256):
        pass
    baseline = _rate(len(texts), time.perf_counter() - started)

    sentiment = SentimentModel.load()
    pipeline = build_pipeline(
        ["fr", "ar", "en"], MERCHANTS, ["LoveLocal", "SoutenonsnosTPEPME"], sentiment=sentiment, french=bare
    )
    items = [PostInput(t, "x", "fr") for t in texts]
    pipeline.analyse_many(items[:50])
    started = time.perf_counter()
    pipeline.analyse_many(items)
    full = _rate(len(texts), time.perf_counter() - started)

    started = time.perf_counter()
    sentiment.predict_many(texts, ["fr"] * len(texts))
    sentiment_rate = _rate(len(texts), time.perf_counter() - started)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return [
        CaseResult(
            name=f"analysis fr ({len(texts):,} posts)",
            unit="posts/s",
            value=full,
            baseline=baseline,
            baseline_name="fr_core_news_sm NER-only nlp.pipe on the same texts",
            ratio_target=0.8,
        ),
        CaseResult(
            name="sentiment alone",
            unit="posts/s",
            value=sentiment_rate,
            baseline=sentiment_rate,
            baseline_name="(absolute target)",
            absolute_target=5_000.0,
        ),
        CaseResult(
            name="peak RSS of the bench process",
            unit="MB",
            value=peak_mb,
            baseline=600.0,
            baseline_name="the 600 MB budget",
            max_target=600.0,
            note="includes the ingest cases when run in the same process; run `--only analysis` for the figure alone",
        ),
    ]
