"""The explicit map from source names to collectors (no folder scanning), built for the ready sources."""

from __future__ import annotations

from collections.abc import Callable

import aiohttp

from listener.collector import Collector
from listener.collectors.bluesky import BlueskyCollector
from listener.collectors.instagram import InstagramCollector
from listener.collectors.mastodon import MastodonCollector
from listener.collectors.rss import RssCollector
from listener.collectors.x import XCollector
from listener.readiness import source_readiness
from service.settings import Settings

Factory = Callable[[Settings, aiohttp.ClientSession], Collector]


def _all_hashtags(settings: Settings) -> list[str]:
    return [tag for campaign in settings.campaigns.values() for tag in campaign.hashtags]


FACTORIES: dict[str, Factory] = {
    "x": lambda s, session: XCollector(s.sources.x, s.secrets.get("x_bearer_token"), session),
    "mastodon": lambda s, session: MastodonCollector(s.sources.mastodon, s.secrets.get("mastodon_token"), session),
    "bluesky": lambda s, session: BlueskyCollector(s.sources.bluesky, s.secrets.get("bluesky_app_password"), session),
    "instagram": lambda s, session: InstagramCollector(
        s.sources.instagram, s.secrets.get("instagram_access_token"), session, _all_hashtags(s)
    ),
    "rss": lambda s, session: RssCollector(s.sources.rss, session),
}


def build_collectors(settings: Settings, session: aiohttp.ClientSession, only: str | None = None) -> list[Collector]:
    """Collectors for the sources that are enabled and have what they need (see `listener check`)."""
    ready = {r.name for r in source_readiness(settings) if r.ready}
    names = [name for name in FACTORIES if name in ready and (only is None or name == only)]
    return [FACTORIES[name](settings, session) for name in names]
