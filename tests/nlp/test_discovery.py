"""Discovery of unregistered businesses: cue patterns in three languages, NER spans, grouping, exclusions."""

from __future__ import annotations

import pytest

from nlp.discovery import discover
from nlp.results import Link

CASES = [
    ("Super accueil chez Tonton Marcel ce matin", {"Tonton Marcel"}),
    ("J'adore la boulangerie Au Pain Doré de mon quartier", {"Au Pain Doré"}),
    ("On a testé la fromagerie Vieux Port, merci !", {"Vieux Port"}),
    ("Loved the Sunrise Bakery downtown!", {"Sunrise Bakery"}),
    ("Great coffee at Blue Door Cafe in Dubai", {"Blue Door Cafe"}),
    ("شكرا لمطعم الياسمين على العشاء", {"الياسمين"}),
    ("زرت محل الورد في الرباط", {"الورد"}),
    ("أحلى حلويات من مخبز السعادة", {"السعادة"}),
    # No name after the cue, or only generic words: nothing discovered.
    ("Very nice bakery", set()),
    ("Merci chez Je ne sais pas", set()),
    ("La boulangerie du quartier est top", set()),
    ("", set()),
]


@pytest.mark.parametrize(("text", "expected"), CASES, ids=[c[0][:30] or "empty" for c in CASES])
def test_cue_patterns(text: str, expected: set[str]) -> None:
    found = discover(text)
    assert {d.name for d in found} == expected
    for d in found:
        assert text[d.start : d.end] == d.name
        assert d.method == "cue"


def test_linked_names_are_not_discovered() -> None:
    text = "Super accueil chez Tonton Marcel"
    link = Link(merchant_id=9, method="name", score=0.9, start=19, end=32, surface="Tonton Marcel")
    assert discover(text, [link]) == []


def test_ner_org_spans_are_discovered_and_grouped_by_normalised_name() -> None:
    text = "Merci à LA MAISON BLEUE et à la Maison Bleue encore"
    found = discover(text, ner_orgs=[(8, 23), (29, 44)])
    assert text[29:44] == "la Maison Bleue"
    assert [(d.normalized, d.method) for d in found] == [("la maison bleue", "ner")]


def test_a_huge_text_is_read_on_its_beginning_only() -> None:
    found = discover("chez Tonton Marcel " * 50_000)
    # Grouped by name; the cut at 20,000 characters may leave a partial last name, never more.
    assert found[0].name == "Tonton Marcel"
    assert len(found) <= 2
    assert all(d.end <= 20_000 for d in found)
