"""Importing the merchant registry into a real database (SQLite and PostgreSQL): create, update, reject.

Rows come from the real parser; what was stored is read back through a second, fresh session so that
nothing cached in the importing session can stand in for the database.
"""

from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from storage.engine import make_sessionmaker
from storage.models import Merchant, MerchantAlias, MerchantHandle
from storage.registry_csv import MerchantRecord, ParsedRow, parse_registry, write_registry
from storage.repositories.merchants import ImportResult, import_merchants, list_merchants, to_record

DIRECTORY = (
    "name,aliases,handles,website,postcode,city,category,phone\n"
    "Boulangerie Les Trois Épis,Trois Épis|3E,x:@troisepis;instagram:@trois.epis,troisepis.fr,75011,Paris,"
    "boulangerie,01 43 00 00 00\n"
    "مخبز الأمل,مخابز الأمل,,,,الدار البيضاء,مخبز,+212 522 000 000\n"
)


async def import_text(session: AsyncSession, text: str) -> ImportResult:
    parsed = parse_registry(text.encode("utf-8"))
    assert parsed.errors == [], parsed.errors
    result = await import_merchants(session, parsed.rows)
    await session.commit()
    return result


def counts(result: ImportResult) -> tuple[int, int, int]:
    return result.created, result.updated, result.unchanged


async def stored(engine: AsyncEngine) -> dict[str, Merchant]:
    """Every merchant by name, read in a fresh session."""
    async with make_sessionmaker(engine)() as fresh:
        return {m.name: m for m in await list_merchants(fresh)}


async def row_count(engine: AsyncEngine, model: type) -> int:
    async with make_sessionmaker(engine)() as fresh:
        return int(await fresh.scalar(select(func.count()).select_from(model)) or 0)


async def test_import_creates_merchants_with_aliases_and_handles(session: AsyncSession, engine: AsyncEngine) -> None:
    result = await import_text(session, DIRECTORY)

    assert counts(result) == (2, 0, 0)
    assert result.errors == []
    merchants = await stored(engine)
    assert set(merchants) == {"Boulangerie Les Trois Épis", "مخبز الأمل"}
    epis = merchants["Boulangerie Les Trois Épis"]
    assert epis.key == "boulangerie les trois epis|75011"
    assert (epis.postcode, epis.city, epis.category, epis.phone) == ("75011", "Paris", "boulangerie", "01 43 00 00 00")
    assert epis.website == "https://troisepis.fr"
    assert epis.status == "active"
    assert [(a.alias, a.normalized, a.blocked) for a in epis.aliases] == [
        ("Trois Épis", "trois epis", False),
        ("3E", "3e", False),
    ]
    assert [(h.platform, h.handle) for h in epis.handles] == [("x", "troisepis"), ("instagram", "trois.epis")]
    amal = merchants["مخبز الأمل"]
    assert amal.key == "مخبز الامل|الدار البيضاء"
    assert amal.phone == "+212 522 000 000"
    assert [a.alias for a in amal.aliases] == ["مخابز الأمل"]


async def test_reimporting_the_same_rows_changes_nothing(session: AsyncSession, engine: AsyncEngine) -> None:
    await import_text(session, DIRECTORY)
    before = {name: (m.id, m.updated_at) for name, m in (await stored(engine)).items()}

    result = await import_text(session, DIRECTORY)

    assert counts(result) == (0, 0, 2)
    assert result.errors == []
    assert await row_count(engine, Merchant) == 2
    assert await row_count(engine, MerchantAlias) == 3
    assert await row_count(engine, MerchantHandle) == 2
    after = {name: (m.id, m.updated_at) for name, m in (await stored(engine)).items()}
    assert after == before


async def test_reimport_with_other_spelling_of_the_name_updates_the_same_merchant(
    session: AsyncSession, engine: AsyncEngine
) -> None:
    await import_text(session, DIRECTORY)

    result = await import_text(session, "name,postcode,city\nBOULANGERIE les trois-epis,75011,Paris\n")

    assert counts(result) == (0, 1, 0)
    merchants = await stored(engine)
    assert "BOULANGERIE les trois-epis" in merchants
    assert await row_count(engine, Merchant) == 2


async def test_changed_city_and_phone_update_the_merchant(session: AsyncSession, engine: AsyncEngine) -> None:
    await import_text(session, DIRECTORY)
    old = (await stored(engine))["Boulangerie Les Trois Épis"]

    changed = DIRECTORY.replace("75011,Paris,boulangerie,01 43 00 00 00", "75011,Paris 11e,boulangerie,01 43 99 99 99")
    result = await import_text(session, changed)

    assert counts(result) == (0, 1, 1)
    new = (await stored(engine))["Boulangerie Les Trois Épis"]
    assert new.id == old.id
    assert (new.city, new.phone) == ("Paris 11e", "01 43 99 99 99")
    assert new.updated_at > old.updated_at
    assert await row_count(engine, Merchant) == 2


async def test_emptied_cell_clears_the_stored_value(session: AsyncSession, engine: AsyncEngine) -> None:
    await import_text(session, DIRECTORY)

    result = await import_text(session, DIRECTORY.replace(",boulangerie,01 43 00 00 00", ",boulangerie,"))

    assert counts(result) == (0, 1, 1)
    assert (await stored(engine))["Boulangerie Les Trois Épis"].phone is None


async def test_columns_absent_from_the_file_leave_stored_values_alone(
    session: AsyncSession, engine: AsyncEngine
) -> None:
    await import_text(session, DIRECTORY)

    result = await import_text(
        session, "name,postcode,city,category\nBoulangerie Les Trois Épis,75011,Paris,pâtisserie\n"
    )

    assert counts(result) == (0, 1, 0)
    epis = (await stored(engine))["Boulangerie Les Trois Épis"]
    assert epis.category == "pâtisserie"
    assert epis.phone == "01 43 00 00 00"
    assert epis.website == "https://troisepis.fr"
    assert [a.alias for a in epis.aliases] == ["Trois Épis", "3E"]
    assert [(h.platform, h.handle) for h in epis.handles] == [("x", "troisepis"), ("instagram", "trois.epis")]


async def test_file_without_postcode_column_updates_the_merchant_stored_with_one(
    session: AsyncSession, engine: AsyncEngine
) -> None:
    await import_text(session, DIRECTORY)

    result = await import_text(session, "name,city,phone\nBoulangerie Les Trois Épis,Paris,01 43 11 11 11\n")

    assert counts(result) == (0, 1, 0)
    assert await row_count(engine, Merchant) == 2
    epis = (await stored(engine))["Boulangerie Les Trois Épis"]
    assert (epis.postcode, epis.city, epis.phone) == ("75011", "Paris", "01 43 11 11 11")
    assert epis.key == "boulangerie les trois epis|75011"


async def test_file_with_only_names_updates_the_one_merchant_of_that_name(
    session: AsyncSession, engine: AsyncEngine
) -> None:
    await import_text(session, DIRECTORY)

    result = await import_text(session, "name,category\nمَخْبَز الأمل,مخابز\n")

    assert counts(result) == (0, 1, 0)
    amal = (await stored(engine))["مَخْبَز الأمل"]
    assert (amal.category, amal.city) == ("مخابز", "الدار البيضاء")
    assert await row_count(engine, Merchant) == 2


async def test_file_with_only_names_refuses_to_guess_between_namesakes(
    session: AsyncSession, engine: AsyncEngine
) -> None:
    await import_text(session, "name,postcode,city\nCafé Rouge,69001,Lyon\nCafé Rouge,75003,Paris\n")

    parsed = parse_registry(b"name,phone\nCafe Rouge,04 78 00 00 00\n")
    result = await import_merchants(session, parsed.rows)
    await session.commit()

    assert counts(result) == (0, 0, 0)
    ((line, reason),) = result.errors
    assert line == 2
    assert "2 merchants" in reason
    assert "postcode" in reason
    assert all(m.phone is None for m in (await stored(engine)).values())
    assert await row_count(engine, Merchant) == 2


async def test_aliases_are_replaced_but_a_blocked_alias_survives(session: AsyncSession, engine: AsyncEngine) -> None:
    await import_text(session, DIRECTORY)
    async with make_sessionmaker(engine).begin() as curator:
        await curator.execute(update(MerchantAlias).where(MerchantAlias.alias == "3E").values(blocked=True))

    same = await import_text(session, DIRECTORY)
    replaced = await import_text(session, DIRECTORY.replace("Trois Épis|3E", "Les Épis"))

    assert counts(same) == (0, 0, 2)  # "3E" is in the file but blocked: neither re-added nor a change
    assert counts(replaced) == (0, 1, 1)
    epis = (await stored(engine))["Boulangerie Les Trois Épis"]
    assert sorted((a.alias, a.blocked) for a in epis.aliases) == [("3E", True), ("Les Épis", False)]
    assert to_record(epis).aliases == ("Les Épis",)  # a blocked alias is not exported as one to link
    assert await row_count(engine, MerchantAlias) == 3


async def test_blocked_alias_survives_an_empty_aliases_cell(session: AsyncSession, engine: AsyncEngine) -> None:
    await import_text(session, DIRECTORY)
    async with make_sessionmaker(engine).begin() as curator:
        await curator.execute(update(MerchantAlias).where(MerchantAlias.alias == "3E").values(blocked=True))

    result = await import_text(session, DIRECTORY.replace("Trois Épis|3E", ""))

    assert counts(result) == (0, 1, 1)
    epis = (await stored(engine))["Boulangerie Les Trois Épis"]
    assert [(a.alias, a.blocked) for a in epis.aliases] == [("3E", True)]


async def test_alias_respelled_is_updated_in_place(session: AsyncSession, engine: AsyncEngine) -> None:
    await import_text(session, DIRECTORY)
    ids = {a.normalized: a.id for a in (await stored(engine))["Boulangerie Les Trois Épis"].aliases}

    result = await import_text(session, DIRECTORY.replace("Trois Épis|3E", "TROIS EPIS|3E"))

    assert counts(result) == (0, 1, 1)
    aliases = (await stored(engine))["Boulangerie Les Trois Épis"].aliases
    assert [(a.id, a.alias) for a in aliases] == [(ids["trois epis"], "TROIS EPIS"), (ids["3e"], "3E")]


async def test_handles_are_replaced_by_the_files(session: AsyncSession, engine: AsyncEngine) -> None:
    await import_text(session, DIRECTORY)

    result = await import_text(
        session, DIRECTORY.replace("x:@troisepis;instagram:@trois.epis", "instagram:@trois.epis;bsky:@epis.bsky.social")
    )

    assert counts(result) == (0, 1, 1)
    epis = (await stored(engine))["Boulangerie Les Trois Épis"]
    assert [(h.platform, h.handle) for h in epis.handles] == [
        ("instagram", "trois.epis"),
        ("bluesky", "epis.bsky.social"),
    ]
    assert await row_count(engine, MerchantHandle) == 2


async def test_handle_owned_by_another_merchant_rejects_only_that_row(
    session: AsyncSession, engine: AsyncEngine
) -> None:
    await import_text(session, DIRECTORY)
    owner = (await stored(engine))["Boulangerie Les Trois Épis"].id
    parsed = parse_registry(
        "name,city,handles\n"
        "Café Rouge,Lyon,instagram:@cafe.rouge\n"  # 2
        "Épis Bis,Paris,X:@TroisEpis\n"  # 3: the handle belongs to merchant `owner`
        "Bar Tabac,Lyon,\n".encode()  # 4
    )

    result = await import_merchants(session, parsed.rows)
    await session.commit()

    assert counts(result) == (2, 0, 0)
    assert result.errors == [(3, f"handle x:@troisepis already belongs to merchant {owner}")]
    merchants = await stored(engine)
    assert set(merchants) == {"Boulangerie Les Trois Épis", "مخبز الأمل", "Café Rouge", "Bar Tabac"}
    assert [(h.platform, h.handle) for h in merchants["Café Rouge"].handles] == [("instagram", "cafe.rouge")]
    assert await row_count(engine, MerchantHandle) == 3


async def test_handle_can_move_once_its_owner_dropped_it(session: AsyncSession, engine: AsyncEngine) -> None:
    await import_text(session, DIRECTORY)

    result = await import_text(
        session,
        "name,postcode,city,handles\n"
        "Boulangerie Les Trois Épis,75011,Paris,instagram:@trois.epis\n"
        "Épis Bis,75012,Paris,x:@troisepis\n",
    )

    assert counts(result) == (1, 1, 0)
    assert [(h.platform, h.handle) for h in (await stored(engine))["Épis Bis"].handles] == [("x", "troisepis")]


async def test_id_column_updates_that_merchant_even_when_the_name_changes(
    session: AsyncSession, engine: AsyncEngine
) -> None:
    await import_text(session, DIRECTORY)
    epis = (await stored(engine))["Boulangerie Les Trois Épis"]

    result = await import_text(session, f"id,name,postcode,city\n{epis.id},Les Trois Épis Bio,75011,Paris\n")

    assert counts(result) == (0, 1, 0)
    merchants = await stored(engine)
    assert "Boulangerie Les Trois Épis" not in merchants
    renamed = merchants["Les Trois Épis Bio"]
    assert renamed.id == epis.id
    assert renamed.key == "les trois epis bio|75011"
    assert renamed.phone == "01 43 00 00 00"  # no phone column: kept
    assert [h.handle for h in renamed.handles] == ["troisepis", "trois.epis"]
    assert await row_count(engine, Merchant) == 2


async def test_id_column_without_postcode_column_keeps_the_postcode_in_the_key(
    session: AsyncSession, engine: AsyncEngine
) -> None:
    await import_text(session, DIRECTORY)
    epis = (await stored(engine))["Boulangerie Les Trois Épis"]

    result = await import_text(session, f"id,name\n{epis.id},Les Trois Épis Bio\n")

    assert counts(result) == (0, 1, 0)
    renamed = (await stored(engine))["Les Trois Épis Bio"]
    assert (renamed.postcode, renamed.key) == ("75011", "les trois epis bio|75011")


async def test_unknown_id_is_an_error_row(session: AsyncSession, engine: AsyncEngine) -> None:
    await import_text(session, DIRECTORY)
    parsed = parse_registry(b"id,name,city\n999,Ghost,Paris\n,Caf\xc3\xa9 Rouge,Lyon\n4294967296,Huge,Paris\n")

    result = await import_merchants(session, parsed.rows)
    await session.commit()

    assert counts(result) == (1, 0, 0)
    assert [line for line, _ in result.errors] == [2, 4]
    assert "id 999 is not a merchant" in result.errors[0][1]
    assert "id 4294967296 is not a merchant" in result.errors[1][1]
    assert set(await stored(engine)) == {"Boulangerie Les Trois Épis", "مخبز الأمل", "Café Rouge"}


async def test_renaming_by_id_onto_another_merchant_is_refused(session: AsyncSession, engine: AsyncEngine) -> None:
    await import_text(session, "name,postcode,city\nCafé Rouge,69001,Lyon\nCafé Bleu,69001,Lyon\n")
    merchants = await stored(engine)
    bleu, rouge = merchants["Café Bleu"].id, merchants["Café Rouge"].id
    parsed = parse_registry(f"id,name,postcode,city\n{bleu},Café Rouge,69001,Lyon\n".encode())

    result = await import_merchants(session, parsed.rows)
    await session.commit()

    assert result.errors == [(2, f"merchant {rouge} already has this name and postcode/city")]
    assert set(await stored(engine)) == {"Café Rouge", "Café Bleu"}


async def test_a_row_the_database_refuses_is_reported_and_the_others_stored(
    session: AsyncSession, engine: AsyncEngine
) -> None:
    # The parser never yields a record giving a handle twice; built by hand it breaks the (platform, handle)
    # unique constraint at flush time, past every check in the code: only the savepoint can contain it.
    rows = [
        ParsedRow(2, MerchantRecord(name="Café Rouge", city="Lyon")),
        ParsedRow(3, MerchantRecord(name="Épis", city="Paris", handles=(("x", "epis"), ("x", "epis")))),
        ParsedRow(4, MerchantRecord(name="Bar Tabac", city="Lyon", handles=(("x", "bartabac"),))),
    ]

    result = await import_merchants(session, rows)
    await session.commit()

    assert counts(result) == (2, 0, 0)
    ((line, reason),) = result.errors
    assert line == 3
    assert reason.startswith("could not be stored: IntegrityError")
    assert "\n" not in reason
    assert set(await stored(engine)) == {"Café Rouge", "Bar Tabac"}
    assert await row_count(engine, MerchantHandle) == 1


async def test_export_then_import_of_the_export_changes_nothing(session: AsyncSession, engine: AsyncEngine) -> None:
    await import_text(session, DIRECTORY + "=Formule,,,,,Lyon,@bio,\n")
    exported = write_registry(to_record(m) for m in (await stored(engine)).values())

    result = await import_text(session, exported)

    assert counts(result) == (0, 0, 3)
    assert await row_count(engine, Merchant) == 3
    assert "=Formule" in await stored(engine)


async def test_import_runs_inside_the_callers_transaction(session: AsyncSession, engine: AsyncEngine) -> None:
    # `merchants import --dry-run` relies on this: rolling the caller's transaction back stores nothing,
    # although every row was written and released in its own savepoint.
    await import_text(session, "name,city\nCafé Rouge,Lyon\n")
    parsed = parse_registry("name,city,phone\nCafé Rouge,Lyon,04 78 00 00 00\nÉpis,Paris,\nBar,Lyon,\n".encode())

    result = await import_merchants(session, parsed.rows)
    await session.rollback()

    assert counts(result) == (2, 1, 0)
    merchants = await stored(engine)
    assert set(merchants) == {"Café Rouge"}
    assert merchants["Café Rouge"].phone is None
