"""Posts deleted on their platform are deleted here too (`[retention] remove_deleted_upstream`).

The engagement refresh re-reads recent posts anyway; its collectors report the ids the platform definitely
says no longer exist (`Page.gone`: X's not-found lookup errors, Mastodon's 404/410, Bluesky's missing
records, Instagram's "do not exist" ids; never an outage, a refused token, a rate limit or a suspended
account). Those posts are erased through the same code path as `privacy forget` (reposts of them included),
in the transaction of the refresh page that reported them; at the end of a source's refresh the stored
reports lose their rows and the erasure is recorded in the privacy audit log (counts only).

The check covers what the refresh covers: posts younger than `[refresh] refresh_days`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from jobs.services import Services
from storage.models import Post
from storage.repositories._sql import chunks, utcnow
from storage.repositories.erase import Erased, erase_posts, redact_reports
from storage.repositories.privacy import record_erasure

log = logging.getLogger(__name__)


async def erase_gone(session: AsyncSession, platform: str, platform_ids: Sequence[str]) -> Erased:
    """Erase the stored posts among `platform_ids` (in the caller's transaction)."""
    ids: list[int] = []
    for part in chunks(sorted(set(platform_ids)), 500):
        rows = await session.scalars(select(Post.id).where(Post.platform == platform, Post.platform_id.in_(part)))
        ids.extend(int(i) for i in rows)
    return await erase_posts(session, ids)


async def finish(services: Services, platform: str, erased: Erased) -> None:
    """Drop the erased posts' rows from stored reports and record the erasure."""
    if not erased.post_keys:
        return
    async with services.sessions.begin() as session:
        erased.counts["report_rows"] += await redact_reports(session, (), erased.post_keys)
        await record_erasure(
            session,
            kind="deleted_upstream",
            platform=platform,
            subject=None,
            actor="job:refresh",
            counts=dict(erased.counts),
            now=utcnow(),
        )
    log.info("refresh: %d post(s) deleted on %s were deleted here too", erased.counts["posts"], platform)
