"""Discovered-business review: the pending list, add to the registry, merge as an alias, ignore.

Discovered names and their mentions are made the way the analysis job makes them (`save_analyses` over
ingested posts), on SQLite and PostgreSQL. After a merge the real linker, fed from the registry, links
the discovered spelling to the merchant.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from jobs.services import Services
from nlp.linking import MerchantIndex
from nlp.normalise import normalise_name
from nlp.results import Discovery
from nlp.text import split_text
from storage.models import DiscoveredBusiness, Mention, Merchant, MerchantAlias
from storage.models import Post as PostRow
from storage.registry_csv import merchant_key, parse_registry
from storage.repositories.analyses import AnalysisRecord, registry_entries, save_analyses
from storage.repositories.discovered import (
    PendingDiscovery,
    ReviewError,
    add_to_registry,
    ignore,
    merge_into,
    pending_discoveries,
)
from storage.repositories.ingest import ingest
from storage.repositories.merchants import import_merchants
from tests.factories import BASE_TIME, make_post

NOW = BASE_TIME + timedelta(days=2)
TONTON = "Chez Tonton"
ZINC = "Le Petit Zinc"
NAKHIL = "مقهى النخيل"
HOSTILE = "<script>alert(1)</script>"


def discovery(name: str) -> Discovery:
    return Discovery(name=name, normalized=normalise_name(name), method="cue", score=0.6, start=0, end=len(name))


async def analyse(session: AsyncSession, n: int, names: list[str], text: str | None = None) -> int:
    """Store post `n` and an analysis of it that discovered `names`; returns the post id."""
    post = make_post(
        n, text=text or f"Super moment {' et '.join(names)} #LoveLocal", created_at=BASE_TIME + timedelta(hours=n)
    )
    await ingest(session, [post])
    post_id = await session.scalar(select(PostRow.id).where(PostRow.platform_id == post.platform_id))
    assert post_id is not None
    record = AnalysisRecord(
        post_id=post_id,
        language="fr",
        language_confidence=0.9,
        sentiment="positive",
        sentiment_score=0.7,
        signals={},
        pipeline_version="test",
        links=[],
        discoveries=[discovery(name) for name in names],
    )
    await save_analyses(session, [record], now=BASE_TIME + timedelta(hours=n))
    return post_id


async def seed(services: Services) -> dict[str, int]:
    """Chez Tonton in 4 posts, the Arabic café in 2, Le Petit Zinc in 1; returns name -> discovered id."""
    async with services.sessions.begin() as session:
        await analyse(session, 1, [TONTON, ZINC])
        await analyse(session, 2, [TONTON, NAKHIL])
        await analyse(session, 3, [TONTON], text=f"{HOSTILE} chez Tonton")
        await analyse(session, 4, [TONTON, NAKHIL])
        rows = (await session.execute(select(DiscoveredBusiness.display_name, DiscoveredBusiness.id))).all()
    return {str(name): int(discovered_id) for name, discovered_id in rows}


async def mentions_of(session: AsyncSession, discovered_id: int) -> list[tuple[int | None, str, int | None]]:
    rows = await session.execute(
        select(Mention.merchant_id, Mention.method, Mention.discovered_id)
        .where(Mention.discovered_id == discovered_id)
        .order_by(Mention.id)
    )
    return [tuple(row) for row in rows.all()]  # type: ignore[misc]


async def add_merchant(session: AsyncSession, name: str, city: str | None = "Paris") -> Merchant:
    merchant = Merchant(
        key=merchant_key(name, None, city), name=name, city=city, status="active", feature_opt_out=False,
        created_at=BASE_TIME, updated_at=BASE_TIME, aliases=[], handles=[],
    )  # fmt: skip
    session.add(merchant)
    await session.flush()
    return merchant


# --- the pending list -----------------------------------------------------------------------------------


async def test_pending_list_most_mentioned_first_with_samples(services: Services) -> None:
    ids = await seed(services)
    async with services.sessions() as session:
        page, total = await pending_discoveries(session, limit=10, offset=0)
    assert total == 3
    assert [(p.name, p.mention_count) for p in page] == [(TONTON, 4), (NAKHIL, 2), (ZINC, 1)]
    tonton = page[0]
    assert tonton == PendingDiscovery(
        id=ids[TONTON],
        name=TONTON,
        mention_count=4,
        first_seen_at=BASE_TIME + timedelta(hours=1),
        # The three latest posts, newest first; text as posted (the page escapes it).
        samples=(
            f"Super moment {TONTON} et {NAKHIL} #LoveLocal",
            f"{HOSTILE} chez Tonton",
            f"Super moment {TONTON} et {NAKHIL} #LoveLocal",
        ),
    )
    assert page[1].samples == (f"Super moment {TONTON} et {NAKHIL} #LoveLocal",) * 2
    assert page[2].samples == (f"Super moment {TONTON} et {ZINC} #LoveLocal",)


async def test_pending_list_pages_and_filters(services: Services) -> None:
    await seed(services)
    async with services.sessions() as session:
        second, total = await pending_discoveries(session, limit=1, offset=1)
        assert ([p.name for p in second], total) == ([NAKHIL], 3)
        frequent, total = await pending_discoveries(session, limit=10, offset=0, min_mentions=2)
        assert ([p.name for p in frequent], total) == ([TONTON, NAKHIL], 2)
        beyond, total = await pending_discoveries(session, limit=10, offset=5)
        assert (beyond, total) == ([], 3)
        with pytest.raises(ValueError, match="limit must be >= 1"):
            await pending_discoveries(session, limit=0, offset=0)


# --- add to the registry ---------------------------------------------------------------------------------


async def test_add_to_registry_creates_the_merchant_and_takes_the_mentions(services: Services) -> None:
    ids = await seed(services)
    async with services.sessions.begin() as session:
        merchant = await add_to_registry(
            session, ids[TONTON], name="  Épicerie  Chez Tonton ", city="Lyon", category="épicerie", now=NOW
        )
    async with services.sessions() as session:
        stored = await session.get(Merchant, merchant.id)
        assert stored is not None
        assert (stored.name, stored.city, stored.category, stored.status) == (
            "Épicerie Chez Tonton", "Lyon", "épicerie", "active",
        )  # fmt: skip
        assert stored.key == merchant_key("Épicerie Chez Tonton", None, "Lyon")
        assert (stored.created_at, stored.feature_opt_out) == (NOW, False)
        # The discovered spelling differs from the registry name: it is kept as an alias.
        assert [(a.alias, a.normalized, a.blocked) for a in stored.aliases] == [(TONTON, "chez tonton", False)]
        assert await mentions_of(session, ids[TONTON]) == [(merchant.id, "cue", ids[TONTON])] * 4
        assert await mentions_of(session, ids[ZINC]) == [(None, "cue", ids[ZINC])]
        row = await session.get(DiscoveredBusiness, ids[TONTON])
        assert row is not None
        assert (row.status, row.merchant_id) == ("added", merchant.id)
        page, total = await pending_discoveries(session, limit=10, offset=0)
        assert ([p.name for p in page], total) == ([NAKHIL, ZINC], 2)

    # The directory import finds it by the same key: an update, not a duplicate.
    parsed = parse_registry("name,city,category\nEpicerie chez Tonton,LYON,Épicerie fine\n".encode())
    async with services.sessions.begin() as session:
        result = await import_merchants(session, parsed.rows)
    assert (result.created, result.updated, result.errors) == (0, 1, [])


async def test_add_to_registry_with_the_discovered_spelling_adds_no_alias(services: Services) -> None:
    ids = await seed(services)
    async with services.sessions.begin() as session:
        merchant = await add_to_registry(session, ids[NAKHIL], name=NAKHIL, city=None, category=None, now=NOW)
    async with services.sessions() as session:
        stored = await session.get(Merchant, merchant.id)
        assert stored is not None
        assert (stored.name, stored.city, stored.category, stored.aliases) == (NAKHIL, None, None, [])
        assert stored.key == f"{normalise_name(NAKHIL)}|"


async def test_add_to_registry_refusals(services: Services) -> None:
    ids = await seed(services)
    async with services.sessions.begin() as session:
        existing = await add_merchant(session, "Chez Tonton", city="Lyon")
    cases = [
        (ids[TONTON], " \t ", "the merchant's name is required"),
        (ids[TONTON], "x" * 301, "name is too long"),
        (ids[TONTON], "CHEZ tonton!", f"merchant {existing.id} already has the name"),
        (999_999, "Chez Tonton", "discovered business 999999 does not exist"),
        (-1, "Chez Tonton", "discovered business -1 does not exist"),
    ]
    for discovered_id, name, message in cases:
        async with services.sessions() as session:
            with pytest.raises(ReviewError, match=message):
                await add_to_registry(session, discovered_id, name=name, city="Lyon", category=None, now=NOW)
            await session.rollback()
    async with services.sessions() as session:
        with pytest.raises(ReviewError, match="city is too long"):
            await add_to_registry(session, ids[TONTON], name="Tonton", city="y" * 201, category=None, now=NOW)
        row = await session.get(DiscoveredBusiness, ids[TONTON])
        assert row is not None
        assert row.status == "pending"
        assert len(list(await session.scalars(select(Merchant)))) == 1


# --- merge into an existing merchant ---------------------------------------------------------------------


async def test_merge_adds_a_normalised_alias_that_the_linker_uses(services: Services) -> None:
    ids = await seed(services)
    async with services.sessions.begin() as session:
        target = await add_merchant(session, "Épicerie Tonton et Fils")
    async with services.sessions.begin() as session:
        merged = await merge_into(session, ids[TONTON], target.id, NOW)
        assert merged.id == target.id
    async with services.sessions() as session:
        stored = await session.get(Merchant, target.id)
        assert stored is not None
        aliases = (await session.execute(select(MerchantAlias).where(MerchantAlias.merchant_id == target.id))).scalars()
        assert [(a.alias, a.normalized, a.blocked) for a in aliases] == [(TONTON, normalise_name(TONTON), False)]
        assert stored.updated_at == NOW
        assert await mentions_of(session, ids[TONTON]) == [(target.id, "cue", ids[TONTON])] * 4
        row = await session.get(DiscoveredBusiness, ids[TONTON])
        assert row is not None
        assert (row.status, row.merchant_id) == ("merged", target.id)
        index = MerchantIndex(await registry_entries(session))
    links = index.link(split_text("Un super accueil chez TONTON ce matin"), "x")
    assert [(link.merchant_id, link.method) for link in links] == [(target.id, "alias")]


async def test_merge_of_the_merchants_own_name_or_known_alias_adds_nothing(services: Services) -> None:
    ids = await seed(services)
    async with services.sessions.begin() as session:
        same_name = await add_merchant(session, "le petit ZINC")
        known = await add_merchant(session, "Café des Palmiers")
        known.aliases.append(MerchantAlias(alias="مقهى النَّخيل", normalized=normalise_name(NAKHIL), blocked=False))
    async with services.sessions.begin() as session:
        await merge_into(session, ids[ZINC], same_name.id, NOW)
        await merge_into(session, ids[NAKHIL], known.id, NOW)
    async with services.sessions() as session:
        aliases = (await session.execute(select(MerchantAlias.merchant_id, MerchantAlias.alias))).all()
        assert [tuple(a) for a in aliases] == [(known.id, "مقهى النَّخيل")]
        assert await mentions_of(session, ids[NAKHIL]) == [(known.id, "cue", ids[NAKHIL])] * 2
        assert await mentions_of(session, ids[ZINC]) == [(same_name.id, "cue", ids[ZINC])]


async def test_merge_refusals(services: Services) -> None:
    ids = await seed(services)
    async with services.sessions.begin() as session:
        shop = await add_merchant(session, "Tonton SARL")
        shop.aliases.append(MerchantAlias(alias="chez tonton", normalized="chez tonton", blocked=True))
    for discovered_id, merchant_id, message in [
        (ids[TONTON], 987_654, "merchant 987654 does not exist"),
        (ids[TONTON], 2**40, f"merchant {2**40} does not exist"),
        (ids[TONTON], shop.id, "is a blocked alias of merchant"),
        (424_242, shop.id, "discovered business 424242 does not exist"),
    ]:
        async with services.sessions() as session:
            with pytest.raises(ReviewError, match=message):
                await merge_into(session, discovered_id, merchant_id, NOW)
    async with services.sessions() as session:
        row = await session.get(DiscoveredBusiness, ids[TONTON])
        assert row is not None
        assert (row.status, row.merchant_id) == ("pending", None)
        assert await mentions_of(session, ids[TONTON]) == [(None, "cue", ids[TONTON])] * 4


# --- ignore, and deciding twice --------------------------------------------------------------------------


async def test_ignore_hides_it_and_a_second_decision_is_refused(services: Services) -> None:
    ids = await seed(services)
    async with services.sessions.begin() as session:
        shop = await add_merchant(session, "Autre")
        await ignore(session, ids[ZINC], NOW)
    async with services.sessions() as session:
        page, total = await pending_discoveries(session, limit=10, offset=0)
        assert ([p.name for p in page], total) == ([TONTON, NAKHIL], 2)
        assert await mentions_of(session, ids[ZINC]) == [(None, "cue", ids[ZINC])]
    attempts = [
        lambda s: ignore(s, ids[ZINC], NOW),
        lambda s: merge_into(s, ids[ZINC], shop.id, NOW),
        lambda s: add_to_registry(s, ids[ZINC], name="Zinc", city=None, category=None, now=NOW),
    ]
    for attempt in attempts:
        async with services.sessions() as session:
            with pytest.raises(ReviewError, match=r"discovered business \d+ \('Le Petit Zinc'\) was already ignored"):
                await attempt(session)
    async with services.sessions.begin() as session:
        await merge_into(session, ids[TONTON], shop.id, NOW)
    async with services.sessions() as session:
        with pytest.raises(ReviewError, match="was already merged"):
            await ignore(session, ids[TONTON], NOW)


async def test_concurrent_decisions_one_wins(services: Services) -> None:
    """Two curators read the row as pending; the second to write is told, and changes nothing."""
    ids = await seed(services)
    async with services.sessions.begin() as session:
        shop = await add_merchant(session, "Tonton")
    first = services.sessions()
    second = services.sessions()
    try:
        # Both have loaded the pending row before either decides.
        for session in (first, second):
            row = await session.get(DiscoveredBusiness, ids[TONTON])
            assert row is not None
            assert row.status == "pending"
        await ignore(first, ids[TONTON], NOW)
        await first.commit()
        with pytest.raises(ReviewError, match="reviewed by someone else just now"):
            await merge_into(second, ids[TONTON], shop.id, NOW)
        await second.rollback()
    finally:
        await first.close()
        await second.close()
    async with services.sessions() as session:
        row = await session.get(DiscoveredBusiness, ids[TONTON])
        assert row is not None
        assert (row.status, row.merchant_id) == ("ignored", None)
        assert list(await session.scalars(select(MerchantAlias))) == []
