"""Text → feature strings for the sentiment model, shared by training (scripts/train_sentiment.py) and inference.

One function, `features(text)`, turns any string into the bag of feature strings the linear model scores:
character 2-5-grams inside word boundaries (robust to spelling, elongation and Arabic morphology), word
unigrams and bigrams, negation-scoped words, and emoji/emoticon polarity tokens. Training and inference
call the same code, so the features the shipped weights were fitted on are exactly the ones predicted on.

Normalisation before that: invalid surrogates and control characters become spaces, the text is capped at
`MAX_CHARS` (sentiment of a post is decided long before; this bounds the cost of a 100k-character input),
literal `\\uXXXX` escapes (as in the SemEval English dump) and HTML entities are decoded, NFKC, casefold,
Latin accents stripped, Arabic normalised (`nlp.normalise.normalise_arabic`), any @handle becomes `@user`,
any URL `http` (the placeholders of the training data), and letters repeated 3+ times are squashed to two
("soooo" → "soo", "ههههه" → "هه").

Emoji are strong signals but rare in the training tweets, so besides the emoji itself (a word token), each
emoji or emoticon in `POSITIVE_EMOJI` / `NEGATIVE_EMOJI` also emits a shared polarity token (`<e+>` /
`<e->`) whose weight is learned from every language's examples together.
"""

from __future__ import annotations

import html
import itertools
import re
import unicodedata
from collections.abc import Mapping

from nlp.normalise import normalise_arabic

MAX_CHARS = 5_000
CHAR_MIN, CHAR_MAX = 2, 5

# Lone surrogates (invalid in UTF-8), C0/C1 control characters except tab/newline, and the BOM.
_UNSAFE = re.compile("[\ud800-\udfff\x00-\x08\x0b-\x1f\x7f-\x9f\ufeff]")
_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")
_URL = re.compile(r"(?:https?://|www\.)\S+|\bhttps?\b")  # applied after casefold
_HANDLE = re.compile(r"(?<!\w)@\w+")
_REPEAT = re.compile(r"(\D)\1{2,}")
# Accents off in one pass: every precomposed Latin letter (U+00C0-U+024F) → its letters without marks, combining
# marks (U+0300-U+036F) deleted; same result as nlp.normalise.strip_latin_accents on NFKC text, several times faster.
_FOLD_EXTRA = {"œ": "oe", "æ": "ae", "ß": "ss", "ø": "o", "đ": "d", "ł": "l", "ı": "i"}
_ACCENTS = str.maketrans(
    {
        **{chr(c): None for c in range(0x300, 0x370)},
        **{
            chr(c): "".join(ch for ch in unicodedata.normalize("NFKD", chr(c)) if not unicodedata.combining(ch))
            for c in range(0xC0, 0x250)
        },
        **_FOLD_EXTRA,
    }
)
# Tokens: @user, #hashtags and words (apostrophes kept inside: "aujourd'hui", "don't"), or any single symbol.
_TOKEN = re.compile(r"[@#]?\w+(?:['’]\w+)*|[^\w\s]")
_EMOTICON = re.compile(r"(?<!\S)(?:[:;=]-?[)\]dp*]+|<3+|\^\^|[(\[]+-?[:;=]|[:;=]-?[(\[/\\|]+|</3)(?!\S)")
_EMOTICON_MARKS = (":", ";", "=", "<", "^")
_SAD_EMOTICON = re.compile(r"^(?:[:;=]-?[(\[/\\|]+|</3)$")
_PUNCT_END = frozenset('.,;:!?()[]"«»…')

# Hand-picked emoji with a clear polarity in everyday use (variation selectors are stripped before lookup).
# 😂 and 😭 are deliberately absent: in the training tweets they appear equally in all three classes.
POSITIVE_EMOJI = frozenset(
    "❤♥💕💖💗💓💞💘💝💟😍🥰😘😻😊☺🙂😀😃😄😁😆🤗👍👏🙌💪🎉🎊🥳✨🌟⭐💯✅👌🙏😋🤩💐🌹🌸🌷🏆🥇😇😉😎😌💚💙💜🧡💛🤍🤎"
)
NEGATIVE_EMOJI = frozenset("😡😠🤬👎💔😞😔😟😢😥😰😱😨😩😫😤🙁☹😒😕🤮🤢💩😖😣😪🤦🙄😑😐😬❌🚫⛔😾😿")
_NEGATION_WORDS = (
    # fr
    "ne n pas jamais rien aucun aucune personne ni sans plus guère "
    # en
    "not no never nothing nobody none nor without cannot cant dont doesnt didnt isnt arent wasnt werent "
    "wont wouldnt shouldnt couldnt aint hardly "
    # ar (normalised): la, ma, lam, lan, laysa, mish, mu, mub, bala, ghayr, mafi
    "لا ما لم لن ليس ليست مش مو مب بلا غير مافي مفيش"
)
_NEGATIONS = frozenset(_NEGATION_WORDS.split())
_NEGATION_SCOPE = 3


def clean(text: str) -> str:
    """Safe, normalised form of any string (see the module docstring); never raises on str input."""
    text = _UNSAFE.sub(" ", text[: MAX_CHARS * 2])
    if "\\u" in text:
        text = _ESCAPE.sub(_unescape, text)
        # "\ud83d\ude00" escapes decode to a surrogate pair: join it, and drop whatever stays unpaired.
        text = _UNSAFE.sub(" ", text.encode("utf-16", "surrogatepass").decode("utf-16", "replace"))
    if "&" in text:
        text = html.unescape(text)
    text = text[:MAX_CHARS]
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text).replace("\ufe0f", "").replace("\ufe0e", "")
    text = text.casefold()
    # The cheap `in` tests skip regexes that would find nothing (most posts have no URL, handle or emoticon).
    if "http" in text or "www." in text:
        text = _URL.sub(" http ", text)
    if "@" in text:
        text = _HANDLE.sub(" @user ", text)
    if not text.isascii():
        # Accents off (as nlp.normalise.strip_latin_accents, faster), Arabic spelling variants unified.
        text = normalise_arabic(text.translate(_ACCENTS))
    text = _REPEAT.sub(r"\1\1", text)
    return " ".join(text.split())


def _unescape(match: re.Match[str]) -> str:
    return chr(int(match.group(1), 16))


def char_grams(word: str) -> list[str]:
    """Character 2-5-grams of one word padded with spaces (" word "), so word edges are features."""
    padded = f" {word} "
    size = len(padded)
    return [padded[i : i + n] for n in range(CHAR_MIN, min(CHAR_MAX, size) + 1) for i in range(size - n + 1)]


def word_features(cleaned: str, lexicon: Mapping[str, str] | None = None) -> list[str]:
    """Word unigrams and bigrams, `!`-prefixed words inside a negation's scope, emoji and lexicon polarity tokens.

    `lexicon` maps a (cleaned) word to its polarity token (e.g. "<l+>"); a word in a negation's scope emits the
    token `!`-prefixed, so the model learns what negation does to it.
    """
    if any(mark in cleaned for mark in _EMOTICON_MARKS):
        cleaned = _EMOTICON.sub(_emoticon_token, cleaned)
    tokens = _TOKEN.findall(cleaned)
    feats = [*tokens, *(f"{a} {b}" for a, b in itertools.pairwise(tokens))]
    scope = 0
    for token in tokens:
        if token in _PUNCT_END:
            scope = 0
        polarity = lexicon.get(token) if lexicon else None
        if scope:
            feats.append("!" + token)
            if polarity:
                feats.append("!" + polarity)
            scope -= 1
        elif polarity:
            feats.append(polarity)
        if token in _NEGATIONS or token.endswith("n't"):
            scope = _NEGATION_SCOPE
        if len(token) == 1:
            if token in POSITIVE_EMOJI:
                feats.append("<e+>")
            elif token in NEGATIVE_EMOJI:
                feats.append("<e->")
    return feats


def _emoticon_token(match: re.Match[str]) -> str:
    return " ☹ " if _SAD_EMOTICON.match(match.group(0)) else " ☺ "


def features(text: str, lexicon: Mapping[str, str] | None = None) -> tuple[list[str], list[str]]:
    """(char n-grams, word features) of a raw text; both empty for a text with no words."""
    cleaned = clean(text)
    words = cleaned.split(" ") if cleaned else []
    chars = [gram for word in words for gram in char_grams(word)]
    return chars, word_features(cleaned, lexicon)
