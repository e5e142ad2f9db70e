"""Weekly report benchmark: seconds to build (compute and store) the report of a week holding 1,000,000 posts
of one campaign, on SQLite and on PostgreSQL; target ≤ 10 s on each. The baseline, measured in the same run on
the same database, is the plainest question about that week: `SELECT count(*), count(DISTINCT author_id) FROM
posts` over the week's range. The ratio says how many such scans the whole report costs.

The corpus comes from `bench.load` (`listener bench generate`): one week (`weeks=1`) ending at the generator's
fixed Monday, every post in the #LoveLocal campaign (Africa/Casablanca), so its ISO week 2026-W47 holds them
all; with analyses, mentions, stories, engagement snapshots and the collection history the coverage reads.
The PDF of that report is rendered once too and its time given in the note (it does not grow with the posts:
the report's tables are capped).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from sqlalchemy import bindparam, text

from bench.generate import FIXED_NOW, GeneratorConfig
from bench.load import load_corpus
from bench.results import CaseResult
from jobs import report
from jobs.reporting import render
from jobs.reporting.pdf import PdfUnavailable
from jobs.reporting.weeks import last_complete_week, week_window
from service.settings import default_campaigns, load_settings
from service.wiring import open_services
from storage.engine import create_engine
from storage.migrate import upgrade
from storage.models import Base
from storage.types import UTCDateTime

SLUG = "lovelocal"
TARGET_SECONDS = 10.0
_BASELINE = text(
    "SELECT count(*), count(DISTINCT author_id) FROM posts WHERE created_at >= :start AND created_at < :end"
).bindparams(bindparam("start", type_=UTCDateTime()), bindparam("end", type_=UTCDateTime()))


async def _empty_postgres(url: str) -> None:
    engine = create_engine(url)
    try:
        await upgrade(engine)
        tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        async with engine.begin() as conn:
            await conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    finally:
        await engine.dispose()


async def _case(engine_name: str, url: str, posts: int, tmp: Path) -> CaseResult:
    campaign = default_campaigns()[SLUG]
    config = GeneratorConfig(posts=posts, weeks=1)
    loaded = await load_corpus(url, config, {SLUG: campaign})
    print(f"report bench: {posts:,} posts into {engine_name} in {loaded.seconds:.0f} s", file=sys.stderr)
    settings = load_settings(
        None,
        {
            "LISTENER_DATABASE_URL": url,
            "LISTENER_DATA_DIR": str(tmp / f"report-{engine_name}"),
            "LISTENER_LOG_LEVEL": "WARNING",
        },
    )
    week = last_complete_week(FIXED_NOW, campaign.timezone)
    window = week_window(week, campaign.timezone)
    async with open_services(settings) as services:

        async def baseline() -> tuple[float, int]:
            started = time.perf_counter()
            async with services.engine.connect() as conn:
                count = (await conn.execute(_BASELINE, {"start": window.start, "end": window.end})).one()[0]
            return time.perf_counter() - started, int(count)

        _, in_week = await baseline()  # warm-up: the same pages in cache for both measures
        started = time.perf_counter()
        built = await report.generate(services, SLUG, week, regenerate=True)
        seconds = time.perf_counter() - started
        base_seconds = min((await baseline())[0], (await baseline())[0])
    assert built.data["headline"]["posts"] == in_week, "the report must count every post of the week"
    started = time.perf_counter()
    try:
        pdf_note = f"{len(render(built.data, 'pdf', 'en')) // 1024} KB PDF in {time.perf_counter() - started:.1f} s"
    except PdfUnavailable:
        pdf_note = "PDF not rendered (WeasyPrint unavailable here)"
    return CaseResult(
        name=f"weekly report build, {engine_name}",
        unit="s",
        value=seconds,
        baseline=base_seconds,
        baseline_name="count(*), count(DISTINCT author_id) of the week's posts",
        max_target=TARGET_SECONDS,
        note=(
            f"{in_week:,} posts in {week} ({SLUG}): report {seconds:.2f} s, baseline {base_seconds:.3f} s "
            f"(ratio = report ÷ baseline); {pdf_note}"
        ),
    )


async def run(quick: bool, tmp: Path, pg_url: str | None) -> list[CaseResult]:
    posts = 20_000 if quick else 1_000_000
    results = [await _case("sqlite", f"sqlite+aiosqlite:///{tmp / 'report.db'}", posts, tmp)]
    if pg_url is not None:
        await _empty_postgres(pg_url)
        results.append(await _case("postgresql", pg_url, posts, tmp))
    return results
