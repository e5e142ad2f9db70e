"""How each platform identifies, addresses and describes a post of the synthetic corpus (`bench.generate`):
ids and URLs in the platform's own forms, the language it tags, the metrics it reports, and a trimmed raw
payload like the one the collector keeps.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

# Which metrics each platform reports: likes, reposts, replies, quotes, views.
REPORTED = {
    "x": (True, True, True, True, True),
    "mastodon": (True, True, True, False, False),
    "bluesky": (True, True, True, True, False),
    "instagram": (True, False, True, False, False),
}
_TWITTER_EPOCH_MS = 1_288_834_974_657
_B32 = "234567abcdefghijklmnopqrstuvwxyz"


def instagram_media_id(post_id: int) -> str:
    return str(17_840_000_000_000_000 + post_id)


def address(platform: str, post_id: int, created: float, handle: str, did: str) -> tuple[str, str, str]:
    """(platform id, url, what a reply's reply_to_id holds) of a post, in each platform's own forms: X
    snowflake ids, Mastodon status URIs (replies hold the local status id), Bluesky at:// URIs with a TID
    record key, Instagram media ids."""
    ms = int(created * 1000)
    if platform == "x":
        tweet = str(((ms - _TWITTER_EPOCH_MS) << 22) | (post_id & 0x3FFFFF))
        return tweet, f"https://x.com/{handle}/status/{tweet}", tweet
    if platform == "mastodon":
        user, instance = handle.split("@", 1)
        local = str((ms << 16) | (post_id & 0xFFFF))
        return f"https://{instance}/users/{user}/statuses/{local}", f"https://{instance}/@{user}/{local}", local
    if platform == "bluesky":
        rkey = tid(int(created * 1_000_000), post_id)
        uri = f"at://{did}/app.bsky.feed.post/{rkey}"
        return uri, f"https://bsky.app/profile/{handle}/post/{rkey}", uri
    media = instagram_media_id(post_id)
    return media, f"https://www.instagram.com/p/{_shortcode(post_id)}/", media


def language_hint(platform: str, language: str, roll: float) -> str | None:
    """The language the platform says the post is in (X always says, Instagram never)."""
    if platform == "x":
        return "und" if roll < 0.05 or language == "und" else language
    if platform == "instagram" or language == "und":
        return None
    return language if roll < (0.7 if platform == "mastodon" else 0.8) else None


def raw_payload(
    platform: str, platform_id: str, text: str, created: float, hint: str | None, metrics: tuple[int | None, ...]
) -> dict[str, Any]:
    """A trimmed payload as the platform sent it (the raw column keeps the whole payload in real life)."""
    when = datetime.fromtimestamp(created, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    likes, reposts, replies, quotes, views = metrics
    if platform == "x":
        counts = {"like_count": likes, "retweet_count": reposts, "reply_count": replies, "quote_count": quotes}
        return {"id": platform_id, "text": text, "created_at": when, "lang": hint,
                "public_metrics": {**counts, "impression_count": views}}  # fmt: skip
    if platform == "mastodon":
        return {"uri": platform_id, "content": f"<p>{text}</p>", "created_at": when, "language": hint,
                "favourites_count": likes, "reblogs_count": reposts, "replies_count": replies}  # fmt: skip
    if platform == "bluesky":
        return {"uri": platform_id, "record": {"text": text, "createdAt": when, "langs": [hint] if hint else []},
                "likeCount": likes, "repostCount": reposts, "replyCount": replies, "quoteCount": quotes}  # fmt: skip
    return {"id": platform_id, "caption": text, "timestamp": when.replace(".000Z", "+0000"), "like_count": likes,
            "comments_count": replies}  # fmt: skip


_SHORTCODE = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def _shortcode(number: int) -> str:
    out = []
    number = number * 2_654_435_761 % (64**11)  # spread consecutive ids like real shortcodes
    for _ in range(11):
        number, digit = divmod(number, 64)
        out.append(_SHORTCODE[digit])
    return "".join(out)


def b32(data: bytes) -> str:
    """Base32 in the sortable alphabet Bluesky uses (DIDs, record keys)."""
    number = int.from_bytes(data, "big")
    out = []
    for _ in range(math.ceil(len(data) * 8 / 5)):
        number, digit = divmod(number, 32)
        out.append(_B32[digit])
    return "".join(reversed(out))


def tid(micros: int, clock: int) -> str:
    """A Bluesky record key (TID): 13 base32-sortable characters of microseconds and a clock id."""
    number = (micros << 10) | (clock & 0x3FF)
    out = []
    for _ in range(13):
        number, digit = divmod(number, 32)
        out.append(_B32[digit])
    return "".join(reversed(out))
