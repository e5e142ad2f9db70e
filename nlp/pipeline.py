"""The analysis pipeline: language -> text split -> merchant links + discovered businesses -> sentiment ->
story signals, assembled once by `build_pipeline` and handing out `PostAnalysis` records (never spaCy objects).

The stages after the language are spaCy components (`@Language.factory`) writing `Doc._` extensions.
French posts go through `fr_core_news_sm` with only its NER (and the tok2vec it needs) kept, which is ~2.5x
faster than the full pipeline and gives the ORG spans discovery uses; Arabic, English and other posts go
through a blank multilingual pipeline with the same components (there is no trustworthy trained pipeline
for them on the package index). The model is loaded once per process (5-8 s).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from importlib.metadata import version

import spacy
from spacy.language import Language
from spacy.tokens import Doc

from nlp.discovery import discover
from nlp.language import LanguageDetector
from nlp.linking import MerchantIndex
from nlp.results import Discovery, Link, MerchantEntry, Signals, TextParts
from nlp.results import Language as DetectedLanguage
from nlp.sentiment import Sentiment, SentimentModel
from nlp.signals import fingerprint, story_signals
from nlp.text import split_text

FRENCH_MODEL = "fr_core_news_sm"
PIPELINE_REVISION = "1"
MAX_ANALYSED_CHARS = 20_000  # beyond this a post is analysed on its beginning (it is kept whole)

for _name in (
    "parts", "platform", "has_media", "language", "links", "discoveries", "sentiment", "signals", "sentiment_text",
):  # fmt: skip
    if not Doc.has_extension(_name):
        Doc.set_extension(_name, default=None)


@dataclass(frozen=True)
class PostInput:
    text: str
    platform: str | None = None
    language_hint: str | None = None
    has_media: bool = False


@dataclass(frozen=True)
class PostAnalysis:
    language: DetectedLanguage
    sentiment: Sentiment
    links: tuple[Link, ...]
    discoveries: tuple[Discovery, ...]
    signals: Signals
    parts: TextParts
    fingerprint: str
    pipeline_version: str


class LinkComponent:
    """Links the registry's merchants (the index is attached after construction: it is not config)."""

    def __init__(self) -> None:
        self.index = MerchantIndex([])

    def __call__(self, doc: Doc) -> Doc:
        ext = doc._  # each `doc._` builds a new accessor object: take it once per component
        ext.links = self.index.link(ext.parts, ext.platform)
        return doc


class DiscoveryComponent:
    def __call__(self, doc: Doc) -> Doc:
        # The doc is the post's original text, so NER spans, link spans and discoveries share offsets.
        orgs = [(ent.start_char, ent.end_char) for ent in doc.ents if ent.label_ == "ORG"]
        ext = doc._
        ext.discoveries = discover(doc.text, ext.links, orgs) if doc.text.strip() else []
        return doc


class SentimentComponent:
    def __init__(self) -> None:
        self.model: SentimentModel | None = None

    def __call__(self, doc: Doc) -> Doc:
        return next(iter(self.pipe([doc])))

    def pipe(self, docs: Iterable[Doc], batch_size: int = 256) -> Iterator[Doc]:
        assert self.model is not None, "the sentiment model is attached by build_pipeline"
        batch: list[Doc] = []
        for doc in docs:
            batch.append(doc)
            if len(batch) >= batch_size:
                yield from self._predict(batch)
                batch = []
        if batch:
            yield from self._predict(batch)

    def _predict(self, docs: list[Doc]) -> list[Doc]:
        assert self.model is not None
        exts = [d._ for d in docs]
        results = self.model.predict_many([e.sentiment_text for e in exts], [e.language.code for e in exts])
        for ext, result in zip(exts, results, strict=True):
            ext.sentiment = result
        return docs


class SignalsComponent:
    def __call__(self, doc: Doc) -> Doc:
        ext = doc._
        ext.signals = story_signals(
            ext.parts, ext.language.code, has_media=bool(ext.has_media), named_merchant=bool(ext.links)
        )
        return doc


@Language.factory("listener_links")
def _links(nlp: Language, name: str) -> LinkComponent:
    return LinkComponent()


@Language.factory("listener_discovery")
def _discovery(nlp: Language, name: str) -> DiscoveryComponent:
    return DiscoveryComponent()


@Language.factory("listener_sentiment")
def _sentiment(nlp: Language, name: str) -> SentimentComponent:
    return SentimentComponent()


@Language.factory("listener_signals")
def _signals(nlp: Language, name: str) -> SignalsComponent:
    return SignalsComponent()


_COMPONENTS = ("listener_links", "listener_discovery", "listener_sentiment", "listener_signals")


def registry_version(merchants: Sequence[MerchantEntry]) -> str:
    digest = hashlib.sha256(
        repr(sorted((m.id, m.name, m.aliases, m.handles, m.website, m.blocked) for m in merchants)).encode()
    )
    return digest.hexdigest()[:10]


def _safe(item: PostInput) -> PostInput:
    """Lone surrogates (valid in Python, not in UTF-8) crash spaCy's tokenizer: each becomes "?", one
    character for one, so every offset the stages report still points into the post's text."""
    try:
        item.text.encode("utf-8")
    except UnicodeEncodeError:
        return replace(item, text=item.text.encode("utf-8", "replace").decode("utf-8"))
    return item


class Pipeline:
    def __init__(
        self,
        french: Language,
        other: Language,
        detector: LanguageDetector,
        sentiment: SentimentModel,
        index: MerchantIndex,
        version_tag: str,
        campaign_hashtags: Iterable[str] = (),
    ) -> None:
        self._campaign_tags = frozenset(t.casefold().lstrip("#") for t in campaign_hashtags)
        self.french = french
        self._other = other
        self.detector = detector
        self.sentiment = sentiment
        self.registry_version = index.version
        self._index = index
        for nlp in (french, other):
            nlp.get_pipe("listener_links").index = index  # type: ignore[attr-defined]
            nlp.get_pipe("listener_sentiment").model = sentiment  # type: ignore[attr-defined]
        self.version = version_tag

    def exclude(self, pairs: Iterable[tuple[int, str]]) -> None:
        """The (merchant id, alias) pairs curators accepted as "not this merchant": never linked again (see
        `MerchantIndex.exclude`); the analyse job sets them before each run."""
        self._index.exclude(pairs)

    def _doc(self, nlp: Language, item: PostInput, parts: TextParts, language: DetectedLanguage) -> Doc:
        doc = nlp.make_doc(parts.original[:MAX_ANALYSED_CHARS])
        ext = doc._
        ext.parts = parts
        ext.platform = item.platform
        ext.has_media = item.has_media
        ext.language = language
        ext.sentiment_text = self._sentiment_text(parts)
        return doc

    def _sentiment_text(self, parts: TextParts) -> str:
        """The clean text without the campaign's own hashtags: "#LoveLocal" is on every campaign post and
        says nothing about how its author feels (read as words, it would tip every post positive)."""
        text = parts.clean
        for span, words in zip(parts.hashtags, parts.hashtag_words, strict=False):
            if span.text.casefold() in self._campaign_tags:
                text = text.replace(words, " ", 1)
        return " ".join(text.split())

    def analyse_many(self, items: Sequence[PostInput], batch_size: int = 256) -> list[PostAnalysis]:
        items = [_safe(item) for item in items]
        parts = [split_text(item.text) for item in items]
        languages = self.detector.detect_many([item.text for item in items], [item.language_hint for item in items])
        out: list[PostAnalysis | None] = [None] * len(items)
        for nlp, wanted in ((self.french, True), (self._other, False)):
            indexes = [i for i, lang in enumerate(languages) if (lang.code == "fr") == wanted]
            docs = [self._doc(nlp, items[i], parts[i], languages[i]) for i in indexes]
            for i, doc in zip(indexes, nlp.pipe(docs, batch_size=batch_size), strict=True):
                ext = doc._
                out[i] = PostAnalysis(
                    language=ext.language,
                    sentiment=ext.sentiment,
                    links=tuple(ext.links),
                    discoveries=tuple(ext.discoveries),
                    signals=ext.signals,
                    parts=parts[i],
                    fingerprint=fingerprint(parts[i].original),
                    pipeline_version=self.version,
                )
        return [a for a in out if a is not None]

    def analyse(self, item: PostInput) -> PostAnalysis:
        return self.analyse_many([item])[0]


def _french_ner_only() -> Language:
    # NER-only: the other components cost time and memory the analysis does not use.
    return spacy.load(
        FRENCH_MODEL, exclude=["tagger", "morphologizer", "parser", "attribute_ruler", "lemmatizer", "senter"]
    )


def build_pipeline(
    languages: Sequence[str],
    merchants: Sequence[MerchantEntry],
    campaign_hashtags: Iterable[str] = (),
    *,
    sentiment: SentimentModel | None = None,
    french: Language | None = None,
    detector: LanguageDetector | None = None,
) -> Pipeline:
    """The one place the analysis is assembled. `sentiment`, `french` and `detector` let a process reuse
    what it already loaded (seconds each) when only the registry changed."""
    fr = french or _french_ner_only()
    other = spacy.blank("xx")
    for nlp in (fr, other):
        for name in _COMPONENTS:
            if name not in nlp.pipe_names:
                nlp.add_pipe(name)
    model = sentiment or SentimentModel.load()
    tag = (
        f"nlp-{PIPELINE_REVISION};{FRENCH_MODEL}-{version('fr-core-news-sm')};lingua-{version('lingua-language-detector')};"
        f"{model.version};registry-{registry_version(merchants)}"
    )
    tags = list(campaign_hashtags)
    index = MerchantIndex(merchants, tags)
    index.version = registry_version(merchants)
    return Pipeline(fr, other, detector or LanguageDetector(tuple(languages)), model, index, tag, tags)
