"""Reading export files people already have, as `Post` records (pure: lines in, records and rejects out).

- `x-v2`: JSON Lines of X API v2 responses as twarc2 writes them (one response page per line, with a
  `__twarc` key that is dropped), or one v2 tweet object per line.
- `csv`: one post per row, UTF-8 (BOM allowed), comma or semicolon, with a header naming the columns
  (`CSV_COLUMNS`; `id`, `created_at` and `text` required, plus `author_id` or `author_handle`).

Every line or row that cannot be read is returned with its line number and reason for the quarantine.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from listener.errors import BadPayload
from listener.parsers.common import as_int, clean_payload, clean_text, parse_time
from listener.parsers.x import Includes, parse_page, parse_tweet
from listener.post import Author, Metrics, Platform, Post

CSV_COLUMNS = (
    "platform", "id", "url", "created_at", "author_id", "author_handle", "author_name", "author_followers",
    "text", "lang", "hashtags", "likes", "reposts", "replies", "quotes", "views",
    "reply_to_id", "repost_of_id", "quote_of_id",
)  # fmt: skip
FORMATS = ("x-v2", "csv")


@dataclass(frozen=True)
class ImportChunk:
    """What one line (JSONL) or row (CSV) gave."""

    line: int
    posts: list[Post]
    rejected: list[tuple[Any, str]]


def read_x_v2(lines: Iterable[str], query: str | None = None) -> Iterator[ImportChunk]:
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except ValueError as exc:
            yield ImportChunk(number, [], [(line, f"line {number}: not JSON ({exc})")])
            continue
        if not isinstance(obj, dict):
            yield ImportChunk(number, [], [(line, f"line {number}: not a JSON object")])
            continue
        obj.pop("__twarc", None)
        obj = clean_payload(obj)  # a NUL or a lone surrogate escape must not fail the whole batch
        try:
            if "data" in obj or "meta" in obj or "errors" in obj:
                page = parse_page(obj, query)
                rejected = [(r.item, f"line {number}: {r.error}") for r in page.rejected]
                yield ImportChunk(number, page.posts, rejected)
            elif "id" in obj and "text" in obj:
                author = obj.get("author")
                includes = Includes(users={str(author.get("id")): author}) if isinstance(author, dict) else Includes()
                yield ImportChunk(number, [parse_tweet(obj, includes, query)], [])
            else:
                yield ImportChunk(number, [], [(obj, f"line {number}: neither an X API v2 page nor a tweet")])
        except BadPayload as exc:
            yield ImportChunk(number, [], [(obj, f"line {number}: {exc}")])


def _csv_post(row: dict[str, str], number: int, query: str | None) -> Post:
    row = clean_payload(row)

    def cell(name: str) -> str:
        return (row.get(name) or "").strip()

    post_id = cell("id")
    if not post_id:
        raise BadPayload(f"line {number}: id is empty")
    author_id, handle = cell("author_id"), cell("author_handle").lstrip("@")
    if not author_id and not handle:
        raise BadPayload(f"line {number}: author_id or author_handle is needed")
    platform_name = cell("platform").casefold() or Platform.FILE.value
    try:
        platform = Platform(platform_name)
    except ValueError:
        known = ", ".join(p.value for p in Platform)
        raise BadPayload(f"line {number}: unknown platform {platform_name!r} (known: {known})") from None
    if "text" not in row or row.get("text") is None:
        raise BadPayload(f"line {number}: text is missing")
    tags = tuple(t.lstrip("#") for t in cell("hashtags").replace("|", " ").split() if t.lstrip("#"))
    return Post(
        platform=platform,
        platform_id=post_id,
        url=cell("url") or None,
        author=Author(
            platform_id=author_id or handle.casefold(),
            handle=handle,
            display_name=clean_text(cell("author_name")),
            followers=as_int(cell("author_followers")),
        ),
        text=clean_text(row["text"]),
        created_at=parse_time(cell("created_at"), f"line {number}"),
        language_hint=cell("lang") or None,
        hashtags=tags,
        reply_to_id=cell("reply_to_id") or None,
        repost_of_id=cell("repost_of_id") or None,
        quote_of_id=cell("quote_of_id") or None,
        metrics=Metrics(
            likes=as_int(cell("likes")),
            reposts=as_int(cell("reposts")),
            replies=as_int(cell("replies")),
            quotes=as_int(cell("quotes")),
            views=as_int(cell("views")),
        ),
        query=query,
        raw={k: v for k, v in row.items() if k},
    )


def read_csv(text: str, query: str | None = None) -> Iterator[ImportChunk]:
    text = text.removeprefix("\ufeff")
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = [h.strip().casefold() for h in reader.fieldnames or []]
    missing = [c for c in ("id", "created_at", "text") if c not in header]
    if missing:
        raise BadPayload(f"line 1: the CSV header lacks {', '.join(missing)} (columns: {', '.join(CSV_COLUMNS)})")
    reader.fieldnames = header
    previous = 1
    rows = iter(reader)
    while True:
        try:
            row = next(rows)
        except StopIteration:
            return
        except csv.Error as exc:  # e.g. a field past the csv module's size limit: the file is not a table
            raise BadPayload(f"line {previous + 1}: unreadable CSV ({exc})") from None
        number, previous = previous + 1, reader.line_num
        if None in row:
            yield ImportChunk(number, [], [(row, f"line {number}: more fields than the header")])
            continue
        try:
            yield ImportChunk(number, [_csv_post(row, number, query)], [])
        except BadPayload as exc:
            yield ImportChunk(number, [], [(row, str(exc))])
