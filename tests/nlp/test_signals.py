"""Story signals, spam scoring and duplicate fingerprints on French, Arabic and English campaign posts."""

from __future__ import annotations

import pytest

from nlp.results import Signals
from nlp.signals import (
    NEAR_DUPLICATE,
    SPAM_THRESHOLD,
    fingerprint,
    shingles,
    similarity,
    story_signals,
)
from nlp.text import split_text

FLAGS = ("first_person", "gratitude", "recommendation", "question", "complaint", "likely_spam")


def signals(text: str, language: str, *, has_media: bool = False, named_merchant: bool = False) -> Signals:
    return story_signals(split_text(text), language, has_media=has_media, named_merchant=named_merchant)


def flags(result: Signals) -> set[str]:
    return {name for name in FLAGS if getattr(result, name)}


GIVEAWAY = (
    "GIVEAWAY 🎁 Win a free iPhone! Follow + RT, link in bio #giveaway #win #free #iphone #contest "
    "https://bit.ly/a https://bit.ly/b https://bit.ly/c"
)
CRYPTO = "Earn $500 a day with bitcoin 🚀🚀 DM me now #crypto #btc #money #rich #forex"
SHOUTING = "BUY NOW BUY NOW BUY NOW BEST DEALS EVER CLICK HERE"
LINK_FARM = "best deals https://a.co/1 https://b.co/2 https://c.co/3"

# text, language, expected flags (exactly these)
POSTS: list[tuple[str, str, set[str]]] = [
    # French
    ("Merci à la boulangerie @troisepis pour l'accueil ! #SoutenonsnosTPEPME https://t.co/x", "fr", {"gratitude"}),
    ("J'ai acheté mon pain chez Marcel ce matin, je recommande vivement 🥖", "fr", {"first_person", "recommendation"}),
    ("Nous avons découvert l'épicerie de Sonia, une super adresse !", "fr", {"first_person", "recommendation"}),
    ("On a adoré le couscous du vendredi, un grand MERCI à toute l'équipe", "fr", {"first_person", "gratitude"}),
    ("Très déçu par l'accueil, plus jamais. Je ne recommande pas.", "fr", {"first_person", "complaint"}),
    ("Je déconseille ce magasin, vraiment désagréable", "fr", {"first_person", "complaint"}),
    ("Quelqu'un connait une bonne épicerie vrac à Lyon ?", "fr", {"question"}),
    ("Est-ce que la fromagerie est ouverte le dimanche", "fr", {"question"}),
    ("Soutenons nos commerces de proximité ! #SoutenonsnosTPEPME", "fr", set()),
    ("Acte I de la fête des commerçants ce samedi place du marché", "fr", set()),
    ("Une arnaque, 12 € la baguette...", "fr", {"complaint"}),
    # Arabic (MSA and Tunisian)
    ("شكرا لمخبز الأمل على الخبز الطازج ❤️ #LoveLocal", "ar", {"gratitude"}),
    ("شكراً جزيلاً لصاحب المحل", "ar", {"gratitude"}),
    ("اشتريت اليوم من مخبز الأمل، أنصح به بشدة", "ar", {"first_person", "recommendation"}),
    ("وزرت المحل مع عائلتي وأعجبني كثيرا", "ar", {"first_person"}),
    ("تجربة سيئة جدا، لا أنصح بهذا المحل", "ar", {"complaint"}),
    ("هل تعرفون محل قهوة جيد في تونس؟", "ar", {"question"}),
    ("شريت الخبز من عند الحاج، يعطيك الصحة", "ar", {"first_person", "gratitude"}),
    ("ندعم المحلات الصغيرة في حينا #LoveLocal", "ar", set()),
    # English
    ("Loved the coffee at Café Zitouna in Tunis! #LoveLocal", "en", {"first_person"}),
    (
        "I bought flowers at Rosa's this morning, highly recommend! Thank you!",
        "en",
        {"first_person", "gratitude", "recommendation"},
    ),
    ("We're so grateful for our local bakery", "en", {"first_person", "gratitude"}),
    ("Worst service ever, never again. Wouldn't recommend.", "en", {"complaint"}),
    ("Does anyone know a good cobbler in Leeds", "en", {"question"}),
    ("Support your local shops this weekend #ShopLocal", "en", set()),
    ("i love this little shop so much", "en", {"first_person"}),
    # Code-switching: both Latin lexicons are read whatever the language.
    ("Merci for the amazing croissants, je recommande", "en", {"first_person", "gratitude", "recommendation"}),
    # Spam
    (GIVEAWAY, "en", {"likely_spam"}),
    (CRYPTO, "en", {"first_person", "likely_spam"}),  # "DM me"
    (SHOUTING, "en", {"likely_spam"}),
    (LINK_FARM, "en", {"likely_spam"}),
    ("Jeu-concours ! Gagnez un panier garni 🎁 Follow + RT https://t.co/a https://t.co/b", "fr", {"likely_spam"}),
    ("اربح جوائز يومية مع بيتكوين تابعني https://t.co/a https://t.co/b", "ar", {"likely_spam"}),
]


@pytest.mark.parametrize(("text", "language", "expected"), POSTS)
def test_story_signals(text: str, language: str, expected: set[str]) -> None:
    assert flags(signals(text, language)) == expected


SPAM_REASONS = [
    (GIVEAWAY, "en", ("giveaway_cue", "follow_bait", "many_hashtags", "many_links")),
    (LINK_FARM, "en", ("many_links", "link_farm")),
    (CRYPTO, "en", ("crypto_or_scam_cue", "follow_bait", "many_hashtags")),
    (SHOUTING, "en", ("promo_cue", "repeated_words", "shouting")),
    ("#LoveLocal #ShopLocal #SupportLocal #SmallBusiness", "en", ("hashtags_only",)),
    ("Merci Merci Merci 🙏 #LoveLocal", "fr", ("repeated_words",)),
    ("Merci @a @b @c @d @e @f pour ce moment !", "fr", ("mass_mentions",)),
    ("Trop bon!!!!!!!! Merciiiiii", "fr", ("repeated_characters",)),
    ("🥖🥐🍰🧁🍩🍪🎂🥧🍫🍬", "und", ("emoji_flood",)),
    ("Code promo BIENVENUE : -10 % de remise chez nous", "fr", ("promo_cue",)),
    ("La boulangerie accepte maintenant le bitcoin, merci pour l'accueil !", "fr", ("crypto_or_scam_cue",)),
]


@pytest.mark.parametrize(("text", "language", "reasons"), SPAM_REASONS)
def test_spam_reasons(text: str, language: str, reasons: tuple[str, ...]) -> None:
    result = signals(text, language)
    assert result.reasons == reasons


def test_one_weak_reason_is_not_spam() -> None:
    for text, language, reasons in SPAM_REASONS[4:]:
        result = signals(text, language)
        assert result.spam_score < SPAM_THRESHOLD, (text, reasons)
        assert not result.likely_spam


def test_genuine_posts_score_zero() -> None:
    for text, language, expected in POSTS:
        if "likely_spam" not in expected:
            assert signals(text, language).spam_score == 0.0, text


def test_spam_score_is_capped_and_likely_spam_follows_the_threshold() -> None:
    result = signals(GIVEAWAY, "en")
    assert result.spam_score == 1.0
    assert result.likely_spam
    mild = signals("Merci Merci Merci 🙏 #LoveLocal", "fr")
    assert mild.spam_score == 0.25


def test_counts_and_passthrough() -> None:
    text = "Merci @troisepis ! #LoveLocal #ShopLocal https://t.co/a https://t.co/b"
    parts = split_text(text)
    result = story_signals(parts, "fr", has_media=True, named_merchant=True)
    assert result.has_media
    assert result.named_merchant
    assert result.hashtag_count == 2
    assert result.link_count == 2
    assert result.length == len(parts.clean)
    assert not signals(text, "fr").has_media


def test_english_capital_i_only_counts_in_english() -> None:
    assert signals("Acte I de la braderie", "fr").first_person is False
    assert signals("Acte I de la braderie", "en").first_person is True
    assert signals("i love it", "fr").first_person is False


def test_accents_case_and_apostrophes_are_folded() -> None:
    for text in ("DÉÇU", "decu", "Déçue", "DECUES"):
        assert signals(text, "fr").complaint, text
    for text in ("J’ai adoré", "J`ai adoré", "J'ai adoré"):
        assert signals(text, "fr").first_person, text


def test_arabic_spelling_variants_are_folded() -> None:
    for text in ("أنصح بهذا المحل", "انصح بهذا المحل", "أنْصَحُ بهذا المحل", "فأنصح بهذا المحل"):
        assert signals(text, "ar").recommendation, text
    for text in ("المحل سيء", "خدمة سيئة", "الخبز سيئ"):
        assert signals(text, "ar").complaint, text


@pytest.mark.parametrize(
    "text",
    ["", "   ", "\ud800\udfff", "\u202e\u200f", "a" * 100_000, "merci " * 20_000, "<script>alert(1)</script>"],
    ids=["empty", "spaces", "surrogates", "bidi", "100k letters", "100k words", "script"],
)
def test_hostile_input_is_safe(text: str) -> None:
    result = signals(text, "und")
    assert 0.0 <= result.spam_score <= 1.0
    fingerprint(text)
    shingles(text)


# --- duplicates ------------------------------------------------------------------------------------------

BASE = "Merci à la boulangerie @troisepis pour l'accueil ! #SoutenonsnosTPEPME https://t.co/x"


@pytest.mark.parametrize(
    "copy",
    [
        BASE,
        "RT @someone: Merci à la boulangerie @troisepis pour l'accueil ! #SoutenonsnosTPEPME https://t.co/y",
        "merci a la boulangerie @other pour l’accueil #soutenonsnostpepme",
        "MERCI À LA BOULANGERIE POUR L'ACCUEIL !!! 🎉 #SoutenonsnosTPEPME",
    ],
)
def test_fingerprint_is_shared_by_copies(copy: str) -> None:
    assert fingerprint(copy) == fingerprint(BASE)


def test_fingerprint_folds_arabic_spelling() -> None:
    assert fingerprint("شكراً لمخبز الأمل") == fingerprint("شكرا لمخبز الامل")
    assert fingerprint("شكراً لمخبز الأمل") != fingerprint("شكرا لمخبز النور")


def test_fingerprint_differs_for_other_text_and_is_empty_without_text() -> None:
    assert fingerprint(BASE) != fingerprint("Merci à l'épicerie @chezpaul pour l'accueil ! #SoutenonsnosTPEPME")
    assert len(fingerprint(BASE)) == 32
    assert fingerprint("https://t.co/x @troisepis 🎉") == ""
    assert fingerprint("") == ""


def test_near_duplicates() -> None:
    base = shingles(BASE)
    assert similarity(base, shingles(BASE)) == 1.0
    edited = "Merci à la boulangerie @troisepis pour le super accueil ! #SoutenonsnosTPEPME"
    assert similarity(base, shingles(edited)) >= NEAR_DUPLICATE
    # The same campaign template naming another shop is not a copy.
    template = "Merci à l'épicerie @chezpaul pour l'accueil ! #SoutenonsnosTPEPME"
    assert similarity(base, shingles(template)) < NEAR_DUPLICATE
    assert similarity(base, shingles("Loved the coffee at Café Zitouna in Tunis! #LoveLocal")) < 0.1


def test_shingles_are_stable_and_sized() -> None:
    assert shingles("abcdef", k=5) == shingles("ABCDEF", k=5)
    assert len(shingles("abcdef", k=5)) == 2  # "abcde", "bcdef"
    assert len(shingles("abc", k=5)) == 1
    assert shingles("https://t.co/x") == frozenset()
    # crc32 of UTF-32-LE slices: the same in every process, so shingles can be stored.
    assert shingles("abcde") == frozenset({4_240_633_786})
    with pytest.raises(ValueError, match="k >= 1"):
        shingles("abc", k=0)


def test_similarity_edges() -> None:
    assert similarity(frozenset(), frozenset()) == 0.0
    assert similarity(frozenset({1}), frozenset()) == 0.0
    assert similarity({1, 2}, {2, 3}) == pytest.approx(1 / 3)
    assert similarity([1, 2, 2], (1, 2)) == 1.0
