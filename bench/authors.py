"""Authors of the synthetic corpus (`bench.generate`): people from France and the MENA region writing in their
languages, with log-normal follower counts (5 % unknown) and Zipf-distributed activity, on x, mastodon and
bluesky; an author gets its database row when it first posts. Instagram's hashtag search names no author:
each of its posts gets an unknown one, as the collector stores them.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from typing import Any

from bench import vocabulary as v
from bench.platforms import b32
from bench.population import FRANCE, MENA, Row, pick, slug, zipf_weights


@dataclass
class Authors:
    """Known authors of x, mastodon and bluesky (Instagram hashtag search gives none: each post gets its own
    unknown author). Authors get their database id and row when they first post (`row`)."""

    rng: random.Random
    count: int
    first_id: int
    append: bool
    platform: list[str] = field(default_factory=list)
    group: list[str] = field(default_factory=list)
    language: list[str] = field(default_factory=list)
    handle: list[str] = field(default_factory=list)
    display: list[str] = field(default_factory=list)
    followers: list[int | None] = field(default_factory=list)
    db_id: list[int] = field(default_factory=list)
    verified: list[bool | None] = field(default_factory=list)
    pools: dict[str, tuple[list[int], list[float]]] = field(default_factory=dict)
    platform_ids: dict[int, str] = field(default_factory=dict)
    next_id: int = 0

    def __post_init__(self) -> None:
        rng = self.rng
        self.next_id = self.first_id
        shares = (("x", 0.5), ("mastodon", 0.25), ("bluesky", 0.25))
        members: dict[str, list[int]] = {p: [] for p, _ in shares}
        used: set[tuple[str, str]] = set()
        for index in range(self.count):
            roll = rng.random()
            platform = "x" if roll < shares[0][1] else "mastodon" if roll < 0.75 else "bluesky"
            group = FRANCE if rng.random() < 0.4 else MENA
            display, base = person(rng, group)
            language = author_language(rng, group)
            handle = self._handle(platform, base, index, used)
            followers = None if rng.random() < 0.05 else int(rng.lognormvariate(5.0, 1.9))
            self.platform.append(platform)
            self.group.append(group)
            self.language.append(language)
            self.handle.append(handle)
            self.display.append(display + rng.choice(v.NAME_DECORATIONS))
            self.followers.append(followers)
            self.db_id.append(0)
            self.verified.append(None)
            members[platform].append(index)
        for platform, indices in members.items():
            rng.shuffle(indices)  # activity rank independent of creation order
            self.pools[platform] = (indices, zipf_weights(len(indices), 0.75))

    def _handle(self, platform: str, base: str, index: int, used: set[tuple[str, str]]) -> str:
        rng = self.rng
        if self.append:
            # Unlike any name of an earlier corpus (they have at most one '_'; `base` has none): Mastodon
            # actor URIs, made of the name, must stay unique.
            name = f"{base}_r{self.first_id}_{index}"
        else:
            name = base if rng.random() < 0.4 else f"{base}{index % 997}"
            if (platform, name) in used:
                name = f"{base}_{index}"
        used.add((platform, name))
        if platform == "x":
            return name[:15]
        if platform == "mastodon":
            return f"{name}@{rng.choice(v.MASTODON_INSTANCES)}"
        return f"{name}.bsky.social"

    def choose(self, platform: str) -> int:
        indices, weights = self.pools[platform]
        return indices[pick(self.rng, weights)]

    def platform_id(self, index: int) -> str:
        """Stable per author index and run (x: numeric id; mastodon: actor URI; bluesky: a DID)."""
        known = self.platform_ids.get(index)
        if known is not None:
            return known
        platform, handle = self.platform[index], self.handle[index]
        digest = hashlib.blake2b(f"{self.first_id}:{index}".encode(), digest_size=15).digest()
        if platform == "x":
            known = str(int.from_bytes(digest[:7], "big"))
        elif platform == "mastodon":
            user, instance = handle.split("@", 1)
            known = f"https://{instance}/users/{user}"
        else:
            known = "did:plc:" + b32(digest)[:24]
        self.platform_ids[index] = known
        return known

    def url(self, index: int) -> str:
        platform, handle = self.platform[index], self.handle[index]
        if platform == "x":
            return f"https://x.com/{handle}"
        if platform == "mastodon":
            user, instance = handle.split("@", 1)
            return f"https://{instance}/@{user}"
        return f"https://bsky.app/profile/{handle}"

    def row(self, index: int, stamp: Any) -> Row:
        """The authors row for this author's first post (and its id, assigned now)."""
        author_id = self.next_id = self.next_id + 1
        self.db_id[index] = author_id
        platform = self.platform[index]
        verified = (self.rng.random() < 0.02) if platform == "x" else None
        self.verified[index] = verified
        return (
            author_id,
            platform,
            self.platform_id(index),
            self.handle[index],
            self.display[index],
            self.followers[index],
            verified,
            self.url(index),
            stamp,
            stamp,
        )

    def unknown_row(self, media_id: str, stamp: Any) -> tuple[int, Row]:
        """An Instagram post's author (the hashtag API does not say who posted)."""
        author_id = self.next_id = self.next_id + 1
        return author_id, (author_id, "instagram", f"unknown:{media_id}", "", "", None, None, None, stamp, stamp)


def person(rng: random.Random, group: str) -> tuple[str, str]:
    """(display name, handle base) of someone from `group`."""
    if group == FRANCE or rng.random() < 0.25:
        if rng.random() < 0.85:
            first, last = rng.choice(v.FR_PEOPLE_FIRST), rng.choice(v.FR_PEOPLE_LAST)
        else:
            first, last = rng.choice(v.EN_PEOPLE_FIRST), rng.choice(v.EN_PEOPLE_LAST)
        display = f"{first} {last}" if rng.random() < 0.7 else f"{first} {last[0]}."
        return display, slug(first + ("_" if rng.random() < 0.5 else "") + last)[:12] or "user"
    (first_ar, first), (last_ar, last) = rng.choice(v.AR_PEOPLE), rng.choice(v.AR_FAMILY)
    display = f"{first_ar} {last_ar}" if rng.random() < 0.55 else f"{first} {last}"
    return display, slug(first + last)[:12] or "user"


def author_language(rng: random.Random, group: str) -> str:
    roll = rng.random()
    if group == FRANCE:
        return "fr" if roll < 0.93 else "en" if roll < 0.97 else "ar"
    return "ar" if roll < 0.45 else "fr" if roll < 0.83 else "en"
