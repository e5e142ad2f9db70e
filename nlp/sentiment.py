"""Sentiment of a post (negative / neutral / positive) in French, Arabic and English: the shipped linear model.

The model is ours, trained by `scripts/train_sentiment.py` on the xlm-t tweet corpus (see the metadata JSON
next to the weights for the training date, hyper-parameters and cross-validation/validation macro-F1). It is a
one-vs-rest logistic regression over Naive-Bayes-scaled binary features (NB-LR, Wang & Manning 2012): character
2-5-grams, word 1-2-grams, negation scope, emoji/emoticon polarity and, for English only, a polarity lexicon
(VADER's, MIT licence, embedded in the weights file; in French it would read "pain", bread, as pain). The
weights of the two emoji polarity tokens are the pooled model's in every language: emoji are rare in each
language's tweets, so they are learned from all three together. See `nlp.sentiment_features`.

Languages: "fr", "ar" and "en" each have their own weights (region suffixes like "fr-CA" are ignored). Any other
or unknown language (None, "und", "es", ...) falls back to the pooled multilingual weights, trained on all three
languages together, and the result's `model_version` says so ("/pooled").

In-domain calibration. The tweets are mostly about politics and celebrities; on the posts this product is for
(first-hand stories about local shops) the weights alone were unreliable: "accueil chaleureux ... je recommande,
merci !" scored negative, "très déçu ... je ne recommande pas" neutral, and announcements ("le marché ouvre
samedi") came out positive or negative. So the one-vs-rest logits are moved by hand-written polarity cues
(`calibrate`, over the counts of `nlp.sentiment_features.polarity_cues`: gratitude, recommendation, complaint
and shop praise/blame words with negation handling, "plus jamais" / "never again" / "ما عجبنيش" phrases, and
questions or announcements as neutral evidence). The strengths were chosen on scripts/data/
sentiment_domain_dev.jsonl (53 in-domain posts) and checked on the xlm-t validation split; the held-out
in-domain set, tests/nlp/data/campaign_sentiment.jsonl (198 hand-written posts: fr 90, ar 50, en 58), was
scored once. Macro-F1, before → after:

    in-domain (held out)   fr 0.515 → 0.884   ar 0.562 → 0.936   en 0.775 → 0.915
    xlm-t validation       fr 0.667 → 0.667   ar 0.656 → 0.656   en 0.612 → 0.615

Chosen over retraining with extra features (option b): the weights stay exactly as trained (only the cue
offsets can move an xlm-t tweet), the cues are readable and fixable one word at a time, and they cost one regex
split and set lookups, about 4 us a post, under a tenth of the sentiment path (bench "sentiment alone": 26,700
posts/s before, 23,500 after, target 5,000). The in-domain figures are optimistic: the lexicons, the tuning
set and the evaluation set were written by the same hand.

Only numpy is needed at run time (no scikit-learn, no pickle): the weights are `.npz` arrays. Scoring is a sparse
dot product: feature strings → ids through the vocabulary, one weight row per class summed per post, vectorised
over a batch with `numpy.bincount`. `predict_many` is the fast path; `predict` is a batch of one.
"""

from __future__ import annotations

import json
import math
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from nlp.sentiment_features import char_grams, clean, polarity_cues, word_features

Label = Literal["negative", "neutral", "positive"]
LABELS: tuple[Label, Label, Label] = ("negative", "neutral", "positive")
POOLED = "pooled"
DEFAULT_MODEL = Path(__file__).resolve().parent / "models" / "sentiment.npz"
_CACHE_LIMIT = 200_000  # words whose char-gram ids are remembered (a few tens of MB at most)


class SentimentModelError(Exception):
    """The model file is missing or malformed; the message names the file and the fix."""


@dataclass(frozen=True, slots=True)
class Sentiment:
    """One post's sentiment.

    `score` is P(positive) - P(negative), in [-1, 1]; `probabilities` are (negative, neutral, positive) and sum
    to 1; `model_version` names the weights that decided, e.g. "sentiment-nblr-1/fr" (or ".../pooled").
    """

    label: Label
    score: float
    probabilities: tuple[float, float, float]
    model_version: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "score": self.score,
            "probabilities": dict(zip(LABELS, self.probabilities, strict=True)),
            "model_version": self.model_version,
        }


class SentimentModel:
    """The loaded weights; immutable apart from a bounded cache of per-word feature ids (safe to share)."""

    def __init__(
        self,
        vocabulary: dict[str, int],
        weights: npt.NDArray[np.float32],
        bias: npt.NDArray[np.float32],
        weight_sets: Sequence[str],
        lexicon: dict[str, str],
        metadata: dict[str, Any],
    ) -> None:
        sets = list(weight_sets)
        if weights.shape != (len(sets), len(LABELS), len(vocabulary)) or bias.shape != (len(sets), len(LABELS)):
            raise SentimentModelError(
                f"weights {weights.shape} / bias {bias.shape} do not match {len(sets)} sets x 3 classes x "
                f"{len(vocabulary)} features"
            )
        if POOLED not in sets:
            raise SentimentModelError(f"the model has no {POOLED!r} weights (sets: {sets})")
        self._vocabulary = vocabulary
        # (set, feature, class): one fancy-indexing gather per batch fetches all three classes at once.
        self._weights = np.ascontiguousarray(weights.transpose(0, 2, 1), dtype=np.float32)
        self._bias = bias.astype(np.float64)
        self._sets = {name: index for index, name in enumerate(sets)}
        self._lexicon = lexicon
        self._lexicon_sets = frozenset(metadata.get("lexicon_sets", []))
        self.metadata = metadata
        self.version = str(metadata.get("version", "unversioned"))
        self._char_cache: dict[str, list[int]] = {}

    @classmethod
    def load(cls, path: Path | None = None) -> SentimentModel:
        """Load the weights (.npz) and the metadata JSON beside it (same name, .json); default: the shipped model."""
        path = path or DEFAULT_MODEL
        meta_path = path.with_suffix(".json")
        try:
            metadata = json.loads(meta_path.read_text(encoding="utf-8"))
            with np.load(path, allow_pickle=False) as arrays:
                features = _split(arrays["vocabulary"])
                weights = arrays["weights"].astype(np.float32)
                bias = arrays["bias"].astype(np.float32)
                lexicon_rows = _split(arrays["lexicon"])
            weight_sets = list(metadata["weight_sets"])
        except (OSError, KeyError, TypeError, ValueError, zipfile.BadZipFile) as exc:
            raise SentimentModelError(
                f"cannot load the sentiment model {path} (+ {meta_path.name}): {exc}; "
                "rebuild it with `python scripts/train_sentiment.py`"
            ) from exc
        vocabulary = {feature: index for index, feature in enumerate(features)}
        if len(vocabulary) != len(features):
            raise SentimentModelError(f"{path}: the vocabulary has duplicate features")
        lexicon = dict(row.split("\t", 1) for row in lexicon_rows if "\t" in row)
        return cls(vocabulary, weights, bias, weight_sets, lexicon, metadata)

    @property
    def languages(self) -> list[str]:
        """Languages with their own weights (the others use the pooled ones)."""
        return [name for name in self._sets if name != POOLED]

    def weight_set(self, language: str | None) -> str:
        """The weights used for a language: its own, else the pooled multilingual ones."""
        code = (language or "").strip().lower().replace("_", "-").split("-", 1)[0]
        return code if code in self._sets and code != POOLED else POOLED

    def predict(self, text: str, language: str | None) -> Sentiment:
        return self.predict_many([text], [language])[0]

    def predict_many(self, texts: Sequence[str], languages: Sequence[str | None] | str | None) -> list[Sentiment]:
        """Sentiments of many posts at once; `languages` is one code per text, or one code for all."""
        if languages is None or isinstance(languages, str):
            languages = [languages] * len(texts)
        if len(languages) != len(texts):
            raise ValueError(f"{len(texts)} texts but {len(languages)} languages")
        if not texts:
            return []
        set_names = [self.weight_set(language) for language in languages]
        flat: list[int] = []
        counts: list[int] = []
        cues: list[tuple[int, int, int]] = []
        for text, name in zip(texts, set_names, strict=True):
            before = len(flat)
            cleaned = self._feature_ids(text, self._lexicon if name in self._lexicon_sets else None, flat)
            counts.append(len(flat) - before)
            cues.append(polarity_cues(cleaned) if cleaned else (0, 0, 0))
        # Binary features: a feature present twice in a post counts once (dedupe (row, id) pairs in one sort).
        size = max(len(self._vocabulary), 1)
        keys = np.sort(np.repeat(np.arange(len(texts), dtype=np.int64) * size, counts) + np.array(flat, np.int64))
        keys = keys[np.concatenate(([True], keys[1:] != keys[:-1]))] if keys.size else keys  # sort-unique: fast
        all_rows, all_ids = np.divmod(keys, size)
        set_index = np.array([self._sets[name] for name in set_names], dtype=np.int64)
        gathered = self._weights[set_index[all_rows], all_ids]  # (features in batch, 3)
        scores = self._bias[set_index].copy()
        for column in range(len(LABELS)):
            scores[:, column] += np.bincount(all_rows, weights=gathered[:, column], minlength=len(texts))
        scores = calibrate(scores, np.array(cues, dtype=np.float64).reshape(len(texts), 3))
        # One-vs-rest logistic outputs, normalised to a distribution over the three labels.
        odds = 1.0 / (1.0 + np.exp(-np.clip(scores, -50.0, 50.0)))
        probabilities = odds / odds.sum(axis=1, keepdims=True)
        empty = np.array(counts) == 0
        probabilities[empty] = 1.0 / 3.0
        results = []
        for row, name in enumerate(set_names):
            neg, neu, pos = (float(p) for p in probabilities[row])
            # A post with no features at all (empty, only spaces or control characters) is neutral.
            label = LABELS[int(np.argmax(probabilities[row]))] if not empty[row] else "neutral"
            score = 0.0 if math.isnan(pos - neg) else pos - neg
            results.append(Sentiment(label, score, (neg, neu, pos), f"{self.version}/{name}"))
        return results

    def _feature_ids(self, text: str, lexicon: dict[str, str] | None, out: list[int]) -> str:
        """Append the ids of the features in `text` to `out` (with repeats; the caller dedupes); return the
        cleaned text (the cues read it too)."""
        vocabulary = self._vocabulary
        cleaned = clean(text)
        if not cleaned:
            return cleaned
        cache = self._char_cache
        for word in cleaned.split(" "):
            word_ids = cache.get(word)
            if word_ids is None:
                word_ids = [i for i in map(vocabulary.get, char_grams(word)) if i is not None]
                if len(cache) >= _CACHE_LIMIT:
                    cache.clear()
                cache[word] = word_ids
            out.extend(word_ids)
        out.extend([i for i in map(vocabulary.get, word_features(cleaned, lexicon)) if i is not None])
        return cleaned


# Calibration strengths (logits), chosen on scripts/data/sentiment_domain_dev.jsonl: see the module docstring.
CUE_TOWARD = 1.5  # each piece of polarity evidence, toward its class
CUE_AWAY = 1.0  # ... and away from the opposite class
CUE_NOT_NEUTRAL = 0.0  # any polarity evidence, away from neutral
CUE_NEUTRAL = 1.5  # a question or announcement with no polarity evidence, toward neutral
CUE_CAP = 3.0  # evidence counts are capped: a long rant is not more negative than a short one


def calibrate(logits: npt.NDArray[np.float64], cues: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """The model's one-vs-rest logits (n, 3: negative, neutral, positive) moved by the posts' polarity cues
    (n, 3: positive, negative, neutral evidence counts from `nlp.sentiment_features.polarity_cues`).

    Positive evidence raises the positive logit and lowers the negative one, and the reverse; any polarity
    evidence lowers the neutral logit; neutral evidence (a question, an announcement) raises it only when there
    is no polarity evidence at all. Pure: returns a new array.
    """
    positive = np.minimum(cues[:, 0], CUE_CAP)
    negative = np.minimum(cues[:, 1], CUE_CAP)
    polar = np.minimum(positive + negative, CUE_CAP)
    neutral = np.where(polar == 0, np.minimum(cues[:, 2], 2.0), 0.0)
    out = logits.copy()
    out[:, 0] += CUE_TOWARD * negative - CUE_AWAY * positive
    out[:, 1] += CUE_NEUTRAL * neutral - CUE_NOT_NEUTRAL * polar
    out[:, 2] += CUE_TOWARD * positive - CUE_AWAY * negative
    return out


def _split(blob: npt.NDArray[Any]) -> list[str]:
    """A newline-joined UTF-8 string stored as a uint8 array (no pickle, no fixed-width string dtype)."""
    text = blob.tobytes().decode("utf-8")
    return text.split("\n") if text else []


def pack(items: Sequence[str]) -> npt.NDArray[np.uint8]:
    """Inverse of `_split`: how scripts/train_sentiment.py stores the vocabulary and the lexicon."""
    if any("\n" in item for item in items):
        raise ValueError("a feature string contains a newline")
    return np.frombuffer("\n".join(items).encode("utf-8"), dtype=np.uint8).copy()
