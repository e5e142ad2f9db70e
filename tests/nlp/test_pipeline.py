"""The assembled pipeline: one table of French, Arabic and English posts through every stage (language,
links, discoveries, sentiment sign, signals), spaCy components in place, any text safe."""

from __future__ import annotations

import pytest

from nlp.pipeline import Pipeline, PostInput, build_pipeline
from nlp.results import MerchantEntry

REGISTRY = [
    MerchantEntry(
        1, "Boulangerie Les Trois Épis", ("Trois Épis",), (("x", "troisepis"),), "https://troisepis.fr", "Lyon"
    ),
    MerchantEntry(2, "مخبز الأمل", ("Al Amal Bakery",), (("instagram", "alamal.bakery"),), None, "Casablanca"),
    MerchantEntry(3, "Café Zitouna", ("مقهى الزيتونة",), (), None, "Tunis"),
]


@pytest.fixture(scope="module")
def pipeline() -> Pipeline:
    return build_pipeline(["fr", "ar", "en"], REGISTRY, ["LoveLocal", "SoutenonsnosTPEPME"])


# text, platform, language, merchants linked, discovered names, sentiment
CASES = [
    (
        "Merci @troisepis pour l'accueil chaleureux, je recommande ! 🥖❤️ #SoutenonsnosTPEPME",
        "x",
        "fr",
        {1},
        set(),
        "positive",
    ),
    ("شكراً لمخبز الأمل على الخبز الطازج ❤️ #LoveLocal", "x", "ar", {2}, set(), "positive"),
    ("Loved the coffee at Café Zitouna in Tunis, thank you! #LoveLocal", "x", "en", {3}, set(), "positive"),
    ("Super accueil chez Tonton Marcel ce matin, merci ! #LoveLocal", "x", "fr", set(), {"Tonton Marcel"}, "positive"),
    ("Très déçu, service horrible 😡", "x", "fr", set(), set(), "negative"),
    ("Worst service ever, rude staff and stale bread. Never again 😡", "x", "en", set(), set(), "negative"),
]


@pytest.mark.parametrize(("text", "platform", "language", "merchants", "discovered", "sentiment"), CASES)
def test_the_table(
    pipeline: Pipeline,
    text: str,
    platform: str,
    language: str,
    merchants: set[int],
    discovered: set[str],
    sentiment: str,
) -> None:
    result = pipeline.analyse(PostInput(text, platform))
    assert result.language.code == language
    assert {link.merchant_id for link in result.links} == merchants
    assert {d.name for d in result.discoveries} == discovered
    assert result.sentiment.label == sentiment
    assert result.pipeline_version == pipeline.version
    assert result.signals.named_merchant is bool(merchants)


def test_batches_keep_the_order_of_their_inputs(pipeline: Pipeline) -> None:
    items = [PostInput(text, platform) for text, platform, *_ in CASES] * 3
    results = pipeline.analyse_many(items)
    assert [r.parts.original for r in results] == [i.text for i in items]


def test_the_stages_are_spacy_components(pipeline: Pipeline) -> None:
    names = pipeline.french.pipe_names
    assert names[-4:] == ["listener_links", "listener_discovery", "listener_sentiment", "listener_signals"]
    assert "ner" in names
    assert "parser" not in names  # NER-only: the rest is excluded


def test_the_version_names_models_and_registry(pipeline: Pipeline) -> None:
    assert "fr_core_news_sm-3.8.0" in pipeline.version
    assert "registry-" in pipeline.version
    assert "sentiment-" in pipeline.version


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "\x00\x01\x02",
        "\ud800 lone surrogate",
        "x" * 100_000,
        "مخبز ‏Lyon‎ 🥖 " * 3_000,
        "<script>alert(1)</script>",
    ],
    ids=["empty", "spaces", "controls", "surrogate", "100k", "mixed-rtl", "html"],
)
def test_any_text_is_safe(pipeline: Pipeline, text: str) -> None:
    result = pipeline.analyse(PostInput(text, "x"))
    assert result.language.code in {"fr", "ar", "en", "other", "und"}
    assert result.sentiment.label in {"negative", "neutral", "positive"}


def test_the_campaign_hashtag_does_not_make_a_complaint_positive(pipeline: Pipeline) -> None:
    plain = pipeline.analyse(PostInput("Très déçu, service horrible 😡", "x"))
    tagged = pipeline.analyse(PostInput("Très déçu, service horrible 😡 #LoveLocal", "x"))
    assert plain.sentiment.label == tagged.sentiment.label == "negative"
