"""The bundled sample campaign: its manifest, its payload files, and their dates moved to the last three weeks.

The files in `service/samples/demo/` are platform payloads in the shapes the collectors receive (X API v2
search pages, Mastodon hashtag timelines, Bluesky searchPosts, Instagram hashtag recent_media), written for
the demo about fictitious shops. Their dates are placeholders around a fixed `anchor` day (the day the files
call "today"): at load time every timestamp in the payloads moves by the same whole number of days, so that
the newest post lands today (or yesterday, when today's hour has not reached it yet) and the posts span the
three weeks before. Only dates move: post ids, texts and figures stay as written, so loading twice stores
nothing twice.

The payloads then go through the real pure parsers (`listener.parsers.*`), as a collector's pages would.
Nothing here touches the database; `service.demo.load` does.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from listener.parsers.bluesky import parse_search
from listener.parsers.common import parse_time
from listener.parsers.instagram import parse_media_page
from listener.parsers.mastodon import parse_statuses
from listener.parsers.x import ParsedPage, parse_page
from listener.post import Post

SAMPLES_DIR = Path(__file__).resolve().parents[1] / "samples" / "demo"
MANIFEST = "manifest.json"
FORMATS = ("x-v2", "mastodon", "bluesky", "instagram")
# A date, or an ISO 8601 timestamp as the platforms write them ("...T08:10:00.000Z", "...T08:10:00+0000").
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?)?")


class SampleError(ValueError):
    """The bundled samples are damaged or incomplete; the message names the file."""


@dataclass(frozen=True)
class SampleFile:
    file: str
    format: str  # one of FORMATS
    campaign: str  # campaign slug
    query: str  # the query a collector would have sent
    instance: str | None = None  # Mastodon: the instance the timeline was read from


@dataclass(frozen=True)
class CurationStep:
    """Where the demo curator takes one sample post's story: shortlisted, rights_requested or featured."""

    platform: str
    platform_id: str
    to: str
    why: str


@dataclass(frozen=True)
class Manifest:
    anchor: date
    curator_at: datetime  # placeholder time of the curator's session, moved like the posts
    merchant_login: str  # the merchant the demo merchant account is bound to (its registry name)
    files: tuple[SampleFile, ...]
    curation: tuple[CurationStep, ...]


@dataclass(frozen=True)
class Samples:
    """The parsed sample posts, dates moved, each with its campaign slug."""

    manifest: Manifest
    shift_days: int
    curator_at: datetime
    posts: list[tuple[str, Post]] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (file, error)

    def ticks(self, now: datetime) -> list[Tick]:
        """The posts grouped as an hourly collector would have brought them in (see `collection_ticks`)."""
        return collection_ticks(self.posts, now)


@dataclass(frozen=True)
class Tick:
    """One replayed collection run: when it ran, and the posts (with their campaign) it brought in."""

    at: datetime
    posts: list[tuple[str, Post]]


def collection_ticks(posts: list[tuple[str, Post]], now: datetime) -> list[Tick]:
    """Posts grouped by the hourly collection run that would have stored them: the top of the hour after each
    post was written (never after `now`), oldest run first. Replaying them at those times gives every post a
    collection time and an engagement snapshot inside the week it belongs to, as on a running service."""
    runs: dict[datetime, list[tuple[str, Post]]] = {}
    for campaign, post in posts:
        hour = post.created_at.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        runs.setdefault(min(hour, now), []).append((campaign, post))
    return [Tick(at, runs[at]) for at in sorted(runs)]


def manifest_from(data: Any) -> Manifest:
    """Validate the manifest's JSON; SampleError names what is wrong."""
    try:
        files = tuple(
            SampleFile(
                file=str(f["file"]),
                format=str(f["format"]),
                campaign=str(f["campaign"]),
                query=str(f["query"]),
                instance=f.get("instance"),
            )
            for f in data["files"]
        )
        curation = tuple(
            CurationStep(str(c["platform"]), str(c["platform_id"]), str(c["to"]), str(c["why"]))
            for c in data["curation"]
        )
        manifest = Manifest(
            anchor=date.fromisoformat(data["anchor"]),
            curator_at=parse_time(data["curator_at"], "manifest curator_at"),
            merchant_login=str(data["merchant_login"]),
            files=files,
            curation=curation,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise SampleError(f"{MANIFEST}: {type(exc).__name__}: {exc}") from None
    unknown = sorted({f.format for f in files} - set(FORMATS))
    if unknown:
        raise SampleError(f"{MANIFEST}: unknown format(s) {unknown} (one of {', '.join(FORMATS)})")
    return manifest


def _walk(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from _walk(item)


def timestamps(payload: Any) -> list[datetime]:
    """Every full timestamp (with a time of day) in a payload, in UTC."""
    return [parse_time(s, "sample") for s in _walk(payload) if "T" in s and _TIMESTAMP.fullmatch(s)]


def shift_payload(payload: Any, days: int) -> Any:
    """A copy of `payload` with every date and timestamp string moved by `days` days, written as before."""
    if isinstance(payload, str):
        if _TIMESTAMP.fullmatch(payload):
            return (date.fromisoformat(payload[:10]) + timedelta(days=days)).isoformat() + payload[10:]
        return payload
    if isinstance(payload, dict):
        return {key: shift_payload(item, days) for key, item in payload.items()}
    if isinstance(payload, list):
        return [shift_payload(item, days) for item in payload]
    return payload


def day_shift(anchor: date, newest: datetime, now: datetime) -> int:
    """Whole days that bring the anchor day to today, one less while the newest post would lie in the future."""
    days = (now.date() - anchor).days
    while newest + timedelta(days=days) > now:
        days -= 1
    return days


def parse_sample(entry: SampleFile, payload: Any, seen_at: datetime) -> ParsedPage:
    """One sample file through the platform's real parser."""
    if entry.format == "x-v2":
        return parse_page(payload, entry.query)
    if entry.format == "mastodon":
        return parse_statuses(payload, entry.query, entry.instance)
    if entry.format == "bluesky":
        return parse_search(payload, entry.query)
    return parse_media_page(payload, seen_at, entry.query)


def read_payloads(folder: Path, manifest: Manifest) -> dict[str, Any]:
    payloads: dict[str, Any] = {}
    for entry in manifest.files:
        path = folder / entry.file
        try:
            payloads[entry.file] = json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise SampleError(f"{path}: cannot read the sample file: {exc.strerror}") from None
        except ValueError as exc:
            raise SampleError(f"{path}: not valid JSON: {exc}") from None
    return payloads


def read_manifest(folder: Path) -> Manifest:
    path = folder / MANIFEST
    try:
        return manifest_from(json.loads(path.read_text(encoding="utf-8")))
    except OSError as exc:
        raise SampleError(f"{path}: cannot read the demo manifest: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise SampleError(f"{path}: not valid JSON: {exc}") from None


def load_samples(now: datetime, folder: Path = SAMPLES_DIR) -> Samples:
    """Read, date-shift and parse every sample file of the manifest."""
    manifest = read_manifest(folder)
    payloads = read_payloads(folder, manifest)
    newest = max(t for payload in payloads.values() for t in timestamps(payload))
    days = day_shift(manifest.anchor, newest, now)
    samples = Samples(manifest, days, manifest.curator_at + timedelta(days=days))
    for entry in manifest.files:
        page = parse_sample(entry, shift_payload(payloads[entry.file], days), now)
        samples.posts.extend((entry.campaign, post) for post in page.posts)
        samples.rejected.extend((entry.file, r.error) for r in page.rejected)
    return samples
