"""Text normalisation for matching names across spellings, accents and scripts.

Merchant names arrive as "Boulangerie Les Trois Épis", "boulangerie les trois epis" or "مخبز الأمل" with or
without harakat; the registry key and the linker must see them as the same name. Only the standard library
(`unicodedata`) is used: the usual transliteration packages are GPL and the project stays permissive.
"""

from __future__ import annotations

import re
import unicodedata

# Arabic diacritics (harakat, shadda, sukun, superscript alef, Quranic marks) and tatweel.
_ARABIC_MARKS = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0640]")
_ALEF_FORMS = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ة": "ه", "ى": "ي", "ؤ": "و", "ئ": "ي"})
_ARABIC_LETTER = re.compile("[\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff\ufb50-\ufdff\ufe70-\ufeff]")
_NON_WORD = re.compile(r"[^\w]+", re.UNICODE)
_SPACES = re.compile(r"\s+")
# Latin ligatures and letters NFKD does not decompose into base + mark.
_LATIN_FOLD = str.maketrans({"œ": "oe", "æ": "ae", "ß": "ss", "ø": "o", "đ": "d", "ł": "l", "ı": "i"})


def has_arabic(text: str) -> bool:
    return _ARABIC_LETTER.search(text) is not None


def normalise_arabic(text: str) -> str:
    """Strip harakat and tatweel; unify alef forms, ة → ه, ى → ي (the spelling variants people type)."""
    return _ARABIC_MARKS.sub("", text).translate(_ALEF_FORMS)


def strip_latin_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    # Arabic marks are handled by normalise_arabic; only drop combining marks on non-Arabic letters here.
    kept = [ch for ch in decomposed if not (unicodedata.combining(ch) and not ("\u0600" <= ch <= "\u06ff"))]
    return unicodedata.normalize("NFC", "".join(kept)).translate(_LATIN_FOLD)


def normalise_name(text: str) -> str:
    """Case-, accent-, punctuation- and spacing-insensitive form of a name, in any script.

    >>> normalise_name("  Boulangerie Les Trois-Épis ")
    'boulangerie les trois epis'
    >>> normalise_name("مَخْبَز الأمل")
    'مخبز الامل'
    """
    text = unicodedata.normalize("NFKC", text).casefold()
    text = normalise_arabic(strip_latin_accents(text))
    text = _NON_WORD.sub(" ", text).replace("_", " ")
    return _SPACES.sub(" ", text).strip()
