"""split_text, segment_hashtag and prose on real-looking campaign posts, and on hostile input."""

from __future__ import annotations

import unicodedata

import pytest

from nlp.results import Span, TextParts
from nlp.text import MAX_CHARS, prose, segment_hashtag, split_text

# text, handles, hashtags, hashtag_words, urls, emoji, clean
POSTS: list[tuple[str, tuple[str, ...], tuple[str, ...], tuple[str, ...], tuple[str, ...], tuple[str, ...], str]] = [
    (
        "Merci à la boulangerie @troisepis pour l'accueil ! #SoutenonsnosTPEPME https://t.co/x",
        ("troisepis",),
        ("SoutenonsnosTPEPME",),
        ("Soutenonsnos TPEPME",),
        ("https://t.co/x",),
        (),
        "Merci à la boulangerie troisepis pour l'accueil ! Soutenonsnos TPEPME",
    ),
    (
        "شكرا لمخبز الأمل على الخبز الطازج ❤️ #LoveLocal",
        (),
        ("LoveLocal",),
        ("Love Local",),
        (),
        ("❤️",),
        "شكرا لمخبز الأمل على الخبز الطازج ❤️ Love Local",
    ),
    (
        "Loved the coffee at Café Zitouna in Tunis! #LoveLocal",
        (),
        ("LoveLocal",),
        ("Love Local",),
        (),
        (),
        "Loved the coffee at Café Zitouna in Tunis! Love Local",
    ),
    (
        "Le pain de @boulangerie_du_port est incroyable 🥖🥐 #BoulangerieDuPort #LoveLocal2026 "
        "www.boulangerieduport.fr",
        ("boulangerie_du_port",),
        ("BoulangerieDuPort", "LoveLocal2026"),
        ("Boulangerie Du Port", "Love Local 2026"),
        ("www.boulangerieduport.fr",),
        ("🥖", "🥐"),
        "Le pain de boulangerie_du_port est incroyable 🥖🥐 Boulangerie Du Port Love Local 2026",
    ),
    (
        "زرت اليوم #مخبز_الأمل في صفاقس 👍🏽 @makhbaz_alamal",
        ("makhbaz_alamal",),
        ("مخبز_الأمل",),
        ("مخبز الأمل",),
        (),
        ("👍🏽",),
        "زرت اليوم مخبز الأمل في صفاقس 👍🏽 makhbaz_alamal",
    ),
    (
        "Great chat with @troisepis@mastodon.social and @rosa.bsky.social about #ShopLocal (see https://fr.wikipedia.org/wiki/Pain_(aliment)).",
        ("troisepis@mastodon.social", "rosa.bsky.social"),
        ("ShopLocal",),
        ("Shop Local",),
        ("https://fr.wikipedia.org/wiki/Pain_(aliment)",),
        (),
        "Great chat with troisepis and rosa.bsky.social about Shop Local (see ).",
    ),
    (
        "RT @user: On a testé la #cheztonton ce midi… top ! https://t.co/AbC123?utm=1, merci 🇫🇷🇹🇳",
        ("user",),
        ("cheztonton",),
        ("cheztonton",),
        ("https://t.co/AbC123?utm=1",),
        ("🇫🇷", "🇹🇳"),
        "RT user: On a testé la cheztonton ce midi… top ! , merci 🇫🇷🇹🇳",
    ),
    (
        "#1 des épiceries, écrivez à contact@epicerie.fr ! C# &#39; https://site.fr/page#horaires 1️⃣ Café™",
        (),
        (),
        (),
        ("https://site.fr/page#horaires",),
        ("1️⃣",),
        "#1 des épiceries, écrivez à contact@epicerie.fr ! C# &#39; 1️⃣ Café™",
    ),
    (
        "Family day at the market 👨\u200d👩\u200d👧 #SmallBusinessSaturday\n\n\nsee you   next week",
        (),
        ("SmallBusinessSaturday",),
        ("Small Business Saturday",),
        (),
        ("👨\u200d👩\u200d👧",),
        "Family day at the market 👨\u200d👩\u200d👧 Small Business Saturday\nsee you next week",
    ),
]


@pytest.mark.parametrize(("text", "handles", "hashtags", "words", "urls", "emoji", "clean"), POSTS)
def test_campaign_posts_are_split(
    text: str,
    handles: tuple[str, ...],
    hashtags: tuple[str, ...],
    words: tuple[str, ...],
    urls: tuple[str, ...],
    emoji: tuple[str, ...],
    clean: str,
) -> None:
    parts = split_text(text)
    assert parts.original == text
    assert tuple(s.text for s in parts.handles) == handles
    assert tuple(s.text for s in parts.hashtags) == hashtags
    assert parts.hashtag_words == words
    assert parts.urls == urls
    assert parts.emoji == emoji
    assert parts.clean == clean


@pytest.mark.parametrize("text", [post[0] for post in POSTS])
def test_spans_index_the_original_without_the_sigil(text: str) -> None:
    parts = split_text(text)
    for span in parts.handles:
        assert text[span.start : span.end] == span.text
        assert text[span.start - 1] == "@"
    for span in parts.hashtags:
        assert text[span.start : span.end] == span.text
        assert text[span.start - 1] in "#＃"


def test_span_offsets_exactly() -> None:
    parts = split_text("Merci @troisepis ! #LoveLocal")
    assert parts.handles == (Span(7, 16, "troisepis"),)
    assert parts.hashtags == (Span(20, 29, "LoveLocal"),)


@pytest.mark.parametrize(
    ("tag", "words"),
    [
        ("ChezMarcel", "Chez Marcel"),
        ("BoulangerieDuPort", "Boulangerie Du Port"),
        ("LoveLocal2026", "Love Local 2026"),
        ("SoutenonsnosTPEPME", "Soutenonsnos TPEPME"),
        ("TPEPMESolidaires", "TPEPME Solidaires"),
        ("cheztonton", "cheztonton"),
        ("#ShopSmall_Saturday", "Shop Small Saturday"),
        ("1erMai", "1er Mai"),
        ("Paris2024Olympics", "Paris 2024 Olympics"),
        ("iPhone", "iPhone"),
        ("مخبز_الأمل", "مخبز الأمل"),
        ("Tunisieتونس", "Tunisie تونس"),
        ("E\u0301picerieDuCoin", "Épicerie Du Coin"),
        ("LOVELOCAL", "LOVELOCAL"),
        ("3pm", "3pm"),
    ],
)
def test_segment_hashtag(tag: str, words: str) -> None:
    assert segment_hashtag(tag) == words


@pytest.mark.parametrize(
    "text",
    [
        "#1",
        "#2026 !",
        "C# et F#",
        "l&#39;accueil",
        "https://site.fr/page#horaires",
        "www.site.fr/#top",
        "##double",
        "mot#collé",
    ],
)
def test_not_hashtags(text: str) -> None:
    assert split_text(text).hashtags == ()


@pytest.mark.parametrize(
    "text",
    ["contact@epicerie.fr", "@ seul", "@@double", "prix: 3@5", "https://x.com/@troisepis", "@troisépis"],
)
def test_not_handles(text: str) -> None:
    assert split_text(text).handles == ()


def test_full_width_hashtag_and_rtl_marks() -> None:
    parts = split_text("\u200f＃مخبز_الأمل\u200f \u200e#LoveLocal\u200e")
    assert tuple(s.text for s in parts.hashtags) == ("مخبز_الأمل", "LoveLocal")
    assert parts.clean == "مخبز الأمل Love Local"


def test_urls_keep_balanced_brackets_and_drop_trailing_punctuation() -> None:
    parts = split_text("Voir (https://ex.fr/a_(b)) puis https://ex.fr/c. Et http://ex.fr/d?x=1!")
    assert parts.urls == ("https://ex.fr/a_(b)", "https://ex.fr/c", "http://ex.fr/d?x=1")
    assert parts.clean == "Voir ( ) puis . Et !"


def test_url_does_not_swallow_arabic_or_ellipsis() -> None:
    parts = split_text("https://t.co/abcمخبز and https://t.co/xyz…")
    assert parts.urls == ("https://t.co/abc", "https://t.co/xyz")
    assert parts.clean == "مخبز and …"


def test_emoji_need_presentation_selector_for_text_symbols() -> None:
    assert split_text("Café Zitouna™ ©2026").emoji == ()
    assert split_text("™️ ©️").emoji == ("™️", "©️")


def test_prose_drops_handles_links_and_hashtags() -> None:
    text = "RT @user: Merci ! #LoveLocal https://t.co/x"
    assert prose(text) == "RT : Merci !"
    assert prose(text, hashtags=True) == "RT : Merci ! LoveLocal"


def _assert_sane(parts: TextParts) -> None:
    parts.clean.encode("utf-8")  # no lone surrogate left
    assert parts.clean == parts.clean.strip()
    assert not any(unicodedata.category(ch) in ("Cc", "Cs") and ch != "\n" for ch in parts.clean)
    assert not any(ch in parts.clean for ch in "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2069\ufeff")
    for span in parts.handles + parts.hashtags:
        assert parts.original[span.start : span.end] == span.text


HOSTILE = {
    "empty": "",
    "spaces": " \t\n\r  ",
    "controls": "Merci\x00 @troisepis\x07\x1b[31m rouge\x7f\x85fin",
    "lone surrogates": "\ud800Merci\udfff #LoveLocal \ud83d",
    "rtl marks": "\u202eMerci\u202c \u2067مخبز\u2069 \u200fشكرا\u200f\ufeff",
    "script": "<script>alert('@x #y')</script> merci",
    "100k letters": "a" * 100_000,
    "100k mixed": ("Merci @troisepis #LoveLocal https://t.co/x شكرا ❤️ " * 2_500)[:100_000],
    "long handle run": "@" + "a." * 50_000,
    "long hashtag": "#" + "Ab" * 50_000,
    "brackets after url": "https://ex.fr/" + ")" * 50_000,
    "hashes": "#" * 100_000,
    "zwj chain": "\u200d👍" * 30_000,
    "mixed scripts": "Merci مخبز Спасибо 감사합니다 ありがとう שלום ευχαριστώ",
    "decomposed accents": "E\u0301picerie de\u0301licieuse #E\u0301picerieDuCoin",
}


@pytest.mark.parametrize("text", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_input_is_safe(text: str) -> None:
    parts = split_text(text)
    assert parts.original is text
    _assert_sane(parts)
    assert len(parts.clean) <= 2 * MAX_CHARS  # work is capped; segmentation may add spaces
    prose(text).encode("utf-8")


def test_controls_become_spaces_and_marks_vanish() -> None:
    assert split_text(HOSTILE["controls"]).clean == "Merci troisepis [31m rouge fin"
    assert split_text(HOSTILE["lone surrogates"]).clean == "Merci Love Local"
    assert split_text(HOSTILE["rtl marks"]).clean == "Merci مخبز شكرا"


def test_decomposed_accents_are_composed_in_clean() -> None:
    parts = split_text(HOSTILE["decomposed accents"])
    assert parts.clean == "Épicerie délicieuse Épicerie Du Coin"
    assert parts.hashtag_words == ("Épicerie Du Coin",)


def test_only_the_first_max_chars_are_scanned() -> None:
    text = "x " * MAX_CHARS + "#TooFar @toofar https://too.far"
    parts = split_text(text)
    assert parts.hashtags == parts.handles == ()
    assert parts.urls == ()


def test_script_text_is_plain_text() -> None:
    parts = split_text(HOSTILE["script"])
    assert parts.clean == "<script>alert('x y')</script> merci"
    assert [s.text for s in parts.handles] == ["x"]
    assert [s.text for s in parts.hashtags] == ["y"]
