"""Ingest benchmark: posts/s through decoding and parsing X API v2 pages and `storage.repositories.ingest`,
in 100-post pages each committed with its checkpoint (the collector's unit) and in 2,000-post batches (the
file import's), against the raw driver `executemany` of the same rows in the same transactions (the
baseline: what the database itself can take)."""

from __future__ import annotations

import json
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import text

from bench.corpus import synthetic_posts, x_v2_pages
from bench.results import CaseResult
from listener.http import decode_json
from listener.parsers.common import may_need_cleaning
from listener.parsers.x import parse_page
from listener.post import Post
from service.settings import default_campaigns
from storage.engine import create_engine, make_sessionmaker
from storage.migrate import upgrade
from storage.models import Base, Source
from storage.repositories._bulk import DriverValues
from storage.repositories._sql import utcnow
from storage.repositories.campaigns import sync_campaigns
from storage.repositories.ingest import (
    AUTHOR_COLUMNS,
    POST_COLUMNS,
    CheckpointUpdate,
    author_values,
    ingest,
    post_values,
)

PAGE = 100
IMPORT_BATCH = 2000


async def _fresh(url: str) -> Any:
    engine = create_engine(url)
    await upgrade(engine)
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    async with engine.begin() as conn:
        for table in tables:
            await conn.execute(text(f'DELETE FROM "{table}"'))  # noqa: S608 - table names from our own metadata
    return engine


async def _setup(url: str) -> tuple[Any, int, int]:
    engine = await _fresh(url)
    async with make_sessionmaker(engine).begin() as session:
        ids = await sync_campaigns(session, default_campaigns())
        source = Source(name="x", platform="x", status="idle", last_new_posts=0)
        session.add(source)
        await session.flush()
        return engine, ids["lovelocal"], source.id


async def _ingest_rate(url: str, pages: list[bytes], page_size: int) -> float:
    """Posts/s through decode + parse_page + ingest of X v2 pages, `page_size` posts per transaction."""
    engine, campaign_id, source_id = await _setup(url)
    sessions = make_sessionmaker(engine)
    per_transaction = max(1, page_size // PAGE)
    count = 0
    started = time.perf_counter()
    for start in range(0, len(pages), per_transaction):
        batch = []
        token = None
        for body in pages[start : start + per_transaction]:
            parsed = parse_page(decode_json(body, "bench page"), "#LoveLocal", clean=may_need_cleaning(body))
            batch.extend(parsed.posts)
            token = parsed.next_token
        count += len(batch)
        position = {"since_id": None, "next_token": token}
        async with sessions.begin() as session:
            await ingest(
                session,
                batch,
                campaign_ids=[campaign_id],
                checkpoint=CheckpointUpdate(source_id, campaign_id, "q", position),
            )
    elapsed = time.perf_counter() - started
    await engine.dispose()
    return count / elapsed


Rows = list[tuple[Any, ...]]


def _baseline_pages(
    posts: list[Post], campaign_id: int, source_id: int, writer: DriverValues, page_size: int
) -> list[dict[str, Rows]]:
    """The rows ingest writes for each page (authors first seen, posts, first snapshots, campaign links,
    the checkpoint), precomputed, so the baseline times only the database and the driver."""
    now = utcnow()
    author_ids: dict[str, int] = {}
    pages = []
    for start in range(0, len(posts), page_size):
        page: dict[str, Rows] = {"authors": [], "posts": [], "snapshots": [], "links": [], "checkpoint": []}
        for offset, p in enumerate(posts[start : start + page_size]):
            post_id = start + offset + 1
            if p.author.platform_id not in author_ids:
                author_ids[p.author.platform_id] = len(author_ids) + 1
                page["authors"].append((author_ids[p.author.platform_id], *author_values(p, now)))
            page["posts"].append((post_id, *post_values(p, author_ids[p.author.platform_id], now, writer)))
            page["snapshots"].append((post_id, now, *p.metrics.as_tuple()))
            page["links"].append((post_id, campaign_id, now))
        last = posts[min(start + page_size, len(posts)) - 1].platform_id
        page["checkpoint"].append((source_id, campaign_id, "q", json.dumps({"since_id": last}), now))
        pages.append(page)
    return pages


_BASELINE_SQL = {
    "authors": ("authors", ["id", *AUTHOR_COLUMNS], ""),
    "posts": ("posts", ["id", *POST_COLUMNS], ""),
    "snapshots": (
        "engagement_snapshots",
        ["post_id", "taken_at", "likes", "reposts", "replies", "quotes", "views"],
        "",
    ),
    "links": ("post_campaigns", ["post_id", "campaign_id", "matched_at"], ""),
    "checkpoint": (
        "checkpoints",
        ["source_id", "campaign_id", "query_key", "position", "updated_at"],
        " ON CONFLICT (source_id, campaign_id, query_key) DO UPDATE SET position = excluded.position",
    ),
}


async def _baseline_rate(url: str, posts: list[Post], page_size: int) -> float:
    """The same rows through the raw driver's executemany, one transaction per page."""
    engine, campaign_id, source_id = await _setup(url)
    is_pg = engine.dialect.name == "postgresql"
    pages = _baseline_pages(posts, campaign_id, source_id, DriverValues(is_pg), page_size)

    def sql(table: str, cols: list[str], tail: str) -> str:
        marks = ", ".join(f"${i + 1}" if is_pg else "?" for i in range(len(cols)))
        return f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({marks}){tail}"  # noqa: S608

    statements = {key: sql(*spec) for key, spec in _BASELINE_SQL.items()}
    async with engine.connect() as conn:
        raw = await conn.get_raw_connection()
        driver: Any = raw.driver_connection
        started = time.perf_counter()
        for page in pages:
            if is_pg:
                async with driver.transaction():
                    for key, rows in page.items():
                        if rows:
                            await driver.executemany(statements[key], rows)
            else:
                for key, rows in page.items():
                    if rows:
                        await driver.executemany(statements[key], _lite(rows))
                await driver.commit()
        elapsed = time.perf_counter() - started
    await engine.dispose()
    return len(posts) / elapsed


def _lite(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    # SQLite stores our UTC timestamps as naive ISO text, as the UTCDateTime column type does.
    return [tuple(v.replace(tzinfo=None).isoformat(" ") if isinstance(v, datetime) else v for v in r) for r in rows]


async def run(quick: bool, tmp: Path, pg_url: str | None) -> list[CaseResult]:
    count = 5_000 if quick else 50_000
    pages = x_v2_pages(list(synthetic_posts(count)))
    # The baseline writes exactly the rows the parsed pages give.
    posts = [post for body in pages for post in parse_page(decode_json(body, "bench page")).posts]
    results = []
    engines: list[tuple[str, str | None]] = [("sqlite", None), ("postgresql", pg_url)]
    # Collector pages (an X API page, committed with its checkpoint) and file-import batches.
    for label, page_size in (("100-post pages", PAGE), ("2,000-post import batches", IMPORT_BATCH)):
        for engine_name, url in engines:
            if engine_name == "sqlite":
                url = f"sqlite+aiosqlite:///{tmp / f'ingest-{page_size}.db'}"
            if url is None:
                continue
            value = await _ingest_rate(url, pages, page_size)
            baseline = await _baseline_rate(url, posts, page_size)
            results.append(
                CaseResult(
                    name=f"parse+ingest X v2, {engine_name}, {label}",
                    unit="posts/s",
                    value=value,
                    baseline=baseline,
                    baseline_name="raw driver executemany of the same rows (4 tables + checkpoint), same transactions",
                    ratio_target=0.5,
                    absolute_target=10_000.0 if engine_name == "sqlite" else None,
                    note=f"{count:,} posts",
                )
            )
    return results
