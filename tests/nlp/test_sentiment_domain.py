"""Sentiment on the posts the product exists for: first-hand stories, complaints and announcements about shops.

The in-domain set, tests/nlp/data/campaign_sentiment.jsonl, is hand-written (fictitious shops) and held out: the
weights never saw it and the calibration strengths were chosen on scripts/data/sentiment_domain_dev.jsonl. The
thresholds are the shipped model's figures (fr 0.884, ar 0.936, en 0.915) minus a small margin; the weights
alone scored fr 0.515, ar 0.562, en 0.775.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from nlp.evaluation import macro_f1
from nlp.sentiment import LABELS, SentimentModel, calibrate
from nlp.sentiment_features import clean, polarity_cues

DATA = Path(__file__).resolve().parent / "data" / "campaign_sentiment.jsonl"
DEV = Path(__file__).resolve().parents[2] / "scripts" / "data" / "sentiment_domain_dev.jsonl"
THRESHOLD = {"fr": 0.85, "ar": 0.89, "en": 0.88}


def _rows(path: Path) -> list[dict[str, str]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="module")
def model() -> SentimentModel:
    return SentimentModel.load()


def test_the_evaluation_set_is_balanced_and_held_out() -> None:
    rows = _rows(DATA)
    assert 150 <= len(rows) <= 250
    assert all(set(row) == {"text", "lang", "label"} and row["label"] in LABELS for row in rows)
    shares = {lang: sum(row["lang"] == lang for row in rows) / len(rows) for lang in ("fr", "ar", "en")}
    assert shares["fr"] == pytest.approx(0.45, abs=0.05)
    assert shares["ar"] == pytest.approx(0.25, abs=0.05)
    assert shares["en"] == pytest.approx(0.30, abs=0.05)
    for lang in shares:
        labels = [row["label"] for row in rows if row["lang"] == lang]
        assert all(labels.count(label) >= 0.2 * len(labels) for label in LABELS), lang
    texts = [row["text"] for row in rows]
    assert len(set(texts)) == len(texts)
    assert not set(texts) & {row["text"] for row in _rows(DEV)}  # tuning and evaluation never share a post


@pytest.mark.parametrize("language", ["fr", "ar", "en"])
def test_in_domain_macro_f1(model: SentimentModel, language: str) -> None:
    rows = [row for row in _rows(DATA) if row["lang"] == language]
    predicted = [r.label for r in model.predict_many([row["text"] for row in rows], language)]
    score = macro_f1([LABELS.index(row["label"]) for row in rows], [LABELS.index(p) for p in predicted], [0, 1, 2])
    assert score >= THRESHOLD[language], f"{language}: in-domain macro-F1 {score:.4f} < {THRESHOLD[language]}"


REGRESSIONS = [
    (
        "fr",
        "positive",
        "Ce matin j'ai poussé la porte de la Boulangerie Amal : accueil chaleureux, pain encore tiède, et la "
        "vendeuse m'a offert une chouquette. Je recommande à tout le quartier, merci !",
    ),
    ("fr", "negative", "Très déçu par la boulangerie, pain rassis et vendeuse désagréable. Je ne recommande pas."),
    ("fr", "positive", "Pas mal du tout ce petit traiteur, on reviendra"),
    ("fr", "negative", "Plus jamais chez eux, 1h d'attente 😡"),
    ("fr", "neutral", "Le marché de Noël ouvre samedi place de la République."),
    ("ar", "positive", "دخلت اليوم مخبزة الأمل، استقبال رائع والخبز سخون، أنصح به كل سكان الحي، شكرا لكم!"),
    ("ar", "negative", "ما عجبنيش الاستقبال في المخبزة، البائع ما قالش حتى صباح الخير، لا أنصح بها"),
    ("ar", "neutral", "شكون يعرف مخبزة مفتوحة نهار الجمعة؟"),
    (
        "en",
        "positive",
        "Popped into Rosie's Bakery this morning: warm welcome, bread still warm. Recommend it to the whole "
        "neighbourhood, thank you!",
    ),
    ("en", "negative", "Very disappointed with the bakery: stale bread and rude staff. I do not recommend."),
    ("en", "positive", "Not bad at all, the new taco place. Will be back!"),
    ("en", "negative", "Never again, waited an hour for a cold pizza"),
    ("en", "neutral", "Which bakery is open Sunday?"),
]


@pytest.mark.parametrize(("language", "label", "text"), REGRESSIONS)
def test_hand_picked_campaign_posts(model: SentimentModel, language: str, label: str, text: str) -> None:
    result = model.predict(text, language)
    assert result.label == label, result
    if label == "positive":
        assert result.score > 0.1, result
    elif label == "negative":
        assert result.score < -0.1, result


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("accueil chaleureux, je recommande, merci !", (3, 0, 0)),
        ("Très déçu, je ne recommande pas", (0, 2, 0)),
        ("pas mal du tout", (1, 0, 0)),
        ("pas terrible", (0, 1, 0)),  # a fixed phrase: not flipped
        ("not bad", (1, 0, 0)),
        ("I wouldn't recommend it", (0, 1, 0)),
        ("never again", (0, 1, 0)),
        ("ما عجبنيش", (0, 1, 0)),  # Darija ma-...-sh: its own negation
        ("والله ما ندمتش", (1, 0, 0)),
        ("ماشي خايب", (1, 0, 0)),
        ("Which bakery is open Sunday?", (0, 0, 2)),
        ("Le marché ouvre samedi", (0, 0, 1)),
        ("", (0, 0, 0)),
    ],
)
def test_polarity_cues(text: str, expected: tuple[int, int, int]) -> None:
    assert polarity_cues(clean(text)) == expected


def test_calibrate_moves_logits_toward_the_evidence() -> None:
    logits = np.zeros((4, 3))
    cues = np.array([[0, 0, 0], [2, 0, 0], [0, 9, 0], [0, 0, 1]], dtype=np.float64)
    out = calibrate(logits, cues)
    assert np.array_equal(logits, np.zeros((4, 3)))  # pure: the input is untouched
    assert np.array_equal(out[0], [0, 0, 0])
    assert out[1, 2] > out[1, 1] > out[1, 0]  # positive evidence
    assert out[2, 0] > out[2, 2]
    assert np.array_equal(out[2], calibrate(logits, np.array([[0, 3, 0]] * 4, dtype=np.float64))[2])  # capped
    assert out[3].argmax() == 1  # a question with no polarity: neutral
    mixed = calibrate(np.zeros((1, 3)), np.array([[1.0, 0.0, 5.0]]))
    assert mixed[0].argmax() == 2  # polarity evidence outweighs a question mark
