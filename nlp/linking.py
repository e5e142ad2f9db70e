"""Merchant linking: which registry merchants a post names, how (method), how surely (score) and where (span).

Methods, most certain first: a handle of the merchant on the post's platform (`handle`), a hashtag equal to
its name, alias or handle (`hashtag`), a link to its website's domain (`domain`), its name or an alias as a
phrase of the normalised text (`name`, `alias`), and a fuzzy fallback (rapidfuzz) tried only on candidate
spans (after a cue such as "chez", or a run of capitalised words) that no exact method explained.

Matching is on normalised tokens (case, accents, Arabic harakat/tatweel/letter variants folded) with Arabic
clitics stripped on both sides (و ف ب ل ك and the article ال), so "لمخبز الأمل" finds "مخبز الأمل". A name made
only of common words ("Le Comptoir", "Café Central") needs context, the merchant's city, one of its handles
or the campaign hashtag, to get a high score; alone it gets a low one. Aliases a curator blocked never link.

Exclusions are corrections too: (merchant, alias) pairs a curator accepted as "not this merchant" (a merchant
flagged a mention). The analyse job hands them over as plain data (`MerchantIndex.exclude`); a link to that
merchant whose matched text has the same key (`exclusion_key`: normalised, clitics stripped, spaces removed,
so "#TroisEpis", "@troisepis" and "Trois Épis" agree) is dropped, whatever the method. One set lookup per
candidate link, and nothing at all while there is no exclusion.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlsplit

from rapidfuzz import fuzz, process

from nlp.normalise import normalise_name
from nlp.results import Link, MerchantEntry, TextParts

# Word tokens: letters/digits plus the combining marks (Latin accents, Arabic harakat) and tatweel inside them.
_TOKEN = re.compile(r"(?:[^\W_]|[\u0300-\u036f\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0640])+")
_ARABIC_PREFIXES = ("و", "ف")
_ARABIC_PREPOSITIONS = ("ب", "ل", "ك")

# Words that make a name "common" (they name a kind of shop or are articles), by normalised form.
COMMON_WORDS = frozenset(
    normalise_name(w)
    for w in (
        "le la les l du de des d au aux chez et the of and a an at",
        "comptoir café cafe bar boulangerie patisserie pâtisserie épicerie epicerie boucherie fromagerie",
        "librairie restaurant resto bistrot brasserie boutique atelier maison marché marche cave halles",
        "coffee shop bakery store market kitchen grocery deli house corner central",
        "مخبز مقهى مطعم محل سوق دكان حلويات متجر",
        "petit petite grand grande bon bonne vieux vieille nouveau nouvelle quartier village ville port",
    )
    for w in w.split()
)
_ARTICLES = frozenset({"le", "la", "les", "l", "the"})
NAME_SCORE = 0.9
ALIAS_SCORE = 0.85
COMMON_ALONE_SCORE = 0.4
COMMON_IN_CONTEXT_SCORE = 0.8
FUZZY_CUTOFF = 88.0
_CUES = frozenset(
    normalise_name(w)
    for w in [
        "chez",
        "at",
        "à",
        "a",
        "boulangerie",
        "café",
        "cafe",
        "épicerie",
        "restaurant",
        "مخبز",
        "مقهى",
        "مطعم",
        "محل",
    ]
)


def stem(token: str) -> str:
    """A normalised token without Arabic clitics (conjunction, preposition, article); Latin unchanged."""
    if not token or not ("\u0600" <= token[0] <= "\u06ff"):
        return token
    t = token
    if len(t) > 3 and t.startswith(_ARABIC_PREFIXES):
        t = t[1:]
    if t.startswith("لل") and len(t) > 4:  # ل + ال contracted: للمخبز
        return t[2:]
    if len(t) > 3 and t.startswith(_ARABIC_PREPOSITIONS) and not t.startswith("ال"):
        t = t[1:]
    if t.startswith("ال") and len(t) > 3:
        t = t[2:]
    return t


@dataclass(frozen=True)
class Token:
    text: str  # normalised and stemmed
    start: int
    end: int
    capitalised: bool


@lru_cache(maxsize=65_536)
def _word_keys(raw: str) -> tuple[str, ...]:
    # normalise_name may split one raw token (ligatures, odd marks) into several pieces. Cached: posts
    # repeat the same few thousand words, and normalising was a tenth of the whole analysis.
    return tuple(stem(piece) for piece in normalise_name(raw).split())


def tokens(text: str) -> list[Token]:
    out = []
    for match in _TOKEN.finditer(text):
        raw = match.group()
        capitalised = raw[:1].isupper()
        # The span stays the raw token's whatever the pieces.
        for key in _word_keys(raw):
            out.append(Token(key, match.start(), match.end(), capitalised))
    return out


def _key(text: str) -> tuple[str, ...]:
    return tuple(stem(t) for t in normalise_name(text).split())


def _squash(text: str) -> str:
    return "".join(_key(text))


@lru_cache(maxsize=65_536)
def exclusion_key(alias: str) -> str:
    """The key under which an excluded alias is compared with a link's matched text (cached: the same few
    surfaces link again and again)."""
    return _squash(alias)


def _host(url: str) -> str | None:
    if "://" not in url:
        url = f"https://{url}"
    host = (urlsplit(url).hostname or "").casefold()
    return host.removeprefix("www.") or None


@dataclass(frozen=True)
class _Phrase:
    merchant_id: int
    tokens: tuple[str, ...]
    method: str  # name or alias
    common: bool


class MerchantIndex:
    """The registry prepared for linking; build once per registry version, share across posts."""

    def __init__(self, merchants: Iterable[MerchantEntry], campaign_hashtags: Iterable[str] = ()) -> None:
        self.merchants = {m.id: m for m in merchants}
        self.version = ""  # set by the pipeline builder: which registry state this index reflects
        self.campaign_hashtags = frozenset(_squash(t) for t in campaign_hashtags)
        self._handles: dict[str, dict[str, int]] = {}  # handle -> platform -> id
        self._hashtags: dict[str, int] = {}
        self._domains: dict[str, int] = {}
        self._phrases: dict[str, list[_Phrase]] = {}  # first token -> phrases
        self._blocked: dict[int, frozenset[tuple[str, ...]]] = {}
        self._cities: dict[int, tuple[str, ...]] = {}
        self._fuzzy_names: list[str] = []
        self._fuzzy_ids: list[tuple[int, str]] = []
        self._excluded: frozenset[tuple[int, str]] = frozenset()
        for m in self.merchants.values():
            self._add(m)

    def exclude(self, pairs: Iterable[tuple[int, str]]) -> None:
        """From now on, never link merchant `id` through text whose key is that of `alias` (pairs of id, alias);
        replaces the previous exclusions."""
        self._excluded = frozenset((merchant_id, key) for merchant_id, alias in pairs if (key := exclusion_key(alias)))

    def _add(self, m: MerchantEntry) -> None:
        self._blocked[m.id] = frozenset(_key(b) for b in m.blocked)
        if m.city:
            self._cities[m.id] = _key(m.city)
        for platform, handle in m.handles:
            bare = handle.casefold().lstrip("@")
            self._handles.setdefault(bare, {})[platform] = m.id
            self._handles.setdefault(bare.split("@")[0], {}).setdefault(platform, m.id)  # mastodon user@instance
            self._hashtags.setdefault(_squash(bare), m.id)
        if m.website:
            host = _host(m.website)
            if host:
                self._domains[host] = m.id
        for text, method in [(m.name, "name"), *((a, "alias") for a in m.aliases)]:
            key = _key(text)
            if not key or key in self._blocked[m.id]:
                continue
            variants = [key]
            if len(key) > 1 and key[0] in _ARTICLES:
                variants.append(key[1:])  # "au Comptoir", "du Comptoir" for "Le Comptoir"
            for variant in variants:
                common = all(t in COMMON_WORDS for t in variant) or (len(variant) == 1 and len(variant[0]) <= 3)
                self._phrases.setdefault(variant[0], []).append(_Phrase(m.id, variant, method, common))
            # Hashtags of the name, and of the name without its leading kind-of-shop words:
            # #BoulangerieLesTroisEpis, #LesTroisEpis, #TroisEpis.
            for k in range(len(key)):
                if any(t not in COMMON_WORDS for t in key[k:]):
                    self._hashtags.setdefault("".join(key[k:]), m.id)
            self._fuzzy_names.append(" ".join(key))
            self._fuzzy_ids.append((m.id, method))
        for phrases in self._phrases.values():
            phrases.sort(key=lambda p: -len(p.tokens))  # longest match first

    def __len__(self) -> int:
        return len(self.merchants)

    # --- exact methods ----------------------------------------------------------------------------

    def _by_handle(self, parts: TextParts, platform: str | None) -> list[Link]:
        links = []
        for span in parts.handles:
            owners = self._handles.get(span.text.casefold()) or self._handles.get(span.text.casefold().split("@")[0])
            if not owners:
                continue
            if platform and platform in owners:
                links.append(Link(owners[platform], "handle", 0.99, span.start, span.end, span.text))
            else:
                merchant_id = next(iter(owners.values()))
                links.append(Link(merchant_id, "handle", 0.85, span.start, span.end, span.text))
        return links

    def _by_hashtag(self, parts: TextParts) -> list[Link]:
        links = []
        for span in parts.hashtags:
            merchant_id = self._hashtags.get(_squash(span.text))
            if merchant_id is not None:
                links.append(Link(merchant_id, "hashtag", 0.95, span.start, span.end, span.text))
        return links

    def _by_domain(self, urls: Sequence[str]) -> list[Link]:
        links = []
        for url in urls:
            host = _host(url)
            while host:
                merchant_id = self._domains.get(host)
                if merchant_id is not None:
                    links.append(Link(merchant_id, "domain", 0.97, None, None, url))
                    break
                host = host.partition(".")[2] if host.count(".") > 1 else None
        return links

    def _context(self, merchant_id: int, toks: Sequence[Token], linked: set[int], has_campaign_tag: bool) -> bool:
        city = self._cities.get(merchant_id)
        if city and _contains(toks, city):
            return True
        return merchant_id in linked or has_campaign_tag

    def _by_phrase(
        self, toks: Sequence[Token], linked: set[int], has_campaign_tag: bool
    ) -> tuple[list[Link], set[int]]:
        links: list[Link] = []
        covered: set[int] = set()
        i = 0
        while i < len(toks):
            matched = 0
            for phrase in self._phrases.get(toks[i].text, ()):
                n = len(phrase.tokens)
                if tuple(t.text for t in toks[i : i + n]) != phrase.tokens:
                    continue
                if phrase.tokens in self._blocked.get(phrase.merchant_id, frozenset()):
                    continue
                if phrase.common:
                    in_context = self._context(phrase.merchant_id, toks, linked, has_campaign_tag)
                    score = COMMON_IN_CONTEXT_SCORE if in_context else COMMON_ALONE_SCORE
                else:
                    score = NAME_SCORE if phrase.method == "name" else ALIAS_SCORE
                start, end = toks[i].start, toks[i + n - 1].end
                links.append(Link(phrase.merchant_id, phrase.method, score, start, end, ""))
                matched = max(matched, n)
            if matched:
                covered.update(range(i, i + matched))
                i += matched
            else:
                i += 1
        return links, covered

    # --- fuzzy fallback on candidate spans ----------------------------------------------------------

    def _candidates(self, toks: Sequence[Token], covered: set[int]) -> list[tuple[int, int]]:
        spans = []
        i = 0
        while i < len(toks):
            if i in covered:
                i += 1
                continue
            after_cue = i > 0 and toks[i - 1].text in _CUES
            if toks[i].capitalised or after_cue:
                j = i
                while j < len(toks) and j - i < 4 and j not in covered and (toks[j].capitalised or j == i):
                    j += 1
                spans.append((i, j))
                i = j
            else:
                i += 1
        return spans

    def _by_fuzzy(self, toks: Sequence[Token], covered: set[int], text: str) -> list[Link]:
        if not self._fuzzy_names:
            return []
        links = []
        for i, j in self._candidates(toks, covered):
            for end in range(j, i, -1):  # longest candidate first
                candidate = " ".join(t.text for t in toks[i:end])
                if len(candidate) < 4:
                    continue
                best = process.extractOne(candidate, self._fuzzy_names, scorer=fuzz.ratio, score_cutoff=FUZZY_CUTOFF)
                if best is None:
                    continue
                merchant_id, _ = self._fuzzy_ids[best[2]]
                start, stop = toks[i].start, toks[end - 1].end
                links.append(Link(merchant_id, "fuzzy", round(0.75 * best[1] / 100, 3), start, stop, text[start:stop]))
                break
        return links

    # --- entry point ----------------------------------------------------------------------------------

    def link(self, parts: TextParts, platform: str | None = None) -> list[Link]:
        """All merchants the post names, one link per merchant (its most certain evidence)."""
        text = parts.original
        exact = self._by_handle(parts, platform) + self._by_hashtag(parts) + self._by_domain(parts.urls)
        linked = {link.merchant_id for link in exact}
        has_campaign_tag = any(_squash(h.text) in self.campaign_hashtags for h in parts.hashtags)
        toks = tokens(text)
        phrases, covered = self._by_phrase(toks, linked, has_campaign_tag)
        phrases = [
            Link(p.merchant_id, p.method, p.score, p.start, p.end, text[p.start or 0 : p.end or 0]) for p in phrases
        ]
        fuzzy = self._by_fuzzy(toks, covered, text)
        found = exact + phrases + fuzzy
        if self._excluded:
            found = [link for link in found if (link.merchant_id, exclusion_key(link.surface)) not in self._excluded]
        best: dict[int, Link] = {}
        for link in found:
            current = best.get(link.merchant_id)
            if current is None or link.score > current.score:
                best[link.merchant_id] = link
        return sorted(best.values(), key=lambda link: (-link.score, link.start or 0))


def _contains(toks: Sequence[Token], phrase: tuple[str, ...]) -> bool:
    n = len(phrase)
    texts = [t.text for t in toks]
    return any(tuple(texts[i : i + n]) == phrase for i in range(len(texts) - n + 1))
