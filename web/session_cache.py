"""A few seconds' memory of the sessions this process has looked up, so that a signed-in request does not
pay a database round trip (and its transaction) before doing its own work.

Why it is safe: entries live `TTL` seconds at most, and this process forgets them all whenever it ends a
session or changes what a session carries (logout, password change, language). Another process (a second
web worker, `listener users`) ending a session is seen within `TTL` seconds. Expiry is checked against the
cached expiry on every hit, and sliding a session still writes to the database once a minute.
"""

from __future__ import annotations

import time

from storage.repositories.web_sessions import SignedIn

TTL = 5.0
MAX_ENTRIES = 10_000


class SessionCache:
    def __init__(self, ttl: float = TTL, max_entries: int = MAX_ENTRIES) -> None:
        self._ttl = ttl
        self._max = max_entries
        self._entries: dict[str, tuple[float, SignedIn]] = {}

    def get(self, session_id: str) -> SignedIn | None:
        entry = self._entries.get(session_id)
        if entry is None:
            return None
        if time.monotonic() - entry[0] > self._ttl:
            del self._entries[session_id]
            return None
        return entry[1]

    def put(self, signed_in: SignedIn) -> None:
        if len(self._entries) >= self._max:
            self._entries.clear()  # rare (10,000 live sessions in 5 s): start afresh rather than track age
        self._entries[signed_in.session_id] = (time.monotonic(), signed_in)

    def clear(self) -> None:
        self._entries.clear()
