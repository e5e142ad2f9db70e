"""Discovery of businesses that are not in the registry: cue patterns in French, English and Arabic
("chez X", "la boulangerie X", "X bakery", "مخبز X", "مطعم X", "محل X" ...) and, for French, the ORG spans
of spaCy's NER (passed in by the pipeline). Names already linked to a merchant are not "discovered".

Discovered names are grouped by `normalise_name`, so "Chez Tonton", "chez tonton" and "CHEZ TONTON" are one
entry for the curators' review.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import lru_cache

from nlp.normalise import normalise_name
from nlp.results import Discovery, Link

_KINDS_FR = "|".join(
    (
        "boulangerie",
        "pâtisserie",
        "patisserie",
        "épicerie",
        "epicerie",
        "boucherie",
        "fromagerie",
        "librairie",
        "restaurant",
        "café",
        "cafe",
        "bar",
        "boutique",
        "brasserie",
        "bistrot",
        "cave",
        "fleuriste",
        "pharmacie",
        "poissonnerie",
        "crêperie",
        "creperie",
        "pizzeria",
        "salon",
        "atelier",
        "magasin",
        "traiteur",
    )
)
_KINDS_EN = "|".join(
    (
        "bakery",
        "cafe",
        "café",
        "coffee shop",
        "coffee",
        "restaurant",
        "bookshop",
        "bookstore",
        "butcher",
        "grocery",
        "grocer",
        "deli",
        "florist",
        "pharmacy",
        "bistro",
        "bar",
        "shop",
        "store",
        "market",
        "diner",
        "pizzeria",
        "salon",
    )
)
_KINDS_AR = "|".join(
    (
        "مخبز",
        "مخبزة",
        "مطعم",
        "محل",
        "مقهى",
        "متجر",
        "دكان",
        "صيدلية",
        "حلويات",
        "مكتبة",
        "سوق",
    )
)
# A name: 1-4 capitalised words (Latin), possibly joined by short particles ("de", "du", "des", "&").
_NAME_BODY = r"[A-ZÀ-ÖØ-Þ0-9][\w'’.-]*(?:\s+(?:(?:de|du|des|d'|la|le|&|and|of)\s+)?[A-ZÀ-ÖØ-Þ0-9][\w'’.-]*){0,3}"
_NAME = rf"(?P<name>{_NAME_BODY})"
_AR_STOPS = "على|في|من|مع|عند|الى|إلى|عن|ثم|لكن"
_AR_WORD = rf"(?!(?:{_AR_STOPS})(?:\s|$))(?:ال)?[\u0621-\u064a]{{2,}}"
_AR_NAME = rf"(?P<name>{_AR_WORD}(?:\s+{_AR_WORD}){{0,2}})"

_PATTERNS: tuple[tuple[re.Pattern[str], float], ...] = (
    (re.compile(rf"\bchez\s+{_NAME}"), 0.7),
    (re.compile(rf"(?i:\b(?:la|le|l'|notre|ma|mon|une?)\s*(?:{_KINDS_FR}))\s+{_NAME}"), 0.75),
    (re.compile(rf"(?i:\b(?:{_KINDS_FR}))\s+{_NAME}"), 0.6),
    (re.compile(rf"(?P<name>{_NAME_BODY}\s+(?i:(?:{_KINDS_EN})))\b"), 0.65),
    (re.compile(rf"(?i:\b(?:at|from)\s+the)\s+{_NAME}"), 0.5),
    (re.compile(rf"(?:{_KINDS_AR})\s+{_AR_NAME}"), 0.7),
)
# Words that end a name rather than belong to it (sentence starters after the cue, pronouns...).
_STOP_WORDS = (
    "Je J Il Elle On Nous Vous Ils Merci Thanks I We It This Super Top Great Good Best Amazing Nice Lovely "
    "Delicious Excellent Local My Our Your Très Tres Vraiment Really Bravo Very"
)
_STOP = frozenset(normalise_name(w) for w in _STOP_WORDS.split(" "))
# A "name" made only of these is no name: "la boulangerie", "the bakery", "مخبز".
_GENERIC = frozenset(
    normalise_name(part)
    for w in "|".join((_KINDS_FR, _KINDS_EN, _KINDS_AR, "le|la|les|l|du|de|des|un|une|the|a|an|of|au|aux")).split("|")
    for part in w.split()
)
# Arabic words that end a name: prepositions and conjunctions ("مطعم الياسمين على العشاء" -> "الياسمين").
_AR_STOP = frozenset(
    normalise_name(w) for w in ["على", "في", "من", "مع", "عند", "الى", "إلى", "عن", "و", "ثم", "لكن", "الذي", "التي"]
)
_MAX_CHARS = 20_000


# Single words repeat across posts; normalising each again was a visible share of the analysis.
_word = lru_cache(maxsize=32_768)(normalise_name)


def _trim(name: str, *, leading: bool = True) -> str:
    words = name.split()
    for i, word in enumerate(words):
        if _word(word) in _AR_STOP:
            words = words[:i]
            break
    while words and _word(words[-1]) in _STOP:
        words.pop()
    while leading and words and _word(words[0]) in _STOP:
        words.pop(0)
    # Only kind-of-shop words and articles left ("coffee", "la boulangerie"): no name was given.
    if all(_word(w) in _GENERIC for w in words):
        return ""
    return " ".join(words).strip(" .,'’-")


def discover(
    text: str, links: Sequence[Link] = (), ner_orgs: Iterable[tuple[int, int]] = (), ner_score: float = 0.55
) -> list[Discovery]:
    """Business names in `text` that no link explains, by cue pattern and by NER ORG span."""
    text = text[:_MAX_CHARS]
    taken = [(link.start, link.end) for link in links if link.start is not None and link.end is not None]
    linked_names = {normalise_name(link.surface) for link in links}
    found: dict[str, Discovery] = {}

    def add(start: int, end: int, method: str, score: float) -> None:
        raw = text[start:end]
        name = _trim(raw, leading=method == "cue")
        if not name:
            return
        start += raw.find(name)
        normalized = normalise_name(name)
        if len(normalized) < 3 or normalized in linked_names or normalized in _STOP:
            return
        end = start + len(name)
        if any(s < end and start < e for s, e in taken if s is not None and e is not None):
            return
        current = found.get(normalized)
        if current is None or score > current.score:
            found[normalized] = Discovery(name, normalized, method, score, start, end)

    for pattern, score in _PATTERNS:
        for match in pattern.finditer(text):
            add(match.start("name"), match.end("name"), "cue", score)
    for start, end in ner_orgs:
        add(start, end, "ner", ner_score)
    return sorted(found.values(), key=lambda d: d.start)
