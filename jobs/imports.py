"""Importing an export file into a campaign: read, ingest in batches, quarantine what cannot be read.

Batches of a few thousand posts per transaction keep memory flat on large files and make progress
visible; a batch is all-or-nothing, and running the same import twice adds nothing the second time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from jobs.services import Services
from listener.errors import BadPayload
from listener.imports import ImportChunk, read_csv, read_x_v2
from listener.post import Post
from storage.models import Quarantine
from storage.repositories.ingest import ingest
from storage.repositories.quarantine import quarantine

BATCH = 2000
MAX_REPORTED = 50  # line-by-line reasons in the summary; the quarantine keeps them all


class ImportFailed(Exception):
    """The file cannot be imported at all (unreadable, wrong format, unknown campaign)."""


@dataclass
class ImportSummary:
    file: str
    campaign: str
    read: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    quarantined: int = 0
    # "line N: reason" of the first quarantined lines or rows, for the person running the import.
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "errors": list(self.errors)}


def _counted(lines: Iterable[str], progress: Callable[[int], None]) -> Iterator[str]:
    for line in lines:
        progress(len(line.encode("utf-8")))
        yield line


def _chunks(path: Path, fmt: str, progress: Callable[[int], None]) -> Iterator[ImportChunk]:
    try:
        handle = path.open("r", encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise ImportFailed(f"cannot read {path}: {exc.strerror}") from None
    with handle:
        try:
            if fmt == "x-v2":
                # One reader over the whole file, so each line keeps its own number for the quarantine.
                yield from read_x_v2(_counted(handle, progress), query=f"import:{path.name}")
            elif fmt == "csv":
                text = handle.read()
                progress(len(text.encode("utf-8")))
                yield from read_csv(text, query=f"import:{path.name}")
            else:
                raise ImportFailed(f"unknown format {fmt!r}: use x-v2 or csv")
        except UnicodeDecodeError:
            # (The decoder's offset is within its read buffer, not the file: not worth printing.)
            raise ImportFailed(f"{path}: not UTF-8 text; is this the right file? (save it as UTF-8)") from None
        except BadPayload as exc:
            raise ImportFailed(f"{path}: {exc}") from None


async def import_file(
    services: Services,
    path: Path,
    fmt: str,
    campaign: str,
    progress: Callable[[int], None] = lambda n: None,
) -> ImportSummary:
    if campaign not in services.campaign_ids:
        known = ", ".join(services.campaign_ids) or "none"
        raise ImportFailed(f"unknown campaign {campaign!r} (configured: {known})")
    campaign_id = services.campaign_ids[campaign]
    summary = ImportSummary(file=str(path), campaign=campaign)
    posts: list[Post] = []
    rejected: list[tuple[Any, str]] = []

    source = f"import:{fmt}"

    async def flush() -> None:
        # The file name is part of the reason, so a second import of the same file finds its bad lines
        # already quarantined and adds nothing (like its posts).
        bad = [(payload, f"{path.name}: {reason}") for payload, reason in rejected]
        async with services.sessions.begin() as session:
            counts = await ingest(session, posts, campaign_ids=[campaign_id])
            known = await _quarantined_errors(session, source, [reason for _, reason in bad])
            await quarantine(session, source, "file", [(p, r) for p, r in bad if r[:2000] not in known])
        summary.quarantined += len(bad)
        room = MAX_REPORTED - len(summary.errors)
        summary.errors.extend(reason for _, reason in rejected[: max(room, 0)])
        summary.new += counts.new
        summary.updated += counts.updated
        summary.unchanged += counts.unchanged
        posts.clear()
        rejected.clear()

    for chunk in _chunks(path, fmt, progress):
        summary.read += len(chunk.posts) + len(chunk.rejected)
        posts.extend(chunk.posts)
        rejected.extend(chunk.rejected)
        if len(posts) >= BATCH or len(rejected) >= BATCH:
            await flush()
    if posts or rejected:
        await flush()
    return summary


async def _quarantined_errors(session: AsyncSession, source: str, errors: list[str]) -> set[str]:
    if not errors:
        return set()
    wanted = list(dict.fromkeys(e[:2000] for e in errors))  # as the quarantine stores them
    result = await session.execute(
        select(Quarantine.error).where(Quarantine.source == source, Quarantine.error.in_(wanted))
    )
    return set(result.scalars())
