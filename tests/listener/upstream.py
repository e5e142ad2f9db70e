"""A fake platform on loopback for collector tests: a real aiohttp server on 127.0.0.1 (ephemeral port),
plain HTTP or TLS, answering from a script.

Platforms are simulated only at the HTTP boundary: the collector under test builds its real requests
through its real client library and session, and this server answers them with recorded payloads. For
TLS (X: tweepy always calls https://api.twitter.com) a `trustme` test CA issues a certificate for the
given host names; the CA is written to `ca_file` so the session under test can trust it through the
production setting (`[sources.x] ca_file`) while still verifying the name.

Scripting: `script(path, *replies)` queues replies for one path, served first in, first out; when a
path's queue is empty its default reply (or the server's) answers. A `Reply` is a status, a body (bytes
as they are, str as UTF-8, anything else as JSON), headers, an optional delay before answering, or a
dropped connection. Every request received is logged (`requests`, `requests_to(path)`) with its method,
path, query parameters, headers and body, for assertions.

A dropped connection and aiohttp's client: when a *reused* keep-alive connection closes without an
answer, aiohttp sends an idempotent request once more by itself, so one `Reply.dropped()` may be followed
at once by a second request that takes the next scripted reply. For "the platform is gone" use
`set_default(Reply.dropped(), path)`, and count requests with `>=`.

    async with Upstream(tls_hostnames=["api.twitter.com"]) as server:
        server.script("/2/tweets/search/recent", Reply(503), Reply.json(page))
        ...  # point the client at server.url, trust server.ca_file
        assert server.requests_to("/2/tweets/search/recent")[1].query["max_results"] == "100"
"""

from __future__ import annotations

import asyncio
import json
import shutil
import ssl
import tempfile
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import trustme
from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy, MultiDict, MultiDictProxy

from tests.listener.cassettes import Recorded

JSON_TYPE = "application/json; charset=utf-8"


@dataclass(frozen=True)
class Reply:
    """One scripted answer. `body`: bytes are sent as they are, str as UTF-8, anything else as JSON.

    The Content-Type is `content_type`, else a Content-Type in `headers`, else JSON (the platforms we fake
    are JSON APIs). `delay` seconds pass before answering (longer than the client's timeout: a timeout);
    `drop` closes the connection without any answer (a crash, a reset by a proxy).
    """

    status: int = 200
    body: Any = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0
    drop: bool = False
    content_type: str | None = None

    @classmethod
    def json(cls, data: Any, status: int = 200, headers: Mapping[str, str] | None = None, **kw: Any) -> Reply:
        return cls(status=status, body=json.dumps(data, ensure_ascii=False).encode(), headers=headers or {}, **kw)

    @classmethod
    def dropped(cls, delay: float = 0.0) -> Reply:
        return cls(drop=True, delay=delay)

    @classmethod
    def recorded(cls, item: Recorded, **kw: Any) -> Reply:
        """The response of a recorded interaction (see `cassettes.load_cassette`), as it was."""
        return cls(status=item.status, body=item.body, headers=dict(item.headers), **kw)

    def payload(self) -> bytes:
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode("utf-8")
        return json.dumps(self.body, ensure_ascii=False).encode("utf-8")

    def response_headers(self) -> CIMultiDict[str]:
        headers: CIMultiDict[str] = CIMultiDict(self.headers)
        if self.content_type is not None:
            headers["Content-Type"] = self.content_type
        headers.setdefault("Content-Type", JSON_TYPE)
        for transfer_header in ("Content-Length", "Transfer-Encoding", "Content-Encoding"):
            headers.popall(transfer_header, None)  # aiohttp frames the body it sends
        return headers


@dataclass(frozen=True)
class Received:
    """One request as the fake platform saw it."""

    method: str
    path: str
    query: MultiDictProxy[str]  # .get(name) / ["name"] / .getall(name)
    headers: CIMultiDictProxy[str]  # case-insensitive
    body: bytes

    @property
    def params(self) -> dict[str, str]:
        """The query as a plain dict (the last value of a repeated name)."""
        return dict(self.query.items())


class Upstream:
    """A scripted HTTP(S) server on 127.0.0.1; use `async with` (or `start()` / `close()`)."""

    def __init__(
        self,
        *,
        tls_hostnames: Iterable[str] = (),
        default: Reply | None = None,
        workdir: Path | None = None,
    ) -> None:
        self.tls_hostnames = tuple(tls_hostnames)
        self.default = default or Reply(status=404, body={"error": "nothing scripted for this path"})
        self.requests: list[Received] = []
        self.ca: trustme.CA | None = None
        self.ca_file: Path | None = None
        self.port = 0
        self._workdir = workdir
        self._own_dir: Path | None = None
        self._queues: dict[str, deque[Reply]] = {}
        self._defaults: dict[str, Reply] = {}
        self._runner: web.AppRunner | None = None

    # --- scripting --------------------------------------------------------------------------------------

    def script(self, path: str, *replies: Reply) -> None:
        """Queue replies for `path`, answered in order, after those already queued."""
        self._queues.setdefault(path, deque()).extend(replies)

    def set_default(self, reply: Reply, path: str | None = None) -> None:
        """The answer when `path`'s queue is empty (every path's when `path` is None)."""
        if path is None:
            self.default = reply
        else:
            self._defaults[path] = reply

    def pending(self, path: str | None = None) -> int:
        """Scripted replies not yet served (for `path`, or in all)."""
        if path is not None:
            return len(self._queues.get(path, ()))
        return sum(len(q) for q in self._queues.values())

    def requests_to(self, path: str) -> list[Received]:
        return [r for r in self.requests if r.path == path]

    # --- addresses --------------------------------------------------------------------------------------

    @property
    def scheme(self) -> str:
        return "https" if self.tls_hostnames else "http"

    @property
    def url(self) -> str:
        """The base URL on loopback, e.g. https://127.0.0.1:41234 (TLS names are reached by a resolver)."""
        if not self.port:
            raise RuntimeError("the fake platform is not started")
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def client_ssl_context(self) -> ssl.SSLContext:
        """A client context trusting this server's CA (for direct use; collectors get `ca_file`)."""
        context = ssl.create_default_context()
        if self.ca is not None:
            self.ca.configure_trust(context)
        return context

    # --- life cycle -------------------------------------------------------------------------------------

    async def start(self) -> Upstream:
        server_ssl: ssl.SSLContext | None = None
        if self.tls_hostnames:
            self.ca = trustme.CA()
            server_ssl = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            self.ca.issue_cert(*self.tls_hostnames).configure_cert(server_ssl)
            directory = self._workdir or self._make_own_dir()
            directory.mkdir(parents=True, exist_ok=True)
            self.ca_file = directory / f"fake-platform-ca-{id(self):x}.pem"
            self.ca.cert_pem.write_to_path(str(self.ca_file))
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        # handler_cancellation: a client that gave up (timeout) cancels the delayed answer;
        # a short shutdown_timeout: closing never waits on a reply still sleeping.
        self._runner = web.AppRunner(app, handler_cancellation=True, shutdown_timeout=0.2, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0, ssl_context=server_ssl)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        return self

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._own_dir is not None:
            shutil.rmtree(self._own_dir, ignore_errors=True)
            self._own_dir = None

    async def __aenter__(self) -> Upstream:
        return await self.start()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    def _make_own_dir(self) -> Path:
        self._own_dir = Path(tempfile.mkdtemp(prefix="fake-platform-"))
        return self._own_dir

    # --- serving ----------------------------------------------------------------------------------------

    def _next_reply(self, path: str) -> Reply:
        queue = self._queues.get(path)
        if queue:
            return queue.popleft()
        return self._defaults.get(path, self.default)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        self.requests.append(
            Received(
                method=request.method,
                path=request.path,
                query=MultiDictProxy(MultiDict(request.query)),
                headers=CIMultiDictProxy(CIMultiDict(request.headers)),
                body=body,
            )
        )
        reply = self._next_reply(request.path)
        if reply.delay:
            await asyncio.sleep(reply.delay)
        if reply.drop:
            transport = request.transport
            if transport is not None:
                transport.abort()  # no close_notify, no response: the client sees the connection vanish
            raise asyncio.CancelledError  # aiohttp ends the handler quietly; nothing more is written
        return web.Response(status=reply.status, body=reply.payload(), headers=reply.response_headers())
