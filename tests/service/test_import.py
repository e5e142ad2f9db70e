"""`listener import FILE --format x-v2|csv --campaign NAME [--json]` through the real click CLI, on real
databases (SQLite and PostgreSQL), with the real twarc2 exports in ../shared/corpora.

Settings come from LISTENER_* variables only (the default campaigns `lovelocal` and `soutenons`); no
config file is inherited from the environment or the working directory.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from listener.imports import CSV_COLUMNS
from service.cli.main import cli
from storage.engine import create_engine, make_sessionmaker
from storage.models import Author, Campaign, Post, PostCampaign, Quarantine

Run = Callable[..., Result]
T = TypeVar("T")


@pytest.fixture
def run(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Run:
    """Invoke `listener ARGS...` in-process against `db_url`, with only our LISTENER_* settings."""
    for name in list(os.environ):
        if name.startswith("LISTENER_"):
            monkeypatch.delenv(name)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    env = {"LISTENER_DATABASE_URL": db_url, "LISTENER_DATA_DIR": str(tmp_path / "data"), "LISTENER_CONFIG": None}

    def invoke(*args: str) -> Result:
        return CliRunner().invoke(cli, ["import", *args], env=env, catch_exceptions=False)

    return invoke


def query(db_url: str, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Read the database the CLI wrote (a fresh engine, as another process would)."""

    async def go() -> T:
        engine = create_engine(db_url)
        try:
            async with make_sessionmaker(engine)() as session:
                return await work(session)
        finally:
            await engine.dispose()

    return asyncio.run(go())


async def x_posts(session: AsyncSession) -> dict[str, Post]:
    rows = list((await session.execute(select(Post).where(Post.platform == "x"))).scalars())
    by_id = {p.platform_id: p for p in rows}
    assert len(by_id) == len(rows)  # one row per tweet
    return by_id


async def authors(session: AsyncSession) -> dict[str, Author]:
    return {a.platform_id: a for a in (await session.execute(select(Author).where(Author.platform == "x"))).scalars()}


async def quarantine_rows(session: AsyncSession) -> list[Quarantine]:
    return list((await session.execute(select(Quarantine).order_by(Quarantine.id))).scalars())


async def campaign_links(session: AsyncSession) -> dict[str, int]:
    rows = await session.execute(
        select(Campaign.slug, func.count())
        .join(PostCampaign, PostCampaign.campaign_id == Campaign.id)
        .group_by(Campaign.slug)
    )
    return {slug: int(n) for slug, n in rows.all()}


def twarc_page(path: Path) -> dict[str, Any]:
    page: dict[str, Any] = json.loads(path.read_text(encoding="utf-8").splitlines()[0])
    return page


def expected_ids(page: dict[str, Any]) -> set[str]:
    """Every tweet of a page plus the originals of its retweets that the page includes."""
    ids = {t["id"] for t in page["data"]}
    included = {t["id"] for t in page["includes"].get("tweets", [])}
    for tweet in page["data"]:
        for ref in tweet.get("referenced_tweets", []):
            if ref["type"] == "retweeted" and ref["id"] in included:
                ids.add(ref["id"])
    return ids


@pytest.fixture
def twarc_dir(corpora: Path) -> Path:
    return corpora / "twarc-csv-test-data"


# --- X API v2 exports (twarc2 JSON Lines) -----------------------------------------------------------------


@pytest.mark.corpora
def test_twarc_exports_are_imported_once_with_their_authors(run: Run, db_url: str, twarc_dir: Path) -> None:
    brexit_file, kpop_file = twarc_dir / "brexit.jsonl", twarc_dir / "kpop.jsonl"
    brexit, kpop = twarc_page(brexit_file), twarc_page(kpop_file)
    brexit_ids, kpop_ids = expected_ids(brexit), expected_ids(kpop)
    assert (len(brexit_ids), len(kpop_ids)) == (135, 121)

    first = run(str(brexit_file), "--format", "x-v2", "--campaign", "lovelocal")

    assert first.exit_code == 0, first.output
    assert first.stdout.strip() == (
        "brexit.jsonl → lovelocal: read 135, new 135, updated 0, unchanged 0, quarantined 0"
    )

    second = run(str(kpop_file), "--format", "x-v2", "--campaign", "lovelocal", "--json")

    assert second.exit_code == 0, second.output
    summary = json.loads(second.stdout)  # nothing but the JSON on stdout: no progress bar
    assert summary == {
        "file": str(kpop_file),
        "campaign": "lovelocal",
        "read": 121,
        "new": 121,
        "updated": 0,
        "unchanged": 0,
        "quarantined": 0,
        "errors": [],
    }

    posts = query(db_url, x_posts)
    assert set(posts) == brexit_ids | kpop_ids
    assert len(posts) == len(brexit["data"]) + len(kpop["data"]) + (len(brexit_ids) + len(kpop_ids) - 200)
    stored_authors = query(db_url, authors)
    for page in (brexit, kpop):
        users = {u["id"]: u for u in page["includes"]["users"]}
        for tweet in page["data"]:
            author = stored_authors[tweet["author_id"]]
            assert author.followers == users[tweet["author_id"]]["public_metrics"]["followers_count"]
            assert author.handle == users[tweet["author_id"]]["username"]
            assert posts[tweet["id"]].author_id == author.id
            assert posts[tweet["id"]].query == f"import:{'brexit' if page is brexit else 'kpop'}.jsonl"
    retweet = next(t for t in brexit["data"] if t.get("referenced_tweets", [{}])[0].get("type") == "retweeted")
    original_id = retweet["referenced_tweets"][0]["id"]
    assert posts[retweet["id"]].repost_of_id == original_id
    assert posts[retweet["id"]].kind == "repost"
    assert posts[original_id].kind != "repost" or posts[original_id].repost_of_id != original_id
    assert query(db_url, campaign_links) == {"lovelocal": len(posts)}
    assert query(db_url, quarantine_rows) == []

    again = run(str(brexit_file), "--format", "x-v2", "--campaign", "lovelocal", "--json")

    assert again.exit_code == 0, again.output
    assert {k: json.loads(again.stdout)[k] for k in ("read", "new", "updated", "unchanged", "quarantined")} == {
        "read": 135,
        "new": 0,
        "updated": 0,
        "unchanged": 135,
        "quarantined": 0,
    }
    assert len(query(db_url, x_posts)) == len(posts)

    other = run(str(kpop_file), "--format", "x-v2", "--campaign", "soutenons", "--json")

    assert json.loads(other.stdout)["new"] == 0
    assert query(db_url, campaign_links) == {"lovelocal": len(posts), "soutenons": len(kpop_ids)}


@pytest.mark.corpora
def test_unreadable_lines_are_quarantined_with_their_numbers_and_the_rest_imported(
    run: Run, db_url: str, twarc_dir: Path, tmp_path: Path
) -> None:
    brexit_line = (twarc_dir / "brexit.jsonl").read_text(encoding="utf-8").splitlines()[0]
    kpop_line = (twarc_dir / "kpop.jsonl").read_text(encoding="utf-8").splitlines()[0]
    media_line = (twarc_dir / "media_policy_violation_off.jsonl").read_text(encoding="utf-8").splitlines()[0]
    truncated = kpop_line[: len(kpop_line) // 2]  # a download cut short
    export = tmp_path / "export.jsonl"
    export.write_text(
        "\n".join([brexit_line, truncated, "Rate limit exceeded, retrying in 900s", "", media_line]) + "\n",
        encoding="utf-8",
    )
    good = expected_ids(json.loads(brexit_line)) | expected_ids(json.loads(media_line))

    result = run(str(export), "--format", "x-v2", "--campaign", "soutenons")

    assert result.exit_code == 1  # the good lines are in, but not all of the file
    assert result.stdout.strip() == (
        f"export.jsonl → soutenons: read {len(good) + 2}, new {len(good)}, updated 0, unchanged 0, quarantined 2"
    )
    reported = result.stderr.strip().splitlines()
    assert [r.split(":")[1].strip() for r in reported] == ["line 2", "line 3"]
    assert all(r.startswith("export.jsonl: line ") and "not JSON" in r for r in reported)
    assert "Traceback" not in result.output
    assert set(query(db_url, x_posts)) == good
    rows = query(db_url, quarantine_rows)
    assert [(r.source, r.platform) for r in rows] == [("import:x-v2", "file")] * 2
    assert rows[0].error.startswith("export.jsonl: line 2: not JSON")
    assert rows[0].payload.rstrip("\n") == truncated
    assert rows[1].error.startswith("export.jsonl: line 3: not JSON")
    assert rows[1].payload.rstrip("\n") == "Rate limit exceeded, retrying in 900s"

    again = run(str(export), "--format", "x-v2", "--campaign", "soutenons", "--json")

    assert again.exit_code == 1
    summary = json.loads(again.stdout)
    assert (summary["new"], summary["unchanged"], summary["quarantined"]) == (0, len(good), 2)
    assert [e.split(":")[0] for e in summary["errors"]] == ["line 2", "line 3"]
    assert len(query(db_url, quarantine_rows)) == 2  # the same bad lines are not quarantined twice


@pytest.mark.corpora
def test_a_tweet_that_cannot_be_read_is_quarantined_with_its_line(
    run: Run, db_url: str, twarc_dir: Path, tmp_path: Path
) -> None:
    page = twarc_page(twarc_dir / "two_tweets.jsonl")
    page["data"][0]["text"] = "cut \ud83d half an emoji, a NUL \x00 too"
    broken = json.loads(json.dumps(twarc_page(twarc_dir / "cashtags.jsonl")))
    del broken["data"][0]["created_at"]
    export = tmp_path / "lookups.jsonl"
    export.write_text(json.dumps(page) + "\n" + json.dumps(broken) + "\n", encoding="ascii")  # \u escapes

    result = run(str(export), "--format", "x-v2", "--campaign", "lovelocal", "--json")

    assert result.exit_code == 1
    summary = json.loads(result.stdout)
    assert (summary["new"], summary["quarantined"]) == (len(expected_ids(page)), 1)
    [error] = summary["errors"]
    assert error.startswith(f"line 2: tweet {broken['data'][0]['id']}: missing timestamp")
    posts = query(db_url, x_posts)
    assert posts[page["data"][0]["id"]].text == "cut \ufffd half an emoji, a NUL  too"


# --- CSV ------------------------------------------------------------------------------------------------


def csv_row(**cells: str) -> str:
    return ";".join(cells.get(column, "") for column in CSV_COLUMNS)


CSV_ROWS = [
    csv_row(platform="x", id="1858000000000000001", url="https://x.com/boulangerie/status/1858000000000000001",
            created_at="2026-11-16T08:00:00Z", author_id="42", author_handle="@boulangerie",
            author_name="Boulangerie Les Trois Épis", author_followers="1250",
            text="Merci à nos clients ! #LoveLocal", lang="fr", hashtags="#LoveLocal", likes="12", reposts="3",
            replies="1", quotes="0", views="900"),  # line 2
    csv_row(platform="instagram", id="17900000000000001", created_at="2026-11-16 09:30:00",
            author_handle="makhbaz.alamal", author_name="مخبز الأمل",
            text="خبز طازج كل صباح في الدار البيضاء #LoveLocal #دعم_المحلي", lang="ar",
            hashtags="LoveLocal|دعم_المحلي", likes="40"),  # line 3
    csv_row(id="", created_at="2026-11-16T10:00:00Z", author_handle="someone", text="no id"),  # line 4
    csv_row(id="file-2", created_at="2026-11-16T10:00:00Z", text="nobody wrote this"),  # line 5
    csv_row(platform="myspace", id="m-1", created_at="2026-11-16T10:00:00Z", author_handle="tom", text="hi"),  # 6
    csv_row(id="file-3", created_at="hier", author_handle="x", text="bad date"),  # line 7
    csv_row(id="file-4", created_at="2026-11-16T11:00:00+01:00", author_handle="épicerie_bio",
            text='Un "panier" garni;\nlivré à domicile'),  # line 8 (quoted, spans 8-9)
    csv_row(id="file-5", created_at="2026-11-16T12:00:00Z", author_handle="y", text="too many") + ";extra",  # 10
]  # fmt: skip


def write_csv(path: Path, rows: list[str]) -> Path:
    def quoted(row: str) -> str:
        # The text cell of line 8 holds a semicolon, quotes and a line break: quote it as CSV does.
        marker = 'Un "panier" garni;\nlivré à domicile'
        return row.replace(marker, '"Un ""panier"" garni;\nlivré à domicile"')

    text = "\r\n".join([";".join(CSV_COLUMNS), *(quoted(r) for r in rows)]) + "\r\n"
    path.write_bytes("\ufeff".encode() + text.encode("utf-8"))
    return path


def test_csv_import_with_bom_semicolons_and_arabic(run: Run, db_url: str, tmp_path: Path) -> None:
    export = write_csv(tmp_path / "posts.csv", CSV_ROWS)

    result = run(str(export), "--format", "csv", "--campaign", "lovelocal", "--json")

    assert result.exit_code == 1, result.output  # rows were rejected
    summary = json.loads(result.stdout)
    assert (summary["read"], summary["new"], summary["quarantined"]) == (8, 3, 5)
    assert [e.split(":")[0] for e in summary["errors"]] == ["line 4", "line 5", "line 6", "line 7", "line 10"]
    reasons = " | ".join(summary["errors"])
    for expected in ("id is empty", "author_id or author_handle is needed", "unknown platform 'myspace'",
                     "unreadable timestamp", "more fields than the header"):  # fmt: skip
        assert expected in reasons

    async def read(session: AsyncSession) -> dict[tuple[str, str], tuple[Post, Author]]:
        rows = await session.execute(select(Post, Author).join(Author, Post.author_id == Author.id))
        return {(p.platform, p.platform_id): (p, a) for p, a in rows.all()}

    stored = query(db_url, read)
    assert set(stored) == {("x", "1858000000000000001"), ("instagram", "17900000000000001"), ("file", "file-4")}
    tweet, baker = stored[("x", "1858000000000000001")]
    assert (tweet.text, tweet.likes, tweet.views, tweet.hashtags) == ("Merci à nos clients ! #LoveLocal", 12, 900,
                                                                      ["LoveLocal"])  # fmt: skip
    assert (baker.platform_id, baker.handle, baker.followers, baker.display_name) == (
        "42",
        "boulangerie",
        1250,
        "Boulangerie Les Trois Épis",
    )
    arabic, makhbaz = stored[("instagram", "17900000000000001")]
    assert arabic.text == "خبز طازج كل صباح في الدار البيضاء #LoveLocal #دعم_المحلي"
    assert arabic.hashtags == ["LoveLocal", "دعم_المحلي"]
    assert arabic.language_hint == "ar"
    assert (makhbaz.display_name, makhbaz.followers) == ("مخبز الأمل", None)  # unknown, not 0
    multiline, _ = stored[("file", "file-4")]
    assert multiline.text == 'Un "panier" garni;\nlivré à domicile'
    assert multiline.created_at.isoformat() == "2026-11-16T10:00:00+00:00"
    rows = query(db_url, quarantine_rows)
    assert [r.error.split(":")[1].strip() for r in rows] == ["line 4", "line 5", "line 6", "line 7", "line 10"]
    assert {r.source for r in rows} == {"import:csv"}
    assert json.loads(rows[0].payload)["text"] == "no id"

    again = run(str(export), "--format", "csv", "--campaign", "lovelocal", "--json")

    assert (json.loads(again.stdout)["new"], json.loads(again.stdout)["unchanged"]) == (0, 3)
    assert len(query(db_url, quarantine_rows)) == 5


def test_a_comma_csv_without_bom_and_the_text_summary(run: Run, db_url: str, tmp_path: Path) -> None:
    export = tmp_path / "simple.csv"
    export.write_text(
        'id,created_at,author_handle,text\ns-1,2026-11-16T08:00:00Z,fatima,"Vive le #LoveLocal, et vive Casablanca"\n',
        encoding="utf-8",
    )

    result = run(str(export), "--format", "csv", "--campaign", "soutenons")

    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "simple.csv → soutenons: read 1, new 1, updated 0, unchanged 0, quarantined 0"

    async def texts(session: AsyncSession) -> list[str]:
        return list((await session.execute(select(Post.text))).scalars())

    assert query(db_url, texts) == ["Vive le #LoveLocal, et vive Casablanca"]


# --- files that cannot be imported at all ---------------------------------------------------------------


def one_clear_error(result: Result, *fragments: str) -> None:
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    for fragment in fragments:
        assert fragment in lines[0]
    assert result.stdout == ""


def test_an_unknown_campaign_is_one_clear_line(run: Run, db_url: str, tmp_path: Path) -> None:
    export = write_csv(tmp_path / "posts.csv", CSV_ROWS[:1])
    one_clear_error(run(str(export), "--format", "csv", "--campaign", "nope"), "unknown campaign 'nope'", "lovelocal")
    assert query(db_url, x_posts) == {}


def test_a_missing_file_and_a_folder_are_one_clear_line(run: Run, tmp_path: Path) -> None:
    one_clear_error(run(str(tmp_path / "absent.jsonl"), "--format", "x-v2", "--campaign", "lovelocal"),
                    "absent.jsonl", "no such file")  # fmt: skip
    one_clear_error(run(str(tmp_path), "--format", "x-v2", "--campaign", "lovelocal"), "is a folder")


@pytest.mark.parametrize("fmt", ["x-v2", "csv"])
def test_a_binary_file_is_one_clear_line(run: Run, db_url: str, tmp_path: Path, fmt: str) -> None:
    picture = tmp_path / "photo.png"
    picture.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01" + bytes(range(256)))
    latin1 = tmp_path / "export-latin1.csv"
    latin1.write_bytes("id;created_at;author_handle;text\r\n1;2026-11-16;café;Déjà vu\r\n".encode("latin-1"))

    one_clear_error(run(str(picture), "--format", fmt, "--campaign", "lovelocal"), "photo.png", "not UTF-8")
    one_clear_error(run(str(latin1), "--format", fmt, "--campaign", "lovelocal"), "export-latin1.csv", "not UTF-8")
    assert query(db_url, quarantine_rows) == []


def test_a_csv_without_the_required_columns_is_one_clear_line(run: Run, tmp_path: Path) -> None:
    export = tmp_path / "wrong.csv"
    export.write_text("name;city\nBoulangerie;Paris\n", encoding="utf-8")
    one_clear_error(run(str(export), "--format", "csv", "--campaign", "lovelocal"),
                    "line 1", "id, created_at, text")  # fmt: skip
