"""The one long-lived aiohttp session the collectors share, built from the sources' settings.

tweepy always calls `https://api.twitter.com`. When `[sources.x] base_url` names another host:port (a
TLS-intercepting proxy, a mirror, a test server), the session's resolver sends the connections for
api.twitter.com there; TLS still verifies the name api.twitter.com, against the system CAs plus
`[sources.x] ca_file` when given. The same production path serves the loopback test servers.
"""

from __future__ import annotations

import socket
import ssl
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver
from yarl import URL

from service.settings import SourcesSettings

X_API_HOST = "api.twitter.com"
USER_AGENT = "campaign-listener/0.1 (+https://github.com/campaign-listener)"


class OverrideResolver(AbstractResolver):
    """Resolves the overridden hosts to fixed addresses and ports, everything else normally."""

    def __init__(self, overrides: dict[str, tuple[str, int]]) -> None:
        self._overrides = overrides
        self._default = DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        target = self._overrides.get(host)
        if target is None:
            return await self._default.resolve(host, port, family)
        address, target_port = target
        resolved = await self._default.resolve(address, target_port, family)
        return [{**r, "hostname": host, "port": target_port} for r in resolved]

    async def close(self) -> None:
        await self._default.close()


def x_override(base_url: str) -> tuple[str, int] | None:
    url = URL(base_url)
    if url.host is None or (url.host == X_API_HOST and (url.port or 443) == 443):
        return None
    return url.host, url.port or 443


def make_session(sources: SourcesSettings) -> aiohttp.ClientSession:
    context = ssl.create_default_context()
    ca_file: Path | None = sources.x.ca_file
    if ca_file is not None:
        context.load_verify_locations(cafile=str(ca_file))
    overrides: dict[str, tuple[str, int]] = {}
    x_target = x_override(sources.x.base_url)
    if x_target is not None:
        overrides[X_API_HOST] = x_target
    connector_args: dict[str, Any] = {"ssl": context, "limit": 20, "ttl_dns_cache": 300}
    if overrides:
        connector_args["resolver"] = OverrideResolver(overrides)
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(**connector_args),
        headers={"User-Agent": USER_AGENT},
        raise_for_status=False,
    )
