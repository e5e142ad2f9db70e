"""The merchant directory CSV format: what a spreadsheet export is read as, and what the export writes.

Pure functions, so these tests feed bytes and look at records, errors (with physical line numbers) and
warnings; the writer's output is read back with the standard `csv` module and with the parser itself.
"""

from __future__ import annotations

import csv
import io

import pytest

from storage.registry_csv import (
    COLUMNS,
    MerchantRecord,
    ParsedFile,
    RegistryFileError,
    merchant_key,
    parse_registry,
    write_registry,
)

BOM = "\ufeff"


def parse(text: str, *, bom: bool = False) -> ParsedFile:
    return parse_registry(((BOM if bom else "") + text).encode("utf-8"))


def names(parsed: ParsedFile) -> list[str]:
    return [row.record.name for row in parsed.rows]


def error_lines(parsed: ParsedFile) -> list[int]:
    return [line for line, _ in parsed.errors]


def only_error(parsed: ParsedFile) -> tuple[int, str]:
    assert len(parsed.errors) == 1, parsed.errors
    return parsed.errors[0]


# --- encodings, separators, line ends ----------------------------------------------------------------


@pytest.mark.parametrize("bom", [False, True], ids=["no-bom", "bom"])
def test_utf8_with_or_without_bom_reads_the_same_records(bom: bool) -> None:
    parsed = parse("name,city\nBoulangerie Les Trois Épis,Paris\nمخبز الأمل,Casablanca\n", bom=bom)

    assert parsed.errors == []
    assert parsed.warnings == []  # the BOM did not turn "name" into an unknown "\ufeffname" column
    assert names(parsed) == ["Boulangerie Les Trois Épis", "مخبز الأمل"]
    assert [r.record.city for r in parsed.rows] == ["Paris", "Casablanca"]


@pytest.mark.parametrize("sep", [",", ";", "\t"], ids=["comma", "semicolon", "tab"])
def test_comma_semicolon_and_tab_separators_are_detected(sep: str) -> None:
    # Each row holds the *other* separators as plain text: only the detected one splits cells.
    others = "".join(s for s in (",", ";") if s != sep)
    text = sep.join(["name", "postcode", "city", "category"]) + "\n"
    text += sep.join([f"Épis{others}Trois", "75011", "Paris", "boulangerie"]) + "\n"

    parsed = parse(text)

    assert parsed.errors == []
    (row,) = parsed.rows
    assert row.record.name == f"Épis{others}Trois"
    assert (row.record.postcode, row.record.city, row.record.category) == ("75011", "Paris", "boulangerie")


def test_crlf_line_ends_leave_no_carriage_returns_and_count_lines() -> None:
    parsed = parse("name,city\r\nÉpis,Paris\r\n,Lyon\r\nCafé Rouge,Lyon\r\n")

    assert names(parsed) == ["Épis", "Café Rouge"]
    assert [r.record.city for r in parsed.rows] == ["Paris", "Lyon"]
    assert [r.line for r in parsed.rows] == [2, 4]
    assert error_lines(parsed) == [3]


def test_quoted_field_may_hold_the_separator() -> None:
    parsed = parse('name,address,city\n"Épis, Trois","12, rue Oberkampf",Paris\n')

    (row,) = parsed.rows
    assert row.record.name == "Épis, Trois"
    assert row.record.address == "12, rue Oberkampf"
    assert row.record.city == "Paris"


def test_quoted_newlines_keep_later_line_numbers_physical() -> None:
    text = (
        "name,address,phone\n"  # 1
        'Épis,"12 rue Oberkampf\n'  # 2 (the record spans lines 2-4)
        "bâtiment B\n"  # 3
        'Paris",01 43 00 00 00\n'  # 4
        "Café Rouge,,not a phone\n"  # 5
        '"Le\nComptoir",,\n'  # 6-7
        "Bar Tabac,,\n"  # 8
    )

    parsed = parse(text)

    assert [(r.line, r.record.name) for r in parsed.rows] == [(2, "Épis"), (6, "Le Comptoir"), (8, "Bar Tabac")]
    assert parsed.rows[0].record.address == "12 rue Oberkampf bâtiment B Paris"  # whitespace collapsed
    line, reason = only_error(parsed)
    assert line == 5
    assert "phone" in reason


def test_unclosed_quote_does_not_swallow_the_rest_of_the_file_silently() -> None:
    parsed = parse('name,city\nÉpis,Paris\n"Café Rouge,Lyon\nBar Tabac,Lyon\nLe Comptoir,Lyon\n')

    assert names(parsed) == ["Épis"]  # not a merchant named "Café Rouge,Lyon Bar Tabac,Lyon ..."
    line, reason = only_error(parsed)
    assert line == 3
    assert "closing" in reason
    assert "end of the file" in reason


def test_unclosed_quote_on_the_last_line_is_reported() -> None:
    parsed = parse('name,city\nÉpis,Paris\n"Café Rouge,Lyon')

    assert names(parsed) == ["Épis"]
    assert only_error(parsed)[0] == 3


def test_quote_inside_an_unquoted_value_is_plain_text() -> None:
    parsed = parse('name,category\nÉcran 27" Boutique,informatique\nÉpis,boulangerie\n')

    assert parsed.errors == []
    assert names(parsed) == ['Écran 27" Boutique', "Épis"]


def test_blank_lines_are_skipped_but_still_counted() -> None:
    parsed = parse("\nname\n\nÉpis\n\n\n!!!\nCafé\n")

    assert [(r.line, r.record.name) for r in parsed.rows] == [(4, "Épis"), (8, "Café")]
    assert error_lines(parsed) == [7]


def test_header_names_in_any_case_and_with_spaces() -> None:
    parsed = parse(" NAME ,PostCode,CITY,Phone,Handles\nÉpis,75011,Paris,01 43 00 00 00,x:@epis\n")

    assert parsed.warnings == []
    record = parsed.rows[0].record
    assert (record.name, record.postcode, record.city, record.phone) == ("Épis", "75011", "Paris", "01 43 00 00 00")
    assert record.handles == (("x", "epis"),)
    assert record.present == frozenset({"name", "postcode", "city", "phone", "handles"})


def test_unknown_columns_warn_and_the_rows_still_import() -> None:
    parsed = parse("name,Notes,city,owner\nÉpis,call back on monday,Paris,Jeanne\n")

    assert parsed.errors == []
    assert len(parsed.warnings) == 1
    assert "notes" in parsed.warnings[0]
    assert "owner" in parsed.warnings[0]
    (row,) = parsed.rows
    assert (row.record.name, row.record.city) == ("Épis", "Paris")
    assert "call back" not in repr(row.record)
    assert row.record.present == frozenset({"name", "city"})


# --- file-level errors -------------------------------------------------------------------------------


def test_missing_name_column_is_a_file_error_naming_the_columns_found() -> None:
    with pytest.raises(RegistryFileError) as excinfo:
        parse("nom,ville\nÉpis,Paris\n")

    message = str(excinfo.value)
    assert "line 1" in message
    assert "'name'" in message
    assert "'nom'" in message
    assert "'ville'" in message


def test_missing_name_column_error_names_the_header_line_after_blank_lines() -> None:
    with pytest.raises(RegistryFileError, match=r"^line 3: no 'name' column"):
        parse("\n\nnom,ville\nÉpis,Paris\n")


def test_a_column_given_twice_in_the_header_is_a_file_error() -> None:
    with pytest.raises(RegistryFileError, match="city"):
        parse("name,city,City\nÉpis,Paris,Lyon\n")


@pytest.mark.parametrize(
    "data", [b"", b"\n\n", b"  \r\n\t\r\n", BOM.encode()], ids=["zero", "newlines", "spaces", "bom"]
)
def test_empty_file_is_a_file_error(data: bytes) -> None:
    with pytest.raises(RegistryFileError, match="empty"):
        parse_registry(data)


def test_file_with_only_empty_cells_has_no_header() -> None:
    with pytest.raises(RegistryFileError, match="no header row"):
        parse_registry(b",,,\r\n,,\r\n , ,\r\n")


def test_windows_1252_bytes_are_a_file_error_naming_the_line() -> None:
    data = "name,city\nEpis,Paris\nCafé Rouge,Lyon\n".encode("cp1252")

    with pytest.raises(RegistryFileError) as excinfo:
        parse_registry(data)

    message = str(excinfo.value)
    assert message.startswith("line 3:")
    assert "not UTF-8" in message
    assert "CSV UTF-8" in message  # names the fix


def test_nul_bytes_are_a_file_error() -> None:
    with pytest.raises(RegistryFileError, match="NUL"):
        parse_registry(b"name,city\nEpis\x00,Paris\n")


def test_nul_bytes_far_into_the_file_are_a_file_error_too() -> None:
    rows = "".join(f"Merchant {i},Paris\n" for i in range(1, 400))  # well past the first 4 KiB
    data = f"name,city\n{rows}".encode() + b"Bad\x00Row,Lyon\n"

    with pytest.raises(RegistryFileError, match=r"^line 401: .*NUL"):
        parse_registry(data)


def test_utf16_file_is_a_file_error_saying_so() -> None:
    data = "name,city\nÉpis,Paris\n".encode("utf-16")  # starts with a BOM FF FE

    with pytest.raises(RegistryFileError, match="UTF-16"):
        parse_registry(data)


# --- row errors, each with its physical line --------------------------------------------------------


def test_empty_name_is_rejected_and_the_other_rows_kept() -> None:
    parsed = parse("name,city\nÉpis,Paris\n  ,Lyon\nCafé,Lyon\n")

    assert names(parsed) == ["Épis", "Café"]
    line, reason = only_error(parsed)
    assert line == 3
    assert "name is empty" in reason


def test_name_without_letters_or_digits_is_rejected() -> None:
    line, reason = only_error(parse("name,city\n---,Paris\n"))

    assert line == 2
    assert "no letters or digits" in reason


@pytest.mark.parametrize(
    ("handle", "platform"),
    [
        ("x:@sixteen_chars___", "x"),  # 16 > 15
        ("x:@trois-epis", "x"),  # '-' not allowed
        ("instagram:@trois-epis", "instagram"),
        ("instagram:@" + "a" * 31, "instagram"),
        ("mastodon:@epis", "mastodon"),  # no instance
        ("mastodon:@epis@localhost", "mastodon"),  # instance without a dot
        ("bluesky:@epis", "bluesky"),  # not a domain
        ("facebook:@epis", "facebook"),  # 4 < 5
        ("facebook:@trois_epis", "facebook"),  # '_' not allowed
        ("tiktok:@e", "tiktok"),  # 1 < 2
        ("tiktok:@trois epis", "tiktok"),
    ],
)
def test_handle_breaking_its_platform_rule_is_rejected(handle: str, platform: str) -> None:
    parsed = parse(f'name,city,handles\nCafé,Lyon,\nÉpis,Paris,"{handle}"\n')

    assert names(parsed) == ["Café"]
    line, reason = only_error(parsed)
    assert line == 3
    assert reason.startswith(f"{platform} handle")
    assert "is not valid" in reason


@pytest.mark.parametrize(
    ("handle", "expected"),
    [
        ("x:@abcdefghijklmno", ("x", "abcdefghijklmno")),  # 15 is the maximum
        ("instagram:@trois.epis_75", ("instagram", "trois.epis_75")),
        ("mastodon:@epis@piaille.fr", ("mastodon", "epis@piaille.fr")),
        ("bsky:@epis.bsky.social", ("bluesky", "epis.bsky.social")),
        ("fb:@trois.epis", ("facebook", "trois.epis")),
        ("tiktok:@ep", ("tiktok", "ep")),
        ("IG:@Trois.Epis", ("instagram", "trois.epis")),
        ("twitter:@TroisEpis", ("x", "troisepis")),
        ("x:troisepis", ("x", "troisepis")),  # the '@' is optional
    ],
)
def test_valid_handles_on_every_platform(handle: str, expected: tuple[str, str]) -> None:
    parsed = parse(f"name,handles\nÉpis,{handle}\n")

    assert parsed.errors == []
    assert parsed.rows[0].record.handles == (expected,)


def test_handles_are_lower_cased_pairs_without_at_and_twitter_means_x() -> None:
    parsed = parse('name,handles\nÉpis,"x:@TroisEpis; instagram:@Epis ;twitter:@epis_bis;x:@troisepis"\n')

    assert parsed.rows[0].record.handles == (("x", "troisepis"), ("instagram", "epis"), ("x", "epis_bis"))


def test_semicolon_separated_file_with_quoted_handles() -> None:
    parsed = parse('name;handles\nÉpis;"x:@troisepis;instagram:@epis"\n')

    assert parsed.errors == []
    assert parsed.rows[0].record.handles == (("x", "troisepis"), ("instagram", "epis"))


def test_unknown_platform_is_rejected_and_the_known_ones_listed() -> None:
    line, reason = only_error(parse("name,handles\nÉpis,myspace:@epis\n"))

    assert line == 2
    assert "unknown platform 'myspace'" in reason
    assert "instagram" in reason
    assert "mastodon" in reason


def test_handle_without_platform_is_rejected() -> None:
    line, reason = only_error(parse("name,handles\nÉpis,@troisepis\n"))

    assert line == 2
    assert "platform:@handle" in reason


@pytest.mark.parametrize(
    "website", ["not a website", "ftp://troisepis.fr", "https://[shop", "https://localhost", "epis"]
)
def test_bad_website_is_rejected(website: str) -> None:
    line, reason = only_error(parse(f"name,city,website\nCafé,Lyon,\nÉpis,Paris,{website}\n"))

    assert line == 3
    assert reason.startswith("website")
    assert "not a web address" in reason


@pytest.mark.parametrize(
    ("website", "expected"),
    [
        ("troisepis.fr", "https://troisepis.fr"),
        ("HTTP://TroisEpis.FR/", "http://troisepis.fr"),
        ("https://troisepis.fr/boutique/", "https://troisepis.fr/boutique"),
        ("مخبز-الأمل.ma", "https://مخبز-الأمل.ma"),
    ],
)
def test_websites_are_normalised(website: str, expected: str) -> None:
    parsed = parse(f"name,website\nÉpis,{website}\n")

    assert parsed.errors == []
    assert parsed.rows[0].record.website == expected


@pytest.mark.parametrize("phone", ["call me", "12345", "+33 1 23 45 67 89 01 23 45", "01 43 00 00 00 ext"])
def test_bad_phone_is_rejected(phone: str) -> None:
    line, reason = only_error(parse(f"name,phone\nCafé,\nÉpis,{phone}\n"))

    assert line == 3
    assert reason.startswith("phone")


@pytest.mark.parametrize("phone", ["01 43 00 00 00", "+212 522-000-000", "(0)1.43.00.00.00", "123456"])
def test_good_phone_is_kept_as_written(phone: str) -> None:
    parsed = parse(f"name,phone\nÉpis,{phone}\n")

    assert parsed.errors == []
    assert parsed.rows[0].record.phone == phone


def test_too_many_fields_is_rejected_with_a_hint() -> None:
    parsed = parse("name,city\nÉpis,Paris\nTrois, Épis,Paris\nCafé,Lyon\n")

    assert names(parsed) == ["Épis", "Café"]
    line, reason = only_error(parsed)
    assert line == 3
    assert "3 fields but the header has 2" in reason
    assert "quote" in reason


def test_fewer_fields_than_the_header_is_fine() -> None:
    parsed = parse("name,postcode,city\nÉpis\n")

    assert parsed.errors == []
    assert (parsed.rows[0].record.postcode, parsed.rows[0].record.city) == (None, None)


def test_too_long_value_is_rejected() -> None:
    line, reason = only_error(parse(f"name,postcode\nÉpis,{'7' * 21}\n"))

    assert line == 2
    assert "postcode is longer than 20" in reason


def test_too_long_alias_is_rejected() -> None:
    line, reason = only_error(parse(f"name,aliases\nÉpis,Trois|{'a' * 301}\n"))

    assert line == 2
    assert "alias" in reason
    assert "300" in reason


def test_same_merchant_twice_in_a_file_is_rejected_even_spelled_differently() -> None:
    parsed = parse(
        "name,postcode,city\n"
        "Boulangerie Les Trois Épis,75011,Paris\n"
        "Café Rouge,69001,Lyon\n"
        "BOULANGERIE les trois-epis,75011,Paris 11e\n"  # same name and postcode
        "Boulangerie Les Trois Épis,69001,Lyon\n"  # another postcode: another shop
    )

    assert [r.line for r in parsed.rows] == [2, 3, 5]
    line, reason = only_error(parsed)
    assert line == 4
    assert "same merchant as line 2" in reason


def test_same_handle_in_two_rows_is_rejected() -> None:
    parsed = parse("name,city,handles\nÉpis,Paris,x:@troisepis\nCafé,Lyon,instagram:@cafe\nBis,Lyon,X:@TroisEpis\n")

    assert names(parsed) == ["Épis", "Café"]
    line, reason = only_error(parsed)
    assert line == 4
    assert "x:@troisepis" in reason
    assert "line 2" in reason


def test_id_column_is_read_and_must_be_a_whole_number() -> None:
    parsed = parse("id,name\n12,Épis\nabc,Café\n²,Bar\n-3,Tabac\n,Nouveau\n")

    assert [(r.record.id, r.record.name) for r in parsed.rows] == [(12, "Épis"), (None, "Nouveau")]
    assert error_lines(parsed) == [3, 4, 5]
    assert all("whole number" in reason for _, reason in parsed.errors)


def test_same_id_twice_in_a_file_is_rejected() -> None:
    parsed = parse("id,name\n7,Épis\n7,Café\n")

    assert names(parsed) == ["Épis"]
    line, reason = only_error(parsed)
    assert line == 3
    assert "id 7" in reason
    assert "line 2" in reason


# --- aliases, names, keys ----------------------------------------------------------------------------


def test_aliases_split_on_pipes_and_the_name_itself_is_dropped() -> None:
    parsed = parse("name,aliases\nLes Trois Épis,Trois Épis | les trois epis|LES TROIS ÉPIS||3E|trois épis|  \n")

    # "les trois epis" and "LES TROIS ÉPIS" are the name; "trois épis" is another spelling of "Trois Épis".
    assert parsed.rows[0].record.aliases == ("Trois Épis", "3E")


def test_alias_of_punctuation_only_is_dropped() -> None:
    parsed = parse("name,aliases\nÉpis,-|Trois\n")

    assert parsed.rows[0].record.aliases == ("Trois",)


def test_arabic_names_keep_their_text_and_normalise_their_key() -> None:
    parsed = parse("name,city,aliases\nمخبز الأمل,الدار البيضاء,مخبز الامل|مخابز الأمل\n")

    record = parsed.rows[0].record
    assert record.name == "مخبز الأمل"
    assert record.city == "الدار البيضاء"
    assert record.aliases == ("مخابز الأمل",)  # "مخبز الامل" is the name with a bare alef
    # Harakat, alef forms and tatweel do not change the key.
    for variant in ("مَخْبَز الأمل", "مخبز الامل", "مخبز الإمل", "مخـــبز الأمل"):
        assert merchant_key(variant, None, "الدار البيضاء") == record.key
    assert record.key == "مخبز الامل|الدار البيضاء"


def test_arabic_name_with_harakat_is_the_same_merchant_in_one_file() -> None:
    parsed = parse("name,city\nمخبز الأمل,Casablanca\nمَخْبَز الأمل,casablanca\n")

    assert names(parsed) == ["مخبز الأمل"]
    assert only_error(parsed)[0] == 3


def test_key_is_name_and_postcode_else_city() -> None:
    with_postcode = parse("name,postcode,city\nLes Trois-Épis,75011,Paris\n").rows[0].record
    with_city = parse("name,city\nles trois épis,PARIS\n").rows[0].record

    assert with_postcode.key == "les trois epis|75011"
    assert with_city.key == "les trois epis|paris"


def test_formula_guard_apostrophe_from_our_export_is_removed() -> None:
    parsed = parse("name,category\n'=Épis,'@bio\n")

    record = parsed.rows[0].record
    assert (record.name, record.category) == ("=Épis", "@bio")


# --- writer ------------------------------------------------------------------------------------------


def cells_of(text: str) -> list[list[str]]:
    assert text.startswith(BOM)
    return list(csv.reader(io.StringIO(text[1:], newline="")))


def test_write_registry_starts_with_bom_and_uses_crlf() -> None:
    text = write_registry([MerchantRecord(name="Épis", city="Paris"), MerchantRecord(name="مخبز الأمل")])

    assert text.startswith(BOM + "id,name,aliases,handles,website,address,postcode,city,region,category,phone\r\n")
    assert text.endswith("\r\n")
    assert text.count("\n") == 3
    assert text.count("\r\n") == 3


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ('=HYPERLINK("http://evil.example","clic")', '\'=HYPERLINK("http://evil.example","clic")'),
        ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
        ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
        ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
        ("+212 522 000 000", "+212 522 000 000"),
        ("-5", "-5"),
        ("Épicerie = bio", "Épicerie = bio"),
        ("'=already quoted", "''=already quoted"),
    ],
)
def test_write_registry_guards_formula_cells(value: str, written: str) -> None:
    text = write_registry([MerchantRecord(name="Épis", category=value)])

    header, row = cells_of(text)
    assert row[header.index("category")] == written


def test_write_registry_keeps_a_phone_number_unguarded() -> None:
    text = write_registry([MerchantRecord(name="مخبز الأمل", phone="+212 522 000 000")])

    header, row = cells_of(text)
    assert row[header.index("phone")] == "+212 522 000 000"


def test_write_registry_writes_handles_and_aliases_in_the_import_syntax() -> None:
    record = MerchantRecord(
        id=4, name="Épis", aliases=("Trois Épis", "3E"), handles=(("x", "troisepis"), ("mastodon", "epis@piaille.fr"))
    )

    header, row = cells_of(write_registry([record]))

    assert row[header.index("id")] == "4"
    assert row[header.index("aliases")] == "Trois Épis|3E"
    assert row[header.index("handles")] == "x:@troisepis;mastodon:@epis@piaille.fr"


RECORDS = [
    MerchantRecord(
        id=1,
        name="Boulangerie Les Trois Épis",
        aliases=("Trois Épis", "3E"),
        handles=(("x", "troisepis"), ("instagram", "trois.epis"), ("mastodon", "epis@piaille.fr")),
        website="https://troisepis.fr/boutique",
        address='12, rue "Oberkampf"',
        postcode="75011",
        city="Paris",
        region="Île-de-France",
        category="boulangerie; pâtisserie",
        phone="01 43 00 00 00",
    ),
    MerchantRecord(
        id=2,
        name="مخبز الأمل",
        aliases=("مخابز الأمل",),
        handles=(("bluesky", "amal.bsky.social"),),
        city="الدار البيضاء",
        phone="+212 522 000 000",
    ),
    MerchantRecord(id=3, name="=Formule", category="@bio", address="-rue", region="'=déjà", phone="-12 34 56"),
    MerchantRecord(id=None, name="Café Rouge", city="Lyon"),
]


def test_parse_of_write_registry_round_trips_records_including_ids() -> None:
    text = write_registry(RECORDS)

    parsed = parse_registry(text.encode("utf-8"))

    assert parsed.errors == []
    assert parsed.warnings == []
    assert [row.record for row in parsed.rows] == RECORDS
    assert [row.line for row in parsed.rows] == [2, 3, 4, 5]
    assert all(row.record.present == frozenset(COLUMNS) for row in parsed.rows)
    assert [r.record.id for r in parsed.rows] == [1, 2, 3, None]


def test_write_registry_of_nothing_is_just_the_header() -> None:
    text = write_registry([])

    assert cells_of(text) == [["id", *COLUMNS]]
    assert COLUMNS[0] == "name"
