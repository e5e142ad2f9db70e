"""Merchants' corrections on SQLite and PostgreSQL, with the real analyse job (French model and all):

- a flagged mention, once a curator accepts, loses its link, what was counted from it is put right (the
  story's merchant, the "names a merchant" signal), and the NEXT analysis of a new post with the same alias
  does not link it to that merchant, while other names of the merchant still link;
- an accepted alias links in the next analysis; a handle owned by another merchant is refused;
- a takedown archives the story (its history says why); the featuring choice applies at once and is recorded;
- requests outside the merchant's scope are "not found"; a decision is made once.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from jobs.analyse import analyse
from jobs.services import Services
from nlp.pipeline import Pipeline, build_pipeline
from storage.models import Analysis, LinkExclusion, Mention, Merchant, MerchantCorrection, Post, Story
from storage.registry_csv import parse_registry
from storage.repositories import corrections
from storage.repositories._sql import utcnow
from storage.repositories.ingest import ingest
from storage.repositories.merchant_mentions import Scope
from storage.repositories.merchants import import_merchants
from storage.repositories.users import Role, add_user
from tests.factories import make_author, make_post
from tests.storage.stories_setup import NOW, Analysed, add_merchant, moves, scored

REGISTRY = """name,aliases,handles,city
Boulangerie Amal,Amal|Chez Amal,x:@amal_bakery,Casablanca
Épicerie Zitouna,Zitouna,,Rabat
""".encode()
PERSON = "Amal m'a aidée à porter mes courses au marché, merci à elle ! #LoveLocal"
SHOP = "Le pain de la Boulangerie Amal est délicieux, je recommande ! #LoveLocal"


@pytest.fixture(scope="module")
def shared_pipeline() -> Pipeline:
    return build_pipeline(["fr", "ar", "en"], [], ["LoveLocal", "SoutenonsnosTPEPME"])


async def _registry(services: Services, pipeline: Pipeline) -> dict[str, int]:
    services.extras["pipeline"] = pipeline
    async with services.sessions.begin() as session:
        await import_merchants(session, parse_registry(REGISTRY).rows)
        rows = await session.execute(select(Merchant.name, Merchant.id))
        return {str(name): int(i) for name, i in rows.all()}


async def _post(services: Services, n: int, text: str) -> int:
    async with services.sessions.begin() as session:
        post = make_post(n, text=text, author=make_author(n), created_at=utcnow() - timedelta(hours=1))
        await ingest(session, [post], campaign_ids=[services.campaign_ids["lovelocal"]])
        return int(await session.scalar(select(Post.id).where(Post.platform_id == post.platform_id)) or 0)


async def _links(services: Services, post_id: int) -> dict[int, tuple[str, str]]:
    async with services.sessions() as session:
        rows = await session.execute(
            select(Mention.merchant_id, Mention.method, Mention.surface).where(
                Mention.post_id == post_id, Mention.merchant_id.is_not(None)
            )
        )
        return {int(m or 0): (method, surface) for m, method, surface in rows.all()}


async def _user(services: Services, email: str, role: Role, merchants: list[int]) -> int:
    async with services.sessions.begin() as session:
        return (await add_user(session, email, role, "x", merchants)).id


async def test_an_accepted_flag_unlinks_and_the_next_analysis_does_not_link_the_alias_again(
    services: Services, shared_pipeline: Pipeline
) -> None:
    ids = await _registry(services, shared_pipeline)
    amal, zitouna = ids["Boulangerie Amal"], ids["Épicerie Zitouna"]
    person = await _post(services, 501, PERSON)
    assert (await analyse(services))["analysed"] == 1
    assert await _links(services, person) == {amal: ("alias", "Amal")}
    async with services.sessions() as session:
        analysis = await session.get(Analysis, person)
        assert analysis is not None
        assert analysis.signals["named_merchant"] is True
        mention_id = int(await session.scalar(select(Mention.id).where(Mention.post_id == person)) or 0)
    owner = await _user(services, "owner@amal.example", Role.MERCHANT, [amal])
    curator = await _user(services, "curator@example.org", Role.CURATOR, [])

    # Another merchant cannot flag it: not in its scope.
    with pytest.raises(corrections.NotFound):
        async with services.sessions.begin() as session:
            await corrections.flag_mention(session, Scope.of([zitouna], zitouna), mention_id, None, None, NOW)
    async with services.sessions.begin() as session:
        flag = await corrections.flag_mention(session, Scope.of([amal], amal), mention_id, owner, "une personne", NOW)
        again = await corrections.flag_mention(session, Scope.of([amal], amal), mention_id, owner, None, NOW)
    assert again.id == flag.id  # asking twice is one request
    assert (flag.kind, flag.status, flag.surface, flag.method, flag.post_id) == (
        "not_us",
        "pending",
        "Amal",
        "alias",
        person,
    )
    # Until a curator decides, nothing changes.
    assert await _links(services, person) == {amal: ("alias", "Amal")}
    with pytest.raises(corrections.NotFound):
        async with services.sessions.begin() as session:
            await corrections.decide(session, flag.id, accept=True, actor=curator, note=None, merchant_id=zitouna)

    async with services.sessions.begin() as session:
        decided = await corrections.decide(session, flag.id, accept=True, actor=curator, note="ok", now=NOW)
    assert (decided.status, decided.decided_by, decided.decision_note) == ("accepted", curator, "ok")
    assert await _links(services, person) == {}
    async with services.sessions() as session:
        analysis = await session.get(Analysis, person)
        assert analysis is not None
        assert analysis.signals["named_merchant"] is False
        exclusions = (await session.execute(select(LinkExclusion.merchant_id, LinkExclusion.alias))).all()
        assert [tuple(e) for e in exclusions] == [(amal, "Amal")]
        assert await corrections.link_exclusions(session) == [(amal, "Amal")]
    with pytest.raises(corrections.CorrectionError, match="already accepted"):
        async with services.sessions.begin() as session:
            await corrections.decide(session, flag.id, accept=False, actor=curator, note=None)

    # The next analysis: a new post naming "Amal" the same way is not linked to the shop; the shop's own name
    # and another merchant still link.
    again_person = await _post(services, 502, "Merci Amal pour le coup de main avec les cartons ! #LoveLocal")
    shop = await _post(services, 503, SHOP)
    other = await _post(services, 504, "Les olives de Zitouna, toujours parfaites #LoveLocal")
    assert (await analyse(services))["analysed"] == 3
    assert await _links(services, again_person) == {}
    assert await _links(services, shop) == {amal: ("name", "Boulangerie Amal")}
    assert await _links(services, other) == {zitouna: ("alias", "Zitouna")}
    # A re-analysis of everything keeps the correction too.
    await analyse(services, reanalyse=True)
    assert await _links(services, person) == {}
    assert await _links(services, again_person) == {}


async def test_an_accepted_alias_links_in_the_next_analysis_and_handles_stay_unique(
    services: Services, shared_pipeline: Pipeline
) -> None:
    ids = await _registry(services, shared_pipeline)
    amal, zitouna = ids["Boulangerie Amal"], ids["Épicerie Zitouna"]
    scope = Scope.of([amal], amal)
    async with services.sessions.begin() as session:
        alias = await corrections.suggest(session, scope, amal, "alias", "  Le  Fournil d'Amal ", None, None, None, NOW)
        handle = await corrections.suggest(
            session, scope, amal, "handle", "@Amal.Fournil", "instagram", None, None, NOW
        )
        taken = await corrections.suggest(session, scope, amal, "handle", "amal_bakery", "x", None, None, NOW)
    assert (alias.value, handle.value, handle.platform) == ("Le Fournil d'Amal", "amal.fournil", "instagram")
    with pytest.raises(corrections.NotFound):
        async with services.sessions.begin() as session:
            await corrections.suggest(session, scope, zitouna, "alias", "Zit", None, None, None, NOW)
    with pytest.raises(corrections.CorrectionError):
        async with services.sessions.begin() as session:
            await corrections.suggest(session, scope, amal, "handle", "x", None, None, None, NOW)

    async with services.sessions.begin() as session:
        await corrections.decide(session, alias.id, accept=True, actor=None, note=None)
        await corrections.decide(session, handle.id, accept=True, actor=None, note=None)
        await corrections.decide(session, taken.id, accept=True, actor=None, note=None)  # already Amal's: no-op
    async with services.sessions.begin() as session:
        other = await corrections.suggest(
            session, Scope.of([zitouna], zitouna), zitouna, "handle", "amal_bakery", "x", None, None, NOW
        )
    with pytest.raises(corrections.CorrectionError, match="already belongs to merchant"):
        async with services.sessions.begin() as session:
            await corrections.decide(session, other.id, accept=True, actor=None, note=None)
    async with services.sessions() as session:
        merchant = await session.get(Merchant, amal)
        assert merchant is not None
        assert "Le Fournil d'Amal" in [a.alias for a in merchant.aliases]
        assert ("instagram", "amal.fournil") in [(h.platform, h.handle) for h in merchant.handles]

    post = await _post(services, 511, "Une brioche du Fournil d'Amal ce matin #LoveLocal")
    await analyse(services)
    assert await _links(services, post) == {amal: ("alias", "Fournil d'Amal")}


async def test_takedown_archives_the_story_and_featuring_choices_are_recorded(services: Services) -> None:
    async with services.sessions.begin() as session:
        amal = await add_merchant(session, "Boulangerie Amal")
        zitouna = await add_merchant(session, "Épicerie Zitouna")
    stories = await scored(services, [(make_post(521), Analysed(merchant_id=amal))])
    story_id = stories["1000521"]
    scope = Scope.of([amal], amal)
    with pytest.raises(corrections.NotFound):
        async with services.sessions.begin() as session:
            await corrections.request_takedown(session, Scope.of([zitouna], zitouna), story_id, None, None, NOW)
    async with services.sessions.begin() as session:
        request = await corrections.request_takedown(session, scope, story_id, None, "pas de photo", NOW)
    async with services.sessions() as session:
        pending = await corrections.corrections(session, status="pending")
    assert [(r.kind, r.story_id, r.note) for r in pending] == [("takedown", story_id, "pas de photo")]
    async with services.sessions.begin() as session:
        await corrections.decide(session, request.id, accept=True, actor=None, note=None, now=NOW)
    async with services.sessions() as session:
        story = await session.get(Story, story_id)
        assert story is not None
        assert story.state == "archived"
        assert (await moves(session, story_id))[-1][1:] == (
            "archived",
            None,
            "taken down at the merchant's request: pas de photo",
        )
    with pytest.raises(corrections.CorrectionError, match="archived"):
        async with services.sessions.begin() as session:
            await corrections.request_takedown(session, scope, story_id, None, None, NOW)

    async with services.sessions.begin() as session:
        assert await corrections.set_featuring(session, scope, amal, True, None, NOW)
        assert not await corrections.set_featuring(session, scope, amal, True, None, NOW)
        assert await corrections.set_featuring(session, scope, amal, False, None, NOW + timedelta(minutes=1))
    with pytest.raises(corrections.NotFound):
        async with services.sessions.begin() as session:
            await corrections.set_featuring(session, scope, zitouna, True, None, NOW)
    async with services.sessions() as session:
        assert (await session.get(Merchant, amal)).feature_opt_out is False  # type: ignore[union-attr]
        kinds = (
            await session.execute(
                select(MerchantCorrection.kind, MerchantCorrection.status)
                .where(MerchantCorrection.kind.in_(["opt_out", "opt_in"]))
                .order_by(MerchantCorrection.id)
            )
        ).all()
        assert [tuple(k) for k in kinds] == [("opt_out", "accepted"), ("opt_in", "accepted")]
        assert await corrections.pending_counts(session) == {}
        assert await session.scalar(select(func.count()).select_from(MerchantCorrection)) == 3


async def test_a_flag_on_a_story_post_moves_the_story_to_the_next_merchant(services: Services) -> None:
    async with services.sessions.begin() as session:
        amal = await add_merchant(session, "Boulangerie Amal")
        zitouna = await add_merchant(session, "Épicerie Zitouna")
    stories = await scored(services, [(make_post(531), Analysed(merchant_id=amal))])
    story_id = stories["1000531"]
    async with services.sessions.begin() as session:
        post_id = int(await session.scalar(select(Story.post_id).where(Story.id == story_id)) or 0)
        session.add(Mention(post_id=post_id, merchant_id=zitouna, surface="Zitouna", method="alias", score=0.5))
        mention_id = int(
            await session.scalar(select(Mention.id).where(Mention.post_id == post_id, Mention.merchant_id == amal)) or 0
        )
    async with services.sessions.begin() as session:
        flag = await corrections.flag_mention(session, Scope.of([amal], amal), mention_id, None, None, NOW)
        await corrections.decide(session, flag.id, accept=True, actor=None, note=None, now=NOW)
    async with services.sessions() as session:
        assert (await session.get(Story, story_id)).merchant_id == zitouna  # type: ignore[union-attr]
        analysis = await session.get(Analysis, post_id)
        assert analysis is not None
        assert analysis.signals["named_merchant"] is True  # Zitouna is still named
