"""What each source needs before it can collect, worked out from the settings alone (no I/O).

`listener check`, the startup summary and the home page all say the same thing: which sources are on,
and for the others, the exact setting or environment variable still missing. Platforms the campaigns use
that no public API can collect (Facebook hashtags) are listed too, so nobody waits for posts that never
come.
"""

from __future__ import annotations

from dataclasses import dataclass

from service.settings import Settings

# Collectors shipped in this build.
IMPLEMENTED: frozenset[str] = frozenset({"x", "mastodon", "bluesky", "instagram", "rss"})


@dataclass(frozen=True)
class SourceReadiness:
    name: str
    enabled: bool
    needs: tuple[str, ...]
    note: str = ""

    @property
    def ready(self) -> bool:
        return self.enabled and not self.needs and self.name in IMPLEMENTED

    def describe(self) -> str:
        if not self.enabled:
            return f"disabled in the configuration ({self.note})" if self.note else "disabled in the configuration"
        if self.needs:
            return "disabled, " + "; ".join(self.needs)
        if self.name not in IMPLEMENTED:
            return "configured; its collector is not part of this release yet"
        return f"enabled{' (' + self.note + ')' if self.note else ''}"


def source_readiness(settings: Settings) -> list[SourceReadiness]:
    src = settings.sources
    secret = settings.secrets.get
    out: list[SourceReadiness] = []

    x_needs = () if secret("x_bearer_token") else ("set LISTENER_X_BEARER_TOKEN",)
    out.append(SourceReadiness("x", src.x.enabled, x_needs if src.x.enabled else (), "recent search API v2"))

    m_needs = (
        ()
        if src.mastodon.instances
        else ("list instances in [sources.mastodon] instances or LISTENER_MASTODON_INSTANCES",)
    )
    token = "with LISTENER_MASTODON_TOKEN" if secret("mastodon_token") else "public timelines, no token"
    out.append(
        SourceReadiness(
            "mastodon",
            src.mastodon.enabled,
            m_needs if src.mastodon.enabled else (),
            f"{len(src.mastodon.instances)} instance(s), {token}",
        )
    )

    b_needs: list[str] = []
    if not src.bluesky.handle:
        b_needs.append("set [sources.bluesky] handle or LISTENER_BLUESKY_HANDLE")
    if not secret("bluesky_app_password"):
        b_needs.append("set LISTENER_BLUESKY_APP_PASSWORD (an app password, not the account password)")
    out.append(SourceReadiness("bluesky", src.bluesky.enabled, tuple(b_needs) if src.bluesky.enabled else ()))

    i_needs: list[str] = []
    if not src.instagram.business_account_id:
        i_needs.append("set [sources.instagram] business_account_id or LISTENER_INSTAGRAM_BUSINESS_ACCOUNT_ID")
    if not secret("instagram_access_token"):
        i_needs.append("set LISTENER_INSTAGRAM_ACCESS_TOKEN")
    out.append(
        SourceReadiness(
            "instagram",
            src.instagram.enabled,
            tuple(i_needs) if src.instagram.enabled else (),
            "hashtag search: at most 30 unique hashtags per 7 days",
        )
    )

    r_needs = () if src.rss.feeds else ("list feeds in [sources.rss] feeds or LISTENER_RSS_FEEDS",)
    out.append(
        SourceReadiness("rss", src.rss.enabled, r_needs if src.rss.enabled else (), f"{len(src.rss.feeds)} feed(s)")
    )
    return out


UNCOLLECTABLE = {
    "facebook": "Facebook hashtags cannot be collected: Meta offers no public API for hashtag search",
}
