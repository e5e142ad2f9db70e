"""Link exclusions (accepted "not this merchant" corrections) in merchant linking: an excluded alias never links
that merchant, by whichever method it would have (name, alias, hashtag, handle, fuzzy), while other merchants
and other evidence for the same merchant still link; exclusions are replaced, not accumulated."""

from __future__ import annotations

from nlp.linking import MerchantIndex, exclusion_key
from nlp.results import MerchantEntry
from nlp.text import split_text

REGISTRY = [
    MerchantEntry(1, "Boulangerie Amal", aliases=("Amal",), handles=(("x", "amal_bakery"),), city="Casablanca"),
    MerchantEntry(2, "Épicerie Zitouna", aliases=("Zitouna",), city="Rabat"),
    MerchantEntry(3, "Fromagerie Dupont", city="Marseille"),
]


def links(index: MerchantIndex, text: str) -> dict[int, str]:
    return {link.merchant_id: link.method for link in index.link(split_text(text), "x")}


def test_the_key_folds_case_accents_spaces_and_hashtag_forms() -> None:
    assert exclusion_key("Trois Épis") == exclusion_key("#TroisEpis".lstrip("#")) == exclusion_key("trois epis")
    assert exclusion_key("  ") == ""


def test_an_excluded_alias_no_longer_links_that_merchant_only() -> None:
    index = MerchantIndex(REGISTRY, ["LoveLocal"])
    text = "Merci Amal et Zitouna pour ce dimanche #LoveLocal"
    assert links(index, text) == {1: "alias", 2: "alias"}

    index.exclude([(1, "Amal")])
    assert links(index, text) == {2: "alias"}
    # Other evidence for the same merchant still links it: the post names the shop by its handle.
    assert links(index, "Merci @amal_bakery et Amal !") == {1: "handle"}
    # The same alias for another merchant is not excluded.
    index.exclude([(2, "Amal")])
    assert links(index, text) == {1: "alias", 2: "alias"}


def test_every_method_honours_an_exclusion() -> None:
    index = MerchantIndex(REGISTRY, ["LoveLocal"])
    cases = [
        ("Un pain de la Boulangerie Amal", (1, "Boulangerie Amal"), {1: "name"}, {}),
        ("#BoulangerieAmal au top", (1, "Boulangerie Amal"), {1: "hashtag"}, {}),
        # The handle's words hold the alias "Amal": without the handle, the alias is the evidence left.
        ("Merci @amal_bakery", (1, "amal_bakery"), {1: "handle"}, {1: "alias"}),
        ("Super accueil chez Fromagerie Dupond hier !", (3, "Fromagerie Dupond"), {3: "fuzzy"}, {}),
    ]
    for text, excluded, before, after in cases:
        index.exclude([])
        assert links(index, text) == before, text
        index.exclude([excluded])
        assert links(index, text) == after, text


def test_exclusions_are_replaced_not_accumulated() -> None:
    index = MerchantIndex(REGISTRY, ["LoveLocal"])
    index.exclude([(1, "Amal")])
    index.exclude([(2, "Zitouna")])
    assert links(index, "Amal et Zitouna") == {1: "alias"}
    index.exclude([])
    assert links(index, "Amal et Zitouna") == {1: "alias", 2: "alias"}
