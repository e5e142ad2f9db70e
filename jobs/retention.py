"""The retention purge (daily from the scheduler; `listener privacy purge` by hand).

Two rules from `[retention]`, each off at 0:

- `raw_payload_days`: raw platform payloads of older posts are blanked, and quarantined payloads deleted.
  Never sooner than `[refresh] refresh_days`: the engagement refresh re-reads a post through its payload.
- `non_interacting_days`: older posts of people who never took part in the rights flow (no rights request
  on a story of theirs, no consent reply) are erased with everything derived from them, through the same
  code path as `privacy forget` (`storage.repositories.erase`); authors left with no post go too. The posts
  of granted or featured stories are always kept.

Work is done in batches of `[retention] batch_size` posts, one transaction each, so a purge over a million
posts never holds SQLite's write lock for long and an interrupted purge resumes where it stopped. Stored
reports lose the rows of the erased posts at the end. The run is recorded in the privacy audit log (counts).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from jobs.services import Services
from storage.repositories import retention as rules
from storage.repositories._sql import utcnow
from storage.repositories.erase import Erased, erase_posts, redact_reports
from storage.repositories.privacy import record_erasure

log = logging.getLogger(__name__)


def cutoffs(services: Services, now: datetime) -> tuple[datetime | None, datetime | None]:
    """(raw payloads made before this are blanked, non-interacting posts made before this are erased)."""
    settings = services.settings.retention
    raw_days = settings.raw_payload_days
    raw = now - timedelta(days=max(raw_days, services.settings.refresh.refresh_days)) if raw_days else None
    posts = now - timedelta(days=settings.non_interacting_days) if settings.non_interacting_days else None
    return raw, posts


async def _blank_raw(services: Services, before: datetime, batch: int) -> int:
    total, cursor = 0, 0
    while True:
        async with services.sessions.begin() as session:
            blanked, cursor = await rules.blank_raw_payloads(session, before, cursor, batch)
        total += blanked
        if not cursor:
            return total
        await asyncio.sleep(0)  # let the web app and other jobs in between two transactions


async def _delete_quarantined(services: Services, before: datetime, batch: int) -> int:
    total = 0
    while True:
        async with services.sessions.begin() as session:
            deleted = await rules.delete_quarantined(session, before, batch)
        total += deleted
        if deleted < batch:
            return total
        await asyncio.sleep(0)


async def _erase_non_interacting(services: Services, before: datetime, batch: int) -> tuple[Erased, set[str], int]:
    """Erase in batches; returns what went, the report keys of the authors deleted, the number of batches."""
    erased, authors_gone, batches, cursor = Erased(), set[str](), 0, 0
    while True:
        started = time.perf_counter()
        async with services.sessions.begin() as session:
            ids = await rules.non_interacting_posts(session, before, cursor, batch)
            if not ids:
                return erased, authors_gone, batches
            batch_erased = await erase_posts(session, ids)
            gone = await rules.delete_authors_without_posts(session, batch_erased.author_ids)
            erased.add(batch_erased)
        took = time.perf_counter() - started
        log.debug("retention: batch %d erased %d posts in %.3fs", batches + 1, len(ids), took)
        erased.counts["authors"] += len(gone)
        authors_gone |= gone
        cursor, batches = ids[-1], batches + 1
        await asyncio.sleep(0)


async def run(services: Services, *, now: datetime | None = None, dry_run: bool = False) -> dict[str, Any]:
    now = now or utcnow()
    raw_before, posts_before = cutoffs(services, now)
    batch = services.settings.retention.batch_size
    if dry_run:
        async with services.sessions() as session:
            return {
                "dry_run": True,
                "raw_payloads": await rules.count_raw_payloads(session, raw_before, posts_before) if raw_before else 0,
                "quarantine": await rules.count_quarantined(session, raw_before) if raw_before else 0,
                "posts": await rules.count_non_interacting(session, posts_before) if posts_before else 0,
            }
    counts: Counter[str] = Counter()
    batches = 0
    if posts_before is not None:  # first: the payloads of the posts it erases need no blanking
        erased, authors_gone, batches = await _erase_non_interacting(services, posts_before, batch)
        counts.update(erased.counts)
        async with services.sessions.begin() as session:
            counts["report_rows"] += await redact_reports(session, authors_gone, erased.post_keys)
    if raw_before is not None:
        counts["raw_payloads"] = await _blank_raw(services, raw_before, batch)
        counts["quarantine"] = await _delete_quarantined(services, raw_before, batch)
    figures = {k: v for k, v in counts.items() if v}
    if figures:
        async with services.sessions.begin() as session:
            await record_erasure(
                session, kind="retention", platform=None, subject=None, actor="job:retention", counts=figures, now=now
            )
    return {"dry_run": False, "batches": batches, **figures}
