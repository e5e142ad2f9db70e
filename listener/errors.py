"""The listener's own exceptions: the only ones a collector raises (library errors are translated at the
boundary), so jobs handle every platform the same way and messages never carry credentials."""

from __future__ import annotations

from datetime import datetime


class ListenerError(Exception):
    """Base of the family."""


class RateLimited(ListenerError):
    """The platform asked us to wait; the source resumes at `reset_at` (UTC) on a later tick."""

    def __init__(self, source: str, reset_at: datetime, detail: str = "") -> None:
        self.source = source
        self.reset_at = reset_at
        suffix = f": {detail}" if detail else ""
        super().__init__(f"{source}: rate limited until {reset_at:%Y-%m-%d %H:%M:%S} UTC{suffix}")


class AuthFailed(ListenerError):
    """The credentials were refused; the message names the variable to fix."""


class SourceUnavailable(ListenerError):
    """The platform did not answer usefully (5xx, timeouts, network) after the allowed retries."""


class BadPayload(ListenerError):
    """A payload (or one item of it) cannot be turned into a Post; it goes to the quarantine."""
