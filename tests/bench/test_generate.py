"""The synthetic corpus (`bench.generate`, `bench.load`, `listener bench generate`): deterministic by seed,
realistic in the ways the benchmarks rely on, and consistent once loaded, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import os
import re
import statistics
import subprocess
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import fields
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from bench.generate import (
    BATCH_TABLES,
    COLUMNS,
    FIXED_NOW,
    SETUP_TABLES,
    CampaignSpec,
    Corpus,
    GeneratorConfig,
    rows,
)
from bench.load import NotEmpty, load_corpus
from bench.population import Tables
from bench.stories import STORY_THRESHOLD
from jobs.story_scoring import SCORING_VERSION, WEIGHTS
from nlp.results import Signals
from nlp.signals import fingerprint
from service.cli.main import cli
from service.settings import default_campaigns
from storage.engine import create_engine, make_sessionmaker
from storage.models import (
    Analysis,
    Author,
    Base,
    Campaign,
    DiscoveredBusiness,
    EngagementSnapshot,
    Mention,
    Merchant,
    Post,
    PostCampaign,
    Source,
    Story,
)
from storage.repositories._bulk import DriverValues
from storage.repositories.analyses import registry_entries
from tests.processes import listener_env, run_cli

T = TypeVar("T")
POSTS = 2_000
CAMPAIGNS = [
    CampaignSpec(1, "lovelocal", ("LoveLocal",), ("ar", "fr", "en"), "MENA", "OuiLoveLocal"),
    CampaignSpec(2, "soutenons", ("SoutenonsnosTPEPME",), ("fr",), "France", "OuiSoutenons"),
]
ARABIC = re.compile("[\u0600-\u06ff]")


def corpus_tables(seed: int = 7, posts: int = POSTS, postgres: bool = False, all_scored: bool = False) -> Tables:
    """Every row of a corpus, each table's batches joined."""
    joined: Tables = {}
    config = GeneratorConfig(posts=posts, seed=seed, batch_size=700, all_scored=all_scored)
    for part in rows(config, CAMPAIGNS, DriverValues(postgres)):
        for name, table in part.items():
            joined.setdefault(name, []).extend(table)
    return joined


@pytest.fixture(scope="module")
def corpus() -> Tables:
    return corpus_tables()


def as_dicts(tables: Tables, name: str) -> list[dict[str, Any]]:
    return [dict(zip(COLUMNS[name], row, strict=True)) for row in tables[name]]


# --- pure generation ---------------------------------------------------------------------------------------


def test_same_seed_gives_identical_rows_and_another_seed_others(corpus: Tables) -> None:
    again = corpus_tables()
    assert again == corpus
    other = corpus_tables(seed=8)
    assert other["posts"] != corpus["posts"]
    assert {r[5] for r in other["posts"]} != {r[5] for r in corpus["posts"]}
    # PostgreSQL rows hold the same values, as datetimes rather than SQLite's text.
    pg = corpus_tables(postgres=True)
    assert [r[5] for r in pg["posts"]] == [r[5] for r in corpus["posts"]]
    assert pg["posts"][0][6] == datetime.fromisoformat(corpus["posts"][0][6]).replace(tzinfo=UTC)


def test_the_batch_size_does_not_change_the_rows(corpus: Tables) -> None:
    joined: Tables = {}
    for part in rows(GeneratorConfig(posts=POSTS, seed=7, batch_size=POSTS), CAMPAIGNS, DriverValues(False)):
        for name, table in part.items():
            joined.setdefault(name, []).extend(table)
    assert joined == corpus


def test_columns_are_the_schema_columns_and_cover_every_required_one() -> None:
    assert set(COLUMNS) == set(SETUP_TABLES) | set(BATCH_TABLES)
    for name, columns in COLUMNS.items():
        table = Base.metadata.tables[name]
        assert set(columns) <= set(table.columns.keys()), name
        assert len(set(columns)) == len(columns), name
        required = {
            c.name
            for c in table.columns
            if not c.nullable and c.default is None and c.server_default is None and c.autoincrement is not True
        }
        # Integer primary keys the database numbers itself may be left out.
        required -= {c.name for c in table.primary_key.columns if c.autoincrement in (True, "auto")}
        assert required <= set(columns), (name, required - set(columns))


def test_posts_are_multilingual_multi_platform_and_span_the_window(corpus: Tables) -> None:
    posts = as_dicts(corpus, "posts")
    assert len(posts) == POSTS
    assert len({p["id"] for p in posts}) == POSTS
    assert len({(p["platform"], p["platform_id"]) for p in posts}) == POSTS
    platforms = Counter(p["platform"] for p in posts)
    assert set(platforms) == {"x", "mastodon", "bluesky", "instagram"}
    assert all(share > POSTS * 0.1 for share in platforms.values())
    languages = Counter(a[1] for a in corpus["analyses"])
    assert {"fr", "ar", "en"} <= set(languages)
    assert languages["fr"] > languages["en"]
    assert languages["ar"] > languages["en"]
    assert sum(1 for p in posts if ARABIC.search(p["text"])) > POSTS * 0.15
    created = [datetime.fromisoformat(p["created_at"]).replace(tzinfo=UTC) for p in posts]
    assert min(created) >= FIXED_NOW - timedelta(weeks=3)
    assert max(created) < FIXED_NOW
    assert created == sorted(created)  # posts come in time order, as they were published
    # Every day of the window has posts, the evening more than the small hours.
    assert len({c.date() for c in created}) >= 20
    hours = Counter((c + timedelta(hours=1)).hour for c in created)
    assert hours[20] > 3 * hours[4]
    for p in posts:
        assert p["created_at"] <= p["collected_at"] <= p["updated_at"]
        assert p["collected_at"] <= p["analysed_at"]
        assert json.loads(p["raw"])
    texts = [p["text"] for p in posts]
    assert len(set(texts)) > POSTS * 0.7  # varied, not a handful of sentences


def test_every_post_carries_a_campaign_and_its_hashtag(corpus: Tables) -> None:
    posts = {p["id"]: p for p in as_dicts(corpus, "posts")}
    links = Counter(pc[0] for pc in corpus["post_campaigns"])
    assert set(links) == set(posts)
    assert 0 < sum(1 for n in links.values() if n == 2) < POSTS * 0.1
    by_campaign = Counter(pc[1] for pc in corpus["post_campaigns"])
    assert by_campaign[1] > 0
    assert by_campaign[2] > 0
    soutenons = {pc[0] for pc in corpus["post_campaigns"] if pc[1] == 2}
    originals = [p for i, p in posts.items() if p["kind"] == "original"]
    for post in originals:
        tags = json.loads(post["hashtags"])
        wanted = "SoutenonsnosTPEPME" if post["id"] in soutenons else "LoveLocal"
        assert wanted in tags or (post["id"] in soutenons and "LoveLocal" in tags)
        assert all(f"#{tag}" in post["text"] for tag in tags)


def test_reposts_replies_and_quotes_point_at_earlier_posts_in_chains(corpus: Tables) -> None:
    posts = as_dicts(corpus, "posts")
    kinds = Counter(p["kind"] for p in posts)
    assert {"original", "repost", "reply", "quote"} <= set(kinds)
    assert kinds["original"] > POSTS / 2
    seen_ids: dict[str, dict[str, Any]] = {}
    reply_refs: dict[str, dict[str, Any]] = {}
    chained = 0
    for post in posts:
        for column, kind in (("repost_of_id", "repost"), ("quote_of_id", "quote"), ("reply_to_id", "reply")):
            ref = post[column]
            assert (ref is not None) == (post["kind"] == kind)
            if ref is not None:
                target = (reply_refs if column == "reply_to_id" and post["platform"] == "mastodon" else seen_ids)[ref]
                assert target["platform"] == post["platform"]
                assert target["created_at"] <= post["created_at"]
                chained += target["kind"] != "original"
        if post["kind"] == "repost":
            origin = seen_ids[post["repost_of_id"]]
            assert post["text"].endswith(origin["text"])
        seen_ids[post["platform_id"]] = post
        if post["platform"] == "mastodon":
            reply_refs[post["platform_id"].rsplit("/", 1)[1]] = post
    assert chained > 0  # a reply to a reply, a quote of a quote...


def test_authors_followers_are_skewed_and_sometimes_unknown(corpus: Tables) -> None:
    authors = as_dicts(corpus, "authors")
    post_authors = {r[3] for r in corpus["posts"]}
    assert {a["id"] for a in authors} == post_authors  # every author posted, every post has an author
    known = sorted(a["followers"] for a in authors if a["followers"] is not None)
    assert max(known) > 50 * statistics.median(known)
    assert sum(1 for a in authors if a["followers"] is None and a["platform"] != "instagram") > 0
    instagram = [a for a in authors if a["platform"] == "instagram"]
    assert instagram
    assert all(a["followers"] is None and a["platform_id"].startswith("unknown:") for a in instagram)
    activity = Counter(r[3] for r in corpus["posts"])
    assert activity.most_common(1)[0][1] > 10 * statistics.median(activity.values())


def test_engagement_has_a_long_tail_and_snapshots_end_at_the_post_figures(corpus: Tables) -> None:
    posts = {p["id"]: p for p in as_dicts(corpus, "posts")}
    likes = sorted(p["likes"] for p in posts.values() if p["likes"] is not None)
    assert likes[0] == 0
    assert likes[-1] > 20 * max(1, statistics.median(likes))
    latest: dict[int, tuple[Any, ...]] = {}
    for snapshot in corpus["engagement_snapshots"]:
        post_id, taken = snapshot[0], snapshot[1]
        if post_id not in latest or taken >= latest[post_id][1]:
            latest[post_id] = snapshot
    assert sum(1 for s in Counter(s[0] for s in corpus["engagement_snapshots"]).values() if s > 1) > POSTS * 0.2
    for post_id, snapshot in latest.items():
        post = posts[post_id]
        assert snapshot[2:] == (post["likes"], post["reposts"], post["replies"], post["quotes"], post["views"])
        assert snapshot[1] == post["updated_at"]
    # Platforms report what they report: no views outside X, no reposts on Instagram.
    assert all(p["views"] is None for p in posts.values() if p["platform"] != "x")
    assert all(p["reposts"] is None for p in posts.values() if p["platform"] == "instagram")


def test_analyses_are_stored_as_the_analyse_job_stores_them(corpus: Tables) -> None:
    posts = {p["id"]: p for p in as_dicts(corpus, "posts")}
    analyses = as_dicts(corpus, "analyses")
    assert [a["post_id"] for a in analyses] == list(posts)
    keys = [f.name for f in fields(Signals)] + ["fingerprint"]
    sentiments = Counter(a["sentiment"] for a in analyses)
    assert set(sentiments) == {"positive", "neutral", "negative"}
    for analysis in analyses:
        signals = json.loads(analysis["signals"])
        assert list(signals) == keys
        post = posts[analysis["post_id"]]
        assert signals["length"] == len(post["text"]) or post["kind"] == "repost"
        if post["kind"] != "repost":
            assert signals["fingerprint"] == fingerprint(post["text"])
        assert -1 <= analysis["sentiment_score"] <= 1
        assert (analysis["sentiment_score"] > 0) == (analysis["sentiment"] == "positive") or analysis[
            "sentiment"
        ] == "neutral"
        assert analysis["analysed_at"] == post["analysed_at"]
    spam = [json.loads(a["signals"]) for a in analyses if json.loads(a["signals"])["likely_spam"]]
    assert POSTS * 0.02 < len(spam) < POSTS * 0.2


def test_mentions_name_registry_merchants_and_discovered_businesses_where_the_text_says(corpus: Tables) -> None:
    texts = {r[0]: r[5] for r in corpus["posts"]}
    merchants = {r[0]: r for r in corpus["merchants"]}
    discovered = {r[0]: r for r in corpus["discovered_businesses"]}
    mentions = as_dicts(corpus, "mentions")
    methods = Counter(m["method"] for m in mentions)
    assert {"name", "alias", "handle", "hashtag", "domain", "fuzzy", "ner"} <= set(methods)
    assert methods["name"] > methods["fuzzy"]
    for m in mentions:
        assert (m["merchant_id"] is None) != (m["discovered_id"] is None)
        assert m["merchant_id"] in merchants or m["discovered_id"] in discovered
        if m["span_start"] is None:
            assert m["method"] == "domain"
            assert m["surface"] in texts[m["post_id"]]
        else:
            assert texts[m["post_id"]][m["span_start"] : m["span_end"]] == m["surface"]
    # A few shops get most mentions; Arabic names are among them.
    counts = Counter(m["merchant_id"] for m in mentions if m["merchant_id"] is not None)
    assert counts.most_common(1)[0][1] > 5 * statistics.median(counts.values())
    assert any(ARABIC.search(r[2]) for r in corpus["merchants"])
    assert any(ARABIC.search(a[1]) is None and ARABIC.search(merchants[a[0]][2]) for a in corpus["merchant_aliases"])
    updates = {row[2]: row[0] for row in corpus["discovered_updates"]}
    assert updates == dict(Counter(m["discovered_id"] for m in mentions if m["discovered_id"] is not None))


def test_some_merchants_have_a_bad_day_for_the_reports_negative_spikes(corpus: Tables) -> None:
    posts = {p["id"]: p for p in as_dicts(corpus, "posts")}
    negative = {a[0] for a in corpus["analyses"] if a[3] == "negative"}
    per_day = Counter(
        (m["merchant_id"], posts[m["post_id"]]["created_at"][:10])
        for m in as_dicts(corpus, "mentions")
        if m["merchant_id"] is not None and m["post_id"] in negative
    )
    worst = per_day.most_common(3)
    assert worst[0][1] >= 5
    assert worst[0][1] > 4 * statistics.mean(per_day.values())


def assert_stories_copy_their_posts(corpus: Tables) -> list[dict[str, Any]]:
    posts = {p["id"]: p for p in as_dicts(corpus, "posts")}
    analyses = {a[0]: a for a in corpus["analyses"]}
    stories = as_dicts(corpus, "stories")
    for story in stories:
        post = posts[story["post_id"]]
        assert (story["platform"], story["author_id"], story["post_created_at"]) == (
            post["platform"],
            post["author_id"],
            post["created_at"],
        )
        assert (story["language"], story["sentiment"]) == (analyses[post["id"]][1], analyses[post["id"]][3])
        breakdown = json.loads(story["score_breakdown"])
        assert breakdown["version"] == SCORING_VERSION
        assert set(breakdown["factors"]) == {*WEIGHTS, "author_diversity", "spam_cues"}
        assert story["created_at"] <= story["updated_at"]
        if story["state"] == "featured":
            assert story["featured_from"] <= story["updated_at"] < story["featured_until"]
    transitions = [dict(zip(COLUMNS["story_transitions"], t, strict=True)) for t in corpus["story_transitions"]]
    assert {t["story_id"] for t in transitions} == {s["id"] for s in stories}
    last = {t["story_id"]: t["to_state"] for t in transitions}
    assert all(last[s["id"]] == s["state"] for s in stories)
    requested = {r[0] for r in corpus["rights_requests"]}
    assert requested == {s["id"] for s in stories if s["state"] not in ("candidate", "shortlisted", "rejected")}
    return stories


def test_stories_are_the_best_fifth_scored_as_the_stories_job_does_in_every_state(corpus: Tables) -> None:
    stories = assert_stories_copy_their_posts(corpus)
    kinds = {p[0]: p[COLUMNS["posts"].index("kind")] for p in corpus["posts"]}
    assert POSTS * 0.12 < len({s["post_id"] for s in stories}) < POSTS * 0.3
    assert {"candidate", "shortlisted", "rights_requested", "rights_granted", "featured", "archived", "rejected"} <= {
        s["state"] for s in stories
    }
    for story in stories:
        assert kinds[story["post_id"]] != "repost"
        assert story["score"] >= STORY_THRESHOLD
        assert json.loads(story["score_breakdown"])["suppressed"] is None
    created = [t for t in corpus["story_transitions"] if t[1] is None]
    assert all(t[2] == "candidate" and t[4].startswith("scored ") for t in created)


def test_all_scored_gives_every_campaign_post_a_story_as_the_stories_job_leaves_them() -> None:
    corpus = corpus_tables(posts=1500, all_scored=True)
    stories = assert_stories_copy_their_posts(corpus)
    assert Counter((s["post_id"], s["campaign_id"]) for s in stories) == Counter(
        (pc[0], pc[1]) for pc in corpus["post_campaigns"]
    )
    by_id = {s["id"]: s for s in stories}
    kinds = {p[0]: p[COLUMNS["posts"].index("kind")] for p in corpus["posts"]}
    reasons = Counter(json.loads(s["score_breakdown"])["suppressed"] for s in stories)
    assert {None, "repost", "spam", "complaint"} <= set(reasons)
    created = {t[0]: t for t in corpus["story_transitions"] if t[1] is None}
    for story in stories:
        suppressed = json.loads(story["score_breakdown"])["suppressed"]
        if suppressed is not None or story["score"] < 0.35:
            assert story["state"] == "rejected"
            assert created[story["id"]][2] == "rejected"
            assert created[story["id"]][4].startswith("auto: ")
        if suppressed == "repost":
            assert kinds[story["post_id"]] == "repost"
        if story["original_story_id"] is not None:
            original = by_id[story["original_story_id"]]
            assert suppressed in ("repost", "duplicate")
            assert original["campaign_id"] == story["campaign_id"]
            assert original["id"] < story["id"]
    assert any(s["original_story_id"] is not None for s in stories)
    assert sum(1 for s in stories if s["state"] != "rejected") > len(stories) * 0.3


def test_sources_show_a_rate_limited_stretch_for_the_coverage(corpus: Tables) -> None:
    assert [s[1] for s in corpus["sources"]] == ["x", "mastodon", "bluesky", "instagram"]
    runs = [json.loads(r[5])["sources"][0] for r in corpus["job_runs"]]
    limited = [r for r in runs if r["source"] == "x" and r["status"] in ("rate_limited", "skipped")]
    assert len(limited) >= 3 * 8  # a few hours each week, a run every 15 minutes
    assert any(r["status"] == "failed" for r in runs if r["source"] == "instagram")
    assert corpus["quarantine"]


def test_config_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        GeneratorConfig(posts=0)
    with pytest.raises(ValueError, match="timezone"):
        GeneratorConfig(posts=1, now=datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="campaign"):
        Corpus(GeneratorConfig(posts=1), [], DriverValues(False))


# --- loaded into a database ----------------------------------------------------------------------------------


def query(url: str, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    async def go() -> T:
        engine = create_engine(url)
        try:
            async with make_sessionmaker(engine)() as session:
                return await work(session)
        finally:
            await engine.dispose()

    return asyncio.run(go())


def load(url: str, posts: int = POSTS, seed: int = 7, append: bool = False) -> Any:
    done: list[int] = []
    config = GeneratorConfig(posts=posts, seed=seed, batch_size=700)
    result = asyncio.run(load_corpus(url, config, default_campaigns(), append=append, progress=done.append))
    assert sum(done) == posts
    return result


async def orphans(session: AsyncSession) -> dict[str, int]:
    """Rows pointing at nothing (foreign keys are not checked by the SQLite loading connection)."""
    checks = {
        "posts without author": "SELECT count(*) FROM posts p LEFT JOIN authors a ON a.id = p.author_id "
        "WHERE a.id IS NULL",
        "posts without analysis": "SELECT count(*) FROM posts p LEFT JOIN analyses a ON a.post_id = p.id "
        "WHERE a.post_id IS NULL",
        "posts without campaign": "SELECT count(*) FROM posts p WHERE NOT EXISTS "
        "(SELECT 1 FROM post_campaigns pc WHERE pc.post_id = p.id)",
        "mentions of unknown merchants": "SELECT count(*) FROM mentions m LEFT JOIN merchants x "
        "ON x.id = m.merchant_id WHERE m.merchant_id IS NOT NULL AND x.id IS NULL",
        "mentions of unknown businesses": "SELECT count(*) FROM mentions m LEFT JOIN discovered_businesses d "
        "ON d.id = m.discovered_id WHERE m.discovered_id IS NOT NULL AND d.id IS NULL",
        "stories of unknown posts": "SELECT count(*) FROM stories s LEFT JOIN posts p ON p.id = s.post_id "
        "WHERE p.id IS NULL",
        "stories of another author": "SELECT count(*) FROM stories s JOIN posts p ON p.id = s.post_id "
        "WHERE p.author_id <> s.author_id OR p.platform <> s.platform OR p.created_at <> s.post_created_at",
        "snapshots of unknown posts": "SELECT count(*) FROM engagement_snapshots e LEFT JOIN posts p "
        "ON p.id = e.post_id WHERE p.id IS NULL",
        "analyses of another time": "SELECT count(*) FROM analyses a JOIN posts p ON p.id = a.post_id "
        "WHERE p.analysed_at <> a.analysed_at",
        "unanalysed posts": "SELECT count(*) FROM posts WHERE analysed_at IS NULL",
        "wrong discovered counts": "SELECT count(*) FROM discovered_businesses d WHERE d.mention_count <> "
        "(SELECT count(*) FROM mentions m WHERE m.discovered_id = d.id)",
    }
    return {name: int(await session.scalar(text(sql)) or 0) for name, sql in checks.items()}


async def counts(session: AsyncSession) -> dict[str, int]:
    models = {"posts": Post, "authors": Author, "analyses": Analysis, "mentions": Mention, "stories": Story}
    models |= {"merchants": Merchant, "post_campaigns": PostCampaign, "engagement_snapshots": EngagementSnapshot}
    models |= {"discovered_businesses": DiscoveredBusiness, "sources": Source, "campaigns": Campaign}
    return {name: int(await session.scalar(select(func.count()).select_from(m)) or 0) for name, m in models.items()}


def test_loaded_corpus_is_consistent_and_reads_back_through_the_models(db_url: str) -> None:
    result = load(db_url)

    assert result.posts == POSTS
    stored = query(db_url, counts)
    assert {name: stored[name] for name in result.rows if name in stored} == {
        name: n for name, n in result.rows.items() if name in stored
    }
    assert stored["analyses"] == stored["posts"] == POSTS
    assert stored["campaigns"] == 2
    assert query(db_url, orphans) == dict.fromkeys(query(db_url, orphans), 0)

    async def read_back(session: AsyncSession) -> None:
        # The service's own reads: typed columns, JSON, aware timestamps.
        story = (await session.execute(select(Story).order_by(Story.score.desc()).limit(1))).scalar_one()
        assert story.post_created_at.tzinfo is not None
        assert set(story.score_breakdown) == {"version", "factors", "suppressed"}
        analysis = await session.get(Analysis, story.post_id)
        assert analysis is not None
        assert analysis.signals["fingerprint"]
        post = await session.get(Post, story.post_id)
        assert post is not None
        assert isinstance(post.hashtags, list)
        assert post.created_at == story.post_created_at
        entries = await registry_entries(session)
        assert entries
        assert any(e.handles for e in entries)
        assert any(e.aliases for e in entries)
        # Ids continue after the loaded ones (PostgreSQL sequences were moved past them).
        author = Author(platform="x", platform_id="new", handle="new", first_seen_at=FIXED_NOW, updated_at=FIXED_NOW)
        session.add(author)
        await session.flush()
        assert author.id > max((await session.scalars(select(Author.id).where(Author.id != author.id))).all())
        await session.rollback()

    query(db_url, read_back)


def test_sqlite_foreign_keys_hold_and_an_empty_path_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / "deeper" / "corpus.db"
    url = f"sqlite+aiosqlite:///{path}"

    load(url, posts=600)

    async def check(session: AsyncSession) -> list[Any]:
        return list((await session.execute(text("PRAGMA foreign_key_check"))).all())

    assert query(url, check) == []
    assert query(url, counts)["posts"] == 600


def test_a_non_empty_database_is_refused_unless_appending(db_url: str) -> None:
    load(db_url, posts=500)

    with pytest.raises(NotEmpty, match="500 posts"):
        load(db_url, posts=500)
    again = load(db_url, posts=500, append=True)

    assert again.rows["sources"] == 0  # the sources exist already
    stored = query(db_url, counts)
    assert stored["posts"] == stored["analyses"] == 1000
    assert stored["sources"] == 4
    assert query(db_url, orphans) == dict.fromkeys(query(db_url, orphans), 0)


async def dump(session: AsyncSession) -> list[Any]:
    """The corpus as the service reads it (typed values), in a stable order."""
    out: list[Any] = []
    for model in (Post, Analysis, Story, Mention, EngagementSnapshot, Author, Merchant):
        table: Any = model.__table__
        columns = [c for c in table.columns if c.name != "id" or model in (Post, Story, Author)]
        order = list(table.primary_key.columns) + [c for c in columns if c.name != "id"][:2]
        out.extend(tuple(r) for r in (await session.execute(select(*columns).order_by(*order))).all())
    return out


@pytest.mark.postgres
def test_same_seed_same_rows_on_sqlite_and_postgresql(sqlite_url: str, pg_url: str) -> None:
    load(sqlite_url, posts=800)
    load(pg_url, posts=800)

    lite, pg = query(sqlite_url, dump), query(pg_url, dump)
    assert len(lite) == len(pg) > 800
    assert lite == pg


def test_generating_in_a_separate_process_writes_the_same_rows(tmp_path: Path) -> None:
    """Big corpora are generated in a child process (two cores); small ones in a thread: same rows."""
    in_thread, in_process = (f"sqlite+aiosqlite:///{tmp_path / name}" for name in ("thread.db", "process.db"))
    config = GeneratorConfig(posts=1500, seed=5, batch_size=400)
    for url, separate in ((in_thread, False), (in_process, True)):
        asyncio.run(load_corpus(url, config, default_campaigns(), separate_process=separate))
    lite = query(in_thread, dump)
    assert len(lite) > 1500
    assert query(in_process, dump) == lite


# --- the command ---------------------------------------------------------------------------------------------


@pytest.fixture
def run(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Result]:
    for name in list(os.environ):
        if name.startswith("LISTENER_"):
            monkeypatch.delenv(name)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    env = {"LISTENER_DATABASE_URL": db_url, "LISTENER_DATA_DIR": str(tmp_path / "data"), "LISTENER_CONFIG": None}

    def invoke(*args: str) -> Result:
        return CliRunner().invoke(cli, ["bench", "generate", *args], env=env, catch_exceptions=False)

    return invoke


def test_command_generates_refuses_a_second_corpus_and_appends_one(run: Callable[..., Result], db_url: str) -> None:
    first = run("--posts", "400", "--seed", "3", "--weeks", "2", "--json")
    assert first.exit_code == 0, first.output
    figures = json.loads(first.stdout)
    assert figures["rows"]["posts"] == 400
    assert figures["posts_per_second"] > 0

    refused = run("--posts", "400")
    assert refused.exit_code == 1
    assert "already holds 400 posts" in refused.stderr
    assert "--append" in refused.stderr
    assert "Traceback" not in refused.output

    appended = run("--posts", "100", "--append", "--now", "2026-12-01T12:00+01:00")
    assert appended.exit_code == 0, appended.output
    assert appended.stdout.startswith("generated 100 posts")

    async def window(session: AsyncSession) -> tuple[datetime, datetime, int]:
        low, high, n = (
            await session.execute(select(func.min(Post.created_at), func.max(Post.created_at), func.count()))
        ).one()
        return low, high, n

    low, high, total = query(db_url, window)
    assert total == 500
    assert low >= FIXED_NOW - timedelta(weeks=2)
    assert FIXED_NOW < high < datetime(2026, 12, 1, 11, tzinfo=UTC)


def test_command_rejects_a_naive_now(run: Callable[..., Result]) -> None:
    result = run("--posts", "10", "--now", "2026-12-01T12:00")
    assert result.exit_code == 2
    assert "time zone" in result.output


def test_installed_console_script_generates_into_an_empty_file(tmp_path: Path) -> None:
    """`listener` as an operator runs it (the generator is found in the checkout beside the package)."""
    target = tmp_path / "bench" / "corpus.db"
    env = listener_env(tmp_path)
    done: subprocess.CompletedProcess[str] = run_cli(
        ["bench", "generate", "--posts", "300", "--database-url", f"sqlite+aiosqlite:///{target}"], env, tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert "generated 300 posts" in done.stdout
    assert target.is_file()
