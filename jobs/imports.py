"""Importing an export file into a campaign: read, ingest in batches, quarantine what cannot be read.

Batches of a few thousand posts per transaction keep memory flat on large files and make progress
visible; a batch is all-or-nothing, and running the same import twice adds nothing the second time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jobs.services import Services
from listener.errors import BadPayload
from listener.imports import ImportChunk, read_csv, read_x_v2
from listener.post import Post
from storage.repositories.ingest import ingest
from storage.repositories.quarantine import quarantine

BATCH = 2000


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

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


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
        except UnicodeDecodeError as exc:
            raise ImportFailed(f"{path}: not UTF-8 text (byte {exc.start}); is this the right file?") from None
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

    async def flush() -> None:
        async with services.sessions.begin() as session:
            counts = await ingest(session, posts, campaign_ids=[campaign_id])
            summary.quarantined += await quarantine(session, f"import:{fmt}", "file", rejected)
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
