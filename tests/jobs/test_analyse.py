"""The analyse job end to end on both databases: stored posts in French, Arabic and English are analysed
once, with mentions (method, score, span), discovered businesses grouped for review, sentiment, signals
and the pipeline version; leases make crashed batches come back; re-analysis replaces, never duplicates."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update

from jobs.analyse import analyse, pipeline_for
from jobs.services import Services
from listener.post import Platform
from nlp.pipeline import Pipeline, build_pipeline
from storage.models import Analysis, DiscoveredBusiness, Mention, Merchant, MerchantAlias, Post
from storage.registry_csv import parse_registry
from storage.repositories import analyses as repo
from storage.repositories._sql import utcnow
from storage.repositories.ingest import ingest
from storage.repositories.merchants import import_merchants
from tests.factories import make_author, make_post

REGISTRY_CSV = """name,aliases,handles,website,city
Boulangerie Les Trois Épis,Trois Épis,x:@troisepis,troisepis.fr,Lyon
مخبز الأمل,Al Amal Bakery,instagram:@alamal.bakery,,Casablanca
Café Zitouna,مقهى الزيتونة,,,Tunis
""".encode()

POSTS = [
    ("Merci @troisepis pour l'accueil, je recommande ! #SoutenonsnosTPEPME", "fr"),
    ("شكراً لمخبز الأمل على الخبز الطازج ❤️ #LoveLocal", "ar"),
    ("Loved the coffee at Café Zitouna in Tunis! #LoveLocal", "en"),
    ("Super accueil chez Tonton Marcel ce matin, merci ! #LoveLocal", "fr"),
    ("Service horrible, jamais plus. Très déçu. #LoveLocal", "fr"),
]


@pytest.fixture(scope="module")
def shared_pipeline() -> Pipeline:
    """Models load once for the module (seconds each); each test only swaps the registry."""
    return build_pipeline(["fr", "ar", "en"], [], ["LoveLocal", "SoutenonsnosTPEPME"])


async def _prepare(services: Services, pipeline: Pipeline) -> dict[str, int]:
    services.extras["pipeline"] = pipeline
    async with services.sessions.begin() as session:
        await import_merchants(session, parse_registry(REGISTRY_CSV).rows)
        posts = [
            make_post(100 + i, text=text, language_hint=hint, author=make_author(100 + i), platform=Platform.X)
            for i, (text, hint) in enumerate(POSTS)
        ]
        await ingest(session, posts)
    async with services.sessions() as session:
        rows = await session.execute(select(Post.text, Post.id))
        return {str(text): int(pid) for text, pid in rows.all()}


async def _count(services: Services, model: Any) -> int:
    async with services.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_posts_are_analysed_once_with_mentions_discoveries_and_sentiment(
    services: Services, shared_pipeline: Pipeline
) -> None:
    ids = await _prepare(services, shared_pipeline)

    result = await analyse(services)

    assert result["analysed"] == len(POSTS)
    async with services.sessions() as session:
        analyses = {a.post_id: a for a in (await session.execute(select(Analysis))).scalars()}
        mentions = list((await session.execute(select(Mention))).scalars())
        merchants = {m.name: m.id for m in (await session.execute(select(Merchant))).scalars()}
        discovered = list((await session.execute(select(DiscoveredBusiness))).scalars())
    assert set(analyses) == set(ids.values())
    language_of = {text: analyses[pid].language for text, pid in ids.items()}
    assert [language_of[text] for text, _ in POSTS] == ["fr", "ar", "en", "fr", "fr"]
    assert all(a.pipeline_version == result["pipeline_version"] for a in analyses.values())
    linked = {(m.post_id, m.merchant_id, m.method) for m in mentions if m.merchant_id}
    assert (ids[POSTS[0][0]], merchants["Boulangerie Les Trois Épis"], "handle") in linked
    assert (ids[POSTS[1][0]], merchants["مخبز الأمل"], "name") in linked
    assert (ids[POSTS[2][0]], merchants["Café Zitouna"], "name") in linked
    assert [(d.display_name, d.mention_count) for d in discovered] == [("Tonton Marcel", 1)]
    assert analyses[ids[POSTS[0][0]]].sentiment == "positive"
    assert analyses[ids[POSTS[4][0]]].sentiment == "negative"
    assert analyses[ids[POSTS[0][0]]].signals["recommendation"] is True
    # Nothing left to do: a second run analyses nothing and duplicates nothing.
    assert (await analyse(services))["analysed"] == 0
    assert await _count(services, Mention) == len(mentions)


async def test_reanalysis_replaces_without_duplicating(services: Services, shared_pipeline: Pipeline) -> None:
    await _prepare(services, shared_pipeline)
    await analyse(services)
    before = (await _count(services, Analysis), await _count(services, Mention))
    async with services.sessions() as session:
        discovered_count = await session.scalar(select(DiscoveredBusiness.mention_count))

    result = await analyse(services, reanalyse=True)

    assert result["analysed"] == len(POSTS)
    assert (await _count(services, Analysis), await _count(services, Mention)) == before
    async with services.sessions() as session:
        # Counted once per mention: the re-analysis replaced the mention, it did not add one.
        assert discovered_count
        assert await session.scalar(select(DiscoveredBusiness.mention_count)) == discovered_count


async def test_a_blocked_alias_no_longer_links_after_reanalysis(services: Services, shared_pipeline: Pipeline) -> None:
    ids = await _prepare(services, shared_pipeline)
    await analyse(services)
    async with services.sessions.begin() as session:
        await session.execute(update(MerchantAlias).where(MerchantAlias.alias == "Trois Épis").values(blocked=True))
        await session.execute(update(Post).values(text="Le pain des Trois Épis est le meilleur"))

    await analyse(services, reanalyse=True)

    async with services.sessions() as session:
        linked = (await session.execute(select(Mention.merchant_id).where(Mention.post_id == ids[POSTS[0][0]]))).all()
    assert [m for (m,) in linked if m is not None] == []


async def test_leases_hand_a_crashed_batch_back(services: Services, shared_pipeline: Pipeline) -> None:
    await _prepare(services, shared_pipeline)
    async with services.sessions.begin() as session:
        first = await repo.claim_unanalysed(session, 3)
    async with services.sessions.begin() as session:
        second = await repo.claim_unanalysed(session, 10)
    assert len(first) == 3
    assert {p.id for p in first}.isdisjoint({p.id for p in second})
    assert len(second) == len(POSTS) - 3
    # The worker holding `first` died: after the lease, its posts come back.
    async with services.sessions.begin() as session:
        assert await repo.claim_unanalysed(session, 10) == []
        again = await repo.claim_unanalysed(session, 10, now=utcnow() + timedelta(minutes=11))
    assert {p.id for p in again} == {p.id for p in first} | {p.id for p in second}


async def test_the_pipeline_is_rebuilt_only_when_the_registry_changes(
    services: Services, shared_pipeline: Pipeline
) -> None:
    await _prepare(services, shared_pipeline)
    async with services.sessions() as session:
        merchants = await repo.registry_entries(session)
    first = await pipeline_for(services, merchants)
    assert await pipeline_for(services, merchants) is first
    changed = [*merchants[:-1]]
    rebuilt = await pipeline_for(services, changed)
    assert rebuilt is not first
    assert rebuilt.french is first.french  # the loaded model is reused
    assert rebuilt.version != first.version
