"""`forget_author`: an author asked to be forgotten. A rich, real world is built (their posts analysed with
merchant links and discovered names, a story through the whole rights flow with their consent reply,
engagement snapshots, a quarantined payload, a stored report with their rows, and someone else's repost,
quote and reply of their posts); after the erasure every text and JSON column of every table (whatever
tables exist by now) is searched for their handles, name, ids and texts, and the other people's data is
checked intact. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from jobs import stories as stories_job
from jobs.services import Services
from listener.post import Author, Metrics, Post
from nlp.results import Discovery, Link
from nlp.signals import fingerprint
from storage.models import (
    Analysis,
    Base,
    DiscoveredBusiness,
    EngagementSnapshot,
    MerchantCorrection,
    PrivacyErasure,
    Quarantine,
    Report,
    RightsRequest,
    Story,
)
from storage.models import Post as PostRow
from storage.pseudonyms import pseudonym
from storage.repositories.analyses import AnalysisRecord, save_analyses
from storage.repositories.ingest import ingest
from storage.repositories.privacy import (
    REMOVED,
    AmbiguousAuthor,
    PrivacyError,
    forget_author,
    resolve_author,
)
from storage.repositories.quarantine import quarantine
from storage.repositories.story_rights import grant_from_replies, request_rights
from storage.repositories.story_states import transition
from tests.factories import make_post
from tests.storage.stories_setup import NOW, Analysed, add_merchant, good_signals, store

MARIE = Author(platform_id="7700991122", handle="marie_dupont", display_name="Marie Dupont-Oubli", followers=50)
BOB = Author(platform_id="u-bob-314", handle="bob_martin", display_name="Bob Martin", followers=80)
CLAIRE = Author(platform_id="u-claire-7", handle="claire_l", display_name="Claire L.", followers=20)
OLD_HANDLE = "mdupont_old"  # Marie's handle when she posted; she has renamed since
TEXTS = {
    "p1": "Ma boulangerie préférée, Chez Tonton Marcel à la Boulangerie Amal, merci ! forgetme-one #LoveLocal",
    "p2": "Épicerie Nour et Boulangerie Amal : accueil adorable, je recommande. forgetme-two #LoveLocal",
    "p3": "Avec plaisir, c'est oui ! #OuiLoveLocal forgetme-three",
    "quarantined": "un tweet illisible forgetme-four",
}
P1, P2, P3 = "8800000001", "8800000002", "8800000003"
B1, B2, B3, B4, C1, C2 = "6600000001", "6600000002", "6600000003", "6600000004", "6600000005", "6600000006"
NEEDLES = (
    "marie_dupont",
    OLD_HANDLE,
    "Marie Dupont-Oubli",
    MARIE.platform_id,
    P1,
    P2,
    P3,
    "forgetme",
    "Tonton Marcel",
    *TEXTS.values(),
)
BOB_TEXTS = {
    B1: "Le Café Zinc et l'Épicerie Nour, deux adresses en or, merci ! #LoveLocal",
    B3: "Tellement vrai, @marie_dupont ! https://t.co/q1 #LoveLocal",
    B4: "@Marie_Dupont merci pour l'adresse ! #LoveLocal",
    C1: "Marie et Dupont ont ouvert une épicerie rue Haute #LoveLocal",
    C2: "Merci @marie_dupont pour le conseil, la Boulangerie Amal est top #LoveLocal",
}


def _post(pid: str, author: Author, text: str, *, minutes: int, handle: str | None = None, **fields: Any) -> Post:
    raw: dict[str, Any] = {"id": pid, "text": text, "author_id": author.platform_id, **fields.pop("raw", {})}
    return replace(
        make_post(text=text, author=author, created_at=NOW - timedelta(days=2) + timedelta(minutes=minutes)),
        platform_id=pid,
        url=f"https://x.com/{handle or author.handle}/status/{pid}",
        raw=raw,
        **fields,
    )


def marie_posts() -> list[Post]:
    return [
        _post(P1, MARIE, TEXTS["p1"], minutes=1, handle=OLD_HANDLE),
        _post(P2, MARIE, TEXTS["p2"], minutes=2, handle=OLD_HANDLE),
    ]


def others_posts() -> list[Post]:
    repost = _post(
        B2,
        BOB,
        f"RT @{OLD_HANDLE}: {TEXTS['p1'][:60]}",
        minutes=3,
        repost_of_id=P1,
        raw={"referenced_tweets": [{"type": "retweeted", "id": P1}]},
    )
    quote = _post(
        B3,
        BOB,
        BOB_TEXTS[B3],
        minutes=4,
        quote_of_id=P2,
        mentions=("marie_dupont",),
        urls=(f"https://x.com/marie_dupont/status/{P2}", "https://boulangerie-amal.example/"),
        raw={
            "referenced_tweets": [{"type": "quoted", "id": P2}],
            "entities": {"mentions": [{"username": "marie_dupont", "id": MARIE.platform_id}]},
        },
    )
    reply = _post(
        B4,
        BOB,
        BOB_TEXTS[B4],
        minutes=5,
        reply_to_id=P1,
        mentions=("Marie_Dupont",),
        raw={"in_reply_to_user_id": MARIE.platform_id},
    )
    return [
        _post(B1, BOB, BOB_TEXTS[B1], minutes=6),
        repost,
        quote,
        reply,
        _post(C1, CLAIRE, BOB_TEXTS[C1], minutes=7),
        # Names her in the text only: its payload holds "@marie_dupont" and nothing else of hers.
        _post(C2, CLAIRE, BOB_TEXTS[C2], minutes=8, mentions=("marie_dupont",)),
    ]


@dataclass(frozen=True)
class World:
    merchant: int
    marie_story: int
    bob_story: int
    report_id: int


async def _analyse(services: Services, pid: str, merchant: int, discovered: list[str]) -> None:
    """A real analysis row set: a merchant link and discovered names (re-analysis replaces the first one)."""
    async with services.sessions.begin() as session:
        post = (await session.execute(select(PostRow).where(PostRow.platform_id == pid))).scalar_one()
        record = AnalysisRecord(
            post_id=post.id,
            language="fr",
            language_confidence=0.9,
            sentiment="positive",
            sentiment_score=0.8,
            signals={**good_signals(), "fingerprint": fingerprint(post.text)},
            pipeline_version="test",
            links=[Link(merchant, "name", 0.95, 0, 5, "Boulangerie Amal")],
            discoveries=[Discovery(name, name.casefold(), "cue", 0.8, 0, len(name)) for name in discovered],
        )
        await save_analyses(session, [record], now=NOW)


async def build_world(services: Services) -> World:
    campaign = services.campaign_ids["lovelocal"]
    async with services.sessions.begin() as session:
        merchant = await add_merchant(session, "Boulangerie Amal", city="Casablanca")
        everyone = marie_posts() + others_posts()
        await store(session, campaign, [(p, Analysed(merchant_id=merchant)) for p in everyone])
        # Her post grew: a second engagement snapshot.
        grown = replace(marie_posts()[0], metrics=Metrics(likes=40, reposts=3, replies=1, quotes=1))
        await ingest(session, [grown], campaign_ids=[campaign])
        await quarantine(
            session,
            "x",
            "x",
            [
                ({"id": "8800000009", "text": TEXTS["quarantined"], "author_id": MARIE.platform_id}, "no created_at"),
                ({"id": "6600000009", "text": "illisible aussi", "author_id": BOB.platform_id}, "no created_at"),
            ],
        )
    await _analyse(services, P1, merchant, ["Tonton Marcel"])
    await _analyse(services, P2, merchant, ["Épicerie Nour"])
    await _analyse(services, B1, merchant, ["Épicerie Nour", "Café Zinc"])
    await stories_job.run(services, now=NOW)
    async with services.sessions.begin() as session:
        stories = dict(
            (
                await session.execute(select(PostRow.platform_id, Story.id).join(Story, Story.post_id == PostRow.id))
            ).all()
        )
        await transition(session, stories[P2], "shortlisted", actor_user_id=None, now=NOW)
        await request_rights(session, stories[P2], None, None, NOW, timedelta(days=14))
        consent = _post(P3, MARIE, TEXTS["p3"], minutes=0, reply_to_id=P2, hashtags=("OuiLoveLocal",))
        await ingest(session, [replace(consent, created_at=NOW + timedelta(hours=1))], campaign_ids=[campaign])
        assert await grant_from_replies(session, NOW + timedelta(hours=2)) == 1
        # The merchant flagged one of her posts as not about them, in words quoting her (portal table).
        p1_id = await session.scalar(select(PostRow.id).where(PostRow.platform_id == P1))
        session.add(
            MerchantCorrection(
                merchant_id=merchant,
                kind="not_us",
                status="pending",
                post_id=p1_id,
                surface="Boulangerie Amal",
                method="name",
                note="Ce n'est pas nous, forgetme: c'est Tonton Marcel",
                created_at=NOW,
            )
        )
        report = Report(
            campaign_id=campaign,
            week="2026-W47",
            definitions_version="1",
            generated_at=NOW,
            data={
                "totals": {"posts": 7, "authors": 3},
                "top_posts": [
                    {"post_key": f"x:{P1}", "author_key": f"x:{MARIE.platform_id}", "text": TEXTS["p1"]},
                    {"post_key": f"x:{B1}", "author_key": f"x:{BOB.platform_id}", "text": BOB_TEXTS[B1]},
                ],
                "top_authors": [
                    {"author_key": f"x:{MARIE.platform_id}", "handle": "@marie_dupont", "name": MARIE.display_name},
                    {"author_key": f"x:{BOB.platform_id}", "handle": "@bob_martin", "name": BOB.display_name},
                ],
                "merchants": [
                    {
                        "name": "Boulangerie Amal",
                        "best_posts": [{"post_key": f"x:{P2}", "url": f"https://x.com/{OLD_HANDLE}/status/{P2}"}],
                    }
                ],
            },
        )
        session.add(report)
        await session.flush()
        return World(merchant, stories[P2], stories[B1], report.id)


# --- the search across every table ------------------------------------------------------------------------


def _as_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)


async def traces_of(services: Services, needles: tuple[str, ...]) -> list[str]:
    """Every (table, column, needle) where a needle still appears, in any table of the schema."""
    found: list[str] = []
    folded = [n.casefold() for n in needles]
    async with services.sessions() as session:
        for table in Base.metadata.sorted_tables:
            for row in (await session.execute(select(table))).mappings():
                for column, value in row.items():
                    if value is None or isinstance(value, bool | int | float):
                        continue
                    text = _as_text(value).casefold()
                    found.extend(f"{table.name}.{column}: {n}" for n in folded if n in text)
    return found


async def _count(services: Services, model: Any, *where: Any) -> int:
    async with services.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


# --- tests ------------------------------------------------------------------------------------------------


async def test_forget_leaves_no_trace_and_keeps_the_others(services: Services) -> None:
    world = await build_world(services)
    assert len(await traces_of(services, NEEDLES)) > 20  # the search finds what is there
    assert await _count(services, EngagementSnapshot) > 7
    assert await _count(services, RightsRequest, RightsRequest.status == "granted") == 1
    async with services.sessions() as session:
        nour_before = await session.scalar(
            select(DiscoveredBusiness.mention_count).where(DiscoveredBusiness.normalized == "épicerie nour")
        )
    assert nour_before == 2

    async with services.sessions.begin() as session:
        author = await resolve_author(session, "x", handle=f"@{OLD_HANDLE.upper()}")  # a former handle, any case
        result = await forget_author(session, author, key=services.pseudonym_key(), now=NOW)

    assert await traces_of(services, NEEDLES) == []
    counts = result.counts
    assert counts["posts"] == 4  # her three posts and Bob's repost of one of them
    assert counts["authors"] == 1
    assert counts["rights_requests"] == 1
    assert counts["stories"] == 3  # her two posts' and the repost's (a rejected candidate)
    assert counts["story_transitions"] == 6
    assert counts["analyses"] == 3  # the consent reply was never analysed
    assert counts["mentions"] == 5  # two merchant links, two discovered names, the repost's link
    assert counts["engagement_snapshots"] == 5  # one per sighting, two for the post that grew
    assert counts["post_campaigns"] == 4
    assert counts["quarantine"] == 1
    assert counts["report_rows"] == 3
    assert counts["discovered_businesses"] == 1  # Tonton Marcel: only she named it
    assert counts["merchant_corrections"] == 1  # found through its foreign key on posts
    assert (
        counts["posts_scrubbed"] == 3
    )  # Bob's quote and reply, Claire's thanks (the quote is also in quotes_stripped)

    # The audit log: a pseudonym and counts, never the handle (the search above covered it too).
    async with services.sessions() as session:
        [audit] = (await session.scalars(select(PrivacyErasure))).all()
        assert (audit.kind, audit.platform, audit.actor) == ("forget", "x", "cli")
        assert audit.subject == pseudonym("x", MARIE.platform_id, services.pseudonym_key()) == result.subject
        assert audit.counts["posts"] == 4

        # Everyone else's data is intact: their posts, analyses, stories, discovered names, report rows.
        rows = {
            r.platform_id: r
            for r in (await session.scalars(select(PostRow).where(PostRow.platform_id.in_([B1, B3, B4, C1, C2])))).all()
        }
        assert set(rows) == {B1, B3, B4, C1, C2}
        assert rows[B1].text == BOB_TEXTS[B1]
        assert rows[B1].raw is not None
        assert rows[C1].text == BOB_TEXTS[C1]
        assert rows[C1].raw is not None
        assert rows[B3].text == f"Tellement vrai, {REMOVED} ! https://t.co/q1 #LoveLocal"
        assert rows[B3].urls == ["https://boulangerie-amal.example/"]
        assert rows[B3].mentions == []
        assert (rows[B3].quote_of_id, rows[B3].raw) == (None, None)
        assert rows[B4].text == f"{REMOVED} merci pour l'adresse ! #LoveLocal"
        assert (rows[B4].reply_to_id, rows[B4].raw) == (None, None)
        analysed = await session.scalar(
            select(func.count()).select_from(Analysis).where(Analysis.post_id.in_([r.id for r in rows.values()]))
        )
        assert analysed == 5
        assert rows[C2].text == f"Merci {REMOVED} pour le conseil, la Boulangerie Amal est top #LoveLocal"
        assert rows[C2].raw is None
        assert rows[C2].mentions == []
        bob_story = await session.get(Story, world.bob_story)
        assert bob_story is not None
        assert await session.get(Story, world.marie_story) is None
        names = dict(
            (await session.execute(select(DiscoveredBusiness.normalized, DiscoveredBusiness.mention_count))).all()
        )
        assert names == {"épicerie nour": 1, "café zinc": 1}
        [left] = (await session.scalars(select(Quarantine))).all()
        assert BOB.platform_id in left.payload
        report = await session.get(Report, world.report_id)
        assert report is not None
        assert report.data["top_posts"] == [
            {"post_key": f"x:{B1}", "author_key": f"x:{BOB.platform_id}", "text": BOB_TEXTS[B1]}
        ]
        assert [a["handle"] for a in report.data["top_authors"]] == ["@bob_martin"]
        assert report.data["merchants"] == [{"name": "Boulangerie Amal", "best_posts": []}]
        assert report.data["totals"] == {"posts": 7, "authors": 3}  # figures are not recomputed
        assert report.data["redactions"] == 3


async def test_a_dry_run_is_a_rolled_back_forget(services: Services) -> None:
    await build_world(services)
    before = await traces_of(services, NEEDLES)
    async with services.sessions() as session, session.begin():
        author = await resolve_author(session, "x", platform_id=MARIE.platform_id)
        result = await forget_author(session, author, key=services.pseudonym_key(), now=NOW)
        await session.rollback()
    assert result.counts["posts"] == 4
    assert await traces_of(services, NEEDLES) == before
    assert await _count(services, PrivacyErasure) == 0


async def test_resolving_authors(services: Services) -> None:
    await build_world(services)
    # Someone else took her old handle since: the handle now names two accounts over time.
    newcomer = Author(platform_id="u-new-1", handle=OLD_HANDLE, display_name="New")
    async with services.sessions.begin() as session:
        await ingest(session, [_post("6600000077", newcomer, "Bonjour #LoveLocal", minutes=9)])
    async with services.sessions() as session:
        assert (await resolve_author(session, "x", handle="Marie_Dupont")).platform_id == MARIE.platform_id
        with pytest.raises(AmbiguousAuthor, match="choose one with --author-id") as ambiguous:
            await resolve_author(session, "x", handle=OLD_HANDLE)
        assert MARIE.platform_id in str(ambiguous.value)
        assert "u-new-1" in str(ambiguous.value)
        with pytest.raises(PrivacyError, match="--author-id"):
            await resolve_author(session, "x", handle="nobody_here")
        with pytest.raises(PrivacyError, match="nothing to forget"):
            await resolve_author(session, "x", platform_id="404")
        with pytest.raises(PrivacyError):
            await resolve_author(session, "mastodon", handle="marie_dupont")  # right handle, wrong platform
