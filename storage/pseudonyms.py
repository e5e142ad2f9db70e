"""Pseudonyms for private individuals in merchant views and report exports.

A person who posted about a shop did not agree to have their handle shown to that shop or printed in a
report sent to partners. Unless they granted rights (the story rights flow) or the account is a registered
merchant's own, merchant pages and report exports show a stable pseudonym instead: the same person gets the
same pseudonym everywhere (so "3 posts by person-1a2b3c4d" still reads), yet it cannot be reversed without
the service's key. The key is an HMAC key held by the deployment (see `jobs.services.Services`); a leaked
export therefore does not reveal who posted.

Pure functions: the caller decides who is public and passes the key.
"""

from __future__ import annotations

import hashlib
import hmac

PREFIX = "person-"


def pseudonym(platform: str, author_platform_id: str, key: bytes) -> str:
    """`person-` and 10 hex digits of HMAC-SHA256(key, "platform:author id"): stable and not reversible."""
    digest = hmac.new(key, f"{platform}:{author_platform_id}".encode(), hashlib.sha256).hexdigest()
    return PREFIX + digest[:10]


def shown_handle(handle: str, platform: str, author_platform_id: str, *, public: bool, key: bytes) -> str:
    """The handle itself for a public author (rights granted, or a merchant's own account), else the
    author's pseudonym."""
    return handle if public else pseudonym(platform, author_platform_id, key)
