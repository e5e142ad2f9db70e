"""Split a post's text into what the later stages need: @handles, #hashtags, URLs, emoji and a clean text.

Handles and hashtags are pulled out before tokenising (spaCy splits ``#LoveLocal`` into two tokens), and
the merchant linker matches them exactly on their spans while it matches names on ``clean``.

Choices, so every stage reads the text the same way:

- Spans index ``original`` (the text exactly as given) and hold the text *without* its sigil, so
  ``original[span.start:span.end] == span.text`` and the sigil sits at ``span.start - 1``. Case is kept.
- Handles: X/Instagram ``@name``, Bluesky ``@alice.bsky.social`` and Mastodon ``@user@instance.tld``
  (the span text is ``user@instance.tld``). ASCII only, as on those platforms; ``contact@shop.fr`` is an
  e-mail address, not a handle.
- Hashtags: ``#`` (or the full-width ``＃``) then Unicode letters, digits, underscores and combining marks
  (Arabic harakat), with at least one letter: ``#1`` and ``#2026`` are not hashtags, ``#1erMai`` is.
  Not inside URLs (``site.fr/page#top``), not after a word character (``C#``) or ``&`` (``&#39;``).
- URLs: ``http(s)://`` and bare ``www.``; trailing punctuation and unbalanced closing brackets stay out.
- ``clean`` is the text to analyse: URLs removed; ``@troisepis`` reads ``troisepis`` (the Mastodon
  instance dropped); ``#BoulangerieDuPort`` reads ``Boulangerie Du Port`` (segmented, so names match and
  NER sees words); emoji kept; control, bidi and zero-width characters and lone surrogates removed; NFC;
  runs of spaces become one space and runs of line breaks one ``\\n`` (a line break often ends a
  sentence in a post, and NER should not run a name into the next line). Its offsets are not those of
  ``original``: locate things in ``original`` through the spans.
- Work is capped: only the first ``MAX_CHARS`` characters are scanned (the longest X post is 25,000).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from functools import lru_cache

from nlp.results import Span, TextParts

MAX_CHARS = 25_000

# Characters a URL may hold. Quotes, angle brackets, spaces, "…" (truncated tweets) and non-Latin letters
# end it: "https://t.co/xمخبز" or "https://t.co/x❤️" should not swallow the next word.
_URL_CHAR = r"[!#$%&()*+,\-./0-9:;=?@A-Z\[\]_a-z~\u00c0-\u024f]"
_URL = rf"(?P<url>(?<![\w@])(?i:https?://|(?<![./])www\.){_URL_CHAR}+)"
# Mastodon's username shape ([a-z0-9_]+ with inner dots/hyphens), optionally @instance.domain.
# Possessive quantifiers: no backtracking, whatever the input.
_HANDLE = (
    r"(?<![\w@])@(?P<handle>[A-Za-z0-9_]++(?:[.\-]++[A-Za-z0-9_]++)*+"
    r"(?:@[A-Za-z0-9\-]++(?:\.[A-Za-z0-9\-]++)++)?)(?![\w@])"
)
# \w misses combining marks: Arabic harakat and decomposed Latin accents belong to the tag.
_TAG_CHAR = r"(?:\w|[\u0300-\u036f\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06dc\u06df-\u06e8\u06ea-\u06ed])"
_HASHTAG = rf"(?<![\w&#＃])[#＃](?P<tag>{_TAG_CHAR}+)"
# The leading lookahead lets the regex engine skip to candidate characters (5x faster on typical posts).
_ENTITIES = re.compile(f"(?=[@#＃hHwW])(?:{_URL}|{_HANDLE}|{_HASHTAG})")
_LETTER = re.compile(r"[^\W\d_]")

_MAX_SEGMENTED = 280  # longer "hashtags" are noise: left as they are
_URL_TRAILING = frozenset(".,;:!?*'")
_CLOSERS = {")": "(", "]": "["}

# Emoji: default-emoji code points; text-default ones only with the emoji presentation selector (so "™" in
# "Café Zitouna™" is not an emoji); flags, keycaps, skin tones, tag sequences and ZWJ families as one unit.
_EMOJI_DEFAULT = "[\u231a\u231b\u23e9-\u23ec\u23f0\u23f3\u25fd\u25fe\u2600-\u27bf\u2b50\u2b55\U0001f000-\U0001faff]"
_EMOJI_TEXT = (
    "[\u00a9\u00ae\u203c\u2049\u2122\u2139\u2194-\u2199\u21a9\u21aa\u2328\u23cf\u23ed-\u23ef\u23f1\u23f2"
    "\u23f8-\u23fa\u24c2\u25aa\u25ab\u25b6\u25c0\u25fb\u25fc\u2934\u2935\u2b05-\u2b07\u2b1b\u2b1c\u3030"
    "\u303d\u3297\u3299]\ufe0f"
)
_EMOJI_UNIT = f"(?:{_EMOJI_DEFAULT}|{_EMOJI_TEXT})\ufe0f?[\U0001f3fb-\U0001f3ff]?[\U000e0020-\U000e007f]*"
_EMOJI_START = (
    "[#*0-9\u00a9\u00ae\u203c\u2049\u2122\u2139\u2194-\u21aa\u231a-\u23fa\u24c2\u25aa-\u27bf\u2934\u2935"
    "\u2b05-\u2b55\u3030\u303d\u3297\u3299\U0001f000-\U0001faff]"
)
_EMOJI = re.compile(
    f"(?={_EMOJI_START})(?:[\U0001f1e6-\U0001f1ff]{{2}}|[#*0-9]\ufe0f?\u20e3|{_EMOJI_UNIT}(?:\u200d{_EMOJI_UNIT})*)"
)

# Characters that only get in the way of matching. C0/C1 controls (tab and line breaks are left to the
# whitespace pass) and the zero-width space become a space, so words on either side stay apart; soft hyphen,
# Arabic letter mark, zero-width non-joiner, bidi controls, BOM and lone surrogates (they cannot even be
# encoded to UTF-8) are dropped. The zero-width joiner stays: emoji sequences use it.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f\u200b]")  # become a space
_INVISIBLE = re.compile(
    "[\u00ad\u061c\u180e\u200c\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\ud800-\udfff]"
)


def split_text(text: str) -> TextParts:
    """Pull handles, hashtags, URLs and emoji out of ``text`` and build ``clean`` (see the module notes)."""
    if not text:
        return TextParts(original=text, clean="")
    scanned = text[:MAX_CHARS]
    handles: list[Span] = []
    hashtags: list[Span] = []
    words: list[str] = []
    urls: list[str] = []
    pieces: list[str] = []
    pos = 0
    for kind, start, end, value in _entities(scanned):
        pieces.append(scanned[pos : start - (kind != _URL_KIND)])  # the sigil goes too
        if kind == _URL_KIND:
            pieces.append(" ")
            urls.append(value)
        elif kind == _TAG_KIND:
            segmented = segment_hashtag(value)
            pieces.append(segmented)
            hashtags.append(Span(start, end, value))
            words.append(segmented)
        else:
            user = value.split("@", 1)[0]  # the Mastodon instance is not part of the name
            pieces.append(user)
            handles.append(Span(start, end, value))
        pos = end
    pieces.append(scanned[pos:])
    return TextParts(
        original=text,
        clean=_tidy("".join(pieces)),
        handles=tuple(handles),
        hashtags=tuple(hashtags),
        hashtag_words=tuple(words),
        urls=tuple(urls),
        emoji=tuple(_EMOJI.findall(scanned)),
    )


def prose(text: str, *, hashtags: bool = False) -> str:
    """The running text only: URLs and handles removed, hashtags too (or, with ``hashtags=True``, kept as
    their bare text, unsegmented), tidied like ``clean``.

    What language identification should read (an English ``#LoveLocal`` or a handle in a French post says
    nothing about the post's language), and what duplicate detection compares (the same text posted with
    other links or other people tagged is the same text).
    """
    scanned = text[:MAX_CHARS]
    pieces: list[str] = []
    pos = 0
    for kind, start, end, value in _entities(scanned):
        pieces.append(scanned[pos : start - (kind != _URL_KIND)])
        pieces.append(f" {value} " if hashtags and kind == _TAG_KIND else " ")
        pos = end
    pieces.append(scanned[pos:])
    return _tidy("".join(pieces))


_URL_KIND, _HANDLE_KIND, _TAG_KIND = "url", "handle", "tag"


def _entities(scanned: str) -> Iterator[tuple[str, int, int, str]]:
    """(kind, start, end, text) of each URL, handle and hashtag; handle and hashtag spans exclude the sigil."""
    for match in _ENTITIES.finditer(scanned):
        kind = match.lastgroup
        if kind == _URL_KIND:
            url = _trim_url(match.group())
            if url is not None:
                yield kind, match.start(), match.start() + len(url), url
        elif kind == _TAG_KIND:
            tag = match.group(_TAG_KIND)
            if _LETTER.search(tag) is not None:  # "#1" is a number, not a hashtag: it stays text
                yield kind, match.start() + 1, match.end(), tag
        else:
            yield _HANDLE_KIND, match.start() + 1, match.end(), match.group(_HANDLE_KIND)


@lru_cache(maxsize=8192)
def segment_hashtag(tag: str) -> str:
    """Split a hashtag into words at underscores, case changes, digits and script changes.

    >>> segment_hashtag("BoulangerieDuPort")
    'Boulangerie Du Port'
    >>> segment_hashtag("LoveLocal2026")
    'Love Local 2026'
    >>> segment_hashtag("SoutenonsnosTPEPME")
    'Soutenonsnos TPEPME'
    >>> segment_hashtag("مخبز_الأمل")
    'مخبز الأمل'

    Run-together lower-case tags ("cheztonton") come back as they are: splitting them needs word
    frequencies per language, which we do not ship.
    """
    tag = tag.lstrip("#＃")
    if len(tag) > _MAX_SEGMENTED:
        return tag
    out: list[str] = []
    for part in tag.split("_"):
        if not part:
            continue
        out.append(" ".join(_split_part(part)))
    return unicodedata.normalize("NFC", " ".join(w for w in out if w))


def _split_part(part: str) -> list[str]:
    # Combining marks belong to the letter before them: decide on the other characters only.
    idx = [i for i, ch in enumerate(part) if not unicodedata.category(ch).startswith("M")]
    kinds = [_kind(part[i]) for i in idx]
    words: list[str] = []
    begin = 0
    for j in range(1, len(idx)):
        prev, cur = kinds[j - 1], kinds[j]
        nxt = kinds[j + 1] if j + 1 < len(kinds) else ""
        if (
            (prev == "l" and cur == "u" and j != 1)  # camelCase; not "iPhone", "eBay"
            or (prev == "u" and cur == "u" and nxt == "l")  # "TPEPMESolidaires" -> "TPEPME Solidaires"
            or (prev != "d" and cur == "d")  # "Local2026"
            or (prev == "d" and cur in "uo")  # "2026Paris"; not "1er", "3pm"
            or (prev in "ul" and cur == "o")  # "Tunisieتونس": a cased script meets a caseless one
            or (prev == "o" and cur in "ul")
        ):
            words.append(part[begin : idx[j]])
            begin = idx[j]
    words.append(part[begin:])
    return words


def _kind(ch: str) -> str:
    if ch.isdigit():
        return "d"
    if ch.isupper():
        return "u"
    if ch.islower():
        return "l"
    return "o"  # a letter without case (Arabic) or anything else \w allows


def _trim_url(url: str) -> str | None:
    """Drop what punctuation glued to the end of a URL; None when nothing is left past the scheme."""
    end = len(url)
    opened = {closer: url.count(opener) for closer, opener in _CLOSERS.items()}
    closed = {closer: url.count(closer) for closer in _CLOSERS}
    while end:
        last = url[end - 1]
        if last in _URL_TRAILING:
            end -= 1
        elif last in _CLOSERS and opened[last] < closed[last]:  # ".../Pain_(aliment)" keeps its ")"
            closed[last] -= 1
            end -= 1
        else:
            break
    url = url[:end]
    body = url.split("://", 1)[1] if "://" in url else url[4:]
    return url if any(ch.isalnum() for ch in body[:64]) else None


def _tidy(text: str) -> str:
    text = _INVISIBLE.sub("", _CONTROL.sub(" ", text))
    if not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    # str.split() is the fastest whitespace collapse; line breaks are kept one at a time (see module notes).
    if "\n" not in text and "\r" not in text:
        return " ".join(text.split())
    return "\n".join(joined for line in text.splitlines() if (joined := " ".join(line.split())))
