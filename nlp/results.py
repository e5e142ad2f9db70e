"""The result types the nlp package hands out (never spaCy objects): plain frozen records, so storage can
keep them and jobs can compare them without importing spaCy."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Span:
    """A piece of the analysed text by character offsets (end exclusive)."""

    start: int
    end: int
    text: str


@dataclass(frozen=True)
class TextParts:
    """A post's text split for analysis: handles, hashtags and URLs pulled out before tokenising."""

    original: str
    clean: str  # the text to analyse: URLs removed, whitespace normalised, emoji kept
    handles: tuple[Span, ...] = ()  # spans in `original`, text without '@'
    hashtags: tuple[Span, ...] = ()  # spans in `original`, text without '#'
    hashtag_words: tuple[str, ...] = ()  # segmented hashtags: "ChezMarcel" -> "Chez Marcel"
    urls: tuple[str, ...] = ()
    emoji: tuple[str, ...] = ()


@dataclass(frozen=True)
class Language:
    code: str  # fr, ar, en, other, und
    confidence: float


@dataclass(frozen=True)
class MerchantEntry:
    """What linking needs to know of one registry merchant."""

    id: int
    name: str
    aliases: tuple[str, ...] = ()
    handles: tuple[tuple[str, str], ...] = ()  # (platform, handle without '@', lower-case)
    website: str | None = None
    city: str | None = None
    blocked: tuple[str, ...] = ()  # aliases a curator said are not this merchant


@dataclass(frozen=True)
class Link:
    merchant_id: int
    method: str  # handle, hashtag, name, alias, domain, fuzzy
    score: float  # 0..1 confidence
    start: int | None
    end: int | None
    surface: str


@dataclass(frozen=True)
class Discovery:
    """A business named in the text that is not in the registry."""

    name: str
    normalized: str
    method: str  # ner, cue
    score: float
    start: int
    end: int


@dataclass(frozen=True)
class Signals:
    first_person: bool = False
    gratitude: bool = False
    recommendation: bool = False
    question: bool = False
    complaint: bool = False
    named_merchant: bool = False
    has_media: bool = False
    length: int = 0
    hashtag_count: int = 0
    link_count: int = 0
    spam_score: float = 0.0
    likely_spam: bool = False
    reasons: tuple[str, ...] = field(default=())
