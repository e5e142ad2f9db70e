"""`listener demo`: the bundled sample campaign parses with the real parsers, and the real command loads it
(SQLite in its data directory; an empty PostgreSQL database with --database-url) into a working service:
posts of every platform in French, Arabic and English over the last three weeks, all analysed, merchants
mentioned, a story queue with one story featured from the author's consent reply, the demo logins. A
second run changes nothing; a database holding other posts is refused.
"""

from __future__ import annotations

import asyncio
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text

from listener.post import Platform, PostKind
from service.demo.logins import DEMO_LOGINS
from service.demo.samples import (
    SAMPLES_DIR,
    day_shift,
    load_samples,
    parse_sample,
    read_manifest,
    read_payloads,
    shift_payload,
    timestamps,
)
from storage.engine import create_engine, make_sessionmaker
from storage.models import Analysis, Mention, Merchant, Post, RightsRequest, Story, User, UserMerchant
from storage.passwords import verify_password
from storage.repositories.ingest import ingest
from tests.factories import make_post
from tests.processes import LISTENER, listener_env

LOAD_TIMEOUT = 300  # the first load reads the French model and analyses ~200 posts: seconds, more when busy
TABLES = (
    "merchants", "authors", "posts", "post_campaigns", "engagement_snapshots", "analyses", "mentions", "stories",
    "story_transitions", "rights_requests", "users", "user_merchants", "reports", "quarantine",
)  # fmt: skip


# --- the sample files ------------------------------------------------------------------------------------


def test_every_sample_file_parses_with_the_real_parsers_and_nothing_is_refused() -> None:
    manifest = read_manifest(SAMPLES_DIR)
    payloads = read_payloads(SAMPLES_DIR, manifest)
    seen = datetime.now(UTC)
    platforms: set[Platform] = set()
    kinds: set[PostKind] = set()
    texts: list[str] = []
    followers_unknown = 0
    for entry in manifest.files:
        page = parse_sample(entry, payloads[entry.file], seen)
        assert page.rejected == [], (entry.file, page.rejected)
        assert page.posts, entry.file
        for post in page.posts:
            platforms.add(post.platform)
            kinds.add(post.kind)
            texts.append(post.text)
            followers_unknown += post.author.followers is None
            assert not post.raw or "_created_at_is_seen_at" not in post.raw  # every sample carries its date
    assert platforms == {Platform.X, Platform.MASTODON, Platform.BLUESKY, Platform.INSTAGRAM}
    assert kinds == set(PostKind)  # originals, reposts, replies, quotes
    assert 150 <= len(texts) <= 300
    assert followers_unknown >= 20  # Instagram and Bluesky search give none; one X author is not expanded
    assert any("<script>" in t for t in texts)  # hostile text, to show that it is escaped
    assert any("onerror=" in t for t in texts)
    assert sum(any("\u0600" <= c <= "\u06ff" for c in t) for t in texts) >= 30  # Arabic, Darija included
    assert any("#OuiLoveLocal" in t for t in texts)


def test_the_curation_plan_names_sample_posts() -> None:
    manifest = read_manifest(SAMPLES_DIR)
    seen = datetime.now(UTC)
    keys = {
        (p.platform.value, p.platform_id)
        for entry, payload in zip(manifest.files, read_payloads(SAMPLES_DIR, manifest).values(), strict=True)
        for p in parse_sample(entry, payload, seen).posts
    }
    for step in manifest.curation:
        assert (step.platform, step.platform_id) in keys, step
    assert [s.to for s in manifest.curation].count("featured") == 1


def test_dates_move_by_whole_days_in_each_platforms_own_format() -> None:
    payload = {
        "x": "2026-03-15T08:10:00.000Z",
        "instagram": ["2026-03-14T09:00:00+0000"],
        "bluesky": {"createdAt": "2026-03-13T07:55:00.123456Z", "text": "2026-03-13 is not a timestamp here"},
        "day": "2026-03-14",
        "n": 3,
    }
    moved = shift_payload(payload, 10)
    assert moved == {
        "x": "2026-03-25T08:10:00.000Z",
        "instagram": ["2026-03-24T09:00:00+0000"],
        "bluesky": {"createdAt": "2026-03-23T07:55:00.123456Z", "text": "2026-03-13 is not a timestamp here"},
        "day": "2026-03-24",
        "n": 3,
    }
    assert max(timestamps(payload)) == datetime(2026, 3, 15, 8, 10, tzinfo=UTC)


def test_the_newest_post_never_lands_in_the_future() -> None:
    anchor = datetime(2026, 3, 15, tzinfo=UTC).date()
    newest = datetime(2026, 3, 15, 8, 10, tzinfo=UTC)
    assert day_shift(anchor, newest, datetime(2026, 11, 22, 16, 0, tzinfo=UTC)) == 252
    assert day_shift(anchor, newest, datetime(2026, 11, 22, 8, 0, tzinfo=UTC)) == 251  # before 08:10: yesterday
    samples = load_samples(datetime(2026, 11, 22, 8, 0, tzinfo=UTC))
    assert max(p.created_at for _, p in samples.posts) == datetime(2026, 11, 21, 8, 10, tzinfo=UTC)


def test_posts_are_replayed_by_hourly_collection_runs_never_after_now() -> None:
    now = datetime(2026, 11, 22, 8, 30, tzinfo=UTC)
    samples = load_samples(now)
    ticks = samples.ticks(now)
    assert sum(len(t.posts) for t in ticks) == len(samples.posts)
    assert [t.at for t in ticks] == sorted({t.at for t in ticks})
    for tick in ticks:
        assert tick.at <= now
        for _, post in tick.posts:
            assert post.created_at <= tick.at <= post.created_at + timedelta(hours=1)
    assert ticks[-1].at == now  # the newest post (08:10 today) is collected now, not at 09:00


# --- the command, on SQLite and PostgreSQL -------------------------------------------------------------


def demo(tmp_path: Path, db_url: str, *extra: str) -> subprocess.CompletedProcess[str]:
    """`listener demo --no-serve` as an operator runs it (a real process, the real console script)."""
    args = [str(LISTENER), "demo", "--data-dir", str(tmp_path / "demo"), "--no-serve", *extra]
    if not db_url.startswith("sqlite"):
        args += ["--database-url", db_url]  # SQLite: the demo's own file in --data-dir, created from nothing
    return subprocess.run(
        args, env=listener_env(tmp_path), cwd=tmp_path, capture_output=True, text=True, timeout=LOAD_TIMEOUT,
        check=False,
    )  # fmt: skip


def database_of(tmp_path: Path, db_url: str) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'demo' / 'listener.db'}" if db_url.startswith("sqlite") else db_url


async def counts(url: str) -> dict[str, int]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return {t: int((await conn.execute(text(f"SELECT count(*) FROM {t}"))).scalar_one()) for t in TABLES}  # noqa: S608
    finally:
        await engine.dispose()


async def facts(url: str) -> dict[str, Any]:
    """What a newcomer should find in the loaded database."""
    engine = create_engine(url)
    try:
        async with make_sessionmaker(engine)() as session:
            posts = (await session.execute(select(Post.platform, Post.created_at, Post.text))).all()
            languages = set((await session.scalars(select(Analysis.language))).all())
            analysed = await session.scalar(select(func.count()).select_from(Analysis))
            mentioned = set(
                (await session.scalars(select(Merchant.name).join(Mention, Mention.merchant_id == Merchant.id))).all()
            )
            states = dict((await session.execute(select(Story.state, func.count()).group_by(Story.state))).all())
            featured = (
                await session.execute(
                    select(Story.public_name, Story.featured_from, Story.featured_until, Merchant.name)
                    .join(Merchant, Merchant.id == Story.merchant_id)
                    .where(Story.state == "featured")
                )
            ).all()
            granted = (
                await session.execute(
                    select(RightsRequest.consent_hashtag, Post.text)
                    .join(Post, Post.id == RightsRequest.evidence_post_id)
                    .where(RightsRequest.status == "granted")
                )
            ).all()
            users = {u.email: u for u in (await session.scalars(select(User))).all()}
            bound = (
                await session.execute(
                    select(User.email, Merchant.name)
                    .join(UserMerchant, UserMerchant.user_id == User.id)
                    .join(Merchant, Merchant.id == UserMerchant.merchant_id)
                )
            ).all()
    finally:
        await engine.dispose()
    return {
        "posts": posts,
        "languages": languages,
        "analysed": analysed,
        "mentioned": mentioned,
        "states": states,
        "featured": featured,
        "granted": granted,
        "users": users,
        "bound": bound,
    }


def test_the_demo_loads_a_living_campaign_and_a_second_run_changes_nothing(tmp_path: Path, db_url: str) -> None:
    first = demo(tmp_path, db_url)
    assert first.returncode == 0, first.stderr
    assert "Traceback" not in first.stderr
    url = database_of(tmp_path, db_url)
    found = asyncio.run(facts(url))
    now = datetime.now(UTC)

    posts = found["posts"]
    assert 150 <= len(posts) <= 300
    assert {p.platform for p in posts} == {"x", "mastodon", "bluesky", "instagram"}
    dates = [p.created_at for p in posts]
    assert max(dates) <= now
    assert max(dates) >= now - timedelta(days=2)  # up to today (yesterday before the newest post's hour)
    assert timedelta(days=18) <= max(dates) - min(dates) <= timedelta(days=22)  # about three weeks
    assert any("<script>" in p.text for p in posts)  # stored as written: escaping is the pages' job
    assert found["analysed"] == len(posts)  # every post analysed
    assert {"fr", "ar", "en"} <= found["languages"]
    assert len(found["mentioned"]) >= 8  # most sample shops are named somewhere

    states = found["states"]
    assert states.get("candidate", 0) >= 30
    assert states.get("featured") == 1
    assert states.get("rights_requested") == 1
    assert states.get("shortlisted") == 3
    assert states.get("rejected", 0) >= 20  # reposts, complaints, spam, the consent reply itself...
    [(public_name, start, until, merchant)] = found["featured"]
    assert public_name == "Salma B."  # the author's display name, from her consent reply
    assert merchant == "Café Zitouna (fictif)"
    assert start <= now < until
    [(hashtag, evidence)] = found["granted"]
    assert hashtag == "OuiLoveLocal"
    assert "#OuiLoveLocal" in evidence

    users = found["users"]
    for login in DEMO_LOGINS:
        assert users[login.email].role == login.role.value
        assert verify_password(users[login.email].password_hash, login.password)
        assert f"{login.email:<26} password {login.password}" in first.stderr  # printed for the newcomer
    assert found["bound"] == [("commercant@demo.example", "Café Zitouna (fictif)")]
    for step in ("samples:", "registry:", "logins:", "analyse:", "stories", "curation:", "report #LoveLocal"):
        assert step in first.stderr

    before = asyncio.run(counts(url))
    assert before["reports"] == 2  # each campaign's last complete week
    assert before["engagement_snapshots"] >= len(posts) - 10  # figures as collected (boosts carry none)
    second = demo(tmp_path, db_url)
    assert second.returncode == 0, second.stderr
    assert "the demo was already loaded: nothing changed" in second.stderr
    assert asyncio.run(counts(url)) == before
    assert before["quarantine"] == 0


def test_a_database_with_other_posts_is_refused(tmp_path: Path, db_url: str) -> None:
    async def someone_elses_post(url: str) -> None:
        engine = create_engine(url)
        try:
            async with make_sessionmaker(engine).begin() as session:
                await ingest(session, [make_post(text="Un vrai message d'une vraie campagne #LoveLocal")])
        finally:
            await engine.dispose()

    if db_url.startswith("sqlite"):  # a real data directory: its database already exists
        (tmp_path / "demo").mkdir()
        Path(db_url.removeprefix("sqlite+aiosqlite:///")).rename(tmp_path / "demo" / "listener.db")
    url = database_of(tmp_path, db_url)
    asyncio.run(someone_elses_post(url))

    refused = demo(tmp_path, db_url)
    assert refused.returncode == 1
    assert "error: demo: this database already holds 1 post(s) that are not the demo's" in refused.stderr
    assert "--data-dir" in refused.stderr
    assert asyncio.run(counts(url))["posts"] == 1


def test_help_names_every_option() -> None:
    done = subprocess.run([str(LISTENER), "demo", "--help"], capture_output=True, text=True, timeout=60, check=True)
    for option in ("--data-dir", "--host", "--port", "--no-serve", "--database-url"):
        assert option in done.stdout


@pytest.mark.parametrize("port", ["-1", "http"])
def test_a_wrong_port_is_a_usage_error(tmp_path: Path, port: str) -> None:
    done = subprocess.run(
        [str(LISTENER), "demo", "--data-dir", str(tmp_path), "--port", port],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert "--port" in done.stderr
    assert not (tmp_path / "listener.db").exists()
