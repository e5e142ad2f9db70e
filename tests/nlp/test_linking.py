"""Merchant linking: a table of French, Arabic and English posts with the merchants they must (and must not)
link to, by which method; plus blocked aliases, common-word names and odd input."""

from __future__ import annotations

import pytest

from nlp.linking import MerchantIndex, stem, tokens
from nlp.results import MerchantEntry
from nlp.text import split_text

REGISTRY = [
    MerchantEntry(
        1,
        "Boulangerie Les Trois Épis",
        aliases=("Trois Épis",),
        handles=(("x", "troisepis"), ("instagram", "epis.lyon")),
        website="https://www.troisepis.fr",
        city="Lyon",
    ),
    MerchantEntry(
        2, "مخبز الأمل", aliases=("Al Amal Bakery",), handles=(("instagram", "alamal.bakery"),), city="Casablanca"
    ),
    MerchantEntry(3, "Le Comptoir", city="Paris"),
    MerchantEntry(4, "Fromagerie Dupont", city="Marseille"),
    MerchantEntry(
        5, "Café Zitouna", aliases=("مقهى الزيتونة",), handles=(("mastodon", "zitouna@piaille.fr"),), city="Tunis"
    ),
    MerchantEntry(6, "Green Souk Grocery", aliases=("Green Souk",), website="greensouk.ae", city="Dubai"),
    MerchantEntry(
        7, "Librairie La Page Blanche", aliases=("La Page Blanche", "PB Rennes"), blocked=("PB Rennes",), city="Rennes"
    ),
]
INDEX = MerchantIndex(REGISTRY, campaign_hashtags=["LoveLocal", "SoutenonsnosTPEPME"])

# text, platform, expected {merchant_id: method}
CASES = [
    ("Merci @troisepis pour le pain ce matin", "x", {1: "handle"}),
    ("Le meilleur pain de Lyon chez les Trois Épis 🥖", "x", {1: "alias"}),
    ("Boulangerie les trois epis : accueil au top", "x", {1: "name"}),
    ("#LesTroisEpis toujours au top #SoutenonsnosTPEPME", "x", {1: "hashtag"}),
    ("Commande passée sur https://troisepis.fr/commande 👌", "x", {1: "domain"}),
    ("Passez voir https://shop.troisepis.fr", "x", {1: "domain"}),
    ("شكراً لمخبز الأمل على الخبز الطازج ❤️ #LoveLocal", "x", {2: "name"}),
    ("أفضل خبز في الدار البيضاء من مَخْبَز الأَمَل", "instagram", {2: "name"}),
    ("Great bread from Al Amal Bakery today #LoveLocal", "x", {2: "alias"}),
    ("@alamal.bakery you rock", "instagram", {2: "handle"}),
    ("Un café au Comptoir à Paris ce matin", "x", {3: "name"}),
    ("Super accueil chez Fromagerie Dupond hier !", "x", {4: "fuzzy"}),
    ("قهوة رائعة في مقهى الزيتونة بتونس #LoveLocal", "x", {5: "alias"}),
    ("Coffee with friends @zitouna@piaille.fr", "mastodon", {5: "handle"}),
    ("Shopping at Green Souk in Dubai #LoveLocal", "x", {6: "alias"}),
    ("Order online at www.greensouk.ae/fresh", "x", {6: "domain"}),
    ("Deux livres achetés à La Page Blanche", "x", {7: "alias"}),
    # Must not link: a blocked alias, unrelated words, a fuzzy near-miss below the cutoff.
    ("Rendez-vous chez PB Rennes demain", "x", {}),
    ("Il fait beau à Lyon aujourd'hui", "x", {}),
    ("Super fromagerie en ville, je recommande", "x", {}),
]


@pytest.mark.parametrize(("text", "platform", "expected"), CASES, ids=[c[0][:40] for c in CASES])
def test_links_table(text: str, platform: str, expected: dict[int, str]) -> None:
    links = INDEX.link(split_text(text), platform)
    assert {link.merchant_id: link.method for link in links} == expected
    for link in links:
        assert 0 < link.score <= 1
        if link.start is not None and link.end is not None:
            assert text[link.start : link.end] == link.surface


def test_handle_on_the_posts_platform_is_surer_than_on_another() -> None:
    on_x = INDEX.link(split_text("Merci @troisepis"), "x")
    on_bluesky = INDEX.link(split_text("Merci @troisepis"), "bluesky")
    assert on_x[0].score > on_bluesky[0].score


def test_common_word_name_needs_context() -> None:
    alone = INDEX.link(split_text("Un café au Comptoir ce matin"), "x")
    with_city = INDEX.link(split_text("Un café au Comptoir à Paris ce matin"), "x")
    with_campaign = INDEX.link(split_text("Un café au Comptoir ce matin #SoutenonsnosTPEPME"), "x")
    assert alone[0].score < 0.5
    assert with_city[0].score >= 0.8
    assert with_campaign[0].score >= 0.8


def test_distinctive_names_score_higher_than_fuzzy_matches() -> None:
    exact = INDEX.link(split_text("Merci Fromagerie Dupont"), "x")[0]
    fuzzy = INDEX.link(split_text("Merci chez Fromagerie Dupond"), "x")[0]
    assert (exact.method, fuzzy.method) == ("name", "fuzzy")
    assert exact.score > fuzzy.score


def test_arabic_clitics_are_stripped_on_both_sides() -> None:
    assert stem("والمخبز") == "مخبز"
    assert stem("للمخبز") == "مخبز"
    assert stem("بالزيتونه") == "زيتونه"
    assert stem("boulangerie") == "boulangerie"
    assert [t.text for t in tokens("وَلِمَخْبَز الأمل")] == ["مخبز", "امل"]


def test_one_link_per_merchant_keeping_the_surest_evidence() -> None:
    links = INDEX.link(split_text("@troisepis Boulangerie Les Trois Épis https://troisepis.fr"), "x")
    assert [(link.merchant_id, link.method) for link in links] == [(1, "handle")]


@pytest.mark.parametrize(
    "text",
    ["", " ", "\x00\x01", "\ud800 broken", "a" * 100_000, "‏‏مخبز‎ Lyon 🥖" * 500, "<script>alert(1)</script>"],
    ids=["empty", "space", "controls", "surrogate", "100k", "mixed-rtl", "html"],
)
def test_any_text_is_safe(text: str) -> None:
    links = INDEX.link(split_text(text), "x")
    assert isinstance(links, list)


def test_an_empty_registry_links_nothing() -> None:
    assert MerchantIndex([]).link(split_text("Merci @troisepis #LesTroisEpis"), "x") == []
