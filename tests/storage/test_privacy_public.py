"""`public_author_keys`: who merchant views and report exports may show by handle. An author who granted rights
on a story (by a collected consent reply, or recorded by hand) and a registered merchant account are public;
everyone else, including an author merely asked for rights, is shown by pseudonym. On both databases."""

from __future__ import annotations

from sqlalchemy import select, update

from jobs.services import Services
from storage.models import Author, MerchantHandle, RightsRequest, Story
from storage.repositories.privacy import public_author_keys
from tests.storage.stories_setup import NOW
from tests.storage.test_privacy_forget import BOB, CLAIRE, MARIE, build_world


async def _ids(services: Services) -> dict[str, int]:
    async with services.sessions() as session:
        return {pid: int(i) for pid, i in (await session.execute(select(Author.platform_id, Author.id))).all()}


async def test_granted_rights_and_merchant_accounts_are_public(services: Services) -> None:
    world = await build_world(services)
    ids = await _ids(services)
    everyone = [ids[MARIE.platform_id], ids[BOB.platform_id], ids[CLAIRE.platform_id]]
    async with services.sessions() as session:
        # Marie granted rights with her consent reply; Bob and Claire did nothing.
        assert await public_author_keys(session, everyone) == {ids[MARIE.platform_id]}
        assert await public_author_keys(session, []) == set()

    async with services.sessions.begin() as session:
        # Claire's account is a registered merchant handle (stored lower-case, without '@').
        session.add(MerchantHandle(merchant_id=world.merchant, platform="x", handle="claire_l"))
        # Bob was asked for rights but never answered: still private.
        session.add(
            RightsRequest(
                story_id=world.bob_story,
                requested_at=NOW,
                expires_at=NOW,
                message="...",
                consent_hashtag="OuiLoveLocal",
                status="expired",
            )
        )
    async with services.sessions() as session:
        assert await public_author_keys(session, everyone) == {ids[MARIE.platform_id], ids[CLAIRE.platform_id]}

    async with services.sessions.begin() as session:
        # A merchant handle on another platform does not make the X account public.
        await session.execute(update(MerchantHandle).values(platform="mastodon"))
        # Rights recorded by hand put Bob's story in rights_granted (and later featured).
        await session.execute(update(Story).where(Story.id == world.bob_story).values(state="featured"))
    async with services.sessions() as session:
        assert await public_author_keys(session, everyone) == {ids[MARIE.platform_id], ids[BOB.platform_id]}
