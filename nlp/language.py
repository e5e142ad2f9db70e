"""Which language a post is in: one of the configured languages, "other" or "und" (undetermined).

How a text is decided, cheapest evidence first:

1. Only the running text counts: URLs, @handles and #hashtags are set aside (an English ``#LoveLocal``
   in a French post says nothing). A post that is nothing but hashtags is judged on the hashtag words.
2. Any Arabic-script letter in the running text means Arabic (when "ar" is configured); the confidence
   grows with the share of Arabic letters among all letters. An Arabic hashtag on a French sentence
   does not make it Arabic (step 1).
3. A text mostly in another script (Cyrillic, Greek, Hebrew, Hangul, CJK, Thai, Devanagari, ...) is
   "other" when no configured language is written in that script; the script is enough, no model runs.
4. Fewer than ``MIN_LETTERS`` letters: "und". "ok 👍" cannot be told apart.
5. lingua, built once with the configured languages plus a few common "sentinel" languages of the same
   script (``others``, by default de, es, it, pt, nl). The choice among the configured languages is
   lingua's confidence renormalised over them alone, which on the xlm-t validation tweets gives exactly
   the answers of a detector restricted to them; the sentinels' share says whether the text is in none
   of them: "other" when it reaches ``OTHER_MIN`` on a text of at least ``OTHER_MIN_LETTERS`` letters
   (a detector restricted to fr+en calls German "en" with confidence 0.7-1.0, so restricting alone
   cannot tell). ``others=()`` switches this off: faster, and Latin-script text is then always fr/en.
6. The platform's language tag is a prior, not the answer: it multiplies the odds of its language by
   ``HINT_ODDS`` before the final choice, so it settles the texts lingua is unsure about (top < 2/3 with
   two candidates) and leaves the clear ones alone. Tags like "und", "zxx", "qme" (X: media only) carry
   nothing; a tag for a real language we do not analyse favours "other".

lingua runs in high-accuracy mode: on 3-word texts it is right 94-97 % of the time against 88-89 % in
low-accuracy mode (xlm-t validation, fr/en). Its models are preloaded when the detector is built (about
2-4 s and 230 MB with the default 7 Latin-script languages, 140 MB with fr+en alone; lingua keeps them
for the process, so build one detector per process and reuse it).

Measured on the xlm-t validation tweets (~100 characters) on a shared 2-core box where building one
``Signals`` record takes 5 us: ``detect`` about 0.6 ms per Latin-script post (0.3 ms with ``others=()``),
about 40 us per Arabic or other-script post (no model runs); ``detect_many`` is no faster on 2 busy
cores. Accuracy there: fr 0.991, en 1.000, ar 1.000 (tests/nlp/test_language.py keeps it above 0.97,
0.98, 0.99).

Pass the post's text as written: ``TextParts.clean`` has the hashtags as words, and an English
``#LoveLocal`` then weighs on a short French post.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from lingua import ConfidenceValue, IsoCode639_1, LanguageDetectorBuilder
from lingua import Language as LinguaLanguage
from lingua import LanguageDetector as LinguaDetector

from nlp.results import Language
from nlp.text import prose, split_text

DEFAULT_LANGUAGES = ("fr", "ar", "en")
DEFAULT_OTHERS = ("de", "es", "it", "pt", "nl")
UNDETERMINED = "und"
OTHER = "other"

MIN_LETTERS = 4  # below: "und"
OTHER_MIN = 0.8  # sentinel share needed for "other"
OTHER_MIN_LETTERS = 20  # shorter texts are not called "other" on lingua's word
HINT_ODDS = 2.0  # how much a platform's language tag multiplies the odds of its language
MAX_DETECT_CHARS = 1_000  # the first thousand characters tell the language as well as the whole text

# Tags that say nothing about a language (X: und, qme media only, qht hashtags only, qam mentions only,
# qct cashtags only, qst very short; zxx no linguistic content; mul several).
_EMPTY_HINTS = frozenset({"", "und", "zxx", "mul", "mis", "qme", "qht", "qam", "qct", "qst", "art"})

# Counting is done by deleting everything else: several times faster than findall() on short posts.
_ARABIC = "\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff\ufb50-\ufdff\ufe70-\ufeff"
_HAS_ARABIC = re.compile(f"[{_ARABIC}]")
_NOT_ARABIC = re.compile(f"[^{_ARABIC}]+")
_NOT_LATIN = re.compile("[^A-Za-z\u00aa\u00b5\u00ba\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f\u1e00-\u1eff]+")
_LATIN_SCRIPT = frozenset(LinguaLanguage.all_with_latin_script())


@dataclass(frozen=True)
class _Prepared:
    """What the cheap checks decided, or the text lingua must read."""

    answer: Language | None
    text: str
    letters: int
    hint: str


class LanguageDetector:
    """Build once per process (loading lingua's models takes seconds), then reuse."""

    def __init__(self, languages: Sequence[str] = DEFAULT_LANGUAGES, *, others: Sequence[str] = DEFAULT_OTHERS) -> None:
        codes = tuple(dict.fromkeys(code.strip().lower() for code in languages))
        if not codes:
            raise ValueError("LanguageDetector needs at least one language (the campaign's `languages` setting)")
        self.languages = codes
        self._arabic = "ar" in codes
        configured = {code: _lingua_language(code) for code in codes if code != "ar"}
        sentinels = {code: _lingua_language(code) for code in others if code.lower() not in codes}
        # Scripts other than Latin and Arabic are "other" on sight, unless a configured language uses one.
        self._script_shortcut = all(lang in _LATIN_SCRIPT for lang in configured.values())
        self._configured = {lang: code for code, lang in configured.items()}
        self._lingua: LinguaDetector | None = None
        if configured:
            # Sentinels of the configured languages' scripts only: they exist to catch what lingua would
            # otherwise force into a configured language.
            sentinel_set = {lang for lang in sentinels.values() if lang in _LATIN_SCRIPT}
            self._lingua = (
                LanguageDetectorBuilder.from_languages(*configured.values(), *sentinel_set)
                .with_preloaded_language_models()
                .build()
            )

    def detect(self, text: str, hint: str | None = None) -> Language:
        """The language of ``text`` (a post's text, as written or ``TextParts.clean``); ``hint`` is the
        platform's language tag ("fr", "en-GB", "und"...), used as a prior."""
        prepared = self._prepare(text, hint)
        if prepared.answer is not None:
            return prepared.answer
        assert self._lingua is not None
        values = self._lingua.compute_language_confidence_values(prepared.text)
        return self._decide(values, prepared)

    def detect_many(self, texts: Iterable[str], hints: Iterable[str | None] | None = None) -> list[Language]:
        """``detect`` for a batch; lingua reads the texts that need it in parallel threads."""
        texts = list(texts)
        hint_list = list(hints) if hints is not None else [None] * len(texts)
        if len(hint_list) != len(texts):
            raise ValueError(f"detect_many got {len(texts)} texts but {len(hint_list)} hints")
        prepared = [self._prepare(text, hint) for text, hint in zip(texts, hint_list, strict=True)]
        pending = [p.text for p in prepared if p.answer is None]
        values: list[list[ConfidenceValue]] = []
        if pending:
            assert self._lingua is not None
            values = self._lingua.compute_language_confidence_values_in_parallel(pending)
        results = iter(values)
        return [p.answer if p.answer is not None else self._decide(next(results), p) for p in prepared]

    def _prepare(self, text: str, hint: str | None) -> _Prepared:
        head = text[: MAX_DETECT_CHARS * 4]
        body = prose(head)[:MAX_DETECT_CHARS]
        letters = _count_letters(body)
        if letters < MIN_LETTERS:  # nothing but hashtags (and handles, links, emoji): read the hashtags
            words = " ".join(split_text(head).hashtag_words)[:MAX_DETECT_CHARS]
            word_letters = _count_letters(words)
            if word_letters > letters:
                body, letters = words, word_letters
        if not letters:
            return _Prepared(Language(UNDETERMINED, 0.0), "", 0, "")
        if self._arabic and _HAS_ARABIC.search(body):
            share = min(len(_NOT_ARABIC.sub("", body)) / letters, 1.0)
            return _Prepared(Language("ar", round(0.5 + 0.5 * share, 3)), "", letters, "")
        if self._script_shortcut:
            foreign = letters - len(_NOT_LATIN.sub("", body))
            if foreign * 2 > letters:
                return _Prepared(Language(OTHER, round(foreign / letters, 3)), "", letters, "")
        if letters < MIN_LETTERS:
            return _Prepared(Language(UNDETERMINED, 0.0), "", letters, "")
        if self._lingua is None:  # no Latin-script language configured: Latin-script text is not ours
            return _Prepared(Language(OTHER, 1.0), "", letters, "")
        return _Prepared(None, body, letters, _normalise_hint(hint))

    def _decide(self, values: Sequence[ConfidenceValue], prepared: _Prepared) -> Language:
        scores = dict.fromkeys(self._configured.values(), 0.0)
        other = 0.0
        for value in values:
            code = self._configured.get(value.language)
            if code is None:
                other += value.value
            else:
                scores[code] += value.value
        hint = prepared.hint
        if hint in scores:
            scores[hint] *= HINT_ODDS
        elif hint not in _EMPTY_HINTS and hint not in self.languages:  # "de": a language we do not analyse
            other *= HINT_ODDS
        total = sum(scores.values()) + other
        if total <= 0.0:  # lingua found no letter it knows
            return Language(UNDETERMINED, 0.0)
        if prepared.letters >= OTHER_MIN_LETTERS and other / total >= OTHER_MIN:
            return Language(OTHER, round(other / total, 3))
        configured = total - other
        if configured <= 0.0:  # lingua's rules gave it all to a sentinel ("ß" is German): short, still other
            return Language(OTHER, 1.0)
        best = max(scores, key=scores.__getitem__)
        # Confidence among the configured languages (what a detector restricted to them would say), but a
        # text the sentinels claim, too short to be called "other", cannot be more sure than they leave.
        confidence = scores[best] / configured
        if other / total >= OTHER_MIN:
            confidence = min(confidence, 1.0 - other / total)
        return Language(best, round(confidence, 3))


def _lingua_language(code: str) -> LinguaLanguage:
    try:
        return LinguaLanguage.from_iso_code_639_1(IsoCode639_1.from_str(code.strip().lower()))
    except ValueError:
        raise ValueError(
            f"unknown language code {code!r}: use ISO 639-1 codes lingua knows (fr, en, ar, de, ...)"
        ) from None


def _count_letters(text: str) -> int:
    return sum(map(str.isalpha, text))


def _normalise_hint(hint: str | None) -> str:
    """ "fr-FR" -> "fr", "EN_gb" -> "en", None -> "" (no hint)."""
    if not hint:
        return ""
    return hint.strip().lower().replace("_", "-").split("-", 1)[0]
