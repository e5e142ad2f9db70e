"""Instagram Graph API hashtag media (`/{hashtag-id}/recent_media`, `/top_media`) to `Post` records.

Hashtag search returns media without their owner: the author is unknown. Each such post gets its own
`unknown:<media id>` author (followers unknown) so reports can count them as "author unknown" instead of
inventing one prolific author. `timestamp` is requested with the media; when a response lacks it, the time
the post was first seen stands in, and the raw payload says so (`_created_at_is_seen_at`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from listener.errors import BadPayload
from listener.parsers.common import as_int, clean_payload, clean_text, parse_time, require
from listener.parsers.x import ParsedPage, Rejected
from listener.post import Author, Media, Metrics, Platform, Post

UNKNOWN_AUTHOR_PREFIX = "unknown:"
_TAG = re.compile(r"#(\w+)", re.UNICODE)
_MENTION = re.compile(r"(?<![\w@])@([A-Za-z0-9._]{1,30})")
MEDIA_FIELDS = (
    "id,caption,media_type,media_url,permalink,comments_count,like_count,timestamp,children{media_type,media_url}"
)


def parse_media(item: Mapping[str, Any], seen_at: datetime, query: str | None = None) -> Post:
    item = clean_payload(item)
    media_id = str(require(item, "id", "instagram media"))
    what = f"instagram media {media_id}"
    caption = item.get("caption") or ""
    if not isinstance(caption, str):
        raise BadPayload(f"{what}: caption is not text")
    raw = dict(item)
    if item.get("timestamp"):
        created = parse_time(item["timestamp"], what)
    else:
        created = seen_at
        raw["_created_at_is_seen_at"] = True
    kind = str(item.get("media_type") or "unknown").lower()
    media = [Media(kind=kind, url=item.get("media_url"))]
    children = (item.get("children") or {}).get("data") if isinstance(item.get("children"), dict) else None
    for child in children or []:
        if isinstance(child, dict):
            media.append(Media(kind=str(child.get("media_type") or "unknown").lower(), url=child.get("media_url")))
    text = clean_text(caption)
    return Post(
        platform=Platform.INSTAGRAM,
        platform_id=media_id,
        url=item.get("permalink"),
        author=Author(platform_id=f"{UNKNOWN_AUTHOR_PREFIX}{media_id}", handle=""),
        text=text,
        created_at=created,
        hashtags=tuple(dict.fromkeys(_TAG.findall(text))),
        mentions=tuple(dict.fromkeys(_MENTION.findall(text))),
        media=tuple(media),
        metrics=Metrics(likes=as_int(item.get("like_count")), replies=as_int(item.get("comments_count"))),
        query=query,
        raw=raw,
    )


def parse_media_page(page: Any, seen_at: datetime, query: str | None = None) -> ParsedPage:
    if not isinstance(page, dict) or not isinstance(page.get("data"), list):
        raise BadPayload("not an Instagram Graph API media page (expected an object with a 'data' list)")
    posts: list[Post] = []
    rejected: list[Rejected] = []
    for item in page["data"]:
        try:
            posts.append(parse_media(item, seen_at, query))
        except BadPayload as exc:
            rejected.append(Rejected(item=item, error=str(exc)))
    paging = page.get("paging") or {}
    after = (paging.get("cursors") or {}).get("after") if isinstance(paging, dict) else None
    has_next = isinstance(paging, dict) and bool(paging.get("next"))
    return ParsedPage(
        posts=posts, rejected=rejected, next_token=str(after) if has_next and after else None, newest_id=None
    )
